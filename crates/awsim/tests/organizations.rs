//! Organizations through the real SDK: structure from the fleet, paging, who may call what.

mod common;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::AccountState;
use awsim::Config;
use awsim::fleet::{AccountSpec, Fleet, OuSpec};
use common::{EAST, all_pages, refused};

const MGMT: &str = "100000000000";
const MEMBER: &str = "100000000001";
const OU: &str = "ou-root-prod0001";

/// An organization of `n` accounts: the odd-numbered ones in an OU, the last one suspended.
fn fleet(n: usize) -> Fleet {
    let account = |i: usize| AccountSpec {
        name: format!("acct-{i}"),
        email: format!("a{i}@example.com"),
        status: if i == n - 1 { "SUSPENDED" } else { "ACTIVE" }.into(),
        parent: (i % 2 == 1).then(|| OU.to_string()),
        ..common::account(&format!("{:012}", 100_000_000_000u64 + i as u64))
    };
    let mut fleet = common::organization(MGMT, (0..n).map(account).collect());
    let prod = OuSpec {
        id: OU.into(),
        name: "Prod".into(),
        parent: "r-root".into(),
    };
    fleet.organization.as_mut().unwrap().organizational_units = vec![prod];
    fleet
}

#[tokio::test]
async fn management_account_lists_everything_across_pages() {
    let mut config = Config::default();
    // Leniency: no empty first page, so the page count below is about the page size.
    config.leniency.no_empty_org_pages = true;
    let sim = patchhub_testkit::start_fleet(&fleet(45), config).await;
    let org: Client = common::client(&sim, MGMT, EAST).await;

    let d = org.describe_organization().send().await.unwrap();
    let o = d.organization().unwrap();
    assert_eq!(o.id(), Some("o-example123"));
    assert_eq!(o.master_account_id(), Some(MGMT));

    // 45 accounts in pages of at most 20.
    let pages = all_pages!(org.list_accounts());
    assert_eq!(pages.len(), 3);
    let accounts: Vec<_> = pages.iter().flat_map(|p| p.accounts()).collect();
    assert_eq!(accounts.len(), 45);
    let ids: std::collections::BTreeSet<_> = accounts.iter().filter_map(|a| a.id()).collect();
    assert_eq!(ids.len(), 45, "every account exactly once");
    let suspended = accounts
        .iter()
        .filter(|a| a.state() == Some(&AccountState::Suspended));
    assert_eq!(suspended.count(), 1);

    let roots = org.list_roots().send().await.unwrap();
    assert_eq!(roots.roots()[0].id(), Some("r-root"));
    let ous = org
        .list_organizational_units_for_parent()
        .parent_id("r-root");
    let ous = ous.send().await.unwrap();
    assert_eq!(ous.organizational_units()[0].id(), Some(OU));
    let in_ou = all_pages!(org.list_accounts_for_parent().parent_id(OU));
    let in_ou: usize = in_ou.iter().map(|p| p.accounts().len()).sum();
    assert_eq!(in_ou, 22, "odd-numbered accounts sit in the OU");

    let nowhere = org.list_accounts_for_parent().parent_id("ou-nope");
    assert_eq!(refused(nowhere.send().await), "ParentNotFoundException");
    for call in [
        org.list_accounts().max_results(21),
        org.list_accounts().next_token("garbage"),
    ] {
        assert_eq!(refused(call.send().await), "InvalidInputException");
    }
}

#[tokio::test]
async fn members_may_describe_but_not_list_and_outsiders_see_no_organization() {
    let outsider = "999999999999";
    let sim = common::start_accounts(&[MEMBER, outsider]).await;
    sim.load_fleet(fleet(3)).unwrap();
    let member: Client = common::client(&sim, MEMBER, EAST).await;
    assert!(member.describe_organization().send().await.is_ok());
    let listed = member.list_accounts().send().await;
    assert_eq!(refused(listed), "AccessDeniedException");

    let outsider: Client = common::client(&sim, outsider, EAST).await;
    let described = outsider.describe_organization().send().await;
    assert_eq!(refused(described), "AWSOrganizationsNotInUseException");
}
