//! Errors that say which account, Region and API failed, what AWS answered, and what to do.

use aws_sdk_securityhub::error::{ProvideErrorMetadata, SdkError};

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

/// One failed AWS call, with where it happened. It displays as one line: where (account,
/// Region, API), what (AWS's error code and message, never a `Debug` dump or a response body),
/// and the fix when one is known.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.line())]
pub struct ApiError {
    /// Account id (`-` or empty when not known yet).
    pub account: String,
    /// Region (`-` or empty when not known yet).
    pub region: String,
    /// Operation (`GetFindings`, `sts:AssumeRole`, ...).
    pub api: String,
    /// AWS error code, when AWS answered.
    pub code: Option<String>,
    /// AWS message or transport error.
    pub message: String,
    /// Class.
    pub kind: ErrorKind,
    /// What was being done, when "`api` failed" says it less well (`cannot assume PatchhubRole`).
    pub action: Option<String>,
    /// The fix, when it is more precise than the kind's general one.
    pub fix: Option<String>,
}

/// The general fix of a kind, when there is one.
pub fn hint(kind: ErrorKind) -> Option<&'static str> {
    Some(match kind {
        ErrorKind::Throttled => {
            "throttled after retries: lower --concurrency or run again; nothing is lost, the next run converges"
        }
        ErrorKind::AccessDenied => {
            "give the role the permissions docs/DEPLOY.md lists; `patchhub doctor` checks them"
        }
        ErrorKind::Credentials => CREDENTIALS_FIX,
        ErrorKind::HubNotEnabled => {
            "enable Security Hub there: `patchhub hub enable`, or aws securityhub enable-security-hub"
        }
        ErrorKind::RegionDisabled => {
            "the Region is not enabled for this account: enable it (aws account enable-region) or leave it out of --regions"
        }
        ErrorKind::InvalidInput | ErrorKind::Service => return None,
    })
}

/// The fix of an error code whose fix is more precise than its kind's.
fn code_fix(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "ExpiredToken" | "ExpiredTokenException" => {
            Some("the credentials have expired: get fresh ones (e.g. aws sso login) and run again")
        }
        "InvalidSignatureException" | "SignatureDoesNotMatch" => Some(
            "the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY or the profile",
        ),
        _ => None,
    }
}

/// What to set when no credentials are found.
pub const CREDENTIALS_FIX: &str = "set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role provides them";

/// What to set when no Region is configured.
pub const REGION_FIX: &str = "pass --region, set AWS_REGION, or set `region` in the profile";

/// A name that is not known yet (`-`, empty) is left out of the line.
fn known(s: &str) -> Option<&str> {
    (!s.is_empty() && s != "-").then_some(s)
}

impl ApiError {
    /// The one-line form (what `Display` prints).
    fn line(&self) -> String {
        let mut out = match (known(&self.account), known(&self.region)) {
            (Some(a), Some(r)) => format!("account {a} in {r}: "),
            (Some(a), None) => format!("account {a}: "),
            (None, Some(r)) => format!("in {r}: "),
            (None, None) => String::new(),
        };
        match (&self.action, known(&self.api)) {
            (Some(action), _) => out.push_str(&format!("{action}: ")),
            (None, Some(api)) => out.push_str(&format!("{api} failed: ")),
            (None, None) => {}
        }
        out.push_str(&self.what());
        if let Some(fix) = self.fix.as_deref().or(hint(self.kind)) {
            out.push_str(&format!(" ({fix})"));
        }
        one_line(&out)
    }

    /// AWS's code and message (`AccessDeniedException: User ... is not authorized ...`).
    pub fn what(&self) -> String {
        match self.code.as_deref() {
            Some(c) if self.message.is_empty() || self.message == c => c.to_string(),
            Some(c) if self.message.starts_with(c) => self.message.clone(),
            Some(c) => format!("{c}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// Classifies an SDK error.
    pub fn from_sdk<E, R>(account: &str, region: &str, api: &str, err: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let (code, message, cause) = match err {
            SdkError::ServiceError(se) if se.err().code().is_some() => (
                se.err().code().map(str::to_string),
                se.err().message().unwrap_or_default().to_string(),
                None,
            ),
            other => {
                let c = plain_cause(other);
                (c.code, c.message, c.kind)
            }
        };
        let kind = cause.unwrap_or_else(|| classify(code.as_deref(), &message));
        let fix = code_fix(code.as_deref()).map(str::to_string);
        ApiError {
            account: account.into(),
            region: region.into(),
            api: api.into(),
            code,
            message,
            kind,
            action: None,
            fix,
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
            action: None,
            fix: None,
        }
    }

    /// The same error with a precise fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// An error chain reduced to what a user can act on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cause {
    /// AWS's error code, when one is in the chain.
    pub code: Option<String>,
    /// AWS's message, or the chain's own texts joined.
    pub message: String,
    /// The kind, when the chain alone tells it (no credentials at all).
    pub kind: Option<ErrorKind>,
}

impl Cause {
    /// Code and message together.
    pub fn text(&self) -> String {
        match (&self.code, self.message.is_empty()) {
            (Some(c), true) => c.clone(),
            (Some(c), false) => format!("{c}: {}", self.message),
            (None, _) => self.message.clone(),
        }
    }
}

/// The cause of an error as one plain line. The SDK's own renderings are not used:
/// `DisplayErrorContext` appends the error's `Debug` form (with the raw response, body and all),
/// and `ErrorMetadata`'s `Display` is a struct dump (aws-smithy-types `error/display.rs`,
/// `error/metadata.rs`). So the chain is walked: an AWS error found in it gives its code and
/// message (`ProvideErrorMetadata`), missing credentials say so, and every other link gives its
/// `Display` text, stopping at the first that looks like a dump.
pub(crate) fn plain_cause(err: &(dyn std::error::Error + 'static)) -> Cause {
    use aws_credential_types::provider::error::CredentialsError;
    use aws_smithy_types::error::ErrorMetadata;
    let mut parts: Vec<String> = Vec::new();
    let mut link: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = link {
        let meta: Option<&dyn ProvideErrorMetadata> = if let Some(m) =
            e.downcast_ref::<ErrorMetadata>()
        {
            Some(m)
        } else if let Some(m) =
            e.downcast_ref::<aws_sdk_sts::operation::assume_role::AssumeRoleError>()
        {
            Some(m)
        } else if let Some(m) =
            e.downcast_ref::<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError>()
        {
            Some(m)
        } else {
            None
        };
        if let Some(m) = meta
            && m.code().is_some()
        {
            let code = m.code().map(str::to_string);
            let message = m.message().unwrap_or_default().to_string();
            let kind = classify(code.as_deref(), &message);
            return Cause {
                code,
                message,
                kind: Some(kind),
            };
        }
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            // The links above only say which call could not be signed. A provider that asked
            // AWS (AssumeRole) passes AWS's answer on as it is.
            let inner = std::error::Error::source(c).map(plain_cause);
            if let Some(answer) = inner.as_ref().filter(|i| i.code.is_some()) {
                return answer.clone();
            }
            let said = match (c, inner) {
                (CredentialsError::CredentialsNotLoaded(_), _) | (_, None) => String::new(),
                (_, Some(inner)) => format!(" ({})", inner.text()),
            };
            return Cause {
                code: None,
                message: format!("no usable AWS credentials{said}"),
                kind: Some(ErrorKind::Credentials),
            };
        }
        let text = one_line(&e.to_string());
        if text.contains('{') || text.contains('<') {
            break;
        }
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        link = e.source();
    }
    let message = parts.join(": ");
    let kind = message
        .to_lowercase()
        .contains("credential")
        .then_some(ErrorKind::Credentials);
    Cause {
        code: None,
        message,
        kind,
    }
}

/// `s` on one line: line breaks and runs of spaces become one space.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
            | "LimitExceededException"
            | "SlowDown",
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
        Some(
            "UnrecognizedClientException" | "InvalidClientTokenId" | "RegionDisabledException",
        ) => ErrorKind::RegionDisabled,
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

    #[test]
    fn one_line_names_only_what_is_known() {
        let no_region = ApiError::other("", "", "", ErrorKind::InvalidInput, "no AWS Region")
            .with_fix(REGION_FIX);
        assert_eq!(
            no_region.to_string(),
            format!("no AWS Region ({REGION_FIX})")
        );
        let mut denied = ApiError::other(
            "840400000000",
            "",
            "sts:AssumeRole",
            ErrorKind::AccessDenied,
            "",
        );
        denied.code = Some("AccessDenied".into());
        denied.action = Some("cannot assume PatchhubRole".into());
        let s = denied.to_string();
        assert!(
            s.starts_with("account 840400000000: cannot assume PatchhubRole: AccessDenied ("),
            "{s}"
        );
        let multi = ApiError::other("-", "eu-west-1", "X", ErrorKind::Service, "a\n  b");
        assert_eq!(multi.to_string(), "in eu-west-1: X failed: a b");
    }
}
