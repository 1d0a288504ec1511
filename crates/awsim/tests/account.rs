//! Account Management `ListRegions` through the real SDK: the catalogue seen through the fleet,
//! the opt-in filter, paging, and who may ask about which account.

mod common;

use aws_sdk_account::types::RegionOptStatus;
use awsim::fleet::{AccountSpec, Fleet, OrgSpec};

const MGMT: &str = "100000000000";
const MEMBER: &str = "100000000001";

fn fleet() -> Fleet {
    let account = |id: &str, disabled: &[&str]| AccountSpec {
        id: id.into(),
        name: id.into(),
        email: format!("{id}@example.com"),
        status: "ACTIVE".into(),
        parent: None,
        roles: vec![],
        regions: vec!["us-east-1".into()],
        disabled_regions: disabled.iter().map(|r| r.to_string()).collect(),
        instances: vec![],
    };
    Fleet {
        organization: Some(OrgSpec {
            id: "o-example123".into(),
            management_account: MGMT.into(),
            root_id: "r-root".into(),
            organizational_units: vec![],
        }),
        accounts: vec![
            account(MGMT, &[]),
            account(MEMBER, &["ap-east-1", "me-south-1"]),
        ],
    }
}

async fn client(sim: &awsim::Awsim, account: &str) -> aws_sdk_account::Client {
    aws_sdk_account::Client::new(&common::sdk_config(sim, account, "us-east-1"))
}

/// The error code a refused `ListRegions` call answers with.
async fn refused(
    req: aws_sdk_account::operation::list_regions::builders::ListRegionsFluentBuilder,
) -> String {
    let e = req.send().await.expect_err("the call is refused");
    e.into_service_error()
        .meta()
        .code()
        .unwrap_or_default()
        .to_string()
}

async fn regions(
    c: &aws_sdk_account::Client,
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
    let sim = common::start_with(common::config_for_accounts(&[MGMT, MEMBER])).await;
    sim.load_fleet(fleet()).unwrap();
    let member = client(&sim, MEMBER).await;

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

    let enabled = regions(
        &member,
        None,
        &[RegionOptStatus::Enabled, RegionOptStatus::EnabledByDefault],
    )
    .await;
    assert_eq!(enabled.len(), all.len() - 2);
    // Every Region listed as enabled accepts calls; the disabled ones refuse them.
    for (r, s) in &all {
        let sts = aws_sdk_sts::Client::new(&common::sdk_config(&sim, MEMBER, r));
        let ok = sts.get_caller_identity().send().await.is_ok();
        assert_eq!(ok, s != "DISABLED", "{r} is {s} but a call there ok={ok}");
    }
}

#[tokio::test]
async fn pages_of_at_most_fifty_and_bad_input_is_refused() {
    let sim = common::start_with(common::config_for_accounts(&[MGMT, MEMBER])).await;
    sim.load_fleet(fleet()).unwrap();
    let member = client(&sim, MEMBER).await;

    let first = member.list_regions().max_results(7).send().await.unwrap();
    assert_eq!(first.regions().len(), 7);
    let token = first.next_token().expect("more pages").to_string();
    let second = member
        .list_regions()
        .max_results(7)
        .next_token(&token)
        .send()
        .await
        .unwrap();
    assert_ne!(first.regions()[0], second.regions()[0]);

    for bad in [0, 51] {
        let code = refused(member.list_regions().max_results(bad)).await;
        assert_eq!(code, "ValidationException", "MaxResults {bad}");
    }
    let code = refused(member.list_regions().next_token("forged")).await;
    assert_eq!(code, "ValidationException");
}

#[tokio::test]
async fn only_the_management_account_may_name_another_account() {
    let sim = common::start_with(common::config_for_accounts(&[MGMT, MEMBER])).await;
    sim.load_fleet(fleet()).unwrap();
    let (mgmt, member) = (client(&sim, MGMT).await, client(&sim, MEMBER).await);

    let seen = regions(&mgmt, Some(MEMBER), &[RegionOptStatus::Disabled]).await;
    assert_eq!(
        seen,
        vec![
            ("ap-east-1".to_string(), "DISABLED".to_string()),
            ("me-south-1".to_string(), "DISABLED".to_string())
        ]
    );
    let code = refused(member.list_regions().account_id(MGMT)).await;
    assert_eq!(code, "AccessDeniedException");
    // The management account must ask for itself without naming itself.
    let code = refused(mgmt.list_regions().account_id(MGMT)).await;
    assert_eq!(code, "ValidationException");
}
