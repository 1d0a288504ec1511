//! The findings about a node as a whole: its patch-compliance roll-up and the stale-scan
//! finding of a node that stopped reporting.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::node::{Draft, NodeCtx, identity_ok, put};
use crate::finding::{
    AwsSsmComplianceSummary, AwsSsmPatch, AwsSsmPatchCompliance, ComplianceStatus, Finding,
    FindingKind, PatchSummary, ResourceDetails, SeverityLabel, fields,
};
use crate::limits;
use crate::model::{ManagedNode, Severity};
use crate::policy::{FindingPolicy, StaleReason, describe_duration};
use crate::text::{clip, human, rfc3339, to_millis};

/// The node's roll-up: FAILED while non-compliant, PASSED when compliant, with
/// `PatchSummary` and `AwsSsmPatchCompliance`. Built from the node alone (counts from
/// `DescribeInstancePatchStates`). Its content (what the fingerprint covers) is the node's
/// substance: every count SSM reports, baseline, group, policy hash, stale status, names and
/// tags; which scan last confirmed it (execution id, operation times) is bookkeeping outside
/// the fingerprint, so a rescan that finds the same state leaves the roll-up unchanged. Equal
/// counts are taken to mean an unchanged patch list; the retention heartbeat re-reads the
/// patches of each node (see `docs/ARCHITECTURE.md`, "Cost model").
///
/// `None` when `policy.rollup` is off, the node never reported a patch operation, or the
/// node's identity cannot be imported (account not 12 digits, bad Region/partition/id).
pub fn rollup_finding(
    node: &ManagedNode,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Option<Finding> {
    if !policy.rollup || !identity_ok(node) {
        return None;
    }
    let op = node.last_operation.as_ref()?;
    let ctx = NodeCtx::new(node);
    let now = to_millis(now);
    let stale = !policy.stale_reasons(node, now).is_empty();
    let c = &node.counts;
    let non_compliant = node.is_non_compliant();
    let excluded = policy.excluding_tag(node);

    let mut parts = Vec::new();
    for (n, what) in [
        (c.missing, "missing"),
        (c.failed, "failed"),
        (c.installed_pending_reboot, "pending reboot"),
        (c.installed_rejected, "installed but rejected"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    if c.available_security_update > 0 && !node.available_security_updates_compliant {
        parts.push(format!(
            "{} security updates available",
            c.available_security_update
        ));
    }
    let stale_note = if stale { " (stale scan)" } else { "" };
    let title = if non_compliant {
        format!(
            "Patch compliance: {} is non-compliant: {}{stale_note}",
            ctx.label,
            parts.join(", ")
        )
    } else {
        format!("Patch compliance: {} is compliant{stale_note}", ctx.label)
    };

    let severity = if !non_compliant {
        Severity::Informational
    } else if c.critical_non_compliant > 0 {
        Severity::Critical
    } else if c.security_non_compliant > 0 {
        Severity::High
    } else {
        Severity::Medium
    };

    let mut d = Vec::new();
    // Which scan confirmed this state is in PatchSummary and the ScanTime/ExecutionId fields,
    // outside the fingerprint: naming it here would make every rescan an update.
    d.push(format!(
        "{}{} is {} according to Patch Manager (PatchSummary names the patch operation that last confirmed it).",
        ctx.label,
        ctx.platform_suffix,
        if non_compliant {
            "NON_COMPLIANT"
        } else {
            "COMPLIANT"
        },
    ));
    d.push(format!("{}.", ctx.baseline_phrase));
    d.push(format!(
        "Counts: {} installed, {} installed other, {} missing, {} failed, {} pending reboot, {} installed rejected, {} not applicable, {} available security updates; {} critical, {} security and {} other non-compliant.",
        c.installed,
        c.installed_other,
        c.missing,
        c.failed,
        c.installed_pending_reboot,
        c.installed_rejected,
        c.not_applicable,
        c.available_security_update,
        c.critical_non_compliant,
        c.security_non_compliant,
        c.other_non_compliant
    ));
    if stale {
        d.push(format!(
            "This data may be out of date: no patch operation for more than {} or the agent is not connected.",
            describe_duration(policy.stale_after)
        ));
    }
    if let Some(f) = excluded {
        d.push(format!(
            "No per-patch findings are produced for this node: excluded by tag {f}."
        ));
    }
    let fix = if non_compliant {
        "Run AWS-RunPatchBaseline with Operation=Install on this node (Patch now, or a maintenance window), reboot if patches are pending reboot, then scan again."
    } else {
        "No action needed."
    };
    d.push(fix.to_string());

    let mut pf = BTreeMap::new();
    put(&mut pf, fields::KIND, FindingKind::Rollup.as_str());
    ctx.put_node_fields(&mut pf);
    put(&mut pf, fields::POLICY_HASH, &policy.fingerprint());
    put(&mut pf, fields::STALE, if stale { "true" } else { "false" });
    put(
        &mut pf,
        fields::ASU_COMPLIANT,
        if node.available_security_updates_compliant {
            "true"
        } else {
            "false"
        },
    );
    if let Some(f) = excluded {
        put(&mut pf, fields::EXCLUDED, &format!("tag:{f}"));
    }

    let mut resource = ctx.resource.clone();
    let summary = AwsSsmComplianceSummary {
        status: Some(
            if non_compliant {
                "NON_COMPLIANT"
            } else {
                "COMPLIANT"
            }
            .to_string(),
        ),
        non_compliant_critical_count: Some(count(c.critical_non_compliant)),
        execution_type: Some("Command".to_string()),
        compliance_type: Some("Patch".to_string()),
        patch_baseline_id: nonempty(
            node.baseline_id.as_deref(),
            limits::MAX_PATCH_SUMMARY_STRING,
        ),
        patch_group: nonempty(
            node.patch_group.as_deref(),
            limits::MAX_PATCH_SUMMARY_STRING,
        ),
        // SSM's OverallSeverity is only known for sure when critical patches are missing.
        overall_severity: (c.critical_non_compliant > 0).then(|| "CRITICAL".to_string()),
        ..Default::default()
    };
    resource
        .details
        .get_or_insert_with(ResourceDetails::default)
        .aws_ssm_patch_compliance = Some(AwsSsmPatchCompliance {
        patch: Some(AwsSsmPatch {
            compliance_summary: Some(summary),
        }),
    });

    let patch_summary = PatchSummary {
        id: nonempty(
            node.baseline_id.as_deref(),
            limits::MAX_PATCH_SUMMARY_STRING,
        )
        .unwrap_or_else(|| "unknown".to_string()),
        installed_count: Some(patch_count(c.installed)),
        missing_count: Some(patch_count(c.missing)),
        failed_count: Some(patch_count(c.failed)),
        installed_other_count: Some(patch_count(c.installed_other)),
        installed_rejected_count: Some(patch_count(c.installed_rejected)),
        installed_pending_reboot: Some(patch_count(c.installed_pending_reboot)),
        operation_start_time: Some(rfc3339(op.start)),
        operation_end_time: Some(rfc3339(op.end)),
        reboot_option: nonempty(
            op.reboot_option.as_deref(),
            limits::MAX_PATCH_SUMMARY_STRING,
        ),
        operation: Some(op.operation.as_str().to_ascii_uppercase()),
    };

    let draft = Draft {
        kind: FindingKind::Rollup,
        id: ctx.finding_id(FindingKind::Rollup, None),
        title,
        description: d.join(" "),
        recommendation: fix.to_string(),
        severity,
        original: SeverityLabel::from(severity).as_str().to_string(),
        compliance: if non_compliant {
            ComplianceStatus::Failed
        } else {
            ComplianceStatus::Passed
        },
        product_fields: pf,
        resource,
        patch_summary: Some(patch_summary),
        vulnerabilities: Vec::new(),
        first_observed: Some(op.end.min(now)),
    };
    Some(draft.finish(node, now))
}

/// A stale-scan finding when the node never reported a patch operation, its last one ended
/// more than `policy.stale_after` before `now`, or its agent is `ConnectionLost`/`Inactive`.
/// `None` otherwise, or when `policy.stale_findings` is off. Compliance is WARNING: the
/// node's true patch state is unknown.
pub fn stale_finding(
    node: &ManagedNode,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Option<Finding> {
    if !policy.stale_findings || !identity_ok(node) {
        return None;
    }
    let now = to_millis(now);
    let reasons = policy.stale_reasons(node, now);
    if reasons.is_empty() {
        return None;
    }
    let ctx = NodeCtx::new(node);
    let lost = reasons.contains(&StaleReason::ConnectionLost);
    let lost_note = if lost { " (agent connection lost)" } else { "" };
    let op = node.last_operation.as_ref();
    let title = match op {
        None => format!("No patch scan ever reported by {}{lost_note}", ctx.label),
        Some(op) if reasons.contains(&StaleReason::ScanTooOld) => {
            format!(
                "No patch scan since {} on {}{lost_note}",
                human(op.end),
                ctx.label
            )
        }
        Some(_) => format!("SSM Agent connection lost on {}", ctx.label),
    };

    let mut d = Vec::new();
    match op {
        None => d.push(format!(
            "{}{} has never reported patch state to Patch Manager.",
            ctx.label, ctx.platform_suffix
        )),
        Some(op) => {
            d.push(format!(
                "{}{} last reported patch state with the {} operation that ended {} ({}).",
                ctx.label,
                ctx.platform_suffix,
                op.operation.as_str(),
                human(op.end),
                ctx.execution_phrase
            ));
            if reasons.contains(&StaleReason::ScanTooOld) {
                d.push(format!(
                    "That is more than {} before this check, so its patch findings may be out of date.",
                    describe_duration(policy.stale_after)
                ));
            }
        }
    }
    if lost {
        d.push(format!(
            "SSM Agent ping status is {}.",
            node.ping_status.as_str()
        ));
    }
    d.push(format!("{}.", ctx.baseline_phrase));
    let fix = format!(
        "Check that the node is running, SSM Agent is online and can reach Systems Manager, and that a maintenance window or State Manager association runs AWS-RunPatchBaseline (Scan) at least every {}.",
        describe_duration(policy.stale_after)
    );
    d.push(fix.clone());

    let mut pf = BTreeMap::new();
    put(&mut pf, fields::KIND, FindingKind::StaleScan.as_str());
    ctx.put_node_fields(&mut pf);
    put(&mut pf, fields::STALE, "true");
    put(&mut pf, fields::PING_STATUS, node.ping_status.as_str());
    let reason_list: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    put(&mut pf, fields::STALE_REASONS, &reason_list.join(","));

    // From SSM data that does not move between runs where there is any (see "Stale reads" in
    // docs/ARCHITECTURE.md): the scan's end plus the threshold, the last ping of a lost
    // agent, a hybrid node's registration; else the start of the run's day, so that two runs
    // close together (one not yet seeing the other's import) still agree.
    let stable = match op {
        Some(op) if reasons.contains(&StaleReason::ScanTooOld) => {
            op.end.checked_add_signed(policy.stale_after)
        }
        _ if lost => node.last_ping,
        None => node.registered,
        Some(_) => None,
    };
    let first_observed = stable.map_or_else(|| start_of_day(now), |t| t.min(now));
    let draft = Draft {
        kind: FindingKind::StaleScan,
        id: ctx.finding_id(FindingKind::StaleScan, None),
        title,
        description: d.join(" "),
        recommendation: fix,
        severity: Severity::Medium,
        original: "MEDIUM".to_string(),
        compliance: ComplianceStatus::Warning,
        product_fields: pf,
        resource: ctx.resource.clone(),
        patch_summary: None,
        vulnerabilities: Vec::new(),
        first_observed: Some(first_observed),
    };
    Some(draft.finish(node, now))
}

fn start_of_day(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(t, |d| d.and_utc())
}

fn nonempty(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| clip(s, max)).filter(|s| !s.is_empty())
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A `PatchSummary` count: the model allows 0 to 100000, so a larger one is capped.
fn patch_count(n: u32) -> i32 {
    count(n).min(limits::MAX_PATCH_COUNT)
}
