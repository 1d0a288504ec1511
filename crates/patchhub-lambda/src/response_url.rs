//! One HTTP `PUT` of a document to a pre-signed URL: how a custom resource answers CloudFormation
//! (the request's `ResponseURL`, an HTTPS S3 URL). A plain HTTP/1.1 exchange over rustls with
//! the system's root certificates, as the SDK's own client uses; the signature is in the query
//! string, so the URL is sent exactly as received. Plain `http` is accepted only for loopback
//! hosts (the tests' stand-in for S3).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Attempts per `put` (connection errors and 5xx answers are retried).
const ATTEMPTS: u32 = 3;

/// A parsed `http(s)://host[:port]/path?query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `http` or `https`.
    pub tls: bool,
    /// Host name or address, without brackets.
    pub host: String,
    /// Port (443/80 unless given).
    pub port: u16,
    /// `Host` header value (the authority as given).
    pub authority: String,
    /// Path and query, exactly as in the URL.
    pub path: String,
}

/// Splits a URL into what the request needs, refusing what this client must not send to.
pub fn parse(url: &str) -> Result<Target, String> {
    let shown = || patchhub_aws::targets::shown(url);
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{}` is not an http(s) URL", shown()))?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(format!("`{}`: only https URLs are answered", shown())),
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("`{}` has no plain host", shown()));
    }
    let path = match tail.split('#').next().unwrap_or_default() {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("`{}`: the path holds blanks or controls", shown()));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("`{}`: unclosed IPv6 address", shown()))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("`{}`: bad port", shown()))?,
        None if tls => 443,
        None => 80,
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !tls && !loopback {
        return Err(format!(
            "`{}`: refusing to send over plain http to a host that is not loopback",
            shown()
        ));
    }
    Ok(Target {
        tls,
        host,
        port,
        authority: authority.to_string(),
        path,
    })
}

/// `PUT`s `body` to `url` and returns the HTTP status of the answer. Connection failures and
/// 5xx answers are retried (three attempts in all), each attempt bounded by `timeout`.
pub async fn put(url: &str, body: &str, timeout: Duration) -> Result<u16, String> {
    let target = parse(url)?;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match tokio::time::timeout(timeout, once(&target, body)).await {
            Ok(Ok(status)) if status < 500 => return Ok(status),
            Ok(Ok(status)) => last = format!("HTTP {status}"),
            Ok(Err(e)) => last = e,
            Err(_) => last = format!("no answer within {} s", timeout.as_secs()),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
        }
    }
    Err(format!(
        "PUT to {}:{} failed after {ATTEMPTS} attempts: {last}",
        target.host, target.port
    ))
}

async fn once(t: &Target, body: &str) -> Result<u16, String> {
    let tcp = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| format!("cannot connect to {}:{}: {e}", t.host, t.port))?;
    // No Content-Type: the pre-signed URL was signed for none (CloudFormation's own helper sends
    // an empty one).
    let request = format!(
        "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        t.path,
        t.authority,
        body.len()
    );
    if t.tls {
        let server = rustls::pki_types::ServerName::try_from(t.host.clone())
            .map_err(|e| format!("`{}` is not a valid TLS server name: {e}", t.host))?;
        let connector = tokio_rustls::TlsConnector::from(tls_config()?);
        let stream = connector
            .connect(server, tcp)
            .await
            .map_err(|e| format!("TLS with {} failed: {e}", t.host))?;
        exchange(stream, &request).await
    } else {
        exchange(tcp, &request).await
    }
}

/// Writes the request and reads the status line of the answer.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Result<u16, String> {
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // The status line is all that matters; stop at its end (a TLS peer may close without
    // close_notify, which read_to_end would report as an error).
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 8192 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|s| s.parse::<u16>().ok()),
    ) {
        (Some(v), Some(status)) if v.starts_with("HTTP/") => Ok(status),
        _ => Err(format!(
            "unexpected answer: `{}`",
            patchhub_aws::targets::shown(line)
        )),
    }
}

/// rustls with the system's root certificates and the aws-lc-rs provider (the SDK's own).
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err("no root certificate found on this system".to_string());
            }
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("TLS setup: {e}"))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_as_sent() {
        let t = parse("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=ab%2Fc&X-Amz-Expires=7200").unwrap();
        assert!(t.tls);
        assert_eq!(t.port, 443);
        assert_eq!(
            t.host,
            "cloudformation-custom-resource-response-useast1.s3.amazonaws.com"
        );
        assert_eq!(
            t.path,
            "/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=ab%2Fc&X-Amz-Expires=7200"
        );
        let t = parse("http://127.0.0.1:8080?a=b").unwrap();
        assert_eq!((t.tls, t.port, t.path.as_str()), (false, 8080, "/?a=b"));
        let t = parse("http://[::1]:9/p").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9));
    }

    #[test]
    fn refuses_what_it_must_not_send_to() {
        for bad in [
            "http://example.com/x",
            "ftp://127.0.0.1/x",
            "https://user@host/x",
            "no-scheme",
            "https:///x",
            "https://host:99999/x",
            "https://host/a b",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
