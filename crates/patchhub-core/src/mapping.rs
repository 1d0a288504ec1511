//! ASFF mapping: one node and its patches, under a policy, become findings.
//!
//! Three kinds: a per-(node, patch) finding for each non-compliant patch the policy admits,
//! a per-node roll-up, and a stale-scan finding for nodes that stopped reporting. Output is
//! a pure function of the input; `now` only decides "stale or not" and fills timestamps,
//! which the content fingerprint ignores, so re-running on unchanged data yields findings
//! the planner skips. Every finding returned passes [`Finding::validate`], whatever the input.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::finding::{
    AwsSsmComplianceSummary, AwsSsmPatch, AwsSsmPatchCompliance, COMPANY_NAME, Compliance,
    ComplianceStatus, Finding, FindingKind, FindingProviderFields, FindingProviderSeverity,
    FindingSeverity, FixAvailable, PRODUCT_NAME, PatchSummary, Recommendation, RecordState,
    Remediation, Resource, ResourceDetails, SeverityLabel, TYPE_CVE, TYPE_PATCH_MANAGEMENT,
    Vulnerability, VulnerabilityVendor, fields, fit_and_seal, prefer,
};
use crate::limits;
use crate::model::{ManagedNode, NodeCompliance, PatchItem, PatchState, Platform, Severity};
use crate::policy::{FindingPolicy, StaleReason, describe_duration};
use crate::text::{clip, human, list_some, one_line, rfc3339, to_millis, truncate};

/// Patch Manager documentation, the default remediation link.
pub const PATCH_MANAGER_URL: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager.html";

/// Cap for ProductFields values built from free text: real values are far shorter, and the
/// cap keeps 50 fields of 4-byte characters well inside 240 KB.
const FIELD_VALUE_CAP: usize = 512;
/// Cap for `Details.Other` values.
const OTHER_VALUE_CAP: usize = 256;
/// CVE ids shown in a description.
const CVES_IN_DESCRIPTION: usize = 5;
/// Longest string accepted as a CVE id; anything longer is not one.
const MAX_CVE_ID: usize = 64;

/// The default-product ARN findings are imported under:
/// `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`.
pub fn product_arn(partition: &str, region: &str, account_id: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default")
}

/// The deterministic finding `Id`:
/// `patchhub/PARTITION/ACCOUNT/REGION/NODE/patch/PATCH`, `.../NODE/rollup`,
/// `.../NODE/stale-scan`. Readable and identical on every machine and run. Only when it
/// would exceed 512 chars or contain control characters is the patch part replaced by
/// `sha256-HEX` of the patch id (and, if still too long, the whole id by
/// `patchhub/sha256-HEX` of the readable form).
pub fn finding_id(
    partition: &str,
    account_id: &str,
    region: &str,
    node_id: &str,
    kind: FindingKind,
    patch_id: Option<&str>,
) -> String {
    let base = format!("patchhub/{partition}/{account_id}/{region}/{node_id}");
    let full = match kind {
        FindingKind::Patch => format!("{base}/patch/{}", patch_id.unwrap_or_default()),
        FindingKind::Rollup => format!("{base}/rollup"),
        FindingKind::StaleScan => format!("{base}/stale-scan"),
    };
    let usable =
        |s: &str| crate::text::len(s) <= limits::MAX_ID && !s.chars().any(char::is_control);
    if usable(&full) {
        return full;
    }
    if kind == FindingKind::Patch {
        let hashed = format!(
            "{base}/patch/sha256-{}",
            sha256_hex(patch_id.unwrap_or_default())
        );
        if usable(&hashed) {
            return hashed;
        }
    }
    format!("patchhub/sha256-{}", sha256_hex(&full))
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Every finding for one node: roll-up, stale-scan, then patch findings by `Id`.
pub fn findings_for_node(
    nc: &NodeCompliance,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(rollup_finding(&nc.node, policy, now));
    out.extend(stale_finding(&nc.node, policy, now));
    out.extend(patch_findings(nc, policy, now));
    out
}

/// The node's roll-up: FAILED while non-compliant, PASSED when compliant, with
/// `PatchSummary` and `AwsSsmPatchCompliance`. Built from the node alone (counts from
/// `DescribeInstancePatchStates`), and its content covers everything the node's patch
/// findings depend on besides the patch list itself (execution id, scan time, policy hash,
/// names, tags, baseline, group); since the patch list only changes with a new scan, an
/// unchanged roll-up fingerprint means the patch findings are unchanged too.
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
    d.push(format!(
        "{}{} is {} according to its last patch operation: {} ending {} ({}).",
        ctx.label,
        ctx.platform_suffix,
        if non_compliant {
            "NON_COMPLIANT"
        } else {
            "COMPLIANT"
        },
        op.operation.as_str(),
        human(op.end),
        ctx.execution_phrase
    ));
    d.push(format!("{}.", ctx.baseline_phrase));
    d.push(format!(
        "Counts: {} installed, {} installed other, {} missing, {} failed, {} pending reboot, {} installed rejected, {} available security updates; {} critical, {} security and {} other non-compliant.",
        c.installed,
        c.installed_other,
        c.missing,
        c.failed,
        c.installed_pending_reboot,
        c.installed_rejected,
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
        installed_count: Some(count(c.installed)),
        missing_count: Some(count(c.missing)),
        failed_count: Some(count(c.failed)),
        installed_other_count: Some(count(c.installed_other)),
        installed_rejected_count: Some(count(c.installed_rejected)),
        installed_pending_reboot: Some(count(c.installed_pending_reboot)),
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
        id: finding_id(
            &node.partition,
            &node.account_id,
            &node.region,
            &node.instance_id,
            FindingKind::Rollup,
            None,
        ),
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

    let first_observed = match op {
        Some(op) if reasons.contains(&StaleReason::ScanTooOld) => op
            .end
            .checked_add_signed(policy.stale_after)
            .map_or(now, |t| t.min(now)),
        _ => now,
    };
    let draft = Draft {
        kind: FindingKind::StaleScan,
        id: finding_id(
            &node.partition,
            &node.account_id,
            &node.region,
            &node.instance_id,
            FindingKind::StaleScan,
            None,
        ),
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

/// One finding per non-compliant patch (MISSING, FAILED, INSTALLED_PENDING_REBOOT,
/// INSTALLED_REJECTED, and AVAILABLE_SECURITY_UPDATE unless the baseline counts those as
/// compliant) whose effective severity is at least `policy.min_severity` and whose id is
/// not excluded. None for a node excluded by tag. Sorted by `Id`; two patches with the
/// same id (SSM should not send them) yield one finding, chosen as the planner would.
pub fn patch_findings(
    nc: &NodeCompliance,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let node = &nc.node;
    if !identity_ok(node) || policy.excluding_tag(node).is_some() {
        return Vec::new();
    }
    let now = to_millis(now);
    let ctx = NodeCtx::new(node);
    let mut by_id: BTreeMap<String, Finding> = BTreeMap::new();
    for p in &nc.patches {
        if !p
            .state
            .is_non_compliant(node.available_security_updates_compliant)
            || !policy.admits_severity(p)
            || policy.excludes_patch(&p.id)
        {
            continue;
        }
        let f = patch_finding(&ctx, p, now);
        match by_id.get(&f.id) {
            Some(kept) if !prefer(&f, kept) => {}
            _ => {
                by_id.insert(f.id.clone(), f);
            }
        }
    }
    by_id.into_values().collect()
}

fn patch_finding(ctx: &NodeCtx, p: &PatchItem, now: DateTime<Utc>) -> Finding {
    let node = ctx.node;
    let identity = [p.id.trim(), p.title.trim()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("unnamed-patch");
    let label = {
        let l = clip(identity, 100);
        if l.is_empty() {
            "unnamed patch".to_string()
        } else {
            l
        }
    };
    let severity = p.effective_severity();
    let title = match p.state {
        PatchState::Missing => format!("{label} missing on {}", ctx.label),
        PatchState::Failed => format!("{label} failed to install on {}", ctx.label),
        PatchState::InstalledPendingReboot => format!("Pending reboot: {label} on {}", ctx.label),
        PatchState::InstalledRejected => {
            format!("Rejected patch {label} installed on {}", ctx.label)
        }
        PatchState::AvailableSecurityUpdate => {
            format!("Security update {label} available on {}", ctx.label)
        }
        other => format!("{label} {} on {}", other.phrase(), ctx.label),
    };

    let cves = clean_cves(&p.cve_ids);
    let mut d = Vec::new();
    let patch_title = clip(&p.title, 200);
    let named = if patch_title.is_empty() || patch_title == label {
        label.clone()
    } else {
        format!("{label} ({patch_title})")
    };
    d.push(format!(
        "{named} is {} on {}{}.",
        p.state.phrase(),
        ctx.label,
        ctx.platform_suffix
    ));
    // No scan time here: it changes with every scan while the patch's state does not, and a
    // content change costs an ingestion event per finding. FirstObservedAt says since when;
    // the node's roll-up carries the last operation.
    if node.last_operation.is_none() {
        d.push("No patch operation is on record for this node.".to_string());
    }
    if let Some(t) = p.installed_time {
        d.push(format!("Installed {}.", human(t)));
    }
    d.push(format!("{}.", ctx.baseline_phrase));
    let classification = clip(&p.classification, 100);
    let vendor_sev = clip(&p.vendor_severity, 64);
    d.push(format!(
        "Classification {}, severity {}{}.",
        if classification.is_empty() {
            "unknown"
        } else {
            &classification
        },
        severity.as_str(),
        if vendor_sev.is_empty() {
            String::new()
        } else {
            format!(" (vendor: {vendor_sev})")
        }
    ));
    let fix = match p.state {
        PatchState::InstalledPendingReboot => format!(
            "Reboot {} to finish installing {label}, or run AWS-RunPatchBaseline with Operation=Install and RebootOption=RebootIfNeeded.",
            ctx.label
        ),
        PatchState::Failed => format!(
            "Check the output of the last AWS-RunPatchBaseline Install on {} for the installation error (the node's roll-up finding names the execution), fix it, and run Operation=Install again.",
            ctx.label
        ),
        PatchState::InstalledRejected => format!(
            "Uninstall {label} or remove it from the baseline's rejected patches, then run AWS-RunPatchBaseline with Operation=Scan."
        ),
        _ => format!(
            "Run AWS-RunPatchBaseline with Operation=Install on {} (Patch now, or a maintenance window), then scan again.",
            ctx.label
        ),
    };
    d.push(fix.clone());
    if !cves.is_empty() {
        d.push(format!(
            "CVEs ({}): {}.",
            cves.len(),
            list_some(&cves, CVES_IN_DESCRIPTION)
        ));
        if cves.len() > limits::MAX_VULNERABILITIES {
            d.push(format!(
                "Vulnerabilities lists the first {}.",
                limits::MAX_VULNERABILITIES
            ));
        }
    }

    let mut pf = BTreeMap::new();
    put(&mut pf, fields::KIND, FindingKind::Patch.as_str());
    ctx.put_node_fields(&mut pf);
    put(&mut pf, fields::PATCH_ID, &patch_id_field(identity));
    put(&mut pf, fields::PATCH_TITLE, &p.title);
    put(&mut pf, fields::CLASSIFICATION, &p.classification);
    put(&mut pf, fields::PATCH_STATE, p.state.as_str());
    put(&mut pf, fields::SEVERITY, severity.as_str());
    put(&mut pf, fields::VENDOR_SEVERITY, &p.vendor_severity);
    if let Some(t) = p.installed_time {
        put(&mut pf, fields::INSTALLED_TIME, &rfc3339(t));
    }
    if !cves.is_empty() {
        put(&mut pf, fields::CVE_COUNT, &cves.len().to_string());
    }

    let vendor = vendor_name(node);
    let vulnerabilities = cves
        .iter()
        .take(limits::MAX_VULNERABILITIES)
        .map(|cve| {
            let is_cve = cve.starts_with("CVE-");
            Vulnerability {
                id: cve.clone(),
                vendor: Some(VulnerabilityVendor {
                    name: vendor.clone(),
                    url: (is_cve && node.platform == Platform::Windows).then(|| {
                        format!("https://msrc.microsoft.com/update-guide/vulnerability/{cve}")
                    }),
                    vendor_severity: (!vendor_sev.is_empty()).then(|| vendor_sev.clone()),
                }),
                fix_available: Some(FixAvailable::Yes),
                reference_urls: if is_cve {
                    vec![format!("https://nvd.nist.gov/vuln/detail/{cve}")]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();

    // SSM's own rating is the original; the vendor's stands in when SSM has none.
    let original = if p.severity != Severity::Unspecified || vendor_sev.is_empty() {
        p.severity.as_str().to_string()
    } else {
        vendor_sev.clone()
    };
    let draft = Draft {
        kind: FindingKind::Patch,
        id: finding_id(
            &node.partition,
            &node.account_id,
            &node.region,
            &node.instance_id,
            FindingKind::Patch,
            Some(identity),
        ),
        title,
        description: d.join(" "),
        recommendation: fix,
        severity,
        original,
        compliance: ComplianceStatus::Failed,
        product_fields: pf,
        resource: ctx.resource.clone(),
        patch_summary: None,
        vulnerabilities,
        first_observed: Some(node.last_scan_end().map_or(now, |t| t.min(now))),
    };
    draft.finish(node, now)
}

/// Node facts every finding of the node repeats, computed once.
struct NodeCtx<'a> {
    node: &'a ManagedNode,
    /// "web-1 (i-0123…)" or "i-0123…".
    label: String,
    /// ", Microsoft Windows Server 2022" or "".
    platform_suffix: String,
    /// "execution 1234" or "execution id unknown".
    execution_phrase: String,
    /// "Baseline pb-…, patch group prod".
    baseline_phrase: String,
    resource: Resource,
}

impl<'a> NodeCtx<'a> {
    fn new(node: &'a ManagedNode) -> Self {
        let id = clip(&node.instance_id, 64);
        let name = node
            .name
            .as_deref()
            .map(|n| clip(n, 64))
            .filter(|n| !n.is_empty());
        let label = match name {
            Some(n) if n != id => format!("{n} ({id})"),
            _ => id,
        };
        let platform = clip(&node.platform_name, 100);
        let platform_suffix = if platform.is_empty() {
            String::new()
        } else {
            format!(", {platform}")
        };
        let execution_phrase = match node
            .last_operation
            .as_ref()
            .and_then(|o| o.execution_id.as_deref())
        {
            Some(e) if !one_line(e).is_empty() => format!("execution {}", clip(e, 100)),
            _ => "execution id unknown".to_string(),
        };
        let baseline = node
            .baseline_id
            .as_deref()
            .map(|b| clip(b, 128))
            .filter(|b| !b.is_empty());
        let group = node
            .patch_group
            .as_deref()
            .map(|g| clip(g, 128))
            .filter(|g| !g.is_empty());
        let baseline_phrase = format!(
            "Baseline {}, {}",
            baseline.as_deref().unwrap_or("unknown"),
            group.map_or("no patch group".to_string(), |g| format!("patch group {g}"))
        );
        NodeCtx {
            node,
            label,
            platform_suffix,
            execution_phrase,
            baseline_phrase,
            resource: node_resource(node),
        }
    }

    /// Node-level ProductFields shared by all kinds.
    fn put_node_fields(&self, pf: &mut BTreeMap<String, String>) {
        let node = self.node;
        put(pf, fields::NODE_ID, &node.instance_id);
        if let Some(b) = &node.baseline_id {
            put(pf, fields::BASELINE_ID, b);
        }
        if let Some(g) = &node.patch_group {
            put(pf, fields::PATCH_GROUP, g);
        }
        if let Some(op) = &node.last_operation {
            put(pf, fields::SCAN_TIME, &rfc3339(op.end));
            put(pf, fields::OPERATION, op.operation.as_str());
            if let Some(e) = &op.execution_id {
                put(pf, fields::EXECUTION_ID, e);
            }
        }
    }
}

/// The content every kind assembles, then `finish`ed into a sealed, size-checked finding.
struct Draft {
    kind: FindingKind,
    id: String,
    title: String,
    description: String,
    recommendation: String,
    severity: Severity,
    original: String,
    compliance: ComplianceStatus,
    product_fields: BTreeMap<String, String>,
    resource: Resource,
    patch_summary: Option<PatchSummary>,
    vulnerabilities: Vec<Vulnerability>,
    first_observed: Option<DateTime<Utc>>,
}

impl Draft {
    fn finish(self, node: &ManagedNode, now: DateTime<Utc>) -> Finding {
        let label = SeverityLabel::from(self.severity);
        let original = truncate(&one_line(&self.original), 64);
        let mut types = vec![TYPE_PATCH_MANAGEMENT.to_string()];
        if !self.vulnerabilities.is_empty() {
            types.push(TYPE_CVE.to_string());
        }
        let title = truncate(&self.title, limits::MAX_TITLE);
        let description = truncate(&self.description, limits::MAX_DESCRIPTION);
        let mut f = Finding {
            schema_version: limits::SCHEMA_VERSION.to_string(),
            id: self.id,
            product_arn: product_arn(&node.partition, &node.region, &node.account_id),
            product_name: Some(PRODUCT_NAME.to_string()),
            company_name: Some(COMPANY_NAME.to_string()),
            region: Some(node.region.clone()),
            generator_id: self.kind.generator_id().to_string(),
            aws_account_id: node.account_id.clone(),
            types: types.clone(),
            first_observed_at: self.first_observed.map(to_millis),
            last_observed_at: Some(now),
            created_at: now,
            updated_at: now,
            severity: FindingSeverity {
                label: Some(label),
                normalized: Some(label.normalized()),
                original: Some(original.clone()),
            },
            title: if title.is_empty() {
                "Patch compliance finding".to_string()
            } else {
                title
            },
            description: if description.is_empty() {
                "Patch compliance finding.".to_string()
            } else {
                description
            },
            remediation: Some(Remediation {
                recommendation: Recommendation {
                    text: Some(truncate(
                        &self.recommendation,
                        limits::MAX_RECOMMENDATION_TEXT,
                    )),
                    url: Some(PATCH_MANAGER_URL.to_string()),
                },
            }),
            source_url: None,
            product_fields: self.product_fields,
            resources: vec![self.resource],
            compliance: Some(Compliance {
                status: self.compliance,
            }),
            patch_summary: self.patch_summary,
            vulnerabilities: self.vulnerabilities,
            finding_provider_fields: Some(FindingProviderFields {
                severity: Some(FindingProviderSeverity {
                    label: Some(label),
                    original: Some(original),
                }),
                types,
            }),
            record_state: RecordState::Active,
        };
        fit_and_seal(&mut f);
        f
    }
}

/// Whether the node's identity can appear in an importable finding. The AWS crate fills
/// these from STS and SSM, so a failure here means misuse, and the node yields no finding
/// rather than one Security Hub would reject.
fn identity_ok(node: &ManagedNode) -> bool {
    let account =
        node.account_id.len() == 12 && node.account_id.bytes().all(|b| b.is_ascii_digit());
    let region = (1..=limits::MAX_REGION).contains(&node.region.len())
        && node
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let partition = (1..=32).contains(&node.partition.len())
        && node
            .partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    let id = (1..=128).contains(&node.instance_id.chars().count())
        && !node
            .instance_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/');
    account && region && partition && id
}

/// The node as an ASFF resource: `AwsEc2Instance` with the instance ARN for `i-` nodes,
/// `Other` with the managed-instance ARN for the rest.
fn node_resource(node: &ManagedNode) -> Resource {
    let mut other = BTreeMap::new();
    let mut put_other = |k: &str, v: &str| {
        let v = clip(v, OTHER_VALUE_CAP);
        if !v.is_empty() {
            other.insert(k.to_string(), v);
        }
    };
    put_other("ManagedNodeId", &node.instance_id);
    if let Some(n) = &node.name {
        put_other("Name", n);
    }
    put_other("Platform", node.platform.as_str());
    put_other("PlatformName", &node.platform_name);
    // Tags Security Hub would reject (empty values, over-long) are left out, not cut.
    let tags = node
        .tags
        .iter()
        .filter(|(k, v)| {
            let (kn, vn) = (k.chars().count(), v.chars().count());
            (1..=limits::MAX_TAG_KEY).contains(&kn) && (1..=limits::MAX_TAG_VALUE).contains(&vn)
        })
        .take(limits::MAX_RESOURCE_TAGS)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Resource {
        r#type: if node.is_ec2() {
            "AwsEc2Instance"
        } else {
            "Other"
        }
        .to_string(),
        id: node.arn(),
        partition: limits::PARTITIONS
            .contains(&node.partition.as_str())
            .then(|| node.partition.clone()),
        region: Some(node.region.clone()),
        tags,
        details: Some(ResourceDetails {
            aws_ec2_instance: None,
            other,
            aws_ssm_patch_compliance: None,
        }),
    }
}

/// `Vulnerabilities[].Vendor.Name`: Microsoft for Windows, Apple for macOS, else the
/// distribution from `platform_name`, else Unknown.
fn vendor_name(node: &ManagedNode) -> String {
    match &node.platform {
        Platform::Windows => "Microsoft".to_string(),
        Platform::MacOS => "Apple".to_string(),
        _ => {
            let p = clip(&node.platform_name, 64);
            if p.is_empty() {
                "Unknown".to_string()
            } else {
                p
            }
        }
    }
}

/// Splits (SSM sends comma-separated lists), upper-cases, drops what cannot be an id
/// (empty, over 64 chars, characters other than `A-Z0-9-_.:`), sorts and dedups, so the
/// finding does not churn when SSM reorders CVEs.
fn clean_cves(raw: &[String]) -> Vec<String> {
    let mut out: Vec<String> = raw
        .iter()
        .flat_map(|s| s.split(|c: char| c == ',' || c == ';' || c.is_whitespace()))
        .filter(|s| {
            !s.is_empty()
                && s.len() <= MAX_CVE_ID
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map(str::to_ascii_uppercase)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Inserts a cleaned, capped ProductFields value; empty values are left out (the model
/// requires non-empty strings).
/// The patch id as a ProductFields value: the id itself when it is one line and fits, else the
/// readable part followed by a short hash of the whole id, so two patches whose ids differ only in
/// control characters, blanks or past the cap (and so have different finding Ids) never share a
/// value that reports group by.
fn patch_id_field(identity: &str) -> String {
    let clipped = clip(identity, FIELD_VALUE_CAP);
    if clipped == identity {
        return clipped;
    }
    let tag = format!(" #{}", &sha256_hex(identity)[..12]);
    format!(
        "{}{tag}",
        clip(identity, FIELD_VALUE_CAP - crate::text::len(&tag))
    )
}

fn put(pf: &mut BTreeMap<String, String>, key: &str, value: &str) {
    let v = clip(value, FIELD_VALUE_CAP);
    if !v.is_empty() {
        pf.insert(key.to_string(), v);
    }
}

fn nonempty(s: Option<&str>, max: usize) -> Option<String> {
    s.map(|s| clip(s, max)).filter(|s| !s.is_empty())
}

fn count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
