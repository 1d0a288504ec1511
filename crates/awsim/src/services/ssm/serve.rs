//! One SSM call: the operation named by `X-Amz-Target` dispatched to the module that serves it,
//! on the caller's account and Region. Reads never create state for an account and Region.

use serde_json::Value;

use super::{SsmRegion, commands, compliance, instances, properties, wire};
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;

/// Serves one SSM call.
pub fn handle(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let body = req.json()?;
    let input = wire::Input::new(&body)?;
    let now = sim.clock.now();
    let mut world = sim.world();
    let empty = SsmRegion::default();
    let op = req.operation.as_str();
    let ssm: &SsmRegion = world
        .region(&caller.account, &caller.region)
        .map_or(&empty, |r| &r.ssm);
    match op {
        "DescribeInstanceInformation" => {
            instances::describe_information(ssm, input, &caller.region, now)
        }
        "DescribeInstanceProperties" => {
            properties::describe_properties(ssm, input, (&caller.region, now))
        }
        "DescribeInstancePatchStates" => instances::describe_patch_states(ssm, input),
        "DescribeInstancePatches" => instances::describe_patches(ssm, input),
        "ListComplianceItems" => compliance::list_items(ssm, input),
        "ListResourceComplianceSummaries" => compliance::list_summaries(ssm, input),
        "ListCommands" => commands::list(ssm, input),
        "GetCommandInvocation" => commands::get_invocation(ssm, input),
        "PutComplianceItems" | "SendCommand" => {
            let ssm = &mut world.region_mut(&caller.account, &caller.region).ssm;
            if op == "PutComplianceItems" {
                compliance::put_items(ssm, input, now)
            } else {
                commands::send(ssm, input, caller, now)
            }
        }
        other => Err(AwsError::client(
            "UnknownOperationException",
            format!("awsim does not emulate the SSM operation {other}"),
        )),
    }
}
