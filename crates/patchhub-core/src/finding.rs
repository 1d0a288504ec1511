//! The ASFF finding as patchhub writes and reads it.
//!
//! [`Finding`]'s serde JSON *is* the ASFF JSON for the fields patchhub uses (PascalCase,
//! absent options omitted), so the AWS crate can convert through JSON and awsim can store
//! it verbatim. Identity and bookkeeping live in `ProductFields` under `patchhub/` keys.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::limits;
use crate::text;

/// Prefix of every patchhub `GeneratorId`.
pub const GENERATOR_PREFIX: &str = "patchhub/";
/// `GeneratorId` of per-(node, patch) findings.
pub const GENERATOR_PATCH: &str = "patchhub/patch";
/// `GeneratorId` of per-node roll-up findings.
pub const GENERATOR_ROLLUP: &str = "patchhub/node-rollup";
/// `GeneratorId` of stale-scan findings.
pub const GENERATOR_STALE: &str = "patchhub/stale-scan";

/// `Types` entry of every patchhub finding.
pub const TYPE_PATCH_MANAGEMENT: &str = "Software and Configuration Checks/Patch Management";
/// `Types` entry added when a finding lists CVEs.
pub const TYPE_CVE: &str = "Software and Configuration Checks/Vulnerabilities/CVE";

/// `ProductName` patchhub sets.
pub const PRODUCT_NAME: &str = "patchhub";
/// `CompanyName` patchhub sets.
pub const COMPANY_NAME: &str = "patchhub";

/// ProductFields keys. Security Hub adds its own under `aws/`; patchhub's are all `patchhub/`.
pub mod fields {
    /// `patch`, `rollup` or `stale-scan`.
    pub const KIND: &str = "patchhub/Kind";
    /// The managed node id (`i-…`, `mi-…`): the planner's scope key.
    pub const NODE_ID: &str = "patchhub/NodeId";
    /// KB id or package name.
    pub const PATCH_ID: &str = "patchhub/PatchId";
    /// Patch title.
    pub const PATCH_TITLE: &str = "patchhub/PatchTitle";
    /// Patch classification.
    pub const CLASSIFICATION: &str = "patchhub/Classification";
    /// Patch state, SSM spelling (`INSTALLED_PENDING_REBOOT`, ...).
    pub const PATCH_STATE: &str = "patchhub/PatchState";
    /// Effective SSM severity used for rating.
    pub const SEVERITY: &str = "patchhub/Severity";
    /// The vendor's own severity.
    pub const VENDOR_SEVERITY: &str = "patchhub/VendorSeverity";
    /// When the patch was installed (installed states).
    pub const INSTALLED_TIME: &str = "patchhub/InstalledTime";
    /// Patch baseline id.
    pub const BASELINE_ID: &str = "patchhub/BaselineId";
    /// Patch group.
    pub const PATCH_GROUP: &str = "patchhub/PatchGroup";
    /// Execution (command) id of the operation behind the data when the finding was last
    /// imported. Bookkeeping: not part of the fingerprint.
    pub const EXECUTION_ID: &str = "patchhub/ExecutionId";
    /// End of that operation (RFC 3339): the age of the data the finding was last imported
    /// from. The planner compares it with the node's current scan so older data never
    /// resolves or overwrites newer findings. Bookkeeping: not part of the fingerprint.
    pub const SCAN_TIME: &str = "patchhub/ScanTime";
    /// `Scan` or `Install`. Bookkeeping: not part of the fingerprint.
    pub const OPERATION: &str = "patchhub/Operation";
    /// [`crate::FindingPolicy::fingerprint`] (roll-up only).
    pub const POLICY_HASH: &str = "patchhub/PolicyHash";
    /// `true`/`false`: the node's scan is stale (roll-up, stale-scan).
    pub const STALE: &str = "patchhub/Stale";
    /// Comma-separated [`crate::policy::StaleReason`]s (stale-scan).
    pub const STALE_REASONS: &str = "patchhub/StaleReasons";
    /// Agent ping status (stale-scan).
    pub const PING_STATUS: &str = "patchhub/PingStatus";
    /// Why the node gets no patch findings (roll-up), e.g. `tag:Env=dev`.
    pub const EXCLUDED: &str = "patchhub/Excluded";
    /// Baseline treats available security updates as compliant (roll-up).
    pub const ASU_COMPLIANT: &str = "patchhub/AvailableSecurityUpdatesCompliant";
    /// Number of distinct valid CVE ids the patch lists.
    pub const CVE_COUNT: &str = "patchhub/CveCount";
    /// CVE ids left out of `Vulnerabilities[]` to stay within limits.
    pub const CVE_OVERFLOW: &str = "patchhub/CveOverflow";
    /// Why the planner resolved the finding.
    pub const RESOLUTION: &str = "patchhub/Resolution";
    /// Content fingerprint, see [`crate::Finding::compute_fingerprint`].
    pub const FINGERPRINT: &str = "patchhub/Fingerprint";
}

/// Which of patchhub's finding kinds a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// One non-compliant patch on one node.
    Patch,
    /// The node's overall patch compliance.
    Rollup,
    /// The node stopped reporting patch state.
    StaleScan,
}

impl FindingKind {
    /// ProductFields spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Patch => "patch",
            FindingKind::Rollup => "rollup",
            FindingKind::StaleScan => "stale-scan",
        }
    }

    /// The kind's `GeneratorId`.
    pub fn generator_id(self) -> &'static str {
        match self {
            FindingKind::Patch => GENERATOR_PATCH,
            FindingKind::Rollup => GENERATOR_ROLLUP,
            FindingKind::StaleScan => GENERATOR_STALE,
        }
    }
}

/// ASFF `Severity.Label`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeverityLabel {
    /// Normalized 0.
    Informational,
    /// Normalized 1-39.
    Low,
    /// Normalized 40-69.
    Medium,
    /// Normalized 70-89.
    High,
    /// Normalized 90-100.
    Critical,
}

impl SeverityLabel {
    /// The Normalized value Security Hub itself derives from a label.
    pub fn normalized(self) -> i32 {
        match self {
            SeverityLabel::Informational => 0,
            SeverityLabel::Low => 1,
            SeverityLabel::Medium => 40,
            SeverityLabel::High => 70,
            SeverityLabel::Critical => 90,
        }
    }

    /// The inclusive Normalized range that matches this label.
    pub fn normalized_range(self) -> (i32, i32) {
        match self {
            SeverityLabel::Informational => (0, 0),
            SeverityLabel::Low => (1, 39),
            SeverityLabel::Medium => (40, 69),
            SeverityLabel::High => (70, 89),
            SeverityLabel::Critical => (90, 100),
        }
    }

    /// ASFF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLabel::Informational => "INFORMATIONAL",
            SeverityLabel::Low => "LOW",
            SeverityLabel::Medium => "MEDIUM",
            SeverityLabel::High => "HIGH",
            SeverityLabel::Critical => "CRITICAL",
        }
    }
}

impl From<crate::model::Severity> for SeverityLabel {
    /// SSM severity to ASFF label; `UNSPECIFIED` becomes `INFORMATIONAL`.
    fn from(s: crate::model::Severity) -> Self {
        use crate::model::Severity as S;
        match s {
            S::Critical => SeverityLabel::Critical,
            S::High => SeverityLabel::High,
            S::Medium => SeverityLabel::Medium,
            S::Low => SeverityLabel::Low,
            S::Informational | S::Unspecified => SeverityLabel::Informational,
        }
    }
}

/// ASFF `Compliance.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComplianceStatus {
    /// Compliant / resolved.
    Passed,
    /// Non-compliant.
    Failed,
    /// State unknown (stale scan).
    Warning,
    /// Check could not run.
    NotAvailable,
}

/// ASFF `RecordState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    /// Live.
    #[default]
    Active,
    /// Resolved or gone; hidden by default in the console.
    Archived,
}

/// ASFF `Vulnerabilities[].FixAvailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FixAvailable {
    /// A fix exists.
    Yes,
    /// No fix.
    No,
    /// Some packages have a fix.
    Partial,
}

/// ASFF `Severity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingSeverity {
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<SeverityLabel>,
    /// 0-100, consistent with the label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalized: Option<i32>,
    /// The provider's own severity string (SSM's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
}

/// ASFF `Remediation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Remediation {
    /// The recommendation.
    pub recommendation: Recommendation,
}

/// ASFF `Remediation.Recommendation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    /// What to do (<= 512 chars).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Where to read more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// ASFF `Resources[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    /// `AwsEc2Instance` or `Other`.
    #[serde(rename = "Type")]
    pub r#type: String,
    /// The resource ARN.
    pub id: String,
    /// `aws`, `aws-cn`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Region code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Resource tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Typed details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<ResourceDetails>,
}

/// ASFF `Resources[].Details`, the parts patchhub uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceDetails {
    /// `AwsEc2Instance` details; patchhub knows none of them, kept for round-trips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_ec2_instance: Option<AwsEc2InstanceDetails>,
    /// Free-form details (node name, platform, managed node id).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, String>,
    /// SSM patch compliance summary (roll-up only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_ssm_patch_compliance: Option<AwsSsmPatchCompliance>,
}

/// ASFF `AwsEc2Instance` details: the few fields a later version may fill.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsEc2InstanceDetails {
    /// Instance type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// AMI id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

/// ASFF `AwsSsmPatchCompliance`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsSsmPatchCompliance {
    /// The patch part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<AwsSsmPatch>,
}

/// ASFF `AwsSsmPatchCompliance.Patch`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsSsmPatch {
    /// The compliance summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance_summary: Option<AwsSsmComplianceSummary>,
}

/// ASFF `AwsSsmPatchCompliance.Patch.ComplianceSummary`. Counts patchhub does not know
/// (per-severity counts other than critical) stay absent rather than guessed.
#[allow(missing_docs)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsSsmComplianceSummary {
    /// `COMPLIANT` or `NON_COMPLIANT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant_critical_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant_high_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant_medium_count: Option<i32>,
    /// `Command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliant_critical_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant_informational_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliant_informational_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant_unspecified_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliant_low_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliant_high_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliant_low_count: Option<i32>,
    /// `Patch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_baseline_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overall_severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliant_medium_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_compliant_unspecified_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_group: Option<String>,
}

/// ASFF `Compliance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Compliance {
    /// Status.
    pub status: ComplianceStatus,
}

/// ASFF `PatchSummary`. Counts are integers, times are strings, as in the service model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PatchSummary {
    /// Patch baseline id (1..=256).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub installed_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub missing_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub failed_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub installed_other_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub installed_rejected_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[allow(missing_docs)]
    pub installed_pending_reboot: Option<i32>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_start_time: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_end_time: Option<String>,
    /// `RebootIfNeeded` / `NoReboot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reboot_option: Option<String>,
    /// `SCAN` / `INSTALL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
}

/// ASFF `Vulnerabilities[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vulnerability {
    /// CVE id.
    pub id: String,
    /// Who rates it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VulnerabilityVendor>,
    /// Whether the patch fixes it (it does: that is the patch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_available: Option<FixAvailable>,
    /// NVD and similar pages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_urls: Vec<String>,
}

/// ASFF `Vulnerabilities[].Vendor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VulnerabilityVendor {
    /// Microsoft, the Linux distribution, or Unknown.
    pub name: String,
    /// The vendor's advisory page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The vendor's severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_severity: Option<String>,
}

/// ASFF `FindingProviderFields`: how providers set severity and types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingProviderFields {
    /// Severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<FindingProviderSeverity>,
    /// Types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// ASFF `FindingProviderFields.Severity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FindingProviderSeverity {
    /// Label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<SeverityLabel>,
    /// Original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<String>,
}

/// RFC 3339 with millisecond precision and `Z` out; any RFC 3339 offset in.
mod ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| D::Error::custom(format!("invalid timestamp {s:?}: {e}")))
    }

    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(serde::Deserialize)]
            struct W(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// One ASFF finding. Serialize it to get the JSON `BatchImportFindings` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    /// Always [`limits::SCHEMA_VERSION`].
    pub schema_version: String,
    /// Deterministic id, see [`crate::mapping::finding_id`].
    pub id: String,
    /// `arn:P:securityhub:R:A:product/A/default`.
    pub product_arn: String,
    /// [`PRODUCT_NAME`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// [`COMPANY_NAME`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Region of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// One of the `GENERATOR_*` constants.
    pub generator_id: String,
    /// 12 digits.
    pub aws_account_id: String,
    /// `namespace/category[/classifier]`.
    #[serde(default)]
    pub types: Vec<String>,
    /// When the problem was first seen; carried over on every update.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::opt")]
    pub first_observed_at: Option<DateTime<Utc>>,
    /// When the problem was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::opt")]
    pub last_observed_at: Option<DateTime<Utc>>,
    /// When patchhub first imported it; carried over on every update.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// When patchhub last imported it; strictly increases with every import.
    #[serde(with = "ts")]
    pub updated_at: DateTime<Utc>,
    /// Severity.
    pub severity: FindingSeverity,
    /// 1..=256 chars.
    pub title: String,
    /// 1..=1024 chars.
    pub description: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// Link to the finding in the provider (unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// `patchhub/*` bookkeeping, see [`fields`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub product_fields: BTreeMap<String, String>,
    /// The node, 1..=32 entries (patchhub uses one).
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// PASSED / FAILED / WARNING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    /// Roll-up only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_summary: Option<PatchSummary>,
    /// One per CVE, capped at [`limits::MAX_VULNERABILITIES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
    /// Severity and types as the provider sets them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_provider_fields: Option<FindingProviderFields>,
    /// ACTIVE or ARCHIVED.
    #[serde(default)]
    pub record_state: RecordState,
}

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

/// The content a fingerprint covers: the finding minus its four timestamps, the stored
/// fingerprint and Security Hub's `aws/` product fields.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FingerprintView<'a> {
    schema_version: &'a str,
    id: &'a str,
    product_arn: &'a str,
    product_name: &'a Option<String>,
    company_name: &'a Option<String>,
    region: &'a Option<String>,
    generator_id: &'a str,
    aws_account_id: &'a str,
    types: &'a [String],
    severity: &'a FindingSeverity,
    title: &'a str,
    description: &'a str,
    remediation: &'a Option<Remediation>,
    source_url: &'a Option<String>,
    product_fields: ContentFields<'a>,
    resources: &'a [Resource],
    compliance: &'a Option<Compliance>,
    patch_summary: &'a Option<PatchSummary>,
    vulnerabilities: &'a [Vulnerability],
    finding_provider_fields: &'a Option<FindingProviderFields>,
    record_state: RecordState,
}

impl<'a> FingerprintView<'a> {
    fn of(f: &'a Finding) -> Self {
        // Destructured without `..`: a new Finding field fails to compile until it is
        // either hashed here or deliberately ignored.
        let Finding {
            schema_version,
            id,
            product_arn,
            product_name,
            company_name,
            region,
            generator_id,
            aws_account_id,
            types,
            first_observed_at: _,
            last_observed_at: _,
            created_at: _,
            updated_at: _,
            severity,
            title,
            description,
            remediation,
            source_url,
            product_fields,
            resources,
            compliance,
            patch_summary,
            vulnerabilities,
            finding_provider_fields,
            record_state,
        } = f;
        FingerprintView {
            schema_version,
            id,
            product_arn,
            product_name,
            company_name,
            region,
            generator_id,
            aws_account_id,
            types,
            severity,
            title,
            description,
            remediation,
            source_url,
            product_fields: ContentFields(product_fields),
            resources,
            compliance,
            patch_summary,
            vulnerabilities,
            finding_provider_fields,
            record_state: *record_state,
        }
    }
}

/// ProductFields without the fingerprint, the scan bookkeeping and Security Hub's `aws/` keys.
struct ContentFields<'a>(&'a BTreeMap<String, String>);

impl Serialize for ContentFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                // Which scan last confirmed a finding is bookkeeping, not content: a rescan
                // that changes nothing must not cost an update (the roll-up still changes,
                // through its PatchSummary operation times).
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        fields::FINGERPRINT
                            | fields::SCAN_TIME
                            | fields::EXECUTION_ID
                            | fields::OPERATION
                    ) && !k.starts_with("aws/")
                }),
        )
    }
}

impl Finding {
    /// The kind, from `ProductFields` `patchhub/Kind`, else from the `GeneratorId`.
    pub fn kind(&self) -> Option<FindingKind> {
        let by_field = self.product_fields.get(fields::KIND).and_then(|k| {
            [
                FindingKind::Patch,
                FindingKind::Rollup,
                FindingKind::StaleScan,
            ]
            .into_iter()
            .find(|c| c.as_str() == k)
        });
        by_field.or(match self.generator_id.as_str() {
            GENERATOR_PATCH => Some(FindingKind::Patch),
            GENERATOR_ROLLUP => Some(FindingKind::Rollup),
            GENERATOR_STALE => Some(FindingKind::StaleScan),
            _ => None,
        })
    }

    /// Whether a patchhub generator made it.
    pub fn is_patchhub(&self) -> bool {
        self.generator_id.starts_with(GENERATOR_PREFIX)
    }

    /// The managed node id (`patchhub/NodeId`).
    pub fn node_id(&self) -> Option<&str> {
        self.product_fields.get(fields::NODE_ID).map(String::as_str)
    }

    /// The patch id (`patchhub/PatchId`), patch findings only.
    pub fn patch_id(&self) -> Option<&str> {
        self.product_fields
            .get(fields::PATCH_ID)
            .map(String::as_str)
    }

    /// End of the patch operation the content was built from (`patchhub/ScanTime`).
    pub fn scan_time(&self) -> Option<DateTime<Utc>> {
        self.product_fields
            .get(fields::SCAN_TIME)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Execution id of that operation (`patchhub/ExecutionId`).
    pub fn execution_id(&self) -> Option<&str> {
        self.product_fields
            .get(fields::EXECUTION_ID)
            .map(String::as_str)
    }

    /// The stored content fingerprint (`patchhub/Fingerprint`), as written at import.
    pub fn fingerprint(&self) -> Option<&str> {
        self.product_fields
            .get(fields::FINGERPRINT)
            .map(String::as_str)
    }

    /// Record state is ACTIVE.
    pub fn is_active(&self) -> bool {
        self.record_state == RecordState::Active
    }

    /// SHA-256 (hex) of the finding's content: everything except `CreatedAt`, `UpdatedAt`,
    /// `FirstObservedAt`, `LastObservedAt`, the fingerprint itself, the scan bookkeeping
    /// fields (`patchhub/ScanTime`, `patchhub/ExecutionId`, `patchhub/Operation`) and the
    /// `aws/` product fields Security Hub adds on its side. Two findings with the same
    /// fingerprint say the same thing, so re-importing one would only cost an ingestion
    /// event; in particular a rescan that finds the same patch missing does not update it.
    pub fn compute_fingerprint(&self) -> String {
        self.fingerprint_and_size().0
    }

    /// The fingerprint plus an upper bound of the serialized size, from one serialization
    /// of a borrowed view (no copy of the finding).
    pub(crate) fn fingerprint_and_size(&self) -> (String, usize) {
        // One buffer and one hash update beat hundreds of tiny writes into the hasher.
        // Serializing plain data into a Vec cannot fail.
        let bytes = serde_json::to_vec(&FingerprintView::of(self)).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(b"patchhub-finding-v1\n");
        h.update(&bytes);
        // The real finding adds the fingerprint entry (~100 bytes) and the four timestamps
        // (~40 bytes each, unless a year has more than four digits).
        (hex::encode(h.finalize()), bytes.len() + 512)
    }

    /// Stores [`Finding::compute_fingerprint`] in `patchhub/Fingerprint`.
    pub fn seal(&mut self) {
        let fp = self.compute_fingerprint();
        self.product_fields
            .insert(fields::FINGERPRINT.to_string(), fp);
    }

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
        if counts.iter().flatten().any(|c| *c < 0) {
            self.bad("PatchSummary", "counts must not be negative".into());
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

    /// `(max pairs, max key length, max value length)`; keys and values must be non-empty.
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
        }
    }
}
