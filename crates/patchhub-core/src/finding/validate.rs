//! [`Finding::validate`]: every ASFF rule patchhub knows of, all violations reported at once.

use std::collections::BTreeMap;
use std::fmt;

use chrono::DateTime;

use super::parts::{PatchSummary, Resource};
use super::record::Finding;
use crate::limits;
use crate::text;

/// One broken ASFF rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitViolation {
    /// JSON path of the field, e.g. `Resources[0].Region`.
    pub field: String,
    /// The rule, e.g. `length 17 exceeds 16`.
    pub rule: String,
}

impl fmt::Display for LimitViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl std::error::Error for LimitViolation {}

impl Finding {
    /// Checks every ASFF rule patchhub knows of (see [`crate::limits`]); returns all
    /// violations, not just the first.
    pub fn validate(&self) -> Result<(), Vec<LimitViolation>> {
        let mut v = Violations(Vec::new());

        if self.schema_version != limits::SCHEMA_VERSION {
            v.bad(
                "SchemaVersion",
                format!("must be {}", limits::SCHEMA_VERSION),
            );
        }
        v.len_in("Id", &self.id, 1, limits::MAX_ID);
        v.len_in(
            "ProductArn",
            &self.product_arn,
            limits::MIN_PRODUCT_ARN,
            limits::MAX_PRODUCT_ARN,
        );
        v.len_in(
            "GeneratorId",
            &self.generator_id,
            1,
            limits::MAX_GENERATOR_ID,
        );
        v.len_in("Title", &self.title, 1, limits::MAX_TITLE);
        v.len_in("Description", &self.description, 1, limits::MAX_DESCRIPTION);
        if let Some(s) = &self.product_name {
            v.len_in("ProductName", s, 1, limits::MAX_PRODUCT_NAME);
        }
        if let Some(s) = &self.company_name {
            v.len_in("CompanyName", s, 1, limits::MAX_PRODUCT_NAME);
        }
        if let Some(s) = &self.region {
            v.len_in("Region", s, 1, limits::MAX_REGION);
        }
        if let Some(r) = &self.remediation
            && let Some(t) = &r.recommendation.text
        {
            v.len_in(
                "Remediation.Recommendation.Text",
                t,
                1,
                limits::MAX_RECOMMENDATION_TEXT,
            );
        }
        if let Some(p) = &self.patch_summary {
            v.check_patch_summary(p);
        }
        if self.aws_account_id.len() != 12
            || !self.aws_account_id.bytes().all(|b| b.is_ascii_digit())
        {
            v.bad("AwsAccountId", "must be exactly 12 digits".into());
        }

        v.check_types("Types", &self.types);
        if let Some(fpf) = &self.finding_provider_fields {
            v.check_types("FindingProviderFields.Types", &fpf.types);
        }

        let s = &self.severity;
        match (s.label, s.normalized) {
            (None, None) => v.bad("Severity", "needs Label or Normalized".into()),
            (Some(l), Some(n)) => {
                let (lo, hi) = l.normalized_range();
                if n < lo || n > hi {
                    v.bad(
                        "Severity.Normalized",
                        format!("{n} does not match label {} ({lo}-{hi})", l.as_str()),
                    );
                }
            }
            (None, Some(n)) if !(0..=100).contains(&n) => {
                v.bad("Severity.Normalized", format!("{n} not in 0..=100"));
            }
            _ => {}
        }

        v.check_map(
            "ProductFields",
            &self.product_fields,
            (
                limits::MAX_PRODUCT_FIELDS,
                limits::MAX_PRODUCT_FIELD_KEY,
                limits::MAX_PRODUCT_FIELD_VALUE,
            ),
        );

        if self.resources.is_empty() || self.resources.len() > limits::MAX_RESOURCES {
            v.bad(
                "Resources",
                format!(
                    "{} entries not in 1..={}",
                    self.resources.len(),
                    limits::MAX_RESOURCES
                ),
            );
        }
        for (i, r) in self.resources.iter().enumerate() {
            v.check_resource(&format!("Resources[{i}]"), r);
        }

        for (i, vuln) in self.vulnerabilities.iter().enumerate() {
            if vuln.id.is_empty() {
                v.bad(
                    &format!("Vulnerabilities[{i}].Id"),
                    "must not be empty".into(),
                );
            }
            if let Some(vendor) = &vuln.vendor
                && vendor.name.is_empty()
            {
                v.bad(
                    &format!("Vulnerabilities[{i}].Vendor.Name"),
                    "must not be empty".into(),
                );
            }
        }

        if self.created_at > self.updated_at {
            v.bad("CreatedAt", "is later than UpdatedAt".into());
        }
        if let (Some(first), Some(last)) = (self.first_observed_at, self.last_observed_at)
            && first > last
        {
            v.bad("FirstObservedAt", "is later than LastObservedAt".into());
        }

        match serde_json::to_vec(self) {
            Ok(b) if b.len() > limits::MAX_FINDING_BYTES => v.bad(
                "(finding)",
                format!(
                    "serialized size {} exceeds {} bytes",
                    b.len(),
                    limits::MAX_FINDING_BYTES
                ),
            ),
            Ok(_) => {}
            Err(e) => v.bad("(finding)", format!("does not serialize: {e}")),
        }

        if v.0.is_empty() { Ok(()) } else { Err(v.0) }
    }
}

/// Collects violations so `validate` can report them all.
struct Violations(Vec<LimitViolation>);

impl Violations {
    fn bad(&mut self, field: &str, rule: String) {
        self.0.push(LimitViolation {
            field: field.to_string(),
            rule,
        });
    }

    fn len_in(&mut self, field: &str, s: &str, min: usize, max: usize) {
        let n = text::len(s);
        if n < min || n > max {
            self.bad(field, format!("length {n} not in {min}..={max}"));
        }
    }

    fn check_patch_summary(&mut self, p: &PatchSummary) {
        self.len_in(
            "PatchSummary.Id",
            &p.id,
            1,
            limits::MAX_PATCH_SUMMARY_STRING,
        );
        for (f, s) in [
            ("PatchSummary.RebootOption", &p.reboot_option),
            ("PatchSummary.Operation", &p.operation),
        ] {
            if let Some(s) = s {
                self.len_in(f, s, 1, limits::MAX_PATCH_SUMMARY_STRING);
            }
        }
        for (f, s) in [
            ("PatchSummary.OperationStartTime", &p.operation_start_time),
            ("PatchSummary.OperationEndTime", &p.operation_end_time),
        ] {
            if let Some(s) = s
                && DateTime::parse_from_rfc3339(s).is_err()
            {
                self.bad(f, "not an RFC 3339 timestamp".into());
            }
        }
        let counts = [
            p.installed_count,
            p.missing_count,
            p.failed_count,
            p.installed_other_count,
            p.installed_rejected_count,
            p.installed_pending_reboot,
        ];
        if counts
            .iter()
            .flatten()
            .any(|c| !(0..=limits::MAX_PATCH_COUNT).contains(c))
        {
            self.bad(
                "PatchSummary",
                format!("counts must be 0 to {}", limits::MAX_PATCH_COUNT),
            );
        }
    }

    fn check_resource(&mut self, p: &str, r: &Resource) {
        self.len_in(
            &format!("{p}.Type"),
            &r.r#type,
            1,
            limits::MAX_RESOURCE_TYPE,
        );
        if r.id.is_empty() {
            self.bad(&format!("{p}.Id"), "must not be empty".into());
        }
        if let Some(part) = &r.partition
            && !limits::PARTITIONS.contains(&part.as_str())
        {
            self.bad(
                &format!("{p}.Partition"),
                format!("{part:?} is not a known partition"),
            );
        }
        if let Some(reg) = &r.region {
            self.len_in(&format!("{p}.Region"), reg, 1, limits::MAX_REGION);
        }
        self.check_map(
            &format!("{p}.Tags"),
            &r.tags,
            (
                limits::MAX_RESOURCE_TAGS,
                limits::MAX_TAG_KEY,
                limits::MAX_TAG_VALUE,
            ),
        );
        for (k, val) in &r.tags {
            if !k.chars().chain(val.chars()).all(limits::tag_char_allowed) {
                self.bad(
                    &format!("{p}.Tags.{}", text::truncate(k, 64)),
                    "holds characters outside letters, numbers, spaces and _ . : / = + - @".into(),
                );
            }
        }
        if let Some(d) = &r.details {
            self.check_map(
                &format!("{p}.Details.Other"),
                &d.other,
                (
                    limits::MAX_OTHER_DETAILS,
                    limits::MAX_OTHER_KEY,
                    limits::MAX_OTHER_VALUE,
                ),
            );
        }
    }

    fn check_types(&mut self, field: &str, types: &[String]) {
        if types.len() > limits::MAX_TYPES {
            self.bad(
                field,
                format!("{} entries exceed {}", types.len(), limits::MAX_TYPES),
            );
        }
        for (i, t) in types.iter().enumerate() {
            let parts: Vec<&str> = t.split('/').collect();
            let ok = (2..=3).contains(&parts.len())
                && parts.iter().all(|p| !p.is_empty())
                && limits::TYPE_NAMESPACES.contains(&parts[0]);
            if !ok {
                self.bad(
                    &format!("{field}[{i}]"),
                    format!("{t:?} is not namespace/category[/classifier] with a known namespace"),
                );
            }
        }
    }

    /// `(max pairs, max key length, max value length)`; keys and values must be non-empty and
    /// not blank (the model's `NonEmptyString`, pattern `.*\S.*`).
    fn check_map(
        &mut self,
        field: &str,
        map: &BTreeMap<String, String>,
        max: (usize, usize, usize),
    ) {
        let (max_pairs, max_key, max_value) = max;
        if map.len() > max_pairs {
            self.bad(field, format!("{} pairs exceed {max_pairs}", map.len()));
        }
        for (k, val) in map {
            let (kn, vn) = (text::len(k), text::len(val));
            let path = format!("{field}.{}", text::truncate(k, 64));
            if kn == 0 || kn > max_key {
                self.bad(&path, format!("key length {kn} not in 1..={max_key}"));
            }
            if vn == 0 || vn > max_value {
                self.bad(&path, format!("value length {vn} not in 1..={max_value}"));
            }
            if [k, val].iter().any(|s| s.chars().all(char::is_whitespace)) {
                self.bad(&path, "key or value is blank".into());
            }
        }
    }
}
