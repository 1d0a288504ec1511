//! SSM (awsJson1_1): managed nodes, Patch Manager's patch states and compliance, custom
//! compliance, and `AWS-RunPatchBaseline` through `SendCommand`.
//!
//! Each node has its **true** patch states and a **report**: what the last patch operation saw.
//! Every read API (`DescribeInstancePatchStates`, `DescribeInstancePatches`,
//! `ListComplianceItems`, `ListResourceComplianceSummaries`) answers from the report, so they
//! agree with each other and lag the truth until the next Scan or Install, as in AWS. The report
//! shares its patch list with the truth (`Arc`, copied on the first write after a snapshot), so a
//! 10,000-node fleet is held once.
//!
//! `PutComplianceItems` with `ComplianceType` `Patch` replaces the node's report with the items
//! it was given (state from the `PatchState` detail when it agrees with `Status`, else
//! `Installed`/`Missing`), so the Describe APIs agree with the compliance APIs afterwards. In AWS
//! the two stores are separate; awsim keeps one so no view contradicts another.

mod commands;
mod compliance;
mod instances;
mod patches;
mod properties;
pub mod serve;
mod wire;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::fleet::{InstanceSpec, PatchSpec};

use patches::Counts;

/// `DocumentName` of the patching document.
pub(crate) const PATCH_DOCUMENT: &str = "AWS-RunPatchBaseline";
/// Version awsim reports for it.
pub(crate) const PATCH_DOCUMENT_VERSION: &str = "1";

/// Managed nodes of one account and Region.
#[derive(Debug, Default)]
pub struct SsmRegion {
    nodes: BTreeMap<String, Node>,
    commands: Vec<commands::CommandRecord>,
    command_seq: u64,
}

/// One managed node.
#[derive(Debug)]
pub(crate) struct Node {
    /// Static data (its `patches` and last-operation fields are unused: see `truth`, `report`).
    pub spec: InstanceSpec,
    /// The true patch states.
    pub truth: Arc<Vec<PatchSpec>>,
    /// What the last patch operation reported; `None`: never scanned.
    pub report: Option<Report>,
    /// Compliance put with `PutComplianceItems`, by compliance type (not `Patch`).
    pub custom: BTreeMap<String, compliance::Custom>,
    /// When the node was registered (hybrid) or first seen.
    pub registered: DateTime<Utc>,
    /// Last ping of a node that is not online.
    pub offline_since: DateTime<Utc>,
}

/// The last patch operation's view of a node.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// `Scan` or `Install`.
    pub operation: &'static str,
    pub reboot_option: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub execution_id: Option<String>,
    pub execution_type: Option<String>,
    pub snapshot_id: String,
    pub baseline_id: String,
    pub patch_group: Option<String>,
    pub asu_compliant: bool,
    pub last_no_reboot_install: Option<DateTime<Utc>>,
    /// The patches as the operation saw them (shared with `truth` until either changes).
    pub patches: Arc<Vec<PatchSpec>>,
    pub counts: Counts,
}

impl Node {
    /// Takes a snapshot of the truth as operation `operation`.
    pub(crate) fn snapshot(
        &mut self,
        operation: &'static str,
        reboot_option: &str,
        execution_id: String,
        at: DateTime<Utc>,
    ) {
        let last_no_reboot_install = match (operation, reboot_option) {
            ("Install", "NoReboot") => Some(at),
            _ => self.report.as_ref().and_then(|r| r.last_no_reboot_install),
        };
        let asu = self.spec.available_security_updates_compliant;
        self.report = Some(Report {
            operation,
            reboot_option: reboot_option.to_string(),
            start: at,
            end: at,
            snapshot_id: wire::uuid_from(&format!("snapshot/{}/{execution_id}", self.spec.id)),
            execution_id: Some(execution_id),
            execution_type: Some("Command".to_string()),
            baseline_id: self.spec.baseline_id.clone(),
            patch_group: self.spec.patch_group.clone(),
            asu_compliant: asu,
            last_no_reboot_install,
            counts: Counts::of(&self.truth, asu),
            patches: self.truth.clone(),
        });
    }

    pub(crate) fn is_online(&self) -> bool {
        self.spec.ping_status == "Online"
    }

    /// Whether the node's EC2 instance is stopped (see [`crate::fleet::STOPPED`]).
    pub(crate) fn is_stopped(&self) -> bool {
        self.spec.ping_status == crate::fleet::STOPPED
    }
}

impl SsmRegion {
    /// Adds a node from the fleet. Its patches are the truth; if it has a last operation, the
    /// report is a snapshot of them taken then (times missing from the fleet read as `now`).
    pub fn add_instance(&mut self, mut spec: InstanceSpec, now: DateTime<Utc>) {
        let truth = Arc::new(std::mem::take(&mut spec.patches));
        let h = wire::hash64(&spec.id);
        let report = spec.operation.take().map(|op| {
            let operation = if op.eq_ignore_ascii_case("Install") {
                "Install"
            } else {
                "Scan"
            };
            let start = spec
                .operation_start_time
                .or(spec.operation_end_time)
                .unwrap_or(now);
            let end = spec.operation_end_time.unwrap_or(start).max(start);
            let execution_id = spec.execution_id.clone().unwrap_or_else(|| {
                wire::uuid_from(&format!("execution/{}/{}", spec.id, start.timestamp()))
            });
            let asu = spec.available_security_updates_compliant;
            Report {
                operation,
                reboot_option: spec.reboot_option.clone(),
                start,
                end,
                snapshot_id: wire::uuid_from(&format!("snapshot/{}/{execution_id}", spec.id)),
                execution_id: Some(execution_id),
                execution_type: Some("Command".to_string()),
                baseline_id: spec.baseline_id.clone(),
                patch_group: spec.patch_group.clone(),
                asu_compliant: asu,
                last_no_reboot_install: (operation == "Install"
                    && spec.reboot_option == "NoReboot")
                    .then_some(start),
                counts: Counts::of(&truth, asu),
                patches: truth.clone(),
            }
        });
        spec.operation_start_time = None;
        spec.operation_end_time = None;
        spec.execution_id = None;
        let registered = now - Duration::days(30 + (h % 400) as i64);
        let offline_since = now - Duration::hours(26 + (h % 300) as i64);
        let node = Node {
            spec,
            truth,
            report,
            custom: BTreeMap::new(),
            registered,
            offline_since,
        };
        self.nodes.insert(node.spec.id.clone(), node);
    }

    /// The nodes as fleet specs: true patch states and the last operation.
    pub fn export(&self) -> Vec<InstanceSpec> {
        self.nodes
            .values()
            .map(|n| {
                let mut spec = n.spec.clone();
                spec.patches = n.truth.as_ref().clone();
                if let Some(r) = &n.report {
                    spec.operation = Some(r.operation.to_string());
                    spec.reboot_option = r.reboot_option.clone();
                    spec.operation_start_time = Some(r.start);
                    spec.operation_end_time = Some(r.end);
                    spec.execution_id = r.execution_id.clone();
                }
                spec
            })
            .collect()
    }

    /// Number of managed nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no managed nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The true patches of a node, to change them behind Patch Manager's back (an operator
    /// patching by hand, a package removed). Reports are untouched until the next Scan/Install.
    pub fn true_patches_mut(&mut self, instance_id: &str) -> Option<&mut Vec<PatchSpec>> {
        self.nodes
            .get_mut(instance_id)
            .map(|n| Arc::make_mut(&mut n.truth))
    }

    /// Changes a node's agent status (`Online`, `ConnectionLost`, `Inactive`).
    pub fn set_ping_status(&mut self, instance_id: &str, status: &str, now: DateTime<Utc>) -> bool {
        match self.nodes.get_mut(instance_id) {
            Some(n) => {
                if n.is_online() && status != "Online" {
                    n.offline_since = now;
                }
                n.spec.ping_status = status.to_string();
                true
            }
            None => false,
        }
    }
}
