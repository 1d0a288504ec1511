//! Shared by the handler tests, the `bootstrap` tests and the cold-start example (the awsim
//! set-up and the oracle are the workspace's test kit): the committed event fixtures, the
//! environment `bootstrap` runs with, and a local Lambda Runtime API.
#![allow(dead_code)]

pub mod runtime_api;

use std::path::PathBuf;

use patchhub_testkit::{REGION, credentials_env};
use serde_json::Value;

/// The account and node the committed fixtures name; tests substitute real ones.
pub const FIXTURE_ACCOUNT: &str = "123456789012";
pub const FIXTURE_NODE: &str = "i-0123456789abcdef0";

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
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", "patchhub"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "json"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_ENDPOINT_URL", awsim_url),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("PATH", "/usr/bin:/bin"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let creds = credentials_env(account, REGION).map(|(k, v)| (k.to_string(), v));
    lambda.into_iter().chain(creds).collect()
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

/// Ids of the first account's scanned, online nodes with at least `missing` missing patches.
pub fn missing_nodes(fleet: &awsim::Fleet, missing: usize) -> Vec<String> {
    patchhub_testkit::oracle::nodes_with_missing(fleet, &fleet.accounts[0].id, REGION, missing)
        .into_iter()
        .map(|i| i.id.clone())
        .collect()
}

/// The function acting as `account`, its SDK making `max_attempts` attempts per call.
pub async fn function(
    sim: &awsim::Awsim,
    account: &str,
    max_attempts: u32,
) -> patchhub_lambda::function::Function {
    function_with_env(sim, account, max_attempts, &[]).await
}

/// [`function`] configured by the environment variables `env` (the rest unset).
pub async fn function_with_env(
    sim: &awsim::Awsim,
    account: &str,
    max_attempts: u32,
    env: &[(&str, &str)],
) -> patchhub_lambda::function::Function {
    let config = patchhub_lambda::config::LambdaConfig::from_env(|k| {
        env.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("valid config");
    let sdk = patchhub_testkit::loader(sim, account, REGION)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(max_attempts))
        .load()
        .await;
    patchhub_lambda::function::Function::new(&sdk, config)
        .await
        .expect("cold start")
}

/// awsim started with `spec`, its first account, Security Hub enabled there when `hub`, and
/// the function acting as that account (two attempts per call).
pub async fn first_account(
    spec: &str,
    hub: bool,
) -> (
    awsim::Awsim,
    awsim::Fleet,
    String,
    patchhub_lambda::function::Function,
) {
    let (sim, fleet) = patchhub_testkit::start(spec, awsim::Config::default()).await;
    let acct = fleet.accounts[0].id.clone();
    if hub {
        patchhub_testkit::enable_hub(&sim, &acct, REGION).await;
    }
    let f = function(&sim, &acct, 2).await;
    (sim, fleet, acct, f)
}

/// Calls the handler as Lambda would.
pub async fn call(
    f: &patchhub_lambda::function::Function,
    payload: Value,
) -> Result<Value, patchhub_lambda::error::LambdaError> {
    f.handle(lambda_runtime::LambdaEvent::new(
        payload,
        lambda_runtime::Context::default(),
    ))
    .await
}
