//! The read side of `patchhub report`: patchhub's findings over accounts and Regions, from
//! Security Hub as imported (one `GetFindings` path with the sync's read-back), from SSM mapped
//! now as the sync would map it (through the target's SSM source), or from a JSON Lines file. The figures
//! are computed from them by `patchhub_core::report`.

use std::path::Path;
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use patchhub_core::finding::{self, Finding};
use patchhub_core::model::NodeCompliance;
use patchhub_core::policy::FindingPolicy;

use crate::error::{ApiError, ErrorKind};
use crate::fanout::{self, FanOut};
use crate::findings_query::{FindingFilter, Match};
use crate::source::ComplianceSource;
use crate::source::needs_patch_read;
use crate::target::Target;
use crate::targets::RegionSelection;

/// Where the findings are read from in each account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSource {
    /// patchhub's findings in Security Hub.
    SecurityHub,
    /// SSM, mapped now as `sync` would (nothing is written).
    Ssm,
}

/// Findings read, and what could not be read.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every finding read.
    pub findings: Vec<Finding>,
    /// One line per account or account-Region target that could not be read, sorted.
    pub gaps: Vec<String>,
}

/// Days back that archived patch findings are read for "resolved recently".
pub const RESOLVED_WINDOW_DAYS: i32 = 30;

/// Reads every account and Region of the fan-out. Setup failures (credentials, the account
/// list) are errors; a target or account that cannot be read becomes a gap.
pub async fn collect(
    base: &SdkConfig,
    fan: &FanOut,
    source: ReadSource,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Result<Collected, ApiError> {
    let all_enabled = matches!(fan.regions, RegionSelection::AllEnabled);
    let (targets, entered) = fanout::targets(base, fan).await?;
    let mut gaps: Vec<String> = entered
        .failures
        .iter()
        .map(|e| format!("account {}: {}", e.account, e.error))
        .collect();
    let policy = Arc::new(policy.clone());
    let read = fanout::each_target(targets, fan.concurrency, fan.per_account_concurrency, |t| {
        let policy = policy.clone();
        async move {
            match source {
                ReadSource::SecurityHub => read_security_hub(&t).await,
                ReadSource::Ssm => read_ssm(&t, &policy, now).await,
            }
        }
    })
    .await;
    let mut findings = Vec::new();
    for res in read {
        match res {
            Ok(f) => findings.extend(f),
            // A Region `all-enabled` lists where Security Hub is off holds no finding: no gap.
            Err(e) if all_enabled && e.kind == ErrorKind::HubNotEnabled => {}
            Err(e) => gaps.push(e.to_string()),
        }
    }
    gaps.sort();
    Ok(Collected { findings, gaps })
}

/// patchhub's open findings in one account and Region as its caller sees them (an
/// administrator's view includes its members and, in the aggregation home Region, the linked
/// Regions), plus the patch findings resolved in the last 30 days. No account filter: that is
/// what lets one read from the administrator cover the organization.
async fn read_security_hub(t: &Target) -> Result<Vec<Finding>, ApiError> {
    let open = FindingFilter {
        generators: vec![Match::Prefix(finding::GENERATOR_PREFIX.into())],
        record_state: Some("ACTIVE"),
        ..FindingFilter::default()
    };
    let resolved = FindingFilter {
        generators: vec![Match::Equals(finding::GENERATOR_PATCH.into())],
        record_state: Some("ARCHIVED"),
        updated_within_days: Some(RESOLVED_WINDOW_DAYS),
        ..FindingFilter::default()
    };
    let mut out = t.get_findings(&open).await?;
    out.extend(t.get_findings(&resolved).await?);
    Ok(out)
}

/// Findings `sync` would write for one account and Region, mapped from SSM now (8 nodes' patches
/// read at once).
async fn read_ssm(
    t: &Target,
    policy: &Arc<FindingPolicy>,
    now: DateTime<Utc>,
) -> Result<Vec<Finding>, ApiError> {
    let source = t.ssm();
    let nodes = source.list_all_nodes(&policy.exclude_tags).await?;
    let mapped = fanout::each(nodes, 8, |mut node| {
        let (source, policy) = (source.clone(), policy.clone());
        async move {
            let patches = if needs_patch_read(&node) {
                source.node_patches(&mut node).await?
            } else {
                Vec::new()
            };
            Ok::<_, ApiError>(patchhub_core::findings_for_node(
                &NodeCompliance { node, patches },
                &policy,
                now,
            ))
        }
    })
    .await;
    let mut out = Vec::new();
    for r in mapped {
        out.extend(r?);
    }
    Ok(out)
}

/// Why a findings file could not be read.
#[derive(Debug)]
pub enum JsonlError {
    /// The file (or stdin) could not be read.
    Read(std::io::Error),
    /// A line is not a finding.
    Line {
        /// 1-based line number.
        line: usize,
        /// What serde said.
        error: serde_json::Error,
    },
}

/// Findings from a JSON Lines file (`sync --output jsonl`, the demo's findings.jsonl; `-` reads
/// stdin): one finding per line, blank lines skipped, the first bad line named.
pub fn read_jsonl(path: &Path) -> Result<Vec<Finding>, JsonlError> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(JsonlError::Read)?;
    parse_jsonl(&text)
}

/// One finding per line; blank lines skipped.
pub(crate) fn parse_jsonl(text: &str) -> Result<Vec<Finding>, JsonlError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Finding =
            serde_json::from_str(line).map_err(|error| JsonlError::Line { line: i + 1, error })?;
        out.push(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_findings_file_skips_blank_lines_and_names_the_first_bad_one() {
        assert!(parse_jsonl("\n  \n").unwrap().is_empty());
        match parse_jsonl("\n{\"not\": \"a finding\"}\n") {
            Err(JsonlError::Line { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        match read_jsonl(Path::new("/nonexistent/findings.jsonl")) {
            Err(JsonlError::Read(e)) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            other => panic!("{other:?}"),
        }
    }
}
