//! Patch deadlines: how long a patch has been missing on a node, when it is due, and whether
//! the deadline has passed, from a per-severity [`SlaPolicy`] and CISA's [`KevCatalog`].
//!
//! The clock starts when patchhub first saw the patch missing on that node (the per-patch
//! finding's `FirstObservedAt`, which the planner carries from run to run), and is read at an
//! explicit instant (`as_of`), never at "now" inside this module, so backfills and tests can
//! move time.

mod apply;
mod kev;
mod sla;

pub use apply::{DeadlinePolicy, REQUIREMENT_KEV, REQUIREMENT_SLA, TYPE_DEADLINE_BREACHED};
pub use kev::{KEV_STALE_AFTER_DAYS, KevCatalog, KevEntry, KevError};
pub use sla::{SlaError, SlaPolicy};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::model::Severity;

/// How close a deadline must be to count as "due soon" in reports.
pub const DUE_SOON_DAYS: i64 = 7;

/// What sets a finding's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueSource {
    /// The severity's deadline in the [`SlaPolicy`].
    Sla,
    /// A CVE's `dueDate` in the KEV catalog, earlier than the SLA's (or no SLA).
    Kev,
}

/// A per-patch finding's deadline, evaluated at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// Whole days since the patch was first seen missing (0 on the first day).
    pub days_open: i64,
    /// When it is due; `None` when neither the SLA nor the catalog gives a deadline.
    pub due_at: Option<DateTime<Utc>>,
    /// What set `due_at`.
    pub source: Option<DueSource>,
    /// `due_at` has passed at the evaluation instant.
    pub breached: bool,
    /// The patch's CVEs that the KEV catalog lists, upper case, in the patch's order.
    pub known_exploited: Vec<String>,
}

/// Where a due date stands at one instant: the one rule the findings and the reports share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueState {
    /// The due date has passed (a deadline due at the instant is breached).
    Breached,
    /// Not breached, due within [`DUE_SOON_DAYS`].
    DueSoon,
    /// Further off.
    OnTrack,
}

impl DueState {
    /// Where `due` stands at `as_of`.
    pub fn of(due: DateTime<Utc>, as_of: DateTime<Utc>) -> Self {
        if due <= as_of {
            DueState::Breached
        } else if due - as_of <= Duration::days(DUE_SOON_DAYS) {
            DueState::DueSoon
        } else {
            DueState::OnTrack
        }
    }
}

impl Deadline {
    /// Due within [`DUE_SOON_DAYS`] of `as_of` and not yet breached.
    pub fn due_soon(&self, as_of: DateTime<Utc>) -> bool {
        self.due_at
            .is_some_and(|d| DueState::of(d, as_of) == DueState::DueSoon)
    }
}

/// A KEV `dueDate` is a calendar day; the deadline is the last millisecond of that day, UTC
/// (findings keep millisecond precision), so the day shown is the day CISA wrote.
fn end_of_day(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_milli_opt(23, 59, 59, 999)
        .expect("the last millisecond of a day exists")
        .and_utc()
}

/// The deadline of a patch of `severity` with `cves`, first seen missing at `first_seen`,
/// read at `as_of`. The earlier of the SLA's and the catalog's dates wins; a patch with a
/// CVE in the catalog has a deadline even when its severity has none.
pub fn evaluate(
    severity: Severity,
    cves: &[String],
    first_seen: DateTime<Utc>,
    as_of: DateTime<Utc>,
    sla: &SlaPolicy,
    kev: Option<&KevCatalog>,
) -> Deadline {
    let sla_due = sla
        .allowed(severity)
        .map(|d| (first_seen + d, DueSource::Sla));
    let mut known_exploited = Vec::new();
    let mut kev_due: Option<(DateTime<Utc>, DueSource)> = None;
    if let Some(k) = kev {
        for (cve, entry) in k.listed(cves) {
            let upper = cve.trim().to_ascii_uppercase();
            if !known_exploited.contains(&upper) {
                known_exploited.push(upper);
            }
            let due = end_of_day(entry.due_date);
            if kev_due.is_none_or(|(d, _)| due < d) {
                kev_due = Some((due, DueSource::Kev));
            }
        }
    }
    let chosen = match (sla_due, kev_due) {
        (Some(s), Some(k)) => Some(if k.0 < s.0 { k } else { s }),
        (s, k) => s.or(k),
    };
    Deadline {
        days_open: (as_of - first_seen).num_days().max(0),
        due_at: chosen.map(|c| c.0),
        source: chosen.map(|c| c.1),
        breached: chosen.is_some_and(|c| DueState::of(c.0, as_of) == DueState::Breached),
        known_exploited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap()
    }

    fn kev(cve: &str, due: &str) -> KevCatalog {
        KevCatalog::from_json(&format!(
            r#"{{"title":"t","catalogVersion":"v","dateReleased":"2026-03-01T00:00:00Z","count":1,
               "vulnerabilities":[{{"cveID":"{cve}","dateAdded":"2026-03-01","dueDate":"{due}"}}]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn sla_counts_from_first_seen() {
        let sla: SlaPolicy = "critical=15d".parse().unwrap();
        let d = evaluate(Severity::Critical, &[], t(1), t(10), &sla, None);
        assert_eq!((d.days_open, d.breached), (9, false));
        assert_eq!(d.due_at, Some(t(16)));
        assert_eq!(d.source, Some(DueSource::Sla));
        assert!(!d.due_soon(t(2)) && d.due_soon(t(10)));
        let d = evaluate(Severity::Critical, &[], t(1), t(16), &sla, None);
        assert!(d.breached, "due at the instant is breached");
        let d = evaluate(Severity::High, &[], t(1), t(30), &sla, None);
        assert_eq!((d.due_at, d.breached), (None, false));
    }

    #[test]
    fn kev_due_date_wins_when_earlier_and_applies_without_sla() {
        let sla: SlaPolicy = "high=30d".parse().unwrap();
        let k = kev("CVE-2026-1111", "2026-03-05");
        let cves = vec!["cve-2026-1111".to_string(), "CVE-2026-2222".to_string()];
        let d = evaluate(Severity::High, &cves, t(1), t(4), &sla, Some(&k));
        assert_eq!(d.known_exploited, ["CVE-2026-1111"]);
        assert_eq!(d.source, Some(DueSource::Kev));
        assert_eq!(
            d.due_at.map(|t| t.to_rfc3339()),
            Some("2026-03-05T23:59:59.999+00:00".to_string())
        );
        assert!(!d.breached);
        assert!(evaluate(Severity::High, &cves, t(1), t(6), &sla, Some(&k)).breached);
        // No SLA for LOW: the catalog alone sets the deadline.
        let d = evaluate(
            Severity::Low,
            &cves,
            t(1),
            t(4),
            &SlaPolicy::none(),
            Some(&k),
        );
        assert_eq!(d.source, Some(DueSource::Kev));
        // The SLA wins when it is earlier.
        let late = kev("CVE-2026-1111", "2026-12-31");
        let d = evaluate(Severity::High, &cves, t(1), t(4), &sla, Some(&late));
        assert_eq!(d.source, Some(DueSource::Sla));
        assert_eq!(d.known_exploited.len(), 1);
    }

    #[test]
    fn first_seen_in_the_future_is_day_zero() {
        let d = evaluate(Severity::Low, &[], t(5), t(4), &SlaPolicy::none(), None);
        assert_eq!(d.days_open, 0);
    }
}
