//! One module per emulated AWS service (S3 is served by the s3s crate, see [`s3`]). Each exposes `handle(sim, caller, request)` returning the
//! JSON (or XML) body or an [`AwsError`](crate::protocol::AwsError): the single-file services
//! directly, SSM and Security Hub from their `serve` module, since their own module holds the
//! per-account state the world is made of and must not depend on the simulator above it.

pub mod account;
pub mod organizations;
pub mod s3;
pub mod securityhub;
pub mod ssm;
pub mod sts;

use axum::body::Bytes;
use axum::http::Method;

/// A request as the service modules see it (after routing and identity).
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Path (no query).
    pub path: String,
    /// Raw query string (no `?`), empty if none.
    pub query: String,
    /// Operation name as in the service model (`ListComplianceItems`, `GetFindings`, ...).
    pub operation: String,
    /// Body bytes.
    pub body: Bytes,
}

impl Request {
    /// The body as JSON (an empty body is `{}`), or the `SerializationException` AWS returns.
    pub fn json(&self) -> Result<serde_json::Value, crate::protocol::AwsError> {
        if self.body.is_empty() {
            return Ok(serde_json::json!({}));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            crate::protocol::AwsError::client(
                "SerializationException",
                format!("Request body is not valid JSON: {e}"),
            )
        })
    }
}
