//! The "Deadlines" figures: what an auditor asks. Read from the deadline fields the sync writes
//! on per-patch findings (`patchhub/SlaDueAt`, `patchhub/KnownExploited`, and the catalogued
//! CVEs named in `Compliance.RelatedRequirements`), and judged at the report time, so a report
//! made after a deadline passed counts the breach even before the next sync writes it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::schema::{
    DeadlineCounts, DeadlineFinding, DeadlineRow, Deadlines, KevRow, ReportOptions,
};
use super::{Node, age_days, field, label, open_finding, rate};
use crate::deadline::{DueState, REQUIREMENT_KEV};
use crate::finding::{Finding, fields};

fn due_at(f: &Finding) -> Option<DateTime<Utc>> {
    field(f, fields::SLA_DUE_AT)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The catalogued CVEs a finding names (`CISA KEV CVE-… CVE-…` in its requirements).
fn kev_cves(f: &Finding) -> impl Iterator<Item = &str> {
    f.compliance
        .iter()
        .flat_map(|c| &c.related_requirements)
        .filter_map(|r| r.strip_prefix(REQUIREMENT_KEV))
        .flat_map(str::split_whitespace)
}

/// One catalogued CVE so far: the earliest due date, its nodes and patches.
struct KevAcc<'a> {
    due: DateTime<Utc>,
    nodes: BTreeSet<(&'a str, &'a str, &'a str)>,
    patches: BTreeSet<&'a str>,
}

/// The figures for these nodes' open patch findings at `opts.now`.
pub(super) fn deadlines(nodes: &[Node<'_>], opts: &ReportOptions) -> Deadlines {
    let now = opts.now;
    let mut d = Deadlines::default();
    let mut by_scope: BTreeMap<(String, String, _), DeadlineRow> = BTreeMap::new();
    let mut kev: BTreeMap<&str, KevAcc> = BTreeMap::new();
    for n in nodes {
        let mut node_breached = false;
        for f in &n.patches {
            let Some(due) = due_at(f) else { continue };
            let state = DueState::of(due, now);
            let (breached, due_soon) = (state == DueState::Breached, state == DueState::DueSoon);
            node_breached |= breached;
            let row = by_scope
                .entry((
                    n.account.clone(),
                    n.region.clone(),
                    std::cmp::Reverse(label(f)),
                ))
                .or_insert_with(|| DeadlineRow {
                    account: n.account.clone(),
                    region: n.region.clone(),
                    severity: label(f),
                    counts: DeadlineCounts::default(),
                });
            for c in [&mut d.counts, &mut row.counts] {
                c.with_deadline += 1;
                c.breached += usize::from(breached);
                c.due_soon += usize::from(due_soon);
            }
            let known_exploited = field(f, fields::KNOWN_EXPLOITED) == Some("true");
            for cve in kev_cves(f) {
                let e = kev.entry(cve).or_insert_with(|| KevAcc {
                    due,
                    nodes: BTreeSet::new(),
                    patches: BTreeSet::new(),
                });
                e.due = e.due.min(due);
                e.nodes.insert((&n.account, &n.region, &n.node_id));
                if let Some(p) = f.patch_id() {
                    e.patches.insert(p);
                }
            }
            if breached || due_soon {
                d.findings.push(DeadlineFinding {
                    finding: open_finding(n, f, now),
                    due_at: due,
                    days_overdue: if breached { age_days(now, due) } else { 0 },
                    breached,
                    known_exploited,
                });
            }
        }
        if n.status().is_some() {
            d.nodes += 1;
            if !node_breached {
                d.nodes_without_breach += 1;
            }
        }
    }
    d.nodes_without_breach_rate = rate(d.nodes_without_breach, d.nodes);
    d.by_scope = by_scope.into_values().collect();
    // Most overdue first, then the longest open.
    d.findings.sort_by(|a, b| {
        a.due_at
            .cmp(&b.due_at)
            .then(
                a.finding
                    .first_observed_at
                    .cmp(&b.finding.first_observed_at),
            )
            .then(a.finding.finding_id.cmp(&b.finding.finding_id))
    });
    d.findings.truncate(opts.top);
    d.known_exploited = kev
        .into_iter()
        .map(|(cve, a)| KevRow {
            cve: cve.to_string(),
            due_at: a.due,
            breached: DueState::of(a.due, now) == DueState::Breached,
            nodes: a.nodes.len(),
            patches: a.patches.into_iter().map(str::to_string).collect(),
        })
        .collect();
    d.known_exploited
        .sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.cve.cmp(&b.cve)));
    d
}
