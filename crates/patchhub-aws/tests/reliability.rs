//! Reliability against awsim: the fault matrix (throttles 0/20/50%, 5xx 0/5/20%, per-finding
//! FailedFindings 0/1/10%, and answers slower than the client's timeout) and overlapping syncs.
//!
//! Every scenario starts from a synced account, changes it (patches installed and rescanned on
//! some nodes, one node terminated), then syncs under faults. The faulty run must either leave
//! Security Hub exactly at the new truth or name every account, Region, node and finding it did
//! not write; it must never archive a finding that is true before and after the change, nor
//! write anything outside old and new truth. Faults off, the next run reaches the new truth
//! exactly, with no duplicate, and the run after that imports nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use awsim::faults::FaultSpec;
use awsim::{Awsim, Config};
use patchhub_aws::fanout::{AccountSource, RunReport, run_sync};
use patchhub_testkit::oracle::{assert_between, truth};
use patchhub_testkit::read::{active, assert_active, node_in_id};
use patchhub_testkit::run::{fan_out, only, opts, region_list};
use patchhub_testkit::scenario::change;
use patchhub_testkit::{loader, start_account, start_account_with};

const R: &str = "us-east-1";

/// A sweep (or, with `node`, a single-node sync) with the production client settings (standard
/// retries, 5 attempts) and a per-attempt timeout of 700 ms.
async fn sync_once(sim: &Awsim, account: &str, node: Option<&str>) -> Result<RunReport, String> {
    let base = loader(sim, account, R)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(700))
                .build(),
        )
        .load()
        .await;
    let fan = patchhub_aws::fanout::FanOut {
        concurrency: 4,
        ..fan_out(AccountSource::Caller, region_list(&[R]), None)
    };
    run_sync(&base, &fan, &node.map_or_else(opts, only), None)
        .await
        .map_err(|e| e.to_string())
}

/// The fleet of the overlap tests.
fn overlap_fleet(seed: u64) -> String {
    format!("accounts=1,regions=1,instances=40,patches=15,seed={seed}")
}

/// How a faulty run ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Complete,
    Incomplete,
    CouldNotStart,
}

/// One scenario of the matrix; panics with the scenario named on any broken promise.
async fn scenario(faults: &str, seed: u64) -> Outcome {
    let name = format!("faults `{faults}` seed {seed}");
    let spec = format!("accounts=1,regions=1,instances=30,patches=15,seed={seed}");
    let config = Config {
        seed,
        ..Config::default()
    };
    let (sim, fleet, acct) = start_account_with(&spec, config).await;
    let first = sync_once(&sim, &acct, None).await.expect("clean sync");
    assert!(first.is_ok(), "{name}: clean sync {first:#?}");
    let before = truth(&fleet, &acct, R);
    assert_eq!(active(&sim, &acct, R).await.0, before, "{name}: clean sync");

    let after = truth(&change(&sim, &acct, R).await, &acct, R);
    assert_ne!(before, after, "{name}: the change changes the truth");

    sim.set_faults(faults.parse().expect("fault spec"));
    let faulty = sync_once(&sim, &acct, None).await;
    sim.set_faults(FaultSpec::default());
    let (now, dup) = active(&sim, &acct, R).await;
    assert_between(&name, &now, dup, &before, &after);
    // The outcome, for the record (`--no-capture` shows which branch each scenario took).
    eprintln!(
        "{name}: {}",
        match &faulty {
            Err(e) => format!("could not start: {e}"),
            Ok(r) if r.is_ok() => "complete".to_string(),
            Ok(r) => format!(
                "incomplete: {} finding(s) and {} node(s) named, target error: {}",
                r.targets[0].failed,
                r.targets[0].nodes_failed.len(),
                r.targets[0].error.is_some()
            ),
        }
    );
    match &faulty {
        // Setup failed (STS answered with faults): nothing was written, and the error says so.
        Err(e) => {
            assert_eq!(
                now, before,
                "{name}: a run that could not start wrote something"
            );
            assert!(
                e.contains("sts:GetCallerIdentity") || e.contains("account"),
                "{e}"
            );
        }
        Ok(r) if r.is_ok() => assert_eq!(now, after, "{name}: an ok run is exact"),
        Ok(r) => {
            let t = &r.targets[0];
            let whole_target = t.error.is_some()
                && t.nodes_failed.is_empty()
                && t.ingestion_events() == 0
                && t.failed == 0;
            let named: BTreeSet<&str> = t.failures.iter().map(|f| f.id.as_str()).collect();
            for id in now.symmetric_difference(&after) {
                let node_named =
                    node_in_id(id).is_some_and(|n| t.nodes_failed.iter().any(|f| f == n));
                assert!(
                    whole_target || named.contains(id.as_str()) || node_named,
                    "{name}: {id} not written and not named: {t:#?}"
                );
            }
            assert!(
                t.error.is_some() || t.failed > 0,
                "{name}: not ok but no reason"
            );
        }
    }

    let rerun = sync_once(&sim, &acct, None).await.expect("clean rerun");
    assert!(rerun.is_ok(), "{name}: rerun {rerun:#?}");
    let what = format!("{name}: the rerun converges");
    assert_active(&sim, &acct, R, &after, &what).await;
    sim.reset_stats();
    let quiet = sync_once(&sim, &acct, None).await.expect("third run");
    assert!(quiet.is_ok());
    assert_eq!(
        sim.stats().ingestion_events(),
        0,
        "{name}: converged runs import nothing"
    );
    match faulty {
        Err(_) => Outcome::CouldNotStart,
        Ok(r) if r.is_ok() => Outcome::Complete,
        Ok(_) => Outcome::Incomplete,
    }
}

/// The nine 5xx x FailedFindings combinations at one throttle rate, a different seed each.
async fn matrix_at(throttle: f64, seed_base: u64) {
    let mut seed = seed_base;
    for error in [0.0, 0.05, 0.2] {
        for fail_finding in [0.0, 0.01, 0.1] {
            seed += 1;
            scenario(
                &format!("throttle={throttle},error={error},fail_finding={fail_finding}"),
                seed,
            )
            .await;
        }
    }
}

#[tokio::test]
async fn fault_matrix_without_throttles() {
    matrix_at(0.0, 100).await;
}

#[tokio::test]
async fn fault_matrix_with_20_percent_throttles() {
    matrix_at(0.2, 200).await;
}

#[tokio::test]
async fn fault_matrix_with_50_percent_throttles() {
    matrix_at(0.5, 300).await;
}

#[tokio::test]
async fn faults_beyond_what_retries_absorb_are_named_and_the_rerun_converges() {
    // Rates no retry budget absorbs: the faulty run must take the reporting path.
    for (faults, seed) in [
        ("fail_finding=1", 701),
        ("fail_finding=0.7", 702),
        ("error=0.9", 703),
    ] {
        let outcome = scenario(faults, seed).await;
        assert_ne!(outcome, Outcome::Complete, "`{faults}` cannot complete");
    }
}

#[tokio::test]
async fn answers_slower_than_the_client_timeout_are_retried_or_reported() {
    // The client gives each attempt 700 ms; these answers take 1.5 s.
    for seed in [401, 402, 403] {
        scenario("slow=0.1,slow_ms=1500", seed).await;
    }
    scenario(
        "throttle=0.2,error=0.05,fail_finding=0.01,slow=0.05,slow_ms=1500",
        404,
    )
    .await;
}

#[tokio::test]
async fn two_sweeps_at_once_leave_the_truth() {
    for seed in [501, 502, 503] {
        let (sim, fleet, acct) = start_account(&overlap_fleet(seed)).await;
        let (a, b) = tokio::join!(sync_once(&sim, &acct, None), sync_once(&sim, &acct, None));
        assert!(a.unwrap().is_ok() && b.unwrap().is_ok(), "seed {seed}");
        let what = format!("seed {seed}: first syncs overlapping");
        assert_active(&sim, &acct, R, &truth(&fleet, &acct, R), &what).await;

        // Overlap again across a change: both runs see old or new data; the result is the new.
        let after = truth(&change(&sim, &acct, R).await, &acct, R);
        let (a, b) = tokio::join!(sync_once(&sim, &acct, None), sync_once(&sim, &acct, None));
        assert!(a.unwrap().is_ok() && b.unwrap().is_ok(), "seed {seed}");
        let what = format!("seed {seed}: re-syncs overlapping");
        assert_active(&sim, &acct, R, &after, &what).await;
    }
}

#[tokio::test]
async fn a_maintenance_window_sync_overlapping_a_sweep_leaves_the_truth() {
    for seed in [601, 602, 603] {
        let (sim, fleet, acct) = start_account(&overlap_fleet(seed)).await;
        assert!(sync_once(&sim, &acct, None).await.unwrap().is_ok());

        // The sweep starts on the old data; meanwhile patches land and the window's Lambda task
        // syncs one patched node, later than the sweep started.
        let sweep = sync_once(&sim, &acct, None);
        let window = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let after = change(&sim, &acct, R).await;
            let node = after.accounts[0]
                .instances
                .iter()
                .find(|i| {
                    i.operation.is_some()
                        && fleet.accounts[0]
                            .instances
                            .iter()
                            .any(|o| o.id == i.id && o.patches.iter().any(|p| p.state == "MISSING"))
                        && i.patches.iter().all(|p| p.state != "MISSING")
                })
                .map(|i| i.id.clone())
                .expect("a patched node");
            let r = sync_once(&sim, &acct, Some(&node)).await.unwrap();
            assert!(r.is_ok(), "seed {seed}: window sync {r:#?}");
            (after, node)
        };
        let (swept, (after, node)) = tokio::join!(sweep, window);
        assert!(swept.unwrap().is_ok(), "seed {seed}");
        let after = truth(&after, &acct, R);
        // The window's node shows the newer data whichever write landed last: Security Hub
        // ignores an update whose UpdatedAt is not later, and the sweep's is its start time.
        let of_node = |ids: &BTreeSet<String>| -> BTreeSet<String> {
            ids.iter()
                .filter(|id| node_in_id(id) == Some(node.as_str()))
                .cloned()
                .collect()
        };
        let (now, dup) = active(&sim, &acct, R).await;
        assert!(!dup);
        assert_eq!(
            of_node(&now),
            of_node(&after),
            "seed {seed}: newer data won"
        );
        // Nodes the sweep read before the change are as of its read; the next sweep, the one
        // the schedule brings, leaves the exact truth.
        let settle = sync_once(&sim, &acct, None).await.unwrap();
        assert!(settle.is_ok(), "seed {seed}");
        assert_active(&sim, &acct, R, &after, &format!("seed {seed}")).await;
    }
}
