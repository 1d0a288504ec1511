//! The errors the function returns, each with a stable `error_type` that a maintenance window's
//! error threshold, EventBridge's retries and a CloudWatch metric filter can count.

use std::fmt;

use lambda_runtime::Diagnostic;
use patchhub_aws::ErrorKind;

/// The `errorType` values the function reports. The spellings are an interface: alarms and
/// metric filters match on them, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// The payload is not an event patchhub accepts (or names no valid node).
    InvalidEvent,
    /// A `PATCHHUB_*` variable has a bad value (reported at cold start, as an init error).
    InvalidConfig,
    /// The sync ran, but some findings were not imported (everything else was).
    PartialFailure,
    /// AWS throttled a call beyond the SDK's retries.
    Throttled,
    /// IAM denied a call: the function's role lacks a permission.
    AccessDenied,
    /// No or invalid credentials.
    Credentials,
    /// Security Hub is not enabled in this account and Region.
    HubNotEnabled,
    /// The Region is not enabled for the account.
    RegionDisabled,
    /// AWS rejected a request as invalid.
    InvalidRequest,
    /// Network, timeout, 5xx or anything else from AWS.
    ServiceError,
    /// Security Hub has every change, but some of their OCSF events did not reach Security
    /// Lake (reported in the summary; the invocation itself succeeds).
    LakeWriteFailed,
}

impl ErrorType {
    /// Every error type, for documentation and tests.
    pub const ALL: [ErrorType; 11] = [
        ErrorType::InvalidEvent,
        ErrorType::InvalidConfig,
        ErrorType::PartialFailure,
        ErrorType::Throttled,
        ErrorType::AccessDenied,
        ErrorType::Credentials,
        ErrorType::HubNotEnabled,
        ErrorType::RegionDisabled,
        ErrorType::InvalidRequest,
        ErrorType::ServiceError,
        ErrorType::LakeWriteFailed,
    ];

    /// The `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidEvent => "InvalidEvent",
            ErrorType::InvalidConfig => "InvalidConfig",
            ErrorType::PartialFailure => "PartialFailure",
            ErrorType::Throttled => "Throttled",
            ErrorType::AccessDenied => "AccessDenied",
            ErrorType::Credentials => "Credentials",
            ErrorType::HubNotEnabled => "HubNotEnabled",
            ErrorType::RegionDisabled => "RegionDisabled",
            ErrorType::InvalidRequest => "InvalidRequest",
            ErrorType::ServiceError => "ServiceError",
            ErrorType::LakeWriteFailed => "LakeWriteFailed",
        }
    }
}

impl From<ErrorKind> for ErrorType {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Throttled => ErrorType::Throttled,
            ErrorKind::AccessDenied => ErrorType::AccessDenied,
            ErrorKind::Credentials => ErrorType::Credentials,
            ErrorKind::HubNotEnabled => ErrorType::HubNotEnabled,
            ErrorKind::RegionDisabled => ErrorType::RegionDisabled,
            ErrorKind::InvalidInput => ErrorType::InvalidRequest,
            ErrorKind::Service => ErrorType::ServiceError,
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed invocation (or cold start): a type to count and a message to act on.
#[derive(Clone, PartialEq, Eq)]
pub struct LambdaError {
    /// What kind of failure.
    pub error_type: ErrorType,
    /// What happened and what to do.
    pub message: String,
}

impl LambdaError {
    /// An error of `error_type`.
    pub fn new(error_type: ErrorType, message: impl Into<String>) -> Self {
        LambdaError {
            error_type,
            message: message.into(),
        }
    }
}

impl fmt::Display for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.message)
    }
}

// The runtime logs a handler's error with `{:?}`: keep that line as readable as the message.
impl fmt::Debug for LambdaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for LambdaError {}

impl From<LambdaError> for Diagnostic {
    fn from(e: LambdaError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type.as_str().to_string(),
            error_message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_carry_the_stable_type() {
        let d: Diagnostic = LambdaError::new(ErrorType::PartialFailure, "3 findings").into();
        assert_eq!(d.error_type, "PartialFailure");
        assert_eq!(d.error_message, "3 findings");
        let spellings: std::collections::BTreeSet<&str> =
            ErrorType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(spellings.len(), ErrorType::ALL.len());
        assert_eq!(
            ErrorType::from(ErrorKind::AccessDenied).as_str(),
            "AccessDenied"
        );
        assert_eq!(ErrorType::from(ErrorKind::Throttled).as_str(), "Throttled");
    }
}
