//! Client-side rate limiting: one token bucket per (account, Region, API) set to the published
//! quota, so a large sweep runs at the quota instead of provoking throttling storms. The SDK's
//! retry stays on as the second line for throttles that slip through (clock skew, other callers
//! sharing the account's quota).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second.
    pub per_second: f64,
    /// Bucket capacity.
    pub burst: f64,
}

impl Rate {
    /// `per_second` sustained, `burst` at once.
    pub const fn new(per_second: f64, burst: f64) -> Self {
        Rate { per_second, burst }
    }
}

/// The APIs patchhub calls, each with its own bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// `ssm:DescribeInstanceInformation`
    DescribeInstanceInformation,
    /// `ssm:DescribeInstanceProperties`
    DescribeInstanceProperties,
    /// `ssm:DescribeInstancePatchStates`
    DescribeInstancePatchStates,
    /// `ssm:DescribeInstancePatches`
    DescribeInstancePatches,
    /// `ssm:ListComplianceItems`
    ListComplianceItems,
    /// `ssm:ListResourceComplianceSummaries`
    ListResourceComplianceSummaries,
    /// `securityhub:GetFindings`
    GetFindings,
    /// `securityhub:BatchImportFindings`
    BatchImportFindings,
}

impl Api {
    /// Operation name as AWS spells it.
    pub fn name(self) -> &'static str {
        match self {
            Api::DescribeInstanceInformation => "DescribeInstanceInformation",
            Api::DescribeInstanceProperties => "DescribeInstanceProperties",
            Api::DescribeInstancePatchStates => "DescribeInstancePatchStates",
            Api::DescribeInstancePatches => "DescribeInstancePatches",
            Api::ListComplianceItems => "ListComplianceItems",
            Api::ListResourceComplianceSummaries => "ListResourceComplianceSummaries",
            Api::GetFindings => "GetFindings",
            Api::BatchImportFindings => "BatchImportFindings",
        }
    }
}

/// The rates the limiter enforces.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaSettings {
    /// Security Hub `BatchImportFindings` (published: 10/s, burst 30).
    pub batch_import: Rate,
    /// Security Hub `GetFindings` (published: 3/s, burst 6).
    pub get_findings: Rate,
    /// Each SSM read API. SSM publishes no per-API figure; this default is deliberately modest
    /// and settable (`--ssm-rate`).
    pub ssm: Rate,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            batch_import: Rate::new(10.0, 30.0),
            get_findings: Rate::new(3.0, 6.0),
            ssm: Rate::new(10.0, 20.0),
        }
    }
}

impl QuotaSettings {
    /// These quotas scaled to `share` of every rate and burst: one caller's part of quotas
    /// several share (the limiter keeps at least one call's worth of burst, so a share never
    /// stalls).
    pub fn shared(&self, share: f64) -> QuotaSettings {
        let part = |r: Rate| Rate::new(r.per_second * share, r.burst * share);
        QuotaSettings {
            batch_import: part(self.batch_import),
            get_findings: part(self.get_findings),
            ssm: part(self.ssm),
        }
    }

    /// The rate for one API.
    pub fn rate(&self, api: Api) -> Rate {
        match api {
            Api::BatchImportFindings => self.batch_import,
            Api::GetFindings => self.get_findings,
            _ => self.ssm,
        }
    }
}

/// Share of the published rate the limiter uses.
pub(crate) const SAFETY: f64 = 0.95;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets for one account and Region (buckets are per account and Region in AWS, so each
/// target gets its own [`Limiter`]).
#[derive(Debug, Clone)]
pub struct Limiter {
    settings: Arc<QuotaSettings>,
    buckets: Arc<Mutex<HashMap<Api, Bucket>>>,
    calls: Arc<Mutex<std::collections::BTreeMap<Api, u64>>>,
}

impl Limiter {
    /// A limiter with full buckets.
    pub fn new(settings: QuotaSettings) -> Self {
        Limiter {
            settings: Arc::new(settings),
            buckets: Arc::new(Mutex::new(HashMap::new())),
            calls: Arc::new(Mutex::new(Default::default())),
        }
    }

    /// Calls made through this limiter, by API (every call acquires exactly once).
    pub fn calls(&self) -> std::collections::BTreeMap<Api, u64> {
        self.calls.lock().expect("limiter lock").clone()
    }

    /// Waits until a call of `api` is within quota, then takes its token.
    pub async fn acquire(&self, api: Api) {
        // Pace a little under the published figure: requests reach the server with jitter, and
        // a client at exactly the quota would now and then arrive early and be throttled.
        let quota = self.settings.rate(api);
        let rate = Rate::new(quota.per_second * SAFETY, (quota.burst - 1.0).max(1.0));
        *self
            .calls
            .lock()
            .expect("limiter lock")
            .entry(api)
            .or_insert(0) += 1;
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().expect("limiter lock");
                let now = Instant::now();
                let b = buckets.entry(api).or_insert(Bucket {
                    tokens: rate.burst,
                    last: now,
                });
                b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate.per_second)
                    .min(rate.burst);
                b.last = now;
                if b.tokens >= 1.0 {
                    b.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - b.tokens) / rate.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_rate() {
        let l = Limiter::new(QuotaSettings {
            get_findings: Rate::new(2.0, 4.0),
            ..QuotaSettings::default()
        });
        let start = Instant::now();
        for _ in 0..3 {
            l.acquire(Api::GetFindings).await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst (less one token of margin) is free"
        );
        for _ in 0..4 {
            l.acquire(Api::GetFindings).await;
        }
        // 4 more at 95% of 2/s take 4/1.9 s of (paused, simulated) time.
        let e = start.elapsed().as_secs_f64();
        assert!((2.09..2.2).contains(&e), "took {e}s");
        assert_eq!(l.calls().get(&Api::GetFindings), Some(&7));
        // Another API's bucket is untouched.
        let t = Instant::now();
        l.acquire(Api::BatchImportFindings).await;
        assert_eq!(t.elapsed(), Duration::ZERO);
    }
}
