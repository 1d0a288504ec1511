//! Fan-out: resolve the accounts (a CSV list, the organization, or just the caller's account) and
//! Regions, get into each account (assuming a role where needed), and run one sync per account
//! and Region with bounded concurrency. Findings are always imported from inside the account
//! that owns them: Security Hub only accepts a default-product finding from its own account.

use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clients::{self, AccountSession, RoleOptions};
use crate::error::{ApiError, ErrorKind};
use crate::paging::all_pages;
use crate::quota::{Limiter, QuotaSettings};
use crate::regions;
use crate::sink::SecurityHubSink;
use crate::source::SsmSource;
use crate::sync::{SyncOptions, TargetSummary, sync_target};
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
            t.failed += s.failed;
            t.nodes_failed.extend(s.nodes_failed.iter().cloned());
            for (k, v) in &s.api_calls {
                *t.api_calls.entry(k.clone()).or_insert(0) += v;
            }
        }
        t
    }
}

/// The accounts of the organization (ACTIVE only), or of one OU and its descendants.
pub async fn organization_accounts(
    base: &SdkConfig,
    ou: Option<&str>,
) -> Result<Vec<AccountTarget>, ApiError> {
    use aws_sdk_organizations::error::ProvideErrorMetadata;
    let region = base.region().map(|r| r.to_string()).unwrap_or_default();
    let org = aws_sdk_organizations::Client::new(base);
    let err = |api: &str, e: &dyn ProvideErrorMetadata, text: String| {
        let code = e.code().map(str::to_string);
        let mut a = ApiError::other(
            "-",
            &region,
            api,
            crate::error::classify(code.as_deref(), &text),
            text,
        );
        a.code = code;
        a
    };
    let show = |e: &dyn std::error::Error| {
        aws_smithy_types::error::display::DisplayErrorContext(e).to_string()
    };
    let mut found: Vec<aws_sdk_organizations::types::Account> = Vec::new();
    match ou {
        None => {
            found = all_pages(None, |token| {
                let org = org.clone();
                async move {
                    let page = org
                        .list_accounts()
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| err("organizations:ListAccounts", &e, show(&e)))?;
                    Ok((
                        page.accounts().to_vec(),
                        page.next_token().map(str::to_string),
                    ))
                }
            })
            .await?;
        }
        Some(ou) => {
            let mut parents = vec![ou.to_string()];
            while let Some(parent) = parents.pop() {
                let accounts = all_pages(None, |token| {
                    let (org, parent) = (org.clone(), parent.clone());
                    async move {
                        let page = org
                            .list_accounts_for_parent()
                            .parent_id(parent)
                            .set_next_token(token)
                            .send()
                            .await
                            .map_err(|e| {
                                err("organizations:ListAccountsForParent", &e, show(&e))
                            })?;
                        Ok((
                            page.accounts().to_vec(),
                            page.next_token().map(str::to_string),
                        ))
                    }
                })
                .await?;
                found.extend(accounts);
                let children = all_pages(None, |token| {
                    let (org, parent) = (org.clone(), parent.clone());
                    async move {
                        let page = org
                            .list_organizational_units_for_parent()
                            .parent_id(parent)
                            .set_next_token(token)
                            .send()
                            .await
                            .map_err(|e| {
                                err(
                                    "organizations:ListOrganizationalUnitsForParent",
                                    &e,
                                    show(&e),
                                )
                            })?;
                        Ok((
                            page.organizational_units().to_vec(),
                            page.next_token().map(str::to_string),
                        ))
                    }
                })
                .await?;
                parents.extend(children.iter().filter_map(|o| o.id().map(str::to_string)));
            }
        }
    }
    let mut accounts: Vec<AccountTarget> = found
        .iter()
        .filter(|a| a.status().is_none_or(|s| s.as_str() == "ACTIVE"))
        .filter_map(|a| {
            a.id().map(|id| AccountTarget {
                id: id.to_string(),
                email: a.email().map(str::to_string),
            })
        })
        .collect();
    accounts.sort();
    accounts.dedup_by(|a, b| a.id == b.id);
    Ok(accounts)
}

/// Enters every account: through the role when one is given (the caller's own account too, so
/// every account is read with the same permissions), else the caller's own with the base
/// credentials.
pub async fn sessions(
    base: &SdkConfig,
    fan: &FanOut,
) -> Result<(Vec<AccountSession>, Vec<AccountFailure>), ApiError> {
    let me = clients::base_session(base).await?;
    let targets = match &fan.accounts {
        AccountSource::Caller => return Ok((vec![me], vec![])),
        AccountSource::List(list) => list.clone(),
        AccountSource::Organization { ou } => organization_accounts(base, ou.as_deref()).await?,
    };
    let mut ok = Vec::new();
    let mut set = JoinSet::new();
    let sem = Arc::new(Semaphore::new(fan.concurrency.max(1)));
    for t in targets {
        if t.id == me.account_id && fan.role.role_name.is_none() {
            ok.push(me.clone());
            continue;
        }
        let (base, partition, role, sem) = (
            base.clone(),
            me.partition.clone(),
            fan.role.clone(),
            sem.clone(),
        );
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (
                t.id.clone(),
                clients::assume_into(&base, &partition, &t.id, &role).await,
            )
        });
    }
    let (entered, mut failed) = per_account(set).await;
    ok.extend(entered);
    ok.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    failed.sort_by(|a, b| a.account.cmp(&b.account));
    Ok((ok, failed))
}

/// Collects per-account tasks: what succeeded, and a failure naming the account for the rest.
async fn per_account<T: 'static>(
    mut set: JoinSet<(String, Result<T, ApiError>)>,
) -> (Vec<T>, Vec<AccountFailure>) {
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    while let Some(res) = set.join_next().await {
        match res {
            Ok((_, Ok(t))) => ok.push(t),
            Ok((account, Err(e))) => failed.push(AccountFailure {
                account,
                error: e.to_string(),
                kind: e.kind,
            }),
            Err(e) => failed.push(AccountFailure {
                account: "?".into(),
                error: e.to_string(),
                kind: ErrorKind::Service,
            }),
        }
    }
    (ok, failed)
}

/// Pairs every session with its Regions (`--regions all-enabled` asks each account, in
/// parallel); an account whose Regions cannot be listed is reported and left out.
pub async fn with_regions(
    sessions: Vec<AccountSession>,
    fan: &FanOut,
) -> (Vec<(AccountSession, Vec<String>)>, Vec<AccountFailure>) {
    let mut set = JoinSet::new();
    let sem = Arc::new(Semaphore::new(fan.concurrency.max(1)));
    for s in sessions {
        let (selection, sem) = (fan.regions.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let regions = regions::regions_for(&s, &selection).await;
            (s.account_id.clone(), regions.map(|r| (s, r)))
        });
    }
    let (mut ok, failed) = per_account(set).await;
    ok.sort_by(|a, b| a.0.account_id.cmp(&b.0.account_id));
    (ok, failed)
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
    let (sessions, mut account_errors) = sessions(base, fan).await?;
    let (sessions, region_errors) = with_regions(sessions, fan).await;
    account_errors.extend(region_errors);
    account_errors.sort_by(|a, b| a.account.cmp(&b.account));
    let now = Utc::now();
    let global = Arc::new(Semaphore::new(fan.concurrency.max(1)));
    let mut set = JoinSet::new();
    for (s, regions) in sessions {
        let per_account = Arc::new(Semaphore::new(fan.per_account_concurrency.max(1)));
        for region in &regions {
            let (s, region, opts, quotas) =
                (s.clone(), region.clone(), opts.clone(), fan.quotas.clone());
            let (global, per_account, progress) =
                (global.clone(), per_account.clone(), progress.clone());
            set.spawn(async move {
                let _g = global.acquire_owned().await;
                let _a = per_account.acquire_owned().await;
                let config = s.in_region(&region);
                // Quotas are per account and Region: one limiter per target.
                let limiter = Limiter::new(quotas);
                let source = SsmSource::new(
                    aws_sdk_ssm::Client::new(&config),
                    &s.account_id,
                    &region,
                    &s.partition,
                    limiter.clone(),
                );
                let sink = SecurityHubSink::new(
                    aws_sdk_securityhub::Client::new(&config),
                    &s.account_id,
                    &region,
                    &s.partition,
                    limiter.clone(),
                );
                let mut summary =
                    sync_target(source, sink, &s.account_id, &region, opts, now).await;
                summary.api_calls = limiter
                    .calls()
                    .into_iter()
                    .map(|(api, n)| (api.name().to_string(), n))
                    .collect();
                if let Some(p) = &progress {
                    p(&summary);
                }
                summary
            });
        }
    }
    let mut targets = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(s) => targets.push(s),
            Err(e) => targets.push(TargetSummary {
                error: Some(format!("target task failed: {e}")),
                error_kind: Some(ErrorKind::Service),
                ..Default::default()
            }),
        }
    }
    targets.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    Ok(RunReport {
        targets,
        account_errors,
    })
}
