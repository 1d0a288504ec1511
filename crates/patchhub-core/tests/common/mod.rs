//! Fixtures shared by the integration tests: representative nodes and a Security Hub stand-in.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use patchhub_core::*;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "eu-west-1";

pub fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// The scan every fixture reports: 2024-03-01 10:00 UTC.
pub fn scan_end() -> DateTime<Utc> {
    t(2024, 3, 1, 10, 0)
}

/// Two hours after the scan: fresh.
pub fn now() -> DateTime<Utc> {
    scan_end() + Duration::hours(2)
}

/// The parts of a [`PatchItem`] in field order, as the property strategies generate them.
pub type PatchParts = (
    String,
    String,
    String,
    String,
    Severity,
    PatchState,
    Vec<String>,
    Option<DateTime<Utc>>,
);

/// A patch from its parts in field order.
pub fn patch_from(parts: PatchParts) -> PatchItem {
    let (id, title, classification, vendor_severity, severity, state, cve_ids, installed_time) =
        parts;
    PatchItem {
        id,
        title,
        classification,
        vendor_severity,
        severity,
        state,
        cve_ids,
        installed_time,
    }
}

pub fn op(end: DateTime<Utc>, execution: &str) -> PatchOperation {
    PatchOperation {
        operation: Operation::Scan,
        start: end - Duration::minutes(4),
        end,
        execution_id: Some(execution.to_string()),
        reboot_option: Some("RebootIfNeeded".to_string()),
    }
}

/// An online node in [`ACCOUNT`]/[`REGION`] whose last operation is a scan ending at
/// [`scan_end`].
fn scanned_node(
    instance_id: &str,
    platform: Platform,
    platform_name: &str,
    name: &str,
    baseline_id: &str,
    execution: &str,
    counts: PatchCounts,
) -> ManagedNode {
    let mut n = ManagedNode::new(ACCOUNT, REGION, "aws", instance_id);
    n.platform = platform;
    n.platform_name = platform_name.into();
    n.name = Some(name.into());
    n.ping_status = PingStatus::Online;
    n.baseline_id = Some(baseline_id.into());
    n.last_operation = Some(op(scan_end(), execution));
    n.counts = counts;
    n
}

pub fn windows_node() -> ManagedNode {
    let counts = PatchCounts {
        installed: 42,
        installed_other: 3,
        missing: 2,
        failed: 1,
        not_applicable: 120,
        critical_non_compliant: 1,
        security_non_compliant: 2,
        other_non_compliant: 1,
        ..Default::default()
    };
    let mut n = scanned_node(
        "i-0123456789abcdef0",
        Platform::Windows,
        "Microsoft Windows Server 2022 Datacenter",
        "web-1",
        "pb-0a1b2c3d4e5f60718",
        "0b6b8e2c-5d1e-4a7b-9c3d-2f1e0a9b8c7d",
        counts,
    );
    n.patch_group = Some("prod-web".into());
    n.tags.insert("Name".into(), "web-1".into());
    n.tags.insert("Env".into(), "prod".into());
    n
}

pub fn linux_node() -> ManagedNode {
    let counts = PatchCounts {
        installed: 512,
        missing: 1,
        installed_pending_reboot: 1,
        security_non_compliant: 2,
        ..Default::default()
    };
    let mut n = scanned_node(
        "i-0fedcba9876543210",
        Platform::Linux,
        "Amazon Linux",
        "db-2",
        "pb-0c50b9a1f8e1d3a2b",
        "7e0f1d2c-3b4a-4958-8766-554433221100",
        counts,
    );
    n.patch_group = Some("prod-db".into());
    n.tags.insert("Env".into(), "prod".into());
    n
}

pub fn hybrid_node() -> ManagedNode {
    let counts = PatchCounts {
        installed: 800,
        missing: 1,
        other_non_compliant: 1,
        ..Default::default()
    };
    scanned_node(
        "mi-0123456789abcdef0",
        Platform::Linux,
        "Ubuntu",
        "onprem-build-01",
        "pb-0ubuntu0default00",
        "c0ffee00-1234-4abc-8def-0123456789ab",
        counts,
    )
}

pub fn kb_missing() -> PatchItem {
    let mut p = PatchItem::new("KB5031364", PatchState::Missing, Severity::Critical);
    p.title = "2023-10 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5031364)".into();
    p.classification = "SecurityUpdates".into();
    p.vendor_severity = "Critical".into();
    p.cve_ids = [
        "CVE-2023-41763",
        "CVE-2023-36563",
        "CVE-2023-44487",
        "CVE-2023-36594",
        "CVE-2023-38159",
        "CVE-2023-36557",
        "CVE-2023-36576",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    p
}

pub fn kb_failed() -> PatchItem {
    let mut p = PatchItem::new("KB5032198", PatchState::Failed, Severity::Medium);
    p.title = "2023-11 Cumulative Update for .NET Framework".into();
    p.classification = "Updates".into();
    p.vendor_severity = "Moderate".into();
    p
}

pub fn openssl_missing() -> PatchItem {
    let mut p = PatchItem::new("openssl.x86_64", PatchState::Missing, Severity::Unspecified);
    p.title = "openssl.x86_64:1:1.0.2k-24.amzn2.0.10".into();
    p.classification = "Security".into();
    p.vendor_severity = "Important".into();
    p.cve_ids = vec!["CVE-2023-5678,CVE-2023-3817".into()];
    p
}

pub fn kernel_pending_reboot() -> PatchItem {
    let mut p = PatchItem::new(
        "kernel.x86_64",
        PatchState::InstalledPendingReboot,
        Severity::Unspecified,
    );
    p.title = "kernel.x86_64:0:5.10.205-195.804.amzn2".into();
    p.classification = "Security".into();
    p.vendor_severity = "Important".into();
    p.installed_time = Some(t(2024, 2, 28, 3, 15));
    p
}

pub fn installed(id: &str) -> PatchItem {
    PatchItem::new(id, PatchState::Installed, Severity::Critical)
}

pub fn windows() -> NodeCompliance {
    NodeCompliance {
        node: windows_node(),
        patches: vec![kb_missing(), kb_failed(), installed("KB5030216")],
    }
}

pub fn linux() -> NodeCompliance {
    NodeCompliance {
        node: linux_node(),
        patches: vec![
            openssl_missing(),
            kernel_pending_reboot(),
            installed("bash.x86_64"),
        ],
    }
}

pub fn hybrid() -> NodeCompliance {
    let mut p = PatchItem::new("libc6", PatchState::Missing, Severity::Medium);
    p.title = "libc6 2.35-0ubuntu3.6".into();
    p.classification = "Security".into();
    p.vendor_severity = "Medium".into();
    p.cve_ids = vec!["CVE-2023-4911".into()];
    NodeCompliance {
        node: hybrid_node(),
        patches: vec![p],
    }
}

/// A minimal Security Hub: stores findings by Id, ignores imports whose `UpdatedAt` does
/// not move forward (and says so), and hands findings back through JSON as GetFindings would.
#[derive(Default)]
pub struct FakeHub {
    pub store: BTreeMap<String, Finding>,
    pub ignored: usize,
}

impl FakeHub {
    pub fn apply(&mut self, plan: &Plan) {
        for f in plan.to_import() {
            assert_eq!(
                f.validate(),
                Ok(()),
                "imported finding {} must be valid",
                f.id
            );
            assert_eq!(f.fingerprint(), Some(f.compute_fingerprint().as_str()));
            match self.store.get(&f.id) {
                Some(old) if f.updated_at <= old.updated_at => self.ignored += 1,
                _ => {
                    self.store.insert(f.id.clone(), f.clone());
                }
            }
        }
    }

    /// Read back through JSON, adding Security Hub's own product fields.
    pub fn read(&self) -> Vec<Finding> {
        self.store
            .values()
            .map(|f| {
                let json = serde_json::to_string(f).unwrap();
                let mut back: Finding = serde_json::from_str(&json).unwrap();
                back.product_fields.insert(
                    "aws/securityhub/FindingId".into(),
                    format!("arn:aws:securityhub:::{}", f.id),
                );
                back.product_fields
                    .insert("aws/securityhub/ProductName".into(), "Default".into());
                back
            })
            .collect()
    }
}

pub fn scans_of(ncs: &[NodeCompliance]) -> BTreeMap<String, Option<DateTime<Utc>>> {
    ncs.iter()
        .map(|nc| (nc.node.instance_id.clone(), nc.node.last_scan_end()))
        .collect()
}

pub fn desired_of(
    ncs: &[NodeCompliance],
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    ncs.iter()
        .flat_map(|nc| findings_for_node(nc, policy, now))
        .collect()
}

pub fn plan_all(
    scope: &Scope,
    ncs: &[NodeCompliance],
    policy: &FindingPolicy,
    existing: Vec<Finding>,
    now: DateTime<Utc>,
) -> Plan {
    plan(PlanInput {
        scope,
        desired: desired_of(ncs, policy, now),
        existing,
        node_scans: scans_of(ncs),
        now,
        refresh_after: policy.refresh_after,
    })
}

/// Compares `actual` with the golden file at `path` and returns the file's text;
/// `UPDATE_GOLDEN=1` rewrites the file instead (review the diff before committing).
pub fn compare_golden(name: &str, path: &std::path::Path, actual: &str) -> String {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return actual.to_string();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from {}; run with UPDATE_GOLDEN=1 to accept.\n--- actual ---\n{actual}",
        path.display()
    );
    expected
}
