//! The entry of every invocation: which kind of event it is (a CloudFormation custom resource
//! request, an SQS batch of compliance events, or one event or task payload), the work it asks
//! for, and the one summary line every invocation logs.

use std::time::Instant;

use lambda_runtime::LambdaEvent;
use serde_json::Value;

use crate::error::{ErrorType, LambdaError};
use crate::event;
use crate::function::{Function, InvocationSummary};
use crate::{batch, custom_resource};

impl Function {
    /// Handles one invocation: classify, sync, log one summary line, answer.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, LambdaError> {
        let started = Instant::now();
        let (payload, context) = event.into_parts();
        let mut summary = InvocationSummary {
            ok: true,
            account: self.account().to_string(),
            region: self.region().to_string(),
            request_id: context.request_id,
            ..Default::default()
        };
        // An SQS batch answers with its failed records; everything else with the summary.
        let mut answer = None;
        let result = if let Some(req) = custom_resource::parse(&payload) {
            self.custom_resource(req, context.deadline, &mut summary)
                .await
        } else if batch::is_sqs_batch(&payload) {
            self.sqs_batch(&payload, &mut summary)
                .await
                .map(|failed| answer = Some(batch::response(&failed)))
        } else {
            match event::classify(&payload, self.account(), self.region()) {
                Err(e) => {
                    summary.trigger = "unknown";
                    summary.mode = "rejected";
                    Err(e)
                }
                Ok(request) => self.run(request, context.deadline, &mut summary).await,
            }
        };
        summary.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if let Err(e) = &result {
            summary.ok = false;
            summary.error_type = Some(e.error_type.as_str());
            summary.note = Some(e.message.clone());
        } else if summary.lake_error.is_some() && summary.ok {
            // Security Hub is complete; only the lake missed events. Failing the invocation
            // would make Lambda or SQS retry a sync that finds nothing to change: report it.
            summary.ok = false;
            summary.error_type = Some(ErrorType::LakeWriteFailed.as_str());
        }
        summary.log();
        result.map(|()| {
            answer.unwrap_or_else(|| serde_json::to_value(&summary).unwrap_or(Value::Null))
        })
    }
}
