//! Shape checks: ASFF findings as `BatchImportFindings` validates them (required attributes,
//! lengths, enums, the `Types` taxonomy), and the inputs of `BatchUpdateFindings`.
//!
//! Messages follow the style of AWS's JSON-schema errors ("Finding does not adhere to Amazon
//! Finding Format. data.Title should NOT be longer than 256 characters").

use serde_json::{Map, Value};

pub(crate) use super::asff_check::parse_time;
use super::asff_check::{Ctx, each_object};
use super::asff_objects;
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
    for (field, at, statuses) in [
        ("Compliance", "data.Compliance", COMPLIANCE_STATUSES),
        ("Workflow", "data.Workflow", WORKFLOW_STATUSES),
    ] {
        if let Some(x) = obj.get(field) {
            let x = x
                .as_object()
                .ok_or_else(|| format!("{at} should be object"))?;
            Ctx { obj: x, at }.optional_enum("Status", statuses)?;
        }
    }
    if let Some(n) = obj.get("Note") {
        note(n, "data.Note", true)?;
    }
    if let Some(r) = obj.get("RelatedFindings") {
        related_findings(r, "data.RelatedFindings")?;
    }
    if let Some(list) = obj.get("Vulnerabilities").filter(|l| !l.is_null()) {
        asff_objects::vulnerabilities(list, "data.Vulnerabilities")?;
    }
    if let Some(p) = v.child("PatchSummary", "data.PatchSummary")? {
        asff_objects::patch_summary(&p)?;
    }
    if let Some(r) = v.child("Remediation", "data.Remediation")? {
        asff_objects::remediation(&r)?;
    }
    // Last, so that the rules above name a missing or short field first.
    asff_objects::non_empty_strings(f, "data")
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
            let at = format!("{at}.Tags");
            string_map(tags, &at, 50, 128, 256)?;
            asff_objects::resource_tags(tags, &at)?;
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
    each_object(array(r, at, 10)?, at, |v| {
        v.required_str("ProductArn", 12, 2048)?;
        v.required_str("Id", 1, 512).map(|_| ())
    })
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

    /// The message of `f`'s failure, or a panic naming `why` when it is accepted.
    fn refusal(f: &Value, why: &str) -> String {
        finding(f).expect_err(why)
    }

    /// Source: Security Hub API reference, every ASFF string shape (e.g. `Resource`, `Note`,
    /// `PatchSummary`): "Pattern: .*\S.*" (the model's `NonEmptyString`), map values included
    /// (`FieldMap`).
    #[test]
    fn every_string_and_map_value_is_a_non_empty_string() {
        let mut cases: Vec<(&str, Value)> = vec![
            ("Title", json!("   ")),
            ("Description", json!("\t\n")),
            ("ProductFields", json!({"k": " "})),
            ("ProductFields", json!({" ": "v"})),
            ("UserDefinedFields", json!({"owner": ""})),
        ];
        cases.push((
            "Resources",
            json!([{"Type": "AwsEc2Instance", "Id": "i-1", "Tags": {"Name": ""}}]),
        ));
        cases.push((
            "Resources",
            json!([{"Type": "Other", "Id": "i-1", "Details": {"Other": {"a": " "}}}]),
        ));
        for (key, value) in cases {
            let mut f = good();
            f[key] = value.clone();
            let err = refusal(&f, &format!("{key}: {value}"));
            assert!(err.contains(".*\\S.*"), "{key}: {err}");
        }
        let mut f = good();
        f["ProductFields"] = json!({"k": " v "});
        finding(&f).unwrap();
    }

    /// Source: Security Hub user guide, "Tagging Security Hub resources": tag keys and values
    /// may hold "letters, numbers, spaces, or the following symbols: _ . : / = + - @". The rule
    /// names keys and values alike, so both are held to it.
    #[test]
    fn resource_tags_keep_to_the_tag_character_set() {
        let tagged = |tags: Value| {
            let mut f = good();
            f["Resources"] = json!([{"Type": "AwsEc2Instance", "Id": "i-1", "Tags": tags}]);
            f
        };
        for bad in [
            json!({"Owner": "R&D (ops)"}),
            json!({"Cost Center (EU)": "42"}),
            json!({"Name": "web#1"}),
            json!({"Note": "a, b"}),
        ] {
            let err = refusal(&tagged(bad.clone()), &bad.to_string());
            assert!(err.contains("Resources[0].Tags"), "{err}");
            assert!(err.contains("should match pattern"), "{err}");
        }
        finding(&tagged(json!({
            "aws:cloudformation:stack-name": "web-1 prod/eu @x+y=z_1.2",
            "Équipe": "café 3",
        })))
        .unwrap();
    }

    /// Source: aws-sdk-securityhub `types::Vulnerability` (`id`: "This field is required"),
    /// `types::VulnerabilityVendor` (`name`: required), `types::VulnerabilityFixAvailable`
    /// (`YES | NO | PARTIAL`), `types::VulnerabilityExploitAvailable` (`YES | NO`).
    #[test]
    fn vulnerabilities_need_an_id_a_vendor_name_and_known_enums() {
        let ok =
            json!({"Id": "CVE-2024-1", "Vendor": {"Name": "Microsoft"}, "FixAvailable": "YES"});
        let mut f = good();
        f["Vulnerabilities"] = json!([ok]);
        finding(&f).unwrap();
        for (bad, needle) in [
            (json!({"Vendor": {"Name": "x"}}), "'Id'"),
            (
                json!({"Id": "CVE-2024-1", "Vendor": {"Url": "https://x"}}),
                "'Name'",
            ),
            (
                json!({"Id": "CVE-2024-1", "FixAvailable": "MAYBE"}),
                "FixAvailable",
            ),
            (
                json!({"Id": "CVE-2024-1", "ExploitAvailable": "PARTIAL"}),
                "ExploitAvailable",
            ),
            (json!({"Id": " "}), "Vulnerabilities[1].Id"),
        ] {
            let mut f = good();
            f["Vulnerabilities"] = json!([ok, bad]);
            let err = refusal(&f, needle);
            assert!(err.contains("Vulnerabilities[1]"), "{err}");
            assert!(err.contains(needle), "{err}");
        }
    }

    /// Source: aws-sdk-securityhub `types::PatchSummary`: `Id` required, "Minimum length of 1.
    /// Maximum length of 256"; each count "an integer from 0 to 100000".
    #[test]
    fn patch_summary_id_and_counts() {
        let mut f = good();
        f["PatchSummary"] = json!({"Id": "pb-1", "MissingCount": 100000, "InstalledCount": 0});
        finding(&f).unwrap();
        for (bad, needle) in [
            (json!({"MissingCount": 1}), "'Id'"),
            (json!({"Id": "x".repeat(257)}), "PatchSummary.Id"),
            (json!({"Id": "pb-1", "FailedCount": -1}), "FailedCount"),
            (
                json!({"Id": "pb-1", "InstalledCount": 100001}),
                "InstalledCount",
            ),
            (
                json!({"Id": "pb-1", "OperationStartTime": "soon"}),
                "OperationStartTime",
            ),
        ] {
            let mut f = good();
            f["PatchSummary"] = bad;
            let err = refusal(&f, needle);
            assert!(err.contains(needle), "{err}");
        }
    }

    /// Source: aws-sdk-securityhub `types::Recommendation`, `text`: "Maximum of 512 length".
    #[test]
    fn recommendation_text_at_most_512_characters() {
        let mut f = good();
        f["Remediation"] = json!({"Recommendation": {"Text": "x".repeat(512)}});
        finding(&f).unwrap();
        f["Remediation"] = json!({"Recommendation": {"Text": "x".repeat(513)}});
        assert!(refusal(&f, "513").contains("Recommendation.Text"));
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
