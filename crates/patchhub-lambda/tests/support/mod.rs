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
