//! The report's shape: every type `patchhub report --format json` serialises, documented in
//! `docs/REPORT.md` and versioned by [`SCHEMA_VERSION`], and the options [`build`](super::build)
//! takes.

use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};

use crate::finding::SeverityLabel;

/// Version of the report's JSON schema; raised on any change that is not an added field.
pub const SCHEMA_VERSION: u32 = 1;

/// Severities from worst to least.
pub const SEVERITIES: [SeverityLabel; 5] = [
    SeverityLabel::Critical,
    SeverityLabel::High,
    SeverityLabel::Medium,
    SeverityLabel::Low,
    SeverityLabel::Informational,
];

/// Where the findings were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ReportSource {
    /// patchhub's findings in Security Hub (archived ones included).
    #[serde(rename = "securityhub")]
    SecurityHub,
    /// Findings mapped from SSM on the fly: nothing is archived, so nothing resolved is known.
    #[serde(rename = "ssm")]
    Ssm,
    /// A JSON Lines file of findings.
    #[serde(rename = "file")]
    File,
}

/// What [`build`](super::build) needs besides the findings.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The report time: ages and "recently" are measured from it.
    pub now: DateTime<Utc>,
    /// Rows kept in the ranked lists (top patches, CVEs, oldest findings).
    pub top: usize,
    /// How far back an archived (resolved) patch finding counts as resolved recently.
    pub resolved_window: Duration,
    /// Where the findings came from.
    pub source: ReportSource,
}

impl ReportOptions {
    /// Top 20, resolved in the last 30 days.
    pub fn new(now: DateTime<Utc>, source: ReportSource) -> Self {
        ReportOptions {
            now,
            top: 20,
            resolved_window: Duration::days(30),
            source,
        }
    }
}

/// Counts per severity label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// CRITICAL.
    pub critical: usize,
    /// HIGH.
    pub high: usize,
    /// MEDIUM.
    pub medium: usize,
    /// LOW.
    pub low: usize,
    /// INFORMATIONAL.
    pub informational: usize,
}

impl SeverityCounts {
    /// The count of one label.
    pub fn get(&self, label: SeverityLabel) -> usize {
        match label {
            SeverityLabel::Critical => self.critical,
            SeverityLabel::High => self.high,
            SeverityLabel::Medium => self.medium,
            SeverityLabel::Low => self.low,
            SeverityLabel::Informational => self.informational,
        }
    }

    pub(super) fn add(&mut self, label: SeverityLabel) {
        match label {
            SeverityLabel::Critical => self.critical += 1,
            SeverityLabel::High => self.high += 1,
            SeverityLabel::Medium => self.medium += 1,
            SeverityLabel::Low => self.low += 1,
            SeverityLabel::Informational => self.informational += 1,
        }
    }

    /// Sum over all labels.
    pub fn total(&self) -> usize {
        SEVERITIES.iter().map(|s| self.get(*s)).sum()
    }
}

/// The whole report; its JSON is the documented schema.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The report time (RFC 3339, UTC, milliseconds).
    #[serde(serialize_with = "ts")]
    pub generated_at: DateTime<Utc>,
    /// Where the findings were read.
    pub source: ReportSource,
    /// Rows kept in the ranked lists.
    pub top: usize,
    /// Fleet-wide figures.
    pub totals: Totals,
    /// Per account, by account id.
    pub accounts: Vec<AccountRow>,
    /// Per Region, by Region name.
    pub regions: Vec<RegionRow>,
    /// Per severity, worst first (all five labels, zeros included).
    pub severities: Vec<SeverityRow>,
    /// Missing patches by affected nodes (at most `top`).
    pub top_patches: Vec<PatchRow>,
    /// Open CVEs by severity, then affected nodes (at most `top`).
    pub cves: Vec<CveRow>,
    /// Open patch findings, oldest first (at most `top`).
    pub oldest_findings: Vec<OpenFinding>,
    /// Open patch findings by age.
    pub age_buckets: Vec<AgeBucket>,
    /// Stale and connection-lost nodes, longest silent first (all of them).
    pub stale_nodes: Vec<StaleNode>,
    /// Nodes with installed patches waiting for a reboot, longest waiting first (all of them).
    pub pending_reboots: Vec<RebootNode>,
    /// Per platform (`PlatformName`, else the platform type), most nodes first.
    pub platforms: Vec<PlatformRow>,
    /// Patch deadlines (SLA and CISA KEV), judged at the report time.
    pub deadlines: Deadlines,
}

/// Patch deadlines: per-patch findings with a due date (`patchhub/SlaDueAt`), judged at the
/// report time; empty when the sync ran without `--sla` or `--kev`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Deadlines {
    /// Open patch findings with a due date, breached and due soon.
    #[serde(flatten)]
    pub counts: DeadlineCounts,
    /// Scanned nodes (with an open roll-up).
    pub nodes: usize,
    /// Scanned nodes without a breached finding.
    pub nodes_without_breach: usize,
    /// nodes_without_breach / nodes, 0..=1, four decimals; absent when nothing was scanned.
    pub nodes_without_breach_rate: Option<f64>,
    /// Per account, Region and severity (worst first), with a due date.
    pub by_scope: Vec<DeadlineRow>,
    /// Breached and due-soon findings, the most overdue first (at most `top`).
    pub findings: Vec<DeadlineFinding>,
    /// CVEs in CISA's KEV catalog that open findings still miss, earliest due first (all).
    pub known_exploited: Vec<KevRow>,
}

/// Deadlines of one account, Region and severity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineRow {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Severity label.
    pub severity: SeverityLabel,
    /// Its findings with a due date, breached and due soon.
    #[serde(flatten)]
    pub counts: DeadlineCounts,
}

/// Open patch findings with a due date, and how many of them are past it or near it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeadlineCounts {
    /// Open patch findings with a due date.
    pub with_deadline: usize,
    /// Past their due date.
    pub breached: usize,
    /// Not breached, due within 7 days.
    pub due_soon: usize,
}

/// One breached or due-soon patch finding: the open finding, and its deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineFinding {
    /// The finding, as the oldest-findings list shows it.
    #[serde(flatten)]
    pub finding: OpenFinding,
    /// When it is (was) due.
    #[serde(serialize_with = "ts")]
    pub due_at: DateTime<Utc>,
    /// Whole days past the due date (0 when not breached).
    pub days_overdue: i64,
    /// Past its due date.
    pub breached: bool,
    /// The patch fixes a CVE in CISA's KEV catalog.
    pub known_exploited: bool,
}

/// A CVE in CISA's KEV catalog that an open finding still misses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KevRow {
    /// CVE id.
    pub cve: String,
    /// The earliest due date among its findings.
    #[serde(serialize_with = "ts")]
    pub due_at: DateTime<Utc>,
    /// That date has passed.
    pub breached: bool,
    /// Nodes missing a patch for it.
    pub nodes: usize,
    /// Those patches.
    pub patches: Vec<String>,
}

/// Fleet-wide figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Distinct accounts with an open finding.
    pub accounts: usize,
    /// Distinct Regions with an open finding.
    pub regions: usize,
    /// Compliance of the whole fleet.
    #[serde(flatten)]
    pub compliance: Compliance,
    /// Nodes with connection-lost or inactive agents (a subset of `stale`).
    pub connection_lost: usize,
    /// Nodes with installed patches pending a reboot.
    pub pending_reboot: usize,
    /// Distinct patches missing somewhere.
    pub missing_patches: usize,
    /// Distinct CVEs listed by open patch findings.
    pub open_cves: usize,
    /// Patch findings archived (resolved) within `resolved_window_days`; absent when the
    /// source keeps no history (SSM).
    pub resolved_recently: Option<usize>,
    /// The window of `resolved_recently`, in days.
    pub resolved_window_days: i64,
}

/// Compliance of a group of nodes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Compliance {
    /// Nodes with any open finding.
    pub nodes: usize,
    /// Nodes with an open roll-up.
    pub scanned: usize,
    /// Roll-up PASSED.
    pub compliant: usize,
    /// Roll-up FAILED.
    pub non_compliant: usize,
    /// compliant / scanned, 0..=1, four decimals; absent when nothing was scanned.
    pub compliance_rate: Option<f64>,
    /// Non-compliant nodes by their worst open severity (sums to `non_compliant`).
    pub non_compliant_by_severity: SeverityCounts,
    /// Open patch findings.
    pub open_findings: usize,
    /// Open patch findings by severity.
    pub findings_by_severity: SeverityCounts,
    /// Nodes whose patch data is stale (old scan, never scanned, or agent not connected).
    pub stale: usize,
}

/// One account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountRow {
    /// 12-digit id.
    pub account: String,
    /// Regions with findings of this account.
    pub region_count: usize,
    /// Its compliance.
    #[serde(flatten)]
    pub compliance: Compliance,
}

/// One Region.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionRow {
    /// Region name.
    pub region: String,
    /// Accounts with findings in this Region.
    pub account_count: usize,
    /// Its compliance.
    #[serde(flatten)]
    pub compliance: Compliance,
}

/// One severity label, fleet-wide.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeverityRow {
    /// The label.
    pub severity: SeverityLabel,
    /// Open patch findings with this label.
    pub open_findings: usize,
    /// Nodes with at least one of them.
    pub nodes: usize,
    /// Distinct patches among them.
    pub patches: usize,
    /// Distinct CVEs they list.
    pub cves: usize,
}

/// One patch missing on some nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchRow {
    /// KB id or package name.
    pub patch_id: String,
    /// Title (the most common one).
    pub title: String,
    /// Classification (the most common one).
    pub classification: String,
    /// Worst severity among its findings.
    pub severity: SeverityLabel,
    /// Nodes it is missing on.
    pub nodes: usize,
    /// Accounts of those nodes.
    pub accounts: usize,
    /// Of those nodes, where it is MISSING (or an available security update).
    pub missing: usize,
    /// Of those nodes, where it FAILED to install.
    pub failed: usize,
    /// CVEs it fixes, sorted.
    pub cves: Vec<String>,
}

/// One open CVE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveRow {
    /// CVE id.
    pub cve: String,
    /// Worst severity of the patch findings listing it.
    pub severity: SeverityLabel,
    /// Nodes exposed (an open patch finding lists it).
    pub nodes: usize,
    /// Accounts of those nodes.
    pub accounts: usize,
    /// Patches that fix it, sorted.
    pub patches: Vec<String>,
    /// Earliest `FirstObservedAt` among those findings.
    #[serde(serialize_with = "ts")]
    pub first_observed_at: DateTime<Utc>,
    /// Days since then.
    pub age_days: i64,
}

/// One open patch finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenFinding {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Node id.
    pub node_id: String,
    /// Node name, when it has one.
    pub node_name: Option<String>,
    /// KB id or package.
    pub patch_id: String,
    /// SSM patch state (`MISSING`, `FAILED`, ...).
    pub state: String,
    /// Severity label.
    pub severity: SeverityLabel,
    /// Finding title.
    pub title: String,
    /// `FirstObservedAt` (else `CreatedAt`).
    #[serde(serialize_with = "ts")]
    pub first_observed_at: DateTime<Utc>,
    /// Days since then.
    pub age_days: i64,
    /// The finding's Id.
    pub finding_id: String,
}

/// Open patch findings of one age range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgeBucket {
    /// e.g. `7-29 days`.
    pub label: String,
    /// Lowest age in the bucket, days.
    pub from_days: i64,
    /// Highest age in the bucket, days; absent for the last bucket.
    pub to_days: Option<i64>,
    /// Findings in the bucket.
    pub findings: usize,
    /// By severity.
    pub by_severity: SeverityCounts,
}

/// A node whose patch data cannot be trusted to be current.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleNode {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Node id.
    pub node_id: String,
    /// Node name.
    pub node_name: Option<String>,
    /// Platform name.
    pub platform: String,
    /// SSM Agent ping status, when known.
    pub ping_status: Option<String>,
    /// `never-scanned`, `scan-too-old`, `connection-lost` (empty when only the roll-up says
    /// the node is stale).
    pub reasons: Vec<String>,
    /// End of its last patch operation, if any.
    #[serde(serialize_with = "ts_opt")]
    pub last_scan: Option<DateTime<Utc>>,
    /// Days since then.
    pub days_since_scan: Option<i64>,
}

/// A node with installed patches pending a reboot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebootNode {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Node id.
    pub node_id: String,
    /// Node name.
    pub node_name: Option<String>,
    /// Platform name.
    pub platform: String,
    /// Patches pending a reboot.
    pub patches: usize,
    /// Reboot option of its last patch operation.
    pub reboot_option: Option<String>,
    /// Earliest `FirstObservedAt` of its pending-reboot findings.
    #[serde(serialize_with = "ts_opt")]
    pub since: Option<DateTime<Utc>>,
    /// Days since then.
    pub age_days: Option<i64>,
}

/// One platform.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlatformRow {
    /// `PlatformName` (e.g. `Ubuntu`), else the platform type, else `unknown`.
    pub platform: String,
    /// `Windows`, `Linux`, `MacOS`, or empty when unknown.
    pub platform_type: String,
    /// Its compliance.
    #[serde(flatten)]
    pub compliance: Compliance,
}

fn ts<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::text::rfc3339(*t))
}

fn ts_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ts(t, s),
        None => s.serialize_none(),
    }
}
