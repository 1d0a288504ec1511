//! The handler called directly, as Lambda would call it, with the committed event fixtures and
//! awsim (in-process) as AWS: each event kind must leave exactly the right findings behind, and
//! each bad event or AWS failure must come back as its documented error type.

mod support;

use std::time::Duration;

use awsim::Config;
use awsim::faults::FaultSpec;
use lambda_runtime::{Context, LambdaEvent};
use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_ROLLUP};
use patchhub_lambda::config::LambdaConfig;
use patchhub_lambda::error::{ErrorType, LambdaError};
use patchhub_lambda::function::Function;
use serde_json::Value;
use support::{REGION, fixture};

const SPEC: &str = "accounts=1,regions=1,instances=16,patches=20,seed=7";

async fn function(sim: &awsim::Awsim, account: &str, max_attempts: u32) -> Function {
    let config = LambdaConfig::from_env(|_| None).expect("default config");
    Function::new(&support::sdk(sim, account, max_attempts).await, config)
        .await
        .expect("cold start")
}

async fn call(f: &Function, payload: Value) -> Result<Value, LambdaError> {
    f.handle(LambdaEvent::new(payload, Context::default()))
        .await
}

fn count(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

#[tokio::test]
async fn maintenance_window_payload_syncs_exactly_that_node() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;
    assert_eq!(
        (f.account(), f.region(), f.partition()),
        (acct.as_str(), REGION, "aws")
    );
    let node = support::nodes_with_missing(&fleet, 1)[0].clone();

    let out = call(&f, fixture("maintenance-window.json", &acct, &node))
        .await
        .expect("sync");
    assert_eq!(out["ok"], true);
    assert_eq!(out["trigger"], "maintenance-window");
    assert_eq!(out["mode"], "node");
    assert_eq!(out["instance_id"], node.as_str());
    assert_eq!(count(&out, "nodes"), 1);

    let found = support::findings(&sim, &acct).await;
    assert!(
        found
            .iter()
            .all(|f| support::node_of(f) == Some(node.as_str())),
        "only the named node's findings exist"
    );
    let expected = support::expected_patch_ids(&fleet, &acct, Some(&node));
    assert!(!expected.is_empty());
    assert_eq!(support::active(&found, GENERATOR_PATCH, None), expected);
    assert_eq!(support::active(&found, GENERATOR_ROLLUP, None).len(), 1);
    assert_eq!(count(&out, "created") as usize, found.len());
    assert_eq!(count(&out, "ingested") as usize, found.len());
    assert!(count(&out, "api_calls") >= 4, "{out}");
}

#[tokio::test]
async fn compliance_changes_sync_the_node_and_resolve_what_was_installed() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;
    let node = support::nodes_with_missing(&fleet, 2)[0].clone();

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
    let found = support::findings(&sim, &acct).await;
    let expected = support::expected_patch_ids(&fleet, &acct, Some(&node));
    assert_eq!(
        support::active(&found, GENERATOR_PATCH, Some(&node)),
        expected
    );

    // The node gets every patch installed and rescanned; SSM then says "compliant".
    {
        let mut world = sim.sim().world();
        let patches = world
            .region_mut(&acct, REGION)
            .ssm
            .true_patches_mut(&node)
            .expect("node");
        for p in patches.iter_mut() {
            p.state = "INSTALLED".into();
            p.installed_time = Some(chrono::Utc::now());
        }
    }
    aws_sdk_ssm::Client::new(&support::sdk(&sim, &acct, 3).await)
        .send_command()
        .document_name("AWS-RunPatchBaseline")
        .instance_ids(&node)
        .parameters("Operation", vec!["Scan".to_string()])
        .send()
        .await
        .expect("scan");

    let out = call(
        &f,
        fixture("compliance-change-compliant.json", &acct, &node),
    )
    .await
    .expect("compliant event");
    assert_eq!(count(&out, "resolved") as usize, expected.len(), "{out}");
    assert_eq!(count(&out, "created"), 0);
    let found = support::findings(&sim, &acct).await;
    assert!(
        support::active(&found, GENERATOR_PATCH, Some(&node)).is_empty(),
        "every patch finding of the node is resolved"
    );
    assert_eq!(
        support::active(&found, GENERATOR_ROLLUP, Some(&node)).len(),
        1
    );
}

#[tokio::test]
async fn other_compliance_types_are_acknowledged_without_aws_calls() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;
    let node = support::nodes_with_missing(&fleet, 1)[0].clone();
    sim.reset_stats();
    let out = call(
        &f,
        fixture("compliance-change-association.json", &acct, &node),
    )
    .await
    .expect("acknowledged");
    assert_eq!(out["ok"], true);
    assert_eq!(out["mode"], "ignored");
    assert!(
        out["note"]
            .as_str()
            .unwrap()
            .contains("`Association` is not Patch")
    );
    assert_eq!(sim.stats().total_calls(), 0);
    assert!(support::findings(&sim, &acct).await.is_empty());
}

#[tokio::test]
async fn schedules_and_sweep_actions_sweep_the_account() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;

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
    let found = support::findings(&sim, &acct).await;
    assert_eq!(
        support::active(&found, GENERATOR_PATCH, None),
        support::expected_patch_ids(&fleet, &acct, None)
    );
    assert_eq!(
        support::active(&found, GENERATOR_ROLLUP, None),
        support::expected_rollup_ids(&fleet, &acct)
    );

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
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;
    sim.reset_stats();

    let e = call(&f, fixture("garbage.json", &acct, "-"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEvent);
    assert!(
        e.message.contains("no `instanceid`, `action`"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("aws:s3"),
        "names what was received: {}",
        e.message
    );
    assert!(e.message.contains("accepted:"), "{}", e.message);

    let e = call(
        &f,
        fixture("maintenance-window-unsubstituted.json", &acct, "-"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEvent);
    assert!(
        e.message.contains("literal `{{RESOURCE_ID}}`"),
        "{}",
        e.message
    );

    let other = fixture(
        "compliance-change-non-compliant.json",
        "210987654321",
        support::FIXTURE_NODE,
    );
    let e = call(&f, other).await.unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEvent);
    assert!(
        e.message.contains("belongs to account 210987654321"),
        "{}",
        e.message
    );

    assert_eq!(sim.stats().total_calls(), 0, "rejected before any AWS call");
    assert!(support::findings(&sim, &acct).await.is_empty());
}

#[tokio::test]
async fn a_node_ssm_does_not_know_is_an_invalid_request_naming_it() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;
    let e = call(
        &f,
        fixture("maintenance-window.json", &acct, "i-0fffffffffffffff0"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidRequest);
    assert!(
        e.message.contains(&format!(
            "(is i-0fffffffffffffff0 a node managed by SSM in account {acct} in us-east-1?)"
        )),
        "{}",
        e.message
    );
    assert!(support::findings(&sim, &acct).await.is_empty());
}

#[tokio::test]
async fn failed_findings_fail_the_invocation_after_the_rest_was_written() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    support::enable_hub(&sim, &acct).await;
    let f = function(&sim, &acct, 3).await;
    sim.set_faults(FaultSpec {
        fail_finding: 0.6,
        ..FaultSpec::default()
    });
    let e = call(&f, fixture("sweep-action.json", &acct, "-"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, ErrorType::PartialFailure, "{}", e.message);
    let written = support::findings(&sim, &acct).await.len();
    assert!(written > 0, "the findings that could go in went in");
    assert!(
        e.message.contains(&format!("written: {written} created")),
        "{written}: {}",
        e.message
    );
    assert!(e.message.contains("InternalFailure"), "{}", e.message);

    // Once the faults stop, the next sweep converges and succeeds.
    sim.set_faults(FaultSpec::default());
    let out = call(&f, fixture("sweep-action.json", &acct, "-"))
        .await
        .expect("converges");
    assert_eq!(out["failed"], 0);
    let found = support::findings(&sim, &acct).await;
    assert_eq!(
        support::active(&found, GENERATOR_PATCH, None),
        support::expected_patch_ids(&fleet, &acct, None)
    );
}

#[tokio::test]
async fn aws_failures_keep_their_class() {
    let (sim, fleet) = support::start(SPEC, Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    // Security Hub is off.
    let f = function(&sim, &acct, 1).await;
    let e = call(&f, fixture("sweep-action.json", &acct, "-"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, ErrorType::HubNotEnabled, "{}", e.message);

    support::enable_hub(&sim, &acct).await;
    sim.set_faults(FaultSpec {
        throttle: 1.0,
        ..FaultSpec::default()
    });
    let node = support::nodes_with_missing(&fleet, 1)[0].clone();
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        call(&f, fixture("maintenance-window.json", &acct, &node)),
    )
    .await
    .expect("gives up")
    .unwrap_err();
    assert_eq!(e.error_type, ErrorType::Throttled, "{}", e.message);
}
