//! One account and Region as patchhub works on it: the account's session, the Region, and the
//! limiter that keeps the calls made there inside AWS's quotas. Security Hub's quotas (and SSM's
//! throttling) are per account and Region, so every command reaches SSM and Security Hub through a
//! [`Target`]: the sync, `hub`, `cleanup`, `report`, the Lambda function and the demo all pace and
//! count their calls the same way.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use aws_config::SdkConfig;

use patchhub_core::finding::Finding;

use crate::clients::AccountSession;
use crate::error::ApiError;
use crate::findings_query::{FindingFilter, get_findings};
use crate::quota::{Api, Limiter, QuotaSettings};
use crate::sink::SecurityHubSink;
use crate::source::SsmSource;

/// One account and Region: its session, its Region, its limiter and the SDK clients built from
/// them (once, on first use). Cheap to clone; clones share the limiter and the clients.
#[derive(Debug, Clone)]
pub struct Target {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    session: AccountSession,
    region: String,
    config: SdkConfig,
    limiter: Limiter,
    ssm: OnceLock<aws_sdk_ssm::Client>,
    securityhub: OnceLock<aws_sdk_securityhub::Client>,
}

impl Target {
    /// `session`'s account in `region`, with a fresh limiter for `quotas`.
    pub fn new(session: &AccountSession, region: &str, quotas: QuotaSettings) -> Self {
        Target::with_limiter(session, region, Limiter::new(quotas))
    }

    /// The same, sharing an existing limiter (a Lambda function keeps one for its life, so
    /// back-to-back invocations share the buckets as they share AWS's).
    pub fn with_limiter(session: &AccountSession, region: &str, limiter: Limiter) -> Self {
        Target {
            inner: Arc::new(Inner {
                config: session.in_region(region),
                session: session.clone(),
                region: region.to_string(),
                limiter,
                ssm: OnceLock::new(),
                securityhub: OnceLock::new(),
            }),
        }
    }

    /// Account id.
    pub fn account(&self) -> &str {
        &self.inner.session.account_id
    }

    /// Region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub fn partition(&self) -> &str {
        &self.inner.session.partition
    }

    /// The account's session (for calls that are not per Region).
    pub fn session(&self) -> &AccountSession {
        &self.inner.session
    }

    /// The limiter every call of this target goes through.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    pub(crate) fn ssm_client(&self) -> aws_sdk_ssm::Client {
        self.inner
            .ssm
            .get_or_init(|| aws_sdk_ssm::Client::new(&self.inner.config))
            .clone()
    }

    pub(crate) fn securityhub_client(&self) -> aws_sdk_securityhub::Client {
        self.inner
            .securityhub
            .get_or_init(|| aws_sdk_securityhub::Client::new(&self.inner.config))
            .clone()
    }

    /// The SSM compliance source of this account and Region.
    pub fn ssm(&self) -> SsmSource {
        SsmSource::new(
            self.ssm_client(),
            self.account(),
            self.region(),
            self.partition(),
            self.limiter().clone(),
        )
    }

    /// The Security Hub sink of this account and Region.
    pub fn hub(&self) -> SecurityHubSink {
        SecurityHubSink::new(
            self.securityhub_client(),
            self.account(),
            self.region(),
            self.partition(),
            self.limiter().clone(),
        )
    }

    /// The findings `filter` selects, as this account sees them in this Region, paged at the
    /// limiter's `GetFindings` rate.
    pub(crate) async fn get_findings(
        &self,
        filter: &FindingFilter,
    ) -> Result<Vec<Finding>, ApiError> {
        get_findings(
            &self.securityhub_client(),
            self.account(),
            self.region(),
            self.limiter(),
            filter,
        )
        .await
    }

    /// Calls made so far through this target, by API.
    pub fn calls(&self) -> BTreeMap<Api, u64> {
        self.inner.limiter.calls()
    }

    /// Calls made since `before` (a [`Target::calls`] snapshot), by API name, leaving out APIs
    /// not called since.
    pub fn api_calls_since(&self, before: &BTreeMap<Api, u64>) -> BTreeMap<String, u64> {
        self.calls()
            .into_iter()
            .map(|(api, n)| {
                let was = before.get(&api).copied().unwrap_or(0);
                (api.name().to_string(), n - was)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}
