//! The `patchhub` binary as a user runs it: exit codes 0/1/2 and one-line errors that name the
//! input and the fix. AWS is an in-process awsim on loopback; nothing else is contacted.

mod support;

use awsim::Awsim;
use patchhub_testkit::{assert_mentions, runtime};
use support::{exited, fleet_as, json, run as patchhub, scratch};

const CREDS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIATESTCLI"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_REGION", "us-east-1"),
];

#[test]
fn malformed_accounts_csv_names_the_line_and_exits_2() {
    let dir = scratch("cli");
    let csv = dir.join("accounts.csv");
    std::fs::write(&csv, "111111111111,a@example.com\n12345,b@example.com\n").unwrap();
    let out = patchhub(
        &[
            "sync",
            "--accounts",
            csv.to_str().unwrap(),
            "--role-name",
            "R",
        ],
        CREDS,
    );
    let err = exited(&out, 2);
    assert_mentions(&err, &["line 2", "12345", "12-digit"]);
    let out = patchhub(&["sync", "--accounts", "/nonexistent/accounts.csv"], CREDS);
    assert_mentions(&exited(&out, 2), &["/nonexistent/accounts.csv"]);
}

#[test]
fn bad_region_instance_id_and_policy_values_exit_2() {
    let out = patchhub(&["sync", "--region", "mars-north-1x"], CREDS);
    assert_mentions(&exited(&out, 2), &["mars-north-1x"]);

    let out = patchhub(&["sync", "--regions", "us-east-1,Narnia"], CREDS);
    assert_mentions(&exited(&out, 2), &["Narnia"]);

    let out = patchhub(&["sync", "--instance", "i-123"], CREDS);
    assert_mentions(&exited(&out, 2), &["i-123", "mi-"]);

    // Every bad policy value is reported at once.
    let out = patchhub(
        &["sync", "--min-severity", "urgent", "--stale-after", "soon"],
        CREDS,
    );
    let err = exited(&out, 2);
    assert_mentions(&err, &["--min-severity=`urgent`", "--stale-after=`soon`"]);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn missing_credentials_exit_2_with_the_fix() {
    let out = patchhub(
        &[
            "sync",
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        &[],
    );
    let err = exited(&out, 2);
    assert!(err.to_lowercase().contains("credentials"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A generated single-account fleet with Security Hub enabled, acting through `AKIATESTCLI`.
fn fleet(rt: &tokio::runtime::Runtime, faults: &str) -> (Awsim, String) {
    let (sim, account) = fleet_as(
        rt,
        "accounts=1,regions=1,instances=20,patches=20,seed=2",
        "AKIATESTCLI",
    );
    if !faults.is_empty() {
        sim.set_faults(faults.parse().unwrap());
    }
    (sim, account)
}

#[test]
fn a_sync_that_writes_everything_exits_0_and_prints_json() {
    let rt = runtime();
    let (sim, account) = fleet(&rt, "");
    let url = sim.url();
    // --dry-run --output jsonl prints the findings that would be imported and imports nothing.
    let out = patchhub(
        &[
            "sync",
            "--endpoint-url",
            &url,
            "--output",
            "jsonl",
            "--dry-run",
        ],
        CREDS,
    );
    exited(&out, 0);
    assert_eq!(
        sim.stats().ingestion_events(),
        0,
        "a dry run imports nothing"
    );
    let planned: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a finding"))
        .collect();
    assert!(!planned.is_empty());
    assert!(
        planned
            .iter()
            .all(|f| f["SchemaVersion"] == "2018-10-08" && f["AwsAccountId"] == account.as_str())
    );

    let out = patchhub(&["sync", "--endpoint-url", &url, "--output", "json"], CREDS);
    exited(&out, 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["targets"][0]["account"], account.as_str());
    let created = v["total"]["created"].as_u64().unwrap();
    assert_eq!(
        created as usize,
        planned.len(),
        "the dry run planned exactly what the real run created"
    );
    assert_eq!(sim.stats().ingestion_events(), created);
    drop(rt);
}

#[test]
fn findings_security_hub_refuses_exit_1_and_are_named() {
    let rt = runtime();
    let (sim, _) = fleet(&rt, "fail_finding=1.0");
    let out = patchhub(
        &["sync", "--endpoint-url", &sim.url(), "--output", "json"],
        CREDS,
    );
    let err = exited(&out, 1);
    assert_mentions(&err, &["not imported", "InternalFailure", "run again"]);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert!(v["total"]["failed"].as_u64().unwrap() > 0);
    // Nothing leaks the secret key.
    assert!(!err.contains("secret") && !String::from_utf8_lossy(&out.stdout).contains("secret"));
    drop(rt);
}
