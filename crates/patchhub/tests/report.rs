//! `patchhub report` as a user runs it: against awsim after a sync (Security Hub and SSM
//! sources agree), from a findings file in every format, and the exit codes 0/1/2. The figures
//! themselves are checked against hand-worked answers in the `report` module's, patchhub-aws's
//! (`tests/report_read.rs`) and patchhub-core's tests; here the binary's flags, files and outputs
//! are.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use awsim::{Awsim, Config};
use serde_json::Value;

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

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
}

const CREDS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIATESTREPORT"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_REGION", "us-east-1"),
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchhub-report-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .unwrap()
}

/// A generated single-account fleet with Security Hub enabled in `hub_regions`.
fn fleet(rt: &tokio::runtime::Runtime, hub_regions: &[&str]) -> (Awsim, String) {
    let hub_regions: Vec<String> = hub_regions.iter().map(|r| r.to_string()).collect();
    rt.block_on(async move {
        let spec: awsim::GenerateSpec = "accounts=1,regions=1,instances=30,patches=20,seed=5"
            .parse()
            .unwrap();
        let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
        let account = fleet.accounts[0].id.clone();
        let mut config = Config::default();
        config
            .static_keys
            .insert("AKIATESTREPORT".into(), account.clone());
        let sim = Awsim::start(config).await.unwrap();
        sim.load_fleet(fleet).unwrap();
        for r in hub_regions {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(r))
                .endpoint_url(sim.url())
                .credentials_provider(aws_credential_types::Credentials::new(
                    "AKIATESTREPORT",
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
        }
        (sim, account)
    })
}

#[test]
fn after_a_sync_security_hub_and_ssm_give_the_same_figures() {
    let rt = runtime();
    let (sim, account) = fleet(&rt, &["us-east-1"]);
    let url = sim.url();
    let out = patchhub(&["sync", "--endpoint-url", &url, "--output", "json"], CREDS);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = patchhub(
        &["report", "--endpoint-url", &url, "--format", "json"],
        CREDS,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hub = json(&out);
    assert_eq!(hub["schema_version"], 1);
    assert_eq!(hub["source"], "securityhub");
    assert_eq!(hub["accounts"][0]["account"], account.as_str());
    let totals = &hub["totals"];
    assert_eq!(totals["nodes"], 30, "{totals}");
    assert!(totals["scanned"].as_u64().unwrap() > 0);
    assert!(totals["open_findings"].as_u64().unwrap() > 0);
    assert_eq!(totals["resolved_recently"], 0);
    // Every other format renders the live report too.
    for format in ["table", "csv", "html"] {
        let out = patchhub(
            &["report", "--endpoint-url", &url, "--format", format],
            CREDS,
        );
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        assert!(out.stdout.len() > 100, "{format}");
    }

    let out = patchhub(
        &[
            "report",
            "--endpoint-url",
            &url,
            "--source",
            "ssm",
            "--format",
            "json",
        ],
        CREDS,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ssm = json(&out);
    assert_eq!(ssm["source"], "ssm");
    assert_eq!(ssm["totals"]["resolved_recently"], Value::Null);
    for k in [
        "nodes",
        "scanned",
        "compliant",
        "non_compliant",
        "compliance_rate",
        "open_findings",
        "stale",
        "missing_patches",
        "open_cves",
        "pending_reboot",
    ] {
        assert_eq!(ssm["totals"][k], totals[k], "{k}");
    }
    assert_eq!(ssm["top_patches"], hub["top_patches"]);
    assert_eq!(ssm["platforms"], hub["platforms"]);
    drop(rt);
}

#[test]
fn a_region_that_cannot_be_read_is_named_and_exits_1_with_the_rest_reported() {
    let rt = runtime();
    let (sim, _) = fleet(&rt, &["us-east-1"]);
    let url = sim.url();
    let out = patchhub(&["sync", "--endpoint-url", &url], CREDS);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Security Hub is not enabled in eu-west-1.
    let out = patchhub(
        &[
            "report",
            "--endpoint-url",
            &url,
            "--regions",
            "us-east-1,eu-west-1",
            "--format",
            "json",
        ],
        CREDS,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("eu-west-1") && err.contains("GetFindings"),
        "{err}"
    );
    assert!(err.contains("incomplete"), "{err}");
    assert_eq!(
        json(&out)["totals"]["nodes"],
        30,
        "us-east-1 is still reported"
    );
    drop(rt);
}

/// A findings file from `sync --dry-run --output jsonl`.
fn findings_file(dir: &Path) -> PathBuf {
    let rt = runtime();
    let (sim, _) = fleet(&rt, &["us-east-1"]);
    let out = patchhub(
        &[
            "sync",
            "--endpoint-url",
            &sim.url(),
            "--dry-run",
            "--output",
            "jsonl",
        ],
        CREDS,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.join("findings.jsonl");
    std::fs::write(&path, &out.stdout).unwrap();
    drop(rt);
    path
}

#[test]
fn every_format_from_a_findings_file_without_aws() {
    let dir = scratch("formats");
    let input = findings_file(&dir);
    let input = input.to_str().unwrap();

    let out = patchhub(&["report", "--input", input, "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["source"], "file");
    assert_eq!(v["totals"]["nodes"], 30);

    let out = patchhub(&["report", "--input", input, "--format", "table"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Compliance by account"), "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");

    let out = patchhub(
        &[
            "report",
            "--input",
            input,
            "--format",
            "csv",
            "--section",
            "platforms",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.starts_with("platform,platform_type,nodes,scanned,compliant,"),
        "{csv}"
    );
    let nodes: u64 = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(nodes, 30, "every node has a platform row");

    // --out picks the format from the extension and writes one self-contained page.
    let page = dir.join("report.html");
    let out = patchhub(
        &["report", "--input", input, "--out", page.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in [
        "id=\"summary\"",
        "id=\"accounts\"",
        "id=\"cves\"",
        "id=\"stale\"",
        "id=\"chart-accounts-t\"",
    ] {
        assert!(html.contains(id), "{id}");
    }
    assert!(!html.contains("http://") && !html.contains(" src="));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_and_flags_exit_2_naming_the_problem() {
    let dir = scratch("bad");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "\n{\"not\": \"a finding\"}\n").unwrap();
    let out = patchhub(&["report", "--input", bad.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2") && stderr(&out).contains("bad.jsonl"),
        "{}",
        stderr(&out)
    );

    let out = patchhub(&["report", "--input", "/nonexistent/findings.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/findings.jsonl"));

    let out = patchhub(
        &["report", "--input", "-", "--out", "/nonexistent/dir/r.html"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/dir/r.html"),
        "{}",
        stderr(&out)
    );

    // The fan-out flags are checked exactly as sync checks them.
    let out = patchhub(&["report", "--regions", "us-east-1,Narnia"], CREDS);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Narnia"));

    let out = patchhub(
        &["report", "--source", "ssm", "--stale-after", "soon"],
        CREDS,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--stale-after=`soon`"),
        "{}",
        stderr(&out)
    );

    // A findings file is not read together with AWS sources.
    let out = patchhub(&["report", "--input", "x.jsonl", "--source", "ssm"], CREDS);
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
