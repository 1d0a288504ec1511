//! The sync pipeline end to end against awsim, through the real SDK clients: what lands in
//! Security Hub must equal what the fleet's patch states say, and must stay true as nodes change.

use aws_sdk_securityhub::types::AwsSecurityFinding;
use awsim::{Awsim, Fleet};
use patchhub_core::finding::{FindingKind, GENERATOR_PATCH, GENERATOR_ROLLUP};
use patchhub_core::mapping::finding_id;
use patchhub_testkit::read::{active_ids, findings, node_of};
use patchhub_testkit::run::{only, opts, sync};
use patchhub_testkit::{oracle, scenario, start_account};

const R: &str = "us-east-1";

/// A one-account fleet with Security Hub on, synced once.
async fn synced(spec: &str) -> (Awsim, Fleet, String) {
    let (sim, fleet, acct) = start_account(spec).await;
    let report = sync(&sim, &acct, &[R], opts()).await;
    assert!(report.is_ok(), "{report:#?}");
    (sim, fleet, acct)
}

#[tokio::test]
async fn sweep_writes_exactly_the_expected_findings_and_a_resync_imports_nothing() {
    let (sim, fleet, acct) =
        start_account("accounts=1,regions=1,instances=60,patches=30,seed=11").await;

    let report = sync(&sim, &acct, &[R], opts()).await;
    assert!(report.is_ok(), "{report:#?}");
    let t = &report.targets[0];
    let found = findings(&sim, &acct, R).await;
    let expected = oracle::patch_ids(&fleet, &acct, R);
    assert!(
        !expected.is_empty(),
        "the generated fleet has missing patches"
    );
    assert_eq!(
        active_ids(&found, GENERATOR_PATCH),
        expected,
        "patch findings equal the fleet's non-compliant patches"
    );
    assert_eq!(
        active_ids(&found, GENERATOR_ROLLUP),
        oracle::rollup_ids(&fleet, &acct, R)
    );
    assert_eq!(
        t.created,
        found.len(),
        "everything created once, no duplicates"
    );
    assert_eq!(
        sim.stats().ingestion_events() as usize,
        t.ingestion_events()
    );

    // Nothing changed: the second sync imports nothing and reads no patches.
    sim.reset_stats();
    let again = sync(&sim, &acct, &[R], opts()).await;
    let t2 = &again.targets[0];
    assert!(again.is_ok());
    assert_eq!(
        sim.stats().ingestion_events(),
        0,
        "an unchanged re-sync costs no ingestion"
    );
    assert_eq!(
        (t2.created, t2.updated, t2.resolved, t2.refreshed),
        (0, 0, 0, 0)
    );
    assert_eq!(
        sim.stats().calls_of("DescribeInstancePatches"),
        0,
        "unchanged nodes are not re-read"
    );
    assert_eq!(sim.stats().calls_of("BatchImportFindings"), 0);
}

#[tokio::test]
async fn single_node_sync_touches_only_that_node() {
    let (sim, fleet, acct) =
        start_account("accounts=1,regions=1,instances=30,patches=30,seed=5").await;
    let node = fleet.accounts[0]
        .instances
        .iter()
        .find(|i| i.operation.is_some() && i.patches.iter().any(|p| p.state == "MISSING"))
        .expect("a non-compliant node")
        .id
        .clone();
    let report = sync(&sim, &acct, &[R], only(&node)).await;
    assert!(report.is_ok(), "{report:#?}");
    assert_eq!(report.targets[0].nodes_read, 1);
    let found = findings(&sim, &acct, R).await;
    assert!(found.iter().all(|f| node_of(f) == Some(node.as_str())));
    assert_eq!(
        active_ids(&found, GENERATOR_PATCH),
        oracle::patch_ids_of(&fleet, &acct, R, &node)
    );
    assert_eq!(active_ids(&found, GENERATOR_ROLLUP).len(), 1);
}

/// A node with at least two missing patches, and one of them.
fn node_with_missing(fleet: &Fleet) -> (String, String) {
    let i = oracle::nodes_with_missing(fleet, &fleet.accounts[0].id, R, 2)[0];
    let patch = i.patches.iter().find(|p| p.state == "MISSING").unwrap();
    (i.id.clone(), patch.id.clone())
}

#[tokio::test]
async fn installing_a_patch_and_rescanning_resolves_exactly_its_finding() {
    let (sim, fleet, acct) = synced("accounts=1,regions=1,instances=40,patches=30,seed=21").await;
    let before = findings(&sim, &acct, R).await;

    // The patch gets installed behind SSM's back; SSM reports it at the next scan.
    let (node, patch) = node_with_missing(&fleet);
    scenario::install(&sim, &acct, R, std::slice::from_ref(&node), |p| {
        p.id == patch
    })
    .await;

    sim.reset_stats();
    let report = sync(&sim, &acct, &[R], opts()).await;
    assert!(report.is_ok(), "{report:#?}");
    let t = &report.targets[0];
    assert_eq!(
        t.resolved, 1,
        "exactly the installed patch's finding is resolved"
    );
    assert_eq!(t.created, 0);
    assert_eq!(
        t.nodes_changed, 1,
        "only the rescanned node is re-evaluated"
    );
    assert_eq!(t.updated, 1, "its roll-up records the new scan");

    let after = findings(&sim, &acct, R).await;
    let resolved_id = finding_id("aws", &acct, R, &node, FindingKind::Patch, Some(&patch));
    let f = after
        .iter()
        .find(|f| f.id() == Some(resolved_id.as_str()))
        .expect("the finding still exists");
    assert_eq!(f.record_state().map(|r| r.as_str()), Some("ARCHIVED"));
    assert_eq!(
        f.compliance().and_then(|c| c.status()).map(|s| s.as_str()),
        Some("PASSED")
    );
    let was = before.iter().find(|b| b.id() == f.id()).unwrap();
    assert_eq!(
        was.created_at(),
        f.created_at(),
        "CreatedAt is carried over"
    );
    assert_eq!(
        was.first_observed_at(),
        f.first_observed_at(),
        "FirstObservedAt is carried over"
    );
    assert!(f.updated_at() > was.updated_at());
    let active_before = active_ids(&before, GENERATOR_PATCH);
    let active_after = active_ids(&after, GENERATOR_PATCH);
    let gone: Vec<_> = active_before.difference(&active_after).collect();
    assert_eq!(
        gone,
        vec![&resolved_id],
        "no other patch finding changed state"
    );
    assert_eq!(
        sim.stats().ingestion_events(),
        2,
        "one resolve and one roll-up update"
    );
}

#[tokio::test]
async fn a_terminated_node_is_archived_by_a_sweep_and_never_by_a_single_node_sync() {
    let (sim, fleet, acct) = synced("accounts=1,regions=1,instances=30,patches=30,seed=8").await;
    let (gone_node, _) = node_with_missing(&fleet);
    let other = fleet.accounts[0]
        .instances
        .iter()
        .find(|i| i.id != gone_node && i.operation.is_some())
        .unwrap()
        .id
        .clone();

    // Terminate: the node disappears from SSM (Security Hub keeps its findings).
    scenario::terminate(&sim, &acct, &gone_node);
    let of_gone = |fs: &[AwsSecurityFinding]| {
        fs.iter()
            .filter(|f| node_of(f) == Some(gone_node.as_str()))
            .map(|f| {
                f.record_state()
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
    };

    assert!(sync(&sim, &acct, &[R], only(&other)).await.is_ok());
    let states = of_gone(&findings(&sim, &acct, R).await);
    assert!(
        states.len() >= 3 && states.iter().all(|s| s == "ACTIVE"),
        "a single-node sync leaves other nodes alone: {states:?}"
    );

    let report = sync(&sim, &acct, &[R], opts()).await;
    assert!(report.is_ok(), "{report:#?}");
    assert_eq!(report.targets[0].nodes_gone, 1);
    let states = of_gone(&findings(&sim, &acct, R).await);
    assert!(
        states.iter().all(|s| s == "ARCHIVED"),
        "the sweep archives every finding of the gone node: {states:?}"
    );
    assert_eq!(report.targets[0].resolved, states.len());
}
