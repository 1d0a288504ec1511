//! What Security Hub must hold for a fleet under the default policy, computed from the fleet's own
//! patch states (awsim's truth), not from patchhub's reader or mapping: per-patch findings for
//! every non-compliant patch of a scanned node, one roll-up per scanned node.

use std::collections::BTreeSet;

use awsim::Fleet;
use awsim::fleet::{AccountSpec, InstanceSpec};
use patchhub_core::finding::FindingKind;
use patchhub_core::mapping::finding_id;

/// Patch states that make a node non-compliant whatever its baseline says.
const NON_COMPLIANT: &[&str] = &[
    "MISSING",
    "FAILED",
    "INSTALLED_PENDING_REBOOT",
    "INSTALLED_REJECTED",
];

/// The account of the fleet (panics when the fleet has none such).
pub fn account<'a>(fleet: &'a Fleet, account: &str) -> &'a AccountSpec {
    fleet
        .accounts
        .iter()
        .find(|a| a.id == account)
        .unwrap_or_else(|| panic!("account {account} in the fleet"))
}

/// The nodes of the account in the Region with patch compliance (scanned at least once).
pub fn scanned<'a>(
    fleet: &'a Fleet,
    account_id: &str,
    region: &'a str,
) -> impl Iterator<Item = &'a InstanceSpec> {
    account(fleet, account_id)
        .instances
        .iter()
        .filter(move |i| i.region == region && i.operation.is_some())
}

/// Scanned, online nodes with at least `missing` MISSING patches, in fleet order.
pub fn nodes_with_missing<'a>(
    fleet: &'a Fleet,
    account_id: &str,
    region: &'a str,
    missing: usize,
) -> Vec<&'a InstanceSpec> {
    scanned(fleet, account_id, region)
        .filter(|i| {
            i.ping_status == "Online"
                && i.patches.iter().filter(|p| p.state == "MISSING").count() >= missing
        })
        .collect()
}

fn patch_ids_where(
    fleet: &Fleet,
    account_id: &str,
    region: &str,
    node: Option<&str>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for i in scanned(fleet, account_id, region).filter(|i| node.is_none_or(|n| n == i.id)) {
        for p in &i.patches {
            let nc = NON_COMPLIANT.contains(&p.state.as_str())
                || (p.state == "AVAILABLE_SECURITY_UPDATE"
                    && !i.available_security_updates_compliant);
            if nc {
                out.insert(finding_id(
                    "aws",
                    account_id,
                    region,
                    &i.id,
                    FindingKind::Patch,
                    Some(&p.id),
                ));
            }
        }
    }
    out
}

/// Per-patch finding ids of one account and Region.
pub fn patch_ids(fleet: &Fleet, account_id: &str, region: &str) -> BTreeSet<String> {
    patch_ids_where(fleet, account_id, region, None)
}

/// Per-patch finding ids of one node.
pub fn patch_ids_of(fleet: &Fleet, account_id: &str, region: &str, node: &str) -> BTreeSet<String> {
    patch_ids_where(fleet, account_id, region, Some(node))
}

/// Roll-up ids of one account and Region: one per scanned node.
pub fn rollup_ids(fleet: &Fleet, account_id: &str, region: &str) -> BTreeSet<String> {
    scanned(fleet, account_id, region)
        .map(|i| finding_id("aws", account_id, region, &i.id, FindingKind::Rollup, None))
        .collect()
}

/// Every patch and roll-up finding id that should be active in one account and Region.
pub fn truth(fleet: &Fleet, account_id: &str, region: &str) -> BTreeSet<String> {
    let mut t = patch_ids(fleet, account_id, region);
    t.extend(rollup_ids(fleet, account_id, region));
    t
}

/// What any run, finished or not, may leave between two truths: no id stored twice, nothing
/// outside the old and the new truth, and nothing archived that is true in both. `name` says
/// which scenario failed.
pub fn assert_between(
    name: &str,
    now: &BTreeSet<String>,
    duplicated: bool,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) {
    assert!(!duplicated, "{name}: a finding id stored twice");
    let junk: Vec<_> = now
        .iter()
        .filter(|id| !before.contains(*id) && !after.contains(*id))
        .collect();
    assert!(
        junk.is_empty(),
        "{name}: findings outside old and new truth: {junk:?}"
    );
    let wrongly_archived: Vec<_> = before
        .intersection(after)
        .filter(|id| !now.contains(*id))
        .collect();
    assert!(
        wrongly_archived.is_empty(),
        "{name}: archived though true before and after: {wrongly_archived:?}"
    );
}
