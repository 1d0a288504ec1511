//! The record of what a command did: [`Log`] collects one [`HubAction`] per step from concurrent
//! tasks, with the resume hint every failure carries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::{HubAction, HubReport, Outcome, Step};
use crate::error::{ApiError, ErrorKind};

/// The actions of a command, collected from concurrent tasks.
#[derive(Clone)]
pub(super) struct Log {
    command: &'static str,
    actions: Arc<Mutex<Vec<HubAction>>>,
}

/// Why a step could not go on, for the steps that depend on it.
#[derive(Debug, Clone)]
pub(super) struct Blocked {
    pub(super) outcome: Outcome,
    pub(super) why: String,
}

impl Log {
    pub(super) fn new(command: &'static str) -> Self {
        Log {
            command,
            actions: Arc::default(),
        }
    }

    fn push(&self, action: HubAction) {
        // Callers print skipped and failed steps themselves; the log has every step.
        tracing::info!(
            account = action.account,
            region = action.region,
            step = action.step.as_str(),
            outcome = action.outcome.as_str(),
            "{}",
            action.detail
        );
        self.actions.lock().expect("action log").push(action);
    }

    fn record(&self, account: &str, region: &str, step: Step, outcome: Outcome, detail: String) {
        self.push(HubAction {
            account: account.to_string(),
            region: region.to_string(),
            step,
            outcome,
            detail,
            resume: None,
            error_kind: None,
        });
    }

    pub(super) fn fail(
        &self,
        account: &str,
        region: &str,
        step: Step,
        detail: String,
        resume: String,
        error_kind: Option<ErrorKind>,
    ) {
        self.push(HubAction {
            account: account.to_string(),
            region: region.to_string(),
            step,
            outcome: Outcome::Failed,
            detail,
            resume: Some(resume),
            error_kind,
        });
    }

    pub(super) fn done(&self, account: &str, region: &str, step: Step, detail: impl Into<String>) {
        self.record(account, region, step, Outcome::Done, detail.into());
    }

    pub(super) fn already(
        &self,
        account: &str,
        region: &str,
        step: Step,
        detail: impl Into<String>,
    ) {
        self.record(account, region, step, Outcome::Already, detail.into());
    }

    pub(super) fn skipped(&self, account: &str, region: &str, step: Step, why: impl Into<String>) {
        self.record(account, region, step, Outcome::Skipped, why.into());
    }

    pub(super) fn failed(
        &self,
        account: &str,
        region: &str,
        step: Step,
        why: impl Into<String>,
        resume: impl Into<String>,
    ) {
        self.fail(account, region, step, why.into(), resume.into(), None);
    }

    /// The rerun sentence every resume hint ends with.
    pub(super) fn rerun(&self) -> String {
        format!(
            "then run the same `patchhub {}` again (steps already in place are skipped)",
            self.command
        )
    }

    /// [`Log::error`] for each of `accounts`, which one call covered.
    pub(super) fn errors<'a>(
        &self,
        accounts: impl IntoIterator<Item = &'a String>,
        region: &str,
        step: Step,
        e: &ApiError,
    ) {
        for account in accounts {
            self.error(account, region, step, e);
        }
    }

    /// Logs an AWS error: a Region not enabled for the account is skipped, anything else fails
    /// with a resume hint.
    pub(super) fn error(&self, account: &str, region: &str, step: Step, e: &ApiError) -> Blocked {
        if e.kind == ErrorKind::RegionDisabled {
            let why = format!(
                "{region} is not enabled for account {} (opt-in Region)",
                e.account
            );
            self.skipped(account, region, step, &why);
            return Blocked {
                outcome: Outcome::Skipped,
                why,
            };
        }
        let why = describe(e);
        self.fail(
            account,
            region,
            step,
            why.clone(),
            self.resume_for(e),
            Some(e.kind),
        );
        Blocked {
            outcome: Outcome::Failed,
            why,
        }
    }

    pub(super) fn resume_for(&self, e: &ApiError) -> String {
        let rerun = self.rerun();
        let action = if e.api.contains(':') {
            e.api.clone()
        } else {
            format!("securityhub:{}", e.api)
        };
        match e.kind {
            ErrorKind::AccessDenied => format!(
                "allow {action} to the principal patchhub uses in account {} (HUB_ACTIONS in docs/DEPLOY.md), {rerun}",
                e.account
            ),
            ErrorKind::Credentials => format!("refresh the credentials, {rerun}"),
            ErrorKind::HubNotEnabled => format!(
                "enable Security Hub in account {} in {}, {rerun}",
                e.account, e.region
            ),
            ErrorKind::InvalidInput => format!("resolve what AWS answered, {rerun}"),
            ErrorKind::Throttled | ErrorKind::Service | ErrorKind::RegionDisabled => {
                format!("nothing to fix on your side: {rerun}")
            }
        }
    }

    /// A step not attempted because a step it depends on did not go through.
    pub(super) fn blocked(&self, account: &str, region: &str, step: Step, b: &Blocked, by: &str) {
        let detail = format!("not attempted: {by}: {}", b.why);
        match b.outcome {
            Outcome::Skipped => self.skipped(account, region, step, detail),
            _ => {
                let resume = format!("fix {by} (see its own line), {}", self.rerun());
                self.fail(account, region, step, detail, resume, None);
            }
        }
    }

    /// Logs `step` for each account of one chunk of a member call (`CreateMembers`,
    /// `InviteMembers`): failed where the call left the account unprocessed (`refused` says what
    /// it did not do) or failed as a whole, done with `done` elsewhere. `true` where it went
    /// through, in the order of `ids`.
    pub(super) fn member_results<'a>(
        &self,
        region: &str,
        step: Step,
        ids: impl IntoIterator<Item = &'a str>,
        result: &Result<BTreeMap<String, String>, ApiError>,
        refused: &str,
        done: &str,
    ) -> Vec<bool> {
        ids.into_iter()
            .map(|id| match result {
                Ok(unprocessed) => match unprocessed.get(id) {
                    Some(why) => {
                        self.failed(
                            id,
                            region,
                            step,
                            format!("{refused}: {why}"),
                            format!("resolve that, {}", self.rerun()),
                        );
                        false
                    }
                    None => {
                        self.done(id, region, step, done);
                        true
                    }
                },
                Err(e) => {
                    self.error(id, region, step, e);
                    false
                }
            })
            .collect()
    }

    pub(super) fn regions_skipped_for(&self, account: &str) -> BTreeSet<String> {
        self.actions
            .lock()
            .expect("action log")
            .iter()
            .filter(|a| a.account == account && a.outcome == Outcome::Skipped)
            .map(|a| a.region.clone())
            .collect()
    }

    pub(super) fn report(&self) -> HubReport {
        let mut actions = self.actions.lock().expect("action log").clone();
        actions.sort_by(|a, b| {
            (&a.account, &a.region, a.step, &a.detail)
                .cmp(&(&b.account, &b.region, b.step, &b.detail))
        });
        HubReport { actions }
    }
}

/// `API failed: message` (the account and Region are the row's).
pub(super) fn describe(e: &ApiError) -> String {
    match &e.action {
        Some(action) => format!("{action}: {}", e.what()),
        None => format!("{} failed: {}", e.api, e.what()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_sorts_and_counts() {
        let log = Log::new("hub enable");
        log.done(
            "222222222222",
            "us-east-1",
            Step::AcceptInvitation,
            "member",
        );
        log.already("111111111111", "us-east-1", Step::EnableHub, "on");
        log.skipped("222222222222", "ap-east-1", Step::EnableHub, "opt-in");
        let e = ApiError::other(
            "222222222222",
            "eu-west-1",
            "CreateMembers",
            ErrorKind::AccessDenied,
            "no",
        );
        let b = log.error("222222222222", "eu-west-1", Step::CreateMember, &e);
        assert_eq!(b.outcome, Outcome::Failed);
        let r = log.report();
        assert!(!r.is_ok());
        assert_eq!(
            (
                r.changed(),
                r.count(Outcome::Already),
                r.count(Outcome::Skipped),
                r.count(Outcome::Failed)
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(r.actions[0].account, "111111111111");
        let failed = r
            .find("222222222222", "eu-west-1", Step::CreateMember)
            .unwrap();
        let resume = failed.resume.as_deref().unwrap();
        assert!(
            resume.contains("securityhub:CreateMembers") && resume.contains("patchhub hub enable"),
            "{resume}"
        );
        let region_off = ApiError::other(
            "1",
            "ap-east-1",
            "DescribeHub",
            ErrorKind::RegionDisabled,
            "x",
        );
        assert_eq!(
            log.error("1", "ap-east-1", Step::EnableHub, &region_off)
                .outcome,
            Outcome::Skipped
        );
        assert_eq!(
            log.regions_skipped_for("1"),
            BTreeSet::from(["ap-east-1".to_string()])
        );
    }
}
