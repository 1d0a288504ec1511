//! The Lambda's Security Lake sink (issue #18, item 4) against awsim's S3: each invocation writes
//! the OCSF events of the changes it imported into Security Hub, in the custom sources' layout,
//! and nothing when nothing changed; a bucket it cannot write is reported while Security Hub
//! still gets every finding; a sweep cut at its deadline writes what it applied; and with the
//! sink off the function makes no S3 call at all.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_json::ArrayWriter;
use awsim::{Awsim, Config};
use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use patchhub_lambda::function::Function;
use patchhub_testkit::read::{findings, is_active};
use patchhub_testkit::{REGION, scenario, start_account, start_account_with};
use serde_json::{Value, json};
use support::{call, function, function_with_env};

const SPEC: &str = "accounts=1,regions=1,instances=8,patches=12,seed=18";
const LAKE: &str = "aws-security-data-lake-us-east-1-h18c";

/// One row read back from the lake, with the object it came from.
struct Row {
    key: String,
    event: Value,
}

async fn s3(sim: &Awsim, account: &str) -> aws_sdk_s3::Client {
    let config = patchhub_testkit::sdk(sim, account, REGION).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// The function of `account` with the sink writing under `s3://LAKE/root`.
async fn lake_function(sim: &Awsim, account: &str, bucket: &str) -> Function {
    let uri = format!("s3://{bucket}/root");
    function_with_env(sim, account, 2, &[("PATCHHUB_LAKE_S3_URI", &uri)]).await
}

async fn keys(c: &aws_sdk_s3::Client) -> BTreeSet<String> {
    let out = c.list_objects_v2().bucket(LAKE).send().await.unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect()
}

/// Every row of the objects `keys`, as JSON (the Parquet crate's reader, then Arrow's JSON
/// writer), each checked against its key: the class of its source, and the Region, account and
/// UTC day of its partition.
async fn rows(c: &aws_sdk_s3::Client, keys: &BTreeSet<String>, account: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for key in keys {
        let body = c.get_object().bucket(LAKE).key(key).send().await.unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        let mut w = ArrayWriter::new(Vec::new());
        for batch in reader {
            w.write(&batch.unwrap()).unwrap();
        }
        w.finish().unwrap();
        let events: Vec<Value> = serde_json::from_slice(&w.into_inner()).unwrap_or_default();
        assert!(!events.is_empty(), "{key}: an object holds events");

        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts.len(), 7, "{key}");
        assert_eq!(parts[..2], ["root", "ext"], "{key}");
        let class = match parts[2] {
            "patchhub-vuln" => 2002,
            "patchhub-compliance" => 2003,
            other => panic!("{key}: unknown source {other}"),
        };
        assert_eq!(parts[3], format!("region={REGION}"), "{key}");
        assert_eq!(parts[4], format!("accountId={account}"), "{key}");
        assert!(
            parts[6].starts_with("patchhub-") && parts[6].ends_with(".parquet"),
            "{key}"
        );
        for e in events {
            assert_eq!(e["class_uid"], class, "{key}: one class per source");
            assert_eq!(e["cloud"]["region"], REGION);
            assert_eq!(e["cloud"]["account"]["uid"], account);
            let time = DateTime::<Utc>::from_timestamp_millis(e["time"].as_i64().unwrap()).unwrap();
            assert_eq!(
                parts[5],
                format!("eventDay={}", time.format("%Y%m%d")),
                "{key}: the partition is the row's day"
            );
            out.push(Row {
                key: key.clone(),
                event: e,
            });
        }
    }
    out
}

fn uid(r: &Row) -> String {
    r.event["finding_info"]["uid"].as_str().unwrap().to_string()
}

fn count(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

fn s3_calls(sim: &Awsim) -> u64 {
    sim.stats()
        .calls
        .iter()
        .filter(|r| r.service == "s3")
        .map(|r| r.counts.calls)
        .sum()
}

fn sweep() -> Value {
    json!({ "action": "sweep" })
}

#[tokio::test]
async fn each_invocation_writes_the_changes_it_imported() {
    let (sim, _fleet, acct) = start_account(SPEC).await;
    let c = s3(&sim, &acct).await;
    c.create_bucket().bucket(LAKE).send().await.unwrap();
    let f = lake_function(&sim, &acct, LAKE).await;

    // First sweep: every finding is new, and every one is in the lake as a Create.
    let first = call(&f, sweep()).await.expect("first sweep");
    assert_eq!(first["ok"], true, "{first}");
    let created = count(&first, "created");
    assert!(created >= 10, "{first}");
    assert_eq!(count(&first, "lake_events"), created, "{first}");
    let written = keys(&c).await;
    assert_eq!(
        written.len() as u64,
        count(&first, "lake_objects"),
        "{first}"
    );
    assert_eq!(written.len(), 2, "one object per source: {written:?}");
    let rows1 = rows(&c, &written, &acct).await;
    let in_hub: BTreeSet<String> = findings(&sim, &acct, REGION)
        .await
        .iter()
        .map(|f| f.id().unwrap().to_string())
        .collect();
    let in_lake: BTreeSet<String> = rows1.iter().map(uid).collect();
    assert_eq!(rows1.len(), in_lake.len(), "each change once");
    assert_eq!(in_lake, in_hub, "the lake has exactly what was imported");
    assert!(rows1.iter().all(|r| r.event["activity_id"] == 1));

    // Nothing changed: no object, no S3 call.
    let puts_before = sim.stats().calls_of("PutObject");
    let second = call(&f, sweep()).await.expect("second sweep");
    assert_eq!(second["ok"], true, "{second}");
    assert_eq!(count(&second, "created") + count(&second, "updated"), 0);
    assert!(second.get("lake_objects").is_none(), "{second}");
    assert_eq!(
        sim.stats().calls_of("PutObject"),
        puts_before,
        "nothing sent"
    );
    assert_eq!(keys(&c).await, written);

    // Patches installed and a node terminated: the lake gets the updates and the closes.
    scenario::change(&sim, &acct, REGION).await;
    let third = call(&f, sweep()).await.expect("third sweep");
    assert_eq!(third["ok"], true, "{third}");
    let changed = count(&third, "created") + count(&third, "updated") + count(&third, "resolved");
    assert!(count(&third, "resolved") > 0, "{third}");
    assert_eq!(count(&third, "lake_events"), changed, "{third}");
    let now: BTreeSet<String> = keys(&c).await;
    let new: BTreeSet<String> = now.difference(&written).cloned().collect();
    assert_eq!(new.len() as u64, count(&third, "lake_objects"), "{third}");
    let rows3 = rows(&c, &new, &acct).await;
    assert_eq!(rows3.len() as u64, changed);
    let hub: BTreeMap<String, bool> = findings(&sim, &acct, REGION)
        .await
        .iter()
        .map(|f| (f.id().unwrap().to_string(), is_active(f)))
        .collect();
    let closed: Vec<&Row> = rows3
        .iter()
        .filter(|r| r.event["activity_id"] == 3)
        .collect();
    assert_eq!(closed.len() as u64, count(&third, "resolved"), "{third}");
    for r in &closed {
        assert_eq!(r.event["status_id"], 4, "{}: a close is Resolved", r.key);
        assert_eq!(
            hub.get(&uid(r)),
            Some(&false),
            "{}: archived in Security Hub",
            uid(r)
        );
    }
    for r in &rows3 {
        assert!(hub.contains_key(&uid(r)), "{}: in Security Hub", uid(r));
    }
}

#[tokio::test]
async fn with_the_sink_off_no_s3_call_is_made() {
    let (sim, _fleet, acct) = start_account(SPEC).await;
    let f = function(&sim, &acct, 2).await;
    let out = call(&f, sweep()).await.expect("sweep");
    assert!(count(&out, "created") > 0, "{out}");
    assert!(out.get("lake_objects").is_none() && out.get("lake_error").is_none());
    assert!(sim.stats().total_calls() > 0);
    assert_eq!(s3_calls(&sim), 0, "no S3 call at all");
}

#[tokio::test]
async fn a_missing_bucket_is_reported_and_security_hub_still_gets_everything() {
    let (sim, _fleet, acct) = start_account(SPEC).await;
    let f = lake_function(&sim, &acct, "no-such-lake-bucket").await;
    let out = call(&f, sweep())
        .await
        .expect("the invocation itself succeeds");
    assert_eq!(out["ok"], false, "{out}");
    assert_eq!(out["error_type"], "LakeWriteFailed", "{out}");
    let error = out["lake_error"].as_str().expect("lake_error");
    patchhub_testkit::assert_mentions(
        error,
        &[
            "not written to Security Lake",
            "no-such-lake-bucket",
            "NoSuchBucket",
        ],
    );
    assert!(!error.contains('\n'), "one line: {error}");
    let created = count(&out, "created");
    assert!(created > 0, "{out}");
    assert!(out.get("lake_objects").is_none(), "{out}");
    let in_hub = findings(&sim, &acct, REGION).await;
    assert_eq!(
        in_hub.len() as u64,
        created,
        "Security Hub has every finding"
    );
    assert_eq!(count(&out, "failed"), 0);
}

#[tokio::test]
async fn a_sweep_cut_at_its_deadline_writes_what_it_applied() {
    // Slow answers, so the sweep runs out of time after its first node batches.
    let config = Config {
        latency_ms: 25,
        ..Config::default()
    };
    let (sim, _fleet, acct) = start_account_with(
        "accounts=1,regions=1,instances=400,patches=6,seed=18",
        config,
    )
    .await;
    let c = s3(&sim, &acct).await;
    c.create_bucket().bucket(LAKE).send().await.unwrap();
    let f = lake_function(&sim, &acct, LAKE).await;

    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(4);
    let mut context = Context::default();
    context.deadline = deadline.as_millis() as u64;
    let out = f
        .handle(LambdaEvent::new(sweep(), context))
        .await
        .expect("sweep");
    assert_eq!(out["partial"], true, "the sweep was cut: {out}");
    let applied = count(&out, "created") + count(&out, "updated") + count(&out, "resolved");
    assert!(applied > 0, "{out}");
    assert_eq!(count(&out, "lake_events"), applied, "{out}");
    let rows = rows(&c, &keys(&c).await, &acct).await;
    let in_lake: BTreeSet<String> = rows.iter().map(uid).collect();
    let in_hub: BTreeSet<String> = findings(&sim, &acct, REGION)
        .await
        .iter()
        .map(|f| f.id().unwrap().to_string())
        .collect();
    assert_eq!(in_lake, in_hub, "what was applied, no more, no less");
}
