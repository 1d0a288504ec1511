//! The one test set-up of patchhub: every crate's tests and the fleet benchmark start awsim, act
//! as its accounts and judge what Security Hub holds through this crate, not through a copy each.
//!
//! - [`start`]: awsim in-process with a generated fleet and a static key per account
//!   ([`key_for`]); [`start_with_keys`] without a fleet.
//! - [`sdk`]: an SDK configuration acting as any of those accounts, built by the standard loader
//!   as production builds it (five attempts, standard retries) and pointed at awsim.
//! - [`enable_hubs`], [`fast_quotas`], [`runtime`]: the rest of the usual set-up.
//! - [`oracle`]: the finding ids a fleet must produce, computed from the fleet's own patch states,
//!   never from patchhub's reader; [`read`]: what Security Hub holds, through the real SDK.
//! - [`run`]: syncs against awsim; [`scenario`]: changes to a running fleet (installs, rescans,
//!   terminations).
//! - [`fakes`]: in-memory and failing `ComplianceSource`/`FindingSink`, to test the sync's
//!   ordering rules without HTTP.
//!
//! Dev-only (`publish = false`). Crates this kit depends on (awsim, patchhub-aws) may still use it
//! from their integration tests: those link the same library the kit links.

pub mod fakes;
pub mod oracle;
pub mod read;
pub mod run;
pub mod scenario;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use awsim::{Awsim, Config, Fleet, GenerateSpec};
use patchhub_aws::quota::{QuotaSettings, Rate};

/// The secret key of every static key ([`key_for`]); awsim maps keys, it does not check secrets.
pub const SECRET: &str = "test-secret";

/// The generator's first Region, where every generated account has nodes.
pub const REGION: &str = "us-east-1";

/// The static access key awsim maps to `account`.
pub fn key_for(account: &str) -> String {
    format!("AKIATEST{account}")
}

/// `config` with a static key ([`key_for`]) acting as each of `accounts`.
pub fn with_keys<'a>(config: Config, accounts: impl IntoIterator<Item = &'a str>) -> Config {
    accounts
        .into_iter()
        .fold(config, |c, a| with_key(c, &key_for(a), a))
}

/// `config` with the static access key `key` acting as `account` (for a process started with a
/// fixed key).
pub fn with_key(mut config: Config, key: &str, account: &str) -> Config {
    config
        .static_keys
        .insert(key.to_string(), account.to_string());
    config
}

/// The fleet a generator spec (`accounts=1,regions=1,instances=10,patches=20,seed=1`) describes,
/// as of now.
pub fn generate(spec: &str) -> Fleet {
    let spec: GenerateSpec = spec.parse().expect("generator spec");
    awsim::generate::generate(&spec, chrono::Utc::now())
}

/// Generates the fleet, then starts awsim (in the current runtime) acting for every account of
/// it through static keys, with the fleet loaded.
pub async fn start(spec: &str, config: Config) -> (Awsim, Fleet) {
    let fleet = generate(spec);
    let sim = start_fleet(&fleet, config).await;
    (sim, fleet)
}

/// The management account of a generated fleet's organization.
pub fn management_account(fleet: &Fleet) -> String {
    fleet
        .organization
        .as_ref()
        .expect("a generated fleet has an organization")
        .management_account
        .clone()
}

/// The ids of the fleet's accounts, in fleet order.
pub fn account_ids(fleet: &Fleet) -> Vec<String> {
    fleet.accounts.iter().map(|a| a.id.clone()).collect()
}

/// [`start`] with the default configuration, then [`enable_hubs`]: the usual first step of a
/// sync test.
pub async fn start_with_hubs(spec: &str) -> (Awsim, Fleet) {
    start_hubs_with(spec, Config::default()).await
}

async fn start_hubs_with(spec: &str, config: Config) -> (Awsim, Fleet) {
    let (sim, fleet) = start(spec, config).await;
    enable_hubs(&sim, &fleet).await;
    (sim, fleet)
}

/// [`start_with_hubs`] for tests of one account: also the fleet's first account id.
pub async fn start_account(spec: &str) -> (Awsim, Fleet, String) {
    start_account_with(spec, Config::default()).await
}

/// [`start_account`] with an awsim configuration (quotas, faults, latency, seed).
pub async fn start_account_with(spec: &str, config: Config) -> (Awsim, Fleet, String) {
    let (sim, fleet) = start_hubs_with(spec, config).await;
    let account = fleet.accounts[0].id.clone();
    (sim, fleet, account)
}

/// Starts awsim with `fleet` loaded and a static key per account of it.
pub async fn start_fleet(fleet: &Fleet, config: Config) -> Awsim {
    let config = with_keys(config, fleet.accounts.iter().map(|a| a.id.as_str()));
    let sim = Awsim::start(config).await.expect("awsim starts");
    sim.load_fleet(fleet.clone()).expect("fleet loads");
    sim
}

/// Starts awsim without a fleet, with a static key acting as each of `accounts`.
pub async fn start_with_keys(accounts: &[&str], config: Config) -> Awsim {
    Awsim::start(with_keys(config, accounts.iter().copied()))
        .await
        .expect("awsim starts")
}

/// The standard loader as production sets it up (standard retries, five attempts), signing as
/// `account` in `region` with its static key and sending to the awsim at `url`. Override what a
/// test needs (attempts, timeouts) before `load()`.
pub fn loader_at(url: &str, account: &str, region: &str) -> ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key_for(account),
            SECRET,
            None,
            None,
            "patchhub-testkit",
        )))
        .retry_config(RetryConfig::standard().with_max_attempts(5))
}

/// [`loader_at`] for an in-process awsim.
pub fn loader(sim: &Awsim, account: &str, region: &str) -> ConfigLoader {
    loader_at(&sim.url(), account, region)
}

/// An SDK configuration acting as `account` in `region` against `sim` (see [`loader_at`]).
pub async fn sdk(sim: &Awsim, account: &str, region: &str) -> SdkConfig {
    loader(sim, account, region).load().await
}

/// Turns Security Hub on for `account` in `region`.
pub async fn enable_hub(sim: &Awsim, account: &str, region: &str) {
    enable_hub_at(&sim.url(), account, region).await;
}

/// [`enable_hub`] for an awsim reached by URL (another process).
pub async fn enable_hub_at(url: &str, account: &str, region: &str) {
    aws_sdk_securityhub::Client::new(&loader_at(url, account, region).load().await)
        .enable_security_hub()
        .send()
        .await
        .expect("enable hub");
}

/// Turns Security Hub on in every account and Region of the fleet.
pub async fn enable_hubs(sim: &Awsim, fleet: &Fleet) {
    enable_hubs_at(&sim.url(), fleet).await;
}

/// [`enable_hubs`] for an awsim reached by URL (another process).
pub async fn enable_hubs_at(url: &str, fleet: &Fleet) {
    for a in &fleet.accounts {
        for r in &a.regions {
            enable_hub_at(url, &a.id, r).await;
        }
    }
}

/// Client-side quotas high enough not to slow tests that are not about quotas.
pub fn fast_quotas() -> QuotaSettings {
    QuotaSettings {
        batch_import: Rate::new(1000.0, 1000.0),
        get_findings: Rate::new(1000.0, 1000.0),
        ssm: Rate::new(1000.0, 1000.0),
    }
}

/// A runtime for tests that are not async themselves (they run the `patchhub` binary, or
/// proptest cases): two workers, and stacks deep enough for hostile (100 KB) findings.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A time source for SDK configurations that follows awsim's simulated clock, so a client
/// judges its credentials' expiry on the same time awsim does (set it with
/// `ConfigLoader::time_source`). Tests that advance the clock past a session's expiry use it.
pub fn sim_time(sim: &Awsim) -> aws_smithy_async::time::SharedTimeSource {
    #[derive(Debug)]
    struct SimTime(std::sync::Arc<awsim::Sim>);
    impl aws_smithy_async::time::TimeSource for SimTime {
        fn now(&self) -> std::time::SystemTime {
            self.0.clock.now().into()
        }
    }
    aws_smithy_async::time::SharedTimeSource::new(SimTime(sim.sim().clone()))
}

/// Asserts that `text` (an error message, a process's output) mentions every one of `parts`.
pub fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "`{part}` not in: {text}");
    }
}

/// The environment that makes a process (the `patchhub` binary, the Lambda `bootstrap`) act as
/// `account` in `region` through its static key.
pub fn credentials_env(account: &str, region: &str) -> [(&'static str, String); 3] {
    [
        ("AWS_ACCESS_KEY_ID", key_for(account)),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_string()),
        ("AWS_REGION", region.to_string()),
    ]
}
