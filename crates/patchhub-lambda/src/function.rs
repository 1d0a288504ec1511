//! The function: SDK clients, the quota limiter and the account's identity, built once per cold
//! start, and the handler that turns one event into one sync and one summary line.

use aws_config::SdkConfig;
use chrono::Utc;
use patchhub_aws::clients;
use patchhub_aws::quota::Limiter;
use patchhub_aws::sink::SecurityHubSink;
use patchhub_aws::sync::{SyncOptions, TargetSummary, sync_target};
use patchhub_aws::target::Target;
use patchhub_core::policy::FindingPolicy;
use serde::Serialize;

use crate::config::LambdaConfig;
use crate::error::{ErrorType, LambdaError};
use crate::event::Request;
use crate::lake::LakeSink;

/// Failed findings quoted in a `PartialFailure` message (the rest are counted).
const QUOTED_FAILURES: usize = 3;

/// What one invocation did: the CLI's counters, logged as one line and returned as the response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InvocationSummary {
    /// Everything done was written (a `partial` sweep is ok: each node it synced is whole, and
    /// the next sweep continues with the rest).
    pub ok: bool,
    /// `maintenance-window`, `compliance-change`, `schedule` or `manual`.
    pub trigger: &'static str,
    /// `node`, `sweep` or `ignored`.
    pub mode: &'static str,
    /// The node of a single-node sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The function's account.
    pub account: String,
    /// The function's Region.
    pub region: String,
    // The sync's counters (`TargetSummary`), under the names the function has always logged.
    /// `nodes_read`: the managed nodes the sync listed.
    pub nodes: usize,
    /// `non_compliant` of them.
    pub non_compliant: usize,
    /// `nodes_changed`: re-evaluated (the rest cost no read).
    pub nodes_changed: usize,
    /// `nodes_gone`: archived because SSM no longer lists them (sweeps only).
    pub nodes_gone: usize,
    /// `created` findings.
    pub created: usize,
    /// `updated` findings (content changed).
    pub updated: usize,
    /// `unchanged` findings, where they were read back.
    pub unchanged: usize,
    /// `refreshed`: unchanged findings re-sent to outlive the 90-day retention.
    pub refreshed: usize,
    /// `resolved` plus `reopened`.
    pub resolved: usize,
    /// Findings not resolved because SSM's data predates them.
    pub held_back: usize,
    /// Findings that could not be imported.
    pub failed: usize,
    /// AWS calls made.
    pub api_calls: u64,
    /// Billable Security Hub ingestion events caused.
    pub ingested: usize,
    /// Wall time of the invocation.
    pub duration_ms: u64,
    /// The error type when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    /// Something worth knowing (an ignored event, an unknown node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Lambda's request id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request_id: String,
    /// Records of an SQS batch.
    #[serde(skip_serializing_if = "is_zero")]
    pub records: usize,
    /// Of those, reported back as failed (SQS redelivers them).
    #[serde(skip_serializing_if = "is_zero")]
    pub records_failed: usize,
    /// Findings archived because the stack was deleted.
    #[serde(skip_serializing_if = "is_zero")]
    pub archived: usize,
    /// The sweep stopped before its deadline with changed nodes left: invoke again (the
    /// `continue` payload) and it goes on with them, the nodes finished here costing nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Changed nodes left for the next sweep.
    #[serde(skip_serializing_if = "is_zero")]
    pub nodes_deferred: usize,
    /// The payload that continues a partial sweep.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_with: Option<serde_json::Value>,
    /// Parquet objects written to Security Lake (the sink is on).
    #[serde(skip_serializing_if = "is_zero")]
    pub lake_objects: usize,
    /// OCSF events in them: one per finding created, updated, resolved or reopened.
    #[serde(skip_serializing_if = "is_zero")]
    pub lake_events: usize,
    /// Events that did not reach Security Lake, and why. Security Hub has them all: the
    /// invocation is not failed for this (a retry would find nothing changed and write nothing),
    /// but it is reported as `LakeWriteFailed` so the errors alarm counts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lake_error: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl InvocationSummary {
    fn counters(&mut self, t: &TargetSummary, api_calls: u64) {
        self.nodes = t.nodes_read;
        self.non_compliant = t.non_compliant;
        self.nodes_changed = t.nodes_changed;
        self.nodes_gone = t.nodes_gone;
        self.created = t.created;
        self.updated = t.updated;
        self.unchanged = t.unchanged;
        self.refreshed = t.refreshed;
        self.resolved = t.resolved + t.reopened;
        self.held_back = t.held_back;
        self.failed = t.failed;
        self.api_calls = api_calls;
        self.ingested = t.ingestion_events();
        self.partial = t.partial;
        self.nodes_deferred = t.nodes_deferred;
        self.continue_with = t.partial.then(|| serde_json::json!({ "action": "sweep" }));
    }

    /// Adds one more sync's counters (a batch syncs its nodes in groups).
    pub(crate) fn add_counters(&mut self, t: &TargetSummary) {
        let mut one = InvocationSummary::default();
        one.counters(t, t.api_calls.values().sum());
        self.nodes += one.nodes;
        self.non_compliant += one.non_compliant;
        self.nodes_changed += one.nodes_changed;
        self.nodes_gone += one.nodes_gone;
        self.created += one.created;
        self.updated += one.updated;
        self.unchanged += one.unchanged;
        self.refreshed += one.refreshed;
        self.resolved += one.resolved;
        self.held_back += one.held_back;
        self.failed += one.failed;
        self.api_calls += one.api_calls;
        self.ingested += one.ingested;
    }

    /// Writes the summary line: JSON fields a metric filter can match (`$.error_type`,
    /// `$.failed`), at INFO when ok and ERROR when not.
    pub fn log(&self) {
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    ok = self.ok,
                    trigger = self.trigger,
                    mode = self.mode,
                    instance_id = self.instance_id.as_deref(),
                    account = %self.account,
                    region = %self.region,
                    nodes = self.nodes,
                    non_compliant = self.non_compliant,
                    nodes_changed = self.nodes_changed,
                    nodes_gone = self.nodes_gone,
                    created = self.created,
                    updated = self.updated,
                    unchanged = self.unchanged,
                    refreshed = self.refreshed,
                    resolved = self.resolved,
                    held_back = self.held_back,
                    failed = self.failed,
                    api_calls = self.api_calls,
                    ingested = self.ingested,
                    duration_ms = self.duration_ms,
                    error_type = self.error_type,
                    note = self.note.as_deref(),
                    request_id = %self.request_id,
                    records = self.records,
                    records_failed = self.records_failed,
                    archived = self.archived,
                    partial = self.partial,
                    nodes_deferred = self.nodes_deferred,
                    lake_objects = self.lake_objects,
                    lake_events = self.lake_events,
                    lake_error = self.lake_error.as_deref(),
                    "invocation summary"
                )
            };
        }
        if self.ok {
            line!(info);
        } else {
            line!(error);
        }
    }
}

/// The error an invocation's sync deserves, if any: a failure that stopped (part of) the sync
/// keeps its class; otherwise findings that did not go in make a `PartialFailure`. Either way
/// everything that could be written was written before this is decided.
pub fn verdict(t: &TargetSummary) -> Option<LambdaError> {
    let failures = || {
        let quoted: Vec<String> = t
            .failures
            .iter()
            .take(QUOTED_FAILURES)
            .map(|f| format!("{} ({}: {})", f.id, f.code, f.message))
            .collect();
        let more = t.failures.len().saturating_sub(QUOTED_FAILURES);
        format!(
            "{}{}",
            quoted.join("; "),
            if more > 0 {
                format!("; and {more} more")
            } else {
                String::new()
            }
        )
    };
    let written = format!(
        "written: {} created, {} updated, {} refreshed, {} resolved",
        t.created,
        t.updated,
        t.refreshed,
        t.resolved + t.reopened
    );
    if let Some(error) = &t.error {
        let ty = t
            .error_kind
            .map(ErrorType::from)
            .unwrap_or(ErrorType::ServiceError);
        let tail = if t.failed > 0 {
            format!("; {} finding(s) not imported: {}", t.failed, failures())
        } else {
            String::new()
        };
        let progress = if t.ingestion_events() + t.failed > 0 {
            format!(" ({written}; the next run redoes the rest)")
        } else {
            String::new()
        };
        return Some(LambdaError::new(ty, format!("{error}{tail}{progress}")));
    }
    (t.failed > 0).then(|| {
        LambdaError::new(
            ErrorType::PartialFailure,
            format!(
                "{} finding(s) not imported after retries ({written}; the next run retries them): {}",
                t.failed,
                failures()
            ),
        )
    })
}

/// The function's state, built once per cold start and shared by every invocation.
#[derive(Debug)]
pub struct Function {
    /// The function's own account and Region. Quotas are per account and Region, and so is the
    /// function: one target (and so one limiter) for its life, so back-to-back invocations share
    /// the buckets as they share AWS's. This one paces node and batch syncs at the instance's
    /// share (`PATCHHUB_CONCURRENCY`).
    target: Target,
    /// The same account and Region at the pace of sweeps and the archive on stack deletion,
    /// which run outside the window and may take its part of the quotas too.
    sweep_target: Target,
    policy: FindingPolicy,
    /// Patch deadlines (`PATCHHUB_SLA`, `PATCHHUB_KEV`, …), judged at each invocation's clock
    /// unless `PATCHHUB_AS_OF` fixes it.
    deadlines: std::sync::Arc<patchhub_aws::deadlines::Deadlines>,
    /// The Security Lake sink, when `PATCHHUB_LAKE_S3_URI` is set.
    lake: Option<LakeSink>,
}

impl Function {
    /// Builds the clients from `sdk` and asks STS which account and partition they act in.
    pub async fn new(sdk: &SdkConfig, config: LambdaConfig) -> Result<Self, LambdaError> {
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .filter(|r| patchhub_aws::targets::is_region(r))
            .ok_or_else(|| {
                LambdaError::new(
                    ErrorType::InvalidConfig,
                    format!(
                        "no valid AWS Region (got `{}`): Lambda sets AWS_REGION; outside Lambda set it yourself",
                        sdk.region().map(|r| r.to_string()).unwrap_or_default()
                    ),
                )
            })?;
        let session = clients::base_session(sdk).await.map_err(|e| {
            LambdaError::new(
                e.kind.into(),
                format!("cannot tell which account the function runs in: {e}"),
            )
        })?;
        let lake = match &config.lake {
            Some(c) => Some(LakeSink::new(sdk, c).await),
            None => None,
        };
        Ok(Function {
            target: Target::with_limiter(&session, &region, Limiter::new(config.quotas)),
            sweep_target: Target::with_limiter(
                &session,
                &region,
                Limiter::new(config.sweep_quotas),
            ),
            policy: config.policy,
            deadlines: config.deadlines,
            lake,
        })
    }

    /// The account the function imports findings in.
    pub fn account(&self) -> &str {
        self.target.account()
    }

    /// The Region the function imports findings in.
    pub fn region(&self) -> &str {
        self.target.region()
    }

    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub fn partition(&self) -> &str {
        self.target.partition()
    }

    /// The finding policy in force.
    pub fn policy(&self) -> &FindingPolicy {
        &self.policy
    }

    /// Syncs with `opts` in the function's account and Region, counting the calls it made. A
    /// sweep (no node named) goes at the sweep's pace, nodes and batches at the instance's share.
    /// With the Security Lake sink on, the OCSF events of what it imported are written after
    /// it (whatever else failed: only accepted findings are observed) and counted in `summary`.
    pub(crate) async fn sync(
        &self,
        mut opts: SyncOptions,
        summary: &mut InvocationSummary,
    ) -> TargetSummary {
        let collected = self.lake.as_ref().map(|_| {
            let (observer, events) = LakeSink::collector();
            opts.observer = Some(observer);
            events
        });
        opts.deadlines = self.deadlines.clone();
        let sweep = opts.only_instance.is_none() && opts.only_instances.is_empty();
        let t = if sweep {
            &self.sweep_target
        } else {
            &self.target
        };
        let calls_before = t.calls();
        let mut target =
            sync_target(t.ssm(), t.hub(), t.account(), t.region(), opts, Utc::now()).await;
        target.api_calls = t.api_calls_since(&calls_before);
        if let (Some(lake), Some(events)) = (&self.lake, collected) {
            let events = std::mem::take(&mut *events.lock().unwrap_or_else(|p| p.into_inner()));
            let out = lake.write(events, Utc::now(), &summary.request_id).await;
            summary.lake_objects += out.objects;
            summary.lake_events += out.events;
            if let Some(e) = out.error {
                tracing::error!(error = %e, "Security Lake write failed");
                summary.lake_error.get_or_insert(e);
            }
        }
        target
    }

    /// Security Hub of the function's account and Region at the sweep's pace (the archive on
    /// stack deletion reads and writes every finding, as a sweep does).
    pub(crate) fn sink(&self) -> SecurityHubSink {
        self.sweep_target.hub()
    }

    /// Runs one request. A sweep stops starting work a margin before `deadline_ms` (Lambda's
    /// deadline, epoch milliseconds; 0 for none) and reports `partial` when it had to.
    pub(crate) async fn run(
        &self,
        request: Request,
        deadline_ms: u64,
        summary: &mut InvocationSummary,
    ) -> Result<(), LambdaError> {
        summary.trigger = request.trigger().as_str();
        let only = match request {
            Request::Ignore { reason, .. } => {
                summary.mode = "ignored";
                summary.note = Some(reason);
                return Ok(());
            }
            Request::Node { instance_id, .. } => {
                summary.mode = "node";
                summary.instance_id = Some(instance_id.clone());
                Some(instance_id)
            }
            Request::Sweep { .. } => {
                summary.mode = "sweep";
                None
            }
        };
        let mut opts = SyncOptions::new(self.policy.clone());
        opts.only_instance = only.clone();
        if only.is_none() {
            opts.stop_at = crate::deadline::sweep_stop(deadline_ms);
        }
        let target = self.sync(opts, summary).await;
        summary.counters(&target, target.api_calls.values().sum());
        if target.partial {
            tracing::warn!(
                nodes_deferred = target.nodes_deferred,
                "sweep stopped before the deadline; the next sweep continues"
            );
            summary.note = Some(format!(
                "sweep stopped before the deadline with {} changed node(s) left and nothing archived; invoke again with {{\"action\":\"sweep\"}} (or let the schedule) to continue: the nodes finished here cost nothing",
                target.nodes_deferred
            ));
        }
        if let Some(id) = &only
            && target.nodes_read == 0
            && target.error.is_none()
        {
            tracing::warn!(instance_id = %id, "node not known to SSM here");
            summary.note = Some(format!(
                "node {id} is not known to SSM in account {} in {} (not managed, or terminated): nothing to sync",
                self.account(),
                self.region()
            ));
        }
        match (verdict(&target), &only) {
            (Some(mut e), Some(id)) if e.error_type == ErrorType::InvalidRequest => {
                e.message.push_str(&format!(
                    " (is {id} a node managed by SSM in account {} in {}?)",
                    self.account(),
                    self.region()
                ));
                Err(e)
            }
            (Some(e), _) => Err(e),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use patchhub_aws::ErrorKind;
    use patchhub_aws::sink::FailedFinding;

    use super::*;

    fn failed(n: usize) -> Vec<FailedFinding> {
        (0..n)
            .map(|i| FailedFinding {
                id: format!("f{i}"),
                code: "InternalFailure".into(),
                message: "Internal service failure".into(),
            })
            .collect()
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(&TargetSummary::default()), None);
        let partial = TargetSummary {
            created: 7,
            failed: 5,
            failures: failed(5),
            ..Default::default()
        };
        let e = verdict(&partial).unwrap();
        assert_eq!(e.error_type, ErrorType::PartialFailure);
        assert!(
            e.message
                .starts_with("5 finding(s) not imported after retries (written: 7 created"),
            "{}",
            e.message
        );
        assert!(
            e.message
                .contains("f0 (InternalFailure: Internal service failure)")
        );
        assert!(e.message.ends_with("; and 2 more"), "{}", e.message);

        for (kind, ty) in [
            (ErrorKind::AccessDenied, "AccessDenied"),
            (ErrorKind::Throttled, "Throttled"),
            (ErrorKind::HubNotEnabled, "HubNotEnabled"),
            (ErrorKind::Service, "ServiceError"),
        ] {
            let t = TargetSummary {
                error: Some("account 1 in r: GetFindings failed: no".into()),
                error_kind: Some(kind),
                failed: 2,
                failures: failed(2),
                ..Default::default()
            };
            let e = verdict(&t).unwrap();
            assert_eq!(
                e.error_type.as_str(),
                ty,
                "a stopping error outranks failed findings"
            );
            assert!(
                e.message.contains("2 finding(s) not imported"),
                "{}",
                e.message
            );
        }
    }
}
