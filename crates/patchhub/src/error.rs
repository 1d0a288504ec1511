//! The CLI's one error type: a message and the exit code it deserves. Exit codes: 0 all done,
//! 1 ran but some findings or some account/Region failed (the rest was done; running again
//! converges), 2 usage, configuration or credential error (something must be fixed first).

use patchhub_aws::ApiError;

/// A failure with the exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    /// 1 partial, 2 usage/config/credentials.
    pub code: u8,
    /// One line (or a few) saying what and how to fix it.
    pub message: String,
}

impl Failure {
    /// Exit 2: the input or the environment is wrong.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }

    /// Exit 1: the run went through but not everything was written.
    pub fn partial(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

/// An AWS error that stopped a command before it could do its work: exit 1 when running again
/// may pass as it is (throttling, a service error), exit 2 when something must be fixed first
/// (credentials, permissions, input, a disabled hub or Region).
impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        if e.kind.passes_on_rerun() {
            Failure::partial(e.to_string())
        } else {
            Failure::usage(e.to_string())
        }
    }
}

/// The end of a command that read accounts and Regions and wrote what it could: each target it
/// could not read on stderr, and exit 1 naming how many are missing from `what`.
pub fn incomplete(gaps: &[String], what: &str) -> Result<(), Failure> {
    if gaps.is_empty() {
        return Ok(());
    }
    for g in gaps {
        eprintln!("patchhub: {g}");
    }
    Err(Failure::partial(format!(
        "incomplete: {} account(s) or account-Region target(s) could not be read and are missing from {what}",
        gaps.len()
    )))
}
