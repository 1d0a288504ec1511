//! SQS batches: compliance-change events reach the function through a queue and an event source
//! mapping, several per invocation. Each record's body is an event [`crate::event::classify`]
//! accepts; the nodes of a batch are synced together (one roll-up read-back for all of them, not
//! one per node), and records that fail are reported one by one in `batchItemFailures`, so SQS
//! redelivers only those (the mapping's `FunctionResponseTypes: ReportBatchItemFailures`).
//!
//! The response format is Lambda's: `{"batchItemFailures": [{"itemIdentifier": MESSAGE_ID}]}`;
//! an empty list means every record succeeded.

use std::collections::{BTreeMap, BTreeSet};

use patchhub_aws::sink::MAX_FILTER_VALUES;
use patchhub_aws::sync::{SyncOptions, TargetSummary};
use serde_json::{Value, json};

use crate::error::{ErrorType, LambdaError};
use crate::event::{self, Request, Trigger, excerpt};
use crate::function::{Function, InvocationSummary, verdict};

/// `eventSource` of SQS records.
pub const SQS_SOURCE: &str = "aws:sqs";

/// One record of a batch: its message id and what its body asks for (or why it cannot be done).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `messageId`, the `itemIdentifier` a failure is reported with.
    pub message_id: String,
    /// The request in the body.
    pub request: Result<Request, LambdaError>,
}

/// Whether `payload` is an SQS batch (a `Records` array whose records come from `aws:sqs`).
pub fn is_sqs_batch(payload: &Value) -> bool {
    payload
        .get("Records")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(Value::as_str)
        == Some(SQS_SOURCE)
}

/// The records of an SQS batch, each classified for the function of `account` in `region`.
/// A record without a `messageId` cannot be reported on its own: it makes the whole batch an
/// `InvalidEvent` (Lambda then retries the batch, as it does for any malformed response).
pub fn records(payload: &Value, account: &str, region: &str) -> Result<Vec<Record>, LambdaError> {
    let list = payload
        .get("Records")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let Some(id) = r
            .get("messageId")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
        else {
            return Err(LambdaError::new(
                ErrorType::InvalidEvent,
                format!(
                    "SQS record {i} has no messageId, so its failure could not be reported on its own; received {}",
                    excerpt(r)
                ),
            ));
        };
        out.push(Record {
            message_id: id.to_string(),
            request: body_request(r, account, region),
        });
    }
    Ok(out)
}

fn body_request(record: &Value, account: &str, region: &str) -> Result<Request, LambdaError> {
    let source = record
        .get("eventSource")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if source != SQS_SOURCE {
        return Err(LambdaError::new(
            ErrorType::InvalidEvent,
            format!(
                "record from `{}` in an SQS batch; received {}",
                patchhub_aws::targets::shown(source),
                excerpt(record)
            ),
        ));
    }
    let Some(text) = record.get("body").and_then(Value::as_str) else {
        return Err(LambdaError::new(
            ErrorType::InvalidEvent,
            format!(
                "the SQS record has no text `body`; received {}",
                excerpt(record)
            ),
        ));
    };
    let body: Value = serde_json::from_str(text).map_err(|e| {
        LambdaError::new(
            ErrorType::InvalidEvent,
            format!(
                "the SQS message body is not JSON ({e}); received {}",
                excerpt(&Value::String(text.to_string()))
            ),
        )
    })?;
    if is_sqs_batch(&body) {
        return Err(LambdaError::new(
            ErrorType::InvalidEvent,
            "the SQS message body is itself an SQS batch".to_string(),
        ));
    }
    event::classify(&body, account, region)
}

/// Lambda's partial batch response naming `failed` message ids.
pub fn response(failed: &[String]) -> Value {
    json!({
        "batchItemFailures": failed
            .iter()
            .map(|id| json!({"itemIdentifier": id}))
            .collect::<Vec<_>>()
    })
}

/// The nodes of `asked` whose findings a sync left (partly) unwritten: those it could not read,
/// those with a finding that did not go in, or all of them when it failed without saying where.
pub fn nodes_not_done(
    t: &TargetSummary,
    asked: &BTreeSet<String>,
    finding_prefix: impl Fn(&str) -> String,
) -> BTreeSet<String> {
    let mut bad: BTreeSet<String> = t
        .nodes_failed
        .iter()
        .filter(|n| asked.contains(*n))
        .cloned()
        .collect();
    for f in &t.failures {
        if let Some(n) = asked.iter().find(|n| f.id.starts_with(&finding_prefix(n))) {
            bad.insert(n.clone());
        }
    }
    if bad.is_empty() && !t.is_ok() {
        return asked.clone();
    }
    bad
}

impl Function {
    /// Handles an SQS batch: every record's request, the nodes synced together in groups of up
    /// to [`MAX_FILTER_VALUES`] (one `GetFindings` filter each), a sweep instead if any record
    /// asks for one (it covers every node). Returns the message ids of the records that failed;
    /// `Err` only when every record failed, so the whole batch counts as a failed invocation.
    pub(crate) async fn sqs_batch(
        &self,
        payload: &Value,
        summary: &mut InvocationSummary,
    ) -> Result<Vec<String>, LambdaError> {
        summary.trigger = Trigger::Queue.as_str();
        summary.mode = "batch";
        let records = records(payload, self.account(), self.region())?;
        summary.records = records.len();

        let mut failed: Vec<String> = Vec::new();
        let mut rejected: Option<LambdaError> = None;
        let mut sync_error: Option<LambdaError> = None;
        let mut by_node: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut sweeps: Vec<String> = Vec::new();
        for r in records {
            match r.request {
                Err(e) => {
                    tracing::warn!(
                        message_id = %r.message_id,
                        error_type = e.error_type.as_str(),
                        error = %e.message,
                        "record rejected"
                    );
                    failed.push(r.message_id);
                    rejected.get_or_insert(e);
                }
                Ok(Request::Node { instance_id, .. }) => {
                    by_node.entry(instance_id).or_default().push(r.message_id);
                }
                Ok(Request::Sweep { .. }) => sweeps.push(r.message_id),
                Ok(Request::Ignore { .. }) => {}
            }
        }

        let prefix = |node: &str| {
            format!(
                "patchhub/{}/{}/{}/{node}/",
                self.partition(),
                self.account(),
                self.region()
            )
        };
        let groups: Vec<BTreeSet<String>> = if sweeps.is_empty() {
            let nodes: Vec<String> = by_node.keys().cloned().collect();
            nodes
                .chunks(MAX_FILTER_VALUES)
                .map(|c| c.iter().cloned().collect())
                .collect()
        } else {
            // One sweep answers every record of the batch.
            vec![BTreeSet::new()]
        };
        for nodes in groups {
            let mut opts = SyncOptions::new(self.policy().clone());
            opts.only_instances = nodes.clone();
            let t = self.sync(opts, summary).await;
            summary.add_counters(&t);
            let e = verdict(&t);
            if nodes.is_empty() {
                if e.is_some() {
                    failed.extend(sweeps.iter().cloned());
                    failed.extend(by_node.values().flatten().cloned());
                }
            } else {
                for n in nodes_not_done(&t, &nodes, prefix) {
                    failed.extend(by_node.get(&n).into_iter().flatten().cloned());
                }
            }
            if let Some(e) = e {
                sync_error.get_or_insert(e);
            }
        }

        failed.sort();
        failed.dedup();
        summary.records_failed = failed.len();
        let first = sync_error.or(rejected);
        match first {
            None => Ok(failed),
            Some(e) if failed.len() == summary.records => Err(e),
            Some(e) => {
                summary.ok = false;
                summary.error_type = Some(e.error_type.as_str());
                summary.note = Some(format!(
                    "{} of {} records failed (SQS redelivers them; after the queue's maximum \
                     receives they go to its dead-letter queue); first: {}",
                    failed.len(),
                    summary.records,
                    e.message
                ));
                Ok(failed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Trigger;

    const ACCT: &str = "123456789012";
    const REG: &str = "us-east-1";

    fn record(id: &str, body: &str) -> Value {
        json!({
            "messageId": id,
            "receiptHandle": "r",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:patchhub-events",
            "awsRegion": "us-east-1"
        })
    }

    fn change(node: &str) -> String {
        json!({
            "version": "0", "id": "x", "detail-type": "Configuration Compliance State Change",
            "source": "aws.ssm", "account": ACCT, "region": REG,
            "resources": [format!("arn:aws:ssm:{REG}:{ACCT}:managed-instance/{node}")],
            "detail": {"resource-type": "managed-instance", "resource-id": node,
                       "compliance-status": "non_compliant", "compliance-type": "Patch"}
        })
        .to_string()
    }

    #[test]
    fn batches_are_recognised_and_each_record_classified() {
        let batch = json!({"Records": [
            record("m1", &change("i-0123456789abcdef0")),
            record("m2", "not json"),
            record("m3", &json!({"instanceid": "{{RESOURCE_ID}}"}).to_string()),
        ]});
        assert!(is_sqs_batch(&batch));
        assert!(!is_sqs_batch(
            &json!({"Records": [{"eventSource": "aws:s3"}]})
        ));
        assert!(!is_sqs_batch(&json!({"instanceid": "i-0123456789abcdef0"})));
        let rs = records(&batch, ACCT, REG).unwrap();
        assert_eq!(rs.len(), 3);
        assert_eq!(
            rs[0].request,
            Ok(Request::Node {
                instance_id: "i-0123456789abcdef0".into(),
                trigger: Trigger::ComplianceChange
            })
        );
        let e = rs[1].request.clone().unwrap_err();
        assert_eq!(e.error_type, ErrorType::InvalidEvent);
        assert!(e.message.contains("not JSON"), "{}", e.message);
        assert!(
            rs[2]
                .request
                .clone()
                .unwrap_err()
                .message
                .contains("did not substitute")
        );
    }

    #[test]
    fn a_record_without_message_id_fails_the_batch() {
        let mut r = record("m1", "{}");
        r.as_object_mut().unwrap().remove("messageId");
        let e = records(&json!({"Records": [r]}), ACCT, REG).unwrap_err();
        assert!(e.message.contains("no messageId"), "{}", e.message);
    }

    #[test]
    fn failures_are_pinned_to_their_nodes() {
        use patchhub_aws::sink::FailedFinding;
        let asked: BTreeSet<String> = [
            "i-0aaaaaaaaaaaaaaa1",
            "i-0aaaaaaaaaaaaaaa2",
            "i-0aaaaaaaaaaaaaaa3",
        ]
        .map(String::from)
        .into();
        let prefix = |n: &str| format!("patchhub/aws/{ACCT}/{REG}/{n}/");
        let ok = TargetSummary::default();
        assert!(nodes_not_done(&ok, &asked, prefix).is_empty());
        let t = TargetSummary {
            failed: 1,
            failures: vec![FailedFinding {
                id: format!("patchhub/aws/{ACCT}/{REG}/i-0aaaaaaaaaaaaaaa2/patch/KB1"),
                code: "InternalFailure".into(),
                message: "x".into(),
            }],
            nodes_failed: vec!["i-0aaaaaaaaaaaaaaa3".into(), "i-0ffffffffffffffff".into()],
            ..Default::default()
        };
        assert_eq!(
            nodes_not_done(&t, &asked, prefix),
            ["i-0aaaaaaaaaaaaaaa2", "i-0aaaaaaaaaaaaaaa3"]
                .map(String::from)
                .into()
        );
        // A failure that names no node fails them all: nothing is known to be done.
        let blind = TargetSummary {
            error: Some("GetFindings failed".into()),
            ..Default::default()
        };
        assert_eq!(nodes_not_done(&blind, &asked, prefix), asked);
    }

    #[test]
    fn the_response_names_failed_records() {
        assert_eq!(response(&[]), json!({"batchItemFailures": []}));
        assert_eq!(
            response(&["a".into(), "b".into()]),
            json!({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]})
        );
    }
}
