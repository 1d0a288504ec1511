//! The one Runtime API call `lambda_runtime` does not make for us: reporting a failed cold start
//! to `/runtime/init/error`, so the invocation that triggered the init fails with the reason
//! (every bad setting) instead of a bare "Runtime exited".

use std::time::Duration;

use lambda_runtime::Diagnostic;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::LambdaError;

/// Posts `error` to `http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error` and returns
/// the HTTP status. A plain HTTP/1.1 request: the Runtime API is a local, unencrypted endpoint.
pub async fn report_init_error(error: &LambdaError) -> std::io::Result<u16> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| std::io::Error::other("AWS_LAMBDA_RUNTIME_API is not set"))?;
    let body = serde_json::to_string(&Diagnostic::from(error.clone()))?;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: Runtime.InitError\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(&api).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        stream.read_to_end(&mut head).await?;
        let text = String::from_utf8_lossy(&head);
        text.split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| std::io::Error::other(format!("unexpected answer: {text:.80}")))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| std::io::Error::other("the Runtime API did not answer within 5 s"))?
}
