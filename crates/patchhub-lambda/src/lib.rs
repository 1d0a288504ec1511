//! The patchhub Lambda function: recognises every event AWS sends it (maintenance window task,
//! compliance changes through an SQS queue, schedule, CloudFormation's custom resource), runs the
//! same sync as `patchhub sync` in its own account and Region, archives its findings when its
//! stack is deleted, and fails with a stable `errorType` that alarms can count.
//!
//! [`run`] is the whole program; [`function::Function`] is the handler, built once per cold
//! start and callable from tests with `LambdaEvent::new(payload, Context::default())`.

pub mod batch;
pub mod config;
pub mod custom_resource;
mod deadline;
pub mod error;
pub mod event;
pub mod function;
mod handler;
pub mod lake;
pub mod logging;
pub mod response_url;
pub mod runtime_api;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::config::LambdaConfig;
use crate::error::LambdaError;
use crate::function::Function;

/// The SDK configuration from the standard chain (Lambda's role credentials and `AWS_REGION`;
/// `AWS_ENDPOINT_URL` where set), with the CLI's retry and timeout defaults.
pub async fn load_sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(30))
            .build(),
    );
    // AWS_MAX_ATTEMPTS, when set, wins; otherwise five attempts like the CLI.
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(5));
    }
    loader.load().await
}

/// Cold start: configuration first (no AWS call for a bad value), then the clients and STS.
pub async fn init_from_env() -> Result<Function, LambdaError> {
    let config = LambdaConfig::from_env(|k| std::env::var(k).ok())?;
    let sdk = load_sdk_config().await;
    Function::new(&sdk, config).await
}

/// Runs the function until Lambda ends the process. A failed cold start is logged, reported to
/// the Runtime API's init error endpoint, and returned.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let started = Instant::now();
    let function = match init_from_env().await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(
                error_type = e.error_type.as_str(),
                error = %e.message,
                "cold start failed"
            );
            if let Err(post) = runtime_api::report_init_error(&e).await {
                tracing::error!("could not report the init error to the Runtime API: {post}");
            }
            return Err(Box::new(e));
        }
    };
    tracing::info!(
        account = function.account(),
        region = function.region(),
        partition = function.partition(),
        policy = function.policy().fingerprint(),
        init_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "cold start done"
    );
    let function = Arc::new(function);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let function = function.clone();
        async move { function.handle(event).await }
    }))
    .await
}
