//! ASFF mapping: one node and its patches, under a policy, become findings.
//!
//! Three kinds: a per-(node, patch) finding for each non-compliant patch the policy admits,
//! a per-node roll-up, and a stale-scan finding for nodes that stopped reporting. Output is
//! a pure function of the input; `now` only decides "stale or not" and fills timestamps,
//! which the content fingerprint ignores, so re-running on unchanged data yields findings
//! the planner skips. Every finding returned passes [`Finding::validate`], whatever the input.
//!
//! Layout: `ids` builds finding ids and product ARNs; `node` holds what every finding of a
//! node shares (its label, resource and ProductFields) and turns a draft into a sealed,
//! size-checked finding; `node_findings` maps the node as a whole (roll-up, stale scan);
//! `patch` maps each non-compliant patch; `tags` makes a node's tags acceptable to Security Hub.

mod ids;
mod node;
mod node_findings;
mod patch;
mod tags;

use chrono::{DateTime, Utc};

pub(crate) use ids::sha256_hex;
pub use ids::{finding_id, product_arn};
pub use node::PATCH_MANAGER_URL;
pub use node_findings::{rollup_finding, stale_finding};
pub use patch::patch_findings;
pub use tags::{TagRepairs, resource_tags};

use crate::finding::Finding;
use crate::model::NodeCompliance;
use crate::policy::FindingPolicy;

/// Every finding for one node: roll-up, stale-scan, then patch findings by `Id`.
pub fn findings_for_node(
    nc: &NodeCompliance,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(rollup_finding(&nc.node, policy, now));
    out.extend(stale_finding(&nc.node, policy, now));
    out.extend(patch_findings(nc, policy, now));
    out
}
