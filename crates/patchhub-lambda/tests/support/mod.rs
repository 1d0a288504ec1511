//! Shared by the handler tests, the `bootstrap` tests and the cold-start benchmark: a generated
//! fleet in an in-process awsim, SDK configs acting as its account, the committed event fixtures,
//! an oracle of the findings a node should have, and the environment `bootstrap` runs with.
#![allow(dead_code)]

pub mod runtime_api;

use std::collections::BTreeSet;
use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_securityhub::types::{AwsSecurityFinding, AwsSecurityFindingFilters, StringFilter};
use awsim::{Awsim, Config, Fleet, GenerateSpec};
use patchhub_core::finding::FindingKind;
use patchhub_core::mapping::finding_id;
use serde_json::Value;

/// The Region every test fleet lives in (the generator's first).
pub const REGION: &str = "us-east-1";
/// The account, Region and node the committed fixtures name; tests substitute real ones.
pub const FIXTURE_ACCOUNT: &str = "123456789012";
pub const FIXTURE_NODE: &str = "i-0123456789abcdef0";

/// Static access key awsim maps to `account`.
pub fn key_for(account: &str) -> String {
    format!("AKIATEST{account}")
}

/// awsim with a generated fleet, answering for each account's static key.
pub async fn start(spec: &str, mut config: Config) -> (Awsim, Fleet) {
    let spec: GenerateSpec = spec.parse().expect("spec");
    let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
    for a in &fleet.accounts {
        config.static_keys.insert(key_for(&a.id), a.id.clone());
    }
    let sim = Awsim::start(config).await.expect("awsim starts");
    sim.load_fleet(fleet.clone()).expect("fleet loads");
    (sim, fleet)
}

/// An SDK config acting as `account`, built by the standard loader as the function builds it.
pub async fn sdk(sim: &Awsim, account: &str, max_attempts: u32) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(sim.url())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key_for(account),
            "test-secret",
            None,
            None,
            "test",
        )))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(max_attempts))
        .load()
        .await
}

/// Turns Security Hub on for `account`.
pub async fn enable_hub(sim: &Awsim, account: &str) {
    aws_sdk_securityhub::Client::new(&sdk(sim, account, 3).await)
        .enable_security_hub()
        .send()
        .await
        .expect("enable hub");
}

/// Every patchhub finding of `account`, through the real SDK.
pub async fn findings(sim: &Awsim, account: &str) -> Vec<AwsSecurityFinding> {
    let client = aws_sdk_securityhub::Client::new(&sdk(sim, account, 3).await);
    let filters = AwsSecurityFindingFilters::builder()
        .generator_id(
            StringFilter::builder()
                .value("patchhub/")
                .comparison(aws_sdk_securityhub::types::StringFilterComparison::Prefix)
                .build(),
        )
        .build();
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_findings()
            .filters(filters.clone())
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .expect("GetFindings");
        out.extend(page.findings().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

/// The node a finding is about.
pub fn node_of(f: &AwsSecurityFinding) -> Option<&str> {
    f.product_fields()
        .and_then(|p| p.get("patchhub/NodeId"))
        .map(String::as_str)
}

/// Ids of the ACTIVE findings of one generator (of one node, if given).
pub fn active(
    found: &[AwsSecurityFinding],
    generator: &str,
    node: Option<&str>,
) -> BTreeSet<String> {
    found
        .iter()
        .filter(|f| f.generator_id() == Some(generator))
        .filter(|f| f.record_state().map(|r| r.as_str()) == Some("ACTIVE"))
        .filter(|f| node.is_none() || node_of(f) == node)
        .filter_map(|f| f.id().map(str::to_string))
        .collect()
}

const NON_COMPLIANT: &[&str] = &[
    "MISSING",
    "FAILED",
    "INSTALLED_PENDING_REBOOT",
    "INSTALLED_REJECTED",
];

/// The oracle: the patch finding ids the default policy must produce, from the fleet's patch
/// states (of one node, if given).
pub fn expected_patch_ids(fleet: &Fleet, account: &str, node: Option<&str>) -> BTreeSet<String> {
    let a = fleet
        .accounts
        .iter()
        .find(|a| a.id == account)
        .expect("account");
    let mut out = BTreeSet::new();
    for i in a
        .instances
        .iter()
        .filter(|i| i.region == REGION && i.operation.is_some() && node.is_none_or(|n| n == i.id))
    {
        for p in &i.patches {
            let nc = NON_COMPLIANT.contains(&p.state.as_str())
                || (p.state == "AVAILABLE_SECURITY_UPDATE"
                    && !i.available_security_updates_compliant);
            if nc {
                out.insert(finding_id(
                    "aws",
                    account,
                    REGION,
                    &i.id,
                    FindingKind::Patch,
                    Some(&p.id),
                ));
            }
        }
    }
    out
}

/// Roll-up ids expected: one per scanned node.
pub fn expected_rollup_ids(fleet: &Fleet, account: &str) -> BTreeSet<String> {
    let a = fleet
        .accounts
        .iter()
        .find(|a| a.id == account)
        .expect("account");
    a.instances
        .iter()
        .filter(|i| i.region == REGION && i.operation.is_some())
        .map(|i| finding_id("aws", account, REGION, &i.id, FindingKind::Rollup, None))
        .collect()
}

/// Scanned, online nodes with at least `missing` MISSING patches.
pub fn nodes_with_missing(fleet: &Fleet, missing: usize) -> Vec<String> {
    fleet.accounts[0]
        .instances
        .iter()
        .filter(|i| {
            i.region == REGION
                && i.operation.is_some()
                && i.ping_status == "Online"
                && i.patches.iter().filter(|p| p.state == "MISSING").count() >= missing
        })
        .map(|i| i.id.clone())
        .collect()
}

/// A committed event fixture with its account and node replaced.
pub fn fixture(name: &str, account: &str, node: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/events")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace(FIXTURE_ACCOUNT, account)
        .replace(FIXTURE_NODE, node);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The environment Lambda gives `bootstrap`, plus awsim as AWS and `account`'s static key.
/// Nothing of the host's AWS setup leaks in (profiles, IMDS).
pub fn bootstrap_env(runtime_api: &str, awsim_url: &str, account: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "patchhub"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "json"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_REGION", REGION),
        ("AWS_ENDPOINT_URL", awsim_url),
        ("AWS_ACCESS_KEY_ID", &key_for(account)),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("PATH", "/usr/bin:/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// An SQS batch as the event source mapping delivers it: one record per `(message id, body)`.
pub fn sqs_batch(records: &[(&str, &Value)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": body.to_string(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1714529649000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1714529649010"
                },
                "messageAttributes": {},
                "md5OfBody": "-",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{FIXTURE_ACCOUNT}:patchhub-compliance-events"),
                "awsRegion": REGION
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// A loopback HTTP server standing in for a CloudFormation response URL: it records every `PUT`
/// (path with query, and the body) and answers 200, after answering `fail_first` requests 500.
pub struct ResponseUrl {
    addr: std::net::SocketAddr,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl ResponseUrl {
    /// Starts the server on an ephemeral loopback port.
    pub async fn start(fail_first: usize) -> Self {
        use axum::extract::State;
        use axum::http::StatusCode;
        use axum::http::Uri;
        use std::sync::atomic::{AtomicUsize, Ordering};
        type Shared = (
            std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
            std::sync::Arc<AtomicUsize>,
            usize,
        );
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let state: Shared = (received.clone(), Default::default(), fail_first);
        let app = axum::Router::new()
            .fallback(axum::routing::put(
                |State((got, seen, fail)): State<Shared>, uri: Uri, body: String| async move {
                    got.lock().expect("received").push((uri.to_string(), body));
                    if seen.fetch_add(1, Ordering::SeqCst) < fail {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    }
                },
            ))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ResponseUrl {
            addr,
            received,
            _task: task,
        }
    }

    /// A pre-signed-looking URL on this server.
    pub fn url(&self) -> String {
        format!(
            "http://{}/arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack/patchhub/1/ArchiveFindingsOnDelete?X-Amz-Signature=abc%2Fdef&X-Amz-Expires=7199",
            self.addr
        )
    }

    /// Every `PUT` so far: (path and query, body).
    pub fn received(&self) -> Vec<(String, String)> {
        self.received.lock().expect("received").clone()
    }
}

/// A CloudFormation custom resource request of `kind` (`Create`, `Update`, `Delete`) for the
/// account template's resource, answering to `response_url`.
pub fn cfn_request(kind: &str, account: &str, response_url: &str, archive: &str) -> Value {
    serde_json::json!({
        "RequestType": kind,
        "ServiceToken": format!("arn:aws:lambda:{REGION}:{account}:function:patchhub"),
        "ResponseURL": response_url,
        "StackId": format!("arn:aws:cloudformation:{REGION}:{account}:stack/patchhub/7d0c2a10-0000-11ef-8000-0a1b2c3d4e5f"),
        "RequestId": "5d478078-13e9-baf0-464a-7ef285ecc786",
        "LogicalResourceId": "ArchiveFindingsOnDelete",
        "PhysicalResourceId": format!("patchhub-findings-{account}-{REGION}"),
        "ResourceType": "Custom::PatchhubFindings",
        "ResourceProperties": {
            "ServiceToken": format!("arn:aws:lambda:{REGION}:{account}:function:patchhub"),
            "ArchiveFindingsOnDelete": archive
        }
    })
}
