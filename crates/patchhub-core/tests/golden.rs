//! Golden ASFF JSON for representative findings. `UPDATE_GOLDEN=1 cargo test` rewrites them;
//! review the diff before committing.

mod common;

use std::path::PathBuf;

use chrono::Duration;
use common::*;
use patchhub_core::*;

fn golden(name: &str, finding: &Finding) {
    assert_eq!(
        finding.validate(),
        Ok(()),
        "{name} must be a valid ASFF finding"
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    let actual = serde_json::to_string_pretty(finding).unwrap() + "\n";
    let expected = compare_golden(name, &path, &actual);
    // The golden file also parses back into the same finding.
    let back: Finding = serde_json::from_str(&expected).unwrap();
    assert_eq!(&back, finding);
}

fn patch(nc: &NodeCompliance, id: &str) -> Finding {
    patch_findings(nc, &FindingPolicy::default(), now())
        .into_iter()
        .find(|f| f.patch_id() == Some(id))
        .unwrap_or_else(|| panic!("no finding for {id}"))
}

#[test]
fn windows_kb_with_cves() {
    let f = patch(&windows(), "KB5031364");
    assert_eq!(f.title, "KB5031364 missing on web-1 (i-0123456789abcdef0)");
    assert_eq!(f.vulnerabilities.len(), 7);
    golden("windows_kb_cves", &f);
}

#[test]
fn linux_package() {
    let f = patch(&linux(), "openssl.x86_64");
    // UNSPECIFIED compliance severity falls back to the vendor's "Important".
    assert_eq!(f.severity.label, Some(SeverityLabel::High));
    golden("linux_package", &f);
}

#[test]
fn pending_reboot() {
    let f = patch(&linux(), "kernel.x86_64");
    assert_eq!(
        f.title,
        "Pending reboot: kernel.x86_64 on db-2 (i-0fedcba9876543210)"
    );
    assert_eq!(
        f.product_fields["patchhub/PatchState"],
        "INSTALLED_PENDING_REBOOT"
    );
    golden("pending_reboot", &f);
}

#[test]
fn hybrid_mi_node() {
    let f = patch(&hybrid(), "libc6");
    assert_eq!(f.resources[0].r#type, "Other");
    golden("hybrid_mi_node", &f);
}

#[test]
fn stale_node() {
    let mut node = linux_node();
    node.ping_status = PingStatus::ConnectionLost;
    let now = scan_end() + Duration::days(10);
    let f = stale_finding(&node, &FindingPolicy::default(), now).expect("stale");
    golden("stale_node", &f);
}

#[test]
fn rollup() {
    let f = rollup_finding(&windows_node(), &FindingPolicy::default(), now()).expect("rollup");
    golden("rollup", &f);
}
