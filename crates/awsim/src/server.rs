//! The HTTP front: one axum router that identifies the caller from SigV4, picks the service from
//! the credential scope, applies latency, quotas and faults, dispatches to the service module, and
//! frames the answer in that service's protocol. Also the [`Awsim`] handle tests and the demo use.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::request::Parts;
use axum::response::Response;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::faults::{CallFault, FaultSpec};
use crate::fleet::Fleet;
use crate::generate::GenerateSpec;
use crate::identity::parse_authorization;
use crate::protocol::{AwsError, Protocol, internal_error, throttling_error};
use crate::services::{self, Request};
use crate::stats::Snapshot;

pub use crate::sim::Sim;

/// Largest body read; Security Hub's own 6 MB limit is enforced by its module with AWS's error.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A running emulator: its address and a handle on its state.
#[derive(Debug)]
pub struct Awsim {
    sim: Arc<Sim>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Awsim {
    /// Binds `config.bind` (loopback port 0 by default) and serves in the background on the
    /// current tokio runtime.
    pub async fn start(config: Config) -> anyhow::Result<Self> {
        let bind = config.bind;
        if !bind.ip().is_loopback() {
            tracing::warn!(%bind, "awsim is listening beyond loopback: anyone who can reach it can read and write its data");
        }
        let sim = Arc::new(Sim::new(config));
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| anyhow::anyhow!("awsim cannot listen on {bind}: {e}"))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(sim.clone());
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!("awsim server stopped: {e}");
            }
        });
        Ok(Awsim {
            sim,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, for `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every S3 bucket and its owner.
    pub fn s3_buckets(
        &self,
    ) -> std::collections::BTreeMap<String, crate::services::s3::BucketOwner> {
        self.sim.s3().map(|s| s.buckets()).unwrap_or_default()
    }

    /// The shared state.
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// Loads a fleet, replacing all data.
    pub fn load_fleet(&self, fleet: Fleet) -> Result<(), crate::fleet::FleetError> {
        self.sim.load_fleet(fleet)
    }

    /// Generates a fleet from a spec and loads it; returns it too.
    pub fn generate(&self, spec: &GenerateSpec) -> Result<Fleet, crate::fleet::FleetError> {
        let fleet = crate::generate::generate(spec, self.sim.clock.now());
        self.sim.load_fleet(fleet.clone())?;
        Ok(fleet)
    }

    /// The fleet as it stands now.
    pub fn export_fleet(&self) -> Fleet {
        self.sim.world().export()
    }

    /// Counters.
    pub fn stats(&self) -> Snapshot {
        self.sim.stats.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.sim.stats.reset();
    }

    /// Moves simulated time forward.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.sim.clock.advance(by);
    }

    /// Replaces the fault rates.
    pub fn set_faults(&self, spec: FaultSpec) {
        self.sim.faults.set(spec);
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Awsim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The router: control endpoints under `/_awsim/`, everything else is an AWS call.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .fallback(dispatch)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(sim)
}

async fn dispatch(State(sim): State<Arc<Sim>>, req: axum::extract::Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return AwsError::new(
                413,
                "RequestEntityTooLargeException",
                "Request body is too large",
            )
            .into_response(Protocol::RestJson1, &sim.request_id());
        }
    };
    if parts.uri.path().starts_with("/_awsim/") {
        return crate::control::handle(&sim, &parts, &body);
    }
    let request_id = sim.request_id();
    match serve_aws(&sim, &parts, body, &request_id).await {
        Ok(resp) => resp,
        Err((protocol, e)) => e.into_response(protocol, &request_id),
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The protocol to frame an error in before the service is known.
fn guess_protocol(parts: &Parts) -> Protocol {
    if header(parts, "x-amz-target").is_some() {
        Protocol::AwsJson11
    } else if header(parts, "content-type").is_some_and(|c| c.contains("x-www-form-urlencoded")) {
        Protocol::Query
    } else {
        Protocol::RestJson1
    }
}

/// The operation named by an awsJson `X-Amz-Target` (`AmazonSSM.ListComplianceItems`).
fn target_operation(parts: &Parts, prefix: &str) -> Result<String, AwsError> {
    let target = header(parts, "x-amz-target").unwrap_or_default();
    target
        .strip_prefix(prefix)
        .and_then(|t| t.strip_prefix('.'))
        .filter(|op| !op.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::client(
                "UnknownOperationException",
                format!("Unknown X-Amz-Target `{target}`"),
            )
        })
}

async fn serve_aws(
    sim: &Arc<Sim>,
    parts: &Parts,
    body: Bytes,
    request_id: &str,
) -> Result<Response, (Protocol, AwsError)> {
    let fail = |p: Protocol| move |e: AwsError| (p, e);
    let auth = header(parts, "authorization").unwrap_or_default();
    let scope = parse_authorization(auth).map_err(fail(guess_protocol(parts)))?;
    let protocol = match scope.service.as_str() {
        "ssm" | "organizations" => Protocol::AwsJson11,
        "securityhub" | "account" => Protocol::RestJson1,
        "sts" => Protocol::Query,
        "s3" => Protocol::RestXml,
        other => {
            return Err((
                guess_protocol(parts),
                AwsError::client(
                    "UnknownServiceException",
                    format!("awsim does not emulate service `{other}`"),
                ),
            ));
        }
    };
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let operation = match scope.service.as_str() {
        "ssm" => target_operation(parts, "AmazonSSM"),
        "organizations" => target_operation(parts, "AWSOrganizationsV20161128"),
        "sts" => services::sts::operation(&body, &query),
        "s3" => Ok(services::s3::operation_for(&parts.method, &path, &query)),
        "account" => services::account::operation_for(&parts.method, &path).ok_or_else(|| {
            AwsError::new(
                404,
                "ResourceNotFoundException",
                format!("No Account Management API at {} {path}", parts.method),
            )
        }),
        _ => services::securityhub::serve::operation_for(&parts.method, &path).ok_or_else(|| {
            AwsError::new(
                404,
                "ResourceNotFoundException",
                format!("No Security Hub API at {} {path}", parts.method),
            )
        }),
    }
    .map_err(fail(protocol))?;

    if sim.config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(sim.config.latency_ms)).await;
    }
    let now = sim.clock.now();
    let caller = sim
        .world()
        .resolve(&scope, &sim.config, now)
        .map_err(fail(protocol))?;
    let (acct, region, svc) = (&caller.account, &caller.region, &caller.service);
    sim.stats.call(acct, region, svc, &operation);

    if let Some(rate) = sim.config.quotas.rate_for(svc, &operation)
        && !sim.quotas.try_acquire(rate, acct, region, &operation)
    {
        sim.stats.throttled(acct, region, svc, &operation);
        return Err((protocol, throttling_error(svc)));
    }
    match sim.faults.for_call(acct, region, &operation) {
        CallFault::None => {}
        CallFault::Throttle => {
            sim.stats.faulted(acct, region, svc, &operation);
            return Err((protocol, throttling_error(svc)));
        }
        CallFault::ServerError => {
            sim.stats.faulted(acct, region, svc, &operation);
            return Err((protocol, internal_error(svc)));
        }
        CallFault::Slow => {
            let ms = sim.faults.spec().slow_ms;
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    if svc == "s3" {
        // s3s reads the request itself; the world is not locked for it (S3 keeps its own state).
        return sim
            .s3()
            .map_err(fail(protocol))?
            .handle(&caller, parts, body)
            .await
            .map_err(fail(protocol));
    }
    let request = Request {
        method: parts.method.clone(),
        path,
        query,
        operation,
        body,
    };
    match svc.as_str() {
        "ssm" => services::ssm::serve::handle(sim, &caller, &request)
            .map(|v| crate::protocol::json_response(protocol, 200, &v, request_id)),
        "organizations" => services::organizations::handle(sim, &caller, &request)
            .map(|v| crate::protocol::json_response(protocol, 200, &v, request_id)),
        "sts" => services::sts::handle(sim, &caller, &request, request_id)
            .map(|xml| crate::protocol::xml_response(xml, request_id)),
        "account" => services::account::handle(sim, &caller, &request)
            .map(|v| crate::protocol::json_response(protocol, 200, &v, request_id)),
        _ => services::securityhub::serve::handle(sim, &caller, &request)
            .map(|v| crate::protocol::json_response(protocol, 200, &v, request_id)),
    }
    .map_err(fail(protocol))
}
