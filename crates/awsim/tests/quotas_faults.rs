//! Quotas and fault injection as the SDK experiences them: throttles it classifies and retries,
//! 500s, slow answers past a timeout, all counted in the stats.

mod common;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use awsim::Config;
use awsim::quota::QuotaConfig;

fn hub(sim: &awsim::Awsim, attempts: u32) -> aws_sdk_securityhub::Client {
    let cfg = common::default_sdk_config(sim, "us-east-1");
    let conf = aws_sdk_securityhub::config::Builder::from(&cfg)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .build();
    aws_sdk_securityhub::Client::from_conf(conf)
}

#[tokio::test]
async fn get_findings_is_throttled_past_its_burst_and_the_sdk_retries() {
    let sim = common::start_with(Config {
        quotas: QuotaConfig::aws(),
        ..Config::default()
    })
    .await;
    // EnableSecurityHub draws from the "other APIs" bucket (10/s, burst 30), not GetFindings'.
    hub(&sim, 1).enable_security_hub().send().await.unwrap();

    // GetFindings: burst 6. Without retries the 7th call in a row is refused with the real code.
    let no_retry = hub(&sim, 1);
    let mut codes = Vec::new();
    for _ in 0..7 {
        match no_retry.get_findings().send().await {
            Ok(_) => codes.push("ok".to_string()),
            Err(e) => codes.push(
                e.as_service_error()
                    .and_then(|e| e.meta().code())
                    .unwrap_or("?")
                    .to_string(),
            ),
        }
    }
    assert_eq!(&codes[..6], &["ok"; 6]);
    assert_eq!(codes[6], "TooManyRequestsException");
    assert!(sim.stats().total_throttled() >= 1);

    // With the SDK's standard retry, a burst of 10 calls all succeed: the SDK classified the
    // throttle and backed off until the bucket (3/s) refilled.
    let retrying = hub(&sim, 10);
    for _ in 0..10 {
        retrying
            .get_findings()
            .send()
            .await
            .expect("retried through throttles");
    }
    let throttled = sim
        .stats()
        .calls
        .iter()
        .filter(|r| r.operation == "GetFindings")
        .map(|r| r.counts.throttled)
        .sum::<u64>();
    assert!(
        throttled >= 2,
        "the retrying client met throttles ({throttled})"
    );
}

#[tokio::test]
async fn buckets_are_per_account_and_region() {
    let mut config = common::config_for_accounts(&["111111111111", "222222222222"]);
    config.quotas = QuotaConfig::aws();
    let sim = common::start_with(config).await;
    let client = |account: &str, region: &str| {
        let cfg = common::sdk_config(&sim, account, region);
        let conf = aws_sdk_securityhub::config::Builder::from(&cfg)
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build();
        aws_sdk_securityhub::Client::from_conf(conf)
    };
    for (a, r) in [
        ("111111111111", "us-east-1"),
        ("222222222222", "us-east-1"),
        ("111111111111", "eu-west-1"),
    ] {
        client(a, r).enable_security_hub().send().await.unwrap();
    }
    let a = client("111111111111", "us-east-1");
    let mut refused = 0;
    for _ in 0..8 {
        refused += usize::from(a.get_findings().send().await.is_err());
    }
    assert!(
        refused >= 2,
        "account A exhausted its burst of 6 ({refused} refused)"
    );
    // Same moment: account B, and account A in another Region, still have full buckets.
    for _ in 0..6 {
        client("222222222222", "us-east-1")
            .get_findings()
            .send()
            .await
            .expect("B has its own bucket");
    }
    for _ in 0..6 {
        client("111111111111", "eu-west-1")
            .get_findings()
            .send()
            .await
            .expect("eu-west-1 has its own bucket");
    }
}

#[tokio::test]
async fn injected_server_errors_and_throttles_are_reproducible_and_counted() {
    let sim = common::start().await;
    hub(&sim, 1).enable_security_hub().send().await.unwrap();
    sim.set_faults("error=1.0".parse().unwrap());
    let err = hub(&sim, 2).describe_hub().send().await.unwrap_err();
    let se = err.as_service_error().expect("a service error");
    assert_eq!(se.meta().code(), Some("InternalException"));
    let faulted: u64 = sim.stats().calls.iter().map(|r| r.counts.faulted).sum();
    assert_eq!(faulted, 2, "one fault per attempt, two attempts");

    sim.set_faults("throttle=1.0".parse().unwrap());
    let err = hub(&sim, 1).describe_hub().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("TooManyRequestsException")
    );

    // Same seed, same sequence: two emulators with throttle=0.5 refuse the same calls.
    let mut seqs = Vec::new();
    for _ in 0..2 {
        let s = common::start().await;
        hub(&s, 1).enable_security_hub().send().await.unwrap();
        s.set_faults("throttle=0.5".parse().unwrap());
        let c = hub(&s, 1);
        let mut seq = Vec::new();
        for _ in 0..20 {
            seq.push(c.describe_hub().send().await.is_ok());
        }
        seqs.push(seq);
    }
    assert_eq!(seqs[0], seqs[1]);
    assert!(seqs[0].iter().any(|ok| *ok) && seqs[0].iter().any(|ok| !*ok));
}

#[tokio::test]
async fn slow_answers_past_the_client_timeout_are_timeouts() {
    let sim = common::start().await;
    hub(&sim, 1).enable_security_hub().send().await.unwrap();
    sim.set_faults("slow=1.0,slow_ms=1500".parse().unwrap());
    let cfg = common::default_sdk_config(&sim, "us-east-1");
    let conf = aws_sdk_securityhub::config::Builder::from(&cfg)
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(300))
                .build(),
        )
        .build();
    let client = aws_sdk_securityhub::Client::from_conf(conf);
    let started = std::time::Instant::now();
    let err = client.describe_hub().send().await.unwrap_err();
    assert!(
        matches!(err, aws_sdk_securityhub::error::SdkError::TimeoutError(_)),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "the client gave up at its timeout"
    );
}

#[tokio::test]
async fn control_plane_over_http() {
    let sim = common::start().await;
    let url = sim.url();
    // Plain HTTP/1.1 over a TcpStream: the control plane needs no SDK.
    async fn call(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = url.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let status = out[9..12].parse().unwrap();
        let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        (status, body)
    }
    assert_eq!(call(&url, "GET", "/_awsim/health", "").await.0, 200);
    let (st, body) = call(
        &url,
        "POST",
        "/_awsim/generate",
        r#"{"spec":"accounts=1,regions=1,instances=5,patches=5"}"#,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("\"instances\":5"), "{body}");
    let (st, _) = call(
        &url,
        "POST",
        "/_awsim/clock/advance",
        r#"{"seconds":86400}"#,
    )
    .await;
    assert_eq!(st, 200);
    let (st, body) = call(&url, "POST", "/_awsim/faults", r#"{"spec":"bogus=1"}"#).await;
    assert_eq!(st, 400, "{body}");
    assert!(body.contains("unknown fault"));
    let (st, body) = call(&url, "GET", "/_awsim/stats", "").await;
    assert_eq!(st, 200);
    assert!(body.contains("ingestion_events"));
    assert_eq!(call(&url, "GET", "/_awsim/nope", "").await.0, 404);
}
