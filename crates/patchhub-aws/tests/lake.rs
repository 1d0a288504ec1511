//! OCSF events to Security Lake against awsim's S3: the partition layout, one object per class,
//! account, Region and day, and Parquet that reads back (with the parquet crate's own reader)
//! to the same rows under each class's declared schema. The Python check with pyarrow
//! (scripts/lake-check) reads the objects the CLI writes.

use arrow_array::{Array, ArrayRef, StringArray, StructArray};
use aws_config::SdkConfig;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use patchhub_aws::ErrorKind;
use patchhub_aws::lake::{
    Destination, LakeLayout, ObjectWriter, OcsfClass, write_jsonl, write_parquet,
};
use serde_json::{Value, json};

const A: &str = "111111111111";
const B: &str = "222222222222";
const LAKE: &str = "aws-security-data-lake-us-east-1-test";

/// An event of `class_uid` for `account` and `region`, at `time` (epoch ms), shaped as the
/// OCSF findings patchhub writes.
fn event(class_uid: i64, account: &str, region: &str, time: i64, uid: &str) -> Value {
    let mut e = json!({
        "activity_id": 1, "activity_name": "Create",
        "category_uid": 2, "category_name": "Findings",
        "class_uid": class_uid, "type_uid": class_uid * 100 + 1,
        "severity_id": 4, "severity": "High", "status_id": 1, "status": "New",
        "time": time, "message": "patch missing",
        "metadata": {"version": "1.1.0", "product": {"name": "patchhub", "vendor_name": "patchhub", "version": "0.1.0"}},
        "finding_info": {"uid": uid, "title": "KB5031364 missing", "types": ["Software and Configuration Checks/Patch Management"],
                          "created_time": time, "first_seen_time": time, "last_seen_time": time},
        "resources": [{"uid": "i-0123456789abcdef0", "type": "AwsEc2Instance", "region": region,
                        "cloud_partition": "aws", "labels": ["Name=web"], "data": {"platform": "Windows"},
                        "owner": {"account": {"uid": account}}}],
        "cloud": {"provider": "AWS", "region": region, "account": {"uid": account}},
        "unmapped": {"patchhub/ExecutionId": "exec-1"}
    });
    if class_uid == 2002 {
        e["vulnerabilities"] = json!([{
            "title": "2023-10 Cumulative Update", "severity": "Critical",
            "cve": {"uid": "CVE-2023-36563"},
            "kb_article_list": [{"uid": "KB5031364", "classification": "SecurityUpdates"}],
            "fix_available": true
        }]);
    } else {
        e["compliance"] = json!({"status": "Fail", "status_id": 3, "requirements": ["patch baseline pb-0123"], "control": "patch-compliance"});
    }
    e
}

fn events() -> Vec<Value> {
    let day1 = Utc
        .with_ymd_and_hms(2026, 12, 6, 12, 0, 0)
        .unwrap()
        .timestamp_millis();
    let day2 = Utc
        .with_ymd_and_hms(2026, 12, 7, 1, 0, 0)
        .unwrap()
        .timestamp_millis();
    vec![
        event(2002, A, "us-east-1", day1 + 5, "f-3"),
        event(2002, A, "us-east-1", day1, "f-1"),
        event(2002, A, "us-east-1", day1 + 1, "f-2"),
        event(2003, A, "us-east-1", day1, "r-1"),
        event(2002, B, "eu-west-1", day2, "f-4"),
        event(2003, B, "eu-west-1", day2, "r-2"),
    ]
}

async fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
}

async fn all_keys(c: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let out = c.list_objects_v2().bucket(bucket).send().await.unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect()
}

/// A column of a known Arrow type.
fn downcast<T: 'static>(column: Option<&ArrayRef>) -> &T {
    column.unwrap().as_any().downcast_ref::<T>().unwrap()
}

/// Rows of a Parquet object, and the finding uids in row order.
fn read_back(bytes: Bytes, class: OcsfClass) -> (usize, Vec<String>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    assert_eq!(
        builder.schema().fields(),
        class.schema().fields(),
        "the object carries the class's declared schema"
    );
    let mut rows = 0;
    let mut uids = Vec::new();
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        let info: &StructArray = downcast(batch.column_by_name("finding_info"));
        let uid: &StringArray = downcast(info.column_by_name("uid"));
        uids.extend(uid.iter().map(|u| u.unwrap().to_string()));
    }
    (rows, uids)
}

#[tokio::test]
async fn parquet_lands_in_the_security_lake_layout_and_reads_back() {
    let sim = patchhub_testkit::start_with_keys(&[A], awsim::Config::default()).await;
    let config = patchhub_testkit::sdk(&sim, A, "us-east-1").await;
    let client = s3(&config).await;
    client.create_bucket().bucket(LAKE).send().await.unwrap();

    let dest = Destination::parse(&format!("s3://{LAKE}/root")).unwrap();
    let writer = ObjectWriter::new(&config, dest);
    writer.check().await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap();
    let written = write_parquet(&writer, &LakeLayout::default(), events(), now)
        .await
        .unwrap();
    let object = "patchhub-20261207T060000Z.parquet";
    let expected = [
        (
            format!(
                "root/ext/patchhub-vuln/region=eu-west-1/accountId={B}/eventDay=20261207/{object}"
            ),
            1,
        ),
        (
            format!(
                "root/ext/patchhub-vuln/region=us-east-1/accountId={A}/eventDay=20261206/{object}"
            ),
            3,
        ),
        (
            format!(
                "root/ext/patchhub-compliance/region=eu-west-1/accountId={B}/eventDay=20261207/{object}"
            ),
            1,
        ),
        (
            format!(
                "root/ext/patchhub-compliance/region=us-east-1/accountId={A}/eventDay=20261206/{object}"
            ),
            1,
        ),
    ];
    let locations: Vec<(String, usize)> = written
        .iter()
        .map(|w| (w.location.clone(), w.events))
        .collect();
    let want: Vec<(String, usize)> = expected
        .iter()
        .map(|(k, n)| (format!("s3://{LAKE}/{k}"), *n))
        .collect();
    assert_eq!(locations, want);
    let mut keys = all_keys(&client, LAKE).await;
    keys.sort();
    let mut want_keys: Vec<String> = expected.iter().map(|(k, _)| k.clone()).collect();
    want_keys.sort();
    assert_eq!(keys, want_keys);

    let mut total = 0;
    for (key, n) in &expected {
        let get = client.get_object().bucket(LAKE).key(key);
        let obj = get.send().await.unwrap();
        let bytes = obj.body.collect().await.unwrap().into_bytes();
        assert_eq!(&bytes[..4], b"PAR1");
        let class = if key.contains("-vuln/") {
            OcsfClass::VulnerabilityFinding
        } else {
            OcsfClass::ComplianceFinding
        };
        let (rows, uids) = read_back(bytes, class);
        assert_eq!(rows, *n, "{key}");
        if *n == 3 {
            // Records ordered by time, as Security Lake recommends.
            assert_eq!(uids, vec!["f-1", "f-2", "f-3"]);
        }
        total += rows;
    }
    assert_eq!(total, events().len());
}

#[tokio::test]
async fn a_missing_bucket_is_named_with_its_fix() {
    let sim = patchhub_testkit::start_with_keys(&[A], awsim::Config::default()).await;
    let config = patchhub_testkit::sdk(&sim, A, "us-east-1").await;
    let writer = ObjectWriter::new(&config, Destination::parse("s3://no-such-lake/x").unwrap());
    let err = writer.check().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    let line = err.to_string();
    assert!(
        line.contains("bucket no-such-lake does not exist"),
        "{line}"
    );
    assert!(!line.contains('\n'));

    // Another account's bucket: refused, with what the caller needs.
    let other = patchhub_testkit::start_with_keys(&[A, B], awsim::Config::default()).await;
    let owner = s3(&patchhub_testkit::sdk(&other, B, "us-east-1").await).await;
    owner
        .create_bucket()
        .bucket("bs-lake")
        .send()
        .await
        .unwrap();
    let config = patchhub_testkit::sdk(&other, A, "us-east-1").await;
    let writer = ObjectWriter::new(&config, Destination::parse("s3://bs-lake").unwrap());
    let err = writer.check().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied, "{err}");
    let err = writer.put("k", b"x".to_vec()).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("AccessDenied"), "{err}");
}

#[tokio::test]
async fn a_directory_gets_the_same_layout_and_jsonl_one_event_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let writer = ObjectWriter::new(
        &config,
        Destination::parse(dir.path().to_str().unwrap()).unwrap(),
    );
    writer.check().await.unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 6, 0, 0).unwrap();
    let written = write_parquet(
        &writer,
        &LakeLayout::new("ph", Some("1.0")).unwrap(),
        events(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(written.len(), 4);
    let path = dir.path().join(format!(
        "ext/ph-vuln/1.0/region=us-east-1/accountId={A}/eventDay=20261206/patchhub-20261207T060000Z.parquet"
    ));
    let (rows, _) = read_back(
        Bytes::from(std::fs::read(&path).unwrap()),
        OcsfClass::VulnerabilityFinding,
    );
    assert_eq!(rows, 3);

    let jsonl = write_jsonl(&writer, &events(), now).await.unwrap();
    assert_eq!(jsonl.events, 6);
    let text = std::fs::read_to_string(&jsonl.location).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, events());
}

#[test]
fn every_ocsf_golden_event_fits_its_class_schema() {
    // The OCSF renderer's golden events (patchhub-core), one per file: each class's declared
    // schema takes every attribute the renderer writes, and reads back row for row.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../patchhub-core/tests/golden/ocsf");
    let mut by_class: std::collections::BTreeMap<i64, Vec<Value>> = Default::default();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        by_class
            .entry(event["class_uid"].as_i64().unwrap())
            .or_default()
            .push(event);
    }
    assert_eq!(
        by_class.keys().copied().collect::<Vec<_>>(),
        vec![2002, 2003]
    );
    for (uid, events) in by_class {
        let class = OcsfClass::from_uid(uid).unwrap();
        let bytes = patchhub_aws::lake::to_parquet(class, &events)
            .unwrap_or_else(|e| panic!("{class:?}: {e}"));
        let (rows, uids) = read_back(Bytes::from(bytes), class);
        assert_eq!(rows, events.len());
        let mut want: Vec<String> = events
            .iter()
            .map(|e| e["finding_info"]["uid"].as_str().unwrap().to_string())
            .collect();
        let mut got = uids.clone();
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }
}
