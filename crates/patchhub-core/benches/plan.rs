//! Mapping + planning throughput, in findings per second on one core.
//!
//! Fleet: 200 nodes, 30 patches each of which 6 are non-compliant (3 CVEs each), so 7
//! findings per node (roll-up + 6 patch findings) = 1,400 findings. Scenarios:
//! `map` (mapping only), `plan/first-run` (all creates), `plan/steady` (nothing changed:
//! all unchanged), `plan/new-scan` (every node rescanned, same patches: the 200 roll-ups
//! update, patch findings stay unchanged), `plan/all-changed` (every patch changed state:
//! all 1,400 update), and `map+plan/steady`, the per-run cost of a sync that changes nothing.

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use patchhub_core::*;

const NODES: usize = 200;
const PATCHES: usize = 30;

fn scan_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap()
}

/// The fleet after a scan ending at `end`; `failed_install` flips every non-compliant
/// patch to another non-compliant state.
fn fleet(execution: &str, end: DateTime<Utc>, failed_install: bool) -> Vec<NodeCompliance> {
    (0..NODES)
        .map(|i| {
            let windows = i % 2 == 0;
            let mut node =
                ManagedNode::new("123456789012", "eu-west-1", "aws", format!("i-{i:017x}"));
            node.platform = if windows {
                Platform::Windows
            } else {
                Platform::Linux
            };
            node.platform_name = if windows {
                "Microsoft Windows Server 2022 Datacenter"
            } else {
                "Amazon Linux"
            }
            .into();
            node.name = Some(format!("node-{i}"));
            node.ping_status = PingStatus::Online;
            node.patch_group = Some("prod".into());
            node.baseline_id = Some("pb-0123456789abcdef0".into());
            node.last_operation = Some(PatchOperation {
                operation: Operation::Scan,
                start: end - Duration::minutes(5),
                end,
                execution_id: Some(format!("{execution}-{i}")),
                reboot_option: Some("RebootIfNeeded".into()),
            });
            node.counts = PatchCounts {
                installed: 24,
                missing: 4,
                failed: 1,
                installed_pending_reboot: 1,
                ..Default::default()
            };
            node.tags.insert("Env".into(), "prod".into());
            let patches = (0..PATCHES)
                .map(|j| {
                    let state = match (j, failed_install) {
                        (0..=3, false) => PatchState::Missing,
                        (0..=3, true) | (4, false) => PatchState::Failed,
                        (4, true) => PatchState::Missing,
                        (5, false) => PatchState::InstalledPendingReboot,
                        (5, true) => PatchState::InstalledRejected,
                        _ => PatchState::Installed,
                    };
                    let id = if windows {
                        format!("KB50{j:05}")
                    } else {
                        format!("package-{j}.x86_64")
                    };
                    let mut p = PatchItem::new(
                        id,
                        state,
                        if j % 3 == 0 {
                            Severity::Critical
                        } else {
                            Severity::Unspecified
                        },
                    );
                    p.title = format!(
                        "Update {j} for the operating system, cumulative, with a realistic length"
                    );
                    p.classification = "SecurityUpdates".into();
                    p.vendor_severity = "Important".into();
                    if state.is_non_compliant(false) {
                        p.cve_ids = (0..3)
                            .map(|k| format!("CVE-2024-{}", 10_000 + j * 10 + k))
                            .collect();
                    }
                    p
                })
                .collect();
            NodeCompliance { node, patches }
        })
        .collect()
}

fn map_all(ncs: &[NodeCompliance], policy: &FindingPolicy, now: DateTime<Utc>) -> Vec<Finding> {
    ncs.iter()
        .flat_map(|nc| findings_for_node(nc, policy, now))
        .collect()
}

fn scans(ncs: &[NodeCompliance]) -> BTreeMap<String, Option<DateTime<Utc>>> {
    ncs.iter()
        .map(|nc| (nc.node.instance_id.clone(), nc.node.last_scan_end()))
        .collect()
}

fn input<'a>(
    scope: &'a Scope,
    ncs: &[NodeCompliance],
    desired: Vec<Finding>,
    existing: Vec<Finding>,
    now: DateTime<Utc>,
) -> PlanInput<'a> {
    PlanInput {
        scope,
        desired,
        existing,
        node_scans: scans(ncs),
        now,
        refresh_after: Duration::days(30),
    }
}

fn benches(c: &mut Criterion) {
    let policy = FindingPolicy::default();
    let scope = Scope::all("123456789012", "eu-west-1");
    let now = scan_end() + Duration::hours(1);
    let ncs = fleet("exec-a", scan_end(), false);
    let desired = map_all(&ncs, &policy, now);
    let n = desired.len() as u64;
    assert_eq!(n as usize, NODES * 7);
    let stored: Vec<Finding> = plan(input(&scope, &ncs, desired.clone(), vec![], now))
        .to_import()
        .cloned()
        .collect();
    let later = now + Duration::hours(1);
    let rescan_end = scan_end() + Duration::minutes(90);
    let rescanned = fleet("exec-b", rescan_end, false);
    let desired_rescan = map_all(&rescanned, &policy, later);
    let changed = fleet("exec-c", rescan_end, true);
    let desired_changed = map_all(&changed, &policy, later);
    {
        // The scenarios are what their names say.
        let c = plan(input(&scope, &ncs, desired.clone(), stored.clone(), later)).counts();
        assert_eq!(c.unchanged, n as usize);
        let c = plan(input(
            &scope,
            &rescanned,
            desired_rescan.clone(),
            stored.clone(),
            later,
        ))
        .counts();
        assert_eq!((c.update, c.unchanged), (NODES, n as usize - NODES));
        let c = plan(input(
            &scope,
            &changed,
            desired_changed.clone(),
            stored.clone(),
            later,
        ))
        .counts();
        assert_eq!(c.update, n as usize);
    }

    let mut g = c.benchmark_group("patchhub");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    g.bench_function("map", |b| b.iter(|| map_all(black_box(&ncs), &policy, now)));
    // Each plan scenario: its nodes, what the mapping wants, what Security Hub holds, the clock.
    let scenarios = [
        ("plan/first-run", &ncs, &desired, &Vec::new(), now),
        ("plan/steady", &ncs, &desired, &stored, later),
        ("plan/new-scan", &rescanned, &desired_rescan, &stored, later),
        (
            "plan/all-changed",
            &changed,
            &desired_changed,
            &stored,
            later,
        ),
    ];
    for (name, nodes, want, have, at) in scenarios {
        g.bench_function(name, |b| {
            b.iter_batched(
                || (want.clone(), have.clone()),
                |(d, e)| plan(input(&scope, nodes, d, e, at)),
                criterion::BatchSize::LargeInput,
            )
        });
    }
    g.bench_function("map+plan/steady", |b| {
        b.iter_batched(
            || stored.clone(),
            |e| plan(input(&scope, &ncs, map_all(&ncs, &policy, later), e, later)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(plan_benches, benches);
criterion_main!(plan_benches);
