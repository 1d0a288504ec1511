//! Shared test harness: start awsim in-process on 127.0.0.1:0 and build real aws-sdk-rust clients
//! pointed at it. Each test file includes this with `mod common;`.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use awsim::{Awsim, Config};

/// Static access key that awsim maps to `account` (see [`config_for_accounts`]).
pub fn key_for(account: &str) -> String {
    format!("AKIATEST{account}")
}

/// A config whose static keys `key_for(a)` act as each listed account.
pub fn config_for_accounts(accounts: &[&str]) -> Config {
    let mut config = Config::default();
    for a in accounts {
        config.static_keys.insert(key_for(a), (*a).to_string());
    }
    config
}

/// Starts awsim with the default config (default account 123456789012).
pub async fn start() -> Awsim {
    Awsim::start(Config::default()).await.expect("awsim starts")
}

/// Starts awsim with a config.
pub async fn start_with(config: Config) -> Awsim {
    Awsim::start(config).await.expect("awsim starts")
}

/// SDK config signing as `access_key` in `region`, sending to awsim. Retries are the SDK's
/// standard mode, as in production.
pub fn sdk_config_with_key(
    sim: &Awsim,
    region: &str,
    access_key: &str,
    session_token: Option<String>,
) -> SdkConfig {
    let creds = Credentials::new(
        access_key,
        "awsim-test-secret",
        session_token,
        None,
        "awsim-test",
    );
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(sim.url())
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
        .build()
}

/// SDK config acting as `account` (needs [`config_for_accounts`]) in `region`.
pub fn sdk_config(sim: &Awsim, account: &str, region: &str) -> SdkConfig {
    sdk_config_with_key(sim, region, &key_for(account), None)
}

/// SDK config with the default account's static key in `region`.
pub fn default_sdk_config(sim: &Awsim, region: &str) -> SdkConfig {
    sdk_config_with_key(sim, region, "AKIAIOSFODNN7EXAMPLE", None)
}
