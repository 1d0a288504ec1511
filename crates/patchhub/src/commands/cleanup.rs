//! `patchhub cleanup`: archive every active patchhub finding in the accounts and Regions given,
//! before patchhub is uninstalled (a later sync brings them back).

use clap::Args;
use patchhub_aws::fanout::FanOut;
use patchhub_aws::hub;
use patchhub_aws::quota::QuotaSettings;
use patchhub_aws::targets::RegionSelection;

use crate::args::{AwsArgs, TargetArgs, base_with_regions};
use crate::error::Failure;
use crate::output::{HubOutput, hub_exit_status, print_hub_report};

/// `patchhub cleanup`.
#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Output format (table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<HubOutput>,
    /// Account-Region targets in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Confirm: every patchhub finding in the scope is archived.
    #[arg(long)]
    pub yes: bool,
}

/// `patchhub cleanup`.
pub async fn run(args: CleanupArgs) -> Result<(), Failure> {
    let aws = args.aws.options()?;
    let accounts = args.targets.accounts()?;
    let regions = args.targets.region_list()?;
    if !args.yes {
        return Err(Failure::usage(
            "cleanup archives every active patchhub finding in the accounts and Regions given (for uninstalling; a later sync brings them back): add --yes to confirm",
        ));
    }
    let output = HubOutput::chosen(args.output);
    let (base, regions) = base_with_regions(&aws, regions).await?;
    let fan = FanOut {
        accounts,
        regions: RegionSelection::List(regions),
        role: args.targets.role("patchhub-cleanup"),
        concurrency: args.concurrency as usize,
        per_account_concurrency: 4,
        quotas: QuotaSettings::default(),
    };
    let report = hub::cleanup(&base, &fan).await?;
    print_hub_report("cleanup", &report, output);
    hub_exit_status("cleanup", &report)
}
