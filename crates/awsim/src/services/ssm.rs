//! SSM (awsJson1_1). (Being built.)

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::fleet::InstanceSpec;
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::server::Sim;
use crate::services::Request;

/// Managed nodes of one account and Region.
#[derive(Debug, Default)]
pub struct SsmRegion {
    instances: Vec<InstanceSpec>,
}

impl SsmRegion {
    /// Adds a node from the fleet.
    pub fn add_instance(&mut self, spec: InstanceSpec, _now: DateTime<Utc>) {
        self.instances.push(spec);
    }

    /// The nodes as fleet specs.
    pub fn export(&self) -> Vec<InstanceSpec> {
        self.instances.clone()
    }
}

/// Serves one SSM call.
pub fn handle(_sim: &Sim, _caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    Err(AwsError::client(
        "UnknownOperationException",
        format!("Unknown operation {}", req.operation),
    ))
}
