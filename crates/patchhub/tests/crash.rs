//! Crash recovery: `patchhub sync` killed with SIGKILL at seeded random points of a sync, twice
//! in a row, then again after the fleet changed. Whatever it left behind, Security Hub never
//! holds a duplicate, a finding outside the truth before or after the change, or an archived
//! finding that is true before and after; the next complete run reaches the truth exactly, and
//! the one after imports nothing. patchhub keeps nothing on disk, so nothing on disk is needed.
//! AWS is an in-process awsim on loopback.

mod support;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use awsim::{Awsim, Config};
use patchhub_testkit::oracle::{assert_between, truth};
use patchhub_testkit::read::{active, assert_active};
use patchhub_testkit::scenario::change;
use patchhub_testkit::{credentials_env, start_account_with};

const R: &str = "us-east-1";

fn sync_process(sim: &Awsim, account: &str) -> Child {
    support::patchhub()
        .args([
            "sync",
            "--endpoint-url",
            &sim.url(),
            "-q",
            "--output",
            "json",
        ])
        .envs(credentials_env(account, R))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("patchhub starts")
}

/// Runs a sync and SIGKILLs it after `after`; true when it was still running then.
async fn killed_after(sim: &Awsim, account: &str, after: Duration) -> bool {
    let mut child = sync_process(sim, account);
    tokio::time::sleep(after).await;
    let running = child.try_wait().expect("wait").is_none();
    child.kill().ok(); // SIGKILL on Unix: no destructor, no flush, no goodbye.
    child.wait().ok();
    running
}

/// Runs a sync to the end; its exit code.
async fn complete(sim: &Awsim, account: &str) -> Option<i32> {
    let mut child = sync_process(sim, account);
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(started.elapsed() < Duration::from_secs(300), "sync hangs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A kill point in [from, from + span) ms from the seed (a small LCG: reproducible, spread).
fn kill_point(seed: u64, n: u64, from_ms: u64, span_ms: u64) -> Duration {
    let x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(n.wrapping_mul(1_442_695_040_888_963_407));
    Duration::from_millis(from_ms + (x >> 33) % span_ms)
}

/// Kills a sync at each of `kills`, each time checking that what it left lies between `before`
/// and `after`; then a complete run must reach `after` exactly. How many kills hit a running
/// sync.
async fn kill_and_recover(
    sim: &Awsim,
    account: &str,
    name: &str,
    kills: &[Duration],
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) -> usize {
    let mut hits = 0;
    for (n, at) in kills.iter().enumerate() {
        hits += usize::from(killed_after(sim, account, *at).await);
        let (now, dup) = active(sim, account, R).await;
        assert_between(
            &format!("{name}: kill {n} at {at:?}"),
            &now,
            dup,
            before,
            after,
        );
    }
    assert_eq!(complete(sim, account).await, Some(0), "{name}");
    assert_active(sim, account, R, after, &format!("{name}: converged")).await;
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_anywhere_leaves_a_state_the_next_run_converges_from() {
    let mut killed_mid_run = 0;
    for seed in [11u64, 12, 13, 14] {
        let spec = format!("accounts=1,regions=1,instances=150,patches=20,seed={seed}");
        let config = Config {
            latency_ms: 2,
            ..Config::default()
        };
        let (sim, fleet, acct) = start_account_with(&spec, config).await;
        let truth0 = truth(&fleet, &acct, R);
        let nothing = BTreeSet::new();

        // Killed twice during the first sync, at different points. Before the first complete
        // run, "true before" is empty: nothing can be lost yet.
        let kills = [
            kill_point(seed, 0, 300, 4_000),
            kill_point(seed, 1, 300, 4_000),
        ];
        let name = format!("seed {seed} first sync");
        killed_mid_run += kill_and_recover(&sim, &acct, &name, &kills, &nothing, &truth0).await;

        // The fleet changes; the re-sync is killed midway. A re-sync of a few changed nodes
        // takes a few hundred ms here.
        let truth1 = truth(&change(&sim, &acct, R).await, &acct, R);
        let kills = [kill_point(seed, 2, 150, 200)];
        let name = format!("seed {seed} re-sync");
        killed_mid_run += kill_and_recover(&sim, &acct, &name, &kills, &truth0, &truth1).await;

        sim.reset_stats();
        assert_eq!(complete(&sim, &acct).await, Some(0));
        assert_eq!(
            sim.stats().ingestion_events(),
            0,
            "seed {seed}: nothing left to do"
        );
    }
    // The kill points must land inside runs for the test to mean anything.
    assert!(
        killed_mid_run >= 9,
        "only {killed_mid_run} of 12 kills hit a running sync"
    );
}
