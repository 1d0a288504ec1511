//! Account Management `ListRegions` through the real SDK: the catalogue seen through the fleet,
//! the opt-in filter, paging, and who may ask about which account.

mod common;

use aws_sdk_account::Client;
use aws_sdk_account::types::RegionOptStatus;
use awsim::Awsim;
use awsim::fleet::{AccountSpec, Fleet};
use common::{EAST, refused};

const MGMT: &str = "100000000000";
const MEMBER: &str = "100000000001";
const VALIDATION: &str = "ValidationException";

fn fleet() -> Fleet {
    let member = AccountSpec {
        disabled_regions: vec!["ap-east-1".into(), "me-south-1".into()],
        ..common::account(MEMBER)
    };
    common::organization(MGMT, vec![common::account(MGMT), member])
}

/// awsim with the organization, and the member account's client.
async fn setup() -> (Awsim, Client) {
    let sim = common::start_loaded(&fleet()).await;
    let member = common::client(&sim, MEMBER, EAST).await;
    (sim, member)
}

async fn regions(
    c: &Client,
    account: Option<&str>,
    statuses: &[RegionOptStatus],
) -> Vec<(String, String)> {
    let mut req = c.list_regions().set_account_id(account.map(str::to_string));
    for s in statuses {
        req = req.region_opt_status_contains(s.clone());
    }
    let pages: Vec<_> = req.into_paginator().send().collect::<Vec<_>>().await;
    let mut out = Vec::new();
    for p in pages {
        for r in p.unwrap().regions() {
            out.push((
                r.region_name().unwrap().to_string(),
                r.region_opt_status().unwrap().as_str().to_string(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn enabled_regions_agree_with_what_the_router_accepts() {
    let (sim, member) = setup().await;

    let all = regions(&member, None, &[]).await;
    assert!(all.len() > 30, "the whole commercial catalogue: {all:?}");
    let status = |r: &str| all.iter().find(|(n, _)| n == r).map(|(_, s)| s.as_str());
    assert_eq!(status("us-east-1"), Some("ENABLED_BY_DEFAULT"));
    assert_eq!(status("ap-east-1"), Some("DISABLED"));
    assert_eq!(status("af-south-1"), Some("ENABLED"));
    assert_eq!(
        status("cn-north-1"),
        None,
        "other partitions are not listed"
    );

    let enabled = [RegionOptStatus::Enabled, RegionOptStatus::EnabledByDefault];
    let enabled = regions(&member, None, &enabled).await;
    assert_eq!(enabled.len(), all.len() - 2);
    // Every Region listed as enabled accepts calls; the disabled ones refuse them.
    for (r, s) in &all {
        let sts: aws_sdk_sts::Client = common::client(&sim, MEMBER, r).await;
        let ok = sts.get_caller_identity().send().await.is_ok();
        assert_eq!(ok, s != "DISABLED", "{r} is {s} but a call there ok={ok}");
    }
}

#[tokio::test]
async fn pages_of_at_most_fifty_and_bad_input_is_refused() {
    let (_sim, member) = setup().await;

    let first = member.list_regions().max_results(7).send().await.unwrap();
    assert_eq!(first.regions().len(), 7);
    let token = first.next_token().expect("more pages").to_string();
    let second = member.list_regions().max_results(7).next_token(&token);
    let second = second.send().await.unwrap();
    assert_ne!(first.regions()[0], second.regions()[0]);

    for bad in [0, 51] {
        let call = member.list_regions().max_results(bad);
        assert_eq!(refused(call.send().await), VALIDATION, "MaxResults {bad}");
    }
    let forged = member.list_regions().next_token("forged");
    assert_eq!(refused(forged.send().await), VALIDATION);
}

#[tokio::test]
async fn only_the_management_account_may_name_another_account() {
    let (sim, member) = setup().await;
    let mgmt: Client = common::client(&sim, MGMT, EAST).await;

    let seen = regions(&mgmt, Some(MEMBER), &[RegionOptStatus::Disabled]).await;
    assert_eq!(
        seen,
        vec![
            ("ap-east-1".to_string(), "DISABLED".to_string()),
            ("me-south-1".to_string(), "DISABLED".to_string())
        ]
    );
    let call = member.list_regions().account_id(MGMT);
    assert_eq!(refused(call.send().await), "AccessDeniedException");
    // The management account must ask for itself without naming itself.
    let call = mgmt.list_regions().account_id(MGMT);
    assert_eq!(refused(call.send().await), VALIDATION);
}
