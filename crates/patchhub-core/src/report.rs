//! Fleet report figures: what a security lead asks of patchhub's findings, computed from them
//! alone, so the figures are the same whether the findings come from Security Hub or SSM.
//!
//! [`build`] takes patchhub findings (any mix of kinds, accounts and Regions, active and
//! archived, duplicates allowed) and returns a [`Report`]: compliance per account, Region and
//! platform, split by severity; the most widely missing patches; open CVEs; the oldest open
//! findings and their ages; stale and connection-lost nodes; and nodes pending a reboot. The
//! report's JSON *is* the `patchhub report --format json` schema, documented in
//! `docs/REPORT.md` and versioned by [`SCHEMA_VERSION`].
//!
//! Definitions (each list below is sorted, so a report is a pure function of its input):
//! - a node is *scanned* when it has an active roll-up; *compliant* when that roll-up's
//!   `Compliance.Status` is PASSED, *non-compliant* when FAILED; the compliance rate is
//!   compliant / scanned (absent when nothing was scanned);
//! - *open* means `RecordState` ACTIVE; a finding Security Hub holds twice (an administrator's
//!   view and the member's own, or an aggregated copy) counts once, in its newest version;
//! - a node's severity is the worst `Severity.Label` among its open patch findings (its
//!   roll-up's label when it has none, e.g. excluded by tag);
//! - a patch is *missing* on a node when its finding is open in state MISSING, FAILED or
//!   AVAILABLE_SECURITY_UPDATE (not yet installed); pending-reboot and rejected patches are
//!   installed and counted elsewhere;
//! - a finding's age is whole days from `FirstObservedAt` (else `CreatedAt`) to the report time.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};

use crate::finding::{ComplianceStatus, Finding, FindingKind, SeverityLabel, fields};

/// Version of the report's JSON schema; raised on any change that is not an added field.
pub const SCHEMA_VERSION: u32 = 1;

/// Patch states that mean "not installed yet".
const MISSING_STATES: &[&str] = &["MISSING", "FAILED", "AVAILABLE_SECURITY_UPDATE"];
/// Patch state of an installed patch waiting for a reboot.
const PENDING_REBOOT: &str = "INSTALLED_PENDING_REBOOT";

/// Upper bounds (exclusive, in days) of the age buckets; the last bucket is open-ended.
const AGE_BOUNDS: &[i64] = &[1, 7, 30, 90];

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

/// What [`build`] needs besides the findings.
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

    fn add(&mut self, label: SeverityLabel) {
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

/// What the findings say about one node.
#[derive(Default)]
struct Node<'a> {
    account: String,
    region: String,
    node_id: String,
    name: Option<String>,
    platform_name: String,
    platform_type: String,
    rollup: Option<&'a Finding>,
    stale: Option<&'a Finding>,
    patches: Vec<&'a Finding>,
}

impl Node<'_> {
    fn platform(&self) -> String {
        [&self.platform_name, &self.platform_type]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "unknown".to_string())
    }

    fn is_stale(&self) -> bool {
        self.stale.is_some()
            || self
                .rollup
                .is_some_and(|r| field(r, fields::STALE) == Some("true"))
    }

    fn status(&self) -> Option<ComplianceStatus> {
        self.rollup
            .and_then(|r| r.compliance.as_ref())
            .map(|c| c.status)
    }

    /// Worst open patch severity, else the roll-up's label.
    fn worst(&self) -> Option<SeverityLabel> {
        self.patches
            .iter()
            .map(|f| label(f))
            .max()
            .or_else(|| self.rollup.map(label))
    }

    fn pending_reboot(&self) -> usize {
        let findings = self
            .patches
            .iter()
            .filter(|f| field(f, fields::PATCH_STATE) == Some(PENDING_REBOOT))
            .count();
        let summary = self
            .rollup
            .and_then(|r| r.patch_summary.as_ref())
            .and_then(|p| p.installed_pending_reboot)
            .map_or(0, |n| usize::try_from(n).unwrap_or(0));
        findings.max(summary)
    }
}

fn field<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.product_fields
        .get(key)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// A finding's severity label (from Normalized when the label is missing).
fn label(f: &Finding) -> SeverityLabel {
    f.severity
        .label
        .unwrap_or_else(|| match f.severity.normalized.unwrap_or(0) {
            90.. => SeverityLabel::Critical,
            70..=89 => SeverityLabel::High,
            40..=69 => SeverityLabel::Medium,
            1..=39 => SeverityLabel::Low,
            _ => SeverityLabel::Informational,
        })
}

fn first_observed(f: &Finding) -> DateTime<Utc> {
    f.first_observed_at.unwrap_or(f.created_at)
}

fn age_days(now: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (now - t).num_days().max(0)
}

fn rate(compliant: usize, scanned: usize) -> Option<f64> {
    (scanned > 0).then(|| (compliant as f64 / scanned as f64 * 10_000.0).round() / 10_000.0)
}

fn other_detail<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.resources
        .first()
        .and_then(|r| r.details.as_ref())
        .and_then(|d| d.other.get(key))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

fn cves_of(f: &Finding) -> impl Iterator<Item = &str> {
    f.vulnerabilities
        .iter()
        .map(|v| v.id.as_str())
        .filter(|id| id.starts_with("CVE-"))
}

/// Keeps one version of each finding (the newest `UpdatedAt`), patchhub's only.
fn dedup(findings: &[Finding]) -> Vec<&Finding> {
    let mut by_id: HashMap<&str, &Finding> = HashMap::new();
    for f in findings.iter().filter(|f| f.is_patchhub()) {
        by_id
            .entry(f.id.as_str())
            .and_modify(|kept| {
                if (f.updated_at, f.is_active()) > (kept.updated_at, kept.is_active()) {
                    *kept = f;
                }
            })
            .or_insert(f);
    }
    let mut out: Vec<&Finding> = by_id.into_values().collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Groups open findings by node, `(account, Region, node id)` order.
fn nodes<'a>(open: &[&'a Finding]) -> Vec<Node<'a>> {
    let mut by_key: BTreeMap<(String, String, String), Node<'a>> = BTreeMap::new();
    for f in open {
        let Some(node_id) = f.node_id().or_else(|| other_detail(f, "ManagedNodeId")) else {
            continue;
        };
        let region = f
            .region
            .clone()
            .or_else(|| f.resources.first().and_then(|r| r.region.clone()))
            .unwrap_or_default();
        let key = (f.aws_account_id.clone(), region, node_id.to_string());
        let node = by_key.entry(key.clone()).or_insert_with(|| Node {
            account: key.0,
            region: key.1,
            node_id: key.2,
            ..Node::default()
        });
        if node.name.is_none() {
            node.name = other_detail(f, "Name").map(str::to_string);
        }
        if node.platform_name.is_empty() {
            node.platform_name = other_detail(f, "PlatformName").unwrap_or_default().into();
        }
        if node.platform_type.is_empty() {
            node.platform_type = other_detail(f, "Platform").unwrap_or_default().into();
        }
        match f.kind() {
            Some(FindingKind::Rollup) => node.rollup = Some(f),
            Some(FindingKind::StaleScan) => node.stale = Some(f),
            Some(FindingKind::Patch) => node.patches.push(f),
            None => {}
        }
    }
    by_key.into_values().collect()
}

/// Compliance of a group of nodes.
fn compliance<'a>(group: impl IntoIterator<Item = &'a Node<'a>>) -> Compliance {
    let mut c = Compliance::default();
    for n in group {
        c.nodes += 1;
        match n.status() {
            Some(ComplianceStatus::Passed) => {
                c.scanned += 1;
                c.compliant += 1;
            }
            Some(ComplianceStatus::Failed) => {
                c.scanned += 1;
                c.non_compliant += 1;
                if let Some(w) = n.worst() {
                    c.non_compliant_by_severity.add(w);
                }
            }
            Some(_) => c.scanned += 1,
            None => {}
        }
        for p in &n.patches {
            c.open_findings += 1;
            c.findings_by_severity.add(label(p));
        }
        if n.is_stale() {
            c.stale += 1;
        }
    }
    c.compliance_rate = rate(c.compliant, c.scanned);
    c
}

/// Most common value, ties to the smallest.
fn most_common<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values.into_iter().filter(|v| !v.is_empty()) {
        *counts.entry(v).or_default() += 1;
    }
    let mut best: Option<(&str, usize)> = None;
    for (v, n) in counts {
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((v, n));
        }
    }
    best.map(|(v, _)| v.to_string()).unwrap_or_default()
}

/// The report for these findings.
pub fn build(findings: &[Finding], opts: &ReportOptions) -> Report {
    let now = opts.now;
    let all = dedup(findings);
    let open: Vec<&Finding> = all.iter().copied().filter(|f| f.is_active()).collect();
    let nodes = nodes(&open);
    let patches: Vec<(&Node, &Finding)> = nodes
        .iter()
        .flat_map(|n| n.patches.iter().map(move |p| (n, *p)))
        .collect();

    // Per account and per Region.
    let mut by_account: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    let mut by_region: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in &nodes {
        by_account.entry(&n.account).or_default().push(n);
        by_region.entry(&n.region).or_default().push(n);
    }
    let accounts: Vec<AccountRow> = by_account
        .iter()
        .map(|(a, ns)| AccountRow {
            account: a.to_string(),
            region_count: ns.iter().map(|n| &n.region).collect::<BTreeSet<_>>().len(),
            compliance: compliance(ns.iter().copied()),
        })
        .collect();
    let regions: Vec<RegionRow> = by_region
        .iter()
        .map(|(r, ns)| RegionRow {
            region: r.to_string(),
            account_count: ns.iter().map(|n| &n.account).collect::<BTreeSet<_>>().len(),
            compliance: compliance(ns.iter().copied()),
        })
        .collect();

    // Per severity.
    let severities = SEVERITIES
        .iter()
        .map(|&s| {
            let of: Vec<&(&Node, &Finding)> =
                patches.iter().filter(|(_, f)| label(f) == s).collect();
            SeverityRow {
                severity: s,
                open_findings: of.len(),
                nodes: of
                    .iter()
                    .map(|(n, _)| (&n.account, &n.region, &n.node_id))
                    .collect::<BTreeSet<_>>()
                    .len(),
                patches: of
                    .iter()
                    .filter_map(|(_, f)| f.patch_id())
                    .collect::<BTreeSet<_>>()
                    .len(),
                cves: of
                    .iter()
                    .flat_map(|(_, f)| cves_of(f))
                    .collect::<BTreeSet<_>>()
                    .len(),
            }
        })
        .collect();

    // Missing patches.
    let mut by_patch: BTreeMap<&str, Vec<(&Node, &Finding)>> = BTreeMap::new();
    for (n, f) in &patches {
        let state = field(f, fields::PATCH_STATE).unwrap_or("MISSING");
        if let Some(id) = f.patch_id()
            && MISSING_STATES.contains(&state)
        {
            by_patch.entry(id).or_default().push((n, f));
        }
    }
    let missing_patches = by_patch.len();
    let mut top_patches: Vec<PatchRow> = by_patch
        .iter()
        .map(|(id, list)| {
            let node_set: BTreeSet<_> = list
                .iter()
                .map(|(n, _)| (&n.account, &n.region, &n.node_id))
                .collect();
            let failed = list
                .iter()
                .filter(|(_, f)| field(f, fields::PATCH_STATE) == Some("FAILED"))
                .count();
            PatchRow {
                patch_id: id.to_string(),
                title: most_common(
                    list.iter()
                        .map(|(_, f)| field(f, fields::PATCH_TITLE).unwrap_or_default()),
                ),
                classification: most_common(
                    list.iter()
                        .map(|(_, f)| field(f, fields::CLASSIFICATION).unwrap_or_default()),
                ),
                severity: list
                    .iter()
                    .map(|(_, f)| label(f))
                    .max()
                    .unwrap_or(SeverityLabel::Informational),
                nodes: node_set.len(),
                accounts: list
                    .iter()
                    .map(|(n, _)| &n.account)
                    .collect::<BTreeSet<_>>()
                    .len(),
                missing: list.len() - failed,
                failed,
                cves: list
                    .iter()
                    .flat_map(|(_, f)| cves_of(f))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect();
    top_patches.sort_by(|a, b| {
        b.nodes
            .cmp(&a.nodes)
            .then(b.severity.cmp(&a.severity))
            .then(a.patch_id.cmp(&b.patch_id))
    });
    top_patches.truncate(opts.top);

    // CVEs.
    struct CveAcc<'a> {
        severity: SeverityLabel,
        nodes: BTreeSet<(&'a str, &'a str, &'a str)>,
        accounts: BTreeSet<&'a str>,
        patches: BTreeSet<&'a str>,
        first: DateTime<Utc>,
    }
    let mut by_cve: BTreeMap<&str, CveAcc> = BTreeMap::new();
    for (n, f) in &patches {
        for cve in cves_of(f) {
            let acc = by_cve.entry(cve).or_insert_with(|| CveAcc {
                severity: label(f),
                nodes: BTreeSet::new(),
                accounts: BTreeSet::new(),
                patches: BTreeSet::new(),
                first: first_observed(f),
            });
            acc.severity = acc.severity.max(label(f));
            acc.nodes
                .insert((n.account.as_str(), n.region.as_str(), n.node_id.as_str()));
            acc.accounts.insert(n.account.as_str());
            if let Some(p) = f.patch_id() {
                acc.patches.insert(p);
            }
            acc.first = acc.first.min(first_observed(f));
        }
    }
    let open_cves = by_cve.len();
    let mut cves: Vec<CveRow> = by_cve
        .into_iter()
        .map(|(cve, a)| CveRow {
            cve: cve.to_string(),
            severity: a.severity,
            nodes: a.nodes.len(),
            accounts: a.accounts.len(),
            patches: a.patches.into_iter().map(str::to_string).collect(),
            first_observed_at: a.first,
            age_days: age_days(now, a.first),
        })
        .collect();
    cves.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.nodes.cmp(&a.nodes))
            .then(a.first_observed_at.cmp(&b.first_observed_at))
            .then(a.cve.cmp(&b.cve))
    });
    cves.truncate(opts.top);

    // Ages.
    let mut oldest: Vec<OpenFinding> = patches
        .iter()
        .map(|(n, f)| OpenFinding {
            account: n.account.clone(),
            region: n.region.clone(),
            node_id: n.node_id.clone(),
            node_name: n.name.clone(),
            patch_id: f.patch_id().unwrap_or_default().to_string(),
            state: field(f, fields::PATCH_STATE)
                .unwrap_or_default()
                .to_string(),
            severity: label(f),
            title: f.title.clone(),
            first_observed_at: first_observed(f),
            age_days: age_days(now, first_observed(f)),
            finding_id: f.id.clone(),
        })
        .collect();
    oldest.sort_by(|a, b| {
        a.first_observed_at
            .cmp(&b.first_observed_at)
            .then(b.severity.cmp(&a.severity))
            .then(a.finding_id.cmp(&b.finding_id))
    });
    let mut age_buckets: Vec<AgeBucket> = (0..=AGE_BOUNDS.len())
        .map(|i| {
            let from = if i == 0 { 0 } else { AGE_BOUNDS[i - 1] };
            let to = AGE_BOUNDS.get(i).map(|b| b - 1);
            AgeBucket {
                label: match to {
                    Some(0) => "under 1 day".to_string(),
                    Some(t) => format!("{from}-{t} days"),
                    None => format!("{from}+ days"),
                },
                from_days: from,
                to_days: to,
                findings: 0,
                by_severity: SeverityCounts::default(),
            }
        })
        .collect();
    for f in &oldest {
        let i = AGE_BOUNDS
            .iter()
            .position(|b| f.age_days < *b)
            .unwrap_or(AGE_BOUNDS.len());
        age_buckets[i].findings += 1;
        age_buckets[i].by_severity.add(f.severity);
    }
    oldest.truncate(opts.top);

    // Stale nodes and pending reboots.
    let mut stale_nodes: Vec<StaleNode> = nodes
        .iter()
        .filter(|n| n.is_stale())
        .map(|n| {
            let last_scan = n
                .rollup
                .and_then(|r| r.scan_time())
                .or_else(|| n.stale.and_then(|s| s.scan_time()));
            StaleNode {
                account: n.account.clone(),
                region: n.region.clone(),
                node_id: n.node_id.clone(),
                node_name: n.name.clone(),
                platform: n.platform(),
                ping_status: n
                    .stale
                    .and_then(|s| field(s, fields::PING_STATUS))
                    .map(str::to_string),
                reasons: n
                    .stale
                    .and_then(|s| field(s, fields::STALE_REASONS))
                    .map(|r| r.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                last_scan,
                days_since_scan: last_scan.map(|t| age_days(now, t)),
            }
        })
        .collect();
    stale_nodes.sort_by(|a, b| {
        a.last_scan.cmp(&b.last_scan).then_with(|| {
            (&a.account, &a.region, &a.node_id).cmp(&(&b.account, &b.region, &b.node_id))
        })
    });
    let connection_lost = stale_nodes
        .iter()
        .filter(|s| {
            s.reasons.iter().any(|r| r == "connection-lost")
                || matches!(
                    s.ping_status.as_deref(),
                    Some("ConnectionLost" | "Inactive")
                )
        })
        .count();

    let mut pending_reboots: Vec<RebootNode> = nodes
        .iter()
        .filter(|n| n.pending_reboot() > 0)
        .map(|n| {
            let since = n
                .patches
                .iter()
                .filter(|f| field(f, fields::PATCH_STATE) == Some(PENDING_REBOOT))
                .map(|f| first_observed(f))
                .min();
            RebootNode {
                account: n.account.clone(),
                region: n.region.clone(),
                node_id: n.node_id.clone(),
                node_name: n.name.clone(),
                platform: n.platform(),
                patches: n.pending_reboot(),
                reboot_option: n
                    .rollup
                    .and_then(|r| r.patch_summary.as_ref())
                    .and_then(|p| p.reboot_option.clone()),
                since,
                age_days: since.map(|t| age_days(now, t)),
            }
        })
        .collect();
    pending_reboots.sort_by(|a, b| {
        // Oldest first; nodes whose pending patches have no finding (filtered by policy) last.
        (a.since.is_none(), a.since, std::cmp::Reverse(a.patches))
            .cmp(&(b.since.is_none(), b.since, std::cmp::Reverse(b.patches)))
            .then_with(|| {
                (&a.account, &a.region, &a.node_id).cmp(&(&b.account, &b.region, &b.node_id))
            })
    });

    // Platforms.
    let mut by_platform: BTreeMap<(String, String), Vec<&Node>> = BTreeMap::new();
    for n in &nodes {
        by_platform
            .entry((n.platform(), n.platform_type.clone()))
            .or_default()
            .push(n);
    }
    let mut platforms: Vec<PlatformRow> = by_platform
        .into_iter()
        .map(|((platform, platform_type), ns)| PlatformRow {
            platform,
            platform_type,
            compliance: compliance(ns),
        })
        .collect();
    platforms.sort_by(|a, b| {
        b.compliance
            .nodes
            .cmp(&a.compliance.nodes)
            .then(a.platform.cmp(&b.platform))
    });

    let resolved_recently = (opts.source != ReportSource::Ssm).then(|| {
        all.iter()
            .filter(|f| {
                !f.is_active()
                    && f.kind() == Some(FindingKind::Patch)
                    && f.updated_at >= now - opts.resolved_window
            })
            .count()
    });

    let totals = Totals {
        accounts: accounts.len(),
        regions: regions.len(),
        compliance: compliance(&nodes),
        connection_lost,
        pending_reboot: pending_reboots.len(),
        missing_patches,
        open_cves,
        resolved_recently,
        resolved_window_days: opts.resolved_window.num_days(),
    };

    Report {
        schema_version: SCHEMA_VERSION,
        generated_at: crate::text::to_millis(now),
        source: opts.source,
        top: opts.top,
        totals,
        accounts,
        regions,
        severities,
        top_patches,
        cves,
        oldest_findings: oldest,
        age_buckets,
        stale_nodes,
        pending_reboots,
        platforms,
    }
}
