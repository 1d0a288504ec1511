//! `patchhub cleanup`: archive every active patchhub finding in the accounts and Regions given,
//! before patchhub is uninstalled (a later sync brings them back).

use clap::Args;
use patchhub_aws::fanout::FanOut;
use patchhub_aws::hub;
use patchhub_aws::quota::QuotaSettings;
use patchhub_aws::targets::RegionSelection;

use crate::args::{ScopeArgs, base_with_regions};
use crate::error::Failure;
use crate::output::{HubOutput, hub_exit_status, print_hub_report};

/// `patchhub cleanup`.
#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Confirm: every patchhub finding in the scope is archived.
    #[arg(long)]
    pub yes: bool,
}

/// `patchhub cleanup`.
pub async fn run(args: CleanupArgs) -> Result<(), Failure> {
    let scope = &args.scope;
    let aws = scope.aws.options()?;
    let accounts = scope.targets.accounts()?;
    let regions = scope.targets.region_list()?;
    if !args.yes {
        return Err(Failure::usage(
            "cleanup archives every active patchhub finding in the accounts and Regions given (for uninstalling; a later sync brings them back): add --yes to confirm",
        ));
    }
    let output = HubOutput::chosen(scope.output);
    let (base, regions) = base_with_regions(&aws, regions).await?;
    let fan = FanOut {
        accounts,
        regions: RegionSelection::List(regions),
        role: scope.targets.role("patchhub-cleanup"),
        concurrency: scope.concurrency as usize,
        per_account_concurrency: 4,
        quotas: QuotaSettings::default(),
    };
    let report = hub::cleanup(&base, &fan).await?;
    print_hub_report("cleanup", &report, output);
    hub_exit_status("cleanup", &report)
}
