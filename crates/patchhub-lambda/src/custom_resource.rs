//! The account template's custom resource (`Custom::PatchhubFindings`), served by the same
//! `bootstrap`: when the stack is deleted (an account leaves the StackSet's OUs, or someone
//! deletes the stack), CloudFormation sends `Delete` and the function archives every active
//! patchhub finding of its account and Region, as `patchhub cleanup` does. `Create` and `Update`
//! do nothing but answer.
//!
//! CloudFormation waits for the answer, a `PUT` of the response document to the request's
//! pre-signed `ResponseURL`; without one the stack hangs for up to an hour. So every request is
//! answered, the archive runs within the invocation's remaining time (less a margin for the
//! answer), and a `Delete` answers `SUCCESS` even when some findings could not be archived: the
//! `Reason` says how many and what to run, and an uninstall is never blocked by Security Hub.
//! The physical id never changes, so an update never makes CloudFormation delete (and archive)
//! the "old" resource.
//!
//! Request and response fields: the CloudFormation User Guide, "Custom resource request objects"
//! and "Custom resource response objects".

use std::time::Duration;

use chrono::Utc;
use patchhub_aws::ErrorKind;
use patchhub_aws::hub::archived;
use patchhub_aws::sink::{FindingQuery, FindingSink};
use patchhub_core::finding::Finding;
use serde_json::{Map, Value, json};

use crate::error::{ErrorType, LambdaError};
use crate::event::Trigger;
use crate::function::{Function, InvocationSummary};
use crate::response_url;

/// Time kept back from the invocation's deadline for answering CloudFormation.
const ANSWER_MARGIN: Duration = Duration::from_secs(30);
/// Time allowed for the archive when the invocation has no deadline (tests, manual calls).
const NO_DEADLINE_BUDGET: Duration = Duration::from_secs(600);
/// Each attempt to deliver the answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest `Reason` sent (the whole response must stay under 4,096 bytes).
const MAX_REASON_CHARS: usize = 1000;

/// The resource property that turns the archive off: `ArchiveFindingsOnDelete: 'false'`.
pub const ARCHIVE_PROPERTY: &str = "ArchiveFindingsOnDelete";

/// `RequestType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The stack created the resource.
    Create,
    /// A property changed.
    Update,
    /// The resource (with the stack) is being deleted.
    Delete,
}

impl Action {
    /// Spelling in the summary line.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "stack-create",
            Action::Update => "stack-update",
            Action::Delete => "stack-delete",
        }
    }
}

/// What CloudFormation asked for, and where to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CfnRequest {
    /// `RequestType`, or why it is not one of the three.
    pub action: Result<Action, String>,
    /// Pre-signed URL the answer goes to.
    pub response_url: String,
    /// Echoed in the answer.
    pub stack_id: String,
    /// Echoed in the answer.
    pub request_id: String,
    /// Echoed in the answer.
    pub logical_resource_id: String,
    /// Given on `Update` and `Delete`.
    pub physical_resource_id: Option<String>,
    /// Whether `Delete` archives ([`ARCHIVE_PROPERTY`] is not `false`).
    pub archive_on_delete: bool,
}

fn text(obj: &Map<String, Value>, key: &str) -> String {
    obj.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The request, if `payload` is a CloudFormation custom resource request (it has a
/// `ResponseURL`, a `RequestType` and a `StackId`).
pub fn parse(payload: &Value) -> Option<CfnRequest> {
    let obj = payload.as_object()?;
    let response_url = obj.get("ResponseURL")?.as_str()?.to_string();
    obj.get("RequestType")?;
    obj.get("StackId")?;
    let action = match obj.get("RequestType").and_then(Value::as_str) {
        Some("Create") => Ok(Action::Create),
        Some("Update") => Ok(Action::Update),
        Some("Delete") => Ok(Action::Delete),
        other => Err(format!(
            "unknown RequestType `{}` (Create, Update or Delete)",
            patchhub_aws::targets::shown(other.unwrap_or("?"))
        )),
    };
    let archive_on_delete = obj
        .get("ResourceProperties")
        .and_then(|p| p.get(ARCHIVE_PROPERTY))
        .map(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => !s.trim().eq_ignore_ascii_case("false"),
            _ => true,
        })
        .unwrap_or(true);
    Some(CfnRequest {
        action,
        response_url,
        stack_id: text(obj, "StackId"),
        request_id: text(obj, "RequestId"),
        logical_resource_id: text(obj, "LogicalResourceId"),
        physical_resource_id: obj
            .get("PhysicalResourceId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        archive_on_delete,
    })
}

/// `SUCCESS` or `FAILED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Done (or nothing to do).
    Success,
    /// Could not be done; CloudFormation fails (and rolls back) the operation.
    Failed,
}

/// The physical id of the one resource of this kind per account and Region: stable, so an
/// update never replaces it.
pub fn physical_id(account: &str, region: &str) -> String {
    format!("patchhub-findings-{account}-{region}")
}

/// The response document for `req`.
pub fn response_body(
    req: &CfnRequest,
    status: Status,
    reason: &str,
    physical_id: &str,
    data: Value,
) -> String {
    let reason: String = if reason.chars().count() > MAX_REASON_CHARS {
        let cut: String = reason.chars().take(MAX_REASON_CHARS).collect();
        format!("{cut}…")
    } else {
        reason.to_string()
    };
    json!({
        "Status": match status {
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
        },
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": req.stack_id,
        "RequestId": req.request_id,
        "LogicalResourceId": req.logical_resource_id,
        "NoEcho": false,
        "Data": data,
    })
    .to_string()
}

/// What archiving the account's findings came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveOutcome {
    /// Active patchhub findings found.
    pub active: usize,
    /// Of those, archived.
    pub archived: usize,
    /// Of those, not archived.
    pub failed: usize,
    /// Why not everything was archived, when it was not.
    pub problem: Option<(ErrorType, String)>,
    /// What the answer says.
    pub reason: String,
}

/// Time left for the archive: until `deadline_ms` (epoch milliseconds, Lambda's) less the margin
/// for the answer, at least 5 s.
fn budget(deadline_ms: u64) -> Duration {
    let Some(left) = crate::deadline::time_left(deadline_ms) else {
        return NO_DEADLINE_BUDGET;
    };
    left.saturating_sub(ANSWER_MARGIN)
        .max(Duration::from_secs(5))
}

impl Function {
    /// Archives every active patchhub finding of the function's account and Region (what
    /// `patchhub cleanup` does there), within `within`.
    pub async fn archive_all(&self, within: Duration) -> ArchiveOutcome {
        let (account, region) = (self.account().to_string(), self.region().to_string());
        let sink = self.sink();
        let work = async {
            let found = match sink.read(&FindingQuery::all_patchhub()).await {
                Ok(f) => f,
                Err(e) if e.kind == ErrorKind::HubNotEnabled => {
                    return ArchiveOutcome {
                        reason: format!(
                            "Security Hub is not enabled in account {account} in {region}: no patchhub finding to archive"
                        ),
                        ..Default::default()
                    };
                }
                Err(e) => {
                    return ArchiveOutcome {
                        problem: Some((e.kind.into(), format!("cannot read the findings: {e}"))),
                        ..Default::default()
                    };
                }
            };
            let now = Utc::now();
            let active: Vec<Finding> = found
                .into_iter()
                .filter(Finding::is_active)
                .map(|f| archived(f, now))
                .collect();
            let mut out = ArchiveOutcome {
                active: active.len(),
                ..Default::default()
            };
            if active.is_empty() {
                out.reason = format!("no active patchhub finding in account {account} in {region}");
                return out;
            }
            let result = sink.import(active).await;
            out.archived = result.imported.len();
            out.failed = out.active - out.archived;
            if let Some(first) = result.failed.first() {
                let ty = result
                    .call_error
                    .as_ref()
                    .map(|e| ErrorType::from(e.kind))
                    .unwrap_or(ErrorType::PartialFailure);
                out.problem = Some((
                    ty,
                    format!(
                        "first not archived: {} ({}: {})",
                        first.id, first.code, first.message
                    ),
                ));
            } else if let Some(e) = &result.call_error {
                out.problem = Some((e.kind.into(), e.to_string()));
            }
            out
        };
        let mut out = match tokio::time::timeout(within, work).await {
            Ok(out) => out,
            Err(_) => ArchiveOutcome {
                problem: Some((
                    ErrorType::ServiceError,
                    format!("the archive did not finish within {} s", within.as_secs()),
                )),
                ..Default::default()
            },
        };
        if let Some((_, why)) = &out.problem {
            out.reason = format!(
                "archived {} of {} active patchhub findings of account {account} in {region} ({why}). \
                 The stack is deleted anyway: run `patchhub cleanup --regions {region} --yes` with \
                 credentials of account {account} to archive the rest (Security Hub deletes them 90 \
                 days after their last update otherwise)",
                out.archived,
                if out.active > 0 {
                    out.active.to_string()
                } else {
                    "the".to_string()
                },
            );
        } else if out.reason.is_empty() {
            out.reason = format!(
                "archived {} patchhub findings of account {account} in {region}",
                out.archived
            );
        }
        out
    }

    /// Handles a custom resource request: archive on `Delete`, nothing on `Create`/`Update`,
    /// and always an answer to CloudFormation. `Err` only when the answer could not be
    /// delivered (Lambda then retries the invocation).
    pub(crate) async fn custom_resource(
        &self,
        req: CfnRequest,
        deadline_ms: u64,
        summary: &mut InvocationSummary,
    ) -> Result<(), LambdaError> {
        summary.trigger = Trigger::CloudFormation.as_str();
        let physical = req
            .physical_resource_id
            .clone()
            .unwrap_or_else(|| physical_id(self.account(), self.region()));
        let mut problem = None;
        let (status, reason, data) = match req.action {
            Err(ref why) => {
                summary.mode = "rejected";
                problem = Some((ErrorType::InvalidEvent, why.clone()));
                (Status::Failed, why.clone(), json!({}))
            }
            Ok(action) => {
                summary.mode = action.as_str();
                match action {
                    Action::Create | Action::Update => (
                        Status::Success,
                        "nothing to do until the stack is deleted, when the account's patchhub \
                         findings in this Region are archived"
                            .to_string(),
                        json!({}),
                    ),
                    Action::Delete if !req.archive_on_delete => (
                        Status::Success,
                        format!("{ARCHIVE_PROPERTY} is false: the findings are left as they are"),
                        json!({}),
                    ),
                    Action::Delete => {
                        let out = self.archive_all(budget(deadline_ms)).await;
                        summary.archived = out.archived;
                        summary.failed = out.failed;
                        problem = out.problem.clone();
                        // Never block the uninstall: the reason says what is left to do.
                        (
                            Status::Success,
                            out.reason.clone(),
                            json!({"Archived": out.archived, "NotArchived": out.failed}),
                        )
                    }
                }
            }
        };
        summary.note = Some(reason.clone());
        let body = response_body(&req, status, &reason, &physical, data);
        match response_url::put(&req.response_url, &body, ANSWER_TIMEOUT).await {
            Ok(code) if (200..300).contains(&code) => {}
            Ok(code) => {
                return Err(LambdaError::new(
                    ErrorType::ServiceError,
                    format!("CloudFormation's response URL answered HTTP {code} ({reason})"),
                ));
            }
            Err(e) => {
                return Err(LambdaError::new(
                    ErrorType::ServiceError,
                    format!("cannot answer CloudFormation: {e} ({reason})"),
                ));
            }
        }
        if let Some((ty, _)) = problem {
            summary.ok = false;
            summary.error_type = Some(ty.as_str());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kind: &str, props: Value) -> Value {
        json!({
            "RequestType": kind,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:patchhub",
            "ResponseURL": "https://example.invalid/response?sig=1",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/patchhub/guid",
            "RequestId": "req-1",
            "ResourceType": "Custom::PatchhubFindings",
            "LogicalResourceId": "ArchiveFindingsOnDelete",
            "PhysicalResourceId": "patchhub-findings-123456789012-us-east-1",
            "ResourceProperties": props
        })
    }

    #[test]
    fn requests_are_recognised() {
        let r = parse(&request(
            "Delete",
            json!({"ArchiveFindingsOnDelete": "true"}),
        ))
        .unwrap();
        assert_eq!(r.action, Ok(Action::Delete));
        assert!(r.archive_on_delete);
        assert_eq!(r.request_id, "req-1");
        assert_eq!(
            r.physical_resource_id.as_deref(),
            Some("patchhub-findings-123456789012-us-east-1")
        );
        let off = parse(&request(
            "Delete",
            json!({"ArchiveFindingsOnDelete": "false"}),
        ))
        .unwrap();
        assert!(!off.archive_on_delete);
        assert!(
            parse(&request("Create", json!({})))
                .unwrap()
                .archive_on_delete
        );
        let odd = parse(&request("Replace", json!({}))).unwrap();
        assert!(
            odd.action
                .unwrap_err()
                .contains("unknown RequestType `Replace`")
        );
        assert_eq!(parse(&json!({"instanceid": "i-0123456789abcdef0"})), None);
        assert_eq!(parse(&json!({"RequestType": "Delete"})), None);
    }

    #[test]
    fn responses_echo_the_request_and_stay_small() {
        let r = parse(&request("Delete", json!({}))).unwrap();
        let body = response_body(
            &r,
            Status::Success,
            &"x".repeat(5000),
            "pid",
            json!({"Archived": 3}),
        );
        assert!(body.len() < 4096, "{}", body.len());
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["RequestId"], "req-1");
        assert_eq!(v["LogicalResourceId"], "ArchiveFindingsOnDelete");
        assert_eq!(v["StackId"], r.stack_id);
        assert_eq!(v["PhysicalResourceId"], "pid");
        assert_eq!(v["Data"]["Archived"], 3);
    }
}
