//! The names patchhub writes into every finding: generator ids, `Types`, product and company
//! names, the `patchhub/` ProductFields keys, and the finding kinds they spell.

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
    /// Whole days the patch has been missing on the node, as of the last import. Not part
    /// of the fingerprint (it follows from `FirstObservedAt`).
    pub const DAYS_OPEN: &str = "patchhub/DaysOpen";
    /// When the patch is due (RFC 3339), from the SLA or the KEV catalog.
    pub const SLA_DUE_AT: &str = "patchhub/SlaDueAt";
    /// `true`/`false`: the due date has passed.
    pub const SLA_BREACHED: &str = "patchhub/SlaBreached";
    /// `true`: the patch fixes a CVE in CISA's Known Exploited Vulnerabilities catalog.
    pub const KNOWN_EXPLOITED: &str = "patchhub/KnownExploited";
    /// The deadline policy the node was judged under (roll-up): SLA, KEV catalog version,
    /// escalation. A change re-evaluates the node.
    pub const DEADLINE_POLICY: &str = "patchhub/DeadlinePolicy";
    /// The earliest due date among the node's per-patch findings not yet breached (roll-up,
    /// RFC 3339): once it passes, the node is re-evaluated so the breach is written.
    pub const NEXT_DUE_AT: &str = "patchhub/NextDueAt";
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
