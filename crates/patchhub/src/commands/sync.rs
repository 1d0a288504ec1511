//! `patchhub sync`: validate flags, enter the accounts, sync each account and Region, print the
//! summary, and exit 0/1/2.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use clap::Args;
use patchhub_aws::clients;
use patchhub_aws::fanout::{AccountSource, FanOut, RunReport, run_sync};
use patchhub_aws::sync::{FindingObserver, SyncOptions};
use patchhub_aws::targets;
use patchhub_core::{Change, Finding, ocsf};

use crate::args::{AwsArgs, DeadlineArgs, PolicyArgs, TargetArgs};
use crate::error::Failure;
use crate::output::{self, Output};

/// `patchhub sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub deadlines: DeadlineArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Sync only this node (i-… or mi-…): reads and touches nothing else.
    #[arg(long)]
    pub instance: Option<String>,
    /// Plan and print; import nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format (table on a terminal). `ocsf` needs --dry-run.
    #[arg(long, value_enum)]
    pub output: Option<Output>,
    /// Account-Region targets in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Requests per second per SSM API per account and Region (SSM publishes no quota).
    #[arg(long, default_value_t = 10.0)]
    pub ssm_rate: f64,
}

/// Why OCSF is a dry-run format: patchhub writes to Security Hub with the ASFF import.
const OCSF_NEEDS_DRY_RUN: &str = "--output ocsf needs --dry-run: sync imports ASFF into Security Hub CSPM (BatchImportFindings); the OCSF Security Hub's import, BatchImportFindingsV2, is open to selected partners only and not in the AWS SDK for Rust";

/// Everything `sync` needs, validated.
struct Prepared {
    aws: patchhub_aws::clients::AwsOptions,
    fan: FanOut,
    opts: SyncOptions,
    output: Output,
}

/// Validates the flags (no AWS calls yet).
fn prepare(args: &SyncArgs) -> Result<Prepared, Failure> {
    let policy = args.policy.policy()?;
    let deadlines = args.deadlines.deadlines()?;
    let aws = args.aws.options()?;
    let instance = args
        .instance
        .as_deref()
        .map(targets::parse_instance_id)
        .transpose()
        .map_err(|e| Failure::usage(format!("--instance: {e}")))?;
    let fan = args
        .targets
        .fan_out(&args.aws, "patchhub-sync", args.concurrency, args.ssm_rate)?;
    if instance.is_some() && !matches!(fan.accounts, AccountSource::Caller) {
        return Err(Failure::usage(
            "--instance syncs one node of the caller's account: drop --accounts/--organization",
        ));
    }
    if args.output == Some(Output::Ocsf) && !args.dry_run {
        return Err(Failure::usage(OCSF_NEEDS_DRY_RUN));
    }
    let mut opts = SyncOptions::new(policy);
    opts.deadlines = Arc::new(deadlines);
    opts.only_instance = instance;
    opts.dry_run = args.dry_run;
    let output = args.output.unwrap_or(if std::io::stdout().is_terminal() {
        Output::Table
    } else {
        Output::Json
    });
    Ok(Prepared {
        aws,
        fan,
        opts,
        output,
    })
}

/// Runs a prepared sync.
async fn execute(mut p: Prepared, quiet: bool) -> Result<RunReport, Failure> {
    let base = clients::load_base(&p.aws).await?;
    // JSONL and OCSF go to stdout as findings are accepted (or planned), so a long run streams.
    let render: Option<fn(&Finding, Change) -> String> = match p.output {
        Output::Jsonl => Some(|f, _| serde_json::to_string(f).unwrap_or_default()),
        Output::Ocsf => Some(|f, c| ocsf::change_event(f, c).to_string()),
        Output::Table | Output::Json => None,
    };
    if let Some(render) = render {
        let out = Arc::new(Mutex::new(std::io::stdout()));
        let obs: FindingObserver = Arc::new(move |f, c| {
            let line = render(f, c);
            let mut o = out.lock().expect("stdout lock");
            // A closed pipe (| head) is not an error worth reporting.
            let _ = writeln!(o, "{line}");
        });
        p.opts.observer = Some(obs);
    }
    let progress = output::Progress::new(quiet);
    let report = run_sync(&base, &p.fan, &p.opts, Some(progress.callback())).await?;
    progress.finish();
    Ok(report)
}

/// `patchhub sync`.
pub async fn run(args: SyncArgs, quiet: bool) -> Result<(), Failure> {
    let prepared = prepare(&args)?;
    let format = prepared.output;
    let dry_run = prepared.opts.dry_run;
    let report = execute(prepared, quiet).await?;
    output::print_report(&report, format, dry_run);
    output::exit_status(&report)
}
