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
        }
    }
}
