//! A sweep larger than one invocation (issue #16, item 4), with AWS's published quotas enforced
//! by awsim and Lambda's deadline enforced by the test: each invocation answers before its
//! deadline with every node it touched written whole, reports `partial` and how to continue, and
//! successive invocations converge to the oracle with no finding created twice and none lost.
//! Nodes gone from SSM are archived only by a sweep that was not cut short.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use awsim::Config;
use awsim::quota::QuotaConfig;
use lambda_runtime::{Context, LambdaEvent};
use patchhub_lambda::function::Function;
use patchhub_testkit::read::{assert_synced, findings, is_active, node_of};
use patchhub_testkit::{REGION, scenario, start_account_with};
use serde_json::{Value, json};
use support::function;

/// About 100 non-compliant nodes: a first sync of some 25 s at the sweep's share of the quotas
/// (two or three SSM reads per such node, each API at about 8 calls/s): several invocations,
/// each of which stops starting reads half-way to its deadline.
const SPEC: &str = "accounts=1,regions=1,instances=300,patches=20,seed=16";
/// Each invocation's time.
const DEADLINE: Duration = Duration::from_secs(12);

/// One sweep invocation whose deadline is [`DEADLINE`] away; it must answer before it (Lambda
/// would stop it there).
async fn sweep(f: &Function) -> Value {
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + DEADLINE;
    let mut context = Context::default();
    context.deadline = deadline.as_millis() as u64;
    let event = LambdaEvent::new(json!({ "action": "sweep" }), context);
    tokio::time::timeout(DEADLINE, f.handle(event))
        .await
        .expect("the invocation answered before its deadline")
        .expect("a sweep succeeds")
}

/// Sweeps until one is not partial; each sweep's answer, in order.
async fn sweep_until_done(f: &Function, what: &str) -> Vec<Value> {
    let mut runs = Vec::new();
    loop {
        let out = sweep(f).await;
        let partial = out["partial"].as_bool().unwrap_or(false);
        runs.push(out);
        if !partial {
            return runs;
        }
        let last = &runs[runs.len() - 1];
        assert_eq!(
            last["continue"],
            json!({ "action": "sweep" }),
            "{what}: {last}"
        );
        assert!(
            last["nodes_deferred"].as_u64().unwrap() > 0,
            "{what}: {last}"
        );
        assert!(
            runs.len() < 30,
            "{what}: no convergence after 30 invocations"
        );
    }
}

fn sum(runs: &[Value], key: &str) -> u64 {
    runs.iter().map(|r| r[key].as_u64().unwrap_or(0)).sum()
}

#[tokio::test]
async fn a_sweep_too_big_for_one_invocation_converges() {
    let config = Config {
        quotas: QuotaConfig::aws(),
        ..Config::default()
    };
    let (sim, fleet, acct) = start_account_with(SPEC, config).await;
    let f = function(&sim, &acct, 3).await;

    let first = sweep_until_done(&f, "first sync").await;
    assert!(
        first.len() >= 2,
        "the first sync took {} invocation(s); the test wants several",
        first.len()
    );
    let found = assert_synced(&sim, &fleet, &acct, REGION, "after the partial sweeps").await;
    // Every finding was created exactly once: a partial sweep leaves no node half-written, and
    // the next one does not redo the finished nodes.
    assert_eq!(sum(&first, "created") as usize, found.len(), "{first:#?}");
    assert_eq!(sum(&first, "updated") + sum(&first, "resolved"), 0);
    assert!(
        first
            .iter()
            .all(|r| r["ok"] == true && r["nodes_gone"] == 0)
    );
    // The sweeps after the first did not start again: their changed nodes shrink.
    let changed: Vec<u64> = first
        .iter()
        .map(|r| r["nodes_changed"].as_u64().unwrap())
        .collect();
    assert!(changed.windows(2).all(|w| w[1] < w[0]), "{changed:?}");

    // Nothing changed since: one sweep, nothing written.
    let quiet = sweep(&f).await;
    assert_eq!(
        (quiet["partial"].as_bool(), quiet["ingested"].as_u64()),
        (None, Some(0))
    );

    // A node terminated while many others changed: while sweeps are cut short (whether this
    // cycle needs more than one invocation depends on the machine's speed; `ordering.rs` in
    // patchhub-aws cuts one deterministically), its findings stay active; the sweep that
    // finishes archives them.
    let fleet_now = scenario::change(&sim, &acct, REGION).await;
    let gone = fleet.accounts[0]
        .instances
        .iter()
        .map(|i| i.id.clone())
        .find(|id| !fleet_now.accounts[0].instances.iter().any(|i| &i.id == id))
        .expect("a node terminated");
    let everyone: Vec<String> = fleet_now.accounts[0]
        .instances
        .iter()
        .filter(|i| i.region == REGION && i.ping_status == "Online")
        .map(|i| i.id.clone())
        .collect();
    // Install every missing patch everywhere: every non-compliant node changes.
    scenario::install(&sim, &acct, REGION, &everyone, |p| p.state == "MISSING").await;
    let fleet_now = sim.export_fleet();
    let mut runs = 0;
    loop {
        let out = sweep(&f).await;
        runs += 1;
        let stored = findings(&sim, &acct, REGION).await;
        let gone_active = stored
            .iter()
            .any(|f| is_active(f) && node_of(f) == Some(gone.as_str()));
        if out["partial"].as_bool().unwrap_or(false) {
            assert_eq!(out["nodes_gone"], 0, "{out}");
            assert!(gone_active, "a cut sweep archived the terminated node");
        } else {
            assert_eq!(out["nodes_gone"], 1, "{out}");
            assert!(
                !gone_active,
                "the finished sweep archived the terminated node"
            );
            break;
        }
        assert!(runs < 30, "no convergence");
    }
    assert_synced(&sim, &fleet_now, &acct, REGION, "after the second cycle").await;
}
