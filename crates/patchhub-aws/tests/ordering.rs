//! The sync's ordering rules, without HTTP: `sync_target` against the kit's in-memory SSM and
//! Security Hub, asserting on the calls it made and what the fake Security Hub holds.
//!
//! - A node's roll-up is imported in a second wave, after its patch findings were accepted; a
//!   refused patch finding holds the roll-up back, so the next run redoes the node.
//! - Resolutions (an installed patch, a terminated node) go in with the first wave; a gone node's
//!   roll-up is archived after its patch findings.
//! - Older SSM data never resolves or overwrites findings built from newer data.
//! - Nothing outside the run's scope is read for or written: another node in a single-node run,
//!   another account or Region in a sweep, a node whose patches could not be read.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use patchhub_aws::sink::FindingSink;
use patchhub_aws::source::ComplianceSource;
use patchhub_aws::sync::{SyncOptions, TargetSummary, sync_target};
use patchhub_core::finding::{
    ComplianceStatus, FindingKind, GENERATOR_PATCH, GENERATOR_ROLLUP, GENERATOR_STALE,
};
use patchhub_core::mapping::{finding_id, findings_for_node};
use patchhub_core::model::{NodeCompliance, PatchItem, PatchState, Severity};
use patchhub_core::policy::FindingPolicy;
use patchhub_testkit::fakes::{Call, Failing, INJECTED, MemorySink, MemorySource, node};
use patchhub_testkit::run::{only, opts};

const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";
const A: &str = "i-0000000000000000a";
const B: &str = "i-0000000000000000b";
const C: &str = "i-0000000000000000c";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 12, 0, 0).unwrap()
}

fn missing(id: &str) -> PatchItem {
    PatchItem::new(id, PatchState::Missing, Severity::High)
}

fn installed(id: &str) -> PatchItem {
    PatchItem::new(id, PatchState::Installed, Severity::High)
}

/// A node of the test account and Region, scanned `ago` before `t0()`.
fn scanned(
    id: &str,
    ago: Duration,
    patches: Vec<PatchItem>,
) -> patchhub_core::model::NodeCompliance {
    node(ACCOUNT, REGION, id, t0() - ago, patches)
}

fn patch_id(node: &str, patch: &str) -> String {
    finding_id(
        "aws",
        ACCOUNT,
        REGION,
        node,
        FindingKind::Patch,
        Some(patch),
    )
}

fn rollup_id(node: &str) -> String {
    finding_id("aws", ACCOUNT, REGION, node, FindingKind::Rollup, None)
}

/// The two import waves of a run that redoes node A alone: p1's finding, then A's roll-up.
fn p1_then_rollup_of_a() -> Vec<Vec<String>> {
    vec![vec![patch_id(A, "p1")], vec![rollup_id(A)]]
}

fn set(ids: &[String]) -> BTreeSet<String> {
    ids.iter().cloned().collect()
}

async fn sync<S, K>(source: &S, sink: &K, opts: SyncOptions, now: DateTime<Utc>) -> TargetSummary
where
    S: ComplianceSource + Clone + 'static,
    K: FindingSink + Clone + 'static,
{
    sync_target(source.clone(), sink.clone(), ACCOUNT, REGION, opts, now).await
}

/// A, B and C scanned an hour ago: A misses p1 and p2, B misses p3, C is compliant.
fn three_nodes() -> Vec<NodeCompliance> {
    vec![
        scanned(A, Duration::hours(1), vec![missing("p1"), missing("p2")]),
        scanned(B, Duration::hours(1), vec![missing("p3"), installed("p4")]),
        scanned(C, Duration::hours(1), vec![installed("p5")]),
    ]
}

/// [`three_nodes`] and an empty Security Hub, sharing one call log.
fn fresh() -> (MemorySource, MemorySink) {
    let source = MemorySource::new(three_nodes());
    let sink = MemorySink::new().with_log(source.log().clone());
    (source, sink)
}

/// [`fresh`], synced once, log cleared.
async fn synced_fleet() -> (MemorySource, MemorySink) {
    let (source, sink) = fresh();
    let first = sync(&source, &sink, opts(), t0()).await;
    assert!(first.is_ok(), "{first:#?}");
    assert_eq!(first.created, 6, "three patch findings and three roll-ups");
    source.log().clear();
    (source, sink)
}

#[tokio::test]
async fn rollups_are_imported_after_every_patch_finding_of_the_batch() {
    let (source, sink) = fresh();
    let log = source.log();
    let summary = sync(&source, &sink, opts(), t0()).await;
    assert!(summary.is_ok(), "{summary:#?}");

    let imports = log.imports();
    assert_eq!(imports.len(), 2, "two waves: {imports:#?}");
    assert_eq!(
        set(&imports[0]),
        set(&[patch_id(A, "p1"), patch_id(A, "p2"), patch_id(B, "p3")]),
        "the first wave carries the patch findings and nothing else"
    );
    assert_eq!(
        set(&imports[1]),
        set(&[rollup_id(A), rollup_id(B), rollup_id(C)]),
        "the second wave carries the roll-ups, the compliant node's too"
    );
    // Patches are read only where the counts say there is something to read, and all of them
    // before anything is written.
    let calls = log.calls();
    let last_read = calls
        .iter()
        .rposition(|c| matches!(c, Call::NodePatches { .. }))
        .expect("patch reads");
    let first_import = calls
        .iter()
        .position(|c| matches!(c, Call::Import(_)))
        .expect("imports");
    assert!(last_read < first_import, "{calls:#?}");
    assert_eq!(
        log.patch_reads().into_iter().collect::<BTreeSet<_>>(),
        set(&[A.to_string(), B.to_string()])
    );
    assert_eq!(sink.active_ids().len(), 6);
}

#[tokio::test]
async fn a_refused_patch_finding_holds_its_nodes_rollup_back_until_the_next_run() {
    let source = MemorySource::new(vec![
        scanned(A, Duration::hours(1), vec![missing("p1"), missing("p2")]),
        scanned(B, Duration::hours(1), vec![missing("p3")]),
    ]);
    let memory = MemorySink::new().with_log(source.log().clone());
    let sink = Failing::new(memory.clone()).fail_findings([patch_id(A, "p1")]);

    let first = sync(&source, &sink, opts(), t0()).await;
    assert!(!first.is_ok());
    let failures: BTreeSet<(String, String)> = first
        .failures
        .iter()
        .map(|f| (f.id.clone(), f.code.clone()))
        .collect();
    assert_eq!(
        failures,
        BTreeSet::from([
            (patch_id(A, "p1"), INJECTED.to_string()),
            (rollup_id(A), "HeldBack".to_string()),
        ])
    );
    assert_eq!(first.failed, 2);
    assert!(
        !memory.log().imported().contains(&rollup_id(A)),
        "A's roll-up is not even sent"
    );
    assert_eq!(
        memory.active_ids(),
        set(&[patch_id(A, "p2"), patch_id(B, "p3"), rollup_id(B)]),
        "everything else went in"
    );

    // With no roll-up stored, A counts as changed: the next run redoes exactly A, patch
    // finding first, roll-up after.
    sink.heal();
    memory.log().clear();
    let second = sync(&source, &sink, opts(), t0() + Duration::minutes(5)).await;
    assert!(second.is_ok(), "{second:#?}");
    assert_eq!(memory.log().imports(), p1_then_rollup_of_a());
    assert_eq!(memory.log().patch_reads(), vec![A.to_string()]);
    assert_eq!(
        (second.nodes_changed, second.created, second.unchanged),
        (1, 2, 2),
        "B's roll-up and A's p2 finding are left alone"
    );
}

#[tokio::test]
async fn an_installed_patch_is_archived_before_the_rollup_records_the_rescan() {
    let (source, sink) = synced_fleet().await;
    // A is rescanned: p1 is installed now.
    source.set_nodes(vec![
        scanned(A, Duration::zero(), vec![installed("p1"), missing("p2")]),
        scanned(B, Duration::hours(1), vec![missing("p3"), installed("p4")]),
        scanned(C, Duration::hours(1), vec![installed("p5")]),
    ]);
    let summary = sync(&source, &sink, opts(), t0() + Duration::minutes(1)).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!(
        source.log().imports(),
        p1_then_rollup_of_a(),
        "the resolution first, then A's roll-up; p2 and the other nodes are not re-sent"
    );
    assert_eq!((summary.resolved, summary.updated), (1, 1));
    let p1 = sink.get(&patch_id(A, "p1")).unwrap();
    assert!(!p1.is_active());
    assert_eq!(
        p1.compliance.map(|c| c.status),
        Some(ComplianceStatus::Passed)
    );
    assert!(sink.get(&patch_id(A, "p2")).unwrap().is_active());
}

#[tokio::test]
async fn older_ssm_data_never_resolves_or_overwrites_newer_findings() {
    let (source, sink) = synced_fleet().await;
    let before = sink.findings();
    // SSM answers with A's state from before the scan the findings were built from (an
    // eventually consistent read, or a run that started earlier): p1 looks installed.
    source.set_nodes(vec![
        scanned(A, Duration::hours(3), vec![installed("p1"), missing("p2")]),
        scanned(B, Duration::hours(1), vec![missing("p3"), installed("p4")]),
        scanned(C, Duration::hours(1), vec![installed("p5")]),
    ]);
    let summary = sync(&source, &sink, opts(), t0() + Duration::minutes(1)).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!(summary.nodes_changed, 1);
    assert_eq!(
        summary.held_back, 3,
        "p1 (not resolved), p2 and A's roll-up (not overwritten)"
    );
    assert!(
        source.log().imported().is_empty(),
        "{:#?}",
        source.log().calls()
    );
    assert_eq!(sink.findings(), before, "Security Hub is as it was");
}

#[tokio::test]
async fn a_gone_nodes_rollup_is_archived_after_its_patch_findings() {
    let (source, sink) = synced_fleet().await;
    // B is terminated: SSM no longer lists it.
    source.set_nodes(vec![
        scanned(A, Duration::hours(1), vec![missing("p1"), missing("p2")]),
        scanned(C, Duration::hours(1), vec![installed("p5")]),
    ]);
    let summary = sync(&source, &sink, opts(), t0() + Duration::minutes(1)).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!((summary.nodes_gone, summary.resolved), (1, 2));
    assert_eq!(
        source.log().imports(),
        vec![vec![patch_id(B, "p3")], vec![rollup_id(B)]]
    );
    assert!(
        source.log().patch_reads().is_empty(),
        "unchanged nodes are not re-read"
    );
    assert_eq!(
        sink.active_ids(),
        set(&[
            patch_id(A, "p1"),
            patch_id(A, "p2"),
            rollup_id(A),
            rollup_id(C)
        ])
    );
}

#[tokio::test]
async fn a_single_node_sync_reads_and_writes_only_that_node() {
    let (source, sink) = synced_fleet().await;
    // A is rescanned with p1 installed; B is gone meanwhile. A single-node run of A must not
    // archive B: only a sweep may.
    source.set_nodes(vec![
        scanned(A, Duration::zero(), vec![installed("p1"), missing("p2")]),
        scanned(C, Duration::hours(1), vec![installed("p5")]),
    ]);
    let summary = sync(&source, &sink, only(A), t0() + Duration::minutes(1)).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!((summary.nodes_read, summary.nodes_gone), (1, 0));
    let calls = source.log().calls();
    assert!(calls.contains(&Call::ListNodes {
        only: Some(A.to_string())
    }));
    for q in source.log().reads() {
        assert_eq!(q.nodes, Some(vec![A.to_string()]), "{q:?}");
    }
    assert_eq!(source.log().imports(), p1_then_rollup_of_a());
    assert!(sink.get(&patch_id(B, "p3")).unwrap().is_active());
    assert!(sink.get(&rollup_id(B)).unwrap().is_active());
}

#[tokio::test]
async fn another_accounts_and_regions_findings_are_never_touched() {
    // Security Hub answers with findings of another account and of another Region too (the
    // real sink filters them out; the planner must not rely on it).
    let policy = FindingPolicy::default();
    let foreign: Vec<_> = [
        node(
            "222222222222",
            REGION,
            A,
            t0() - Duration::hours(2),
            vec![missing("p9")],
        ),
        node(
            ACCOUNT,
            "eu-west-1",
            B,
            t0() - Duration::hours(2),
            vec![missing("p9")],
        ),
    ]
    .iter()
    .flat_map(|nc| findings_for_node(nc, &policy, t0() - Duration::hours(2)))
    .collect();
    assert_eq!(foreign.len(), 4);
    let source = MemorySource::new(vec![scanned(C, Duration::hours(1), vec![missing("p5")])]);
    let sink = MemorySink::holding(foreign.clone()).with_log(source.log().clone());

    let summary = sync(&source, &sink, opts(), t0()).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!(summary.resolved, 0);
    assert_eq!(
        set(&source.log().imported()),
        set(&[patch_id(C, "p5"), rollup_id(C)])
    );
    for f in &foreign {
        assert_eq!(sink.get(&f.id).as_ref(), Some(f), "{} untouched", f.id);
    }
}

#[tokio::test]
async fn a_node_whose_patches_cannot_be_read_is_left_as_it_was() {
    let (source, sink) = synced_fleet().await;
    let before_a: Vec<_> = sink
        .findings()
        .into_iter()
        .filter(|f| f.node_id() == Some(A))
        .collect();
    // Both A and B are rescanned: p1 installed on A, p6 newly missing on B; A's patches cannot
    // be read.
    let rescanned = vec![
        scanned(A, Duration::zero(), vec![installed("p1"), missing("p2")]),
        scanned(B, Duration::zero(), vec![missing("p3"), missing("p6")]),
        scanned(C, Duration::hours(1), vec![installed("p5")]),
    ];
    source.set_nodes(rescanned);
    let failing = Failing::new(source.clone()).fail_node_patches(A);
    let summary = sync(&failing, &sink, opts(), t0() + Duration::minutes(1)).await;
    assert!(!summary.is_ok());
    assert_eq!(summary.nodes_failed, vec![A.to_string()]);
    assert_eq!(
        source.log().imports(),
        vec![vec![patch_id(B, "p6")], vec![rollup_id(B)]],
        "B goes ahead; nothing of A is written"
    );
    for f in &before_a {
        assert_eq!(sink.get(&f.id).as_ref(), Some(f), "{} as it was", f.id);
    }

    // The next run retries A, and only A.
    failing.heal();
    source.log().clear();
    let summary = sync(&failing, &sink, opts(), t0() + Duration::minutes(2)).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!(source.log().imports(), p1_then_rollup_of_a());
    assert!(!sink.get(&patch_id(A, "p1")).unwrap().is_active());
}

#[tokio::test]
async fn a_failed_rollup_read_stops_the_target_before_any_patch_read_or_write() {
    let source = MemorySource::new(vec![scanned(A, Duration::hours(1), vec![missing("p1")])]);
    let sink = Failing::new(MemorySink::new().with_log(source.log().clone()))
        .fail_reads_of(GENERATOR_ROLLUP);
    let summary = sync(&source, &sink, opts(), t0()).await;
    assert!(summary.error.is_some(), "{summary:#?}");
    assert!(
        source
            .log()
            .calls()
            .iter()
            .all(|c| matches!(c, Call::ListNodes { .. })),
        "{:#?}",
        source.log().calls()
    );
    assert!(sink.inner().findings().is_empty());
}

#[tokio::test]
async fn an_unchanged_resync_reads_roll_ups_only() {
    let (source, sink) = synced_fleet().await;
    let before = sink.findings();
    let summary = sync(&source, &sink, opts(), t0() + Duration::minutes(10)).await;
    assert!(summary.is_ok(), "{summary:#?}");
    assert_eq!((summary.nodes_changed, summary.unchanged), (0, 3));
    let mut calls = source.log().calls();
    calls.sort_by_key(|c| format!("{c:?}"));
    let rollups = patchhub_aws::sink::FindingQuery {
        generators: vec![GENERATOR_ROLLUP.to_string(), GENERATOR_STALE.to_string()],
        nodes: None,
    };
    assert_eq!(
        calls,
        vec![Call::ListNodes { only: None }, Call::Read(rollups)]
    );
    assert_eq!(sink.findings(), before);
}

#[tokio::test]
async fn a_dry_run_observes_in_wave_order_and_imports_nothing() {
    let source = MemorySource::new(vec![
        scanned(A, Duration::hours(1), vec![missing("p1")]),
        scanned(B, Duration::hours(1), vec![missing("p3")]),
    ]);
    let sink = MemorySink::new().with_log(source.log().clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let dry = SyncOptions {
        dry_run: true,
        observer: Some(Arc::new(move |f, _| {
            record.lock().unwrap().push(f.id.clone());
        })),
        ..opts()
    };
    let summary = sync(&source, &sink, dry, t0()).await;
    assert_eq!(summary.created, 4, "{summary:#?}");
    assert!(
        !source
            .log()
            .calls()
            .iter()
            .any(|c| matches!(c, Call::Import(_))),
        "a dry run makes no import call"
    );
    assert!(sink.findings().is_empty());
    let seen = seen.lock().unwrap().clone();
    let (patches, rollups) = seen.split_at(2);
    assert_eq!(set(patches), set(&[patch_id(A, "p1"), patch_id(B, "p3")]));
    assert_eq!(set(rollups), set(&[rollup_id(A), rollup_id(B)]));
    assert!(
        source
            .log()
            .reads()
            .iter()
            .any(|q| q.nodes.is_none() && q.generators.iter().any(|g| g == GENERATOR_PATCH)),
        "the first sync reads patch findings back in one scan"
    );
}

/// A sweep past its stop time (a Lambda's deadline) starts nothing more: it reports `partial`
/// with the changed nodes left, archives no node gone from SSM, and the next sweep finishes the
/// work and archives the gone node.
#[tokio::test]
async fn a_sweep_past_its_stop_time_archives_nothing_and_the_next_one_finishes() {
    let (source, sink) = fresh();
    let first = sync(&source, &sink, opts(), t0()).await;
    assert!(first.is_ok() && !first.partial, "{first:#?}");
    // C terminated; A's p1 installed and rescanned.
    let now = t0() + Duration::hours(2);
    source.set_nodes(vec![
        scanned(
            A,
            Duration::minutes(5),
            vec![installed("p1"), missing("p2")],
        ),
        scanned(B, Duration::hours(1), vec![missing("p3"), installed("p4")]),
    ]);
    let before = sink.findings();
    let late = SyncOptions {
        stop_at: Some(std::time::Instant::now()),
        ..opts()
    };
    let cut = sync(&source, &sink, late, now).await;
    assert!(cut.partial, "{cut:#?}");
    assert_eq!((cut.nodes_deferred, cut.nodes_gone), (2, 0), "{cut:#?}");
    assert_eq!(cut.ingestion_events(), 0);
    assert_eq!(
        sink.findings(),
        before,
        "nothing written, C's findings stay active"
    );

    let done = sync(&source, &sink, opts(), now).await;
    assert!(!done.partial && done.nodes_deferred == 0, "{done:#?}");
    assert_eq!(done.nodes_gone, 1, "{done:#?}");
    assert!(!sink.active_ids().contains(&rollup_id(C)));
    assert!(!sink.active_ids().contains(&patch_id(A, "p1")));
    assert!(sink.active_ids().contains(&patch_id(A, "p2")));
}
