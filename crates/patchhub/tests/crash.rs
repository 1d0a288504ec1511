//! Crash recovery: `patchhub sync` killed with SIGKILL at seeded random points of a sync, twice
//! in a row, then again after the fleet changed. Whatever it left behind, Security Hub never
//! holds a duplicate, a finding outside the truth before or after the change, or an archived
//! finding that is true before and after; the next complete run reaches the truth exactly, and
//! the one after imports nothing. patchhub keeps nothing on disk, so nothing on disk is needed.
//! AWS is an in-process awsim on loopback.

#[path = "../../patchhub-aws/tests/common/mod.rs"]
mod common;
mod support;

use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use awsim::{Awsim, Config};

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
        .env("AWS_ACCESS_KEY_ID", common::key_for(account))
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_REGION", R)
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

fn check(
    name: &str,
    now: &BTreeSet<String>,
    dup: bool,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) {
    assert!(!dup, "{name}: a finding id stored twice");
    let either: BTreeSet<String> = before.union(after).cloned().collect();
    let junk: Vec<_> = now.difference(&either).collect();
    assert!(
        junk.is_empty(),
        "{name}: findings outside the truth: {junk:?}"
    );
    let lost: Vec<_> = before
        .intersection(after)
        .filter(|id| !now.contains(*id))
        .collect();
    // Before the first complete run, "true before" is empty: nothing can be lost yet.
    assert!(lost.is_empty(), "{name}: archived though true: {lost:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_anywhere_leaves_a_state_the_next_run_converges_from() {
    let mut killed_mid_run = 0;
    for seed in [11u64, 12, 13, 14] {
        let (sim, fleet) = common::start(
            &format!("accounts=1,regions=1,instances=150,patches=20,seed={seed}"),
            Config {
                latency_ms: 2,
                ..Config::default()
            },
        )
        .await;
        let acct = fleet.accounts[0].id.clone();
        common::enable_hubs(&sim, &fleet).await;
        let truth0 = common::truth(&fleet, &acct, R);
        let nothing = BTreeSet::new();

        // Killed twice during the first sync, at different points.
        for n in 0..2 {
            let at = kill_point(seed, n, 300, 4_000);
            killed_mid_run += usize::from(killed_after(&sim, &acct, at).await);
            let (now, dup) = common::active(&sim, &acct, R).await;
            check(
                &format!("seed {seed} kill {n} at {at:?}"),
                &now,
                dup,
                &nothing,
                &truth0,
            );
        }
        assert_eq!(complete(&sim, &acct).await, Some(0), "seed {seed}");
        let (now, dup) = common::active(&sim, &acct, R).await;
        assert!(!dup);
        assert_eq!(now, truth0, "seed {seed}: converged after the crashes");

        // The fleet changes; the re-sync is killed midway.
        let truth1 = common::truth(&common::change(&sim, &acct, R).await, &acct, R);
        // A re-sync of a few changed nodes takes a few hundred ms here.
        let at = kill_point(seed, 2, 150, 200);
        killed_mid_run += usize::from(killed_after(&sim, &acct, at).await);
        let (now, dup) = common::active(&sim, &acct, R).await;
        check(
            &format!("seed {seed} re-sync killed at {at:?}"),
            &now,
            dup,
            &truth0,
            &truth1,
        );
        assert_eq!(complete(&sim, &acct).await, Some(0), "seed {seed}");
        let (now, dup) = common::active(&sim, &acct, R).await;
        assert!(!dup);
        assert_eq!(now, truth1, "seed {seed}: converged after the change");

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
