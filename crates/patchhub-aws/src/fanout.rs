//! Fan-out: resolve the accounts (a CSV list, the organization, or just the caller's account) and
//! Regions, get into each account (assuming a role where needed), and run one sync per account
//! and Region with bounded concurrency. Findings are always imported from inside the account
//! that owns them: Security Hub only accepts a default-product finding from its own account.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clients::{self, AccountSession, RoleOptions};
use crate::error::{ApiError, ErrorKind};
use crate::organization::{SkippedAccount, organization_accounts};
use crate::quota::QuotaSettings;
use crate::regions;
use crate::sync::{SyncOptions, TargetSummary, sync_target};
use crate::target::Target;
use crate::targets::{AccountTarget, RegionSelection};

/// Where the account list comes from.
#[derive(Debug, Clone)]
pub enum AccountSource {
    /// Only the account of the base credentials.
    Caller,
    /// These accounts (from `--accounts FILE`).
    List(Vec<AccountTarget>),
    /// Every ACTIVE account of the organization (or of one OU and its children).
    Organization {
        /// Restrict to this OU (recursively).
        ou: Option<String>,
    },
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct FanOut {
    /// Accounts.
    pub accounts: AccountSource,
    /// Regions.
    pub regions: RegionSelection,
    /// Role to assume in accounts other than the caller's.
    pub role: RoleOptions,
    /// Account-Region targets in flight at once.
    pub concurrency: usize,
    /// Targets in flight at once within one account.
    pub per_account_concurrency: usize,
    /// Client-side quotas.
    pub quotas: QuotaSettings,
}

/// What a whole run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunReport {
    /// One summary per account and Region that was attempted.
    pub targets: Vec<TargetSummary>,
    /// Accounts that could not be entered at all.
    pub account_errors: Vec<AccountFailure>,
    /// Accounts of the organization left alone because they are not ACTIVE (not failures).
    pub skipped_accounts: Vec<SkippedAccount>,
}

/// An account that could not be entered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountFailure {
    /// Account id.
    pub account: String,
    /// Why.
    pub error: String,
    /// Class.
    pub kind: ErrorKind,
}

impl RunReport {
    /// Whether everything was done and written.
    pub fn is_ok(&self) -> bool {
        self.account_errors.is_empty() && self.targets.iter().all(TargetSummary::is_ok)
    }

    /// Sum of all targets' counters (account/Region fields left empty).
    pub fn total(&self) -> TargetSummary {
        let mut t = TargetSummary {
            account: "all".into(),
            region: "all".into(),
            ..Default::default()
        };
        for s in &self.targets {
            t.nodes_read += s.nodes_read;
            t.non_compliant += s.non_compliant;
            t.nodes_changed += s.nodes_changed;
            t.nodes_gone += s.nodes_gone;
            t.created += s.created;
            t.updated += s.updated;
            t.unchanged += s.unchanged;
            t.refreshed += s.refreshed;
            t.resolved += s.resolved;
            t.reopened += s.reopened;
            t.held_back += s.held_back;
            t.tags_rewritten += s.tags_rewritten;
            t.tags_dropped += s.tags_dropped;
            t.failed += s.failed;
            t.partial |= s.partial;
            t.nodes_deferred += s.nodes_deferred;
            t.nodes_failed.extend(s.nodes_failed.iter().cloned());
            for (k, v) in &s.api_calls {
                *t.api_calls.entry(k.clone()).or_insert(0) += v;
            }
        }
        t
    }
}

/// The accounts a run entered, those it could not enter, and those it left alone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Entered {
    /// Sessions, by account id (empty once [`targets`] has turned them into targets).
    pub sessions: Vec<AccountSession>,
    /// Accounts that could not be entered (or whose Regions could not be listed).
    pub failures: Vec<AccountFailure>,
    /// Accounts of the organization that are not ACTIVE.
    pub skipped: Vec<SkippedAccount>,
}

/// The caller, and every account a run covers: entered, or the error that kept it out.
#[derive(Debug)]
pub(crate) struct Reached {
    /// The base credentials' own session.
    pub me: AccountSession,
    /// Each account, in the order of the source: its session or why it could not be entered.
    pub accounts: Vec<(String, Result<AccountSession, ApiError>)>,
    /// Accounts of the organization that are not ACTIVE.
    pub skipped: Vec<SkippedAccount>,
}

/// Enters every account: through the role when one is given (the caller's own account too, so
/// every account is read with the same permissions), else the caller's own with the base
/// credentials. `Err` when the caller or the organization's accounts cannot be read.
pub(crate) async fn reach(base: &SdkConfig, fan: &FanOut) -> Result<Reached, ApiError> {
    let me = clients::base_session(base).await?;
    let (ids, skipped) = match &fan.accounts {
        AccountSource::Caller => {
            return Ok(Reached {
                accounts: vec![(me.account_id.clone(), Ok(me.clone()))],
                me,
                skipped: Vec::new(),
            });
        }
        AccountSource::List(list) => (list.iter().map(|t| t.id.clone()).collect(), Vec::new()),
        AccountSource::Organization { ou } => {
            let listed = organization_accounts(base, ou.as_deref()).await?;
            let ids = listed.active.into_iter().map(|t| t.id).collect();
            (ids, listed.skipped)
        }
    };
    let accounts = enter_accounts(base, &me, ids, &fan.role, fan.concurrency).await;
    Ok(Reached {
        me,
        accounts,
        skipped,
    })
}

/// [`reach`], split into sessions and failures, each sorted by account.
pub(crate) async fn sessions(base: &SdkConfig, fan: &FanOut) -> Result<Entered, ApiError> {
    let reached = reach(base, fan).await?;
    let (mut sessions, mut failures) = split(reached.accounts);
    sessions.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    failures.sort_by(|a, b| a.account.cmp(&b.account));
    Ok(Entered {
        sessions,
        failures,
        skipped: reached.skipped,
    })
}

/// `fan` with an empty Region list (no Region given anywhere) made the base configuration's.
pub(crate) fn with_home_region(base: &SdkConfig, fan: &FanOut) -> FanOut {
    let mut fan = fan.clone();
    if matches!(&fan.regions, RegionSelection::List(l) if l.is_empty()) {
        let home = base.region().map(|r| r.to_string()).unwrap_or_default();
        fan.regions = RegionSelection::List(vec![home]);
    }
    fan
}

/// Enters each account, at most `width` at once: the caller's own with the base credentials
/// unless a role is given, the others through the role. Results in the order of `ids`.
pub(crate) async fn enter_accounts(
    base: &SdkConfig,
    me: &AccountSession,
    ids: Vec<String>,
    role: &RoleOptions,
    width: usize,
) -> Vec<(String, Result<AccountSession, ApiError>)> {
    each(ids, width, |id| {
        let (base, me, role) = (base.clone(), me.clone(), role.clone());
        async move {
            let entered = if id == me.account_id && role.role_name.is_none() {
                Ok(me)
            } else {
                clients::assume_into(&base, &me, &id, &role).await
            };
            (id, entered)
        }
    })
    .await
}

/// Splits per-account results into what succeeded and a failure naming the account for the rest.
fn split<T>(results: Vec<(String, Result<T, ApiError>)>) -> (Vec<T>, Vec<AccountFailure>) {
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for (account, res) in results {
        match res {
            Ok(t) => ok.push(t),
            Err(e) => failed.push(AccountFailure {
                account,
                error: e.to_string(),
                kind: e.kind,
            }),
        }
    }
    (ok, failed)
}

/// Pairs every session with its Regions (`--regions all-enabled` asks each account, in
/// parallel); an account whose Regions cannot be listed is reported and left out.
pub(crate) async fn with_regions(
    sessions: Vec<AccountSession>,
    fan: &FanOut,
) -> (Vec<(AccountSession, Vec<String>)>, Vec<AccountFailure>) {
    let results = each(sessions, fan.concurrency, |s| {
        let selection = fan.regions.clone();
        async move {
            let regions = regions::regions_for(&s, &selection).await;
            (s.account_id.clone(), regions.map(|r| (s, r)))
        }
    })
    .await;
    let (mut ok, failed) = split(results);
    ok.sort_by(|a, b| a.0.account_id.cmp(&b.0.account_id));
    (ok, failed)
}

/// Every account-Region target of a run: the accounts entered (through the role where one is
/// given) and paired with their Regions, each target with a limiter of its own (quotas are per
/// account and Region). Accounts that could not be entered, or whose Regions could not be listed,
/// come back as failures, accounts that are not ACTIVE as skipped; `Err` only when nothing could
/// start.
pub(crate) async fn targets(
    base: &SdkConfig,
    fan: &FanOut,
) -> Result<(Vec<Target>, Entered), ApiError> {
    let fan = &with_home_region(base, fan);
    let mut entered = sessions(base, fan).await?;
    let (with_regions, region_failures) =
        with_regions(std::mem::take(&mut entered.sessions), fan).await;
    entered.failures.extend(region_failures);
    entered.failures.sort_by(|a, b| a.account.cmp(&b.account));
    let targets = with_regions
        .iter()
        .flat_map(|(s, regions)| {
            regions
                .iter()
                .map(|r| Target::new(s, r, fan.quotas.clone()))
        })
        .collect();
    Ok((targets, entered))
}

/// Runs `work` on every target, at most `width` at once overall and `per_account` at once
/// within one account; results in the targets' order.
pub(crate) async fn each_target<R, F, Fut>(
    targets: Vec<Target>,
    width: usize,
    per_account: usize,
    work: F,
) -> Vec<R>
where
    R: Send + 'static,
    F: Fn(Target) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let mut gates: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let items: Vec<(Target, Arc<Semaphore>)> = targets
        .into_iter()
        .map(|t| {
            let gate = gates
                .entry(t.account().to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(per_account.max(1))))
                .clone();
            (t, gate)
        })
        .collect();
    each(items, width, |(t, gate)| {
        let job = work(t);
        async move {
            let _a = gate.acquire_owned().await;
            job.await
        }
    })
    .await
}

/// Runs `f(ctx, region)` for every Region, at most `width` at once, each with its own handle on
/// the context the Regions share (the accounts entered once, the log).
pub(crate) async fn each_region<C, F, Fut>(regions: &[String], width: usize, ctx: C, f: F)
where
    C: Clone,
    F: Fn(C, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    each(regions.to_vec(), width, |region| f(ctx.clone(), region)).await;
}

/// Runs `f` for each item with at most `width` at once; results in input order.
pub(crate) async fn each<T, R, F, Fut>(items: Vec<T>, width: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(width.max(1)));
    let mut set = JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let fut = f(item);
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, fut.await)
        });
    }
    let mut out = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(r) => out.push(r),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Told when each account-Region target finishes (progress bars, logs).
pub type ProgressFn = Arc<dyn Fn(&TargetSummary) + Send + Sync>;

/// Runs the sync everywhere. `progress` is told when each target finishes.
pub async fn run_sync(
    base: &SdkConfig,
    fan: &FanOut,
    opts: &SyncOptions,
    progress: Option<ProgressFn>,
) -> Result<RunReport, ApiError> {
    let (targets, entered) = targets(base, fan).await?;
    let now = Utc::now();
    let mut targets = each_target(targets, fan.concurrency, fan.per_account_concurrency, |t| {
        let (opts, progress) = (opts.clone(), progress.clone());
        async move {
            let mut summary =
                sync_target(t.ssm(), t.hub(), t.account(), t.region(), opts, now).await;
            summary.api_calls = t.api_calls_since(&BTreeMap::new());
            if let Some(p) = &progress {
                p(&summary);
            }
            summary
        }
    })
    .await;
    targets.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    Ok(RunReport {
        targets,
        account_errors: entered.failures,
        skipped_accounts: entered.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_is_partial_when_one_target_was_cut_off() {
        let whole = TargetSummary {
            nodes_changed: 3,
            ..Default::default()
        };
        let cut = TargetSummary {
            nodes_changed: 5,
            partial: true,
            nodes_deferred: 4,
            ..Default::default()
        };
        let report = RunReport {
            targets: vec![whole.clone(), cut],
            ..Default::default()
        };
        let t = report.total();
        assert!(t.partial);
        assert_eq!((t.nodes_changed, t.nodes_deferred), (8, 4));
        let quiet = RunReport {
            targets: vec![whole],
            ..Default::default()
        };
        assert!(!quiet.total().partial);
    }
}
