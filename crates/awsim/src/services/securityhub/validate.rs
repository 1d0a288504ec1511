//! Shape checks: ASFF findings as `BatchImportFindings` validates them (required attributes,
//! lengths, enums, the `Types` taxonomy), and the inputs of `BatchUpdateFindings`.
//!
//! Messages follow the style of AWS's JSON-schema errors ("Finding does not adhere to Amazon
//! Finding Format. data.Title should NOT be longer than 256 characters").

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::invalid_input;
use crate::protocol::AwsError;

/// The only ASFF schema version.
pub(crate) const SCHEMA_VERSION: &str = "2018-10-08";

/// Largest finding AWS accepts (240 KB), measured on its JSON.
pub(crate) const MAX_FINDING_BYTES: usize = 240 * 1024;

/// The `Types` namespaces of the ASFF taxonomy.
const TYPE_NAMESPACES: &[&str] = &[
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];

pub(crate) const SEVERITY_LABELS: &[&str] = &["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
const RECORD_STATES: &[&str] = &["ACTIVE", "ARCHIVED"];
const COMPLIANCE_STATUSES: &[&str] = &["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"];
pub(crate) const WORKFLOW_STATUSES: &[&str] = &["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];
const WORKFLOW_STATES: &[&str] = &["NEW", "ASSIGNED", "IN_PROGRESS", "DEFERRED", "RESOLVED"];
const VERIFICATION_STATES: &[&str] = &[
    "UNKNOWN",
    "TRUE_POSITIVE",
    "FALSE_POSITIVE",
    "BENIGN_POSITIVE",
];
const PARTITIONS: &[&str] = &["aws", "aws-cn", "aws-us-gov"];

/// Parses an ASFF timestamp (RFC 3339 with `Z` or an offset, optional fraction).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    // AWS requires the `T` separator; chrono also accepts a space.
    if s.len() < 20 || s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The label Security Hub derives from a normalized score.
pub(crate) fn label_for(normalized: i64) -> &'static str {
    match normalized {
        i64::MIN..=0 => "INFORMATIONAL",
        1..=39 => "LOW",
        40..=69 => "MEDIUM",
        70..=89 => "HIGH",
        _ => "CRITICAL",
    }
}

/// The normalized score Security Hub derives from a label.
pub(crate) fn normalized_for(label: &str) -> i64 {
    match label {
        "LOW" => 1,
        "MEDIUM" => 40,
        "HIGH" => 70,
        "CRITICAL" => 90,
        _ => 0,
    }
}

/// Fills the missing half of `{Label, Normalized}` in a severity object.
pub(crate) fn complete_severity(sev: &mut Value) {
    let Some(obj) = sev.as_object_mut() else {
        return;
    };
    let label = obj.get("Label").and_then(Value::as_str).map(str::to_string);
    let normalized = obj.get("Normalized").and_then(Value::as_i64);
    match (label, normalized) {
        (Some(l), None) => {
            obj.insert("Normalized".into(), Value::from(normalized_for(&l)));
        }
        (None, Some(n)) => {
            obj.insert("Label".into(), Value::from(label_for(n)));
        }
        _ => {}
    }
}

/// Checks one finding of a `BatchImportFindings` request against the ASFF rules; the error is
/// the `ErrorMessage` of its `FailedFindings` entry (code `InvalidInput`).
pub(crate) fn finding(f: &Value) -> Result<(), String> {
    check_finding(f).map_err(|e| format!("Finding does not adhere to Amazon Finding Format. {e}"))
}

fn check_finding(f: &Value) -> Result<(), String> {
    let obj = f.as_object().ok_or("data should be object")?;
    let v = Ctx { obj, at: "data" };

    let schema = v.required_str("SchemaVersion", 1, 128)?;
    if schema != SCHEMA_VERSION {
        return Err(format!(
            "data.SchemaVersion should be equal to one of the allowed values: {SCHEMA_VERSION}"
        ));
    }
    v.required_str("Id", 1, 512)?;
    v.required_str("ProductArn", 12, 2048)?;
    v.required_str("GeneratorId", 1, 512)?;
    let account = v.required_str("AwsAccountId", 12, 12)?;
    if !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("data.AwsAccountId should match pattern \"^[0-9]{12}$\"".into());
    }
    for key in ["CreatedAt", "UpdatedAt"] {
        v.required_time(key)?;
    }
    for key in ["FirstObservedAt", "LastObservedAt"] {
        v.optional_time(key)?;
    }
    v.required_str("Title", 1, 256)?;
    v.required_str("Description", 1, 1024)?;
    v.optional_str("ProductName", 1, 128)?;
    v.optional_str("CompanyName", 1, 128)?;
    v.optional_str("Region", 1, 16)?;
    v.optional_str("SourceUrl", 1, 2048)?;

    resources(obj)?;

    let fpf = obj.get("FindingProviderFields");
    if let Some(fpf) = fpf {
        finding_provider_fields(fpf)?;
    }
    let fpf_has = |k: &str| fpf.and_then(|p| p.get(k)).is_some_and(|x| !x.is_null());
    match obj.get("Severity") {
        Some(sev) if !sev.is_null() => severity(sev, "data.Severity")?,
        _ if fpf_has("Severity") => {
            let label = fpf
                .and_then(|p| p.get("Severity"))
                .and_then(|s| s.get("Label"));
            if label.is_none_or(Value::is_null) {
                return Err(
                    "data.FindingProviderFields.Severity should have required property 'Label'"
                        .into(),
                );
            }
        }
        _ => return Err("data should have required property 'Severity'".into()),
    }
    match obj.get("Types") {
        Some(t) if !t.is_null() => types(t, "data.Types")?,
        _ if fpf_has("Types") => {}
        _ => return Err("data should have required property 'Types'".into()),
    }
    for key in ["Confidence", "Criticality"] {
        v.optional_ratio(key)?;
    }
    if let Some(pf) = obj.get("ProductFields") {
        string_map(pf, "data.ProductFields", 50, 128, 2048)?;
    }
    if let Some(udf) = obj.get("UserDefinedFields") {
        string_map(udf, "data.UserDefinedFields", 50, 128, 1024)?;
    }
    v.optional_enum("RecordState", RECORD_STATES)?;
    v.optional_enum("VerificationState", VERIFICATION_STATES)?;
    v.optional_enum("WorkflowState", WORKFLOW_STATES)?;
    if let Some(c) = obj.get("Compliance") {
        let c = c.as_object().ok_or("data.Compliance should be object")?;
        Ctx {
            obj: c,
            at: "data.Compliance",
        }
        .optional_enum("Status", COMPLIANCE_STATUSES)?;
    }
    if let Some(w) = obj.get("Workflow") {
        let w = w.as_object().ok_or("data.Workflow should be object")?;
        Ctx {
            obj: w,
            at: "data.Workflow",
        }
        .optional_enum("Status", WORKFLOW_STATUSES)?;
    }
    if let Some(n) = obj.get("Note") {
        note(n, "data.Note", true)?;
    }
    if let Some(r) = obj.get("RelatedFindings") {
        related_findings(r, "data.RelatedFindings")?;
    }
    Ok(())
}

fn resources(obj: &Map<String, Value>) -> Result<(), String> {
    let list = obj
        .get("Resources")
        .ok_or("data should have required property 'Resources'")?
        .as_array()
        .ok_or("data.Resources should be array")?;
    if list.is_empty() {
        return Err("data.Resources should NOT have fewer than 1 items".into());
    }
    if list.len() > 32 {
        return Err("data.Resources should NOT have more than 32 items".into());
    }
    for (i, r) in list.iter().enumerate() {
        let at = format!("data.Resources[{i}]");
        let r = r
            .as_object()
            .ok_or_else(|| format!("{at} should be object"))?;
        let v = Ctx { obj: r, at: &at };
        v.required_str("Type", 1, 256)?;
        v.required_str("Id", 1, 512)?;
        v.optional_enum("Partition", PARTITIONS)?;
        v.optional_str("Region", 1, 16)?;
        if let Some(tags) = r.get("Tags") {
            string_map(tags, &format!("{at}.Tags"), 50, 128, 256)?;
        }
    }
    Ok(())
}

fn finding_provider_fields(fpf: &Value) -> Result<(), String> {
    let obj = fpf
        .as_object()
        .ok_or("data.FindingProviderFields should be object")?;
    let v = Ctx {
        obj,
        at: "data.FindingProviderFields",
    };
    for key in ["Confidence", "Criticality"] {
        v.optional_ratio(key)?;
    }
    if let Some(sev) = obj.get("Severity") {
        let s = sev
            .as_object()
            .ok_or("data.FindingProviderFields.Severity should be object")?;
        Ctx {
            obj: s,
            at: "data.FindingProviderFields.Severity",
        }
        .optional_enum("Label", SEVERITY_LABELS)?;
    }
    if let Some(t) = obj.get("Types") {
        types(t, "data.FindingProviderFields.Types")?;
    }
    if let Some(r) = obj.get("RelatedFindings") {
        related_findings(r, "data.FindingProviderFields.RelatedFindings")?;
    }
    Ok(())
}

/// `Severity`: `Label` in the enum and/or `Normalized` in 0..=100 (at least one of them).
pub(crate) fn severity(sev: &Value, at: &str) -> Result<(), String> {
    let obj = sev
        .as_object()
        .ok_or_else(|| format!("{at} should be object"))?;
    let v = Ctx { obj, at };
    v.optional_enum("Label", SEVERITY_LABELS)?;
    v.optional_ratio("Normalized")?;
    if let Some(p) = obj.get("Product")
        && !p.is_number()
    {
        return Err(format!("{at}.Product should be number"));
    }
    if !obj.contains_key("Label") && !obj.contains_key("Normalized") {
        return Err(format!("{at} should have required property 'Label'"));
    }
    Ok(())
}

/// An array of at most `max` items.
fn array<'a>(v: &'a Value, at: &str, max: usize) -> Result<&'a Vec<Value>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| format!("{at} should be array"))?;
    if list.len() > max {
        return Err(format!("{at} should NOT have more than {max} items"));
    }
    Ok(list)
}

/// `Types`: at most 50 strings matching the pattern the service enforces,
/// `^([^/]+)(/[^/]+){0,2}$` (its InvalidInput message, quoted in prowler issue #2519): one to
/// three non-empty parts. The documented namespaces ([`TYPE_NAMESPACES`]) are what a provider
/// should write; the service accepts any on import, so a third party's `Types: ["PATCH"]` lands.
pub(crate) fn types(t: &Value, at: &str) -> Result<(), String> {
    let list = array(t, at, 50)?;
    for (i, item) in list.iter().enumerate() {
        let s = item
            .as_str()
            .ok_or_else(|| format!("{at}[{i}] should be string"))?;
        let parts: Vec<&str> = s.split('/').collect();
        let ok = (1..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty());
        if !ok {
            return Err(format!(
                "{at}[{i}] should match pattern \"^([^/]+)(/[^/]+){{0,2}}$\": got \"{s}\""
            ));
        }
    }
    Ok(())
}

/// `BatchUpdateFindings`' `Types`: at most 50 `namespace/category[/classifier]` strings with a
/// documented namespace. Only the import path's pattern is published; awsim keeps the documented
/// format for customer updates.
fn documented_types(t: &Value, at: &str) -> Result<(), String> {
    types(t, at)?;
    for (i, s) in array(t, at, 50)?
        .iter()
        .filter_map(Value::as_str)
        .enumerate()
    {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() < 2 || !TYPE_NAMESPACES.contains(&parts[0]) {
            return Err(format!(
                "{at}[{i}] should match the format namespace/category/classifier with a namespace \
                 of {}: got \"{s}\"",
                TYPE_NAMESPACES.join(" | ")
            ));
        }
    }
    Ok(())
}

/// A map of strings with at most `max_pairs` entries and bounded key and value lengths.
pub(crate) fn string_map(
    m: &Value,
    at: &str,
    max_pairs: usize,
    max_key: usize,
    max_value: usize,
) -> Result<(), String> {
    let obj = m
        .as_object()
        .ok_or_else(|| format!("{at} should be object"))?;
    if obj.len() > max_pairs {
        return Err(format!(
            "{at} should NOT have more than {max_pairs} properties"
        ));
    }
    for (k, val) in obj {
        let n = k.chars().count();
        if n == 0 || n > max_key {
            return Err(format!(
                "{at} property name '{k}' should be 1 to {max_key} characters"
            ));
        }
        let s = val
            .as_str()
            .ok_or_else(|| format!("{at}['{k}'] should be string"))?;
        if s.chars().count() > max_value {
            return Err(format!(
                "{at}['{k}'] should NOT be longer than {max_value} characters"
            ));
        }
    }
    Ok(())
}

/// `Note {Text, UpdatedBy[, UpdatedAt]}`; on an imported finding `UpdatedAt` is required too.
pub(crate) fn note(n: &Value, at: &str, with_updated_at: bool) -> Result<(), String> {
    let obj = n
        .as_object()
        .ok_or_else(|| format!("{at} should be object"))?;
    let v = Ctx { obj, at };
    v.required_str("Text", 1, 512)?;
    v.required_str("UpdatedBy", 1, 512)?;
    if with_updated_at {
        v.required_time("UpdatedAt")?;
    }
    Ok(())
}

/// `RelatedFindings [{ProductArn, Id}]`, at most 10.
pub(crate) fn related_findings(r: &Value, at: &str) -> Result<(), String> {
    let list = array(r, at, 10)?;
    for (i, item) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| format!("{here} should be object"))?;
        let v = Ctx { obj, at: &here };
        v.required_str("ProductArn", 12, 2048)?;
        v.required_str("Id", 1, 512)?;
    }
    Ok(())
}

/// `EnableSecurityHub` tags: at most 50, keys 1..128, values up to 256.
pub(crate) fn tags(m: &Map<String, Value>) -> Result<(), String> {
    string_map(&Value::Object(m.clone()), "Tags", 50, 128, 256)
}

/// Checks the update fields of a `BatchUpdateFindings` request.
pub(crate) fn batch_update_fields(input: &Map<String, Value>) -> Result<(), String> {
    let v = Ctx { obj: input, at: "" };
    if let Some(n) = input.get("Note") {
        note(n, "Note", false)?;
    }
    if let Some(s) = input.get("Severity") {
        let obj = s.as_object().ok_or("Severity should be object")?;
        let c = Ctx {
            obj,
            at: "Severity",
        };
        c.optional_enum("Label", SEVERITY_LABELS)?;
        c.optional_ratio("Normalized")?;
    }
    v.optional_enum("VerificationState", VERIFICATION_STATES)?;
    v.optional_ratio("Confidence")?;
    v.optional_ratio("Criticality")?;
    if let Some(t) = input.get("Types") {
        documented_types(t, "Types")?;
    }
    if let Some(u) = input.get("UserDefinedFields") {
        string_map(u, "UserDefinedFields", 50, 128, 1024)?;
    }
    if let Some(w) = input.get("Workflow") {
        let obj = w.as_object().ok_or("Workflow should be object")?;
        Ctx {
            obj,
            at: "Workflow",
        }
        .optional_enum("Status", WORKFLOW_STATUSES)?;
    }
    if let Some(r) = input.get("RelatedFindings") {
        related_findings(r, "RelatedFindings")?;
    }
    Ok(())
}

/// Field checks on one JSON object, naming fields by their path for messages.
struct Ctx<'a> {
    obj: &'a Map<String, Value>,
    at: &'a str,
}

impl<'a> Ctx<'a> {
    fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    fn required_str(&self, key: &str, min: usize, max: usize) -> Result<&'a str, String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Err(format!(
                "{} should have required property '{key}'",
                if self.at.is_empty() { "data" } else { self.at }
            )),
            Some(v) => self.check_str(key, v, min, max),
        }
    }

    fn optional_str(&self, key: &str, min: usize, max: usize) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => self.check_str(key, v, min, max).map(|_| ()),
        }
    }

    fn check_str(
        &self,
        key: &str,
        v: &'a Value,
        min: usize,
        max: usize,
    ) -> Result<&'a str, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("{} should be string", self.path(key)))?;
        let n = s.chars().count();
        if n < min {
            return Err(format!(
                "{} should NOT be shorter than {min} characters",
                self.path(key)
            ));
        }
        if n > max {
            return Err(format!(
                "{} should NOT be longer than {max} characters",
                self.path(key)
            ));
        }
        Ok(s)
    }

    fn required_time(&self, key: &str) -> Result<(), String> {
        let s = self.required_str(key, 1, 64)?;
        parse_time(s).map(|_| ()).ok_or_else(|| {
            format!(
                "{} should match format \"date-time\" (RFC 3339, e.g. 2024-01-02T03:04:05.000Z): got \"{s}\"",
                self.path(key)
            )
        })
    }

    fn optional_time(&self, key: &str) -> Result<(), String> {
        if self.obj.get(key).is_none_or(Value::is_null) {
            return Ok(());
        }
        self.required_time(key)
    }

    fn optional_enum(&self, key: &str, allowed: &[&str]) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
            Some(_) => Err(format!(
                "{} should be equal to one of the allowed values: {}",
                self.path(key),
                allowed.join(", ")
            )),
        }
    }

    /// An integer from 0 to 100 (`Confidence`, `Criticality`, `Severity.Normalized`).
    fn optional_ratio(&self, key: &str) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => match v.as_i64() {
                Some(n) if (0..=100).contains(&n) => Ok(()),
                Some(_) => Err(format!("{} should be <= 100 and >= 0", self.path(key))),
                None => Err(format!("{} should be integer", self.path(key))),
            },
        }
    }
}

/// The list a request holds under `key`: required, with 1 to `max` entries (`what` names them
/// in the error).
pub(crate) fn bounded_list<'a>(
    input: &'a Value,
    key: &str,
    max: usize,
    what: &str,
) -> Result<&'a Vec<Value>, AwsError> {
    let list = input
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_input(format!("{key} is required")))?;
    if list.is_empty() || list.len() > max {
        return Err(invalid_input(format!(
            "{key} must contain between 1 and {max} {what}; got {}",
            list.len()
        )));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": "f-1",
            "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
            "GeneratorId": "gen",
            "AwsAccountId": "123456789012",
            "CreatedAt": "2024-01-02T03:04:05Z",
            "UpdatedAt": "2024-01-02T03:04:05.123+02:00",
            "Title": "t",
            "Description": "d",
            "Resources": [{"Type": "AwsEc2Instance", "Id": "i-1"}],
            "Severity": {"Label": "HIGH"},
            "Types": ["Software and Configuration Checks/Patch Management"],
        })
    }

    #[test]
    fn accepts_a_minimal_finding() {
        finding(&good()).unwrap();
    }

    #[test]
    fn rejects_each_broken_field() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("SchemaVersion", json!("2019-01-01"), "SchemaVersion"),
            ("Id", json!(""), "Id"),
            ("Id", json!("x".repeat(513)), "Id"),
            ("AwsAccountId", json!("12345678901a"), "AwsAccountId"),
            ("AwsAccountId", json!("1234"), "AwsAccountId"),
            ("CreatedAt", json!("2024-01-02 03:04:05Z"), "CreatedAt"),
            ("UpdatedAt", json!("yesterday"), "UpdatedAt"),
            ("Title", json!("x".repeat(257)), "Title"),
            ("Description", json!(""), "Description"),
            ("Resources", json!([]), "Resources"),
            ("Resources", json!([{"Type": "AwsEc2Instance"}]), "Id"),
            ("Severity", json!({"Label": "SEVERE"}), "Label"),
            ("Severity", json!({"Normalized": 101}), "Normalized"),
            ("Types", json!(["a/b/c/d"]), "Types[0]"),
            (
                "Types",
                json!(["Software and Configuration Checks//Patch"]),
                "Types[0]",
            ),
        ];
        for (key, value, needle) in cases {
            let mut f = good();
            f[key] = value;
            let err = finding(&f).unwrap_err();
            assert!(err.contains(needle), "{key}: {err}");
        }
        let mut f = good();
        f.as_object_mut().unwrap().remove("GeneratorId");
        assert!(finding(&f).unwrap_err().contains("'GeneratorId'"));
        let mut f = good();
        f.as_object_mut().unwrap().remove("Severity");
        assert!(finding(&f).unwrap_err().contains("'Severity'"));
        f["FindingProviderFields"] = json!({"Severity": {"Label": "LOW"}});
        finding(&f).unwrap();
    }

    #[test]
    fn product_fields_limits() {
        let mut f = good();
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
        f["ProductFields"] = Value::Object(many);
        assert!(finding(&f).unwrap_err().contains("50"));
        f["ProductFields"] = json!({ "k".repeat(129): "v" });
        assert!(finding(&f).unwrap_err().contains("128"));
        f["ProductFields"] = json!({ "k": "v".repeat(2049) });
        assert!(finding(&f).unwrap_err().contains("2048"));
    }

    #[test]
    fn severity_halves() {
        let mut s = json!({"Label": "MEDIUM"});
        complete_severity(&mut s);
        assert_eq!(s["Normalized"], 40);
        let mut s = json!({"Normalized": 75});
        complete_severity(&mut s);
        assert_eq!(s["Label"], "HIGH");
        assert_eq!(label_for(0), "INFORMATIONAL");
        assert_eq!(label_for(39), "LOW");
        assert_eq!(label_for(90), "CRITICAL");
    }
}
