//! Building SDK configurations: the base one from the standard AWS chain (profile, env vars,
//! `--endpoint-url`), and one per account (through `AssumeRole` when a role is given) and Region.
//! Clients are built once per target and shared by every task of that target.

use std::sync::Mutex;
use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{
    ProvideCredentials, SharedCredentialsProvider, future as creds_future,
};

use crate::error::{ApiError, ErrorKind};
use crate::targets::partition_of_arn;

/// The shared AWS options of every command.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Named profile.
    pub profile: Option<String>,
    /// Home Region (also where STS and Organizations are called).
    pub region: Option<String>,
    /// Endpoint override (awsim, VPC endpoints).
    pub endpoint_url: Option<String>,
    /// Per-attempt timeout; a slower answer is retried.
    pub attempt_timeout: Option<Duration>,
    /// SDK retry attempts (first try included).
    pub max_attempts: u32,
}

/// Loads the base configuration from the standard chain and the options.
pub async fn load_base(opts: &AwsOptions) -> Result<SdkConfig, ApiError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let attempts = opts.max_attempts.max(1);
    loader = loader.retry_config(RetryConfig::standard().with_max_attempts(attempts));
    let attempt = opts.attempt_timeout.unwrap_or(Duration::from_secs(30));
    loader = loader.timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(attempt)
            .build(),
    );
    let config = loader.load().await;
    // Before any account or Region: the line names neither.
    let missing = |kind, what: &str| ApiError::other("", "", "", kind, what);
    if config.region().is_none() {
        return Err(missing(ErrorKind::InvalidInput, "no AWS Region configured")
            .with_fix(crate::error::REGION_FIX));
    }
    if config.credentials_provider().is_none() {
        return Err(missing(ErrorKind::Credentials, "no AWS credentials found"));
    }
    Ok(config)
}

/// Who we act as in one account.
#[derive(Debug, Clone)]
pub struct AccountSession {
    /// Account id, as STS reports it.
    pub account_id: String,
    /// `aws`, `aws-cn` or `aws-us-gov`, from the caller ARN.
    pub partition: String,
    /// Configuration with this account's credentials (Region: the base one).
    pub config: SdkConfig,
}

impl AccountSession {
    /// The configuration for one Region of this account.
    pub fn in_region(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(Region::new(region.to_string()))
            .build()
    }
}

/// How to get into member accounts.
#[derive(Debug, Clone, Default)]
pub struct RoleOptions {
    /// Role name assumed in each account (`arn:PARTITION:iam::ACCOUNT:role/NAME`).
    pub role_name: Option<String>,
    /// External id the role's trust policy requires.
    pub external_id: Option<String>,
    /// Session name (shows in CloudTrail).
    pub session_name: String,
}

/// The session of the base credentials (no role): GetCallerIdentity tells account and partition.
pub async fn base_session(base: &SdkConfig) -> Result<AccountSession, ApiError> {
    let region = base.region().map(|r| r.to_string()).unwrap_or_default();
    let sts = aws_sdk_sts::Client::new(base);
    let who = sts.get_caller_identity().send().await.map_err(|e| {
        let mut err = ApiError::from_sdk("", &region, "sts:GetCallerIdentity", &e);
        if matches!(
            err.code.as_deref(),
            Some("InvalidClientTokenId" | "UnrecognizedClientException")
        ) {
            // Here, before any account or Region of a run: the key itself is not known.
            err.kind = ErrorKind::Credentials;
            err.fix = Some(
                "AWS does not know this access key: check AWS_ACCESS_KEY_ID or the profile".into(),
            );
        }
        if err.kind == ErrorKind::Credentials && err.code.is_none() {
            // No credentials at all: say that, not which call could not be signed.
            err.region.clear();
            err.api.clear();
        }
        err
    })?;
    let account_id = who.account().unwrap_or_default().to_string();
    let partition = who
        .arn()
        .and_then(partition_of_arn)
        .unwrap_or("aws")
        .to_string();
    Ok(AccountSession {
        account_id,
        partition,
        config: base.clone(),
    })
}

/// An assumed-role provider that first hands out the credentials the early check in
/// [`assume_into`] already obtained, then asks STS again (refreshes) once those are used up.
/// Without it the identity cache's first load would assume the role a second time.
#[derive(Debug)]
struct CheckedRole {
    checked: Mutex<Option<Credentials>>,
    provider: AssumeRoleProvider,
}

impl ProvideCredentials for CheckedRole {
    fn provide_credentials<'a>(&'a self) -> creds_future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let checked = self
            .checked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        match checked {
            Some(creds) => creds_future::ProvideCredentials::ready(Ok(creds)),
            None => self.provider.provide_credentials(),
        }
    }
}

/// Assumes `role` in `account` (refreshing credentials automatically for long runs) and checks
/// the result with GetCallerIdentity, so a role that cannot be assumed fails here, clearly.
///
/// The session gets an identity cache of its own. The base configuration's cache is shared by
/// every configuration derived from it, is partitioned per credentials provider, never drops the
/// partition of a provider that is gone and evicts an arbitrary partition beyond 64: with one
/// provider per account, later runs (or large fleets) evicted live sessions' credentials and each
/// eviction assumed the role again. With its own cache and the checked credentials reused, each
/// account is assumed once per run (until the credentials near expiry).
pub async fn assume_into(
    base: &SdkConfig,
    me: &AccountSession,
    account: &str,
    role: &RoleOptions,
) -> Result<AccountSession, ApiError> {
    let Some(role_name) = &role.role_name else {
        return Err(ApiError::other(
            account,
            "-",
            "sts:AssumeRole",
            ErrorKind::InvalidInput,
            "no --role-name given",
        ));
    };
    let region = base.region().map(|r| r.to_string()).unwrap_or_default();
    let role_arn = format!("arn:{}:iam::{account}:role/{role_name}", me.partition);
    let provider = role_provider(
        base,
        &role_arn,
        role.external_id.as_deref(),
        &role.session_name,
    )
    .await;
    // Fail now, with the role named, rather than on the first SSM call.
    let checked = provider
        .provide_credentials()
        .await
        .map_err(|e| not_assumed(account, role_name, role, me, &e))?;
    let provider = CheckedRole {
        checked: Mutex::new(Some(checked)),
        provider,
    };
    let config = with_credentials(base, provider);
    let session = base_session(&config).await.map_err(|mut e| {
        e.account = account.to_string();
        e.region = region.clone();
        e
    })?;
    if session.account_id != account {
        return Err(ApiError::other(
            account,
            &region,
            "sts:GetCallerIdentity",
            ErrorKind::AccessDenied,
            format!(
                "assumed {role_arn} but STS reports account {}",
                session.account_id
            ),
        ));
    }
    Ok(session)
}

/// `base` acting as the role `role_arn` (with `external_id` when its trust policy asks for one),
/// for a client that writes somewhere the base identity may not, such as a Security Lake custom
/// source through its provider role. Nothing is called here: STS is asked on the first call
/// and again before the credentials expire, and a role that cannot be assumed fails that call.
/// The configuration has an identity cache of its own, for the reason [`assume_into`] gives.
pub async fn as_role(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
    session_name: &str,
) -> SdkConfig {
    with_credentials(
        base,
        role_provider(base, role_arn, external_id, session_name).await,
    )
}

/// The provider that assumes `role_arn` from `base`'s identity (with `external_id` when the
/// role's trust policy asks for one).
async fn role_provider(
    base: &SdkConfig,
    role_arn: &str,
    external_id: Option<&str>,
    session_name: &str,
) -> AssumeRoleProvider {
    let mut builder = AssumeRoleProvider::builder(role_arn)
        .session_name(session_name)
        .configure(base);
    if let Some(x) = external_id {
        builder = builder.external_id(x);
    }
    builder.build().await
}

/// `base` with `provider`'s credentials and an identity cache of its own (see [`assume_into`]).
fn with_credentials(base: &SdkConfig, provider: impl ProvideCredentials + 'static) -> SdkConfig {
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .identity_cache(IdentityCache::lazy().build())
        .build()
}

/// Why `role` could not be assumed in `account`, as one line: AWS answers `AccessDenied` alike
/// for a role that does not exist and for one whose trust policy does not name the caller (STS
/// API Reference, AssumeRole, Errors; IAM User Guide, "Troubleshooting IAM roles"), so the line
/// names both and the caller's account.
fn not_assumed(
    account: &str,
    role_name: &str,
    role: &RoleOptions,
    me: &AccountSession,
    e: &aws_credential_types::provider::error::CredentialsError,
) -> ApiError {
    let cause = crate::error::plain_cause(e);
    let kind = cause.kind.unwrap_or(ErrorKind::Service);
    let mut err = ApiError::other(account, "", "sts:AssumeRole", kind, cause.message);
    err.code = cause.code;
    err.action = Some(format!("cannot assume {role_name}"));
    if kind == ErrorKind::AccessDenied {
        let external = if role.external_id.is_some() {
            " with this external id"
        } else {
            ""
        };
        // The code alone: AWS's message only repeats the caller and the role ARN.
        err.message.clear();
        err.fix = Some(format!(
            "the role does not exist or does not trust {}{external}: create {role_name} in {account} with a trust policy naming {} (docs/DEPLOY.md), or pass the right --role-name",
            me.account_id, me.account_id
        ));
    }
    err
}
