//! The real `bootstrap` binary, run as Lambda runs it: against a local Runtime API, with awsim as
//! AWS through `AWS_ENDPOINT_URL`. Every event kind goes through the wire and the findings that
//! land are checked; bad events and bad configuration come back as their documented errors; the
//! JSON logs carry one summary line per invocation.

mod support;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use patchhub_core::finding::GENERATOR_PATCH;
use patchhub_testkit::read::{active_ids_of, assert_synced, findings, node_of};
use patchhub_testkit::{REGION, oracle, start_account};
use serde_json::Value;
use support::fixture;
use support::runtime_api::{Report, RuntimeApi};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const WITHIN: Duration = Duration::from_secs(60);

/// Starts `bootstrap` with Lambda's environment (plus `extra`), collecting its stdout lines.
fn spawn(env: Vec<(String, String)>, extra: &[(&str, &str)]) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    cmd.env_clear()
        .envs(env)
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("bootstrap starts");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let out = child.stdout.take().expect("stdout");
    let sink = lines.clone();
    tokio::spawn(async move {
        let mut reader = BufReader::new(out).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().expect("lines").push(line);
        }
    });
    (child, lines)
}

/// Invokes the function with a committed event fixture for `account` and `node`.
async fn invoke(api: &mut RuntimeApi, event: &str, account: &str, node: &str) -> Report {
    api.invoke(fixture(event, account, node), WITHIN).await
}

fn response(report: Report) -> Value {
    match report {
        Report::Response { body, .. } => body,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn error(report: Report) -> (String, String) {
    match report {
        Report::Error {
            error_type,
            error_message,
            ..
        } => (error_type, error_message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn bootstrap_handles_every_event_kind_through_the_runtime_api() {
    let (sim, fleet, acct) =
        start_account("accounts=1,regions=1,instances=14,patches=20,seed=12").await;
    let mut api = RuntimeApi::start().await;
    let (mut child, logs) = spawn(
        support::bootstrap_env(&api.address(), &sim.url(), &acct),
        &[],
    );
    let nodes = oracle::nodes_with_missing(&fleet, &acct, REGION, 1);
    let (a, b) = (nodes[0].id.clone(), nodes[1].id.clone());

    // Maintenance window task: that node only.
    let out = response(invoke(&mut api, "maintenance-window.json", &acct, &a).await);
    assert_eq!(out["mode"], "node", "{out}");
    let found = findings(&sim, &acct, REGION).await;
    assert!(found.iter().all(|f| node_of(f) == Some(a.as_str())));
    assert_eq!(
        active_ids_of(&found, GENERATOR_PATCH, &a),
        oracle::patch_ids_of(&fleet, &acct, REGION, &a)
    );

    // Compliance change (Patch): the node in the event.
    let out = response(invoke(&mut api, "compliance-change-non-compliant.json", &acct, &b).await);
    assert_eq!(out["trigger"], "compliance-change", "{out}");
    let found = findings(&sim, &acct, REGION).await;
    assert_eq!(
        active_ids_of(&found, GENERATOR_PATCH, &b),
        oracle::patch_ids_of(&fleet, &acct, REGION, &b)
    );

    // Compliance change (Association): acknowledged, nothing written.
    let before = found.len();
    let out = response(invoke(&mut api, "compliance-change-association.json", &acct, &b).await);
    assert_eq!(out["mode"], "ignored", "{out}");
    assert_eq!(findings(&sim, &acct, REGION).await.len(), before);

    // Garbage and an unsubstituted task payload: InvalidEvent, and the function lives on.
    let (ty, msg) = error(invoke(&mut api, "garbage.json", &acct, "-").await);
    assert_eq!(ty, "InvalidEvent");
    assert!(msg.contains("aws:s3") && msg.contains("accepted:"), "{msg}");
    let (ty, msg) = error(
        invoke(
            &mut api,
            "maintenance-window-unsubstituted.json",
            &acct,
            "-",
        )
        .await,
    );
    assert_eq!(ty, "InvalidEvent");
    assert!(msg.contains("{{RESOURCE_ID}}"), "{msg}");

    // Schedule: the whole account and Region.
    let out = response(invoke(&mut api, "scheduled-event.json", &acct, "-").await);
    assert_eq!(out["mode"], "sweep", "{out}");
    assert_synced(&sim, &fleet, &acct, REGION, "scheduled sweep").await;
    assert!(child.try_wait().expect("status").is_none(), "still serving");
    child.kill().await.expect("kill");
    // Let the log reader drain what the process wrote.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let lines = logs.lock().expect("lines").clone();
    let json: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let summaries: Vec<&Value> = json
        .iter()
        .filter(|v| v["message"] == "invocation summary")
        .collect();
    let modes: Vec<&str> = summaries
        .iter()
        .map(|v| v["mode"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        modes,
        ["node", "node", "ignored", "rejected", "rejected", "sweep"],
        "one summary line per invocation"
    );
    let errors: Vec<&str> = summaries
        .iter()
        .filter_map(|v| v["error_type"].as_str())
        .collect();
    assert_eq!(errors, ["InvalidEvent", "InvalidEvent"]);
    assert!(summaries.iter().all(|v| {
        v["level"].is_string()
            && v["account"] == acct.as_str()
            && v["request_id"]
                .as_str()
                .is_some_and(|r| r.starts_with("req-"))
    }));
    assert!(
        json.iter().any(|v| v["message"] == "cold start done"),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn bad_configuration_is_one_init_error_listing_every_value() {
    let mut api = RuntimeApi::start().await;
    // No AWS is reachable at all: configuration is checked before any call.
    let env = support::bootstrap_env(&api.address(), "http://127.0.0.1:9", "111111111111");
    let (mut child, _logs) = spawn(
        env,
        &[
            ("PATCHHUB_MIN_SEVERITY", "urgent"),
            ("PATCHHUB_STALE_AFTER", "a week"),
            ("PATCHHUB_EXCLUDE_TAGS", "=prod"),
        ],
    );
    let (_, report) = api.report(WITHIN).await.expect("an init error");
    let Report::InitError {
        error_type,
        error_message,
    } = report
    else {
        panic!("expected an init error, got {report:?}");
    };
    assert_eq!(error_type, "InvalidConfig");
    for part in [
        "3 bad environment variable value(s)",
        "PATCHHUB_MIN_SEVERITY=`urgent`",
        "PATCHHUB_STALE_AFTER=`a week`",
        "PATCHHUB_EXCLUDE_TAGS=`=prod`",
    ] {
        assert!(error_message.contains(part), "{error_message}");
    }
    let status = tokio::time::timeout(WITHIN, child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(!status.success(), "a failed init ends the process");
    assert!(api.first_next().is_none(), "it never asked for an event");
}
