//! `patchhub doctor`: checks a set-up before `sync` runs on it, reading only, with the same
//! target flags as `sync`; prints a table (or JSON) and exits 0 only when everything `sync` needs
//! is in place.

use clap::Args;
use patchhub_aws::clients;
use patchhub_aws::doctor::{DoctorReport, Item, doctor};

use crate::args::ScopeArgs;
use crate::error::Failure;
use crate::output::{self, HubOutput};

/// `patchhub doctor`.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
}

/// `patchhub doctor`: exit 0 when everything is in place, 1 when a check failed, 2 when the
/// credentials themselves do not work (or a flag is wrong).
pub async fn run(args: DoctorArgs) -> Result<(), Failure> {
    let ScopeArgs {
        aws: aws_args,
        targets,
        output: format,
        concurrency,
    } = &args.scope;
    let aws = aws_args.options()?;
    // The SSM rate only paces the listing; sync's default.
    let fan = targets.fan_out(aws_args, "patchhub-doctor", *concurrency, 10.0)?;
    let base = clients::load_base(&aws).await?;
    let report = doctor(&base, &fan).await;
    output::print_doctor_report(&report, HubOutput::chosen(*format));
    verdict(&report)
}

/// The exit status a report deserves.
pub fn verdict(report: &DoctorReport) -> Result<(), Failure> {
    if report.is_ok() {
        return Ok(());
    }
    let failed = report
        .with(patchhub_aws::doctor::Status::Fail)
        .collect::<Vec<_>>();
    let message = format!(
        "doctor: {} check(s) failed; `sync` needs them fixed (each ✗ above names its fix)",
        failed.len()
    );
    if failed.iter().any(|c| c.item == Item::Credentials) {
        Err(Failure::usage(message))
    } else {
        Err(Failure::partial(message))
    }
}
