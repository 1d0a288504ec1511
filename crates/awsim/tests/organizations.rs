//! Organizations through the real SDK: structure from the fleet, paging, who may call what.

mod common;

use awsim::fleet::{AccountSpec, Fleet, OrgSpec, OuSpec};

fn fleet(n: usize) -> Fleet {
    let accounts = (0..n)
        .map(|i| AccountSpec {
            id: format!("{:012}", 100_000_000_000u64 + i as u64),
            name: format!("acct-{i}"),
            email: format!("a{i}@example.com"),
            status: if i == n - 1 {
                "SUSPENDED".into()
            } else {
                "ACTIVE".into()
            },
            parent: (i % 2 == 1).then(|| "ou-root-prod0001".to_string()),
            roles: vec![],
            regions: vec!["us-east-1".into()],
            disabled_regions: vec![],
            instances: vec![],
        })
        .collect();
    Fleet {
        organization: Some(OrgSpec {
            id: "o-example123".into(),
            management_account: "100000000000".into(),
            root_id: "r-root".into(),
            organizational_units: vec![OuSpec {
                id: "ou-root-prod0001".into(),
                name: "Prod".into(),
                parent: "r-root".into(),
            }],
        }),
        accounts,
    }
}

#[tokio::test]
async fn management_account_lists_everything_across_pages() {
    let mut config = common::config_for_accounts(&["100000000000", "100000000001"]);
    // Leniency: no empty first page, so the page count below is about the page size.
    config.leniency.no_empty_org_pages = true;
    let sim = common::start_with(config).await;
    sim.load_fleet(fleet(45)).unwrap();
    let org =
        aws_sdk_organizations::Client::new(&common::sdk_config(&sim, "100000000000", "us-east-1"));

    let d = org.describe_organization().send().await.unwrap();
    let o = d.organization().unwrap();
    assert_eq!(o.id(), Some("o-example123"));
    assert_eq!(o.master_account_id(), Some("100000000000"));

    // 45 accounts in pages of at most 20.
    let pages: Vec<_> = org
        .list_accounts()
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(pages.len(), 3);
    let accounts: Vec<_> = pages
        .into_iter()
        .flat_map(|p| p.unwrap().accounts.unwrap_or_default())
        .collect();
    assert_eq!(accounts.len(), 45);
    let ids: std::collections::BTreeSet<_> = accounts.iter().filter_map(|a| a.id()).collect();
    assert_eq!(ids.len(), 45, "every account exactly once");
    let suspended: Vec<_> = accounts
        .iter()
        .filter(|a| a.state() == Some(&aws_sdk_organizations::types::AccountState::Suspended))
        .collect();
    assert_eq!(suspended.len(), 1);

    let roots = org.list_roots().send().await.unwrap();
    assert_eq!(roots.roots()[0].id(), Some("r-root"));
    let ous = org
        .list_organizational_units_for_parent()
        .parent_id("r-root")
        .send()
        .await
        .unwrap();
    assert_eq!(ous.organizational_units()[0].id(), Some("ou-root-prod0001"));
    let in_ou: usize = org
        .list_accounts_for_parent()
        .parent_id("ou-root-prod0001")
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|p| p.unwrap().accounts().len())
        .sum();
    assert_eq!(in_ou, 22, "odd-numbered accounts sit in the OU");

    let err = org
        .list_accounts_for_parent()
        .parent_id("ou-nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ParentNotFoundException")
    );
    let err = org
        .list_accounts()
        .max_results(21)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidInputException")
    );
    let err = org
        .list_accounts()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidInputException")
    );
}

#[tokio::test]
async fn members_may_describe_but_not_list_and_outsiders_see_no_organization() {
    let sim = common::start_with(common::config_for_accounts(&[
        "100000000001",
        "999999999999",
    ]))
    .await;
    sim.load_fleet(fleet(3)).unwrap();
    let member =
        aws_sdk_organizations::Client::new(&common::sdk_config(&sim, "100000000001", "us-east-1"));
    assert!(member.describe_organization().send().await.is_ok());
    let err = member.list_accounts().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDeniedException")
    );

    let outsider =
        aws_sdk_organizations::Client::new(&common::sdk_config(&sim, "999999999999", "us-east-1"));
    let err = outsider.describe_organization().send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AWSOrganizationsNotInUseException")
    );
}
