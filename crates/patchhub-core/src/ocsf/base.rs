//! The attributes every patchhub OCSF event has, whatever its class: classification,
//! metadata, finding_info, cloud, resource, severity, status and `unmapped`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::schema::{
    Activity, CATEGORY_FINDINGS, CLASS_VULNERABILITY_FINDING, OCSF_VERSION, PROFILES,
};
use crate::finding::{
    COMPANY_NAME, Finding, FindingKind, PRODUCT_NAME, RecordState, Resource, SeverityLabel,
};
use crate::mapping::sha256_hex;
use crate::text::rfc3339;

/// Prefix of patchhub's ProductFields keys, left out under `unmapped.patchhub`.
const FIELD_PREFIX: &str = "patchhub/";
/// OCSF `account.type_id` 10: "AWS Account".
const ACCOUNT_TYPE_AWS: u32 = 10;
/// OCSF `analytic.type_id` 1: "Rule".
const ANALYTIC_TYPE_RULE: u32 = 1;

/// OCSF timestamps are milliseconds since the epoch.
pub(super) fn millis(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis())
}

/// Inserts `value` unless it is null, an empty string or an empty array: OCSF leaves
/// unknown attributes out.
pub(super) fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if !empty {
        obj.insert(key.to_string(), value);
    }
}

/// `category_*`, `class_*`, `activity_*` and `type_*`.
pub(super) fn put_classification(e: &mut Map<String, Value>, class: u32, activity: Activity) {
    let class_name = if class == CLASS_VULNERABILITY_FINDING {
        "Vulnerability Finding"
    } else {
        "Compliance Finding"
    };
    e.insert("category_uid".into(), json!(CATEGORY_FINDINGS));
    e.insert("category_name".into(), json!("Findings"));
    e.insert("class_uid".into(), json!(class));
    e.insert("class_name".into(), json!(class_name));
    e.insert("activity_id".into(), json!(activity.id()));
    e.insert("activity_name".into(), json!(activity.name()));
    // OCSF: type_uid = class_uid * 100 + activity_id.
    e.insert(
        "type_uid".into(),
        json!(u64::from(class) * 100 + u64::from(activity.id())),
    );
    e.insert(
        "type_name".into(),
        json!(format!("{class_name}: {}", activity.name())),
    );
}

/// Everything but the class-specific objects.
pub(super) fn put_common(e: &mut Map<String, Value>, f: &Finding) {
    e.insert("time".into(), millis(f.updated_at));
    let (severity_id, severity) = severity(f.severity.label);
    e.insert("severity_id".into(), json!(severity_id));
    e.insert("severity".into(), json!(severity));
    let (status_id, status) = match f.record_state {
        RecordState::Active => (1, "New"),
        RecordState::Archived => (4, "Resolved"),
    };
    e.insert("status_id".into(), json!(status_id));
    e.insert("status".into(), json!(status));
    put(e, "message", json!(f.title));
    e.insert("metadata".into(), metadata(f));
    e.insert("finding_info".into(), finding_info(f));
    e.insert("cloud".into(), cloud(f));
    if let Some(r) = f.resources.first() {
        e.insert("resource".into(), resource(r));
    }
    put(e, "unmapped", unmapped(f));
}

/// OCSF `severity_id` and `severity` of an ASFF label (absent label: 0 Unknown).
fn severity(label: Option<SeverityLabel>) -> (u32, &'static str) {
    match label {
        None => (0, "Unknown"),
        Some(SeverityLabel::Informational) => (1, "Informational"),
        Some(SeverityLabel::Low) => (2, "Low"),
        Some(SeverityLabel::Medium) => (3, "Medium"),
        Some(SeverityLabel::High) => (4, "High"),
        Some(SeverityLabel::Critical) => (5, "Critical"),
    }
}

/// `metadata`: the product (its uid the ASFF `ProductArn`, so that the account, the finding uid
/// and the product uid identify a finding as ASFF's `Id` and `ProductArn` do), the OCSF
/// version and profiles, and an event uid that differs
/// for every import of a finding (its `Id` and `UpdatedAt`) and is the same on every
/// rendering of one import.
fn metadata(f: &Finding) -> Value {
    let uid = sha256_hex(&format!("{}\n{}", f.id, rfc3339(f.updated_at)));
    json!({
        "version": OCSF_VERSION,
        "product": {
            "name": f.product_name.as_deref().unwrap_or(PRODUCT_NAME),
            "vendor_name": f.company_name.as_deref().unwrap_or(COMPANY_NAME),
            "version": env!("CARGO_PKG_VERSION"),
            "uid": f.product_arn,
            "feature": { "name": f.generator_id },
        },
        "profiles": PROFILES,
        "uid": uid,
    })
}

/// `finding_info`: the ASFF `Id`, title, description, types and the four dates, and the
/// generator as the analytic (rule) that made it.
fn finding_info(f: &Finding) -> Value {
    let mut o = Map::new();
    o.insert("uid".into(), json!(f.id));
    o.insert("title".into(), json!(f.title));
    put(&mut o, "desc", json!(f.description));
    put(&mut o, "types", json!(f.types));
    o.insert("created_time".into(), millis(f.created_at));
    if let Some(t) = f.first_observed_at {
        o.insert("first_seen_time".into(), millis(t));
    }
    if let Some(t) = f.last_observed_at {
        o.insert("last_seen_time".into(), millis(t));
    }
    o.insert("modified_time".into(), millis(f.updated_at));
    put(&mut o, "product_uid", json!(f.product_arn));
    if let Some(url) = &f.source_url {
        put(&mut o, "src_url", json!(url));
    }
    let analytic_name = match f.kind() {
        Some(FindingKind::Patch) => "patchhub per-patch finding",
        Some(FindingKind::Rollup) => "patchhub node roll-up",
        Some(FindingKind::StaleScan) => "patchhub stale scan",
        None => "patchhub",
    };
    o.insert(
        "analytic".into(),
        json!({
            "uid": f.generator_id,
            "name": analytic_name,
            "type_id": ANALYTIC_TYPE_RULE,
            "type": "Rule",
        }),
    );
    Value::Object(o)
}

/// `cloud`: AWS, the finding's Region and account.
fn cloud(f: &Finding) -> Value {
    let mut o = Map::new();
    o.insert("provider".into(), json!("AWS"));
    let region = f
        .region
        .as_deref()
        .or_else(|| f.resources.first().and_then(|r| r.region.as_deref()));
    if let Some(r) = region {
        put(&mut o, "region", json!(r));
    }
    o.insert(
        "account".into(),
        json!({
            "uid": f.aws_account_id,
            "type_id": ACCOUNT_TYPE_AWS,
            "type": "AWS Account",
        }),
    );
    Value::Object(o)
}

/// `resource`: the node, by the same ARN ASFF's `Resources[].Id` carries (and Amazon
/// Inspector's and Patch Manager's own findings use), its tags as `key=value` labels, and
/// ASFF's typed details under `data`.
fn resource(r: &Resource) -> Value {
    let mut o = Map::new();
    o.insert("uid".into(), json!(r.id));
    o.insert("type".into(), json!(r.r#type));
    let name = r
        .details
        .as_ref()
        .and_then(|d| d.other.get("Name").or_else(|| d.other.get("ManagedNodeId")));
    if let Some(n) = name {
        put(&mut o, "name", json!(n));
    }
    if let Some(region) = &r.region {
        put(&mut o, "region", json!(region));
    }
    if let Some(p) = &r.partition {
        put(&mut o, "cloud_partition", json!(p));
    }
    let labels: Vec<String> = r.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    put(&mut o, "labels", json!(labels));
    let mut data = Map::new();
    put(&mut data, "tags", json!(r.tags));
    if let Some(d) = &r.details {
        put(
            &mut data,
            "details",
            serde_json::to_value(d).unwrap_or(Value::Null),
        );
    }
    put(&mut o, "data", Value::Object(data));
    Value::Object(o)
}

/// `unmapped`: what OCSF has no attribute for, under the names patchhub gives them:
/// its ProductFields without the `patchhub/` prefix (deadline: `SlaDueAt`, `SlaBreached`,
/// `DaysOpen`, `KnownExploited`; bookkeeping: `Fingerprint`, `ScanTime`, ...), the ASFF
/// compliance status and record state, and the roll-up's `PatchSummary`.
fn unmapped(f: &Finding) -> Value {
    let mut o = Map::new();
    let fields: Map<String, Value> = f
        .product_fields
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(FIELD_PREFIX)
                .map(|k| (k.to_string(), json!(v)))
        })
        .collect();
    put(&mut o, "patchhub", Value::Object(fields));
    if let Some(c) = &f.compliance {
        put(
            &mut o,
            "compliance_status",
            serde_json::to_value(c.status).unwrap_or(Value::Null),
        );
    }
    put(
        &mut o,
        "record_state",
        serde_json::to_value(f.record_state).unwrap_or(Value::Null),
    );
    if let Some(s) = &f.patch_summary {
        put(
            &mut o,
            "patch_summary",
            serde_json::to_value(s).unwrap_or(Value::Null),
        );
    }
    Value::Object(o)
}
