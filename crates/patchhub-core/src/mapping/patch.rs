//! One finding per non-compliant patch of a node: title, description, remediation,
//! ProductFields and the CVEs it fixes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ids::sha256_hex;
use super::node::{Draft, FIELD_VALUE_CAP, NodeCtx, identity_ok, put};
use crate::finding::{
    ComplianceStatus, Finding, FindingKind, FixAvailable, Vulnerability, VulnerabilityVendor,
    fields, keep_by_id, prefer,
};
use crate::limits;
use crate::model::{ManagedNode, NodeCompliance, PatchItem, PatchState, Platform, Severity};
use crate::policy::FindingPolicy;
use crate::text::{clip, human, list_some, rfc3339, to_millis};

/// CVE ids shown in a description.
const CVES_IN_DESCRIPTION: usize = 5;
/// Longest string accepted as a CVE id; anything longer is not one.
const MAX_CVE_ID: usize = 64;

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
        keep_by_id(&mut by_id, patch_finding(&ctx, p, now), prefer);
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
        id: ctx.finding_id(FindingKind::Patch, Some(identity)),
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
