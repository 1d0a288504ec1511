//! What Security Hub holds, read back through the real SDK as a user would see it.

use std::collections::BTreeSet;

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, StringFilter, StringFilterComparison,
};
use awsim::{Awsim, Fleet};
use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_PREFIX, GENERATOR_ROLLUP, fields};

use crate::oracle;

/// Every patchhub finding `account` sees in `region` (its own, and its members' where it is an
/// administrator), active and archived, every page.
pub async fn findings(sim: &Awsim, account: &str, region: &str) -> Vec<AwsSecurityFinding> {
    let client = aws_sdk_securityhub::Client::new(&crate::sdk(sim, account, region).await);
    let filters = AwsSecurityFindingFilters::builder()
        .generator_id(
            StringFilter::builder()
                .value(GENERATOR_PREFIX)
                .comparison(StringFilterComparison::Prefix)
                .build(),
        )
        .build();
    let mut pages = client
        .get_findings()
        .filters(filters)
        .max_results(100)
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(f) = pages.next().await {
        out.push(f.expect("GetFindings"));
    }
    out
}

/// Whether the finding's record state is ACTIVE.
pub fn is_active(f: &AwsSecurityFinding) -> bool {
    f.record_state().map(|r| r.as_str()) == Some("ACTIVE")
}

/// The node a finding is about (`patchhub/NodeId`).
pub fn node_of(f: &AwsSecurityFinding) -> Option<&str> {
    f.product_fields()
        .and_then(|p| p.get(fields::NODE_ID))
        .map(String::as_str)
}

/// The node a finding id names (`…/NODE/patch/…` or `…/NODE/rollup`).
pub fn node_in_id(id: &str) -> Option<&str> {
    id.split('/')
        .find(|p| p.starts_with("i-") || p.starts_with("mi-"))
}

fn active_where(
    found: &[AwsSecurityFinding],
    generator: &str,
    node: Option<&str>,
) -> BTreeSet<String> {
    found
        .iter()
        .filter(|f| f.generator_id() == Some(generator) && is_active(f))
        .filter(|f| node.is_none() || node_of(f) == node)
        .filter_map(|f| f.id().map(str::to_string))
        .collect()
}

/// Ids of the active findings of one generator.
pub fn active_ids(found: &[AwsSecurityFinding], generator: &str) -> BTreeSet<String> {
    active_where(found, generator, None)
}

/// Ids of the active findings of one generator about one node.
pub fn active_ids_of(
    found: &[AwsSecurityFinding],
    generator: &str,
    node: &str,
) -> BTreeSet<String> {
    active_where(found, generator, Some(node))
}

/// Active patch and roll-up finding ids of one account and Region (compare with
/// [`crate::oracle::truth`]), and whether any id is stored twice.
pub async fn active(sim: &Awsim, account: &str, region: &str) -> (BTreeSet<String>, bool) {
    let found = findings(sim, account, region).await;
    let ids: Vec<&str> = found.iter().filter_map(|f| f.id()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    let mut act = active_ids(&found, GENERATOR_PATCH);
    act.extend(active_ids(&found, GENERATOR_ROLLUP));
    (act, ids.len() != unique.len())
}

/// Asserts that the active patch and roll-up findings of one account and Region are exactly
/// `expected` (see [`crate::oracle::truth`]), none stored twice; `what` names the moment.
pub async fn assert_active(
    sim: &Awsim,
    account: &str,
    region: &str,
    expected: &BTreeSet<String>,
    what: &str,
) {
    let (now, duplicated) = active(sim, account, region).await;
    assert!(!duplicated, "{what}: a finding id stored twice");
    assert_eq!(&now, expected, "{what}");
}

/// Asserts that one account and Region hold exactly the active patch findings and roll-ups the
/// oracle expects of `fleet`; returns every patchhub finding they hold. `what` names the moment.
pub async fn assert_synced(
    sim: &Awsim,
    fleet: &Fleet,
    account: &str,
    region: &str,
    what: &str,
) -> Vec<AwsSecurityFinding> {
    let found = findings(sim, account, region).await;
    assert_eq!(
        active_ids(&found, GENERATOR_PATCH),
        oracle::patch_ids(fleet, account, region),
        "{what}: patch findings of {account} in {region}"
    );
    assert_eq!(
        active_ids(&found, GENERATOR_ROLLUP),
        oracle::rollup_ids(fleet, account, region),
        "{what}: roll-ups of {account} in {region}"
    );
    found
}
