//! A small Lambda Runtime API (the part a custom runtime talks to) for running the real
//! `bootstrap` outside Lambda: `GET /2018-06-01/runtime/invocation/next` long-polls for the next
//! queued event, and the function's `…/{id}/response`, `…/{id}/error` and `…/init/error` posts
//! are reported back in order, each with the instant it arrived.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// What the function posted.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    /// `POST /runtime/invocation/{id}/response`.
    Response {
        /// Request id.
        id: String,
        /// The function's answer.
        body: Value,
    },
    /// `POST /runtime/invocation/{id}/error`.
    Error {
        /// Request id.
        id: String,
        /// `errorType` of the body.
        error_type: String,
        /// `errorMessage` of the body.
        error_message: String,
    },
    /// `POST /runtime/init/error`.
    InitError {
        /// `errorType` of the body.
        error_type: String,
        /// `errorMessage` of the body.
        error_message: String,
    },
}

struct Shared {
    events: Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    reports: mpsc::UnboundedSender<(Instant, Report)>,
    first_next: std::sync::Mutex<Option<Instant>>,
}

/// A running Runtime API on loopback.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::UnboundedSender<(String, Value)>,
    reports: mpsc::UnboundedReceiver<(Instant, Report)>,
    next_id: u64,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Binds 127.0.0.1:0 and serves.
    pub async fn start() -> RuntimeApi {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (reports_tx, reports_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            reports: reports_tx,
            first_next: std::sync::Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("runtime api serves");
        });
        RuntimeApi {
            addr,
            shared,
            events: events_tx,
            reports: reports_rx,
            next_id: 0,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for an event (the end of its init), if it has.
    pub fn first_next(&self) -> Option<Instant> {
        *self.shared.first_next.lock().expect("lock")
    }

    /// Queues an event and returns its request id.
    pub fn enqueue(&mut self, payload: Value) -> String {
        self.next_id += 1;
        let id = format!("req-{:04}", self.next_id);
        self.events
            .send((id.clone(), payload))
            .expect("runtime api alive");
        id
    }

    /// The next report, or `None` after `within`.
    pub async fn report(&mut self, within: Duration) -> Option<(Instant, Report)> {
        tokio::time::timeout(within, self.reports.recv())
            .await
            .ok()
            .flatten()
    }

    /// Queues an event and waits for its outcome.
    pub async fn invoke(&mut self, payload: Value, within: Duration) -> Report {
        let id = self.enqueue(payload);
        let (_, report) = self
            .report(within)
            .await
            .unwrap_or_else(|| panic!("no answer to {id} within {within:?}"));
        match &report {
            Report::Response { id: got, .. } | Report::Error { id: got, .. } => {
                assert_eq!(got, &id, "answers come in order")
            }
            Report::InitError { .. } => {}
        }
        report
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(s): State<Arc<Shared>>) -> Response {
    s.first_next
        .lock()
        .expect("lock")
        .get_or_insert_with(Instant::now);
    let Some((id, payload)) = s.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 900_000;
    let mut headers = HeaderMap::new();
    let mut put = |k: &'static str, v: String| {
        headers.insert(k, v.parse().expect("header value"));
    };
    put("content-type", "application/json".into());
    put("lambda-runtime-aws-request-id", id);
    put("lambda-runtime-deadline-ms", deadline.to_string());
    put(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:patchhub".into(),
    );
    put(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".into(),
    );
    (headers, payload.to_string()).into_response()
}

fn diagnostic(body: &Bytes) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (field("errorType"), field("errorMessage"))
}

/// Hands a report to the test waiting for it; the Runtime API answers 202 either way.
fn deliver(s: &Shared, report: Report) -> StatusCode {
    let _ = s.reports.send((Instant::now(), report));
    StatusCode::ACCEPTED
}

async fn response(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    deliver(&s, Report::Response { id, body })
}

async fn error(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let (error_type, error_message) = diagnostic(&body);
    let error = Report::Error {
        id,
        error_type,
        error_message,
    };
    deliver(&s, error)
}

async fn init_error(State(s): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let (error_type, error_message) = diagnostic(&body);
    let error = Report::InitError {
        error_type,
        error_message,
    };
    deliver(&s, error)
}
