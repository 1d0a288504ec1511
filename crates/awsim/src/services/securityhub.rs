//! Security Hub (restJson1). (Being built.)

use axum::http::Method;
use serde_json::Value;

use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::server::Sim;
use crate::services::Request;

/// One account's hub in one Region.
#[derive(Debug, Default)]
pub struct Hub {}

/// The operation a method and path name.
pub fn operation_for(method: &Method, path: &str) -> Option<String> {
    let _ = (method, path);
    None
}

/// Serves one Security Hub call.
pub fn handle(_sim: &Sim, _caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    Err(AwsError::client(
        "UnknownOperationException",
        format!("Unknown operation {}", req.operation),
    ))
}
