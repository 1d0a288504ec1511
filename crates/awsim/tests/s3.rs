//! S3 through the real aws-sdk-s3 client (path-style, as against any single-endpoint S3): the
//! round trip patchhub's Security Lake export makes (create, put, list, get), and the account
//! and Region rules awsim keeps on top of the s3s backend.

mod common;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use awsim::Awsim;
use common::{EAST, WEST, refused};

const OWNER: &str = "111111111111";
const OTHER: &str = "222222222222";

async fn s3(sim: &Awsim, account: &str, region: &str) -> Client {
    let config = common::sdk(sim, account, region).await;
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// The owner's clients in us-east-1 and in the other Region.
async fn east_and_west(sim: &Awsim) -> (Client, Client) {
    (s3(sim, OWNER, EAST).await, s3(sim, OWNER, WEST).await)
}

/// Creates `bucket` in the client's Region, with the `LocationConstraint` S3 requires outside
/// us-east-1.
async fn create(c: &Client, bucket: &str) -> Result<(), String> {
    let region = c.config().region().unwrap().to_string();
    let mut req = c.create_bucket().bucket(bucket);
    if region != EAST {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    common::outcome(req.send().await).map(|_| ())
}

async fn put(c: &Client, bucket: &str, key: &str, body: &[u8]) -> Result<(), String> {
    let req = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()));
    common::outcome(req.send().await).map(|_| ())
}

async fn get(c: &Client, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
    let out = common::outcome(c.get_object().bucket(bucket).key(key).send().await)?;
    Ok(out.body.collect().await.unwrap().into_bytes().to_vec())
}

async fn keys(c: &Client, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let req = c.list_objects_v2().bucket(bucket).prefix(prefix);
    let pages: Vec<_> = req.into_paginator().send().collect::<Vec<_>>().await;
    let mut out = Vec::new();
    for p in pages {
        let p = common::outcome(p)?;
        out.extend(
            p.contents()
                .iter()
                .filter_map(|o| o.key().map(String::from)),
        );
    }
    Ok(out)
}

#[tokio::test]
async fn objects_round_trip_through_the_sdk_in_every_region() {
    let sim = common::start_accounts(&[OWNER]).await;
    for region in [EAST, WEST] {
        let c = s3(&sim, OWNER, region).await;
        let bucket = format!("lake-{region}");
        create(&c, &bucket).await.unwrap();
        let body = b"PAR1 not really parquet PAR1".repeat(1000);
        let key =
            "ext/patchhub-vuln/region=us-east-1/accountId=111111111111/eventDay=20261207/a.parquet";
        put(&c, &bucket, key, &body).await.unwrap();
        put(&c, &bucket, "ext/other/b.parquet", b"b").await.unwrap();
        assert_eq!(get(&c, &bucket, key).await.unwrap(), body);
        assert_eq!(
            keys(&c, &bucket, "ext/patchhub-vuln/").await.unwrap(),
            vec![key.to_string()]
        );
        assert_eq!(keys(&c, &bucket, "ext/").await.unwrap().len(), 2);
        assert_eq!(
            get(&c, &bucket, "ext/missing").await.unwrap_err(),
            "NoSuchKey"
        );
        let head = c
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_length(), Some(body.len() as i64));
    }
    assert_eq!(sim.s3_buckets().len(), 2);
    assert_eq!(sim.s3_buckets()["lake-eu-west-1"].region, WEST);
}

#[tokio::test]
async fn a_bucket_belongs_to_the_account_that_created_it() {
    let sim = common::start_accounts(&[OWNER, OTHER]).await;
    let owner = s3(&sim, OWNER, EAST).await;
    let other = s3(&sim, OTHER, EAST).await;
    create(&owner, "shared-name").await.unwrap();
    put(&owner, "shared-name", "k", b"secret").await.unwrap();

    // Bucket names are global, and nothing of the bucket is open to another account.
    assert_eq!(
        create(&other, "shared-name").await.unwrap_err(),
        "BucketAlreadyExists"
    );
    assert_eq!(
        get(&other, "shared-name", "k").await.unwrap_err(),
        "AccessDenied"
    );
    assert_eq!(
        put(&other, "shared-name", "k", b"x").await.unwrap_err(),
        "AccessDenied"
    );
    assert_eq!(
        keys(&other, "shared-name", "").await.unwrap_err(),
        "AccessDenied"
    );
    assert_eq!(get(&owner, "shared-name", "k").await.unwrap(), b"secret");

    create(&other, "others-own").await.unwrap();
    let names = |c: Client| async move {
        let out = c.list_buckets().send().await.unwrap();
        out.buckets()
            .iter()
            .filter_map(|b| b.name().map(String::from))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(owner.clone()).await, vec!["shared-name"]);
    assert_eq!(names(other).await, vec!["others-own"]);
    // us-east-1 answers its owner's second CreateBucket with success.
    create(&owner, "shared-name").await.unwrap();
}

#[tokio::test]
async fn buckets_keep_s3_region_rules() {
    let sim = common::start_accounts(&[OWNER]).await;
    let (east, west) = east_and_west(&sim).await;

    // Outside us-east-1 the LocationConstraint must name the endpoint's Region.
    let bare = west.create_bucket().bucket("no-constraint").send().await;
    assert_eq!(refused(bare), "IllegalLocationConstraintException");
    let elsewhere = west
        .create_bucket()
        .bucket("wrong-constraint")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await;
    assert_eq!(refused(elsewhere), "IllegalLocationConstraintException");

    create(&west, "west-lake").await.unwrap();
    assert_eq!(
        create(&west, "west-lake").await.unwrap_err(),
        "BucketAlreadyOwnedByYou"
    );
    // A request signed for another Region than the bucket's is refused.
    assert_eq!(
        put(&east, "west-lake", "k", b"x").await.unwrap_err(),
        "AuthorizationHeaderMalformed"
    );
    assert_eq!(
        put(&east, "never-created", "k", b"x").await.unwrap_err(),
        "NoSuchBucket"
    );
}

#[tokio::test]
async fn reset_empties_s3() {
    let sim = common::start_accounts(&[OWNER]).await;
    let c = s3(&sim, OWNER, EAST).await;
    create(&c, "to-go").await.unwrap();
    put(&c, "to-go", "k", b"v").await.unwrap();
    sim.sim().reset();
    assert!(sim.s3_buckets().is_empty());
    assert_eq!(get(&c, "to-go", "k").await.unwrap_err(), "NoSuchBucket");
    create(&c, "to-go").await.unwrap();
}

#[tokio::test]
async fn a_bucket_with_objects_cannot_be_deleted_and_answers_its_own_region() {
    let sim = common::start_accounts(&[OWNER]).await;
    let (east, west) = east_and_west(&sim).await;
    create(&west, "kept").await.unwrap();
    create(&east, "east-kept").await.unwrap();

    // GetBucketLocation: the Region by name, and no constraint for us-east-1.
    for (c, bucket, answer) in [(&west, "kept", WEST), (&east, "east-kept", "")] {
        let loc = c.get_bucket_location().bucket(bucket).send().await.unwrap();
        let constraint = loc.location_constraint().map(|c| c.as_str());
        assert_eq!(constraint.unwrap_or(""), answer, "{bucket}");
    }

    // DeleteBucket refuses a bucket with an object, also one under a prefix.
    put(&west, "kept", "a/b/c.parquet", b"x").await.unwrap();
    let refusal = west.delete_bucket().bucket("kept").send().await;
    assert_eq!(refused(refusal), "BucketNotEmpty");
    assert_eq!(get(&west, "kept", "a/b/c.parquet").await.unwrap(), b"x");
    // Emptied, it goes.
    west.delete_object()
        .bucket("kept")
        .key("a/b/c.parquet")
        .send()
        .await
        .unwrap();
    west.delete_bucket().bucket("kept").send().await.unwrap();
    assert_eq!(get(&west, "kept", "k").await.unwrap_err(), "NoSuchBucket");

    // A listing asked for more than 1,000 keys gets 1,000 and a continuation.
    for i in 0..1001 {
        put(&east, "east-kept", &format!("k{i:04}"), b"v")
            .await
            .unwrap();
    }
    let page = east
        .list_objects_v2()
        .bucket("east-kept")
        .max_keys(5000)
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents().len(), 1000);
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(keys(&east, "east-kept", "").await.unwrap().len(), 1001);
}
