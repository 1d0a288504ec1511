//! The handler called directly, as Lambda would call it, with the committed event fixtures and
//! awsim (in-process) as AWS: each event kind must leave exactly the right findings behind, and
//! each bad event or AWS failure must come back as its documented error type.

mod support;

use std::time::Duration;

use awsim::faults::FaultSpec;
use awsim::{Awsim, Config, Fleet};
use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_ROLLUP};
use patchhub_lambda::error::ErrorType;
use patchhub_lambda::function::Function;
use patchhub_testkit::read::{active_ids, active_ids_of, assert_synced, findings, node_of};
use patchhub_testkit::{
    REGION, assert_mentions, enable_hub, oracle, scenario, start, start_account,
};
use serde_json::Value;
use support::{call, fixture, function};

const SPEC: &str = "accounts=1,regions=1,instances=16,patches=20,seed=7";

/// The test fleet with Security Hub on, its account, and the function acting as it.
async fn ready() -> (Awsim, Fleet, String, Function) {
    let (sim, fleet, acct) = start_account(SPEC).await;
    let f = function(&sim, &acct, 3).await;
    (sim, fleet, acct, f)
}

/// The first scanned, online node of the fleet with at least `missing` missing patches.
fn node_missing(fleet: &Fleet, missing: usize) -> String {
    oracle::nodes_with_missing(fleet, &fleet.accounts[0].id, REGION, missing)[0]
        .id
        .clone()
}

/// Calls the handler with a payload it must refuse with `ty`; the error message.
async fn refused(f: &Function, payload: Value, ty: ErrorType) -> String {
    let e = call(f, payload).await.expect_err("refused");
    assert_eq!(e.error_type, ty, "{}", e.message);
    e.message
}

fn count(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[tokio::test]
async fn maintenance_window_payload_syncs_exactly_that_node() {
    let (sim, fleet, acct, f) = ready().await;
    assert_eq!(
        (f.account(), f.region(), f.partition()),
        (acct.as_str(), REGION, "aws")
    );
    let node = node_missing(&fleet, 1);

    let out = call(&f, fixture("maintenance-window.json", &acct, &node))
        .await
        .expect("sync");
    assert_eq!(out["ok"], true);
    assert_eq!(out["trigger"], "maintenance-window");
    assert_eq!(out["mode"], "node");
    assert_eq!(out["instance_id"], node.as_str());
    assert_eq!(count(&out, "nodes"), 1);

    let found = findings(&sim, &acct, REGION).await;
    assert!(
        found.iter().all(|f| node_of(f) == Some(node.as_str())),
        "only the named node's findings exist"
    );
    let expected = oracle::patch_ids_of(&fleet, &acct, REGION, &node);
    assert!(!expected.is_empty());
    assert_eq!(active_ids(&found, GENERATOR_PATCH), expected);
    assert_eq!(active_ids(&found, GENERATOR_ROLLUP).len(), 1);
    assert_eq!(count(&out, "created") as usize, found.len());
    assert_eq!(count(&out, "ingested") as usize, found.len());
    assert!(count(&out, "api_calls") >= 4, "{out}");
}

#[tokio::test]
async fn compliance_changes_sync_the_node_and_resolve_what_was_installed() {
    let (sim, fleet, acct, f) = ready().await;
    let node = node_missing(&fleet, 2);

    let out = call(
        &f,
        fixture("compliance-change-non-compliant.json", &acct, &node),
    )
    .await
    .expect("non-compliant event");
    assert_eq!(
        (out["trigger"].as_str(), out["mode"].as_str()),
        (Some("compliance-change"), Some("node"))
    );
    let found = findings(&sim, &acct, REGION).await;
    let expected = oracle::patch_ids_of(&fleet, &acct, REGION, &node);
    assert_eq!(active_ids_of(&found, GENERATOR_PATCH, &node), expected);

    // The node gets every patch installed and rescanned; SSM then says "compliant".
    scenario::install(&sim, &acct, REGION, std::slice::from_ref(&node), |_| true).await;

    let out = call(
        &f,
        fixture("compliance-change-compliant.json", &acct, &node),
    )
    .await
    .expect("compliant event");
    assert_eq!(count(&out, "resolved") as usize, expected.len(), "{out}");
    assert_eq!(count(&out, "created"), 0);
    let found = findings(&sim, &acct, REGION).await;
    assert!(
        active_ids_of(&found, GENERATOR_PATCH, &node).is_empty(),
        "every patch finding of the node is resolved"
    );
    assert_eq!(active_ids_of(&found, GENERATOR_ROLLUP, &node).len(), 1);
}

#[tokio::test]
async fn other_compliance_types_are_acknowledged_without_aws_calls() {
    let (sim, fleet, acct, f) = ready().await;
    let node = node_missing(&fleet, 1);
    sim.reset_stats();
    let out = call(
        &f,
        fixture("compliance-change-association.json", &acct, &node),
    )
    .await
    .expect("acknowledged");
    assert_eq!(out["ok"], true);
    assert_eq!(out["mode"], "ignored");
    assert_mentions(
        out["note"].as_str().unwrap(),
        &["`Association` is not Patch"],
    );
    assert_eq!(sim.stats().total_calls(), 0);
    assert!(findings(&sim, &acct, REGION).await.is_empty());
}

#[tokio::test]
async fn schedules_and_sweep_actions_sweep_the_account() {
    let (sim, fleet, acct, f) = ready().await;

    let out = call(&f, fixture("scheduled-event.json", &acct, "-"))
        .await
        .expect("sweep");
    assert_eq!(
        (out["trigger"].as_str(), out["mode"].as_str()),
        (Some("schedule"), Some("sweep"))
    );
    let in_region = fleet.accounts[0]
        .instances
        .iter()
        .filter(|i| i.region == REGION)
        .count();
    assert_eq!(count(&out, "nodes") as usize, in_region);
    assert_synced(&sim, &fleet, &acct, REGION, "scheduled sweep").await;

    // Nothing changed since: a manual sweep writes nothing.
    sim.reset_stats();
    let again = call(&f, fixture("sweep-action.json", &acct, "-"))
        .await
        .expect("sweep again");
    assert_eq!(again["trigger"], "manual");
    assert_eq!(count(&again, "ingested"), 0);
    assert_eq!(sim.stats().calls_of("BatchImportFindings"), 0);
    assert!(count(&again, "unchanged") > 0);
}

#[tokio::test]
async fn bad_events_are_invalid_events_and_touch_nothing() {
    let (sim, _, acct, f) = ready().await;
    sim.reset_stats();

    let invalid = ErrorType::InvalidEvent;
    let e = refused(&f, fixture("garbage.json", &acct, "-"), invalid).await;
    // Names what was received and what is accepted.
    assert_mentions(&e, &["no `instanceid`, `action`", "aws:s3", "accepted:"]);
    let unsubstituted = fixture("maintenance-window-unsubstituted.json", &acct, "-");
    let e = refused(&f, unsubstituted, invalid).await;
    assert_mentions(&e, &["literal `{{RESOURCE_ID}}`"]);
    let other = fixture(
        "compliance-change-non-compliant.json",
        "210987654321",
        support::FIXTURE_NODE,
    );
    let e = refused(&f, other, invalid).await;
    assert_mentions(&e, &["belongs to account 210987654321"]);

    assert_eq!(sim.stats().total_calls(), 0, "rejected before any AWS call");
    assert!(findings(&sim, &acct, REGION).await.is_empty());
}

#[tokio::test]
async fn a_node_ssm_does_not_know_is_an_invalid_request_naming_it() {
    let (sim, _, acct, f) = ready().await;
    let unknown = fixture("maintenance-window.json", &acct, "i-0fffffffffffffff0");
    let e = refused(&f, unknown, ErrorType::InvalidRequest).await;
    assert_mentions(
        &e,
        &[&format!(
            "(is i-0fffffffffffffff0 a node managed by SSM in account {acct} in us-east-1?)"
        )],
    );
    assert!(findings(&sim, &acct, REGION).await.is_empty());
}

#[tokio::test]
async fn failed_findings_fail_the_invocation_after_the_rest_was_written() {
    let (sim, fleet, acct, f) = ready().await;
    sim.set_faults(FaultSpec {
        fail_finding: 0.6,
        ..FaultSpec::default()
    });
    let sweep = fixture("sweep-action.json", &acct, "-");
    let e = refused(&f, sweep, ErrorType::PartialFailure).await;
    let written = findings(&sim, &acct, REGION).await.len();
    assert!(written > 0, "the findings that could go in went in");
    assert_mentions(
        &e,
        &[&format!("written: {written} created"), "InternalFailure"],
    );

    // Once the faults stop, the next sweep converges and succeeds.
    sim.set_faults(FaultSpec::default());
    let out = call(&f, fixture("sweep-action.json", &acct, "-"))
        .await
        .expect("converges");
    assert_eq!(out["failed"], 0);
    assert_synced(&sim, &fleet, &acct, REGION, "after the faults").await;
}

#[tokio::test]
async fn aws_failures_keep_their_class() {
    let (sim, fleet) = start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    // Security Hub is off.
    let f = function(&sim, &acct, 1).await;
    let sweep = fixture("sweep-action.json", &acct, "-");
    refused(&f, sweep, ErrorType::HubNotEnabled).await;

    enable_hub(&sim, &acct, REGION).await;
    sim.set_faults(FaultSpec {
        throttle: 1.0,
        ..FaultSpec::default()
    });
    let node = node_missing(&fleet, 1);
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        call(&f, fixture("maintenance-window.json", &acct, &node)),
    )
    .await
    .expect("gives up")
    .unwrap_err();
    assert_eq!(e.error_type, ErrorType::Throttled, "{}", e.message);
}
