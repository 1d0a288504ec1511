//! What every finding of a node shares: the node's label and phrases, its ASFF resource and
//! ProductFields, the identity checks, and the draft every kind fills and `finish`es into a
//! sealed, size-checked finding.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::ids::{finding_id, product_arn};
use crate::finding::{
    COMPANY_NAME, Compliance, ComplianceStatus, Finding, FindingKind, FindingProviderFields,
    FindingProviderSeverity, FindingSeverity, PRODUCT_NAME, PatchSummary, Recommendation,
    RecordState, Remediation, Resource, ResourceDetails, SeverityLabel, TYPE_CVE,
    TYPE_PATCH_MANAGEMENT, Vulnerability, fields, fit_and_seal,
};
use crate::limits;
use crate::model::{ManagedNode, Severity};
use crate::text::{clip, one_line, rfc3339, to_millis, truncate};

/// Patch Manager documentation, the default remediation link.
pub const PATCH_MANAGER_URL: &str =
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/patch-manager.html";

/// Cap for ProductFields values built from free text: real values are far shorter, and the
/// cap keeps 50 fields of 4-byte characters well inside 240 KB.
pub(super) const FIELD_VALUE_CAP: usize = 512;
/// Cap for `Details.Other` values.
const OTHER_VALUE_CAP: usize = 256;

/// Node facts every finding of the node repeats, computed once.
pub(super) struct NodeCtx<'a> {
    pub(super) node: &'a ManagedNode,
    /// "web-1 (i-0123…)" or "i-0123…".
    pub(super) label: String,
    /// ", Microsoft Windows Server 2022" or "".
    pub(super) platform_suffix: String,
    /// "execution 1234" or "execution id unknown".
    pub(super) execution_phrase: String,
    /// "Baseline pb-…, patch group prod".
    pub(super) baseline_phrase: String,
    pub(super) resource: Resource,
}

impl<'a> NodeCtx<'a> {
    pub(super) fn new(node: &'a ManagedNode) -> Self {
        let id = clip(&node.instance_id, 64);
        let name = node
            .name
            .as_deref()
            .map(|n| clip(n, 64))
            .filter(|n| !n.is_empty());
        let label = match name {
            Some(n) if n != id => format!("{n} ({id})"),
            _ => id,
        };
        let platform = clip(&node.platform_name, 100);
        let platform_suffix = if platform.is_empty() {
            String::new()
        } else {
            format!(", {platform}")
        };
        let execution_phrase = match node
            .last_operation
            .as_ref()
            .and_then(|o| o.execution_id.as_deref())
        {
            Some(e) if !one_line(e).is_empty() => format!("execution {}", clip(e, 100)),
            _ => "execution id unknown".to_string(),
        };
        let baseline = node
            .baseline_id
            .as_deref()
            .map(|b| clip(b, 128))
            .filter(|b| !b.is_empty());
        let group = node
            .patch_group
            .as_deref()
            .map(|g| clip(g, 128))
            .filter(|g| !g.is_empty());
        let baseline_phrase = format!(
            "Baseline {}, {}",
            baseline.as_deref().unwrap_or("unknown"),
            group.map_or("no patch group".to_string(), |g| format!("patch group {g}"))
        );
        NodeCtx {
            node,
            label,
            platform_suffix,
            execution_phrase,
            baseline_phrase,
            resource: node_resource(node),
        }
    }

    /// The `Id` of the node's finding of `kind` (and patch, for patch findings).
    pub(super) fn finding_id(&self, kind: FindingKind, patch_id: Option<&str>) -> String {
        let n = self.node;
        finding_id(
            &n.partition,
            &n.account_id,
            &n.region,
            &n.instance_id,
            kind,
            patch_id,
        )
    }

    /// Node-level ProductFields shared by all kinds.
    pub(super) fn put_node_fields(&self, pf: &mut BTreeMap<String, String>) {
        let node = self.node;
        put(pf, fields::NODE_ID, &node.instance_id);
        if let Some(b) = &node.baseline_id {
            put(pf, fields::BASELINE_ID, b);
        }
        if let Some(g) = &node.patch_group {
            put(pf, fields::PATCH_GROUP, g);
        }
        if let Some(op) = &node.last_operation {
            put(pf, fields::SCAN_TIME, &rfc3339(op.end));
            put(pf, fields::OPERATION, op.operation.as_str());
            if let Some(e) = &op.execution_id {
                put(pf, fields::EXECUTION_ID, e);
            }
        }
    }
}

/// The content every kind assembles, then `finish`ed into a sealed, size-checked finding.
pub(super) struct Draft {
    pub(super) kind: FindingKind,
    pub(super) id: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) recommendation: String,
    pub(super) severity: Severity,
    pub(super) original: String,
    pub(super) compliance: ComplianceStatus,
    pub(super) product_fields: BTreeMap<String, String>,
    pub(super) resource: Resource,
    pub(super) patch_summary: Option<PatchSummary>,
    pub(super) vulnerabilities: Vec<Vulnerability>,
    pub(super) first_observed: Option<DateTime<Utc>>,
}

impl Draft {
    pub(super) fn finish(self, node: &ManagedNode, now: DateTime<Utc>) -> Finding {
        let label = SeverityLabel::from(self.severity);
        let original = truncate(&one_line(&self.original), 64);
        let mut types = vec![TYPE_PATCH_MANAGEMENT.to_string()];
        if !self.vulnerabilities.is_empty() {
            types.push(TYPE_CVE.to_string());
        }
        let title = truncate(&self.title, limits::MAX_TITLE);
        let description = truncate(&self.description, limits::MAX_DESCRIPTION);
        let mut f = Finding {
            schema_version: limits::SCHEMA_VERSION.to_string(),
            id: self.id,
            product_arn: product_arn(&node.partition, &node.region, &node.account_id),
            product_name: Some(PRODUCT_NAME.to_string()),
            company_name: Some(COMPANY_NAME.to_string()),
            region: Some(node.region.clone()),
            generator_id: self.kind.generator_id().to_string(),
            aws_account_id: node.account_id.clone(),
            types: types.clone(),
            first_observed_at: self.first_observed.map(to_millis),
            last_observed_at: Some(now),
            created_at: now,
            updated_at: now,
            severity: FindingSeverity {
                label: Some(label),
                normalized: Some(label.normalized()),
                original: Some(original.clone()),
            },
            title: if title.is_empty() {
                "Patch compliance finding".to_string()
            } else {
                title
            },
            description: if description.is_empty() {
                "Patch compliance finding.".to_string()
            } else {
                description
            },
            remediation: Some(Remediation {
                recommendation: Recommendation {
                    text: Some(truncate(
                        &self.recommendation,
                        limits::MAX_RECOMMENDATION_TEXT,
                    )),
                    url: Some(PATCH_MANAGER_URL.to_string()),
                },
            }),
            source_url: None,
            product_fields: self.product_fields,
            resources: vec![self.resource],
            compliance: Some(Compliance {
                status: self.compliance,
                related_requirements: Vec::new(),
            }),
            patch_summary: self.patch_summary,
            vulnerabilities: self.vulnerabilities,
            finding_provider_fields: Some(FindingProviderFields {
                severity: Some(FindingProviderSeverity {
                    label: Some(label),
                    original: Some(original),
                }),
                types,
            }),
            record_state: RecordState::Active,
        };
        fit_and_seal(&mut f);
        f
    }
}

/// Whether the node's identity can appear in an importable finding. The AWS crate fills
/// these from STS and SSM, so a failure here means misuse, and the node yields no finding
/// rather than one Security Hub would reject.
pub(super) fn identity_ok(node: &ManagedNode) -> bool {
    let account =
        node.account_id.len() == 12 && node.account_id.bytes().all(|b| b.is_ascii_digit());
    let region = (1..=limits::MAX_REGION).contains(&node.region.len())
        && node
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let partition = (1..=32).contains(&node.partition.len())
        && node
            .partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    let id = (1..=128).contains(&node.instance_id.chars().count())
        && !node
            .instance_id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/');
    account && region && partition && id
}

/// The node as an ASFF resource: `AwsEc2Instance` with the instance ARN for `i-` nodes,
/// `Other` with the managed-instance ARN for the rest.
fn node_resource(node: &ManagedNode) -> Resource {
    let mut other = BTreeMap::new();
    let mut put_other = |k: &str, v: &str| {
        let v = clip(v, OTHER_VALUE_CAP);
        if !v.is_empty() {
            other.insert(k.to_string(), v);
        }
    };
    put_other("ManagedNodeId", &node.instance_id);
    if let Some(n) = &node.name {
        put_other("Name", n);
    }
    put_other("Platform", node.platform.as_str());
    put_other("PlatformName", &node.platform_name);
    // Tags Security Hub would refuse are rewritten or left out (see `tags`).
    let (tags, _) = super::tags::resource_tags(&node.tags);
    Resource {
        r#type: if node.is_ec2() {
            "AwsEc2Instance"
        } else {
            "Other"
        }
        .to_string(),
        id: node.arn(),
        partition: limits::PARTITIONS
            .contains(&node.partition.as_str())
            .then(|| node.partition.clone()),
        region: Some(node.region.clone()),
        tags,
        details: Some(ResourceDetails {
            aws_ec2_instance: None,
            other,
            aws_ssm_patch_compliance: None,
        }),
    }
}

/// Inserts a cleaned, capped ProductFields value; empty values are left out (the model
/// requires non-empty strings).
pub(super) fn put(pf: &mut BTreeMap<String, String>, key: &str, value: &str) {
    let v = clip(value, FIELD_VALUE_CAP);
    if !v.is_empty() {
        pf.insert(key.to_string(), v);
    }
}
