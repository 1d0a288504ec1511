//! Planner behaviour: what gets created, updated, skipped, refreshed, resolved, reopened,
//! and what is never touched.

mod common;

use std::collections::BTreeMap;

use chrono::Duration;
use common::*;
use patchhub_core::finding::fields;
use patchhub_core::reconcile;
use patchhub_core::*;

fn policy() -> FindingPolicy {
    FindingPolicy::default()
}

/// Runs one plan over `ncs` against the hub and applies it.
fn run(
    hub: &mut FakeHub,
    scope: &Scope,
    ncs: &[NodeCompliance],
    now: chrono::DateTime<chrono::Utc>,
) -> Plan {
    let p = plan_all(scope, ncs, &policy(), hub.read(), now);
    hub.apply(&p);
    assert_eq!(hub.ignored, 0, "Security Hub must never ignore an import");
    p
}

/// [`run`] over every node of the account and Region (a sweep).
fn sweep(hub: &mut FakeHub, ncs: &[NodeCompliance], now: chrono::DateTime<chrono::Utc>) -> Plan {
    run(hub, &all_scope(), ncs, now)
}

fn all_scope() -> Scope {
    Scope::all(ACCOUNT, REGION)
}

/// Imports `windows()` at `now()`, then returns it as a second scan a day later sees it
/// (execution `second-scan`), with that scan's end.
fn imported_then_rescanned(hub: &mut FakeHub) -> (NodeCompliance, chrono::DateTime<chrono::Utc>) {
    run(hub, &all_scope(), &[windows()], now());
    let mut nc = windows();
    let next_scan = scan_end() + Duration::days(1);
    nc.node.last_operation = Some(op(next_scan, "second-scan"));
    (nc, next_scan)
}

#[test]
fn first_run_creates_second_run_skips() {
    let mut hub = FakeHub::default();
    let ncs = [windows(), linux(), hybrid()];
    let p1 = sweep(&mut hub, &ncs, now());
    // 3 roll-ups + 2 + 2 + 1 patch findings.
    assert_eq!(p1.counts().create, 8);
    assert_eq!(p1.counts().imports(), 8);
    let p2 = sweep(&mut hub, &ncs, now() + Duration::hours(1));
    assert_eq!(p2.counts().imports(), 0, "{:?}", p2.counts());
    assert_eq!(p2.unchanged.len(), 8);
}

#[test]
fn refresh_before_retention_expires() {
    // A node that stopped scanning: its content no longer changes (scan time and execution
    // stay the same, staleness stays "true"), so only the heartbeat keeps it alive.
    let ncs = [windows()];
    let node = ncs[0].node.instance_id.clone();
    let interval = reconcile::refresh_interval(policy().refresh_after, &node);
    assert!(interval >= Duration::days(15) && interval <= Duration::days(30));
    let first = scan_end() + Duration::days(8);
    let mut hub = FakeHub::default();
    let created = sweep(&mut hub, &ncs, first);
    assert_eq!(created.counts().create, 4);
    let created_at: BTreeMap<String, _> = created
        .create
        .iter()
        .map(|f| (f.id.clone(), f.created_at))
        .collect();
    let p = sweep(&mut hub, &ncs, first + interval - Duration::minutes(1));
    assert_eq!(p.counts().imports(), 0, "not due yet");
    let later = first + interval;
    let p = sweep(&mut hub, &ncs, later);
    assert_eq!(p.counts().refresh, 4, "{:?}", p.counts());
    assert_eq!(p.counts().imports(), 4);
    for r in &p.refresh {
        assert_eq!(r.updated_at, later);
        assert_eq!(r.created_at, created_at[&r.id], "CreatedAt carried");
    }
    let p = sweep(&mut hub, &ncs, later + Duration::days(1));
    assert_eq!(p.counts().imports(), 0);
}

#[test]
fn heartbeats_of_a_fleet_spread_over_the_days() {
    // Findings created in one sync must not all come due on one day.
    let r = Duration::days(30);
    let mut days = std::collections::BTreeMap::new();
    for i in 0..1000 {
        let d = reconcile::refresh_interval(r, &format!("i-{i:017x}"));
        assert!(d >= Duration::days(15) && d <= r, "{d}");
        assert_eq!(d, reconcile::refresh_interval(r, &format!("i-{i:017x}")));
        *days.entry(d.num_days()).or_insert(0) += 1;
    }
    assert!(days.len() >= 15, "{days:?}");
    assert!(days.values().all(|n| *n < 150), "{days:?}");
    // A long period still leaves room for one more interval inside the 90-day retention.
    let mut long = std::collections::BTreeSet::new();
    for i in 0..100 {
        let d = reconcile::refresh_interval(Duration::days(89), &format!("n{i}"));
        assert!(d * 2 < Duration::days(90), "{d}");
        assert!(
            d >= Duration::days(22),
            "never shorter than half the capped period: {d}"
        );
        long.insert(d.num_days());
    }
    assert!(long.len() >= 10, "a long period keeps its spread: {long:?}");
}

#[test]
fn a_rescan_that_changes_nothing_imports_nothing() {
    let mut hub = FakeHub::default();
    let (nc, next_scan) = imported_then_rescanned(&mut hub);
    let p = sweep(&mut hub, &[nc], next_scan + Duration::hours(1));
    assert_eq!(p.counts().imports(), 0, "{:?}", p.counts());
    assert_eq!(p.counts().unchanged, 3, "roll-up and patch findings");
}

#[test]
fn a_rescan_that_changes_a_count_updates_the_rollup() {
    let mut hub = FakeHub::default();
    let (mut nc, next_scan) = imported_then_rescanned(&mut hub);
    nc.node.counts.not_applicable += 1;
    let p = sweep(&mut hub, &[nc], next_scan + Duration::hours(1));
    assert_eq!(p.counts().update, 1, "{:?}", p.counts());
    assert_eq!(p.update[0].kind(), Some(FindingKind::Rollup));
    assert_eq!(p.update[0].execution_id(), Some("second-scan"));
    assert_eq!(p.counts().unchanged, 2, "patch findings cost no ingestion");
}

#[test]
fn update_carries_created_and_first_observed() {
    let mut hub = FakeHub::default();
    let (mut nc, next_scan) = imported_then_rescanned(&mut hub);
    // The install attempt failed: both patches change state, and SSM's counts with them.
    for p in &mut nc.patches {
        p.state = match p.state {
            PatchState::Missing => PatchState::Failed,
            PatchState::Failed => PatchState::InstalledPendingReboot,
            s => s,
        };
    }
    nc.node.counts.missing -= 1;
    nc.node.counts.installed_pending_reboot += 1;
    let later = next_scan + Duration::hours(1);
    let p = sweep(&mut hub, &[nc], later);
    assert_eq!(
        p.counts().update,
        3,
        "roll-up and both patch findings changed"
    );
    for f in &p.update {
        // A new finding's CreatedAt is its first observation (the scan that reported it).
        assert_eq!(f.created_at, scan_end());
        assert_eq!(f.first_observed_at, Some(scan_end()));
        assert_eq!(f.updated_at, later);
        assert_eq!(f.last_observed_at, Some(later));
        assert_eq!(f.execution_id(), Some("second-scan"));
    }
}

#[test]
fn updated_at_moves_past_a_future_stored_value() {
    let mut hub = FakeHub::default();
    sweep(&mut hub, &[windows()], now());
    let future = now() + Duration::days(2);
    for f in hub.store.values_mut() {
        f.updated_at = future;
    }
    let mut nc = windows();
    nc.node.counts.not_applicable += 1;
    let p = sweep(&mut hub, &[nc], now() + Duration::hours(1));
    assert!(!p.update.is_empty());
    for f in p.to_import() {
        assert_eq!(f.updated_at, future + Duration::milliseconds(1));
    }
}

#[test]
fn resolves_patches_no_longer_missing_and_reopens_when_they_return() {
    let mut hub = FakeHub::default();
    sweep(&mut hub, &[windows()], now());

    let mut fixed = windows();
    let t2 = scan_end() + Duration::days(1);
    fixed.node.last_operation = Some(op(t2, "install-run"));
    fixed.patches.retain(|p| p.id != "KB5031364");
    let p = sweep(&mut hub, &[fixed], t2 + Duration::hours(1));
    assert_eq!(p.counts().resolve, 1);
    let r = &p.resolve[0];
    assert_eq!(r.patch_id(), Some("KB5031364"));
    assert_eq!(r.record_state, RecordState::Archived);
    assert_eq!(
        r.compliance.as_ref().unwrap().status,
        ComplianceStatus::Passed
    );
    assert_eq!(r.created_at, scan_end());
    assert!(r.product_fields[fields::RESOLUTION].contains("not present in the node's patch data"));
    assert!(r.product_fields.keys().all(|k| !k.starts_with("aws/")));

    // Archived and still not desired: left alone, even a year later.
    let mut fixed2 = windows();
    fixed2.node.last_operation = Some(op(t2, "install-run"));
    fixed2.patches.retain(|p| p.id != "KB5031364");
    let p = sweep(
        &mut hub,
        std::slice::from_ref(&fixed2),
        t2 + Duration::hours(2),
    );
    assert_eq!(p.counts().imports(), 0);
    assert!(
        p.unchanged
            .iter()
            .any(|id| id.ends_with("/patch/KB5031364"))
    );

    // It comes back (e.g. uninstalled): reopened, ACTIVE and FAILED, CreatedAt kept.
    let mut back = windows();
    let t3 = t2 + Duration::days(1);
    back.node.last_operation = Some(op(t3, "scan-3"));
    let p = sweep(&mut hub, &[back], t3 + Duration::hours(1));
    assert_eq!(p.counts().reopen, 1);
    let o = &p.reopen[0];
    assert!(o.is_active());
    assert_eq!(
        o.compliance.as_ref().unwrap().status,
        ComplianceStatus::Failed
    );
    assert_eq!(o.created_at, scan_end());
}

#[test]
fn sweep_resolves_findings_of_nodes_that_no_longer_exist() {
    let mut hub = FakeHub::default();
    sweep(&mut hub, &[windows(), linux()], now());
    let p = sweep(&mut hub, &[linux()], now() + Duration::hours(1));
    assert_eq!(
        p.counts().resolve,
        3,
        "web-1's roll-up and 2 patch findings"
    );
    assert!(
        p.resolve
            .iter()
            .all(|f| f.node_id() == Some("i-0123456789abcdef0"))
    );
    assert!(p.resolve[0].product_fields[fields::RESOLUTION].contains("no longer managed"));
}

#[test]
fn partial_run_never_touches_other_nodes() {
    let mut hub = FakeHub::default();
    sweep(&mut hub, &[windows(), linux()], now());
    let before = hub.store.clone();

    // Event for web-1 only, and it reads only web-1: db-2's findings are out of scope.
    let scope = Scope::nodes(ACCOUNT, REGION, ["i-0123456789abcdef0"]);
    let mut nc = windows();
    nc.patches.clear();
    let p = run(&mut hub, &scope, &[nc], now() + Duration::hours(1));
    assert_eq!(p.counts().resolve, 2);
    assert_eq!(p.out_of_scope, 3, "db-2's roll-up and 2 patch findings");
    for (id, f) in &before {
        if f.node_id() == Some("i-0fedcba9876543210") {
            assert_eq!(hub.store[id], *f);
        }
    }

    // A node named in the scope but not read this run is held back, not archived.
    let scope = Scope::nodes(ACCOUNT, REGION, ["i-0fedcba9876543210"]);
    let p = plan(PlanInput {
        scope: &scope,
        desired: vec![],
        existing: hub.read(),
        node_scans: BTreeMap::new(),
        now: now() + Duration::hours(2),
        refresh_after: Duration::days(30),
    });
    assert_eq!(p.counts().imports(), 0);
    assert_eq!(p.held_back.len(), 3);
}

#[test]
fn other_accounts_regions_and_products_are_out_of_scope() {
    let mut foreign = findings_for_node(&windows(), &policy(), now());
    foreign[0].aws_account_id = "999999999999".into();
    foreign[1].region = Some("us-east-1".into());
    foreign[2].generator_id = "other-tool/patch".into();
    let mut nodeless = findings_for_node(&linux(), &policy(), now()).remove(0);
    nodeless.product_fields.remove(fields::NODE_ID);
    let mut nodeless_foreign = nodeless.clone();
    nodeless_foreign.id.push_str("-x");
    nodeless_foreign.generator_id = "aws/ssm-patch-manager".into();

    let existing = [
        foreign.clone(),
        vec![nodeless.clone(), nodeless_foreign.clone()],
    ]
    .concat();
    let sweep = plan(PlanInput {
        scope: &all_scope(),
        desired: vec![],
        existing: existing.clone(),
        node_scans: BTreeMap::new(),
        now: now(),
        refresh_after: Duration::days(30),
    });
    assert_eq!(sweep.out_of_scope, 4);
    assert_eq!(
        sweep.resolve.len(),
        1,
        "only the node-less patchhub finding, in a full sweep"
    );
    assert_eq!(sweep.resolve[0].id, nodeless.id);

    let partial = plan(PlanInput {
        scope: &Scope::nodes(
            ACCOUNT,
            REGION,
            ["i-0123456789abcdef0", "i-0fedcba9876543210"],
        ),
        desired: vec![],
        existing,
        node_scans: scans_of(&[windows(), linux()]),
        now: now(),
        refresh_after: Duration::days(30),
    });
    assert_eq!(
        partial.out_of_scope, 5,
        "node-less findings only belong to full sweeps"
    );
    assert_eq!(partial.counts().imports(), 0);
}

#[test]
fn stale_data_never_resolves_or_overwrites_newer_findings() {
    let mut hub = FakeHub::default();
    let mut newer = windows();
    let t_new = scan_end() + Duration::days(1);
    newer.node.last_operation = Some(op(t_new, "newer"));
    sweep(&mut hub, &[newer], t_new + Duration::minutes(5));

    // A slow sweep that read web-1 before that scan: old data, fewer patches.
    let mut old = windows();
    old.patches.retain(|p| p.id != "KB5031364");
    let p = sweep(&mut hub, &[old], t_new + Duration::minutes(10));
    assert_eq!(p.counts().imports(), 0, "{:?}", p.counts());
    assert_eq!(
        p.held_back.len(),
        3,
        "1 not resolved + roll-up and KB5032198 not overwritten"
    );
}

#[test]
fn duplicates_are_planned_once_and_deterministically() {
    let desired = findings_for_node(&windows(), &policy(), now());
    let mut variant = desired[1].clone();
    variant.title = "another title".into();
    variant.seal();
    let with_dupes = [desired.clone(), vec![variant.clone()]].concat();
    let mut reversed = with_dupes.clone();
    reversed.reverse();
    let mk = |d: Vec<Finding>| {
        plan(PlanInput {
            scope: &all_scope(),
            desired: d,
            existing: vec![],
            node_scans: scans_of(&[windows()]),
            now: now(),
            refresh_after: Duration::days(30),
        })
    };
    let a = mk(with_dupes);
    let b = mk(reversed);
    assert_eq!(a.create.len(), desired.len());
    assert_eq!(a, b);

    // Existing duplicates (repeated across GetFindings pages) are planned once.
    let mut hub = FakeHub::default();
    sweep(&mut hub, &[windows()], now());
    let read = hub.read();
    let doubled = [read.clone(), read].concat();
    let p = plan(PlanInput {
        scope: &all_scope(),
        desired: vec![],
        existing: doubled,
        node_scans: BTreeMap::new(),
        now: now() + Duration::hours(1),
        refresh_after: Duration::days(30),
    });
    assert_eq!(p.resolve.len(), 3);
}
