//! Configuration compliance: `ListComplianceItems`, `ListResourceComplianceSummaries`,
//! `PutComplianceItems`. `Patch` items come from each node's report; other types (Association,
//! `Custom:*`) are what `PutComplianceItems` stored.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::patches::{
    self, Compliance, Counts, SEVERITIES, SeverityCounts, State, installed_time, reported_cves,
    state_of,
};
use super::wire::{self, Cursor, Input, Violations, epoch, iso};
use super::{Node, PATCH_DOCUMENT, PATCH_DOCUMENT_VERSION, Report, SsmRegion};
use crate::fleet::PatchSpec;
use crate::protocol::AwsError;

/// The only resource type compliance knows.
const RESOURCE_TYPE: &str = "ManagedInstance";
/// How many `Custom:` compliance types one resource may carry.
const MAX_CUSTOM_TYPES: usize = 10;

/// When and by what compliance was recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Execution {
    pub time: DateTime<Utc>,
    pub id: Option<String>,
    pub kind: Option<String>,
}

impl Execution {
    fn to_json(&self) -> Value {
        let mut v = json!({ "ExecutionTime": epoch(self.time) });
        if let Some(id) = &self.id {
            v["ExecutionId"] = json!(id);
        }
        if let Some(k) = &self.kind {
            v["ExecutionType"] = json!(k);
        }
        v
    }
}

/// One stored compliance item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CustomItem {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub status: String,
    pub details: BTreeMap<String, String>,
}

/// Compliance of one type on one resource, as `PutComplianceItems` left it.
#[derive(Debug, Clone)]
pub(crate) struct Custom {
    pub execution: Execution,
    pub items: Vec<CustomItem>,
    pub content_hash: Option<String>,
    pub counts: SeverityCounts,
}

impl Custom {
    fn recount(&mut self) {
        let mut c = SeverityCounts::default();
        for i in &self.items {
            let comp = match i.status.as_str() {
                "COMPLIANT" => Compliance::Compliant,
                "NON_COMPLIANT" => Compliance::NonCompliant,
                _ => Compliance::NotApplicable,
            };
            c.add(comp, &i.severity);
        }
        self.counts = c;
    }
}

/// A compliance item as the list API shows it.
struct Item {
    compliance_type: String,
    id: String,
    title: String,
    status: &'static str,
    severity: String,
    execution: Execution,
    details: BTreeMap<String, String>,
    /// Sort key: type, then id.
    key: String,
}

fn static_status(s: &str) -> &'static str {
    match s {
        "COMPLIANT" => "COMPLIANT",
        "NON_COMPLIANT" => "NON_COMPLIANT",
        _ => "",
    }
}

fn patch_execution(r: &Report) -> Execution {
    Execution {
        time: r.end,
        id: r.execution_id.clone(),
        kind: r.execution_type.clone(),
    }
}

fn patch_item(p: &PatchSpec, r: &Report) -> Item {
    let st = state_of(p);
    let mut details = BTreeMap::from([
        ("DocumentName".to_string(), PATCH_DOCUMENT.to_string()),
        (
            "DocumentVersion".to_string(),
            PATCH_DOCUMENT_VERSION.to_string(),
        ),
        ("Classification".to_string(), p.classification.clone()),
        ("PatchBaselineId".to_string(), r.baseline_id.clone()),
        ("PatchSeverity".to_string(), p.severity.clone()),
        ("PatchState".to_string(), st.wire().to_string()),
        (
            "PatchGroup".to_string(),
            r.patch_group.clone().unwrap_or_default(),
        ),
    ]);
    if let Some(t) = installed_time(p) {
        details.insert("InstalledTime".into(), iso(t));
    }
    if let Some(cves) = reported_cves(p) {
        details.insert("CVEIds".into(), cves);
    }
    Item {
        key: format!("Patch\u{1}{}", p.id),
        compliance_type: "Patch".into(),
        id: p.id.clone(),
        title: p.title.clone(),
        status: patches::compliance(st, r.asu_compliant).status(),
        severity: p.compliance_severity.clone(),
        execution: patch_execution(r),
        details,
    }
}

fn items_of(node: &Node) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    if let Some(r) = &node.report {
        items.extend(r.patches.iter().map(|p| patch_item(p, r)));
    }
    for (ty, c) in &node.custom {
        items.extend(c.items.iter().map(|i| Item {
            key: format!("{ty}\u{1}{}", i.id),
            compliance_type: ty.clone(),
            id: i.id.clone(),
            title: i.title.clone(),
            status: static_status(&i.status),
            severity: i.severity.clone(),
            execution: c.execution.clone(),
            details: i.details.clone(),
        }));
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    items
}

fn item_json(resource_id: &str, i: &Item) -> Value {
    json!({
        "ComplianceType": i.compliance_type,
        "ResourceType": RESOURCE_TYPE,
        "ResourceId": resource_id,
        "Id": i.id,
        "Title": i.title,
        "Status": i.status,
        "Severity": i.severity,
        "ExecutionSummary": i.execution.to_json(),
        "Details": i.details,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    BeginWith,
    LessThan,
    GreaterThan,
}

const OPS: [&str; 5] = [
    "EQUAL",
    "NOT_EQUAL",
    "BEGIN_WITH",
    "LESS_THAN",
    "GREATER_THAN",
];

/// The model's enum, plus the spellings the API reference uses in prose (`Equal`, `NotEqual`,
/// ...), which older callers such as the 2020 blog sample send.
fn op_of(s: &str) -> Option<Op> {
    Some(match s {
        "EQUAL" | "Equal" => Op::Equal,
        "NOT_EQUAL" | "NotEqual" => Op::NotEqual,
        "BEGIN_WITH" | "BeginWith" => Op::BeginWith,
        "LESS_THAN" | "LessThan" => Op::LessThan,
        "GREATER_THAN" | "GreaterThan" => Op::GreaterThan,
        _ => return None,
    })
}

/// A parsed `ComplianceStringFilter`.
struct Filter {
    attr: &'static str,
    values: Vec<String>,
    op: Op,
}

const TIME_ATTRS: [&str; 2] = ["ExecutionTime", "InstalledTime"];

const ITEM_ATTRS: [&str; 19] = [
    "ComplianceType",
    "Id",
    "Title",
    "Status",
    "Severity",
    "ResourceId",
    "ResourceType",
    "ExecutionId",
    "ExecutionType",
    "ExecutionTime",
    "DocumentName",
    "DocumentVersion",
    "Classification",
    "PatchBaselineId",
    "PatchSeverity",
    "PatchState",
    "PatchGroup",
    "InstalledTime",
    "CVEIds",
];

const SUMMARY_ATTRS: [&str; 8] = [
    "ComplianceType",
    "Status",
    "OverallSeverity",
    "ResourceId",
    "ResourceType",
    "ExecutionId",
    "ExecutionType",
    "ExecutionTime",
];

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            let secs: f64 = s.parse().ok()?;
            chrono::TimeZone::timestamp_millis_opt(&Utc, (secs * 1000.0) as i64).single()
        })
}

impl Filter {
    fn test(&self, attr: Option<&str>) -> bool {
        let Some(a) = attr else {
            return self.op == Op::NotEqual;
        };
        let cmp = |v: &str| -> Option<Ordering> {
            if TIME_ATTRS.contains(&self.attr) {
                Some(parse_time(a)?.cmp(&parse_time(v)?))
            } else {
                Some(a.cmp(v))
            }
        };
        match self.op {
            Op::Equal => self.values.iter().any(|v| v == a),
            Op::NotEqual => self.values.iter().all(|v| v != a),
            Op::BeginWith => self.values.iter().any(|v| a.starts_with(v.as_str())),
            Op::LessThan => self.values.iter().any(|v| cmp(v) == Some(Ordering::Less)),
            Op::GreaterThan => self
                .values
                .iter()
                .any(|v| cmp(v) == Some(Ordering::Greater)),
        }
    }
}

/// Reads `Filters`: constraint violations go to `v`; unknown keys are `InvalidFilter`. Keys may
/// carry the inventory-style prefix (`AWS:ComplianceItem.Status`) older callers use.
fn parse_filters(
    input: Input<'_>,
    v: &mut Violations,
    prefix: &str,
    allowed: &[&'static str],
) -> Result<Result<Vec<Filter>, AwsError>, AwsError> {
    let mut out = Vec::new();
    let mut semantic: Option<AwsError> = None;
    for (i, f) in input
        .objects("Filters")?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let n = i + 1;
        let key = f.str("Key")?;
        let values = f.strings("Values")?;
        let ty = f.str("Type")?;
        if let Some(k) = key {
            v.text_length(&format!("filters.{n}.member.key"), k, 1, 200);
        }
        if let Some(vals) = &values {
            v.list_length(&format!("filters.{n}.member.values"), vals, 1, 20);
        }
        let op = match ty {
            None => Some(Op::Equal),
            Some(t) => {
                let op = op_of(t);
                if op.is_none() {
                    v.one_of(&format!("filters.{n}.member.type"), t, &OPS);
                }
                op
            }
        };
        if semantic.is_some() {
            continue;
        }
        let invalid = |m: String| Some(AwsError::client("InvalidFilter", m));
        let Some(key) = key else {
            semantic = invalid("A compliance filter must have a Key.".into());
            continue;
        };
        let name = key.strip_prefix(prefix).unwrap_or(key);
        let Some(attr) = allowed.iter().find(|a| **a == name) else {
            semantic = invalid(format!(
                "The filter key {key} isn't valid. Valid keys: {}.",
                allowed.join(", ")
            ));
            continue;
        };
        let Some(values) = values.filter(|v| !v.is_empty()) else {
            semantic = invalid(format!("Filter {key} must have at least one value."));
            continue;
        };
        if TIME_ATTRS.contains(attr)
            && let Some(bad) = values.iter().find(|v| parse_time(v).is_none())
        {
            semantic = invalid(format!(
                "Filter {key}: {bad} is not a timestamp (use yyyy-MM-ddTHH:mm:ssZ)."
            ));
            continue;
        }
        if let Some(op) = op {
            out.push(Filter {
                attr,
                values: values.iter().map(|s| s.to_string()).collect(),
                op,
            });
        }
    }
    Ok(match semantic {
        Some(e) => Err(e),
        None => Ok(out),
    })
}

fn item_attr(resource_id: &str, i: &Item, attr: &str) -> Option<String> {
    Some(match attr {
        "ComplianceType" => i.compliance_type.clone(),
        "Id" => i.id.clone(),
        "Title" => i.title.clone(),
        "Status" => i.status.to_string(),
        "Severity" => i.severity.clone(),
        "ResourceId" => resource_id.to_string(),
        "ResourceType" => RESOURCE_TYPE.to_string(),
        "ExecutionId" => i.execution.id.clone()?,
        "ExecutionType" => i.execution.kind.clone()?,
        "ExecutionTime" => iso(i.execution.time),
        other => i.details.get(other)?.clone(),
    })
}

const ITEMS_OP: &str = "ListComplianceItems";

pub(crate) fn list_items(ssm: &SsmRegion, input: Input<'_>) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let ids = input.strings("ResourceIds")?;
    if let Some(ids) = &ids {
        v.list_length("resourceIds", ids, 1, usize::MAX);
        for (i, id) in ids.iter().enumerate() {
            v.text_length(&format!("resourceIds.{}.member", i + 1), id, 1, 100);
        }
    }
    let types = input.strings("ResourceTypes")?;
    if let Some(types) = &types {
        v.list_length("resourceTypes", types, 1, usize::MAX);
        for (i, t) in types.iter().enumerate() {
            v.text_length(&format!("resourceTypes.{}.member", i + 1), t, 1, 50);
        }
    }
    let max = input.max_results(&mut v, 1, 50)?;
    let filters = parse_filters(input, &mut v, "AWS:ComplianceItem.", &ITEM_ATTRS)?;
    v.finish()?;
    let filters = filters?;
    let cursor = wire::cursor(ITEMS_OP, input.str("NextToken")?)?;
    let id = match ids.as_deref() {
        Some([id]) => *id,
        _ => {
            return Err(AwsError::client(
                "InvalidResourceId",
                "Specify exactly one resource ID in ResourceIds. Currently, you can only specify one resource ID.",
            ));
        }
    };
    if let Some(bad) = types
        .unwrap_or_default()
        .iter()
        .find(|t| **t != RESOURCE_TYPE)
    {
        return Err(AwsError::client(
            "InvalidResourceType",
            format!(
                "Resource type {bad} isn't valid. The only supported resource type is ManagedInstance."
            ),
        ));
    }
    let items: Vec<Item> = match ssm.nodes.get(id) {
        Some(node) => items_of(node)
            .into_iter()
            .filter(|i| {
                filters
                    .iter()
                    .all(|f| f.test(item_attr(id, i, f.attr).as_deref()))
            })
            .collect(),
        None => Vec::new(),
    };
    let (page, next) = wire::page(
        &items,
        |i| i.key.as_str(),
        cursor.as_ref(),
        max.unwrap_or(50) as usize,
    );
    let mut out = json!({
        "ComplianceItems": page.iter().map(|i| item_json(id, i)).collect::<Vec<_>>(),
    });
    if let Some(c) = next {
        out["NextToken"] = json!(wire::token(ITEMS_OP, &c));
    }
    Ok(out)
}

/// One row of `ListResourceComplianceSummaries`.
struct Row<'a> {
    resource_id: &'a str,
    compliance_type: &'a str,
    counts: SeverityCounts,
    execution: Execution,
}

impl Row<'_> {
    fn key(&self) -> String {
        format!("{}\u{1}{}", self.resource_id, self.compliance_type)
    }

    fn attr(&self, attr: &str) -> Option<String> {
        Some(match attr {
            "ComplianceType" => self.compliance_type.to_string(),
            "Status" => self.counts.status().to_string(),
            "OverallSeverity" => self.counts.overall_severity().to_string(),
            "ResourceId" => self.resource_id.to_string(),
            "ResourceType" => RESOURCE_TYPE.to_string(),
            "ExecutionId" => self.execution.id.clone()?,
            "ExecutionType" => self.execution.kind.clone()?,
            "ExecutionTime" => iso(self.execution.time),
            _ => return None,
        })
    }

    fn to_json(&self) -> Value {
        let sev = |counts: &[u32; 6]| {
            let mut m = serde_json::Map::new();
            for (i, name) in [
                "CriticalCount",
                "HighCount",
                "MediumCount",
                "LowCount",
                "InformationalCount",
                "UnspecifiedCount",
            ]
            .iter()
            .enumerate()
            {
                m.insert((*name).to_string(), json!(counts[i]));
            }
            Value::Object(m)
        };
        json!({
            "ComplianceType": self.compliance_type,
            "ResourceType": RESOURCE_TYPE,
            "ResourceId": self.resource_id,
            "Status": self.counts.status(),
            "OverallSeverity": self.counts.overall_severity(),
            "ExecutionSummary": self.execution.to_json(),
            "CompliantSummary": {
                "CompliantCount": self.counts.compliant_total(),
                "SeveritySummary": sev(&self.counts.compliant),
            },
            "NonCompliantSummary": {
                "NonCompliantCount": self.counts.non_compliant_total(),
                "SeveritySummary": sev(&self.counts.non_compliant),
            },
        })
    }
}

fn rows_of(node: &Node) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    if let Some(r) = &node.report {
        rows.push(Row {
            resource_id: &node.spec.id,
            compliance_type: "Patch",
            counts: r.counts.severities,
            execution: patch_execution(r),
        });
    }
    for (ty, c) in &node.custom {
        rows.push(Row {
            resource_id: &node.spec.id,
            compliance_type: ty,
            counts: c.counts,
            execution: c.execution.clone(),
        });
    }
    rows.sort_by(|a, b| a.compliance_type.cmp(b.compliance_type));
    rows
}

const SUMMARIES_OP: &str = "ListResourceComplianceSummaries";

pub(crate) fn list_summaries(ssm: &SsmRegion, input: Input<'_>) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let max = input.max_results(&mut v, 1, 50)?;
    let filters = parse_filters(input, &mut v, "AWS:ComplianceSummary.", &SUMMARY_ATTRS)?;
    v.finish()?;
    let filters = filters?;
    let cursor = wire::cursor(SUMMARIES_OP, input.str("NextToken")?)?;
    let max = max.unwrap_or(50) as usize;
    // Rows are ordered by (resource id, compliance type); resume at the token's resource.
    let (lower, after) = match &cursor {
        Some(c) => {
            let resource = c.key.split('\u{1}').next().unwrap_or_default().to_string();
            (Bound::Included(resource), Some(c.key.clone()))
        }
        None => (Bound::Unbounded, None),
    };
    let mut page: Vec<Row<'_>> = Vec::with_capacity(max + 1);
    'nodes: for (_, node) in ssm.nodes.range::<String, _>((lower, Bound::Unbounded)) {
        for row in rows_of(node) {
            if after.as_ref().is_some_and(|a| row.key() <= *a) {
                continue;
            }
            if filters.iter().all(|f| f.test(row.attr(f.attr).as_deref())) {
                page.push(row);
                if page.len() > max {
                    break 'nodes;
                }
            }
        }
    }
    let more = page.len() > max;
    page.truncate(max);
    let mut out = json!({
        "ResourceComplianceSummaryItems": page.iter().map(Row::to_json).collect::<Vec<_>>(),
    });
    if more && let Some(last) = page.last() {
        out["NextToken"] = json!(wire::token(
            SUMMARIES_OP,
            &Cursor {
                key: last.key(),
                skip: 1
            }
        ));
    }
    Ok(out)
}

/// `[A-Za-z0-9_\-]\w+|Custom:[a-zA-Z0-9_\-]\w+`, matched whole as AWS does.
fn valid_compliance_type(t: &str) -> bool {
    let word = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && s.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    word(t) || t.strip_prefix("Custom:").is_some_and(word)
}

pub(crate) fn put_items(
    ssm: &mut SsmRegion,
    input: Input<'_>,
    now: DateTime<Utc>,
) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let resource_id = input.str("ResourceId")?;
    v.required("resourceId", resource_id, |v, path, r| {
        v.text_length(path, r, 1, 100)
    });
    let resource_type = input.str("ResourceType")?;
    v.required("resourceType", resource_type, |v, path, r| {
        v.text_length(path, r, 1, 50)
    });
    let compliance_type = input.str("ComplianceType")?;
    match compliance_type {
        None => v.null("complianceType"),
        Some(t) => {
            v.text_length("complianceType", t, 1, 100);
            v.pattern(
                "complianceType",
                t,
                valid_compliance_type(t),
                r"[A-Za-z0-9_\-]\w+|Custom:[a-zA-Z0-9_\-]\w+",
            );
        }
    }
    let summary = input.object("ExecutionSummary")?;
    let mut execution = None;
    match summary {
        None => v.null("executionSummary"),
        Some(s) => {
            let time = s.timestamp("ExecutionTime")?;
            let id = s.str("ExecutionId")?;
            let kind = s.str("ExecutionType")?;
            if time.is_none() {
                v.null("executionSummary.executionTime");
            }
            if let Some(id) = id {
                v.text_length("executionSummary.executionId", id, 0, 100);
            }
            if let Some(k) = kind {
                v.text_length("executionSummary.executionType", k, 0, 50);
            }
            execution = time.map(|time| Execution {
                time,
                id: id.map(str::to_string),
                kind: kind.map(str::to_string),
            });
        }
    }
    let raw_items = input.objects("Items")?;
    let mut items = Vec::new();
    match &raw_items {
        None => v.null("items"),
        Some(list) => {
            v.count("items", list.len(), 0, 10_000);
            for (i, it) in list.iter().enumerate() {
                let n = i + 1;
                let severity = it.str("Severity")?;
                let status = it.str("Status")?;
                let title = it.str("Title")?.unwrap_or_default();
                match severity {
                    None => v.null(&format!("items.{n}.member.severity")),
                    Some(s) => v.one_of(&format!("items.{n}.member.severity"), s, &SEVERITIES),
                }
                match status {
                    None => v.null(&format!("items.{n}.member.status")),
                    Some(s) => v.one_of(
                        &format!("items.{n}.member.status"),
                        s,
                        &["COMPLIANT", "NON_COMPLIANT"],
                    ),
                }
                v.text_length(&format!("items.{n}.member.title"), title, 0, 500);
                let details = it.string_map("Details")?.unwrap_or_default();
                for (k, val) in &details {
                    v.text_length(&format!("items.{n}.member.details"), k, 1, 64);
                    v.text_length(&format!("items.{n}.member.details"), val, 0, 4096);
                }
                items.push((
                    it.str("Id")?,
                    CustomItem {
                        id: it.str("Id")?.unwrap_or_default().to_string(),
                        title: title.to_string(),
                        severity: severity.unwrap_or_default().to_string(),
                        status: status.unwrap_or_default().to_string(),
                        details: details
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    },
                ));
            }
        }
    }
    let hash = input.str("ItemContentHash")?;
    if let Some(h) = hash {
        v.text_length("itemContentHash", h, 0, 256);
    }
    let upload = input.str("UploadType")?;
    if let Some(u) = upload {
        v.one_of("uploadType", u, &["COMPLETE", "PARTIAL"]);
    }
    v.finish()?;
    let (Some(resource_id), Some(resource_type), Some(compliance_type), Some(execution)) =
        (resource_id, resource_type, compliance_type, execution)
    else {
        unreachable!("validated above");
    };
    if resource_type != RESOURCE_TYPE {
        return Err(AwsError::client(
            "InvalidResourceType",
            format!(
                "Resource type {resource_type} isn't valid. The only supported resource type is ManagedInstance."
            ),
        ));
    }
    let node = ssm.nodes.get_mut(resource_id).ok_or_else(|| {
        AwsError::client(
            "InvalidResourceId",
            format!("Resource {resource_id} isn't a managed node in this account and Region."),
        )
    })?;

    if compliance_type == "Patch" {
        if let Some((_, missing)) = items.iter().find(|(id, _)| id.is_none()) {
            return Err(AwsError::client(
                "InvalidItemContentException",
                format!(
                    "Every Patch compliance item needs an Id (item titled `{}` has none).",
                    missing.title
                ),
            ));
        }
        put_patch(
            node,
            items.into_iter().map(|(_, i)| i).collect(),
            execution,
            now,
        );
        return Ok(json!({}));
    }

    let is_new_type = !node.custom.contains_key(compliance_type);
    if compliance_type.starts_with("Custom:")
        && is_new_type
        && node
            .custom
            .keys()
            .filter(|k| k.starts_with("Custom:"))
            .count()
            >= MAX_CUSTOM_TYPES
    {
        return Err(AwsError::client(
            "ComplianceTypeCountLimitExceededException",
            format!(
                "You specified too many custom compliance types. You can specify a maximum of {MAX_CUSTOM_TYPES} different types."
            ),
        ));
    }
    if let (Some(h), Some(existing)) = (hash, node.custom.get(compliance_type))
        && existing.content_hash.as_deref() == Some(h)
    {
        // Same content as stored: AWS ignores the request.
        return Ok(json!({}));
    }
    let new_items: Vec<CustomItem> = items.into_iter().map(|(_, i)| i).collect();
    // PARTIAL replaces only the items it names, and only for associations.
    let partial = upload == Some("PARTIAL") && compliance_type == "Association";
    let entry = node
        .custom
        .entry(compliance_type.to_string())
        .or_insert_with(|| Custom {
            execution: execution.clone(),
            items: Vec::new(),
            content_hash: None,
            counts: SeverityCounts::default(),
        });
    if partial {
        for item in new_items {
            match entry.items.iter_mut().find(|i| i.id == item.id) {
                Some(slot) => *slot = item,
                None => entry.items.push(item),
            }
        }
    } else {
        entry.items = new_items;
    }
    entry.execution = execution;
    entry.content_hash = hash.map(str::to_string);
    entry.recount();
    Ok(json!({}))
}

/// `Patch` compliance put by hand: the node's report becomes exactly these items.
fn put_patch(node: &mut Node, items: Vec<CustomItem>, execution: Execution, now: DateTime<Utc>) {
    let asu = node.spec.available_security_updates_compliant;
    let patches: Vec<PatchSpec> = items
        .into_iter()
        .map(|i| {
            let wanted = if i.status == "COMPLIANT" {
                Compliance::Compliant
            } else {
                Compliance::NonCompliant
            };
            let state = i
                .details
                .get("PatchState")
                .and_then(|s| State::from_wire(s).or_else(|| State::parse(s)))
                .filter(|s| patches::compliance(*s, asu) == wanted)
                .unwrap_or(match wanted {
                    Compliance::Compliant => State::Installed,
                    _ => State::Missing,
                });
            PatchSpec {
                id: i.id,
                title: i.title,
                classification: i.details.get("Classification").cloned().unwrap_or_default(),
                severity: i.details.get("PatchSeverity").cloned().unwrap_or_default(),
                compliance_severity: i.severity,
                state: state.fleet().to_string(),
                cve_ids: i
                    .details
                    .get("CVEIds")
                    .map(|c| {
                        c.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                installed_time: i.details.get("InstalledTime").and_then(|t| parse_time(t)),
            }
        })
        .collect();
    let previous = node.report.as_ref();
    let execution_key = execution
        .id
        .clone()
        .unwrap_or_else(|| now.timestamp_millis().to_string());
    let report = Report {
        operation: previous.map_or("Scan", |r| r.operation),
        reboot_option: previous.map_or_else(
            || node.spec.reboot_option.clone(),
            |r| r.reboot_option.clone(),
        ),
        start: execution.time,
        end: execution.time,
        execution_id: execution.id,
        execution_type: execution.kind,
        snapshot_id: wire::uuid_from(&format!("put/{}/{execution_key}", node.spec.id)),
        baseline_id: node.spec.baseline_id.clone(),
        patch_group: node.spec.patch_group.clone(),
        asu_compliant: asu,
        last_no_reboot_install: previous.and_then(|r| r.last_no_reboot_install),
        counts: Counts::of(&patches, asu),
        patches: Arc::new(patches),
    };
    node.report = Some(report);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_type_pattern() {
        assert!(valid_compliance_type("Patch"));
        assert!(valid_compliance_type("Association"));
        assert!(valid_compliance_type("Custom:Antivirus"));
        assert!(valid_compliance_type("Custom:my_check2"));
        assert!(!valid_compliance_type("Custom:"));
        assert!(!valid_compliance_type("Custom:a-b"));
        assert!(!valid_compliance_type("P"));
        assert!(!valid_compliance_type("has space"));
    }

    #[test]
    fn filter_ops() {
        let f = |op, vals: &[&str]| Filter {
            attr: "Status",
            values: vals.iter().map(|s| s.to_string()).collect(),
            op,
        };
        assert!(f(Op::Equal, &["A", "B"]).test(Some("B")));
        assert!(!f(Op::NotEqual, &["A", "B"]).test(Some("B")));
        assert!(f(Op::NotEqual, &["A"]).test(None));
        assert!(f(Op::BeginWith, &["NON"]).test(Some("NON_COMPLIANT")));
        let t = Filter {
            attr: "ExecutionTime",
            values: vec!["2024-01-01T00:00:00Z".into()],
            op: Op::GreaterThan,
        };
        assert!(t.test(Some("2024-02-01T00:00:00Z")));
        assert!(!t.test(Some("2023-02-01T00:00:00Z")));
    }
}
