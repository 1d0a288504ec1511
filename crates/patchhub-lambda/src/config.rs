//! The function's configuration: the finding policy from the `PATCHHUB_*` variables (the same
//! rules as the CLI's flags) and the SSM pace, validated once at cold start with every bad value
//! listed in one error.

use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::settings::{PolicySettings, policy_from_settings};
use patchhub_core::policy::FindingPolicy;

use crate::error::{ErrorType, LambdaError};

/// Requests per second per SSM API, like the CLI's `--ssm-rate` (SSM publishes no quota).
pub const SSM_RATE_VAR: &str = "PATCHHUB_SSM_RATE";

/// Everything the function reads from its environment besides the AWS SDK's own variables.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaConfig {
    /// What findings exist and what they say.
    pub policy: FindingPolicy,
    /// Client-side pace of each API.
    pub quotas: QuotaSettings,
}

impl LambdaConfig {
    /// Reads and validates the configuration through `get` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, LambdaError> {
        let mut errors = Vec::new();
        let policy = policy_from_settings(&PolicySettings::from_env(&get))
            .map_err(|e| errors.extend(e))
            .ok();
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
        match policy {
            Some(policy) if errors.is_empty() => Ok(LambdaConfig { policy, quotas }),
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
