//! The ASFF value rules beyond lengths: every string and map value a `NonEmptyString`, the
//! character set of resource tags, and the rules of the sub-objects a patch finding carries
//! (`Vulnerabilities`, `PatchSummary`, `Remediation`).

use serde_json::Value;

use super::asff_check::{Ctx, each_object};

/// The pattern of the model's `NonEmptyString`, which every ASFF string and map value is
/// (Security Hub API reference, e.g. `Resource`: "Pattern: .*\S.*"; aws-sdk-securityhub
/// shapes). awsim reads it as "holds a character that is not white space".
const NON_EMPTY: &str = ".*\\S.*";

/// Checks that every string, and every key of a map, in `v` (at JSON path `at`) is a
/// `NonEmptyString`.
pub(crate) fn non_empty_strings(v: &Value, at: &str) -> Result<(), String> {
    let blank = |s: &str| s.chars().all(char::is_whitespace);
    match v {
        Value::String(s) if blank(s) => Err(format!("{at} should match pattern \"{NON_EMPTY}\"")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| non_empty_strings(item, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().try_for_each(|(k, item)| {
            if blank(k) {
                return Err(format!(
                    "{at} property name '{k}' should match pattern \"{NON_EMPTY}\""
                ));
            }
            non_empty_strings(item, &format!("{at}.{k}"))
        }),
        _ => Ok(()),
    }
}

/// Whether `c` may appear in a resource tag key or value: letters, numbers, spaces and
/// `_ . : / = + - @` (Security Hub user guide, "Tagging Security Hub resources": "The characters
/// can be letters, numbers, spaces, or the following symbols: _ . : / = + - @"; the ASFF
/// `Resources[].Tags` follow AWS's tag rules). The rule names keys and values alike.
pub(crate) fn tag_char_allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// The pattern quoted in messages about a tag that breaks [`tag_char_allowed`].
const TAG_PATTERN: &str = "^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$";

/// `Resources[i].Tags`: keys and values of the allowed characters (the lengths and count are
/// checked with the other string maps).
pub(crate) fn resource_tags(tags: &Value, at: &str) -> Result<(), String> {
    let Some(map) = tags.as_object() else {
        return Err(format!("{at} should be object"));
    };
    for (k, v) in map {
        if !k.chars().all(tag_char_allowed) {
            return Err(format!(
                "{at} property name '{k}' should match pattern \"{TAG_PATTERN}\""
            ));
        }
        if let Some(s) = v.as_str()
            && !s.chars().all(tag_char_allowed)
        {
            return Err(format!(
                "{at}['{k}'] should match pattern \"{TAG_PATTERN}\""
            ));
        }
    }
    Ok(())
}

/// `Vulnerabilities[].FixAvailable` (aws-sdk-securityhub `types::VulnerabilityFixAvailable`).
const FIX_AVAILABLE: &[&str] = &["YES", "NO", "PARTIAL"];
/// `Vulnerabilities[].ExploitAvailable` (aws-sdk-securityhub `types::VulnerabilityExploitAvailable`).
const EXPLOIT_AVAILABLE: &[&str] = &["YES", "NO"];
/// `PatchSummary` counts: "an integer from 0 to 100000" (aws-sdk-securityhub
/// `types::PatchSummary`).
const MAX_PATCH_COUNT: i64 = 100_000;
const PATCH_COUNTS: &[&str] = &[
    "InstalledCount",
    "MissingCount",
    "FailedCount",
    "InstalledOtherCount",
    "InstalledRejectedCount",
    "InstalledPendingReboot",
];

/// `Vulnerabilities[]`: each with its required `Id`, a `Vendor` with its required `Name`, and
/// the `FixAvailable` / `ExploitAvailable` enums (aws-sdk-securityhub `types::Vulnerability`
/// and `types::VulnerabilityVendor`: "This field is required" on `id` and `name`).
pub(crate) fn vulnerabilities(list: &Value, at: &str) -> Result<(), String> {
    let items = list
        .as_array()
        .ok_or_else(|| format!("{at} should be array"))?;
    each_object(items, at, |v| {
        v.required_str("Id", 1, usize::MAX)?;
        v.optional_enum("FixAvailable", FIX_AVAILABLE)?;
        v.optional_enum("ExploitAvailable", EXPLOIT_AVAILABLE)?;
        let vendor_at = format!("{}.Vendor", v.at);
        if let Some(vendor) = v.child("Vendor", &vendor_at)? {
            vendor.required_str("Name", 1, usize::MAX)?;
            vendor.optional_time("VendorCreatedAt")?;
            vendor.optional_time("VendorUpdatedAt")?;
        }
        Ok(())
    })
}

/// `PatchSummary`: `Id` required, 1 to 256 characters; counts 0 to 100000; the operation's
/// times are timestamps; `RebootOption` and `Operation` 1 to 256 characters
/// (aws-sdk-securityhub `types::PatchSummary`).
pub(crate) fn patch_summary(p: &Ctx) -> Result<(), String> {
    p.required_str("Id", 1, 256)?;
    for key in PATCH_COUNTS {
        p.optional_int(key, 0, MAX_PATCH_COUNT)?;
    }
    p.optional_time("OperationStartTime")?;
    p.optional_time("OperationEndTime")?;
    p.optional_str("RebootOption", 1, 256)?;
    p.optional_str("Operation", 1, 256)?;
    Ok(())
}

/// `Remediation.Recommendation`: `Text` at most 512 characters (aws-sdk-securityhub
/// `types::Recommendation`: "Length Constraints: Minimum of 1 length. Maximum of 512 length").
pub(crate) fn remediation(r: &Ctx) -> Result<(), String> {
    let at = format!("{}.Recommendation", r.at);
    if let Some(rec) = r.child("Recommendation", &at)? {
        rec.optional_str("Text", 1, 512)?;
        rec.optional_str("Url", 1, usize::MAX)?;
    }
    Ok(())
}
