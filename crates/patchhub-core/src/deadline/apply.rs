//! How a deadline shows on a per-patch finding, so the Security Hub console can filter on it.
//!
//! ProductFields carry the numbers (`patchhub/DaysOpen`, `patchhub/SlaDueAt`,
//! `patchhub/SlaBreached`, `patchhub/KnownExploited`); a breach adds the `Types` entry
//! [`TYPE_DEADLINE_BREACHED`] and every finding with a deadline names it in
//! `Compliance.RelatedRequirements`, both filterable in the console. A finding whose patch
//! fixes a CVE in CISA's catalog is rated CRITICAL; with `escalate_breached`, a breached
//! finding's rating rises one step.
//!
//! `patchhub/DaysOpen` is the count at the last import: it is left out of the content
//! fingerprint (see `finding::fingerprint`), or every finding with a deadline would be
//! re-imported every day for a number that follows from `FirstObservedAt`. The due date and
//! the breach are content: the sync after the deadline passes updates the finding once.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};

use super::{Deadline, DueState, KevCatalog, SlaPolicy, evaluate};
use crate::finding::{
    ComplianceStatus, Finding, FindingKind, FindingProviderSeverity, SeverityLabel, fields,
};
use crate::model::Severity;

/// The `Types` entry of a per-patch finding past its deadline (the ASFF type taxonomy's
/// namespace/category/classifier form).
pub const TYPE_DEADLINE_BREACHED: &str =
    "Software and Configuration Checks/Patch Management/Deadline Breached";

/// `Compliance.RelatedRequirements` entry of a finding whose deadline comes from the SLA.
pub const REQUIREMENT_SLA: &str = "patchhub SLA";
/// `Compliance.RelatedRequirements` entry of a finding whose patch fixes a catalogued CVE.
pub const REQUIREMENT_KEV: &str = "CISA KEV";

/// The deadline policy of a run: per-severity deadlines, the KEV catalog, and escalation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeadlinePolicy {
    /// Per-severity deadlines (none by default).
    pub sla: SlaPolicy,
    /// CISA's catalog, when given.
    pub kev: Option<KevCatalog>,
    /// Raise a breached finding's severity label one step.
    pub escalate_breached: bool,
}

impl DeadlinePolicy {
    /// Whether the policy can change any finding.
    pub fn is_off(&self) -> bool {
        self.sla.is_empty() && self.kev.is_none()
    }

    /// What the roll-up records of the policy (`patchhub/DeadlinePolicy`): a node judged
    /// under another SLA, catalog version or escalation rule is judged again.
    pub fn key(&self) -> String {
        format!(
            "sla={};kev={};escalate={}",
            self.sla,
            self.kev.as_ref().map_or("none", |k| k.version.as_str()),
            self.escalate_breached
        )
    }

    /// Decorates the run's `desired` findings before planning: each active per-patch finding
    /// with its deadline, counted from the `FirstObservedAt` its stored twin in `existing`
    /// carries (else its own, else `now`, as the planner stamps a new one); each roll-up with
    /// the policy's [`key`](Self::key) and its node's next due date. Nothing when the policy
    /// is off, so findings stay exactly as they were without `--sla`/`--kev`.
    pub fn decorate(
        &self,
        desired: &mut [Finding],
        existing: &[Finding],
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        if self.is_off() {
            return;
        }
        let first_seen: HashMap<&str, DateTime<Utc>> = existing
            .iter()
            .filter_map(|e| e.first_observed_at.map(|t| (e.id.as_str(), t)))
            .collect();
        let mut next_due: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        for f in desired.iter_mut() {
            let first = first_seen
                .get(f.id.as_str())
                .copied()
                .or(f.first_observed_at)
                .unwrap_or(now)
                .min(now);
            if let Some(d) = self.apply(f, first, as_of)
                && let (Some(due), false, Some(node)) = (d.due_at, d.breached, f.node_id())
            {
                let e = next_due.entry(node.to_string()).or_insert(due);
                *e = (*e).min(due);
            }
        }
        let key = self.key();
        for f in desired.iter_mut() {
            if f.kind() != Some(FindingKind::Rollup) {
                continue;
            }
            f.product_fields
                .insert(fields::DEADLINE_POLICY.into(), key.clone());
            if let Some(due) = f.node_id().and_then(|n| next_due.get(n)) {
                f.product_fields.insert(
                    fields::NEXT_DUE_AT.into(),
                    due.to_rfc3339_opts(SecondsFormat::Millis, true),
                );
            }
        }
    }

    /// Compares a stored roll-up with `fresh` (mapped from SSM just now) as far as deadlines go.
    /// `None`: the node must be judged again, because the stored one was judged under another
    /// policy (it `recorded` another key, or none) or its `next_due` date has passed at `as_of`.
    /// Otherwise `fresh` gets the policy key and the stored next due date, as this policy would
    /// have stored it, ready for the fingerprint comparison.
    pub fn rollup_as_stored(
        &self,
        fresh: &mut Finding,
        recorded: Option<&str>,
        next_due: Option<&str>,
        as_of: DateTime<Utc>,
    ) -> Option<()> {
        if self.is_off() {
            return recorded.is_none().then_some(());
        }
        let key = self.key();
        if recorded != Some(key.as_str()) {
            return None;
        }
        let passed = next_due
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .is_some_and(|due| DueState::of(due.with_timezone(&Utc), as_of) == DueState::Breached);
        if passed {
            return None;
        }
        fresh
            .product_fields
            .insert(fields::DEADLINE_POLICY.into(), key);
        if let Some(next) = next_due {
            fresh
                .product_fields
                .insert(fields::NEXT_DUE_AT.into(), next.to_string());
        }
        Some(())
    }

    /// Decorates an active per-patch finding (Compliance FAILED) with its deadline, as read
    /// at `as_of`, counting from `first_seen`. Other findings are left untouched and give
    /// `None`.
    pub fn apply(
        &self,
        f: &mut Finding,
        first_seen: DateTime<Utc>,
        as_of: DateTime<Utc>,
    ) -> Option<Deadline> {
        let failing = f
            .compliance
            .as_ref()
            .is_some_and(|c| c.status == ComplianceStatus::Failed);
        if self.is_off() || f.kind() != Some(FindingKind::Patch) || !f.is_active() || !failing {
            return None;
        }
        let severity = f
            .product_fields
            .get(fields::SEVERITY)
            .and_then(|s| s.parse::<Severity>().ok())
            .unwrap_or(Severity::Unspecified);
        let cves: Vec<String> = f.vulnerabilities.iter().map(|v| v.id.clone()).collect();
        let d = evaluate(
            severity,
            &cves,
            first_seen,
            as_of,
            &self.sla,
            self.kev.as_ref(),
        );
        let pf = &mut f.product_fields;
        pf.insert(fields::DAYS_OPEN.into(), d.days_open.to_string());
        if let Some(due) = d.due_at {
            pf.insert(
                fields::SLA_DUE_AT.into(),
                due.to_rfc3339_opts(SecondsFormat::Millis, true),
            );
            pf.insert(fields::SLA_BREACHED.into(), d.breached.to_string());
        }
        let mut requirements = Vec::new();
        if let Some(rule) = self.sla.describe(severity) {
            requirements.push(format!("{REQUIREMENT_SLA} {rule}"));
        }
        let mut label = f.severity.label;
        if !d.known_exploited.is_empty() {
            pf.insert(fields::KNOWN_EXPLOITED.into(), "true".into());
            requirements.push(format!("{REQUIREMENT_KEV} {}", d.known_exploited.join(" ")));
            label = Some(SeverityLabel::Critical);
        }
        if d.breached {
            add_type(f, TYPE_DEADLINE_BREACHED);
            if self.escalate_breached {
                label = label.map(raise);
            }
        }
        if let Some(c) = &mut f.compliance {
            c.related_requirements = requirements;
        }
        if label != f.severity.label {
            set_label(f, label);
        }
        Some(d)
    }
}

fn add_type(f: &mut Finding, t: &str) {
    if !f.types.iter().any(|x| x == t) {
        f.types.push(t.to_string());
    }
    if let Some(fpf) = &mut f.finding_provider_fields
        && !fpf.types.iter().any(|x| x == t)
    {
        fpf.types.push(t.to_string());
    }
}

/// One step up, CRITICAL stays CRITICAL.
fn raise(l: SeverityLabel) -> SeverityLabel {
    match l {
        SeverityLabel::Informational => SeverityLabel::Low,
        SeverityLabel::Low => SeverityLabel::Medium,
        SeverityLabel::Medium => SeverityLabel::High,
        SeverityLabel::High | SeverityLabel::Critical => SeverityLabel::Critical,
    }
}

/// Sets the label in `Severity` and `FindingProviderFields.Severity` (the one Security Hub
/// honours on updates), with the matching `Normalized`.
fn set_label(f: &mut Finding, label: Option<SeverityLabel>) {
    f.severity.label = label;
    f.severity.normalized = label.map(SeverityLabel::normalized);
    if let Some(fpf) = &mut f.finding_provider_fields {
        let original = fpf.severity.as_ref().and_then(|s| s.original.clone());
        fpf.severity = Some(FindingProviderSeverity { label, original });
    }
}
