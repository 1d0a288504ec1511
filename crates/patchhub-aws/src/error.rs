//! Errors that say which account, Region and API failed, what AWS answered, and what to do.

use aws_sdk_securityhub::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

/// A coarse class of failure, for exit codes and the Lambda's `error_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ErrorKind {
    /// Throttled after the SDK's retries.
    Throttled,
    /// IAM said no (missing permission, role not assumable).
    AccessDenied,
    /// No or invalid credentials.
    Credentials,
    /// Security Hub is not enabled in this account and Region.
    HubNotEnabled,
    /// The Region is not enabled for the account (opt-in Regions).
    RegionDisabled,
    /// Bad input we sent or were given.
    InvalidInput,
    /// Network, timeout, 5xx, or anything else.
    Service,
}

impl ErrorKind {
    /// Whether running again may pass without anything being fixed first (throttling, network,
    /// 5xx). Every other kind needs a fix: credentials, permissions, input, a disabled hub or
    /// Region. The CLI's exit code (1 or 2) follows this.
    pub fn passes_on_rerun(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Service)
    }
}

/// One failed AWS call, with where it happened.
#[derive(Debug, Clone, thiserror::Error)]
#[error("account {account} in {region}: {api} failed: {message}{hint}", hint = hint(*.kind))]
pub struct ApiError {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Operation (`GetFindings`, `sts:AssumeRole`, ...).
    pub api: String,
    /// AWS error code, when AWS answered.
    pub code: Option<String>,
    /// AWS message or transport error.
    pub message: String,
    /// Class.
    pub kind: ErrorKind,
}

fn hint(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Throttled => {
            " (throttled after retries: lower --concurrency or run again; nothing is lost, the next run converges)"
        }
        ErrorKind::AccessDenied => " (check the role's IAM policy against docs/DEPLOY.md)",
        ErrorKind::Credentials => {
            " (set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
        }
        ErrorKind::HubNotEnabled => {
            " (enable Security Hub there: `patchhub hub enable`, or aws securityhub enable-security-hub)"
        }
        ErrorKind::RegionDisabled => {
            " (the Region is not enabled for this account; enable it or leave it out of --regions)"
        }
        ErrorKind::InvalidInput | ErrorKind::Service => "",
    }
}

impl ApiError {
    /// Classifies an SDK error.
    pub fn from_sdk<E, R>(account: &str, region: &str, api: &str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let (code, message) = match err {
            SdkError::ServiceError(se) => (
                se.err().code().map(str::to_string),
                se.err()
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| se.err().to_string()),
            ),
            other => (None, DisplayErrorContext(other).to_string()),
        };
        let kind = classify(code.as_deref(), &message);
        ApiError {
            account: account.into(),
            region: region.into(),
            api: api.into(),
            code,
            message,
            kind,
        }
    }

    /// An error that did not come from the SDK.
    pub fn other(
        account: &str,
        region: &str,
        api: &str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            account: account.into(),
            region: region.into(),
            api: api.into(),
            code: None,
            message: message.into(),
            kind,
        }
    }
}

/// Maps an AWS error code (or a transport message) to a kind.
pub fn classify(code: Option<&str>, message: &str) -> ErrorKind {
    match code {
        Some(
            "ThrottlingException"
            | "TooManyRequestsException"
            | "Throttling"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "LimitExceededException",
        ) => ErrorKind::Throttled,
        Some(
            "AccessDenied"
            | "AccessDeniedException"
            | "AuthorizationError"
            | "UnauthorizedOperation",
        ) => ErrorKind::AccessDenied,
        Some("InvalidAccessException")
            if message.contains("not subscribed") || message.contains("not enabled") =>
        {
            ErrorKind::HubNotEnabled
        }
        Some("InvalidAccessException") => ErrorKind::AccessDenied,
        Some("UnrecognizedClientException" | "InvalidClientTokenId") => ErrorKind::RegionDisabled,
        Some(
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch",
        ) => ErrorKind::Credentials,
        Some(c) if c.starts_with("Invalid") || c.starts_with("Validation") => {
            ErrorKind::InvalidInput
        }
        Some(_) => ErrorKind::Service,
        None if message.contains("credentials") => ErrorKind::Credentials,
        None => ErrorKind::Service,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_codes() {
        assert_eq!(
            classify(Some("TooManyRequestsException"), ""),
            ErrorKind::Throttled
        );
        assert_eq!(classify(Some("AccessDenied"), ""), ErrorKind::AccessDenied);
        assert_eq!(
            classify(
                Some("InvalidAccessException"),
                "Account 1 is not subscribed to AWS Security Hub"
            ),
            ErrorKind::HubNotEnabled
        );
        assert_eq!(
            classify(None, "failed to load credentials: no credentials"),
            ErrorKind::Credentials
        );
        let e = ApiError::other(
            "111111111111",
            "eu-west-1",
            "GetFindings",
            ErrorKind::Throttled,
            "Rate exceeded",
        );
        let s = e.to_string();
        assert!(
            s.starts_with("account 111111111111 in eu-west-1: GetFindings failed: Rate exceeded"),
            "{s}"
        );
    }
}
