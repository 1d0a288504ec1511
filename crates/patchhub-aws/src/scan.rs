//! Running `AWS-RunPatchBaseline` on nodes, as a deployment's maintenance window does with its
//! priority-1 scan task. patchhub's sync never calls this (it only reads what the scans recorded;
//! no template grants `ssm:SendCommand` to it): the demo and the fleet benchmark use it to play
//! the window's part against the emulator.

use crate::error::ApiError;
use crate::target::Target;

/// Instance ids per `SendCommand` call (the API's maximum for `InstanceIds`).
const IDS_PER_CALL: usize = 50;

/// `Scan` records what is missing; `Install` installs it (and reboots if needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `Operation=Scan`.
    Scan,
    /// `Operation=Install`, `RebootOption=RebootIfNeeded`.
    Install,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Scan => "Scan",
            Operation::Install => "Install",
        }
    }
}

/// Sends `AWS-RunPatchBaseline` with `operation` to the nodes, 50 ids per call.
pub async fn run_patch_baseline(
    target: &Target,
    instance_ids: &[String],
    operation: Operation,
) -> Result<(), ApiError> {
    let ssm = target.ssm_client();
    for chunk in instance_ids.chunks(IDS_PER_CALL) {
        ssm.send_command()
            .document_name("AWS-RunPatchBaseline")
            .set_instance_ids(Some(chunk.to_vec()))
            .parameters("Operation", vec![operation.as_str().to_string()])
            .parameters("RebootOption", vec!["RebootIfNeeded".to_string()])
            .send()
            .await
            .map_err(|e| {
                ApiError::from_sdk(target.account(), target.region(), "SendCommand", &e)
            })?;
    }
    Ok(())
}
