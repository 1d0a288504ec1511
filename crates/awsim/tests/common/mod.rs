//! Shared harness of awsim's tests: the shared test kit's set-up (awsim in-process with real
//! aws-sdk-rust clients pointed at it), the error codes those clients see, small fleets.
//! Each test file includes it with `mod common;`.
#![allow(
    dead_code,
    unused_imports,
    unused_macros,
    reason = "each test file uses its own part of the harness"
)]

pub mod hub;
pub mod ssm;

use std::fmt::Debug;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use awsim::fleet::{AccountSpec, Fleet, InstanceSpec, OrgSpec, PatchSpec};
use awsim::{Awsim, Config};

/// The Regions the tests use most.
pub const EAST: &str = "us-east-1";
pub const WEST: &str = "eu-west-1";

/// The account of static keys awsim has no mapping for (`awsim::config::DEFAULT_ACCOUNT`).
pub const DEFAULT_ACCOUNT: &str = awsim::config::DEFAULT_ACCOUNT;

// The set-up every crate's tests share: awsim with static keys, SDK configurations acting as
// its accounts, the runtime.
pub use patchhub_testkit::{
    key_for, loader, runtime, sdk, start_fleet, start_with_keys, with_keys,
};

/// awsim with the default config and nothing in it: every static key acts as [`DEFAULT_ACCOUNT`].
pub async fn start_empty() -> Awsim {
    start_with_keys(&[], Config::default()).await
}

/// awsim with a static key per account of `accounts`, nothing in it.
pub async fn start_accounts(accounts: &[&str]) -> Awsim {
    start_with_keys(accounts, Config::default()).await
}

/// awsim with `fleet` loaded, acting for each of its accounts.
pub async fn start_loaded(fleet: &Fleet) -> Awsim {
    start_fleet(fleet, Config::default()).await
}

/// awsim with the fleet `spec` generates, acting for each of its accounts.
pub async fn start_generated(spec: &str) -> (Awsim, Fleet) {
    patchhub_testkit::start(spec, Config::default()).await
}

/// An SDK configuration signing with `access_key` (and `session_token`) in `region`: the
/// default account's unmapped keys, temporary credentials from `AssumeRole`, forged ones.
pub async fn sdk_with_key(
    sim: &Awsim,
    region: &str,
    access_key: &str,
    session_token: Option<String>,
) -> SdkConfig {
    let secret = patchhub_testkit::SECRET;
    let creds = Credentials::new(access_key, secret, session_token, None, "awsim-test");
    loader(sim, DEFAULT_ACCOUNT, region)
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .load()
        .await
}

/// An SDK client that can be built from an [`SdkConfig`].
pub trait FromSdk {
    fn from_sdk(config: &SdkConfig) -> Self;
}

macro_rules! from_sdk {
    ($($client:ty),*) => {
        $(impl FromSdk for $client {
            fn from_sdk(config: &SdkConfig) -> Self {
                <$client>::new(config)
            }
        })*
    };
}

from_sdk!(
    aws_sdk_ssm::Client,
    aws_sdk_securityhub::Client,
    aws_sdk_sts::Client,
    aws_sdk_organizations::Client,
    aws_sdk_account::Client
);

/// A client of any service acting as `account` in `region`.
pub async fn client<C: FromSdk>(sim: &Awsim, account: &str, region: &str) -> C {
    C::from_sdk(&sdk(sim, account, region).await)
}

/// Every SDK crate re-exports the one smithy `SdkError`.
type SdkError<E, R> = aws_sdk_sts::error::SdkError<E, R>;

/// Owned copies of `items`, as the SDK's list parameters take them.
pub fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| (*s).to_string()).collect())
}

/// Every item a call's paginator yields.
macro_rules! all_items {
    ($call:expr) => {
        $call
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    };
}
pub(crate) use all_items;

/// Every page a call's paginator yields.
macro_rules! all_pages {
    ($call:expr) => {
        $call
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
    };
}
pub(crate) use all_pages;

/// The error code of a service error, or `<not a service error>`.
pub fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("<not a service error>")
        .to_string()
}

/// The message of a service error, or nothing.
pub fn message<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_string()
}

/// The error code of a call that must be refused.
pub fn refused<T: Debug, E: ProvideErrorMetadata + Debug, R: Debug>(
    result: Result<T, SdkError<E, R>>,
) -> String {
    code(&result.expect_err("the call is refused"))
}

/// The answer of an answered call, the error code of a refused one.
pub fn outcome<T, E: ProvideErrorMetadata, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<T, String> {
    result.map_err(|e| code(&e))
}

/// Runs a test body on the worker threads of the kit's runtime, whose stacks are large. In debug
/// builds the SDK's ASFF deserializer has a stack frame of about 1 MB (`de_aws_security_finding`)
/// and decoding a `GetFindings` response needs more than the 2 MB a test thread has, so reading
/// findings on a `#[tokio::test]` thread overflows.
pub fn run<F: Future<Output = ()> + Send + 'static>(body: F) {
    runtime().block_on(async move {
        if let Err(e) = tokio::spawn(body).await {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("test task failed: {e}"),
            }
        }
    });
}

/// An active account `id` (`acct-ID`, `ID@example.com`) in us-east-1, with nothing in it.
pub fn account(id: &str) -> AccountSpec {
    AccountSpec {
        id: id.into(),
        name: format!("acct-{id}"),
        email: format!("{id}@example.com"),
        status: "ACTIVE".into(),
        parent: None,
        roles: vec![],
        regions: vec!["us-east-1".into()],
        disabled_regions: vec![],
        instances: vec![],
    }
}

/// The command id of the scans [`node`]s last reported.
pub const SCAN_EXECUTION: &str = "11111111-1111-4111-8111-111111111111";

/// An online node `id` in us-east-1 with `patches`, last scanned on 2026-11-28 by
/// [`SCAN_EXECUTION`] against baseline `pb-0123456789abcdef0`.
pub fn node(id: &str, platform: &str, patches: Vec<PatchSpec>) -> InstanceSpec {
    let at = |s: &str| Some(chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc());
    InstanceSpec {
        id: id.into(),
        region: EAST.into(),
        platform_type: platform.into(),
        platform_name: String::new(),
        platform_version: String::new(),
        tags: Default::default(),
        ping_status: "Online".into(),
        patch_group: None,
        baseline_id: "pb-0123456789abcdef0".into(),
        operation: Some("Scan".into()),
        reboot_option: "RebootIfNeeded".into(),
        operation_start_time: at("2026-11-28T02:00:00Z"),
        operation_end_time: at("2026-11-28T02:03:10Z"),
        execution_id: Some(SCAN_EXECUTION.into()),
        available_security_updates_compliant: true,
        patches,
    }
}

/// Whether a patch in `state` makes its node non-compliant (a patch baseline's rule; available
/// security updates count unless the baseline says they are compliant).
pub fn counts_against(state: &str, available_security_updates_compliant: bool) -> bool {
    match state {
        "MISSING" | "FAILED" | "INSTALLED_PENDING_REBOOT" | "INSTALLED_REJECTED" => true,
        "AVAILABLE_SECURITY_UPDATE" => !available_security_updates_compliant,
        _ => false,
    }
}

/// `accounts` outside any organization.
pub fn standalone(accounts: Vec<AccountSpec>) -> Fleet {
    Fleet {
        organization: None,
        accounts,
    }
}

/// `accounts` in organization `o-example123` (root `r-root`, no OUs) managed by `management`.
pub fn organization(management: &str, accounts: Vec<AccountSpec>) -> Fleet {
    Fleet {
        organization: Some(OrgSpec {
            id: "o-example123".into(),
            management_account: management.into(),
            root_id: "r-root".into(),
            organizational_units: vec![],
        }),
        accounts,
    }
}
