//! Syncs against awsim as the CLI runs them: the fan-out over accounts and Regions, with the
//! kit's defaults (eight accounts at once, four targets per account, [`crate::fast_quotas`]).

use awsim::Awsim;
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::fanout::{AccountSource, FanOut, RunReport, run_sync};
use patchhub_aws::sync::SyncOptions;
use patchhub_aws::targets::{AccountTarget, RegionSelection};
use patchhub_core::policy::FindingPolicy;

/// Sync options of the default policy: a sweep that imports.
pub fn opts() -> SyncOptions {
    SyncOptions::new(FindingPolicy::default())
}

/// [`opts`] for a single-node sync of `node`.
pub fn only(node: &str) -> SyncOptions {
    SyncOptions {
        only_instance: Some(node.to_string()),
        ..opts()
    }
}

/// How to enter accounts: through `role_name`, or (None) as the caller.
pub fn role(role_name: Option<&str>) -> RoleOptions {
    RoleOptions {
        role_name: role_name.map(str::to_string),
        external_id: None,
        session_name: "patchhub-test".into(),
    }
}

/// Accounts named by id, without emails.
pub fn targets<S: AsRef<str>>(ids: &[S]) -> Vec<AccountTarget> {
    ids.iter()
        .map(|id| AccountTarget {
            id: id.as_ref().to_string(),
            email: None,
        })
        .collect()
}

/// The listed accounts, as a fan-out's account source.
pub fn account_list<S: AsRef<str>>(ids: &[S]) -> AccountSource {
    AccountSource::List(targets(ids))
}

/// The listed Regions, as a fan-out's Region selection.
pub fn region_list<S: AsRef<str>>(regions: &[S]) -> RegionSelection {
    RegionSelection::List(regions.iter().map(|r| r.as_ref().to_string()).collect())
}

/// A fan-out over `accounts` and `regions`, entering accounts through `role_name` (or as the
/// caller), with the kit's concurrency and quotas; change fields with struct update syntax.
pub fn fan_out(
    accounts: AccountSource,
    regions: RegionSelection,
    role_name: Option<&str>,
) -> FanOut {
    FanOut {
        accounts,
        regions,
        role: role(role_name),
        concurrency: 8,
        per_account_concurrency: 4,
        quotas: crate::fast_quotas(),
    }
}

/// Runs `fan` acting as `account` from its home Region: the first listed, or
/// [`crate::REGION`] for all enabled Regions.
pub async fn sync_with(sim: &Awsim, account: &str, fan: &FanOut, opts: &SyncOptions) -> RunReport {
    let home = match &fan.regions {
        RegionSelection::List(list) => list[0].clone(),
        RegionSelection::AllEnabled => crate::REGION.to_string(),
    };
    let base = crate::sdk(sim, account, &home).await;
    run_sync(&base, fan, opts, None).await.expect("run starts")
}

/// Syncs the caller's own account in `regions`.
pub async fn sync(sim: &Awsim, account: &str, regions: &[&str], opts: SyncOptions) -> RunReport {
    let fan = fan_out(AccountSource::Caller, region_list(regions), None);
    sync_with(sim, account, &fan, &opts).await
}
