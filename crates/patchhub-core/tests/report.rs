//! Report figures on a small hand-made fleet whose answers are worked out by hand below.
//!
//! Two accounts, two Regions, six nodes, mapped by the real mapping at `now()`:
//!
//! | node | account/Region | platform | state |
//! |---|---|---|---|
//! | a1 | A eu-west-1 | Windows 2022 | KB1 missing (CRITICAL, CVE-1,2), KB2 failed (HIGH, CVE-3, seen 2023-12-01) |
//! | a2 | A eu-west-1 | Windows 2022 | compliant; KB9 resolved 5 days ago, KB8 resolved 80 days ago |
//! | a3 | A us-east-1 | Ubuntu | openssl missing (HIGH, CVE-3, seen 03-10), kernel pending reboot (MEDIUM) |
//! | b1 | B eu-west-1 | Windows 2022 | KB1 missing (CRITICAL), last scan 03-01: stale |
//! | b2 | B eu-west-1 | Amazon Linux | compliant, agent ConnectionLost |
//! | b3 | B us-east-1 | RHEL | never scanned |

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use patchhub_core::report::{ReportOptions, ReportSource, SeverityCounts, build};
use patchhub_core::*;

const A: &str = "111111111111";
const B: &str = "222222222222";
const EU: &str = "eu-west-1";
const US: &str = "us-east-1";

fn t(y: i32, mo: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, 10, 0, 0).unwrap()
}

/// The fields of each row a test compares, in order.
fn rows<'a, T, R>(items: &'a [T], fields: impl Fn(&'a T) -> R) -> Vec<R> {
    items.iter().map(fields).collect()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 20, 12, 0, 0).unwrap()
}

fn node(
    account: &str,
    region: &str,
    id: &str,
    platform: Platform,
    name: &str,
    scan: Option<DateTime<Utc>>,
) -> ManagedNode {
    let mut n = ManagedNode::new(account, region, "aws", id);
    n.platform = platform;
    n.platform_name = name.into();
    n.name = Some(format!("{id}-name"));
    n.ping_status = PingStatus::Online;
    n.baseline_id = Some("pb-0123456789abcdef0".into());
    n.last_operation = scan.map(|end| PatchOperation {
        operation: Operation::Scan,
        start: end - Duration::minutes(5),
        end,
        execution_id: Some("11111111-2222-3333-4444-555555555555".into()),
        reboot_option: Some("RebootIfNeeded".into()),
    });
    n.counts.installed = 10;
    n
}

fn patch(id: &str, state: PatchState, sev: Severity, cves: &[&str]) -> PatchItem {
    let mut p = PatchItem::new(id, state, sev);
    p.title = format!("{id} title");
    p.classification = "SecurityUpdates".into();
    p.cve_ids = cves.iter().map(|c| c.to_string()).collect();
    p
}

fn win() -> Platform {
    Platform::Windows
}

const WIN: &str = "Microsoft Windows Server 2022 Datacenter";

/// The fleet's findings as Security Hub would hold them.
fn fleet() -> Vec<Finding> {
    let policy = FindingPolicy::default();
    let fresh = Some(t(2024, 3, 20));
    let mut out = Vec::new();
    let mut add = |n: ManagedNode, patches: Vec<PatchItem>| {
        out.extend(findings_for_node(
            &NodeCompliance { node: n, patches },
            &policy,
            now(),
        ))
    };

    let mut a1 = node(A, EU, "i-a1", win(), WIN, fresh);
    a1.counts.missing = 1;
    a1.counts.failed = 1;
    a1.counts.critical_non_compliant = 1;
    a1.counts.security_non_compliant = 2;
    add(
        a1,
        vec![
            patch(
                "KB1",
                PatchState::Missing,
                Severity::Critical,
                &["CVE-2024-0001", "CVE-2024-0002"],
            ),
            patch(
                "KB2",
                PatchState::Failed,
                Severity::High,
                &["CVE-2024-0003"],
            ),
        ],
    );
    add(node(A, EU, "i-a2", win(), WIN, fresh), vec![]);

    let mut a3 = node(A, US, "i-a3", Platform::Linux, "Ubuntu", fresh);
    a3.counts.missing = 1;
    a3.counts.installed_pending_reboot = 1;
    a3.counts.security_non_compliant = 1;
    add(
        a3,
        vec![
            patch(
                "openssl",
                PatchState::Missing,
                Severity::High,
                &["CVE-2024-0003"],
            ),
            patch(
                "kernel",
                PatchState::InstalledPendingReboot,
                Severity::Medium,
                &[],
            ),
        ],
    );

    let mut b1 = node(B, EU, "i-b1", win(), WIN, Some(t(2024, 3, 1)));
    b1.counts.missing = 1;
    b1.counts.critical_non_compliant = 1;
    add(
        b1,
        vec![patch(
            "KB1",
            PatchState::Missing,
            Severity::Critical,
            &["CVE-2024-0001", "CVE-2024-0002"],
        )],
    );

    let mut b2 = node(
        B,
        EU,
        "i-b2",
        Platform::Linux,
        "Amazon Linux",
        Some(t(2024, 3, 19)),
    );
    b2.ping_status = PingStatus::ConnectionLost;
    add(b2, vec![]);

    add(
        node(
            B,
            US,
            "i-b3",
            Platform::Linux,
            "Red Hat Enterprise Linux",
            None,
        ),
        vec![],
    );

    // Security Hub carries FirstObservedAt over from the first import.
    for f in &mut out {
        match (f.node_id(), f.patch_id()) {
            (Some("i-a1"), Some("KB2")) => f.first_observed_at = Some(t(2023, 12, 1)),
            (Some("i-a3"), Some("openssl")) => f.first_observed_at = Some(t(2024, 3, 10)),
            _ => {}
        }
    }

    // Resolved patch findings of a2: one inside the 30-day window, one outside.
    for (kb, resolved) in [
        ("KB9", now() - Duration::days(5)),
        ("KB8", now() - Duration::days(80)),
    ] {
        let mut n = node(A, EU, "i-a2", win(), WIN, fresh);
        n.counts.missing = 1;
        let mut f = patch_findings(
            &NodeCompliance {
                node: n,
                patches: vec![patch(kb, PatchState::Missing, Severity::Low, &[])],
            },
            &policy,
            resolved,
        )
        .remove(0);
        f.record_state = RecordState::Archived;
        out.push(f);
    }
    out
}

fn opts() -> ReportOptions {
    ReportOptions::new(now(), ReportSource::SecurityHub)
}

fn sev(critical: usize, high: usize, medium: usize, low: usize) -> SeverityCounts {
    SeverityCounts {
        critical,
        high,
        medium,
        low,
        informational: 0,
    }
}

#[test]
fn compliance_per_account_and_region_with_its_severity_split() {
    let r = build(&fleet(), &opts());
    let t = &r.totals;
    assert_eq!((t.accounts, t.regions), (2, 2));
    let c = &t.compliance;
    assert_eq!(
        (c.nodes, c.scanned, c.compliant, c.non_compliant),
        (6, 5, 2, 3)
    );
    assert_eq!(c.compliance_rate, Some(0.4));
    assert_eq!(c.non_compliant_by_severity, sev(2, 1, 0, 0));
    assert_eq!(c.open_findings, 5);
    assert_eq!(c.findings_by_severity, sev(2, 2, 1, 0));
    assert_eq!(c.stale, 3);

    let accounts = rows(&r.accounts, |a| a.account.as_str());
    assert_eq!(accounts, [A, B]);
    let a = &r.accounts[0].compliance;
    assert_eq!(
        (a.nodes, a.scanned, a.compliant, a.non_compliant, a.stale),
        (3, 3, 1, 2, 0)
    );
    assert_eq!(a.compliance_rate, Some(0.3333));
    assert_eq!(a.non_compliant_by_severity, sev(1, 1, 0, 0));
    assert_eq!(a.findings_by_severity, sev(1, 2, 1, 0));
    assert_eq!(r.accounts[0].region_count, 2);
    let b = &r.accounts[1].compliance;
    assert_eq!(
        (b.nodes, b.scanned, b.compliant, b.non_compliant, b.stale),
        (3, 2, 1, 1, 3)
    );
    assert_eq!(b.compliance_rate, Some(0.5));
    assert_eq!(b.non_compliant_by_severity, sev(1, 0, 0, 0));

    let regions = rows(&r.regions, |x| {
        (
            x.region.as_str(),
            x.account_count,
            x.compliance.compliance_rate,
        )
    });
    assert_eq!(regions, [(EU, 2, Some(0.5)), (US, 2, Some(0.0))]);
    assert_eq!(r.regions[1].compliance.scanned, 1, "b3 never scanned");
}

#[test]
fn severities_patches_and_cves() {
    let r = build(&fleet(), &opts());
    let s = rows(&r.severities, |s| {
        (
            s.severity.as_str(),
            s.open_findings,
            s.nodes,
            s.patches,
            s.cves,
        )
    });
    assert_eq!(
        s,
        [
            ("CRITICAL", 2, 2, 1, 2),
            ("HIGH", 2, 2, 2, 1),
            ("MEDIUM", 1, 1, 1, 0),
            ("LOW", 0, 0, 0, 0),
            ("INFORMATIONAL", 0, 0, 0, 0),
        ]
    );

    // The pending-reboot kernel is installed, so not a missing patch.
    assert_eq!(r.totals.missing_patches, 3);
    let p = rows(&r.top_patches, |p| {
        (
            p.patch_id.as_str(),
            p.nodes,
            p.accounts,
            p.missing,
            p.failed,
        )
    });
    assert_eq!(
        p,
        [
            ("KB1", 2, 2, 2, 0),
            ("KB2", 1, 1, 0, 1),
            ("openssl", 1, 1, 1, 0)
        ]
    );
    let kb1 = &r.top_patches[0];
    assert_eq!(kb1.severity, SeverityLabel::Critical);
    assert_eq!(kb1.title, "KB1 title");
    assert_eq!(kb1.classification, "SecurityUpdates");
    assert_eq!(kb1.cves, ["CVE-2024-0001", "CVE-2024-0002"]);

    assert_eq!(r.totals.open_cves, 3);
    let c = rows(&r.cves, |c| {
        (c.cve.as_str(), c.severity.as_str(), c.nodes, c.accounts)
    });
    assert_eq!(
        c,
        [
            ("CVE-2024-0001", "CRITICAL", 2, 2),
            ("CVE-2024-0002", "CRITICAL", 2, 2),
            ("CVE-2024-0003", "HIGH", 2, 1),
        ]
    );
    assert_eq!(r.cves[0].first_observed_at, t(2024, 3, 1));
    assert_eq!(r.cves[0].age_days, 19);
    assert_eq!(r.cves[2].patches, ["KB2", "openssl"]);
    assert_eq!(r.cves[2].age_days, 110, "KB2 on a1 since 2023-12-01");
}

#[test]
fn ages_stale_nodes_reboots_and_platforms() {
    let r = build(&fleet(), &opts());
    let oldest = rows(&r.oldest_findings, |f| {
        (f.node_id.as_str(), f.patch_id.as_str(), f.age_days)
    });
    assert_eq!(
        oldest,
        [
            ("i-a1", "KB2", 110),
            ("i-b1", "KB1", 19),
            ("i-a3", "openssl", 10),
            ("i-a1", "KB1", 0),
            ("i-a3", "kernel", 0),
        ]
    );
    assert_eq!(r.oldest_findings[0].state, "FAILED");
    assert_eq!(r.oldest_findings[0].node_name.as_deref(), Some("i-a1-name"));

    let buckets = rows(&r.age_buckets, |b| (b.label.as_str(), b.findings));
    assert_eq!(
        buckets,
        [
            ("under 1 day", 2),
            ("1-6 days", 0),
            ("7-29 days", 2),
            ("30-89 days", 0),
            ("90+ days", 1),
        ]
    );
    assert_eq!(r.age_buckets[0].by_severity, sev(1, 0, 1, 0));
    assert_eq!(r.age_buckets[4].by_severity, sev(0, 1, 0, 0));

    let stale = rows(&r.stale_nodes, |s| {
        (s.node_id.as_str(), s.reasons.join(","), s.days_since_scan)
    });
    assert_eq!(
        stale,
        [
            ("i-b3", "never-scanned".to_string(), None),
            ("i-b1", "scan-too-old".to_string(), Some(19)),
            ("i-b2", "connection-lost".to_string(), Some(1)),
        ]
    );
    assert_eq!(
        r.stale_nodes[2].ping_status.as_deref(),
        Some("ConnectionLost")
    );
    assert_eq!(r.stale_nodes[0].platform, "Red Hat Enterprise Linux");
    assert_eq!(r.totals.connection_lost, 1);

    assert_eq!(r.totals.pending_reboot, 1);
    let rb = &r.pending_reboots[0];
    assert_eq!((rb.node_id.as_str(), rb.patches), ("i-a3", 1));
    assert_eq!(rb.reboot_option.as_deref(), Some("RebootIfNeeded"));
    assert_eq!(rb.since, Some(t(2024, 3, 20)));

    let p = rows(&r.platforms, |p| {
        (
            p.platform.as_str(),
            p.compliance.nodes,
            p.compliance.compliant,
            p.compliance.stale,
        )
    });
    assert_eq!(
        p,
        [
            (WIN, 3, 1, 1),
            ("Amazon Linux", 1, 1, 1),
            ("Red Hat Enterprise Linux", 1, 0, 1),
            ("Ubuntu", 1, 0, 0),
        ]
    );
    assert_eq!(r.platforms[0].platform_type, "Windows");
}

#[test]
fn resolved_recently_counts_archived_patch_findings_in_the_window() {
    let r = build(&fleet(), &opts());
    assert_eq!(r.totals.resolved_recently, Some(1));
    assert_eq!(r.totals.resolved_window_days, 30);
    // Archived findings are not open: a2 stays compliant with no open findings.
    assert_eq!(r.totals.compliance.open_findings, 5);
    // SSM keeps no history: unknown, not zero.
    let ssm = build(&fleet(), &ReportOptions::new(now(), ReportSource::Ssm));
    assert_eq!(ssm.totals.resolved_recently, None);
}

#[test]
fn a_finding_read_twice_counts_once_in_its_newest_version() {
    let fleet = fleet();
    let mut twice = fleet.clone();
    twice.extend(fleet.iter().cloned());
    // An older copy (an aggregated Region's leftover) of a finding since resolved.
    let kb1 = fleet
        .iter()
        .find(|f| f.node_id() == Some("i-b1") && f.patch_id() == Some("KB1"))
        .unwrap();
    let mut resolved = kb1.clone();
    resolved.record_state = RecordState::Archived;
    resolved.updated_at += Duration::minutes(1);
    twice.push(resolved);

    let r = build(&twice, &opts());
    assert_eq!(r.totals.compliance.nodes, 6);
    assert_eq!(r.totals.compliance.open_findings, 4, "b1's KB1 is resolved");
    assert_eq!(r.top_patches[0].nodes, 1);
    assert_eq!(r.totals.resolved_recently, Some(2));
}

#[test]
fn the_report_does_not_depend_on_input_order_and_top_caps_the_ranked_lists() {
    let fleet = fleet();
    let mut reversed = fleet.clone();
    reversed.reverse();
    assert_eq!(build(&fleet, &opts()), build(&reversed, &opts()));

    let mut o = opts();
    o.top = 1;
    let r = build(&fleet, &o);
    assert_eq!(r.top_patches.len(), 1);
    assert_eq!(r.cves.len(), 1);
    assert_eq!(r.oldest_findings.len(), 1);
    // Totals and histograms still cover everything.
    assert_eq!(r.totals.missing_patches, 3);
    assert_eq!(r.age_buckets.iter().map(|b| b.findings).sum::<usize>(), 5);
    assert_eq!(r.stale_nodes.len(), 3);
}

#[test]
fn an_empty_fleet_has_no_rate_rather_than_zero() {
    let r = build(&[], &opts());
    assert_eq!(r.totals.compliance.compliance_rate, None);
    assert!(r.accounts.is_empty() && r.top_patches.is_empty());
    assert_eq!(r.severities.len(), 5);
    assert_eq!(r.age_buckets.len(), 5);
}

#[test]
fn the_json_schema_is_versioned_and_stable() {
    let v = serde_json::to_value(build(&fleet(), &opts())).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["generated_at"], "2024-03-20T12:00:00.000Z");
    assert_eq!(v["source"], "securityhub");
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "schema_version",
        "generated_at",
        "source",
        "top",
        "totals",
        "accounts",
        "regions",
        "severities",
        "top_patches",
        "cves",
        "oldest_findings",
        "age_buckets",
        "stale_nodes",
        "pending_reboots",
        "platforms",
        "deadlines",
    ]
    .into();
    assert_eq!(keys, expected);
    // Compliance figures are flattened into their rows.
    let a = &v["accounts"][0];
    assert_eq!(a["account"], A);
    assert_eq!(a["compliance_rate"], 0.3333);
    assert_eq!(a["non_compliant_by_severity"]["critical"], 1);
    assert_eq!(v["totals"]["scanned"], 5);
    assert_eq!(v["severities"][0]["severity"], "CRITICAL");
    assert_eq!(v["stale_nodes"][0]["last_scan"], serde_json::Value::Null);
    assert_eq!(
        v["cves"][0]["first_observed_at"],
        "2024-03-01T10:00:00.000Z"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Reading findings in any order, any number of times, from any subset of the fleet gives
    /// figures that add up: per-account and per-Region rows sum to the totals, the severity
    /// split sums to the non-compliant nodes, and the age buckets to the open findings.
    #[test]
    fn figures_add_up_whatever_is_read_and_however_often(
        picks in proptest::collection::vec(0usize..1000, 0..40),
        rotate in 0usize..50,
    ) {
        let fleet = fleet();
        let input: Vec<Finding> = picks.iter().map(|i| fleet[i % fleet.len()].clone()).collect();
        let mut doubled = input.clone();
        doubled.extend(input.iter().cloned());
        if !doubled.is_empty() {
            let k = rotate % doubled.len();
            doubled.rotate_left(k);
        }
        let r = build(&input, &opts());
        proptest::prop_assert_eq!(&build(&doubled, &opts()), &r);

        let c = &r.totals.compliance;
        let sum = |f: &dyn Fn(&patchhub_core::report::Compliance) -> usize| {
            (
                r.accounts.iter().map(|a| f(&a.compliance)).sum::<usize>(),
                r.regions.iter().map(|a| f(&a.compliance)).sum::<usize>(),
                r.platforms.iter().map(|a| f(&a.compliance)).sum::<usize>(),
            )
        };
        for (name, f) in [
            ("nodes", (|k: &patchhub_core::report::Compliance| k.nodes) as fn(&_) -> usize),
            ("scanned", |k| k.scanned),
            ("compliant", |k| k.compliant),
            ("non_compliant", |k| k.non_compliant),
            ("open_findings", |k| k.open_findings),
            ("stale", |k| k.stale),
        ] {
            let total = f(c);
            proptest::prop_assert_eq!(sum(&f), (total, total, total), "{}", name);
        }
        proptest::prop_assert_eq!(c.non_compliant_by_severity.total(), c.non_compliant);
        proptest::prop_assert_eq!(c.findings_by_severity.total(), c.open_findings);
        proptest::prop_assert_eq!(
            r.age_buckets.iter().map(|b| b.findings).sum::<usize>(),
            c.open_findings
        );
        proptest::prop_assert_eq!(
            r.severities.iter().map(|s| s.open_findings).sum::<usize>(),
            c.open_findings
        );
        proptest::prop_assert!(c.compliant + c.non_compliant <= c.scanned && c.scanned <= c.nodes);
    }
}
