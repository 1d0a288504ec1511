//! What an invocation asks for. Every way AWS invokes the function is recognised here, from the
//! raw JSON payload, before any AWS call:
//!
//! | payload | request |
//! |---|---|
//! | maintenance window task `{"instanceid": "i-…"}` (also `instanceId`, `InstanceId`, `resourceId`, `targetId`) | sync that node |
//! | EventBridge `Configuration Compliance State Change`, compliance type `Patch` | sync the node in the event |
//! | the same with another compliance type (`Association`, `Custom:…`) | acknowledged, ignored |
//! | EventBridge `Scheduled Event`, or `{"action": "sweep"}` | sweep the account and Region |
//! | an SQS batch (`Records[]` from `aws:sqs`) whose message bodies are any of the above | each record as above, the nodes synced together ([`crate::batch`]) |
//! | a CloudFormation custom resource request (`RequestType`, `ResponseURL`) | archive on stack deletion ([`crate::custom_resource`]) |
//!
//! Anything else is an `InvalidEvent` naming what was received and what is accepted.

// A payload value as an error quotes it: one line, cut to a readable length.
use patchhub_aws::targets::shown as quote;
use serde_json::{Map, Value};

use crate::error::{ErrorType, LambdaError};

/// `detail-type` of SSM's compliance change events.
pub const COMPLIANCE_CHANGE: &str = "Configuration Compliance State Change";
/// `detail-type` of EventBridge schedules.
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// What is accepted, for error messages.
pub const ACCEPTED: &str = "accepted: a maintenance window task payload {\"instanceid\": \"i-…\"} \
(or instanceId/InstanceId), an EventBridge \"Configuration Compliance State Change\" event \
(compliance type Patch syncs the node, other types are ignored), an EventBridge \"Scheduled Event\", \
or {\"action\": \"sweep\"}; an SQS batch of those; a CloudFormation custom resource request";

/// Longest excerpt of a rejected payload quoted in an error.
const EXCERPT_CHARS: usize = 300;

/// What started an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A maintenance window Lambda task.
    MaintenanceWindow,
    /// An EventBridge compliance change event.
    ComplianceChange,
    /// An EventBridge schedule.
    Schedule,
    /// A direct `{"action": "sweep"}` invocation.
    Manual,
    /// A batch of events from the SQS queue (compliance changes, through the event source
    /// mapping).
    Queue,
    /// A CloudFormation custom resource request.
    CloudFormation,
}

impl Trigger {
    /// Spelling in logs and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::MaintenanceWindow => "maintenance-window",
            Trigger::ComplianceChange => "compliance-change",
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Queue => "queue",
            Trigger::CloudFormation => "cloudformation",
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Sync one node.
    Node {
        /// Validated `i-…` or `mi-…` id.
        instance_id: String,
        /// Who asked.
        trigger: Trigger,
    },
    /// Sync every node of the account and Region, archiving findings of nodes that are gone.
    Sweep {
        /// Who asked.
        trigger: Trigger,
    },
    /// Acknowledge and do nothing.
    Ignore {
        /// Who asked.
        trigger: Trigger,
        /// Why nothing is done.
        reason: String,
    },
}

impl Request {
    /// Who asked.
    pub fn trigger(&self) -> Trigger {
        match self {
            Request::Node { trigger, .. }
            | Request::Sweep { trigger }
            | Request::Ignore { trigger, .. } => *trigger,
        }
    }
}

/// Compact JSON of the payload, cut to a readable length.
pub fn excerpt(payload: &Value) -> String {
    // serde_json escapes C0 controls only; DEL and C1 (NEL among them) get JSON escapes too.
    let text: String = payload
        .to_string()
        .chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{:04x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect();
    if text.chars().count() <= EXCERPT_CHARS {
        text
    } else {
        let cut: String = text.chars().take(EXCERPT_CHARS).collect();
        format!("{cut}… ({} bytes)", text.len())
    }
}

fn invalid(problem: impl std::fmt::Display, payload: &Value) -> LambdaError {
    LambdaError::new(
        ErrorType::InvalidEvent,
        format!("{problem}; received {}; {ACCEPTED}", excerpt(payload)),
    )
}

/// Reads the request out of a payload, for the function of `account` in `region`.
pub fn classify(payload: &Value, account: &str, region: &str) -> Result<Request, LambdaError> {
    let Some(obj) = payload.as_object() else {
        let kind = match payload {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        return Err(invalid(
            format_args!("the payload is {kind}, not a JSON object"),
            payload,
        ));
    };
    if let Some(detail_type) = obj.get("detail-type") {
        return eventbridge(obj, detail_type, payload, account, region);
    }
    let node_keys: Vec<(&String, &Value)> = obj.iter().filter(|(k, _)| is_node_key(k)).collect();
    if let Some(action) = obj.get("action") {
        let Some(a) = action.as_str() else {
            return Err(invalid("`action` must be a string", payload));
        };
        if !a.trim().eq_ignore_ascii_case("sweep") {
            return Err(invalid(
                format_args!("unknown action `{}` (the only action is `sweep`)", quote(a)),
                payload,
            ));
        }
        if let Some((k, _)) = node_keys.first() {
            return Err(invalid(
                format_args!(
                    "`action: sweep` and `{k}` together are ambiguous: a sweep covers every node"
                ),
                payload,
            ));
        }
        return Ok(Request::Sweep {
            trigger: Trigger::Manual,
        });
    }
    match node_keys.as_slice() {
        [] => Err(invalid(
            "the payload has no `instanceid`, `action` or EventBridge `detail-type`",
            payload,
        )),
        [(key, value), rest @ ..] => {
            if let Some((other, _)) = rest.iter().find(|(_, v)| v != value) {
                return Err(invalid(
                    format_args!("`{key}` and `{other}` name different nodes"),
                    payload,
                ));
            }
            let Some(raw) = value.as_str() else {
                return Err(invalid(
                    format_args!("`{key}` must be a string holding a node id"),
                    payload,
                ));
            };
            node_request(
                Trigger::MaintenanceWindow,
                (key, raw),
                payload,
                account,
                region,
            )
        }
    }
}

/// `instanceid` in any case, with or without `_`/`-`, and the `{{RESOURCE_ID}}`/`{{TARGET_ID}}`
/// spellings a task author may have chosen.
fn is_node_key(k: &str) -> bool {
    let norm: String = k
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(norm.as_str(), "instanceid" | "resourceid" | "targetid")
}

/// A validated node id from a payload value: a bare id or a node ARN of this account and Region.
/// The single-node request for the node `raw` (read from the payload's `key`).
fn node_request(
    trigger: Trigger,
    (key, raw): (&str, &str),
    payload: &Value,
    account: &str,
    region: &str,
) -> Result<Request, LambdaError> {
    let instance_id = node_id(key, raw, account, region).map_err(|p| invalid(p, payload))?;
    Ok(Request::Node {
        instance_id,
        trigger,
    })
}

fn node_id(key: &str, raw: &str, account: &str, region: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(format!("`{key}` is empty"));
    }
    if v.contains("{{") || v.contains("}}") {
        return Err(format!(
            "`{key}` is the literal `{}`: the maintenance window did not substitute the \
             pseudo-parameter. Register the task against window targets (WindowTargetIds) so SSM \
             replaces {{{{RESOURCE_ID}}}} with each node's id, or invoke with a real node id",
            quote(v)
        ));
    }
    let id = if v.starts_with("arn:") {
        node_from_arn(v, account, region).map_err(|e| format!("`{key}`: {e}"))?
    } else {
        v.to_string()
    };
    patchhub_aws::targets::parse_instance_id(&id).map_err(|e| format!("`{key}`: {e}"))
}

/// The node id of `arn:PARTITION:ssm:REGION:ACCOUNT:managed-instance/ID` or
/// `arn:PARTITION:ec2:REGION:ACCOUNT:instance/ID`, refusing other accounts and Regions.
fn node_from_arn(raw: &str, account: &str, region: &str) -> Result<String, String> {
    let arn = quote(raw);
    let parts: Vec<&str> = raw.splitn(6, ':').collect();
    let [_, _, _, arn_region, arn_account, resource] = parts.as_slice() else {
        return Err(format!("`{arn}` is not an ARN"));
    };
    let Some((kind, id)) = resource.split_once('/') else {
        return Err(format!("`{arn}` names no managed node"));
    };
    if kind != "managed-instance" && kind != "instance" {
        return Err(format!(
            "`{arn}` is a `{}`, not a managed node (managed-instance/… or instance/…)",
            quote(kind)
        ));
    }
    match elsewhere(arn_account, arn_region, account, region) {
        Some(why) => Err(format!("`{arn}` {why}")),
        None => Ok(id.to_string()),
    }
}

/// Why a resource of `(acct, reg)` cannot be handled by the function of `(account, region)`.
fn elsewhere(acct: &str, reg: &str, account: &str, region: &str) -> Option<String> {
    let other_account = !acct.is_empty() && acct != account;
    let other_region = !reg.is_empty() && reg != region;
    (other_account || other_region).then(|| {
        format!(
            "belongs to account {} in {}, but this function runs in account {account} in \
             {region}: findings can only be imported by the account and Region they describe, so \
             route the event to the function there",
            quote(acct),
            quote(reg)
        )
    })
}

fn eventbridge(
    obj: &Map<String, Value>,
    detail_type: &Value,
    payload: &Value,
    account: &str,
    region: &str,
) -> Result<Request, LambdaError> {
    let dt = detail_type.as_str().unwrap_or_default();
    let source = obj
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (source, dt) {
        ("aws.events" | "aws.scheduler", SCHEDULED_EVENT) => Ok(Request::Sweep {
            trigger: Trigger::Schedule,
        }),
        ("aws.ssm", COMPLIANCE_CHANGE) => {
            let text =
                |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
            if let Some(why) = elsewhere(
                &text(obj.get("account")),
                &text(obj.get("region")),
                account,
                region,
            ) {
                return Err(invalid(format_args!("the event {why}"), payload));
            }
            let Some(detail) = obj.get("detail").and_then(Value::as_object) else {
                return Err(invalid(
                    "the compliance change event has no `detail`",
                    payload,
                ));
            };
            let compliance_type = text(detail.get("compliance-type"));
            if compliance_type.is_empty() {
                return Err(invalid(
                    "the compliance change event has no `detail.compliance-type`",
                    payload,
                ));
            }
            if compliance_type != "Patch" {
                return Ok(Request::Ignore {
                    trigger: Trigger::ComplianceChange,
                    reason: format!(
                        "compliance type `{}` is not Patch: nothing to sync",
                        quote(&compliance_type)
                    ),
                });
            }
            let from_detail = text(detail.get("resource-id"));
            let from_resources = obj
                .get("resources")
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (key, raw) = if !from_detail.is_empty() {
                ("detail.resource-id", from_detail.as_str())
            } else if !from_resources.is_empty() {
                ("resources[0]", from_resources)
            } else {
                return Err(invalid(
                    "the compliance change event names no node (no `detail.resource-id` or `resources`)",
                    payload,
                ));
            };
            node_request(
                Trigger::ComplianceChange,
                (key, raw),
                payload,
                account,
                region,
            )
        }
        _ => Err(invalid(
            format_args!(
                "EventBridge event `{}` from `{}` is not one patchhub handles",
                if dt.is_empty() { "?".into() } else { quote(dt) },
                if source.is_empty() {
                    "?".into()
                } else {
                    quote(source)
                }
            ),
            payload,
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ACCT: &str = "123456789012";
    const REG: &str = "us-east-1";
    const NODE: &str = "i-0123456789abcdef0";

    fn ok(v: Value) -> Request {
        classify(&v, ACCT, REG).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    fn err(v: Value) -> String {
        let e = classify(&v, ACCT, REG).expect_err(&v.to_string());
        assert_eq!(e.error_type, ErrorType::InvalidEvent);
        assert!(e.message.contains("accepted:"), "{}", e.message);
        e.message
    }

    fn node(trigger: Trigger) -> Request {
        Request::Node {
            instance_id: NODE.into(),
            trigger,
        }
    }

    #[test]
    fn every_spelling_of_the_task_payload_names_the_node() {
        for key in [
            "instanceid",
            "instanceId",
            "InstanceId",
            "instance_id",
            "resourceId",
            "TargetId",
        ] {
            assert_eq!(
                ok(json!({ key: NODE, "window": "mw-0123456789abcdef0" })),
                node(Trigger::MaintenanceWindow),
                "{key}"
            );
        }
        assert_eq!(
            ok(
                json!({"instanceid": format!(" arn:aws:ssm:{REG}:{ACCT}:managed-instance/{NODE} ")})
            ),
            node(Trigger::MaintenanceWindow)
        );
        assert_eq!(
            ok(json!({"instanceid": "mi-0123456789abcdef0"})),
            Request::Node {
                instance_id: "mi-0123456789abcdef0".into(),
                trigger: Trigger::MaintenanceWindow
            }
        );
    }

    #[test]
    fn bad_task_payloads_say_what_is_wrong() {
        let m = err(json!({"instanceid": "{{RESOURCE_ID}}"}));
        assert!(m.contains("literal `{{RESOURCE_ID}}`"), "{m}");
        assert!(m.contains("did not substitute"), "{m}");
        assert!(err(json!({"instanceid": "{{TARGET_ID}}"})).contains("{{TARGET_ID}}"));
        assert!(err(json!({"instanceid": "i-123"})).contains("not a managed node id"));
        assert!(err(json!({"instanceid": ""})).contains("is empty"));
        assert!(err(json!({"instanceid": 7})).contains("must be a string"));
        assert!(
            err(json!({"instanceid": NODE, "InstanceId": "i-0123456789abcdef1"}))
                .contains("name different nodes")
        );
        let m = err(
            json!({"instanceid": format!("arn:aws:ssm:eu-west-1:{ACCT}:managed-instance/{NODE}")}),
        );
        assert!(
            m.contains("runs in account 123456789012 in us-east-1"),
            "{m}"
        );
        assert!(
            err(json!({"instanceid": "arn:aws:s3:::bucket/key"})).contains("not a managed node")
        );
    }

    #[test]
    fn sweeps_and_their_mistakes() {
        assert_eq!(
            ok(json!({"action": "sweep"})),
            Request::Sweep {
                trigger: Trigger::Manual
            }
        );
        assert_eq!(
            ok(json!({"action": " Sweep "})),
            Request::Sweep {
                trigger: Trigger::Manual
            }
        );
        assert!(err(json!({"action": "purge"})).contains("unknown action `purge`"));
        assert!(err(json!({"action": "sweep", "instanceid": NODE})).contains("ambiguous"));
        assert!(err(json!({"action": ["sweep"]})).contains("must be a string"));
    }

    #[test]
    fn anything_else_names_what_was_received() {
        let m = err(json!("sweep"));
        assert!(m.contains("the payload is a string"), "{m}");
        assert!(m.contains("received \"sweep\""), "{m}");
        assert!(err(Value::Null).contains("is null"));
        assert!(err(json!([1, 2])).contains("an array"));
        let m = err(json!({"Records": [{"eventSource": "aws:s3"}]}));
        assert!(m.contains("no `instanceid`, `action`"), "{m}");
        assert!(m.contains("aws:s3"), "the excerpt shows the payload: {m}");
        let big = json!({"x": "y".repeat(5000)});
        let m = err(big);
        assert!(m.len() < 1200, "long payloads are cut: {}", m.len());
        let m = err(
            json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification"}),
        );
        assert!(
            m.contains("`EC2 Instance State-change Notification` from `aws.ec2`"),
            "{m}"
        );
    }

    fn compliance(ty: &str, status: &str) -> Value {
        json!({
            "version": "0",
            "id": "01234567-0123-0123-0123-0123456789ab",
            "detail-type": COMPLIANCE_CHANGE,
            "source": "aws.ssm",
            "account": ACCT,
            "time": "2024-05-01T02:10:00Z",
            "region": REG,
            "resources": [format!("arn:aws:ssm:{REG}:{ACCT}:managed-instance/{NODE}")],
            "detail": {
                "resource-type": "managed-instance",
                "resource-id": NODE,
                "compliance-status": status,
                "compliance-type": ty,
            }
        })
    }

    #[test]
    fn compliance_changes() {
        assert_eq!(
            ok(compliance("Patch", "non_compliant")),
            node(Trigger::ComplianceChange)
        );
        assert_eq!(
            ok(compliance("Patch", "compliant")),
            node(Trigger::ComplianceChange)
        );
        assert!(matches!(
            ok(compliance("Association", "non_compliant")),
            Request::Ignore { trigger: Trigger::ComplianceChange, reason } if reason.contains("Association")
        ));
        let mut only_resources = compliance("Patch", "compliant");
        only_resources["detail"]
            .as_object_mut()
            .unwrap()
            .remove("resource-id");
        assert_eq!(ok(only_resources), node(Trigger::ComplianceChange));
        let mut other_account = compliance("Patch", "compliant");
        other_account["account"] = json!("210987654321");
        assert!(err(other_account).contains("belongs to account 210987654321"));
        let mut no_type = compliance("Patch", "compliant");
        no_type["detail"]
            .as_object_mut()
            .unwrap()
            .remove("compliance-type");
        assert!(err(no_type).contains("compliance-type"));
    }

    #[test]
    fn schedules_sweep() {
        let v = json!({
            "version": "0",
            "detail-type": SCHEDULED_EVENT,
            "source": "aws.events",
            "account": ACCT,
            "region": REG,
            "resources": [],
            "detail": {}
        });
        assert_eq!(
            ok(v),
            Request::Sweep {
                trigger: Trigger::Schedule
            }
        );
    }
}
