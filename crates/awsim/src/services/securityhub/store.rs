//! The findings of one hub with their indexes, and the rules of the two write paths:
//!
//! * `BatchImportFindings` (providers): create or update by `(ProductArn, Id)`. An update whose
//!   `UpdatedAt` is not later than the stored one is ignored (success, but no ingestion event).
//!   On update, the provider's `Note`, `UserDefinedFields`, `VerificationState` and `Workflow`
//!   (and the deprecated `WorkflowState`) are ignored. `Confidence`, `Criticality`,
//!   `RelatedFindings`, `Severity` and `Types` come from `FindingProviderFields` (or the top-level
//!   value when that is absent) and overwrite the top-level value only while no
//!   `BatchUpdateFindings` has set it. A `NOTIFIED`/`RESOLVED` workflow goes back to `NEW` when
//!   `RecordState` goes `ARCHIVED`->`ACTIVE` or `Compliance.Status` goes from `PASSED` to
//!   `FAILED`, `WARNING` or `NOT_AVAILABLE`. `CreatedAt` is whatever the provider sends; an
//!   update without `RecordState` keeps the stored one (awsim's choice; the guide is silent).
//! * `BatchUpdateFindings` (customers): the workflow fields, never `UpdatedAt`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::fields::{FIELDS, index_entries};
use super::timestamp;
use super::validate::{self, MAX_FINDING_BYTES, complete_severity, parse_time};

/// Position of a finding in its store.
pub(crate) type Slot = u32;

/// Fields only customers change after creation; a provider's update keeps the stored ones.
const CUSTOMER_FIELDS: &[&str] = &[
    "Note",
    "UserDefinedFields",
    "VerificationState",
    "Workflow",
    "WorkflowState",
];

/// Fields providers set through `FindingProviderFields` and customers through
/// `BatchUpdateFindings`; bit `i` of [`StoredFinding::customer_set`] is `PROVIDER_FIELDS[i]`.
const PROVIDER_FIELDS: &[&str] = &[
    "Confidence",
    "Criticality",
    "RelatedFindings",
    "Severity",
    "Types",
];

/// One stored finding.
#[derive(Debug, Clone)]
pub(crate) struct StoredFinding {
    /// The finding as `GetFindings` returns it.
    pub json: Value,
    /// Parsed `UpdatedAt`, for the "not later: ignore" rule.
    updated_at: DateTime<Utc>,
    /// Which [`PROVIDER_FIELDS`] a `BatchUpdateFindings` has set.
    customer_set: u8,
    /// Simulated time of the last provider write (create or update).
    pub written_at: DateTime<Utc>,
    /// Until when reads see `earlier` instead of `json` (the read-after-write lag).
    visible_at: DateTime<Utc>,
    /// What reads see until `visible_at`: the version before the last write(s), or nothing
    /// for a finding created within the lag.
    earlier: Option<Box<Value>>,
}

/// Security Hub deletes a finding 90 days after its last update ("Security Hub stores findings
/// for 90 days after the last update", user guide: "Finding retention",
/// https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings.html). awsim
/// counts from the simulated time of the last accepted provider write (for a provider that
/// stamps `UpdatedAt` with its clock, the same day), so findings imported with old literal
/// dates do not vanish at once; only the passing of simulated time deletes. It keeps the slot
/// (its indexes stay simple), but a deleted finding is invisible to reads and the next import
/// of its `Id` creates it afresh.
pub(crate) const RETENTION: chrono::Duration = chrono::Duration::days(90);

impl StoredFinding {
    /// Whether retention has deleted the finding by `now` (simulated time).
    pub(crate) fn expired(&self, now: DateTime<Utc>) -> bool {
        now.signed_duration_since(self.written_at) >= RETENTION
    }

    /// The version a read at `now` sees, if any (see [`IngestContext::read_lag`]).
    pub(crate) fn visible(&self, now: DateTime<Utc>) -> Option<&Value> {
        if self.expired(now) {
            return None;
        }
        if now >= self.visible_at {
            Some(&self.json)
        } else {
            self.earlier.as_deref()
        }
    }
}

/// The findings of one hub and their indexes. `Clone` so that cross-Region aggregation can
/// keep what it had replicated when a Region stops being linked.
#[derive(Debug, Clone, Default)]
pub struct FindingStore {
    findings: Vec<StoredFinding>,
    by_key: HashMap<(String, String), Slot>,
    /// Per [`FIELDS`] position: value -> ascending slots. Map attributes use `key\0value`.
    index: Vec<BTreeMap<String, Vec<Slot>>>,
}

/// What an import did to one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Created,
    Updated,
    /// `UpdatedAt` not later than the stored finding's.
    Ignored,
}

/// Where findings are imported: the hub's account, Region and partition, and the time.
#[derive(Debug, Clone)]
pub(crate) struct IngestContext<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub partition: &'a str,
    pub now: DateTime<Utc>,
    /// How long this write stays invisible to reads: they see the version before it (or no
    /// finding, for a create) until `now + read_lag`.
    pub read_lag: chrono::Duration,
}

impl IngestContext<'_> {
    /// `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`.
    pub(super) fn default_product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }
}

impl FindingStore {
    /// Number of findings.
    pub(crate) fn len(&self) -> usize {
        self.findings.len()
    }

    /// All slots, ascending.
    pub(crate) fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        (0..self.findings.len()).map(|s| s as Slot)
    }

    /// The finding in a slot.
    pub(crate) fn get(&self, slot: Slot) -> &StoredFinding {
        &self.findings[slot as usize]
    }

    /// The slot of `(ProductArn, Id)`.
    pub(crate) fn slot_of(&self, product_arn: &str, id: &str) -> Option<Slot> {
        self.by_key
            .get(&(product_arn.to_string(), id.to_string()))
            .copied()
    }

    /// Slots whose indexed `field` has exactly `value`.
    pub(crate) fn postings(&self, field: usize, value: &str) -> &[Slot] {
        self.index
            .get(field)
            .and_then(|m| m.get(value))
            .map_or(&[], Vec::as_slice)
    }

    /// Posting lists of the values of `field` that start with `prefix`.
    pub(crate) fn prefix_postings<'s>(
        &'s self,
        field: usize,
        prefix: &'s str,
    ) -> impl Iterator<Item = &'s [Slot]> + 's {
        self.index
            .get(field)
            .into_iter()
            .flat_map(move |m| m.range(prefix.to_string()..))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.as_slice())
    }

    fn push(&mut self, finding: StoredFinding) -> Slot {
        let slot = self.findings.len() as Slot;
        let key = (
            str_at(&finding.json, "ProductArn").to_string(),
            str_at(&finding.json, "Id").to_string(),
        );
        let entries = index_entries(&finding.json);
        self.findings.push(finding);
        self.by_key.insert(key, slot);
        self.add_postings(slot, &entries);
        slot
    }

    /// Replaces a finding's JSON, keeping the indexes in step.
    fn replace(&mut self, slot: Slot, json: Value) {
        let old = index_entries(&self.findings[slot as usize].json);
        let new = index_entries(&json);
        self.findings[slot as usize].json = json;
        let gone: Vec<(u16, String)> = old
            .iter()
            .filter(|e| new.binary_search(e).is_err())
            .cloned()
            .collect();
        let added: Vec<(u16, String)> = new
            .iter()
            .filter(|e| old.binary_search(e).is_err())
            .cloned()
            .collect();
        for (field, value) in gone {
            if let Some(map) = self.index.get_mut(field as usize)
                && let Some(list) = map.get_mut(&value)
            {
                if let Ok(i) = list.binary_search(&slot) {
                    list.remove(i);
                }
                if list.is_empty() {
                    map.remove(&value);
                }
            }
        }
        self.add_postings(slot, &added);
    }

    fn add_postings(&mut self, slot: Slot, entries: &[(u16, String)]) {
        if self.index.len() < FIELDS.len() {
            self.index.resize_with(FIELDS.len(), BTreeMap::new);
        }
        for (field, value) in entries {
            let list = self.index[*field as usize]
                .entry(value.clone())
                .or_default();
            // New slots are the largest, so a create appends.
            match list.last() {
                Some(last) if *last >= slot => {
                    if let Err(i) = list.binary_search(&slot) {
                        list.insert(i, slot);
                    }
                }
                _ => list.push(slot),
            }
        }
    }

    /// Applies one validated, authorized finding from `BatchImportFindings`.
    pub(crate) fn ingest(&mut self, incoming: &Value, ctx: &IngestContext<'_>) -> Outcome {
        let mut new = incoming.as_object().cloned().unwrap_or_default();
        let updated_at = parse_time(str_at(incoming, "UpdatedAt")).unwrap_or(ctx.now);
        let existing = self.slot_of(str_at(incoming, "ProductArn"), str_at(incoming, "Id"));
        match existing {
            Some(slot) if self.get(slot).expired(ctx.now) => {
                let json = Self::created(new, ctx);
                self.replace(slot, json);
                let f = &mut self.findings[slot as usize];
                f.updated_at = updated_at;
                f.customer_set = 0;
                f.written_at = ctx.now;
                f.visible_at = ctx.now + ctx.read_lag;
                f.earlier = None;
                Outcome::Created
            }
            Some(slot) => {
                let stored = self.get(slot);
                if updated_at <= stored.updated_at {
                    return Outcome::Ignored;
                }
                let old = stored.json.as_object().cloned().unwrap_or_default();
                let customer_set = stored.customer_set;
                // Writes within the lag of each other: reads still see the version before
                // the first of them.
                let earlier = if ctx.read_lag <= chrono::Duration::zero() {
                    None
                } else if ctx.now < stored.visible_at {
                    stored.earlier.clone()
                } else {
                    Some(Box::new(stored.json.clone()))
                };
                merge_update(&mut new, &old, customer_set);
                stamp(&mut new, ctx);
                self.replace(slot, Value::Object(new));
                let f = &mut self.findings[slot as usize];
                f.updated_at = updated_at;
                f.written_at = ctx.now;
                f.visible_at = ctx.now + ctx.read_lag;
                f.earlier = earlier;
                Outcome::Updated
            }
            None => {
                let json = Self::created(new, ctx);
                self.push(StoredFinding {
                    json,
                    updated_at,
                    customer_set: 0,
                    written_at: ctx.now,
                    visible_at: ctx.now + ctx.read_lag,
                    earlier: None,
                });
                Outcome::Created
            }
        }
    }

    /// A new finding as stored: defaults for what the provider left out, then Security Hub's stamps.
    fn created(mut new: Map<String, Value>, ctx: &IngestContext<'_>) -> Value {
        sync_provider_fields(&mut new, None);
        new.entry("Workflow")
            .or_insert_with(|| json!({"Status": "NEW"}));
        new.entry("WorkflowState").or_insert_with(|| json!("NEW"));
        new.entry("RecordState").or_insert_with(|| json!("ACTIVE"));
        stamp(&mut new, ctx);
        Value::Object(new)
    }

    /// Applies a `BatchUpdateFindings` change to one finding; `Err` is the unprocessed reason.
    pub(super) fn customer_update(
        &mut self,
        slot: Slot,
        update: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<(), (&'static str, &'static str)> {
        let stored = self.get(slot);
        let mut json = stored.json.as_object().cloned().unwrap_or_default();
        let mut customer_set = stored.customer_set;
        if let Some(note) = update.get("Note") {
            json.insert(
                "Note".into(),
                json!({
                    "Text": note.get("Text"),
                    "UpdatedBy": note.get("UpdatedBy"),
                    "UpdatedAt": timestamp(now),
                }),
            );
        }
        if let Some(sev) = update.get("Severity").and_then(Value::as_object) {
            let mut merged = json
                .get("Severity")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let given_label = sev.get("Label").cloned();
            let given_normalized = sev.get("Normalized").cloned();
            if let Some(p) = sev.get("Product") {
                merged.insert("Product".into(), p.clone());
            }
            match (given_label, given_normalized) {
                (Some(l), Some(n)) => {
                    merged.insert("Label".into(), l);
                    merged.insert("Normalized".into(), n);
                }
                (Some(l), None) => {
                    let n = validate::normalized_for(l.as_str().unwrap_or_default());
                    merged.insert("Label".into(), l);
                    merged.insert("Normalized".into(), n.into());
                }
                (None, Some(n)) => {
                    let l = validate::label_for(n.as_i64().unwrap_or_default());
                    merged.insert("Label".into(), l.into());
                    merged.insert("Normalized".into(), n);
                }
                (None, None) => {}
            }
            json.insert("Severity".into(), Value::Object(merged));
        }
        for key in ["Confidence", "Criticality", "Types", "RelatedFindings"] {
            if let Some(v) = update.get(key).filter(|v| !v.is_null()) {
                json.insert(key.into(), v.clone());
            }
        }
        for (bit, key) in PROVIDER_FIELDS.iter().enumerate() {
            if update.get(*key).is_some_and(|v| !v.is_null()) {
                customer_set |= 1 << bit;
            }
        }
        if let Some(v) = update.get("VerificationState").filter(|v| !v.is_null()) {
            json.insert("VerificationState".into(), v.clone());
        }
        if let Some(fields) = update.get("UserDefinedFields").and_then(Value::as_object) {
            // Named fields are added or overwritten; the others stay.
            let udf = json.entry("UserDefinedFields").or_insert_with(|| json!({}));
            if let Some(udf) = udf.as_object_mut() {
                for (k, v) in fields {
                    udf.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(status) = update.get("Workflow").and_then(|w| w.get("Status")) {
            json.insert("Workflow".into(), json!({"Status": status}));
        }
        let json = Value::Object(json);
        if serde_json::to_vec(&json).map_or(0, |b| b.len()) > MAX_FINDING_BYTES {
            return Err(("FindingSizeExceeded", "Finding size exceeded 240 KB"));
        }
        self.replace(slot, json);
        self.findings[slot as usize].customer_set = customer_set;
        Ok(())
    }

    #[cfg(test)]
    pub(crate) fn insert_for_test(&mut self, json: Value) -> Slot {
        self.push(StoredFinding {
            json,
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
            customer_set: 0,
            // Never expires.
            written_at: DateTime::<Utc>::MAX_UTC,
            visible_at: DateTime::<Utc>::UNIX_EPOCH,
            earlier: None,
        })
    }
}

pub(super) fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn nested_str<'a>(m: &'a Map<String, Value>, outer: &str, inner: &str) -> Option<&'a str> {
    m.get(outer)?.get(inner)?.as_str()
}

/// Provider's update of an existing finding (see the module docs).
fn merge_update(new: &mut Map<String, Value>, old: &Map<String, Value>, customer_set: u8) {
    for key in CUSTOMER_FIELDS {
        new.remove(*key);
        if let Some(v) = old.get(*key) {
            new.insert((*key).to_string(), v.clone());
        }
    }
    sync_provider_fields(new, Some((old, customer_set)));
    if new.get("RecordState").is_none_or(Value::is_null)
        && let Some(rs) = old.get("RecordState")
    {
        new.insert("RecordState".into(), rs.clone());
    }
    let workflow = nested_str(old, "Workflow", "Status");
    if matches!(workflow, Some("NOTIFIED" | "RESOLVED")) {
        let record = |m: &Map<String, Value>| {
            m.get("RecordState")
                .and_then(Value::as_str)
                .unwrap_or("ACTIVE")
                .to_string()
        };
        let reactivated = record(old) == "ARCHIVED" && record(new) == "ACTIVE";
        let regressed = nested_str(old, "Compliance", "Status") == Some("PASSED")
            && matches!(
                nested_str(new, "Compliance", "Status"),
                Some("FAILED" | "WARNING" | "NOT_AVAILABLE")
            );
        if reactivated || regressed {
            new.insert("Workflow".into(), json!({"Status": "NEW"}));
        }
    }
}

/// Keeps `FindingProviderFields` and the top-level provider fields in step: on create each side
/// fills the other where empty; on update the provider's value (from `FindingProviderFields`,
/// else top-level) goes to `FindingProviderFields`, and to the top level unless a customer has
/// set that field.
fn sync_provider_fields(new: &mut Map<String, Value>, stored: Option<(&Map<String, Value>, u8)>) {
    let mut fpf = match new.remove("FindingProviderFields") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for (bit, key) in PROVIDER_FIELDS.iter().enumerate() {
        let key = *key;
        let provider = fpf
            .get(key)
            .filter(|v| !v.is_null())
            .or_else(|| new.get(key).filter(|v| !v.is_null()))
            .cloned();
        match stored {
            None => {
                if let Some(p) = provider {
                    fpf.entry(key).or_insert_with(|| p.clone());
                    new.entry(key).or_insert(p);
                }
            }
            Some((old, customer_set)) => {
                let old_fpf = old.get("FindingProviderFields").and_then(|f| f.get(key));
                match (&provider, old_fpf) {
                    (Some(p), _) => {
                        fpf.insert(key.into(), p.clone());
                    }
                    (None, Some(o)) => {
                        fpf.insert(key.into(), o.clone());
                    }
                    (None, None) => {}
                }
                let customer_value = customer_set & (1 << bit) != 0;
                let top = if customer_value {
                    old.get(key).cloned()
                } else {
                    provider.or_else(|| old.get(key).cloned())
                };
                match top {
                    Some(v) => new.insert(key.into(), v),
                    None => new.remove(key),
                };
            }
        }
    }
    if !fpf.is_empty() {
        new.insert("FindingProviderFields".into(), Value::Object(fpf));
    }
}

/// What Security Hub sets on every ingested finding.
fn stamp(new: &mut Map<String, Value>, ctx: &IngestContext<'_>) {
    // Custom integrations may name themselves; otherwise the default product's names.
    new.entry("ProductName").or_insert_with(|| json!("Default"));
    new.entry("CompanyName")
        .or_insert_with(|| json!("Personal"));
    // Security Hub populates Region itself; providers cannot set it.
    new.insert("Region".into(), json!(ctx.region));
    new.insert("ProcessedAt".into(), json!(timestamp(ctx.now)));
    if let Some(sev) = new.get_mut("Severity") {
        complete_severity(sev);
    }
    let finding_arn = format!("{}/{}", ctx.default_product_arn(), str_at_map(new, "Id"));
    let product_name = str_at_map(new, "ProductName").to_string();
    let company_name = str_at_map(new, "CompanyName").to_string();
    let pf = new.entry("ProductFields").or_insert_with(|| json!({}));
    if let Some(pf) = pf.as_object_mut() {
        pf.insert("aws/securityhub/FindingId".into(), json!(finding_arn));
        pf.insert("aws/securityhub/ProductName".into(), json!(product_name));
        pf.insert("aws/securityhub/CompanyName".into(), json!(company_name));
    }
}

fn str_at_map<'a>(m: &'a Map<String, Value>, key: &str) -> &'a str {
    m.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(now: &str) -> IngestContext<'static> {
        IngestContext {
            account: "123456789012",
            region: "us-east-1",
            partition: "aws",
            now: parse_time(now).unwrap(),
            read_lag: chrono::Duration::zero(),
        }
    }

    fn finding(updated: &str) -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": "f-1",
            "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
            "GeneratorId": "g",
            "AwsAccountId": "123456789012",
            "CreatedAt": "2024-01-01T00:00:00Z",
            "UpdatedAt": updated,
            "Title": "t",
            "Description": "d",
            "Resources": [{"Type": "AwsEc2Instance", "Id": "i-1"}],
            "FindingProviderFields": {"Severity": {"Label": "HIGH"}, "Types": ["TTPs/Discovery"]},
            "Workflow": {"Status": "SUPPRESSED"},
        })
    }

    #[test]
    fn provider_fields_follow_the_guide() {
        let mut store = FindingStore::default();
        let c = ctx("2024-01-01T00:00:00Z");
        assert_eq!(
            store.ingest(&finding("2024-01-01T00:00:00Z"), &c),
            Outcome::Created
        );
        let j = &store.get(0).json;
        // Top level filled from FindingProviderFields, severity completed, stamps added.
        assert_eq!(j["Severity"], json!({"Label": "HIGH", "Normalized": 70}));
        assert_eq!(j["Types"], json!(["TTPs/Discovery"]));
        assert_eq!(j["Region"], "us-east-1");
        assert_eq!(j["ProductName"], "Default");
        assert_eq!(
            j["ProductFields"]["aws/securityhub/FindingId"],
            "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default/f-1"
        );
        // A customer sets the severity; a later provider update changes only FindingProviderFields.
        let upd = json!({"Severity": {"Label": "LOW"}});
        store
            .customer_update(0, upd.as_object().unwrap(), c.now)
            .unwrap();
        let mut next = finding("2024-01-02T00:00:00Z");
        next["FindingProviderFields"]["Severity"] = json!({"Label": "CRITICAL"});
        next["FindingProviderFields"]["Types"] = json!(["Effects/Data Exposure"]);
        assert_eq!(store.ingest(&next, &c), Outcome::Updated);
        let j = &store.get(0).json;
        assert_eq!(j["Severity"]["Label"], "LOW");
        assert_eq!(j["FindingProviderFields"]["Severity"]["Label"], "CRITICAL");
        assert_eq!(j["Types"], json!(["Effects/Data Exposure"]));
        assert_eq!(j["Workflow"]["Status"], "SUPPRESSED");
        // Same UpdatedAt again: ignored.
        assert_eq!(store.ingest(&next, &c), Outcome::Ignored);
    }

    #[test]
    fn indexes_follow_replacements() {
        let mut store = FindingStore::default();
        let c = ctx("2024-01-01T00:00:00Z");
        store.ingest(&finding("2024-01-01T00:00:00Z"), &c);
        let rid = FIELDS.iter().position(|f| f.name == "ResourceId").unwrap();
        assert_eq!(store.postings(rid, "i-1"), &[0]);
        let mut next = finding("2024-01-02T00:00:00Z");
        next["Resources"] = json!([{"Type": "AwsEc2Instance", "Id": "i-2"}]);
        store.ingest(&next, &c);
        assert!(store.postings(rid, "i-1").is_empty());
        assert_eq!(store.postings(rid, "i-2"), &[0]);
    }
}
