//! `patchhub report` as a user runs it: against awsim after a sync (Security Hub and SSM
//! sources agree), from a findings file in every format, and the exit codes 0/1/2. The figures
//! themselves are checked against hand-worked answers in the `report` module's, patchhub-aws's
//! (`tests/report_read.rs`) and patchhub-core's tests; here the binary's flags, files and outputs
//! are.

mod support;

use std::path::{Path, PathBuf};

use awsim::Awsim;
use patchhub_testkit::{assert_mentions, runtime};
use serde_json::Value;
use support::{exited, fleet_as, json, run as patchhub, scratch, stderr};

const CREDS: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "AKIATESTREPORT"),
    ("AWS_SECRET_ACCESS_KEY", "secret"),
    ("AWS_REGION", "us-east-1"),
];

/// A generated single-account fleet with Security Hub enabled, acting through `AKIATESTREPORT`.
fn fleet(rt: &tokio::runtime::Runtime) -> (Awsim, String) {
    fleet_as(
        rt,
        "accounts=1,regions=1,instances=30,patches=20,seed=5",
        "AKIATESTREPORT",
    )
}

#[test]
fn after_a_sync_security_hub_and_ssm_give_the_same_figures() {
    let rt = runtime();
    let (sim, account) = fleet(&rt);
    let url = sim.url();
    let out = patchhub(&["sync", "--endpoint-url", &url, "--output", "json"], CREDS);
    exited(&out, 0);

    let out = patchhub(
        &["report", "--endpoint-url", &url, "--format", "json"],
        CREDS,
    );
    exited(&out, 0);
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
    exited(&out, 0);
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
    let (sim, _) = fleet(&rt);
    let url = sim.url();
    let out = patchhub(&["sync", "--endpoint-url", &url], CREDS);
    exited(&out, 0);
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
    let err = exited(&out, 1);
    assert_mentions(&err, &["eu-west-1", "GetFindings", "incomplete"]);
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
    let (sim, _) = fleet(&rt);
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
    exited(&out, 0);
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
    exited(&out, 0);
    let v = json(&out);
    assert_eq!(v["source"], "file");
    assert_eq!(v["totals"]["nodes"], 30);

    let out = patchhub(&["report", "--input", input, "--format", "table"], &[]);
    exited(&out, 0);
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
    exited(&out, 0);
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
    exited(&out, 0);
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
    assert_mentions(&exited(&out, 2), &["line 2", "bad.jsonl"]);

    let out = patchhub(&["report", "--input", "/nonexistent/findings.jsonl"], &[]);
    assert_mentions(&exited(&out, 2), &["/nonexistent/findings.jsonl"]);

    let out = patchhub(
        &["report", "--input", "-", "--out", "/nonexistent/dir/r.html"],
        &[],
    );
    assert_mentions(&exited(&out, 2), &["/nonexistent/dir/r.html"]);

    // The fan-out flags are checked exactly as sync checks them.
    let out = patchhub(&["report", "--regions", "us-east-1,Narnia"], CREDS);
    assert_mentions(&exited(&out, 2), &["Narnia"]);

    let out = patchhub(
        &["report", "--source", "ssm", "--stale-after", "soon"],
        CREDS,
    );
    assert_mentions(&exited(&out, 2), &["--stale-after=`soon`"]);

    // A findings file is not read together with AWS sources.
    let out = patchhub(&["report", "--input", "x.jsonl", "--source", "ssm"], CREDS);
    exited(&out, 2);
    let _ = std::fs::remove_dir_all(&dir);
}
