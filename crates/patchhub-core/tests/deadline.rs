//! Deadlines on mapped findings: the fields the console filters on, KEV marking, escalation,
//! and what stays out of the content fingerprint.

mod common;

use chrono::Duration;
use common::*;
use patchhub_core::deadline::*;
use patchhub_core::*;

fn kev(cves_due: &[(&str, &str)]) -> KevCatalog {
    let entries: Vec<String> = cves_due
        .iter()
        .map(|(c, d)| format!(r#"{{"cveID":"{c}","dateAdded":"2023-10-10","dueDate":"{d}"}}"#))
        .collect();
    KevCatalog::from_json(&format!(
        r#"{{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2024.03.01",
            "dateReleased":"2024-03-01T00:00:00Z","count":{},"vulnerabilities":[{}]}}"#,
        entries.len(),
        entries.join(",")
    ))
    .unwrap()
}

fn sla(rule: &str) -> DeadlinePolicy {
    DeadlinePolicy {
        sla: rule.parse().unwrap(),
        ..Default::default()
    }
}

fn patch_finding(nc: &NodeCompliance, id: &str) -> Finding {
    findings_for_node(nc, &FindingPolicy::default(), now())
        .into_iter()
        .find(|f| f.patch_id() == Some(id))
        .unwrap()
}

fn pf<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.product_fields.get(key).map(String::as_str)
}

#[test]
fn a_critical_patch_past_its_sla_says_so_everywhere_the_console_filters() {
    let policy = sla("critical=15d");
    let first_seen = now();
    let mut f = patch_finding(&windows(), "KB5031364");
    let before = f.compute_fingerprint();

    let d = policy
        .apply(&mut f, first_seen, first_seen + Duration::days(10))
        .unwrap();
    assert!(!d.breached);
    assert_eq!(pf(&f, fields::DAYS_OPEN), Some("10"));
    assert_eq!(pf(&f, fields::SLA_DUE_AT), Some("2024-03-16T12:00:00.000Z"));
    assert_eq!(pf(&f, fields::SLA_BREACHED), Some("false"));
    assert!(!f.types.iter().any(|t| t == TYPE_DEADLINE_BREACHED));
    let c = f.compliance.as_ref().unwrap();
    assert_eq!(c.related_requirements, ["patchhub SLA critical=15d"]);
    assert_ne!(f.compute_fingerprint(), before, "a due date is content");
    assert_eq!(f.validate(), Ok(()));

    let mut late = patch_finding(&windows(), "KB5031364");
    let d = policy
        .apply(&mut late, first_seen, first_seen + Duration::days(20))
        .unwrap();
    assert!(d.breached);
    assert_eq!(pf(&late, fields::SLA_BREACHED), Some("true"));
    assert!(late.types.iter().any(|t| t == TYPE_DEADLINE_BREACHED));
    let fpf = late.finding_provider_fields.as_ref().unwrap();
    assert!(fpf.types.iter().any(|t| t == TYPE_DEADLINE_BREACHED));
    assert_eq!(late.validate(), Ok(()));
}

#[test]
fn days_open_alone_does_not_change_the_fingerprint() {
    let policy = sla("critical=15d");
    let mut day1 = patch_finding(&windows(), "KB5031364");
    let mut day2 = day1.clone();
    policy.apply(&mut day1, now(), now() + Duration::days(1));
    policy.apply(&mut day2, now(), now() + Duration::days(2));
    assert_ne!(pf(&day1, fields::DAYS_OPEN), pf(&day2, fields::DAYS_OPEN));
    assert_eq!(day1.compute_fingerprint(), day2.compute_fingerprint());
}

#[test]
fn kev_marks_exactly_the_findings_with_catalogued_cves_and_rates_them_critical() {
    // KB5031364 (Windows) lists CVE-2023-36563; libc6 (hybrid) lists CVE-2023-4911, which
    // this catalog does not hold.
    let policy = DeadlinePolicy {
        kev: Some(kev(&[("CVE-2023-36563", "2023-10-31")])),
        ..Default::default()
    };
    let mut win = patch_finding(&windows(), "KB5031364");
    let mut libc = patch_finding(&hybrid(), "libc6");
    let d = policy.apply(&mut win, now(), now()).unwrap();
    assert_eq!(d.known_exploited, ["CVE-2023-36563"]);
    assert!(
        d.breached,
        "the catalog's due date passed before the first sighting"
    );
    assert_eq!(pf(&win, fields::KNOWN_EXPLOITED), Some("true"));
    assert_eq!(
        pf(&win, fields::SLA_DUE_AT),
        Some("2023-10-31T23:59:59.999Z")
    );
    assert_eq!(win.severity.label, Some(SeverityLabel::Critical));
    assert_eq!(
        win.compliance.as_ref().unwrap().related_requirements,
        ["CISA KEV CVE-2023-36563"]
    );

    let d = policy.apply(&mut libc, now(), now()).unwrap();
    assert!(d.known_exploited.is_empty() && d.due_at.is_none());
    assert_eq!(pf(&libc, fields::KNOWN_EXPLOITED), None);
    assert_eq!(pf(&libc, fields::SLA_DUE_AT), None);
    assert_eq!(libc.severity.label, Some(SeverityLabel::Medium));
}

#[test]
fn escalation_raises_a_breached_finding_one_step() {
    let policy = DeadlinePolicy {
        sla: "medium=30d".parse().unwrap(),
        escalate_breached: true,
        ..Default::default()
    };
    let mut f = patch_finding(&hybrid(), "libc6");
    policy.apply(&mut f, now(), now() + Duration::days(29));
    assert_eq!(f.severity.label, Some(SeverityLabel::Medium));
    policy.apply(&mut f, now(), now() + Duration::days(31));
    assert_eq!(f.severity.label, Some(SeverityLabel::High));
    assert_eq!(f.severity.normalized, Some(70));
    let fpf = f.finding_provider_fields.as_ref().unwrap();
    assert_eq!(
        fpf.severity.as_ref().unwrap().label,
        Some(SeverityLabel::High)
    );
    assert_eq!(f.validate(), Ok(()));
}

#[test]
fn roll_ups_and_an_off_policy_are_left_alone() {
    let on = sla("critical=1d");
    for mut f in findings_for_node(&windows(), &FindingPolicy::default(), now()) {
        let copy = f.clone();
        let got = DeadlinePolicy::default().apply(&mut f, now(), now() + Duration::days(9));
        assert!(got.is_none());
        assert_eq!(f, copy, "an off policy changes nothing");
        if f.kind() != Some(FindingKind::Patch) {
            assert!(on.apply(&mut f, now(), now() + Duration::days(9)).is_none());
            assert_eq!(f, copy, "{:?} findings carry no deadline", f.kind());
        }
    }
}

#[test]
fn the_report_judges_deadlines_at_its_own_time() {
    use patchhub_core::report::{ReportOptions, ReportSource, build};
    // KB5031364 (critical) fixes a catalogued CVE due 2024-03-05; KB5032198 (medium, failed)
    // and libc6 (medium) have the 30-day SLA; openssl (high) has no deadline.
    let policy = DeadlinePolicy {
        sla: "critical=15d,medium=30d".parse().unwrap(),
        kev: Some(kev(&[("CVE-2023-36563", "2024-03-05")])),
        ..Default::default()
    };
    let mut all = Vec::new();
    for nc in [windows(), linux(), hybrid()] {
        for mut f in findings_for_node(&nc, &FindingPolicy::default(), now()) {
            policy.apply(&mut f, now(), now());
            all.push(f);
        }
    }
    let at = |days| {
        build(
            &all,
            &ReportOptions::new(now() + Duration::days(days), ReportSource::File),
        )
        .deadlines
    };

    let d = at(0);
    assert_eq!(
        (d.counts.with_deadline, d.counts.breached, d.counts.due_soon),
        (3, 0, 1)
    );
    assert_eq!(d.findings[0].finding.patch_id, "KB5031364");
    assert!(d.findings[0].known_exploited && !d.findings[0].breached);
    assert_eq!(d.nodes_without_breach_rate, Some(1.0));
    assert_eq!(d.known_exploited.len(), 1);
    assert_eq!(d.known_exploited[0].cve, "CVE-2023-36563");
    assert_eq!(d.known_exploited[0].patches, ["KB5031364"]);

    let d = at(20);
    assert_eq!((d.counts.breached, d.counts.due_soon), (1, 0));
    assert_eq!(d.findings[0].days_overdue, 15);
    assert_eq!((d.nodes, d.nodes_without_breach), (3, 2));
    assert_eq!(d.nodes_without_breach_rate, Some(0.6667));
    assert!(d.known_exploited[0].breached);
    let windows_critical = d
        .by_scope
        .iter()
        .find(|r| r.severity == SeverityLabel::Critical)
        .unwrap();
    assert_eq!(
        (
            windows_critical.counts.with_deadline,
            windows_critical.counts.breached
        ),
        (1, 1)
    );

    let d = at(25);
    assert_eq!((d.counts.breached, d.counts.due_soon), (1, 2));
    let d = at(31);
    assert_eq!(
        (d.counts.breached, d.counts.due_soon, d.nodes_without_breach),
        (3, 0, 1)
    );
}

/// One sync as the AWS crate runs it: map, decorate against what the hub holds, plan, import.
fn sync(
    hub: &mut FakeHub,
    ncs: &[NodeCompliance],
    policy: &DeadlinePolicy,
    at: chrono::DateTime<chrono::Utc>,
) -> Plan {
    let scope = Scope::all(ACCOUNT, REGION);
    let existing = hub.read();
    let mut desired = desired_of(ncs, &FindingPolicy::default(), at);
    policy.decorate(&mut desired, &existing, at, at);
    let plan = plan(PlanInput {
        scope: &scope,
        desired,
        existing,
        node_scans: scans_of(ncs),
        now: at,
        // Heartbeats far off, so every import below is a change of substance.
        refresh_after: Duration::days(44),
    });
    hub.apply(&plan);
    plan
}

/// Whether `policy` judges the node of the stored roll-up `r` again at `at`, as the sync
/// decides it from the roll-up's digest.
fn judged_again(policy: &DeadlinePolicy, r: &Finding, at: chrono::DateTime<chrono::Utc>) -> bool {
    let d = r.digest();
    let mut fresh = r.clone();
    policy
        .rollup_as_stored(
            &mut fresh,
            d.deadline_policy.as_deref(),
            d.next_due_at.as_deref(),
            at,
        )
        .is_none()
}

fn stored<'a>(hub: &'a FakeHub, id_end: &str) -> &'a Finding {
    hub.store
        .values()
        .find(|f| f.id.ends_with(id_end))
        .unwrap_or_else(|| panic!("no finding ending {id_end}"))
}

#[test]
fn a_breach_is_written_once_by_the_first_sync_after_the_deadline_and_resolves_with_the_patch() {
    let policy = sla("critical=15d");
    let mut hub = FakeHub::default();
    let t = now();
    let mut fleet = [windows(), linux(), hybrid()];
    for nc in &mut fleet {
        // Scanned just before each sync, so no stale-scan finding interferes.
        nc.node.last_operation = Some(op(t + Duration::days(20), "scan"));
    }
    let first = sync(&mut hub, &fleet, &policy, t);
    assert!(
        first
            .create
            .iter()
            .any(|f| f.patch_id() == Some("KB5031364"))
    );
    let kb = stored(&hub, "/patch/KB5031364");
    assert_eq!(pf(kb, fields::SLA_BREACHED), Some("false"));
    assert_eq!(pf(kb, fields::SLA_DUE_AT), Some("2024-03-16T12:00:00.000Z"));
    let rollup = stored(&hub, &format!("{}/rollup", windows().node.instance_id));
    assert_eq!(
        pf(rollup, fields::NEXT_DUE_AT),
        Some("2024-03-16T12:00:00.000Z")
    );
    assert_eq!(
        pf(rollup, fields::DEADLINE_POLICY),
        Some("sla=critical=15d;kev=none;escalate=false")
    );
    assert!(!judged_again(&policy, rollup, t + Duration::days(10)));
    assert!(judged_again(&policy, rollup, t + Duration::days(15)));
    assert!(
        judged_again(&sla("critical=10d"), rollup, t),
        "another SLA judges again"
    );
    assert!(
        judged_again(&DeadlinePolicy::default(), rollup, t),
        "so does turning it off"
    );

    // Ten days on, nothing to write: days open alone is not content.
    let quiet = sync(&mut hub, &fleet, &policy, t + Duration::days(10));
    assert_eq!(quiet.counts().imports(), 0, "{:?}", quiet.counts());

    // Twenty days on: the breach, counted from the first sighting, and the roll-up that no
    // longer has a deadline ahead.
    let late = sync(&mut hub, &fleet, &policy, t + Duration::days(20));
    let ids: Vec<&str> = late.update.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(late.counts().imports(), 2, "{ids:?}");
    let kb = stored(&hub, "/patch/KB5031364");
    assert_eq!(pf(kb, fields::SLA_BREACHED), Some("true"));
    assert_eq!(pf(kb, fields::DAYS_OPEN), Some("20"));
    assert_eq!(kb.first_observed_at, Some(t), "the clock never restarts");
    assert!(kb.types.iter().any(|x| x == TYPE_DEADLINE_BREACHED));
    let rollup = stored(&hub, &format!("{}/rollup", windows().node.instance_id));
    assert_eq!(pf(rollup, fields::NEXT_DUE_AT), None);
    assert!(!judged_again(&policy, rollup, t + Duration::days(30)));
    assert_eq!(
        sync(&mut hub, &fleet, &policy, t + Duration::days(21))
            .counts()
            .imports(),
        0
    );

    // Installing the patch resolves the finding, and the breach with it.
    fleet[0].patches.retain(|p| p.id != "KB5031364");
    fleet[0].patches.push(installed("KB5031364"));
    fleet[0].node.counts.critical_non_compliant = 0;
    let fixed = sync(&mut hub, &fleet, &policy, t + Duration::days(22));
    assert!(
        fixed
            .resolve
            .iter()
            .any(|f| f.patch_id() == Some("KB5031364"))
    );
    assert!(!stored(&hub, "/patch/KB5031364").is_active());
    let report = patchhub_core::report::build(
        &hub.read(),
        &patchhub_core::report::ReportOptions::new(
            t + Duration::days(22),
            patchhub_core::report::ReportSource::SecurityHub,
        ),
    );
    assert_eq!(
        report.deadlines.counts.breached, 0,
        "{:?}",
        report.deadlines
    );
}
