//! The `patchhub` binary as a user runs it: exit codes 0/1/2 and one-line errors that name the
//! input and the fix. AWS is an in-process awsim on loopback; nothing else is contacted.

mod support;

use std::process::Output;

use awsim::{Awsim, Config};

fn patchhub(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = support::patchhub();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("patchhub runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

const CREDS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIATESTCLI"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_REGION", "us-east-1"),
];

#[test]
fn malformed_accounts_csv_names_the_line_and_exits_2() {
    let dir = std::env::temp_dir().join(format!("patchhub-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("12345") && err.contains("12-digit"),
        "{err}"
    );
    let out = patchhub(&["sync", "--accounts", "/nonexistent/accounts.csv"], CREDS);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/accounts.csv"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_region_instance_id_and_policy_values_exit_2() {
    let out = patchhub(&["sync", "--region", "mars-north-1x"], CREDS);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("mars-north-1x"), "{}", stderr(&out));

    let out = patchhub(&["sync", "--regions", "us-east-1,Narnia"], CREDS);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Narnia"));

    let out = patchhub(&["sync", "--instance", "i-123"], CREDS);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("i-123") && stderr(&out).contains("mi-"),
        "{}",
        stderr(&out)
    );

    // Every bad policy value is reported at once.
    let out = patchhub(
        &["sync", "--min-severity", "urgent", "--stale-after", "soon"],
        CREDS,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--min-severity=`urgent`") && err.contains("--stale-after=`soon`"),
        "{err}"
    );
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
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.to_lowercase().contains("credentials"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .unwrap()
}

/// A generated single-account fleet with Security Hub enabled, acting through `AKIATESTCLI`.
fn fleet(rt: &tokio::runtime::Runtime, faults: &str) -> (Awsim, String) {
    rt.block_on(async {
        let spec: awsim::GenerateSpec = "accounts=1,regions=1,instances=20,patches=20,seed=2"
            .parse()
            .unwrap();
        let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
        let account = fleet.accounts[0].id.clone();
        let mut config = Config::default();
        config
            .static_keys
            .insert("AKIATESTCLI".into(), account.clone());
        let sim = Awsim::start(config).await.unwrap();
        sim.load_fleet(fleet).unwrap();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(sim.url())
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIATESTCLI",
                "secret",
                None,
                None,
                "t",
            ))
            .load()
            .await;
        aws_sdk_securityhub::Client::new(&sdk)
            .enable_security_hub()
            .send()
            .await
            .unwrap();
        if !faults.is_empty() {
            sim.set_faults(faults.parse().unwrap());
        }
        (sim, account)
    })
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("not imported") && err.contains("InternalFailure"),
        "{err}"
    );
    assert!(err.contains("run again"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["total"]["failed"].as_u64().unwrap() > 0);
    // Nothing leaks the secret key.
    assert!(!err.contains("secret") && !String::from_utf8_lossy(&out.stdout).contains("secret"));
    drop(rt);
}
