//! The patch compliance model: managed nodes and their patches, as the SSM APIs report them.
//!
//! Plain data with public fields. The AWS crate fills them from `DescribeInstanceInformation`,
//! `DescribeInstancePatchStates`, `DescribeInstancePatches` and `ListComplianceItems`; nothing
//! here knows about SDK types. Enum spellings follow SSM (`INSTALLED_PENDING_REBOOT`,
//! `CRITICAL`, `ConnectionLost`, ...).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A string that is not one of an enum's SSM spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; expected one of {expected}")]
pub struct ParseEnumError {
    /// What was being parsed, e.g. "patch state".
    pub kind: &'static str,
    /// The rejected input.
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static str,
}

/// State of one patch on one node (`DescribeInstancePatches` `State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PatchState {
    /// Installed and approved.
    Installed,
    /// Installed although the baseline does not approve it.
    InstalledOther,
    /// Installed, but the node must reboot before it takes effect.
    InstalledPendingReboot,
    /// Installed although the baseline rejects it.
    InstalledRejected,
    /// Approved and applicable, not installed.
    Missing,
    /// Not applicable to this node.
    NotApplicable,
    /// Installation was attempted and failed.
    Failed,
    /// A security update the baseline does not approve (Windows); compliance per baseline.
    AvailableSecurityUpdate,
}

impl PatchState {
    /// Every state, in SSM's documentation order.
    pub const ALL: [PatchState; 8] = [
        PatchState::Installed,
        PatchState::InstalledOther,
        PatchState::InstalledPendingReboot,
        PatchState::InstalledRejected,
        PatchState::Missing,
        PatchState::NotApplicable,
        PatchState::Failed,
        PatchState::AvailableSecurityUpdate,
    ];

    /// The SSM spelling, e.g. `INSTALLED_PENDING_REBOOT`.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchState::Installed => "INSTALLED",
            PatchState::InstalledOther => "INSTALLED_OTHER",
            PatchState::InstalledPendingReboot => "INSTALLED_PENDING_REBOOT",
            PatchState::InstalledRejected => "INSTALLED_REJECTED",
            PatchState::Missing => "MISSING",
            PatchState::NotApplicable => "NOT_APPLICABLE",
            PatchState::Failed => "FAILED",
            PatchState::AvailableSecurityUpdate => "AVAILABLE_SECURITY_UPDATE",
        }
    }

    /// Whether a patch in this state makes the node non-compliant.
    ///
    /// `AVAILABLE_SECURITY_UPDATE` follows the baseline's
    /// `AvailableSecurityUpdatesComplianceStatus`, passed in as `available_security_updates_compliant`.
    pub fn is_non_compliant(self, available_security_updates_compliant: bool) -> bool {
        match self {
            PatchState::Missing
            | PatchState::Failed
            | PatchState::InstalledPendingReboot
            | PatchState::InstalledRejected => true,
            PatchState::AvailableSecurityUpdate => !available_security_updates_compliant,
            PatchState::Installed | PatchState::InstalledOther | PatchState::NotApplicable => false,
        }
    }

    /// Lower-case phrase for prose ("pending reboot").
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            PatchState::Installed => "installed",
            PatchState::InstalledOther => "installed (not in baseline)",
            PatchState::InstalledPendingReboot => "installed, pending reboot",
            PatchState::InstalledRejected => "installed but rejected by the baseline",
            PatchState::Missing => "missing",
            PatchState::NotApplicable => "not applicable",
            PatchState::Failed => "failed to install",
            PatchState::AvailableSecurityUpdate => "available security update",
        }
    }
}

impl fmt::Display for PatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PatchState {
    type Err = ParseEnumError;

    /// Case-insensitive SSM spelling, with or without underscores: the API model says
    /// `INSTALLED_PENDING_REBOOT`, but DescribeInstancePatches and the compliance items' details
    /// really send `InstalledPendingReboot`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let squash = |x: &str| {
            x.chars()
                .filter(|c| *c != '_')
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let t = squash(s.trim());
        PatchState::ALL
            .into_iter()
            .find(|p| squash(p.as_str()) == t)
            .ok_or_else(|| ParseEnumError {
                kind: "patch state",
                value: s.to_string(),
                expected: "INSTALLED, INSTALLED_OTHER, INSTALLED_PENDING_REBOOT, INSTALLED_REJECTED, \
                           MISSING, NOT_APPLICABLE, FAILED, AVAILABLE_SECURITY_UPDATE",
            })
    }
}

/// SSM compliance severity. `Ord` ranks `Critical` highest and `Unspecified` lowest, so
/// `severity >= policy.min_severity` reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// `CRITICAL`
    Critical,
    /// `HIGH`
    High,
    /// `MEDIUM`
    Medium,
    /// `LOW`
    Low,
    /// `INFORMATIONAL`
    Informational,
    /// `UNSPECIFIED`: SSM has no rating (common for Linux packages).
    Unspecified,
}

impl Severity {
    /// Every severity, highest first.
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Unspecified,
    ];

    /// The SSM spelling, e.g. `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
            Severity::Unspecified => "UNSPECIFIED",
        }
    }

    fn rank(self) -> u8 {
        match self {
            Severity::Unspecified => 0,
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
            Severity::High => 4,
            Severity::Critical => 5,
        }
    }

    /// Maps a vendor's own rating (MSRC, RHSA, ALAS, ...) onto the SSM scale:
    /// `Critical`->Critical, `Important`/`High`->High, `Moderate`/`Medium`->Medium,
    /// `Low`->Low, anything else (including empty) -> Unspecified. Case-insensitive.
    pub fn from_vendor(vendor_severity: &str) -> Severity {
        match vendor_severity.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "important" | "high" => Severity::High,
            "moderate" | "medium" => Severity::Medium,
            "low" => Severity::Low,
            _ => Severity::Unspecified,
        }
    }
}

impl PartialOrd for Severity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Severity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ParseEnumError;

    /// Case-insensitive SSM spelling (`critical`, `HIGH`, ...).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParseEnumError {
                kind: "severity",
                value: s.to_string(),
                expected: "CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNSPECIFIED",
            })
    }
}

/// `PlatformType` of a managed node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    /// `Windows`
    Windows,
    /// `Linux`
    Linux,
    /// `MacOS`
    MacOS,
    /// Anything SSM adds later, kept verbatim.
    Other(String),
}

impl Platform {
    /// The SSM spelling (`Windows`, `Linux`, `MacOS`, or the unknown value).
    pub fn as_str(&self) -> &str {
        match self {
            Platform::Windows => "Windows",
            Platform::Linux => "Linux",
            Platform::MacOS => "MacOS",
            Platform::Other(s) => s,
        }
    }
}

impl From<&str> for Platform {
    /// Case-insensitive; unknown values become `Other`.
    fn from(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "windows" => Platform::Windows,
            "linux" => Platform::Linux,
            "macos" => Platform::MacOS,
            _ => Platform::Other(s.to_string()),
        }
    }
}

impl FromStr for Platform {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Platform::from(s))
    }
}

/// SSM Agent connectivity (`PingStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PingStatus {
    /// `Online`
    Online,
    /// `ConnectionLost`: the agent stopped reporting.
    ConnectionLost,
    /// `Inactive`
    Inactive,
    /// Not reported, or a value SSM adds later.
    Unknown,
}

impl PingStatus {
    /// The SSM spelling; `Unknown` for `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            PingStatus::Online => "Online",
            PingStatus::ConnectionLost => "ConnectionLost",
            PingStatus::Inactive => "Inactive",
            PingStatus::Unknown => "Unknown",
        }
    }
}

impl From<&str> for PingStatus {
    /// Case-insensitive; anything unrecognised is `Unknown`.
    fn from(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "online" => PingStatus::Online,
            "connectionlost" => PingStatus::ConnectionLost,
            "inactive" => PingStatus::Inactive,
            _ => PingStatus::Unknown,
        }
    }
}

impl FromStr for PingStatus {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(PingStatus::from(s))
    }
}

/// The `AWS-RunPatchBaseline` operation that produced the node's patch state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// `Scan`: report only.
    Scan,
    /// `Install`: install, then report.
    Install,
}

impl Operation {
    /// The SSM spelling (`Scan`, `Install`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Scan => "Scan",
            Operation::Install => "Install",
        }
    }
}

impl FromStr for Operation {
    type Err = ParseEnumError;

    /// Case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scan" => Ok(Operation::Scan),
            "install" => Ok(Operation::Install),
            _ => Err(ParseEnumError {
                kind: "patch operation",
                value: s.to_string(),
                expected: "Scan, Install",
            }),
        }
    }
}

/// The last patch operation on a node (`DescribeInstancePatchStates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    /// Scan or Install.
    pub operation: Operation,
    /// `OperationStartTime`.
    pub start: DateTime<Utc>,
    /// `OperationEndTime`: when the node's patch state was last established.
    pub end: DateTime<Utc>,
    /// The command or execution id (`ExecutionSummary.ExecutionId`), if known.
    pub execution_id: Option<String>,
    /// `RebootIfNeeded` or `NoReboot`, if known.
    pub reboot_option: Option<String>,
}

/// Per-state patch counts (`DescribeInstancePatchStates`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchCounts {
    /// `InstalledCount`
    pub installed: u32,
    /// `InstalledOtherCount`
    pub installed_other: u32,
    /// `InstalledPendingRebootCount`
    pub installed_pending_reboot: u32,
    /// `InstalledRejectedCount`
    pub installed_rejected: u32,
    /// `MissingCount`
    pub missing: u32,
    /// `FailedCount`
    pub failed: u32,
    /// `NotApplicableCount`
    pub not_applicable: u32,
    /// `AvailableSecurityUpdateCount`
    pub available_security_update: u32,
    /// `CriticalNonCompliantCount`
    pub critical_non_compliant: u32,
    /// `SecurityNonCompliantCount`
    pub security_non_compliant: u32,
    /// `OtherNonCompliantCount`
    pub other_non_compliant: u32,
}

impl PatchCounts {
    /// Number of non-compliant patches, per the same rules as [`PatchState::is_non_compliant`].
    pub fn non_compliant(&self, available_security_updates_compliant: bool) -> u64 {
        let asu = if available_security_updates_compliant {
            0
        } else {
            u64::from(self.available_security_update)
        };
        u64::from(self.missing)
            + u64::from(self.failed)
            + u64::from(self.installed_pending_reboot)
            + u64::from(self.installed_rejected)
            + asu
    }
}

/// A node managed by Systems Manager: an EC2 instance (`i-…`) or a hybrid node (`mi-…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManagedNode {
    /// 12-digit account id.
    pub account_id: String,
    /// Region code, e.g. `eu-west-1`.
    pub region: String,
    /// Partition: `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// `i-…` or `mi-…`.
    pub instance_id: String,
    /// Platform type.
    pub platform: Platform,
    /// `PlatformName`, e.g. "Microsoft Windows Server 2022 Datacenter", "Amazon Linux".
    pub platform_name: String,
    /// The `Name` tag or computer name, if any.
    pub name: Option<String>,
    /// Agent connectivity.
    pub ping_status: PingStatus,
    /// Patch group, if the node has one.
    pub patch_group: Option<String>,
    /// Patch baseline id (`pb-…`), if known.
    pub baseline_id: Option<String>,
    /// The last Scan/Install; `None` when the node never reported patch state.
    pub last_operation: Option<PatchOperation>,
    /// Per-state counts from the last operation.
    pub counts: PatchCounts,
    /// Node tags (EC2 tags or SSM managed-instance tags).
    pub tags: BTreeMap<String, String>,
    /// The baseline's `AvailableSecurityUpdatesComplianceStatus` is `COMPLIANT`.
    pub available_security_updates_compliant: bool,
    /// `LastPingDateTime`: while the agent is not connected, when it last was (a time that
    /// does not move between runs, so a stale-scan finding's first observation derives from it).
    #[serde(default)]
    pub last_ping: Option<DateTime<Utc>>,
    /// `RegistrationDate` (hybrid nodes only).
    #[serde(default)]
    pub registered: Option<DateTime<Utc>>,
}

impl ManagedNode {
    /// A node with the given identity and nothing else known yet: no scan, no tags,
    /// ping status `Unknown`, platform `Other("")`.
    pub fn new(
        account_id: impl Into<String>,
        region: impl Into<String>,
        partition: impl Into<String>,
        instance_id: impl Into<String>,
    ) -> Self {
        ManagedNode {
            account_id: account_id.into(),
            region: region.into(),
            partition: partition.into(),
            instance_id: instance_id.into(),
            platform: Platform::Other(String::new()),
            platform_name: String::new(),
            name: None,
            ping_status: PingStatus::Unknown,
            patch_group: None,
            baseline_id: None,
            last_operation: None,
            counts: PatchCounts::default(),
            tags: BTreeMap::new(),
            available_security_updates_compliant: false,
            last_ping: None,
            registered: None,
        }
    }

    /// A hybrid (on-premises or other-cloud) node: id starts with `mi-`.
    pub fn is_hybrid(&self) -> bool {
        self.instance_id.starts_with("mi-")
    }

    /// An EC2 instance: id starts with `i-`.
    pub(crate) fn is_ec2(&self) -> bool {
        self.instance_id.starts_with("i-")
    }

    /// `arn:P:ec2:R:A:instance/i-…` for EC2 instances, `arn:P:ssm:R:A:managed-instance/mi-…`
    /// for every other node (SSM's own ARN for it).
    pub fn arn(&self) -> String {
        let (p, r, a, id) = (
            &self.partition,
            &self.region,
            &self.account_id,
            &self.instance_id,
        );
        if self.is_ec2() {
            format!("arn:{p}:ec2:{r}:{a}:instance/{id}")
        } else {
            format!("arn:{p}:ssm:{r}:{a}:managed-instance/{id}")
        }
    }

    /// When the node's patch state was last established (end of the last operation).
    pub fn last_scan_end(&self) -> Option<DateTime<Utc>> {
        self.last_operation.as_ref().map(|o| o.end)
    }

    /// Whether the counts say the node is non-compliant.
    pub fn is_non_compliant(&self) -> bool {
        self.counts
            .non_compliant(self.available_security_updates_compliant)
            > 0
    }
}

/// One patch on one node (`DescribeInstancePatches` joined with the compliance item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchItem {
    /// KB id (`KB5031364`) on Windows, package name on Linux/macOS.
    pub id: String,
    /// Patch title.
    pub title: String,
    /// Classification, e.g. `SecurityUpdates`, `Security`, `Bugfix`.
    pub classification: String,
    /// The vendor's own rating, e.g. `Critical`, `Important`, `Moderate`.
    pub vendor_severity: String,
    /// SSM compliance severity.
    pub severity: Severity,
    /// Patch state on the node.
    pub state: PatchState,
    /// CVE ids (SSM reports them for missing and failed patches only).
    pub cve_ids: Vec<String>,
    /// When it was installed, for installed states.
    pub installed_time: Option<DateTime<Utc>>,
}

impl PatchItem {
    /// A patch with only id, state and severity known.
    pub fn new(id: impl Into<String>, state: PatchState, severity: Severity) -> Self {
        PatchItem {
            id: id.into(),
            title: String::new(),
            classification: String::new(),
            vendor_severity: String::new(),
            severity,
            state,
            cve_ids: Vec::new(),
            installed_time: None,
        }
    }

    /// The severity patchhub filters and rates by: the SSM compliance severity, or, when that
    /// is `Unspecified`, the vendor severity mapped by [`Severity::from_vendor`].
    pub fn effective_severity(&self) -> Severity {
        if self.severity == Severity::Unspecified {
            Severity::from_vendor(&self.vendor_severity)
        } else {
            self.severity
        }
    }
}

/// A node with its patches: everything the mapping needs for one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeCompliance {
    /// The node.
    pub node: ManagedNode,
    /// Its patches (any states; the mapping picks the non-compliant ones).
    pub patches: Vec<PatchItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_state_parses_ssm_spellings_case_insensitively() {
        for s in PatchState::ALL {
            assert_eq!(s.as_str().parse::<PatchState>().unwrap(), s);
            assert_eq!(s.as_str().to_lowercase().parse::<PatchState>().unwrap(), s);
        }
        assert!("PENDING".parse::<PatchState>().is_err());
        // What DescribeInstancePatches and compliance item details really send.
        assert_eq!(
            "InstalledPendingReboot".parse::<PatchState>().unwrap(),
            PatchState::InstalledPendingReboot
        );
        assert_eq!(
            "AvailableSecurityUpdate".parse::<PatchState>().unwrap(),
            PatchState::AvailableSecurityUpdate
        );
        assert!("".parse::<PatchState>().is_err());
    }

    #[test]
    fn serde_uses_ssm_spellings() {
        assert_eq!(
            serde_json::to_string(&PatchState::InstalledPendingReboot).unwrap(),
            "\"INSTALLED_PENDING_REBOOT\""
        );
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"CRITICAL\""
        );
    }

    #[test]
    fn severity_orders_critical_highest() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
        assert!(Severity::Low > Severity::Informational);
        assert!(Severity::Informational > Severity::Unspecified);
        assert_eq!("critical".parse::<Severity>().unwrap(), Severity::Critical);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn vendor_severity_fallback() {
        let mut p = PatchItem::new("openssl", PatchState::Missing, Severity::Unspecified);
        p.vendor_severity = "Important".into();
        assert_eq!(p.effective_severity(), Severity::High);
        p.vendor_severity = "Moderate".into();
        assert_eq!(p.effective_severity(), Severity::Medium);
        p.vendor_severity = "whatever".into();
        assert_eq!(p.effective_severity(), Severity::Unspecified);
        p.severity = Severity::Low;
        p.vendor_severity = "Critical".into();
        assert_eq!(
            p.effective_severity(),
            Severity::Low,
            "SSM severity wins when set"
        );
    }

    #[test]
    fn non_compliance_rules() {
        use PatchState::*;
        for s in [Missing, Failed, InstalledPendingReboot, InstalledRejected] {
            assert!(s.is_non_compliant(true) && s.is_non_compliant(false), "{s}");
        }
        for s in [Installed, InstalledOther, NotApplicable] {
            assert!(
                !s.is_non_compliant(true) && !s.is_non_compliant(false),
                "{s}"
            );
        }
        assert!(AvailableSecurityUpdate.is_non_compliant(false));
        assert!(!AvailableSecurityUpdate.is_non_compliant(true));
    }

    #[test]
    fn arns_for_ec2_and_hybrid_nodes() {
        let n = ManagedNode::new("123456789012", "eu-west-1", "aws", "i-0123456789abcdef0");
        assert!(!n.is_hybrid());
        assert_eq!(
            n.arn(),
            "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"
        );
        let m = ManagedNode::new(
            "123456789012",
            "cn-north-1",
            "aws-cn",
            "mi-0123456789abcdef0",
        );
        assert!(m.is_hybrid());
        assert_eq!(
            m.arn(),
            "arn:aws-cn:ssm:cn-north-1:123456789012:managed-instance/mi-0123456789abcdef0"
        );
    }

    #[test]
    fn ping_and_platform_parse_leniently() {
        assert_eq!(
            "connectionlost".parse::<PingStatus>().unwrap(),
            PingStatus::ConnectionLost
        );
        assert_eq!("Gone".parse::<PingStatus>().unwrap(), PingStatus::Unknown);
        assert_eq!(Platform::from("MACOS"), Platform::MacOS);
        assert_eq!(Platform::from("Plan9"), Platform::Other("Plan9".into()));
        assert_eq!("install".parse::<Operation>().unwrap(), Operation::Install);
        assert!("reboot".parse::<Operation>().is_err());
    }
}
