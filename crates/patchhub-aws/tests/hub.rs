//! `hub enable|status|disable` and `cleanup` against awsim: a generated organization of four
//! accounts in three Regions (plus an opt-in Region none of them enabled), joined by invitation
//! and through Organizations; a role that cannot be assumed; idempotent re-runs; a sync whose
//! findings the administrator sees from its home Region; and an uninstall that leaves no active
//! patchhub finding and no membership behind.

use std::collections::{BTreeMap, BTreeSet};

use awsim::{Awsim, Config};
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::fanout::FanOut;
use patchhub_aws::hub::{
    self, DisablePlan, EnablePlan, HubAction, HubReport, HubState, MemberAccounts, Mode, Outcome,
    Relationship, StatusPlan, Step,
};
use patchhub_aws::targets::AccountTarget;
use patchhub_testkit::read::{findings, is_active};
use patchhub_testkit::run::{account_list, fan_out, opts, region_list, sync_with, targets};
use patchhub_testkit::{account_ids, scenario, sdk, start};

const HOME: &str = "us-east-1";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "us-west-2"];
/// An opt-in Region the generated accounts have not enabled.
const OPT_IN: &str = "ap-east-1";
const ROLE: &str = "PatchhubRole";
const SPEC: &str = "accounts=4,regions=3,instances=6,patches=12,seed=21";

fn regions_with_opt_in() -> Vec<String> {
    REGIONS
        .iter()
        .chain(std::iter::once(&OPT_IN))
        .map(|r| r.to_string())
        .collect()
}

fn role() -> RoleOptions {
    patchhub_testkit::run::role(Some(ROLE))
}

/// A generated organization; its account ids. Its roles trust every account: these tests run
/// from administrators that are not the management account.
async fn org(spec: &str) -> (Awsim, Vec<String>) {
    let (sim, fleet) = start(spec, Config::default()).await;
    scenario::trust_every_account(&sim, ROLE);
    (sim, account_ids(&fleet))
}

async fn client(sim: &Awsim, account: &str, region: &str) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::new(&sdk(sim, account, region).await)
}

/// Takes the role away from (or gives it back to) one account.
fn set_role(sim: &Awsim, account: &str, present: bool) {
    scenario::set_role(sim, account, ROLE, present);
}

/// The administrator `account` is associated with in `region`, as the account itself says.
async fn administrator_of(sim: &Awsim, account: &str, region: &str) -> Option<String> {
    let c = client(sim, account, region).await;
    if c.describe_hub().send().await.is_err() {
        return None;
    }
    let out = c.get_administrator_account().send().await.unwrap();
    out.administrator()
        .filter(|i| i.member_status() == Some("Enabled"))
        .and_then(|i| i.account_id().map(str::to_string))
}

/// Every member record of `admin` in `region` (status by account).
async fn records(sim: &Awsim, admin: &str, region: &str) -> BTreeMap<String, String> {
    let c = client(sim, admin, region).await;
    if c.describe_hub().send().await.is_err() {
        return BTreeMap::new();
    }
    c.list_members()
        .only_associated(false)
        .send()
        .await
        .unwrap()
        .members()
        .iter()
        .map(|m| {
            (
                m.account_id().unwrap().to_string(),
                m.member_status().unwrap().to_string(),
            )
        })
        .collect()
}

/// `(account, Region)` of every active patchhub finding `account` sees in `region`.
async fn active_seen(sim: &Awsim, account: &str, region: &str) -> Vec<(String, String)> {
    findings(sim, account, region)
        .await
        .iter()
        .filter(|f| is_active(f))
        .map(|f| {
            (
                f.aws_account_id().unwrap().to_string(),
                f.region().unwrap().to_string(),
            )
        })
        .collect()
}

fn show(r: &HubReport) -> String {
    r.actions
        .iter()
        .map(|a| {
            format!(
                "{} {} {} {} {} {}",
                a.account,
                a.region,
                a.step,
                a.outcome,
                a.detail,
                a.resume.as_deref().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one action of `r` that ended with `outcome`.
fn only(r: &HubReport, outcome: Outcome) -> &HubAction {
    let all: Vec<&HubAction> = r.with(outcome).collect();
    assert_eq!(all.len(), 1, "{}", show(r));
    all[0]
}

/// Where an action ran: account, Region, step.
fn at(a: &HubAction) -> (&str, &str, Step) {
    (a.account.as_str(), a.region.as_str(), a.step)
}

/// Nothing changed, nothing failed.
fn assert_idle(r: &HubReport) {
    assert!(r.is_ok(), "{}", show(r));
    assert_eq!(r.changed(), 0, "a re-run changes nothing:\n{}", show(r));
}

fn fan(accounts: &[String]) -> FanOut {
    fan_out(
        account_list(accounts),
        region_list(&regions_with_opt_in()),
        Some(ROLE),
    )
}

/// Syncs every account in the three Regions, each inside itself; then checks that the
/// administrator's home Region sees every account's findings from every Region.
async fn sync_and_check_rollup(sim: &Awsim, admin: &str, accounts: &[String]) -> usize {
    let fan = fan_out(account_list(accounts), region_list(&REGIONS), Some(ROLE));
    let report = sync_with(sim, admin, &fan, &opts()).await;
    assert!(report.is_ok(), "{report:#?}");
    let mut own_total = 0;
    for a in accounts {
        for r in REGIONS {
            let own = active_seen(sim, a, r)
                .await
                .into_iter()
                .filter(|(acc, reg)| acc == a && reg == r)
                .count();
            assert!(own > 0, "{a} {r} has findings");
            own_total += own;
        }
    }
    let seen = active_seen(sim, admin, HOME).await;
    let pairs: BTreeSet<(String, String)> = seen.iter().cloned().collect();
    let expected: BTreeSet<(String, String)> = accounts
        .iter()
        .flat_map(|a| REGIONS.iter().map(move |r| (a.clone(), r.to_string())))
        .collect();
    assert_eq!(
        pairs, expected,
        "the home Region sees every account and Region"
    );
    assert_eq!(seen.len(), own_total, "and every finding once");
    own_total
}

/// Cleanup, then disable; afterwards no account sees an active patchhub finding anywhere and
/// no membership is left. Then both are idempotent, and `--disable-hub` turns the hubs off.
async fn uninstall(sim: &Awsim, caller: &str, admin: &str, accounts: &[String], mode: Mode) {
    let base = sdk(sim, caller, HOME).await;
    let cleaned = hub::cleanup(&base, &fan(accounts)).await.unwrap();
    assert!(cleaned.is_ok(), "{}", show(&cleaned));
    for a in accounts {
        for r in REGIONS {
            let act = cleaned.find(a, r, Step::Archive).expect("archive step");
            assert_eq!(act.outcome, Outcome::Done, "{}", show(&cleaned));
        }
        assert_eq!(
            cleaned.find(a, OPT_IN, Step::Archive).unwrap().outcome,
            Outcome::Skipped
        );
    }
    assert!(active_seen(sim, admin, HOME).await.is_empty());
    assert_idle(&hub::cleanup(&base, &fan(accounts)).await.unwrap());

    let mut plan = DisablePlan::new(mode, regions_with_opt_in());
    plan.admin_account = Some(admin.to_string());
    plan.role = role();
    let disabled = hub::disable(&base, &plan).await.unwrap();
    assert!(disabled.is_ok(), "{}", show(&disabled));
    assert!(
        disabled
            .find(admin, HOME, Step::DeleteAggregator)
            .map(|a| a.outcome)
            == Some(Outcome::Done),
        "{}",
        show(&disabled)
    );
    for r in REGIONS {
        assert!(
            records(sim, admin, r).await.is_empty(),
            "no member left in {r}"
        );
        for a in accounts {
            assert_eq!(administrator_of(sim, a, r).await, None, "{a} in {r}");
            assert!(
                active_seen(sim, a, r).await.is_empty(),
                "{a} sees no active patchhub finding in {r}"
            );
        }
    }
    let aggs = client(sim, admin, HOME)
        .await
        .list_finding_aggregators()
        .send()
        .await
        .unwrap();
    assert!(aggs.finding_aggregators().is_empty());
    assert_idle(&hub::disable(&base, &plan).await.unwrap());

    // The memberships are gone, so the accounts are named to reach their hubs.
    plan.members = MemberAccounts::List(targets(accounts));
    plan.disable_hub = true;
    let off = hub::disable(&base, &plan).await.unwrap();
    assert!(off.is_ok(), "{}", show(&off));
    for a in accounts {
        for r in REGIONS {
            assert!(
                client(sim, a, r).await.describe_hub().send().await.is_err(),
                "Security Hub off for {a} in {r}"
            );
        }
    }
}

#[tokio::test]
async fn invitation_mode_joins_reports_a_refused_role_and_converges() {
    let (sim, ids) = org(SPEC).await;
    let admin = ids[1].clone();
    let refused = ids[3].clone();
    set_role(&sim, &refused, false);
    let members: Vec<AccountTarget> = ids
        .iter()
        .map(|id| AccountTarget {
            id: id.clone(),
            email: Some(format!("{id}@example.com")),
        })
        .collect();
    let mut plan = EnablePlan::new(Mode::Invitation, regions_with_opt_in());
    // The administrator in the list is left out (an account is not its own member).
    plan.members = MemberAccounts::List(members);
    plan.home_region = Some(HOME.into());
    plan.role = role();
    let base = sdk(&sim, &admin, HOME).await;

    let first = hub::enable(&base, &plan).await.unwrap();
    assert!(!first.is_ok());
    let failed = only(&first, Outcome::Failed);
    assert_eq!(at(failed), (refused.as_str(), "-", Step::EnterAccount));
    assert!(
        failed.resume.as_deref().unwrap().contains(ROLE),
        "{failed:?}"
    );
    // The opt-in Region is skipped, with a reason, for the administrator and so for the members.
    let s = first
        .find(&admin, OPT_IN, Step::EnableHub)
        .expect("opt-in row");
    assert_eq!(s.outcome, Outcome::Skipped);
    assert!(s.detail.contains("not enabled"), "{}", s.detail);
    for m in [&ids[0], &ids[2]] {
        assert!(
            first
                .with(Outcome::Skipped)
                .any(|a| a.account == *m && a.region == OPT_IN),
            "{}",
            show(&first)
        );
    }
    assert!(first.with(Outcome::Skipped).all(|a| a.region == OPT_IN));
    for r in REGIONS {
        for m in [&ids[0], &ids[2]] {
            assert_eq!(
                administrator_of(&sim, m, r).await.as_deref(),
                Some(admin.as_str())
            );
        }
        // Nothing half-done for the account that could not be entered.
        assert!(!records(&sim, &admin, r).await.contains_key(&refused));
    }
    let agg = client(&sim, &admin, HOME).await;
    let arn = agg
        .list_finding_aggregators()
        .send()
        .await
        .unwrap()
        .finding_aggregators()[0]
        .finding_aggregator_arn()
        .unwrap()
        .to_string();
    let got = agg
        .get_finding_aggregator()
        .finding_aggregator_arn(arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.finding_aggregation_region(), Some(HOME));
    assert_eq!(got.region_linking_mode(), Some("SPECIFIED_REGIONS"));
    assert_eq!(got.regions(), ["eu-west-1", "us-west-2"]);

    // The role is fixed: the same command finishes the job, and only that account's steps run.
    set_role(&sim, &refused, true);
    let second = hub::enable(&base, &plan).await.unwrap();
    assert!(second.is_ok(), "{}", show(&second));
    assert!(second.changed() > 0);
    assert!(
        second.with(Outcome::Done).all(|a| a.account == refused),
        "{}",
        show(&second)
    );
    for r in REGIONS {
        assert_eq!(
            administrator_of(&sim, &refused, r).await.as_deref(),
            Some(admin.as_str())
        );
    }

    // And then it has nothing left to do: no call that changes anything is made.
    sim.reset_stats();
    assert_idle(&hub::enable(&base, &plan).await.unwrap());
    let stats = sim.stats();
    for op in [
        "EnableSecurityHub",
        "CreateMembers",
        "InviteMembers",
        "AcceptAdministratorInvitation",
        "CreateFindingAggregator",
        "UpdateFindingAggregator",
    ] {
        assert_eq!(stats.calls_of(op), 0, "{op} called on an idempotent re-run");
    }

    let total = sync_and_check_rollup(&sim, &admin, &ids).await;

    let mut sp = StatusPlan::new(regions_with_opt_in());
    sp.role = role();
    let st = hub::status(&base, &sp).await.unwrap();
    assert!(st.is_ok(), "{:#?}", st.rows);
    assert_eq!(st.administrator, admin);
    assert_eq!(st.rows.len(), 4 * 4);
    for row in &st.rows {
        if row.region == OPT_IN {
            assert_eq!(row.hub, HubState::RegionDisabled, "{row:?}");
            continue;
        }
        assert_eq!(row.hub, HubState::Enabled);
        if row.account == admin {
            assert_eq!(row.relationship, Relationship::Administrator { members: 3 });
        } else {
            assert_eq!(
                row.relationship,
                Relationship::Member {
                    administrator: admin.clone()
                }
            );
        }
        let own = active_seen(&sim, &row.account, &row.region)
            .await
            .into_iter()
            .filter(|(a, r)| *a == row.account && *r == row.region)
            .count();
        assert_eq!(row.active_findings, Some(own));
        let expected = if row.region == HOME {
            "home".to_string()
        } else {
            format!("linked to {HOME}")
        };
        assert_eq!(row.aggregation, expected);
    }
    let view = st.aggregated.expect("aggregated view");
    assert_eq!(
        (
            view.region.as_str(),
            view.active_findings,
            view.accounts,
            view.regions
        ),
        (HOME, total, 4, 3)
    );

    uninstall(&sim, &admin, &admin, &ids, Mode::Invitation).await;
}

#[tokio::test]
async fn organization_mode_from_the_management_account() {
    let (sim, ids) = org(SPEC).await;
    let management = ids[0].clone();
    let admin = ids[1].clone();
    let base = sdk(&sim, &management, HOME).await;
    let mut plan = EnablePlan::new(Mode::Organization, regions_with_opt_in());
    plan.admin_account = Some(admin.clone());
    plan.home_region = Some(HOME.into());
    plan.role = role();

    // The administrator cannot be entered: nothing at all is done, and the report says so.
    set_role(&sim, &admin, false);
    let refused = hub::enable(&base, &plan).await.unwrap();
    assert_eq!(refused.actions.len(), 1, "{}", show(&refused));
    assert_eq!(refused.actions[0].step, Step::EnterAccount);
    assert_eq!(refused.actions[0].outcome, Outcome::Failed);
    let mgmt = client(&sim, &management, HOME).await;
    let designated = mgmt
        .list_organization_admin_accounts()
        .send()
        .await
        .unwrap();
    assert!(designated.admin_accounts().is_empty());
    set_role(&sim, &admin, true);

    let first = hub::enable(&base, &plan).await.unwrap();
    assert!(first.is_ok(), "{}", show(&first));
    assert!(first.with(Outcome::Skipped).all(|a| a.region == OPT_IN));
    assert_eq!(
        first.find(&admin, OPT_IN, Step::Designate).unwrap().outcome,
        Outcome::Skipped
    );
    for r in REGIONS {
        assert_eq!(
            first.find(&admin, r, Step::Designate).unwrap().outcome,
            Outcome::Done
        );
        // The management account enables its own hub; the others are enabled by the administrator.
        assert_eq!(
            first.find(&management, r, Step::EnableHub).unwrap().outcome,
            Outcome::Done
        );
        let recs = records(&sim, &admin, r).await;
        for m in ids.iter().filter(|id| **id != admin) {
            assert_eq!(
                recs.get(m).map(String::as_str),
                Some("Enabled"),
                "{m} in {r}"
            );
            assert_eq!(
                administrator_of(&sim, m, r).await.as_deref(),
                Some(admin.as_str())
            );
        }
        let conf = client(&sim, &admin, r)
            .await
            .describe_organization_configuration()
            .send()
            .await
            .unwrap();
        assert_eq!(conf.auto_enable(), Some(true));
    }
    assert_idle(&hub::enable(&base, &plan).await.unwrap());

    sync_and_check_rollup(&sim, &admin, &ids).await;

    let mut sp = StatusPlan::new(REGIONS.iter().map(|r| r.to_string()).collect());
    sp.admin_account = Some(admin.clone());
    sp.members = MemberAccounts::Organization { ou: None };
    sp.role = role();
    let st = hub::status(&base, &sp).await.unwrap();
    assert!(st.is_ok(), "{:#?}", st.rows);
    assert_eq!(st.rows.len(), 4 * 3);
    assert!(st.rows.iter().all(|r| r.hub == HubState::Enabled));

    uninstall(&sim, &management, &admin, &ids, Mode::Organization).await;
    for r in REGIONS {
        let d = client(&sim, &management, r)
            .await
            .list_organization_admin_accounts()
            .send()
            .await
            .unwrap();
        assert!(d.admin_accounts().is_empty(), "designation removed in {r}");
    }
}

#[tokio::test]
async fn a_member_of_another_administrator_is_reported_and_left_alone() {
    let (sim, ids) = org("accounts=3,regions=1,instances=2,patches=5,seed=5").await;
    let (admin, other, taken) = (&ids[0], &ids[1], &ids[2]);
    // `taken` already belongs to `other` in us-east-1.
    let mut first = EnablePlan::new(Mode::Invitation, vec![HOME.into()]);
    first.members = MemberAccounts::List(targets(&[taken]));
    first.role = role();
    let r = hub::enable(&sdk(&sim, other, HOME).await, &first)
        .await
        .unwrap();
    assert!(r.is_ok(), "{}", show(&r));

    let mut plan = EnablePlan::new(Mode::Invitation, vec![HOME.into()]);
    plan.members = MemberAccounts::List(targets(&[taken]));
    plan.role = role();
    let base = sdk(&sim, admin, HOME).await;
    let r = hub::enable(&base, &plan).await.unwrap();
    let failed = only(&r, Outcome::Failed);
    assert!(failed.detail.contains(other.as_str()), "{}", failed.detail);
    assert!(failed.resume.as_deref().unwrap().contains("hub disable"));
    assert!(records(&sim, admin, HOME).await.is_empty(), "not created");
    assert_eq!(
        administrator_of(&sim, taken, HOME).await.as_deref(),
        Some(other.as_str())
    );
}

#[tokio::test]
async fn a_region_one_member_has_not_enabled_is_skipped_for_that_member_only() {
    let (sim, ids) = org("accounts=3,regions=2,instances=2,patches=5,seed=6").await;
    let (admin, member, opted_out) = (&ids[0], &ids[1], &ids[2]);
    scenario::edit_account(&sim, opted_out, |a| {
        a.regions.retain(|r| r != "eu-west-1");
        a.disabled_regions.push("eu-west-1".into());
    });

    let mut plan = EnablePlan::new(Mode::Invitation, vec![HOME.into(), "eu-west-1".into()]);
    plan.members = MemberAccounts::List(targets(&[member, opted_out]));
    plan.home_region = Some(HOME.into());
    plan.role = role();
    let base = sdk(&sim, admin, HOME).await;
    let r = hub::enable(&base, &plan).await.unwrap();
    assert!(r.is_ok(), "{}", show(&r));
    let skipped = only(&r, Outcome::Skipped);
    assert_eq!(
        at(skipped),
        (opted_out.as_str(), "eu-west-1", Step::EnableHub)
    );
    assert_eq!(
        administrator_of(&sim, member, "eu-west-1").await.as_deref(),
        Some(admin.as_str())
    );
    assert_eq!(
        administrator_of(&sim, opted_out, HOME).await.as_deref(),
        Some(admin.as_str())
    );
    assert!(
        !records(&sim, admin, "eu-west-1")
            .await
            .contains_key(opted_out)
    );
    assert_idle(&hub::enable(&base, &plan).await.unwrap());
}

#[tokio::test]
async fn organization_mode_from_another_account_says_where_to_run_it() {
    let (sim, ids) = org("accounts=3,regions=1,instances=2,patches=5,seed=7").await;
    // The caller is the would-be administrator, not the management account.
    let base = sdk(&sim, &ids[1], HOME).await;
    let mut plan = EnablePlan::new(Mode::Organization, vec![HOME.into()]);
    plan.members = MemberAccounts::List(targets(&ids[2..]));
    let r = hub::enable(&base, &plan).await.unwrap();
    assert!(!r.is_ok());
    let d = r.find(&ids[1], HOME, Step::Designate).unwrap();
    assert_eq!(d.outcome, Outcome::Failed);
    assert!(
        d.resume.as_deref().unwrap().contains("management account"),
        "{}",
        show(&r)
    );
    // The member was not touched.
    assert_eq!(
        r.find(&ids[2], HOME, Step::CreateMember).unwrap().outcome,
        Outcome::Failed
    );
    assert!(records(&sim, &ids[1], HOME).await.is_empty());
    assert_eq!(r.changed(), 0, "{}", show(&r));
}
