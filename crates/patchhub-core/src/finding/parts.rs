//! The ASFF objects a [`Finding`](super::Finding) is made of, as the Security Hub service model
//! names them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// Requirements the finding relates to (1..=32 entries in the service model); patchhub
    /// names the deadline a per-patch finding is held to (see [`crate::deadline`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_requirements: Vec<String>,
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
