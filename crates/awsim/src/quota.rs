//! Token buckets per account, Region and API, set to the published quotas, answering with the
//! throttling error each service really returns so the SDK's retry classifier treats it as a
//! throttle.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A sustained rate and a burst, as AWS publishes them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second refilled.
    pub per_second: f64,
    /// Bucket capacity.
    pub burst: f64,
}

impl Rate {
    /// `per_second` sustained with `burst` capacity.
    pub const fn new(per_second: f64, burst: f64) -> Self {
        Rate { per_second, burst }
    }
}

/// Which quotas apply.
#[derive(Debug, Clone)]
pub struct QuotaConfig {
    /// Off: every call passes.
    pub enabled: bool,
    /// Rate for SSM APIs. SSM does not publish per-API numbers, so this is a configurable default.
    pub ssm: Rate,
    /// Rate for the Security Hub APIs without an override ("most other Security Hub APIs").
    pub securityhub: Rate,
    /// Per-operation overrides, keyed `service:Operation` (e.g. `securityhub:GetFindings`).
    pub overrides: HashMap<String, Rate>,
}

impl QuotaConfig {
    /// No quotas.
    pub fn off() -> Self {
        QuotaConfig {
            enabled: false,
            ..Self::aws()
        }
    }

    /// The published Security Hub throttling limits (API reference introduction,
    /// <https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html>) and a default for
    /// SSM (<https://docs.aws.amazon.com/general/latest/gr/ssm.html>).
    pub fn aws() -> Self {
        let mut overrides = HashMap::new();
        overrides.insert(
            "securityhub:BatchImportFindings".into(),
            Rate::new(10.0, 30.0),
        );
        overrides.insert("securityhub:GetFindings".into(), Rate::new(3.0, 6.0));
        overrides.insert(
            "securityhub:BatchUpdateFindings".into(),
            Rate::new(10.0, 30.0),
        );
        QuotaConfig {
            enabled: true,
            ssm: Rate::new(10.0, 20.0),
            // "Most other Security Hub APIs": 10/s, burst 30.
            securityhub: Rate::new(10.0, 30.0),
            overrides,
        }
    }

    /// Every rate and burst multiplied by `k`: time running `k` times faster, for a benchmark
    /// that measures in minutes what the published quotas take hours to allow.
    pub fn scaled(mut self, k: f64) -> Self {
        let up = |r: Rate| Rate::new(r.per_second * k, r.burst * k);
        self.ssm = up(self.ssm);
        self.securityhub = up(self.securityhub);
        for r in self.overrides.values_mut() {
            *r = up(*r);
        }
        self
    }

    /// The rate that governs one operation, or `None` where no quota is modelled.
    pub fn rate_for(&self, service: &str, operation: &str) -> Option<Rate> {
        if !self.enabled {
            return None;
        }
        if let Some(r) = self.overrides.get(&format!("{service}:{operation}")) {
            return Some(*r);
        }
        match service {
            "ssm" => Some(self.ssm),
            "securityhub" => Some(self.securityhub),
            // Organizations publishes no per-API figure we rely on; STS AssumeRole is generous.
            _ => None,
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// All buckets of one emulator.
#[derive(Default)]
pub struct Quotas {
    buckets: Mutex<HashMap<(String, String, String), Bucket>>,
    /// Not enforced yet (the `quotas_after_seeding` leniency).
    suspended: AtomicBool,
}

impl std::fmt::Debug for Quotas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Quotas")
    }
}

impl Quotas {
    /// Buckets that are not enforced until [`Quotas::enforce`] when `suspended`.
    pub fn suspended(suspended: bool) -> Self {
        Quotas {
            suspended: AtomicBool::new(suspended),
            ..Quotas::default()
        }
    }

    /// Enforces the quotas from now on, every bucket full.
    pub fn enforce(&self) {
        self.reset();
        self.suspended.store(false, Ordering::SeqCst);
    }

    /// Takes one token for `(account, region, operation)`; `false` means throttle this call.
    pub fn try_acquire(&self, rate: Rate, account: &str, region: &str, operation: &str) -> bool {
        if self.suspended.load(Ordering::SeqCst) {
            return true;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("quota lock");
        let key = (
            account.to_string(),
            region.to_string(),
            operation.to_string(),
        );
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: rate.burst,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate.per_second).min(rate.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets all buckets (every bucket starts full again).
    pub fn reset(&self) {
        self.buckets.lock().expect("quota lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_throttle() {
        let q = Quotas::default();
        let r = Rate::new(0.001, 3.0);
        assert!((0..3).all(|_| q.try_acquire(r, "a", "r", "op")));
        assert!(!q.try_acquire(r, "a", "r", "op"));
        // Buckets are per account: another account is not affected.
        assert!(q.try_acquire(r, "b", "r", "op"));
    }

    #[test]
    fn published_rates() {
        let c = QuotaConfig::aws();
        assert_eq!(
            c.rate_for("securityhub", "GetFindings"),
            Some(Rate::new(3.0, 6.0))
        );
        assert_eq!(
            c.rate_for("securityhub", "BatchImportFindings"),
            Some(Rate::new(10.0, 30.0))
        );
        assert_eq!(
            c.rate_for("securityhub", "DescribeHub"),
            Some(Rate::new(10.0, 30.0))
        );
        assert_eq!(
            QuotaConfig::off().rate_for("securityhub", "GetFindings"),
            None
        );
    }
}
