//! ASFF limits from the Security Hub service model and user guide: the `AwsSecurityFinding`
//! shape in botocore's `data/securityhub/2018-10-26/service-2.json`, the ASFF pages
//! (<https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format-syntax.html>,
//! <https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html>) and the
//! `BatchImportFindings` guidelines (100 findings, 240 KB each, 6 MB a call:
//! <https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-batchimportfindings.html>).
//!
//! [`crate::Finding::validate`] checks every one of them; the mapping stays inside them for
//! any input. Lengths count Unicode scalar values, as Smithy does. Values marked
//! "unverified" are conservative readings of the AWS tag rules and ASFF docs.

/// The only ASFF schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `Id` length (1..=512).
pub const MAX_ID: usize = 512;
/// `GeneratorId` length (1..=512).
pub const MAX_GENERATOR_ID: usize = 512;
/// `ProductArn` length (12..=2048).
pub const MIN_PRODUCT_ARN: usize = 12;
/// `ProductArn` length (12..=2048).
pub const MAX_PRODUCT_ARN: usize = 2048;
/// `ProductName` / `CompanyName` length (1..=128).
pub const MAX_PRODUCT_NAME: usize = 128;
/// `Region` and `Resources[].Region` length (1..=16).
pub const MAX_REGION: usize = 16;
/// `Title` length (1..=256).
pub const MAX_TITLE: usize = 256;
/// `Description` length (1..=1024).
pub const MAX_DESCRIPTION: usize = 1024;
/// `Remediation.Recommendation.Text` length (1..=512).
pub const MAX_RECOMMENDATION_TEXT: usize = 512;
/// `Types` entries.
pub const MAX_TYPES: usize = 50;
/// `ProductFields` pairs.
pub const MAX_PRODUCT_FIELDS: usize = 50;
/// `ProductFields` key length.
pub const MAX_PRODUCT_FIELD_KEY: usize = 128;
/// `ProductFields` value length.
pub const MAX_PRODUCT_FIELD_VALUE: usize = 2048;
/// `Resources` entries (1..=32).
pub const MAX_RESOURCES: usize = 32;
/// `Resources[].Type` length (1..=256).
pub const MAX_RESOURCE_TYPE: usize = 256;
/// `Resources[].Tags` pairs (AWS tag rules; unverified for ASFF).
pub const MAX_RESOURCE_TAGS: usize = 50;
/// Tag key length (AWS tag rules).
pub const MAX_TAG_KEY: usize = 128;
/// Tag value length (AWS tag rules).
pub const MAX_TAG_VALUE: usize = 256;

/// Whether `c` may appear in a `Resources[].Tags` key or value: letters, numbers, spaces and
/// `_ . : / = + - @` (Security Hub user guide, "Tagging Security Hub resources": "The characters
/// can be letters, numbers, spaces, or the following symbols: _ . : / = + - @").
pub fn tag_char_allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}
/// `Resources[].Details.Other` pairs (unverified).
pub const MAX_OTHER_DETAILS: usize = 50;
/// `Resources[].Details.Other` key length (unverified).
pub const MAX_OTHER_KEY: usize = 128;
/// `Resources[].Details.Other` value length (unverified).
pub const MAX_OTHER_VALUE: usize = 1024;
/// `PatchSummary` string fields (`Id`, `RebootOption`, `Operation`) length.
pub const MAX_PATCH_SUMMARY_STRING: usize = 256;
/// `PatchSummary` counts: "an integer from 0 to 100000" (aws-sdk-securityhub
/// `types::PatchSummary`).
pub const MAX_PATCH_COUNT: i32 = 100_000;
/// Serialized size of one finding in bytes (240 KB).
pub const MAX_FINDING_BYTES: usize = 240 * 1024;
/// Findings per `BatchImportFindings` call.
pub const MAX_BATCH_FINDINGS: usize = 100;
/// Serialized size of one `BatchImportFindings` call in bytes (6 MB).
pub const MAX_BATCH_BYTES: usize = 6 * 1024 * 1024;
/// Valid first segments of a `Types` entry.
pub const TYPE_NAMESPACES: [&str; 5] = [
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];
/// Values `Resources[].Partition` accepts.
pub const PARTITIONS: [&str; 5] = ["aws", "aws-cn", "aws-us-gov", "aws-us-iso", "aws-us-iso-b"];

/// patchhub's own cap on `Vulnerabilities[]` per finding: enough for any real patch, and it
/// keeps a finding far below 240 KB. The overflow is counted in ProductFields.
pub const MAX_VULNERABILITIES: usize = 100;
/// Size the mapping aims below, leaving room for what a later step (resolve) adds.
pub(crate) const SOFT_FINDING_BYTES: usize = 200 * 1024;
