//! Pure domain of patchhub: SSM Patch Manager compliance in, ASFF findings for Security Hub out
//! (and the same findings as OCSF events, [`ocsf`]). Model, finding policy, ASFF mapping, a
//! reconciliation planner and the OCSF rendering; no I/O, no SDK types.
//!
//! The AWS crate fills [`ManagedNode`]s and [`PatchItem`]s from SSM, calls
//! [`findings_for_node`] under a [`FindingPolicy`], reads the scope's existing findings back
//! from Security Hub, and imports what [`plan`] says. Ids are deterministic
//! ([`mapping::finding_id`]), so a finding is updated in place run after run; content
//! fingerprints make unchanged findings free to skip; resolved findings are archived; and a
//! run only ever touches findings inside its [`Scope`].
//!
//! # Example
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use patchhub_core::*;
//!
//! let scan_end = Utc.with_ymd_and_hms(2024, 3, 1, 10, 0, 0).unwrap();
//! let now = scan_end + Duration::hours(2);
//!
//! // What the AWS crate reads from SSM.
//! let mut node = ManagedNode::new("123456789012", "eu-west-1", "aws", "i-0123456789abcdef0");
//! node.platform = Platform::Windows;
//! node.platform_name = "Microsoft Windows Server 2022 Datacenter".into();
//! node.name = Some("web-1".into());
//! node.ping_status = PingStatus::Online;
//! node.baseline_id = Some("pb-0123456789abcdef0".into());
//! node.patch_group = Some("prod".into());
//! node.last_operation = Some(PatchOperation {
//!     operation: Operation::Scan,
//!     start: scan_end - Duration::minutes(5),
//!     end: scan_end,
//!     execution_id: Some("11111111-2222-3333-4444-555555555555".into()),
//!     reboot_option: Some("RebootIfNeeded".into()),
//! });
//! node.counts.installed = 40;
//! node.counts.missing = 1;
//! node.counts.critical_non_compliant = 1;
//! node.counts.security_non_compliant = 1;
//! let mut kb = PatchItem::new("KB5031364", PatchState::Missing, Severity::Critical);
//! kb.title = "2023-10 Cumulative Update for Windows Server 2022".into();
//! kb.classification = "SecurityUpdates".into();
//! kb.cve_ids = vec!["CVE-2023-36563".into(), "CVE-2023-41763".into()];
//! let nc = NodeCompliance { node, patches: vec![kb] };
//!
//! // Map under the default policy: a roll-up and one patch finding.
//! let policy = FindingPolicy::default();
//! policy.validate().unwrap();
//! let desired = findings_for_node(&nc, &policy, now);
//! assert_eq!(desired.len(), 2);
//! let patch = desired.iter().find(|f| f.kind() == Some(FindingKind::Patch)).unwrap();
//! assert_eq!(patch.title, "KB5031364 missing on web-1 (i-0123456789abcdef0)");
//! assert_eq!(patch.id, "patchhub/aws/123456789012/eu-west-1/i-0123456789abcdef0/patch/KB5031364");
//! assert_eq!(patch.severity.label, Some(SeverityLabel::Critical));
//! assert_eq!(patch.vulnerabilities.len(), 2);
//! assert!(desired.iter().all(|f| f.validate().is_ok()));
//!
//! // First run: Security Hub holds nothing, so everything is created.
//! let scope = Scope::all("123456789012", "eu-west-1");
//! let scans = [(nc.node.instance_id.clone(), nc.node.last_scan_end())].into_iter().collect();
//! let first = plan(PlanInput {
//!     scope: &scope,
//!     desired: desired.clone(),
//!     existing: vec![],
//!     node_scans: scans,
//!     now,
//!     refresh_after: policy.refresh_after,
//! });
//! assert_eq!(first.counts().create, 2);
//! let stored: Vec<Finding> = first.to_import().cloned().collect();
//! // The JSON is what BatchImportFindings takes.
//! let json = serde_json::to_value(&stored[0]).unwrap();
//! assert_eq!(json["SchemaVersion"], "2018-10-08");
//!
//! // Next run, an hour later, the patch got installed: the patch finding is resolved
//! // (archived, PASSED) and the roll-up updated to PASSED, keeping its CreatedAt.
//! let mut nc2 = nc.clone();
//! let later = scan_end + Duration::hours(3);
//! nc2.node.last_operation.as_mut().unwrap().end = later;
//! nc2.node.counts.missing = 0;
//! nc2.node.counts.installed = 41;
//! nc2.node.counts.critical_non_compliant = 0;
//! nc2.node.counts.security_non_compliant = 0;
//! nc2.patches[0].state = PatchState::Installed;
//! let scans = [(nc2.node.instance_id.clone(), Some(later))].into_iter().collect();
//! let second = plan(PlanInput {
//!     scope: &scope,
//!     desired: findings_for_node(&nc2, &policy, later),
//!     existing: stored,
//!     node_scans: scans,
//!     now: later,
//!     refresh_after: policy.refresh_after,
//! });
//! let c = second.counts();
//! assert_eq!((c.create, c.update, c.resolve), (0, 1, 1));
//! let resolved = &second.resolve[0];
//! assert_eq!(resolved.record_state, RecordState::Archived);
//! assert_eq!(resolved.compliance.as_ref().unwrap().status, ComplianceStatus::Passed);
//! // CreatedAt is the end of the scan that first reported the node, not the run's clock, so a
//! // run that cannot see its predecessor's import yet writes the same date.
//! assert_eq!(second.update[0].created_at, scan_end);
//! ```

pub mod deadline;
pub mod finding;
pub mod limits;
pub mod mapping;
pub mod model;
pub mod ocsf;
pub mod policy;
pub mod reconcile;
pub mod report;
pub mod text;

pub use finding::{
    ComplianceStatus, Finding, FindingKind, FindingSeverity, GENERATOR_PATCH, GENERATOR_PREFIX,
    GENERATOR_ROLLUP, GENERATOR_STALE, LimitViolation, RecordState, SeverityLabel, fields,
};
pub use mapping::{
    finding_id, findings_for_node, patch_findings, product_arn, rollup_finding, stale_finding,
};
pub use model::{
    ManagedNode, NodeCompliance, Operation, ParseEnumError, PatchCounts, PatchItem, PatchOperation,
    PatchState, PingStatus, Platform, Severity,
};
pub use policy::{FindingPolicy, PolicyError, StaleReason, TagFilter, parse_days};
pub use reconcile::{Change, NodeSet, Plan, PlanCounts, PlanInput, Scope, plan};
