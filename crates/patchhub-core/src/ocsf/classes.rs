//! The class-specific objects: `vulnerabilities[]` of a Vulnerability Finding (2002), and
//! `compliance` and `remediation` of a Compliance Finding (2003).

use serde_json::{Map, Value, json};

use super::base::{millis, put};
use crate::finding::{ComplianceStatus, Finding, FindingKind, FixAvailable, fields};

/// `compliance.standards` of every Compliance Finding: what the node is checked against.
const STANDARD: &str = "AWS Systems Manager Patch Manager patch baseline";

/// One entry per CVE the ASFF finding lists (`Vulnerabilities[]`, capped as ASFF caps it;
/// `unmapped.patchhub.CveCount` has the full count), each naming the patch that fixes it.
pub(super) fn vulnerabilities(f: &Finding) -> Vec<Value> {
    let title = patch_title(f);
    let severity = f.product_fields.get(fields::SEVERITY).map(String::as_str);
    let kb = kb_article(f);
    let remediation = remediation(f);
    f.vulnerabilities
        .iter()
        .map(|v| {
            let mut o = Map::new();
            let mut cve = Map::new();
            cve.insert("uid".into(), json!(v.id));
            put(&mut cve, "references", json!(v.reference_urls));
            o.insert("cve".into(), Value::Object(cve));
            if let Some(t) = &title {
                put(&mut o, "title", json!(t));
            }
            if let Some(vendor) = &v.vendor {
                put(&mut o, "vendor_name", json!(vendor.name));
            }
            let vendor_severity = v.vendor.as_ref().and_then(|x| x.vendor_severity.as_deref());
            if let Some(s) = vendor_severity.or(severity) {
                put(&mut o, "severity", json!(s));
            }
            if let Some(fix) = v.fix_available {
                o.insert(
                    "is_fix_available".into(),
                    json!(matches!(fix, FixAvailable::Yes | FixAvailable::Partial)),
                );
            }
            let mut refs: Vec<&str> = v
                .vendor
                .as_ref()
                .and_then(|x| x.url.as_deref())
                .into_iter()
                .collect();
            refs.extend(v.reference_urls.iter().map(String::as_str));
            put(&mut o, "references", json!(refs));
            if let Some(kb) = &kb {
                o.insert("kb_article_list".into(), json!([kb]));
            }
            if let Some(t) = f.first_observed_at {
                o.insert("first_seen_time".into(), millis(t));
            }
            if let Some(t) = f.last_observed_at {
                o.insert("last_seen_time".into(), millis(t));
            }
            if let Some(r) = &remediation {
                o.insert("remediation".into(), r.clone());
            }
            Value::Object(o)
        })
        .collect()
}

/// `compliance`: the ASFF `Compliance.Status` as Pass/Fail/Warning (a resolved finding is
/// Pass), the baseline and ASFF's `RelatedRequirements` (the patch's deadline) as
/// requirements, and the control checked: the patch for a per-patch finding, else the kind.
pub(super) fn compliance(f: &Finding) -> Value {
    let (status_id, status) = match f.compliance.as_ref().map(|c| c.status) {
        Some(ComplianceStatus::Passed) => (1, "Pass"),
        Some(ComplianceStatus::Warning) => (2, "Warning"),
        Some(ComplianceStatus::Failed) => (3, "Fail"),
        Some(ComplianceStatus::NotAvailable) | None => (0, "Unknown"),
    };
    let mut o = Map::new();
    o.insert("status_id".into(), json!(status_id));
    o.insert("status".into(), json!(status));
    o.insert("standards".into(), json!([STANDARD]));
    let mut requirements: Vec<String> = f
        .product_fields
        .get(fields::BASELINE_ID)
        .map(|b| format!("Patch baseline {b}"))
        .into_iter()
        .collect();
    if let Some(c) = &f.compliance {
        requirements.extend(c.related_requirements.iter().cloned());
    }
    put(&mut o, "requirements", json!(requirements));
    let control = match f.kind() {
        Some(FindingKind::Patch) => f.patch_id().unwrap_or("patch").to_string(),
        Some(FindingKind::Rollup) => "node patch compliance".to_string(),
        Some(FindingKind::StaleScan) => "node patch scan recency".to_string(),
        None => f.generator_id.clone(),
    };
    o.insert("control".into(), json!(control));
    if let Some(reasons) = f.product_fields.get(fields::STALE_REASONS) {
        put(&mut o, "status_detail", json!(reasons));
    }
    Value::Object(o)
}

/// `remediation`: ASFF's recommendation text and link, and the KB article of a Windows
/// patch.
pub(super) fn remediation(f: &Finding) -> Option<Value> {
    let rec = &f.remediation.as_ref()?.recommendation;
    let desc = rec.text.as_deref().filter(|t| !t.is_empty())?;
    let mut o = Map::new();
    o.insert("desc".into(), json!(desc));
    put(&mut o, "references", json!(rec.url.as_slice()));
    if let Some(kb) = kb_article(f) {
        o.insert("kb_article_list".into(), json!([kb]));
    }
    Some(Value::Object(o))
}

/// The patch's title (`patchhub/PatchTitle`), else its id.
fn patch_title(f: &Finding) -> Option<String> {
    f.product_fields
        .get(fields::PATCH_TITLE)
        .map(String::as_str)
        .or(f.patch_id())
        .map(str::to_string)
}

/// A `kb_article` when the patch is a Microsoft KB (`KB` and digits), with its title,
/// classification and the vendor's severity.
fn kb_article(f: &Finding) -> Option<Value> {
    let id = f.patch_id()?;
    let digits = id.strip_prefix("KB").or_else(|| id.strip_prefix("kb"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut o = Map::new();
    o.insert("uid".into(), json!(id));
    for (key, field) in [
        ("title", fields::PATCH_TITLE),
        ("classification", fields::CLASSIFICATION),
        ("severity", fields::VENDOR_SEVERITY),
    ] {
        if let Some(v) = f.product_fields.get(field) {
            put(&mut o, key, json!(v));
        }
    }
    Some(Value::Object(o))
}
