//! Quotas and fault injection as the SDK experiences them: throttles it classifies and retries,
//! 500s, slow answers past a timeout, all counted in the stats.

mod common;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_securityhub::Client;
use awsim::quota::QuotaConfig;
use awsim::{Awsim, Config};
use common::{DEFAULT_ACCOUNT, EAST, WEST, outcome};

/// A Security Hub client of `account` in `region` with its own retries and timeouts.
async fn hub_as(
    sim: &Awsim,
    account: &str,
    region: &str,
    retry: RetryConfig,
    timeout: Option<TimeoutConfig>,
) -> Client {
    let sdk = common::sdk(sim, account, region).await;
    let mut conf = aws_sdk_securityhub::config::Builder::from(&sdk).retry_config(retry);
    if timeout.is_some() {
        conf.set_timeout_config(timeout);
    }
    Client::from_conf(conf.build())
}

/// The default account's client in us-east-1, making up to `attempts` attempts.
async fn hub(sim: &Awsim, attempts: u32) -> Client {
    let backoff = Duration::from_millis(50);
    let retry = RetryConfig::standard().with_max_attempts(attempts);
    hub_as(
        sim,
        DEFAULT_ACCOUNT,
        EAST,
        retry.with_initial_backoff(backoff),
        None,
    )
    .await
}

/// awsim with Security Hub enabled for the default account in us-east-1.
async fn with_hub() -> Awsim {
    let sim = common::start_empty().await;
    let c = hub(&sim, 1).await;
    c.enable_security_hub().send().await.unwrap();
    sim
}

/// awsim enforcing AWS's published quotas, acting for `accounts`.
async fn with_quotas(accounts: &[&str]) -> Awsim {
    let config = Config {
        quotas: QuotaConfig::aws(),
        ..Config::default()
    };
    common::start_with_keys(accounts, config).await
}

#[tokio::test]
async fn get_findings_is_throttled_past_its_burst_and_the_sdk_retries() {
    let sim = with_quotas(&[]).await;
    // EnableSecurityHub draws from the "other APIs" bucket (10/s, burst 30), not GetFindings'.
    hub(&sim, 1)
        .await
        .enable_security_hub()
        .send()
        .await
        .unwrap();

    // GetFindings: burst 6. Without retries the 7th call in a row is refused with the real code.
    seventh_get_findings_throttled(&hub(&sim, 1).await).await;
    assert!(sim.stats().total_throttled() >= 1);

    // With the SDK's standard retry, a burst of 10 calls all succeed: the SDK classified the
    // throttle and backed off until the bucket (3/s) refilled.
    let retrying = hub(&sim, 10).await;
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

/// The `quotas_after_seeding` leniency: no quota until enforced, then the published ones.
#[tokio::test]
async fn quotas_after_seeding_wait_until_enforced() {
    let config = Config {
        quotas: QuotaConfig::aws(),
        leniency: awsim::config::Leniency {
            quotas_after_seeding: true,
            ..Default::default()
        },
        ..Config::default()
    };
    let sim = common::start_with_keys(&[], config).await;
    let once = hub(&sim, 1).await;
    once.enable_security_hub().send().await.unwrap();
    for _ in 0..20 {
        once.get_findings()
            .send()
            .await
            .expect("not throttled while seeding");
    }
    sim.sim().quotas.enforce();
    seventh_get_findings_throttled(&once).await;
}

/// Seven `GetFindings` in a row from a full bucket (burst 6), without retries: the seventh is
/// refused with the real code.
async fn seventh_get_findings_throttled(no_retry: &Client) {
    let mut codes = Vec::new();
    for _ in 0..7 {
        let answer = outcome(no_retry.get_findings().send().await);
        codes.push(answer.map_or_else(|code| code, |_| "ok".to_string()));
    }
    assert_eq!(&codes[..6], &["ok"; 6]);
    assert_eq!(codes[6], "TooManyRequestsException");
}

#[tokio::test]
async fn buckets_are_per_account_and_region() {
    let (a, b) = ("111111111111", "222222222222");
    let sim = with_quotas(&[a, b]).await;
    let once = || RetryConfig::standard().with_max_attempts(1);
    for (account, region) in [(a, EAST), (b, EAST), (a, WEST)] {
        let c = hub_as(&sim, account, region, once(), None).await;
        c.enable_security_hub().send().await.unwrap();
    }
    let a_east = hub_as(&sim, a, EAST, once(), None).await;
    let mut refused = 0;
    for _ in 0..8 {
        refused += usize::from(a_east.get_findings().send().await.is_err());
    }
    assert!(
        refused >= 2,
        "account A exhausted its burst of 6 ({refused} refused)"
    );
    // Same moment: account B, and account A in another Region, still have full buckets.
    for (account, region, why) in [
        (b, EAST, "B has its own bucket"),
        (a, WEST, "eu-west-1 has its own bucket"),
    ] {
        let c = hub_as(&sim, account, region, once(), None).await;
        for _ in 0..6 {
            c.get_findings().send().await.expect(why);
        }
    }
}

#[tokio::test]
async fn injected_server_errors_and_throttles_are_reproducible_and_counted() {
    let sim = with_hub().await;
    sim.set_faults("error=1.0".parse().unwrap());
    let err = hub(&sim, 2).await.describe_hub().send().await.unwrap_err();
    let se = err.as_service_error().expect("a service error");
    assert_eq!(se.meta().code(), Some("InternalException"));
    let faulted: u64 = sim.stats().calls.iter().map(|r| r.counts.faulted).sum();
    assert_eq!(faulted, 2, "one fault per attempt, two attempts");

    sim.set_faults("throttle=1.0".parse().unwrap());
    let throttled = hub(&sim, 1).await.describe_hub().send().await;
    assert_eq!(common::refused(throttled), "TooManyRequestsException");

    // Same seed, same sequence: two emulators with throttle=0.5 refuse the same calls.
    let mut seqs = Vec::new();
    for _ in 0..2 {
        let s = with_hub().await;
        s.set_faults("throttle=0.5".parse().unwrap());
        let c = hub(&s, 1).await;
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
    let sim = with_hub().await;
    sim.set_faults("slow=1.0,slow_ms=1500".parse().unwrap());
    let retry = RetryConfig::standard().with_max_attempts(1);
    let attempt = Duration::from_millis(300);
    let timeout = TimeoutConfig::builder().operation_attempt_timeout(attempt);
    let client = hub_as(&sim, DEFAULT_ACCOUNT, EAST, retry, Some(timeout.build())).await;
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
    let sim = common::start_empty().await;
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
