//! The control plane under `/_awsim/`: load or generate a fleet, export it, reset, advance the
//! clock, set faults, and read or zero the counters. The same operations exist on the library
//! handle ([`crate::Awsim`]) for in-process use.
//!
//! | method and path | body | effect |
//! |---|---|---|
//! | `GET /_awsim/health` | | `{"ok": true}` |
//! | `POST /_awsim/fleet` | fleet JSON | replace all data with this fleet |
//! | `GET /_awsim/fleet` | | the fleet as it stands (true patch states) |
//! | `POST /_awsim/generate` | `{"spec": "accounts=3,regions=2,instances=500,patches=40"}` | generate and load |
//! | `POST /_awsim/reset` | | empty world, counters, quota buckets, S3, clock |
//! | `POST /_awsim/clock/advance` | `{"seconds": 86400}` | move simulated time forward |
//! | `GET /_awsim/clock` | | `{"now": "..."}` |
//! | `POST /_awsim/read-lag` | `{"ms": 3000}` | imports stay invisible to `GetFindings` this long |
//! | `POST /_awsim/faults` | `{"spec": "throttle=0.2,error=0.05"}` | replace fault rates |
//! | `GET /_awsim/stats` | | calls, throttles, faults, ingestion events |
//! | `POST /_awsim/stats/reset` | | zero counters |

use axum::body::Bytes;
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{Value, json};

use crate::fleet::Fleet;
use crate::protocol::{AwsError, Protocol, json_response};
use crate::sim::Sim;

/// Serves one control request.
pub fn handle(sim: &Sim, parts: &Parts, body: &Bytes) -> Response {
    match route(sim, &parts.method, parts.uri.path(), body) {
        Ok(v) => json_response(Protocol::RestJson1, 200, &v, "awsim-control"),
        Err(e) => e.into_response(Protocol::RestJson1, "awsim-control"),
    }
}

fn bad(msg: impl Into<String>) -> AwsError {
    AwsError::client("InvalidControlRequest", msg)
}

fn json_body(body: &Bytes) -> Result<Value, AwsError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("body is not JSON: {e}")))
}

fn spec_string(body: &Bytes) -> Result<String, AwsError> {
    json_body(body)?
        .get("spec")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad("body must be {\"spec\": \"...\"}"))
}

fn route(sim: &Sim, method: &Method, path: &str, body: &Bytes) -> Result<Value, AwsError> {
    match (method.as_str(), path) {
        ("GET", "/_awsim/health") => Ok(json!({"ok": true})),
        ("POST", "/_awsim/fleet") => {
            let text = std::str::from_utf8(body).map_err(|_| bad("fleet must be UTF-8 JSON"))?;
            let fleet = Fleet::from_json(text).map_err(|e| bad(e.to_string()))?;
            sim.load_fleet(fleet).map_err(|e| bad(e.to_string()))?;
            Ok(json!({"loaded": true}))
        }
        ("GET", "/_awsim/fleet") => {
            serde_json::to_value(sim.world().export()).map_err(|e| bad(e.to_string()))
        }
        ("POST", "/_awsim/generate") => {
            let spec: crate::generate::GenerateSpec = spec_string(body)?.parse().map_err(bad)?;
            let fleet = crate::generate::generate(&spec, sim.clock.now());
            let instances: usize = fleet.accounts.iter().map(|a| a.instances.len()).sum();
            sim.load_fleet(fleet).map_err(|e| bad(e.to_string()))?;
            Ok(json!({"loaded": true, "instances": instances}))
        }
        ("POST", "/_awsim/reset") => {
            sim.reset();
            Ok(json!({"reset": true}))
        }
        ("POST", "/_awsim/clock/advance") => {
            let secs = json_body(body)?
                .get("seconds")
                .and_then(Value::as_i64)
                .filter(|s| *s >= 0)
                .ok_or_else(|| bad("body must be {\"seconds\": N} with N >= 0"))?;
            sim.clock.advance(chrono::Duration::seconds(secs));
            Ok(json!({"now": sim.clock.now()}))
        }
        ("GET", "/_awsim/clock") => Ok(json!({"now": sim.clock.now()})),
        ("POST", "/_awsim/read-lag") => {
            let ms = json_body(body)?
                .get("ms")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("body must be {\"ms\": N} with N >= 0"))?;
            sim.set_read_lag_ms(ms);
            Ok(json!({"read_lag_ms": ms}))
        }
        ("POST", "/_awsim/faults") => {
            let spec = spec_string(body)?.parse().map_err(bad)?;
            sim.faults.set(spec);
            Ok(json!({"faults": true}))
        }
        ("GET", "/_awsim/stats") => {
            let snap = sim.stats.snapshot();
            let mut v = serde_json::to_value(&snap).map_err(|e| bad(e.to_string()))?;
            v["total_calls"] = json!(snap.total_calls());
            v["total_throttled"] = json!(snap.total_throttled());
            v["ingestion_events"] = json!(snap.ingestion_events());
            Ok(v)
        }
        ("POST", "/_awsim/stats/reset") => {
            sim.stats.reset();
            Ok(json!({"reset": true}))
        }
        ("POST", "/_awsim/quotas/enforce") => {
            sim.quotas.enforce();
            Ok(json!({"enforced": true}))
        }
        _ => Err(AwsError::new(
            404,
            "NotFound",
            format!("no control endpoint {method} {path}"),
        )),
    }
}
