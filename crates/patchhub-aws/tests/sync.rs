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

/// Every node of the account in `R`, as the maintenance window's scan task targets them.
fn all_nodes(fleet: &Fleet, acct: &str) -> Vec<String> {
    oracle::account(fleet, acct)
        .instances
        .iter()
        .filter(|i| i.region == R)
        .map(|i| i.id.clone())
        .collect()
}

/// A one-account fleet, the SSM client the maintenance window scans with, and every node.
async fn fleet_with_window(spec: &str) -> (Awsim, Fleet, String, aws_sdk_ssm::Client, Vec<String>) {
    let (sim, fleet, acct) = start_account(spec).await;
    let ssm = aws_sdk_ssm::Client::new(&patchhub_testkit::sdk(&sim, &acct, R).await);
    let nodes = all_nodes(&fleet, &acct);
    (sim, fleet, acct, ssm, nodes)
}

#[tokio::test]
async fn a_daily_scan_that_changes_nothing_imports_nothing_and_reads_no_patches() {
    let (sim, fleet, acct, ssm, nodes) =
        fleet_with_window("accounts=1,regions=1,instances=200,patches=30,seed=31").await;
    // Yesterday's window scanned the fleet and the sync ran.
    scenario::run_patch_baseline(&ssm, &nodes, "Scan").await;
    let first = sync(&sim, &acct, &[R], opts()).await;
    assert!(first.is_ok(), "{first:#?}");

    // Today's window scans every node again; no patch state changed.
    scenario::run_patch_baseline(&ssm, &nodes, "Scan").await;
    sim.reset_stats();
    let daily = sync(&sim, &acct, &[R], opts()).await;
    assert!(daily.is_ok(), "{daily:#?}");
    let events = sim.stats().ingestion_events() as usize;
    assert!(
        events * 100 <= nodes.len(),
        "{events} ingestion events for {} nodes: {:#?}",
        nodes.len(),
        daily.targets[0]
    );
    assert_eq!(sim.stats().calls_of("DescribeInstancePatches"), 0);
    assert_eq!(sim.stats().calls_of("ListComplianceItems"), 0);
    let found = findings(&sim, &acct, R).await;
    assert_eq!(
        active_ids(&found, GENERATOR_PATCH),
        oracle::patch_ids(&fleet, &acct, R)
    );

    // Installs on 1% of the nodes: only their changes are imported.
    let patched: Vec<&awsim::fleet::InstanceSpec> = oracle::nodes_with_missing(&fleet, &acct, R, 1)
        .into_iter()
        .take(nodes.len() / 100)
        .collect();
    let patched_ids: Vec<String> = patched.iter().map(|i| i.id.clone()).collect();
    let fixed: std::collections::BTreeSet<String> = patched
        .iter()
        .flat_map(|i| {
            i.patches
                .iter()
                .filter(|p| p.state == "MISSING")
                .map(|p| finding_id("aws", &acct, R, &i.id, FindingKind::Patch, Some(&p.id)))
        })
        .collect();
    scenario::install(&sim, &acct, R, &patched_ids, |p| p.state == "MISSING").await;
    scenario::run_patch_baseline(&ssm, &nodes, "Scan").await;
    sim.reset_stats();
    let after = sync(&sim, &acct, &[R], opts()).await;
    assert!(after.is_ok(), "{after:#?}");
    let t = &after.targets[0];
    assert_eq!(t.nodes_changed, patched.len(), "{t:#?}");
    assert_eq!(t.resolved, fixed.len(), "{t:#?}");
    assert_eq!(t.updated, patched.len(), "one roll-up each");
    assert_eq!(t.created, 0);
    assert_eq!(
        sim.stats().ingestion_events() as usize,
        fixed.len() + patched.len()
    );
    let found = findings(&sim, &acct, R).await;
    let truth: std::collections::BTreeSet<String> = oracle::patch_ids(&fleet, &acct, R)
        .difference(&fixed)
        .cloned()
        .collect();
    assert_eq!(active_ids(&found, GENERATOR_PATCH), truth);
}

/// One sync of the account in `R` at awsim's simulated time, every finding it imports seen by
/// `seen` (the stored one may not be readable yet).
async fn sync_at_sim_time(
    sim: &Awsim,
    acct: &str,
    seen: Option<patchhub_aws::sync::FindingObserver>,
) -> patchhub_aws::sync::TargetSummary {
    let base = patchhub_testkit::sdk(sim, acct, R).await;
    let session = patchhub_aws::clients::base_session(&base)
        .await
        .expect("session");
    let t = patchhub_aws::target::Target::new(&session, R, patchhub_testkit::fast_quotas());
    let mut o = opts();
    o.observer = seen;
    patchhub_aws::sync::sync_target(t.ssm(), t.hub(), acct, R, o, sim.sim().clock.now()).await
}

/// `Id` -> (`CreatedAt`, `FirstObservedAt`) in epoch milliseconds.
type Dates = std::collections::BTreeMap<String, (i64, Option<i64>)>;

fn millis(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .timestamp_millis()
}

fn dates(found: &[AwsSecurityFinding]) -> Dates {
    found
        .iter()
        .map(|f| {
            (
                f.id().unwrap_or_default().to_string(),
                (
                    millis(f.created_at().unwrap_or_default()),
                    f.first_observed_at().map(millis),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_sync_inside_the_read_lag_keeps_every_date_and_the_next_imports_nothing() {
    // Security Hub's reads are eventually consistent (prowler issue #684): a sync right after
    // another may not see what it imported.
    let (sim, _fleet, acct) =
        start_account("accounts=1,regions=1,instances=40,patches=20,seed=41").await;
    sim.sim().set_read_lag_ms(60_000);
    let written: std::sync::Arc<std::sync::Mutex<Dates>> = Default::default();
    let w = written.clone();
    let observer: patchhub_aws::sync::FindingObserver = std::sync::Arc::new(move |f, _| {
        w.lock().unwrap().insert(
            f.id.clone(),
            (
                f.created_at.timestamp_millis(),
                f.first_observed_at.map(|t| t.timestamp_millis()),
            ),
        );
    });
    let first = sync_at_sim_time(&sim, &acct, Some(observer)).await;
    assert!(first.is_ok() && first.created > 0, "{first:#?}");
    assert!(
        findings(&sim, &acct, R).await.is_empty(),
        "nothing visible yet"
    );

    // Inside the lag: sees nothing, writes again, but the same dates.
    let second = sync_at_sim_time(&sim, &acct, None).await;
    assert!(second.is_ok(), "{second:#?}");
    sim.sim().clock.advance(chrono::Duration::seconds(61));
    let found = findings(&sim, &acct, R).await;
    assert_eq!(found.len(), first.created, "no duplicate, nothing lost");
    let written = written.lock().unwrap().clone();
    assert_eq!(dates(&found), written, "CreatedAt and FirstObservedAt kept");

    // Once everything is visible, nothing is new.
    sim.reset_stats();
    let third = sync_at_sim_time(&sim, &acct, None).await;
    assert!(third.is_ok(), "{third:#?}");
    assert_eq!(sim.stats().ingestion_events(), 0, "{third:#?}");
}

#[tokio::test]
async fn the_heartbeat_keeps_every_live_finding_through_ninety_days_of_retention() {
    let (sim, _fleet, acct, ssm, nodes) =
        fleet_with_window("accounts=1,regions=1,instances=30,patches=20,seed=43").await;
    let first = sync_at_sim_time(&sim, &acct, None).await;
    assert!(first.is_ok(), "{first:#?}");
    // Archived findings are left to retention on purpose; live ones must never expire.
    let ids =
        |found: &[AwsSecurityFinding], live_only: bool| -> std::collections::BTreeSet<String> {
            found
                .iter()
                .filter(|f| !live_only || f.record_state().map(|r| r.as_str()) == Some("ACTIVE"))
                .filter_map(|f| f.id().map(str::to_string))
                .collect()
        };
    let mut live = ids(&findings(&sim, &acct, R).await, true);
    let (mut busiest, mut refreshed) = (0, 0);
    for day in 1..=100 {
        sim.sim().clock.advance(chrono::Duration::days(1));
        // The daily window scans the online nodes; their patch states do not change, so
        // between changes only the heartbeat writes.
        scenario::run_patch_baseline(&ssm, &nodes, "Scan").await;
        let t = sync_at_sim_time(&sim, &acct, None).await;
        assert!(t.is_ok(), "day {day}: {t:#?}");
        busiest = busiest.max(t.refreshed);
        refreshed += t.refreshed;
        let found = findings(&sim, &acct, R).await;
        let present = ids(&found, false);
        let lost: Vec<_> = live.difference(&present).collect();
        assert!(
            lost.is_empty(),
            "day {day}: retention deleted live {lost:?}"
        );
        live = ids(&found, true);
    }
    assert!(refreshed > 0, "the heartbeat re-sent findings");
    assert!(
        busiest * 4 <= live.len(),
        "heartbeats spread over the days: {busiest} of {} on the busiest day",
        live.len()
    );
}

#[tokio::test]
async fn a_read_of_the_region_can_keep_only_the_findings_of_some_nodes() {
    use patchhub_aws::sink::{FindingQuery, FindingSink};

    let (sim, _fleet, acct) = synced("accounts=1,regions=1,instances=30,patches=20,seed=5").await;
    let base = patchhub_testkit::sdk(&sim, &acct, R).await;
    let session = patchhub_aws::clients::base_session(&base)
        .await
        .expect("session");
    let hub = patchhub_aws::target::Target::new(&session, R, patchhub_testkit::fast_quotas()).hub();
    let everything = FindingQuery {
        generators: Vec::new(),
        nodes: None,
    };
    let all = hub.read(&everything).await.expect("read");
    let nodes: std::collections::BTreeSet<String> = all
        .iter()
        .filter_map(|f| f.node_id().map(str::to_string))
        .collect();
    assert!(nodes.len() > 4, "the fleet has findings on several nodes");
    let wanted: std::collections::BTreeSet<String> = nodes.iter().step_by(3).cloned().collect();
    let expected: std::collections::BTreeSet<String> = all
        .iter()
        .filter(|f| f.node_id().is_some_and(|n| wanted.contains(n)))
        .map(|f| f.id.clone())
        .collect();

    let kept = hub
        .read_nodes_where(&everything, &|n: &str| wanted.contains(n))
        .await
        .expect("read");
    let ids: std::collections::BTreeSet<String> = kept.iter().map(|f| f.id.clone()).collect();
    assert_eq!(
        ids, expected,
        "exactly the wanted nodes' findings, all of them"
    );
    assert!(ids.len() < all.len());
}
