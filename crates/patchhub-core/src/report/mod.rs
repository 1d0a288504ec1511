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
//!
//! The output types are in `schema`; this module reads the findings node by node and fills them.

mod deadlines;
mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

pub use schema::{
    AccountRow, AgeBucket, Compliance, CveRow, DeadlineCounts, DeadlineFinding, DeadlineRow,
    Deadlines, KevRow, OpenFinding, PatchRow, PlatformRow, RebootNode, RegionRow, Report,
    ReportOptions, ReportSource, SCHEMA_VERSION, SEVERITIES, SeverityCounts, SeverityRow,
    StaleNode, Totals,
};

use crate::finding::{ComplianceStatus, Finding, FindingKind, SeverityLabel, fields};

/// Patch states that mean "not installed yet".
const MISSING_STATES: &[&str] = &["MISSING", "FAILED", "AVAILABLE_SECURITY_UPDATE"];
/// Patch state of an installed patch waiting for a reboot.
const PENDING_REBOOT: &str = "INSTALLED_PENDING_REBOOT";

/// Upper bounds (exclusive, in days) of the age buckets; the last bucket is open-ended.
const AGE_BOUNDS: &[i64] = &[1, 7, 30, 90];

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
    /// Account, Region and node id: which node this is.
    fn key(&self) -> (&str, &str, &str) {
        (&self.account, &self.region, &self.node_id)
    }

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

/// An open patch finding of node `n` as the report lists it.
fn open_finding(n: &Node<'_>, f: &Finding, now: DateTime<Utc>) -> OpenFinding {
    OpenFinding {
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
    }
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

/// The nodes grouped by `key`, in key order: each key, how many distinct `other` values its
/// nodes have, and their compliance.
fn per_group<'n>(
    nodes: &'n [Node<'n>],
    key: impl Fn(&'n Node<'n>) -> &'n str,
    other: impl Fn(&'n Node<'n>) -> &'n str,
) -> impl Iterator<Item = (String, usize, Compliance)> {
    let mut groups: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in nodes {
        groups.entry(key(n)).or_default().push(n);
    }
    groups.into_iter().map(move |(k, ns)| {
        let others = distinct(ns.iter().map(|n| other(n)));
        (k.to_string(), others, compliance(ns))
    })
}

/// How many different values `items` holds.
fn distinct<T: Ord>(items: impl IntoIterator<Item = T>) -> usize {
    items.into_iter().collect::<BTreeSet<_>>().len()
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
    let accounts: Vec<AccountRow> = per_group(&nodes, |n| &n.account, |n| &n.region)
        .map(|(account, region_count, compliance)| AccountRow {
            account,
            region_count,
            compliance,
        })
        .collect();
    let regions: Vec<RegionRow> = per_group(&nodes, |n| &n.region, |n| &n.account)
        .map(|(region, account_count, compliance)| RegionRow {
            region,
            account_count,
            compliance,
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
                nodes: distinct(of.iter().map(|(n, _)| n.key())),
                patches: distinct(of.iter().filter_map(|(_, f)| f.patch_id())),
                cves: distinct(of.iter().flat_map(|(_, f)| cves_of(f))),
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
                nodes: distinct(list.iter().map(|(n, _)| n.key())),
                accounts: distinct(list.iter().map(|(n, _)| &n.account)),
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
            acc.nodes.insert(n.key());
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
        .map(|(n, f)| open_finding(n, f, now))
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
        deadlines: deadlines::deadlines(&nodes, opts),
    }
}
