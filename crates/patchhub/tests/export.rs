//! `patchhub export` as a user runs it against awsim: OCSF JSON Lines to a directory with one
//! event per finding a sync would write, Parquet in the Security Lake layout in awsim's S3, and
//! one-line errors with exit 2 for a bad `--out`. pyarrow reads the Parquet back in
//! scripts/lake-check; the parquet crate in patchhub-aws's `tests/lake.rs`.

mod support;

use std::collections::BTreeSet;

use patchhub_testkit::runtime;
use serde_json::Value;
use support::{dry_run, exited, fleet_as, run as patchhub, scratch, stderr, stdout};

const KEY: &str = "AKIATESTEXPORT";
const CREDS: &[(&str, &str)] = &support::creds(KEY);
const SPEC: &str = "accounts=1,regions=1,instances=25,patches=15,seed=11";

/// `patchhub export --format FORMAT --out OUT` against the awsim at `url`.
fn export(url: &str, format: &str, out: &str) -> std::process::Output {
    let args = [
        "export",
        "--endpoint-url",
        url,
        "--format",
        format,
        "--out",
        out,
    ];
    patchhub(&args, CREDS)
}

/// The finding ids a dry-run sync would import (every finding: nothing is in Security Hub).
fn sync_ids(url: &str) -> BTreeSet<String> {
    dry_run(url, "jsonl", CREDS)
        .iter()
        .map(|f| f["Id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn jsonl_has_one_event_per_finding_and_parquet_lands_in_the_lake_layout() {
    let rt = runtime();
    let ((sim, account), dir) = (fleet_as(&rt, SPEC, KEY), scratch("export-jsonl"));
    let url = sim.url();

    let out = export(&url, "ocsf-jsonl", dir.to_str().unwrap());
    exited(&out, 0);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let uids: BTreeSet<String> = events
        .iter()
        .map(|e| e["finding_info"]["uid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(uids.len(), events.len(), "one event per finding");
    assert_eq!(uids, sync_ids(&url), "the findings a sync would write");
    assert!(stdout(&out).contains(&format!("{} events", events.len())));

    // Parquet into a bucket of the caller's account.
    rt.block_on(async {
        let config = patchhub_testkit::loader(&sim, &account, "us-east-1")
            .credentials_provider(aws_credential_types::Credentials::new(
                KEY, "secret", None, None, "t",
            ))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket("lake-export")
            .send()
            .await
            .unwrap();
    });
    let out = export(&url, "ocsf-parquet", "s3://lake-export/root");
    let printed = exited(&out, 0);
    let mut rows = 0;
    for line in stdout(&out).lines() {
        let (location, count) = line.split_once('\t').unwrap();
        let source = if location.contains("/ext/patchhub-vuln/") {
            2002
        } else {
            2003
        };
        assert!(
            location.starts_with("s3://lake-export/root/ext/patchhub-")
                && location.contains(&format!("/region=us-east-1/accountId={account}/eventDay="))
                && location.ends_with(".parquet"),
            "{location}"
        );
        let n: usize = count.trim_end_matches(" events").parse().unwrap();
        let of_class = events.iter().filter(|e| e["class_uid"] == source).count();
        assert!(n <= of_class, "{line}");
        rows += n;
    }
    assert_eq!(rows, events.len(), "{printed}");
}

#[test]
fn a_bad_out_is_one_line_and_exit_2() {
    let rt = runtime();
    let (sim, _) = fleet_as(&rt, "accounts=1,regions=1,instances=2,patches=2", KEY);
    let url = sim.url();
    let file = scratch("export-file").join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let cases = [
        (
            file.to_str().unwrap().to_string(),
            "not an existing directory",
        ),
        ("s3://Bad_Bucket/x".to_string(), "not an S3 bucket name"),
        (
            "s3://no-such-lake/x".to_string(),
            "bucket no-such-lake does not exist",
        ),
    ];
    for (target, says) in cases {
        let out = export(&url, "ocsf-parquet", &target);
        let err = exited(&out, 2);
        assert!(stderr(&out).contains(says), "{target}: {err}");
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{target}: {err}");
    }
}
