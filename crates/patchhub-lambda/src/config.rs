//! The function's configuration: the finding policy from the `PATCHHUB_*` variables (the same
//! rules as the CLI's flags), the SSM pace and the function's share of the account's quotas,
//! validated once at cold start with every bad value listed in one error; and the optional
//! Security Lake sink (`PATCHHUB_LAKE_*`, [`crate::lake`]).

use patchhub_aws::quota::{QuotaSettings, Rate};
use std::sync::Arc;

use patchhub_aws::deadlines::{Deadlines, deadlines_from_settings};
use patchhub_aws::settings::Setting;
use patchhub_aws::settings::{PolicySettings, policy_from_settings};
use patchhub_core::policy::FindingPolicy;

use crate::error::{ErrorType, LambdaError};
use crate::lake::LakeConfig;

/// Requests per second per SSM API, like the CLI's `--ssm-rate` (SSM publishes no quota).
pub const SSM_RATE_VAR: &str = "PATCHHUB_SSM_RATE";

/// How many instances of the function can run at once in the account and Region: a number, or
/// the sum `WINDOW+QUEUE+SWEEP` (the template's `SyncMaxConcurrency+EventMaxConcurrency+1`).
/// Each instance has its own client-side limiter, while AWS's quotas are per account and
/// Region: every instance paces itself at `1/total` of each rate, so the instances together stay
/// inside the quotas. With the three terms, a sweep (which runs after the window has closed,
/// beside the queue's instances only) takes the window's part too: `(WINDOW+SWEEP)/total`.
/// Unset: `1` (the whole rate, as the CLI).
pub const CONCURRENCY_VAR: &str = "PATCHHUB_CONCURRENCY";

/// Upper bound of [`CONCURRENCY_VAR`] (Lambda's default account concurrency quota is 1,000).
const MAX_CONCURRENCY: u32 = 1000;

/// Everything the function reads from its environment besides the AWS SDK's own variables.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaConfig {
    /// What findings exist and what they say.
    pub policy: FindingPolicy,
    /// Patch deadlines (`PATCHHUB_SLA`, `PATCHHUB_KEV`, `PATCHHUB_ESCALATE_BREACHED`,
    /// `PATCHHUB_AS_OF`); the catalog is a file in the package or a layer.
    pub deadlines: Arc<Deadlines>,
    /// Client-side pace of each API for one node or one batch: this instance's share.
    pub quotas: QuotaSettings,
    /// The pace of a sweep (and of the archive on stack deletion): the same share, or the
    /// window's part too when [`CONCURRENCY_VAR`] names it.
    pub sweep_quotas: QuotaSettings,
    /// Instances that share the account's quotas ([`CONCURRENCY_VAR`]).
    pub concurrency: u32,
    /// Where the OCSF events of each invocation's changes go; `None`: nowhere (the default).
    pub lake: Option<LakeConfig>,
}

/// Parses `N` or `A+B+…` (each a whole number) into its terms, whose sum is between 1 and
/// [`MAX_CONCURRENCY`].
pub fn parse_concurrency(raw: &str) -> Result<Vec<u32>, String> {
    let mut terms = Vec::new();
    for part in raw.split('+') {
        let n: u32 = part.trim().parse().map_err(|_| {
            format!(
                "{CONCURRENCY_VAR}=`{}`: use a whole number or a sum such as `10+2+1`",
                patchhub_aws::targets::shown(raw)
            )
        })?;
        terms.push(n);
    }
    let total = terms.iter().fold(0u32, |a, n| a.saturating_add(*n));
    if (1..=MAX_CONCURRENCY).contains(&total) {
        Ok(terms)
    } else {
        Err(format!(
            "{CONCURRENCY_VAR}=`{}`: the sum must be between 1 and {MAX_CONCURRENCY}",
            patchhub_aws::targets::shown(raw)
        ))
    }
}

impl LambdaConfig {
    /// Reads and validates the configuration through `get` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaError> {
        let mut errors = Vec::new();
        let settings = PolicySettings::from_env(&get);
        let policy = policy_from_settings(&settings)
            .map_err(|e| errors.extend(e))
            .ok();
        let deadlines = deadlines_from_settings(&settings, Setting::env_var, chrono::Utc::now())
            .map_err(|e| errors.extend(e))
            .ok();
        if let Some(d) = &deadlines {
            for w in &d.warnings {
                tracing::warn!("{w}");
            }
        }
        let mut quotas = QuotaSettings::default();
        if let Some(raw) = get(SSM_RATE_VAR).filter(|v| !v.trim().is_empty()) {
            match raw.trim().parse::<f64>() {
                Ok(r) if r.is_finite() && r > 0.0 => {
                    quotas.ssm = Rate::new(r, (r * 2.0).max(1.0));
                }
                _ => errors.push(format!(
                    "{SSM_RATE_VAR}=`{}`: use a positive number of requests per second (default 10)",
                    patchhub_aws::targets::shown(&raw)
                )),
            }
        }
        let mut terms = vec![1];
        if let Some(raw) = get(CONCURRENCY_VAR).filter(|v| !v.trim().is_empty()) {
            match parse_concurrency(&raw) {
                Ok(t) => terms = t,
                Err(e) => errors.push(e),
            }
        }
        let lake = LakeConfig::from_env(&get, &mut errors);
        let concurrency: u32 = terms.iter().sum();
        let total = f64::from(concurrency.max(1));
        let sweep_share = match terms.as_slice() {
            [window, _queue, sweep] => f64::from(window + sweep).max(1.0) / total,
            _ => 1.0 / total,
        };
        match (policy, deadlines) {
            (Some(policy), Some(deadlines)) if errors.is_empty() => Ok(LambdaConfig {
                policy,
                deadlines: Arc::new(deadlines),
                sweep_quotas: quotas.shared(sweep_share),
                quotas: quotas.shared(1.0 / total),
                concurrency,
                lake,
            }),
            _ => Err(LambdaError::new(
                ErrorType::InvalidConfig,
                format!(
                    "{} bad environment variable value(s), fix them in the function's configuration: {}",
                    errors.len(),
                    errors.join("; ")
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<LambdaConfig, LambdaError> {
        LambdaConfig::from_env(|k| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_and_overrides() {
        let c = from(&[]).unwrap();
        assert_eq!(c.policy, FindingPolicy::default());
        assert_eq!(c.quotas, QuotaSettings::default());
        let c = from(&[
            ("PATCHHUB_SSM_RATE", "4"),
            ("PATCHHUB_MIN_SEVERITY", "critical"),
        ])
        .unwrap();
        assert_eq!(c.quotas.ssm, Rate::new(4.0, 8.0));
        assert_eq!(
            c.policy.min_severity,
            patchhub_core::model::Severity::Critical
        );
    }

    #[test]
    fn concurrency_shares_the_quotas() {
        let c = from(&[("PATCHHUB_CONCURRENCY", "10+2+1")]).unwrap();
        assert_eq!(c.concurrency, 13);
        let d = QuotaSettings::default();
        assert!((c.quotas.get_findings.per_second * 13.0 - d.get_findings.per_second).abs() < 1e-9);
        assert!((c.quotas.batch_import.burst * 13.0 - d.batch_import.burst).abs() < 1e-9);
        let c = from(&[("PATCHHUB_CONCURRENCY", " 4 "), ("PATCHHUB_SSM_RATE", "8")]).unwrap();
        assert_eq!(c.quotas.ssm, Rate::new(2.0, 4.0));
        assert_eq!(c.sweep_quotas, c.quotas, "a plain number shares alike");
        let none = from(&[]).unwrap();
        assert_eq!(none.concurrency, 1);
        assert_eq!(none.sweep_quotas, QuotaSettings::default());

        // The sweep runs after the window: it takes the window's part beside the queue's.
        let c = from(&[("PATCHHUB_CONCURRENCY", "10+2+1")]).unwrap();
        let sweep = c.sweep_quotas.get_findings.per_second;
        assert!((sweep - 3.0 * 11.0 / 13.0).abs() < 1e-9, "{sweep}");
        let queue_instances = 2.0 * c.quotas.get_findings.per_second;
        assert!(
            sweep + queue_instances <= 3.0 + 1e-9,
            "sweep and queue stay in the quota"
        );
        for bad in ["0", "-1", "ten", "1+", "2000", "600+600"] {
            let e = from(&[("PATCHHUB_CONCURRENCY", bad)]).unwrap_err();
            assert!(
                e.message.contains(&format!("PATCHHUB_CONCURRENCY=`{bad}`")),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn one_error_lists_every_bad_value() {
        let e = from(&[
            ("PATCHHUB_MIN_SEVERITY", "severe"),
            ("PATCHHUB_REFRESH_AFTER", "soon"),
            ("PATCHHUB_SSM_RATE", "-1"),
        ])
        .unwrap_err();
        assert_eq!(e.error_type, ErrorType::InvalidConfig);
        assert!(
            e.message.starts_with("3 bad environment variable value(s)"),
            "{}",
            e.message
        );
        for part in [
            "PATCHHUB_MIN_SEVERITY=`severe`",
            "PATCHHUB_REFRESH_AFTER=`soon`",
            "PATCHHUB_SSM_RATE=`-1`",
        ] {
            assert!(e.message.contains(part), "{}", e.message);
        }
    }
}
