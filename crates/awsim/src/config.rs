//! How an emulator instance behaves: where it listens, who static credentials belong to, and
//! whether quotas, faults and latency are on.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use crate::faults::FaultSpec;
use crate::quota::QuotaConfig;

/// The account that static (non-`AssumeRole`) credentials belong to unless mapped otherwise.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Emulator configuration. `Config::default()` is what tests want: loopback, port 0, no quotas,
/// no faults, no latency.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind. Loopback by default; anything else is logged as a warning.
    pub bind: SocketAddr,
    /// Account of static credentials whose access key is not in `static_keys`.
    pub default_account: String,
    /// Static access key id -> account id, so tests can act as several accounts without STS.
    pub static_keys: HashMap<String, String>,
    /// Published AWS quotas (token buckets) or none.
    pub quotas: QuotaConfig,
    /// Injected failures.
    pub faults: FaultSpec,
    /// Delay added to every AWS call, modelling a real network round trip.
    pub latency_ms: u64,
    /// Seed for fault injection and the fleet generator.
    pub seed: u64,
    /// How long (simulated milliseconds) an import stays invisible to `GetFindings`: Security
    /// Hub's reads are eventually consistent (prowler issue #684 shows a read missing findings
    /// imported moments before). 0 (the default) shows every import at once; the control API
    /// (`POST /_awsim/read-lag`) changes it at run time.
    pub read_lag_ms: u64,
    /// Where awsim is kinder than AWS on request. All off by default: awsim is as unkind as
    /// AWS unless a test names the leniency it needs.
    pub leniency: Leniency,
}

/// Kindnesses AWS does not show, each switched on by name by the tests that need them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leniency {
    /// Organizations also sends `Account.Status`, which AWS retired on September 9, 2026.
    pub org_account_status: bool,
    /// Organizations list calls never answer an empty page that still carries a `NextToken`.
    pub no_empty_org_pages: bool,
    /// The quotas are not enforced until `POST /_awsim/quotas/enforce`: a benchmark seeds a
    /// large fleet's first sync unthrottled, then measures the cycle after it under the quotas.
    pub quotas_after_seeding: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            default_account: DEFAULT_ACCOUNT.to_string(),
            static_keys: HashMap::new(),
            quotas: QuotaConfig::off(),
            faults: FaultSpec::default(),
            latency_ms: 0,
            seed: 1,
            read_lag_ms: 0,
            leniency: Leniency::default(),
        }
    }
}
