//! `cleanup`: archives every active patchhub finding from inside the account that owns it, before
//! patchhub is uninstalled.

use aws_config::SdkConfig;
use chrono::{DateTime, Duration as TimeDelta, Utc};
use patchhub_core::finding::{self, Finding, RecordState};

use super::accounts::{check_regions, short_sts_error};
use super::log::Log;
use super::{HubReport, RESOLUTION_UNINSTALLED, Step};
use crate::error::{ApiError, ErrorKind};
use crate::fanout::{self, FanOut};
use crate::sink::{FindingQuery, FindingSink, SecurityHubSink};
use crate::targets::RegionSelection;

/// A patchhub finding as `cleanup` re-imports it: archived, with `UpdatedAt` strictly after the
/// stored one (Security Hub ignores updates that do not move it forward), Security Hub's own
/// `aws/` product fields left out, `patchhub/Resolution` `uninstalled`, and the fingerprint
/// sealed again. Compliance is left as it was: the finding is withdrawn, not resolved.
pub fn archived(mut f: Finding, now: DateTime<Utc>) -> Finding {
    f.updated_at = if f.updated_at >= now {
        f.updated_at + TimeDelta::milliseconds(1)
    } else {
        now
    };
    f.created_at = f.created_at.min(f.updated_at);
    f.record_state = RecordState::Archived;
    f.product_fields.retain(|k, _| !k.starts_with("aws/"));
    f.product_fields.insert(
        finding::fields::RESOLUTION.to_string(),
        RESOLUTION_UNINSTALLED.to_string(),
    );
    f.seal();
    f
}

/// Archives every active patchhub finding in the scope of `fan` (accounts entered as `sync`
/// enters them; findings are archived from inside the account that owns them, the only one
/// Security Hub lets change them). One `archive` action per account and Region. `Err` only when
/// nothing could start.
pub async fn cleanup(base: &SdkConfig, fan: &FanOut) -> Result<HubReport, ApiError> {
    let regions = match &fan.regions {
        RegionSelection::List(l) => l.clone(),
        RegionSelection::AllEnabled => {
            return Err(ApiError::other(
                "-",
                "-",
                "--regions",
                ErrorKind::InvalidInput,
                "--regions all-enabled is not supported: list the Regions",
            ));
        }
    };
    if let Some(e) = check_regions(&regions, None) {
        return Err(e);
    }
    let (targets, entered) = fanout::targets(base, fan).await?;
    let log = Log::new("cleanup");
    for s in &entered.skipped {
        log.skipped(
            &s.account,
            "-",
            Step::EnterAccount,
            format!("the account is {}, not ACTIVE", s.state),
        );
    }
    for f in entered.failures {
        let resume = match &fan.role.role_name {
            Some(r) => format!(
                "make sure role {r} exists in account {} and may be assumed, {}",
                f.account,
                log.rerun()
            ),
            None => format!("pass --role-name, {}", log.rerun()),
        };
        log.fail(
            &f.account,
            "-",
            Step::EnterAccount,
            short_sts_error(&f.error),
            resume,
            Some(f.kind),
        );
    }
    let now = Utc::now();
    fanout::each_target(targets, fan.concurrency, fan.per_account_concurrency, |t| {
        let log = log.clone();
        async move { archive_target(&t.hub(), t.account(), t.region(), now, &log).await }
    })
    .await;
    Ok(log.report())
}

async fn archive_target(
    sink: &SecurityHubSink,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
    log: &Log,
) {
    let found = match sink.read(&FindingQuery::all_patchhub()).await {
        Ok(f) => f,
        Err(e) if e.kind == ErrorKind::HubNotEnabled => {
            log.skipped(
                account,
                region,
                Step::Archive,
                "Security Hub is not enabled: its findings are out of reach",
            );
            return;
        }
        Err(e) => {
            log.error(account, region, Step::Archive, &e);
            return;
        }
    };
    let active: Vec<Finding> = found
        .into_iter()
        .filter(Finding::is_active)
        .map(|f| archived(f, now))
        .collect();
    if active.is_empty() {
        log.already(account, region, Step::Archive, "no active patchhub finding");
        return;
    }
    let total = active.len();
    let outcome = sink.import(active).await;
    if outcome.failed.is_empty() {
        log.done(
            account,
            region,
            Step::Archive,
            format!("archived {total} patchhub findings"),
        );
        return;
    }
    let first = &outcome.failed[0];
    let why = format!(
        "archived {} of {total}; {} not accepted (first: {} {}: {})",
        outcome.imported.len(),
        outcome.failed.len(),
        first.id,
        first.code,
        first.message
    );
    match &outcome.call_error {
        Some(e) => log.fail(
            account,
            region,
            Step::Archive,
            why,
            log.resume_for(e),
            Some(e.kind),
        ),
        None => log.failed(
            account,
            region,
            Step::Archive,
            why,
            format!("nothing to fix on your side: {}", log.rerun()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archiving_moves_updated_at_forward_and_marks_the_resolution() {
        let stored: Finding = serde_json::from_value(serde_json::json!({
            "SchemaVersion": "2018-10-08",
            "Id": "patchhub/aws/111111111111/us-east-1/i-0123456789abcdef0/rollup",
            "ProductArn": "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default",
            "GeneratorId": finding::GENERATOR_ROLLUP,
            "AwsAccountId": "111111111111",
            "Region": "us-east-1",
            "Types": [finding::TYPE_PATCH_MANAGEMENT],
            "CreatedAt": "2024-05-01T00:00:00Z",
            "UpdatedAt": "2024-05-02T00:00:00Z",
            "Severity": {"Label": "HIGH"},
            "Title": "t",
            "Description": "d",
            "Compliance": {"Status": "FAILED"},
            "ProductFields": {"patchhub/Kind": "rollup", "aws/securityhub/FindingId": "x"},
            "Resources": [{"Type": "AwsEc2Instance", "Id": "i-0123456789abcdef0"}]
        }))
        .unwrap();
        // A clock behind the stored UpdatedAt still moves it forward.
        let behind = "2024-05-01T12:00:00Z".parse().unwrap();
        let a = archived(stored.clone(), behind);
        assert!(a.updated_at > stored.updated_at);
        assert_eq!(a.record_state, RecordState::Archived);
        assert_eq!(
            a.product_fields
                .get(finding::fields::RESOLUTION)
                .map(String::as_str),
            Some(RESOLUTION_UNINSTALLED)
        );
        assert!(!a.product_fields.keys().any(|k| k.starts_with("aws/")));
        assert_eq!(a.compliance, stored.compliance, "withdrawn, not resolved");
        assert_eq!(a.fingerprint(), Some(a.compute_fingerprint().as_str()));
        let later = "2024-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(archived(stored, later).updated_at, later);
    }
}
