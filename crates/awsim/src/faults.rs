//! Reproducible fault injection: a rate of 500s, throttles, per-finding `FailedFindings`, and slow
//! responses. Each decision is a hash of (seed, account, Region, operation, n-th call of that key),
//! so the same seed gives the same faults for the same per-key call sequence whatever the
//! interleaving of other accounts' calls.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Fault rates, each a probability in `0.0..=1.0`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    /// Share of calls answered with the service's throttling error.
    pub throttle: f64,
    /// Share of calls answered with HTTP 500 `InternalServerError`/`InternalException`.
    pub error: f64,
    /// Share of findings in a `BatchImportFindings` call reported in `FailedFindings`.
    pub fail_finding: f64,
    /// Share of calls delayed by `slow_ms` (to go past a client's timeout).
    pub slow: f64,
    /// The delay of a slow call.
    pub slow_ms: u64,
}

impl FaultSpec {
    /// True when no fault can occur.
    pub fn is_off(&self) -> bool {
        self.throttle == 0.0 && self.error == 0.0 && self.fail_finding == 0.0 && self.slow == 0.0
    }
}

/// `throttle=0.2,error=0.05,fail_finding=0.01,slow=0.01,slow_ms=5000` (any subset, any order).
impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec {
            slow_ms: 5_000,
            ..FaultSpec::default()
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("fault `{part}` is not KEY=VALUE (e.g. throttle=0.2,error=0.05)")
            })?;
            if key == "slow_ms" {
                spec.slow_ms = value.parse().map_err(|_| {
                    format!("slow_ms `{value}` is not a whole number of milliseconds")
                })?;
                continue;
            }
            let rate: f64 = value
                .parse()
                .ok()
                .filter(|r: &f64| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!("fault rate `{key}={value}` must be a number from 0 to 1")
                })?;
            match key {
                "throttle" => spec.throttle = rate,
                "error" => spec.error = rate,
                "fail_finding" => spec.fail_finding = rate,
                "slow" => spec.slow = rate,
                other => {
                    return Err(format!(
                        "unknown fault `{other}`: use throttle, error, fail_finding, slow, slow_ms"
                    ));
                }
            }
        }
        Ok(spec)
    }
}

/// What to do to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFault {
    /// Nothing.
    None,
    /// Answer with the throttling error.
    Throttle,
    /// Answer with a 500.
    ServerError,
    /// Delay the answer by `slow_ms`, then serve it.
    Slow,
}

/// Fault injector state.
pub struct Faults {
    spec: Mutex<FaultSpec>,
    seed: u64,
    counters: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults").field("seed", &self.seed).finish()
    }
}

impl Faults {
    /// An injector with these rates and seed.
    pub fn new(spec: FaultSpec, seed: u64) -> Self {
        Faults {
            spec: Mutex::new(spec),
            seed,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Current rates.
    pub fn spec(&self) -> FaultSpec {
        self.spec.lock().expect("faults lock").clone()
    }

    /// Replaces the rates (and restarts the per-key sequences).
    pub fn set(&self, spec: FaultSpec) {
        *self.spec.lock().expect("faults lock") = spec;
        self.counters.lock().expect("faults lock").clear();
    }

    fn draw(&self, key: &str) -> f64 {
        let n = {
            let mut counters = self.counters.lock().expect("faults lock");
            let c = counters.entry(key.to_string()).or_insert(0);
            *c += 1;
            *c
        };
        let mut h = Sha256::new();
        h.update(self.seed.to_le_bytes());
        h.update(key.as_bytes());
        h.update(n.to_le_bytes());
        let d = h.finalize();
        let x = u64::from_le_bytes(d[..8].try_into().expect("8 bytes"));
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decides the fate of one call.
    pub fn for_call(&self, account: &str, region: &str, operation: &str) -> CallFault {
        let spec = self.spec();
        if spec.throttle == 0.0 && spec.error == 0.0 && spec.slow == 0.0 {
            return CallFault::None;
        }
        let x = self.draw(&format!("call/{account}/{region}/{operation}"));
        if x < spec.throttle {
            CallFault::Throttle
        } else if x < spec.throttle + spec.error {
            CallFault::ServerError
        } else if x < spec.throttle + spec.error + spec.slow {
            CallFault::Slow
        } else {
            CallFault::None
        }
    }

    /// Whether one finding of a `BatchImportFindings` call is to be reported failed.
    pub fn fail_finding(&self, account: &str, region: &str) -> bool {
        let rate = self.spec().fail_finding;
        rate > 0.0 && self.draw(&format!("finding/{account}/{region}")) < rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let s: FaultSpec = "throttle=0.2, error=0.05,fail_finding=0.01,slow=0.1,slow_ms=300"
            .parse()
            .unwrap();
        assert_eq!(s.throttle, 0.2);
        assert_eq!(s.error, 0.05);
        assert_eq!(s.fail_finding, 0.01);
        assert_eq!(s.slow_ms, 300);
        assert!("throttle=2".parse::<FaultSpec>().is_err());
        assert!("bogus=0.1".parse::<FaultSpec>().is_err());
        assert!("throttle".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn same_seed_same_faults_and_rate_holds() {
        let spec: FaultSpec = "throttle=0.3".parse().unwrap();
        let a = Faults::new(spec.clone(), 7);
        let b = Faults::new(spec, 7);
        let seq_a: Vec<_> = (0..1000).map(|_| a.for_call("1", "r", "Op")).collect();
        let seq_b: Vec<_> = (0..1000).map(|_| b.for_call("1", "r", "Op")).collect();
        assert_eq!(seq_a, seq_b);
        let throttled = seq_a.iter().filter(|f| **f == CallFault::Throttle).count();
        assert!(
            (230..370).contains(&throttled),
            "{throttled} of 1000 throttled at rate 0.3"
        );
    }
}
