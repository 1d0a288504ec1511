//! Wire protocols: how each service frames success and error responses, as in the Smithy models
//! (awsJson1_1 for SSM and Organizations, restJson1 for Security Hub, awsQuery for STS, restXml
//! for S3's errors before its request reaches s3s).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

/// The protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `X-Amz-Target` + JSON body (SSM, Organizations).
    AwsJson11,
    /// HTTP method + path + JSON (Security Hub).
    RestJson1,
    /// Form-encoded `Action=` + XML response (STS).
    Query,
    /// HTTP method + path + XML (S3; its successes are framed by s3s).
    RestXml,
}

/// An AWS error: HTTP status, the error code the SDK matches on, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// HTTP status.
    pub status: u16,
    /// Error code (the shape name, e.g. `InvalidInputException`).
    pub code: String,
    /// Human message.
    pub message: String,
}

impl AwsError {
    /// An error with an explicit status.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// A 400 client error.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// Renders the error in a protocol's framing.
    pub fn into_response(self, protocol: Protocol, request_id: &str) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let (content_type, body) = match protocol {
            Protocol::AwsJson11 => (
                "application/x-amz-json-1.1",
                serde_json::json!({"__type": self.code, "message": self.message}).to_string(),
            ),
            Protocol::RestJson1 => (
                "application/json",
                serde_json::json!({"Code": self.code, "Message": self.message}).to_string(),
            ),
            Protocol::Query => {
                let kind = if self.status >= 500 {
                    "Receiver"
                } else {
                    "Sender"
                };
                (
                    "text/xml",
                    format!(
                        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                         <Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error>\
                         <RequestId>{request_id}</RequestId></ErrorResponse>",
                        xml_escape(&self.code),
                        xml_escape(&self.message)
                    ),
                )
            }
            // S3's error document (Amazon S3 API Reference, "Error responses").
            Protocol::RestXml => (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code>\
                     <Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
                    xml_escape(&self.code),
                    xml_escape(&self.message)
                ),
            ),
        };
        let id_header = if protocol == Protocol::RestXml {
            "x-amz-request-id"
        } else {
            "x-amzn-RequestId"
        };
        let mut resp = Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .header(id_header, request_id)
            .body(Body::from(body))
            .expect("static response parts are valid");
        if !matches!(protocol, Protocol::Query | Protocol::RestXml)
            && let Ok(v) = HeaderValue::from_str(&self.code)
        {
            resp.headers_mut().insert("x-amzn-ErrorType", v);
        }
        resp
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}

/// A successful JSON response in a protocol's content type.
pub fn json_response(
    protocol: Protocol,
    status: u16,
    value: &serde_json::Value,
    request_id: &str,
) -> Response {
    let content_type = match protocol {
        Protocol::AwsJson11 => "application/x-amz-json-1.1",
        _ => "application/json",
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, content_type)
        .header("x-amzn-RequestId", request_id)
        .body(Body::from(value.to_string()))
        .expect("static response parts are valid")
}

/// A successful awsQuery (XML) response.
pub fn xml_response(body: String, request_id: &str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/xml")
        .header("x-amzn-RequestId", request_id)
        .body(Body::from(body))
        .expect("static response parts are valid")
}

/// Escapes text for an XML element.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The throttling error each service returns, so the SDK classifies it as a throttle.
pub fn throttling_error(service: &str) -> AwsError {
    match service {
        "securityhub" | "account" => {
            AwsError::new(429, "TooManyRequestsException", "Rate exceeded")
        }
        "organizations" => AwsError::client("TooManyRequestsException", "Rate exceeded"),
        "sts" => AwsError::client("Throttling", "Rate exceeded"),
        "s3" => AwsError::new(503, "SlowDown", "Please reduce your request rate."),
        _ => AwsError::client("ThrottlingException", "Rate exceeded"),
    }
}

/// The internal error each service returns with HTTP 500.
pub fn internal_error(service: &str) -> AwsError {
    match service {
        "securityhub" => AwsError::new(
            500,
            "InternalException",
            "Internal service error (injected)",
        ),
        "organizations" => {
            AwsError::new(500, "ServiceException", "Internal service error (injected)")
        }
        "sts" => AwsError::new(500, "InternalFailure", "Internal service error (injected)"),
        "s3" => AwsError::new(
            500,
            "InternalError",
            "We encountered an internal error. Please try again. (injected)",
        ),
        "account" => AwsError::new(
            500,
            "InternalServerException",
            "Internal service error (injected)",
        ),
        _ => AwsError::new(
            500,
            "InternalServerError",
            "Internal service error (injected)",
        ),
    }
}
