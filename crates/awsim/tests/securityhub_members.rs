//! Security Hub administrator and member accounts through the real SDK: the invitation flow,
//! the Organizations integration, cross-Region finding aggregators, and what each account's
//! `GetFindings` and `BatchUpdateFindings` reach as relationships are made and undone.
#![allow(
    deprecated,
    reason = "the deprecated AcceptInvitation, GetMasterAccount, DisassociateFromMasterAccount and MasterId are still served and tested"
)]

mod common;

use std::collections::{BTreeSet, HashMap};

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::operation::create_finding_aggregator::CreateFindingAggregatorOutput;
use aws_sdk_securityhub::operation::get_finding_aggregator::GetFindingAggregatorOutput;
use aws_sdk_securityhub::operation::update_finding_aggregator::UpdateFindingAggregatorOutput;
use aws_sdk_securityhub::types::{
    AccountDetails, AdminStatus, AutoEnableStandards, AwsSecurityFinding, Invitation, Member,
    WorkflowStatus,
};
use awsim::Awsim;
use awsim::fleet::{AccountSpec, Fleet};
use common::hub::{at, findings, identifier, import_ok, seen, set, set_workflow, workflow_of};
use common::{code, message, outcome, refused, run};

const ADMIN: &str = "111111111111";
const M1: &str = "222222222222";
const M2: &str = "333333333333";
const OUT: &str = "444444444444";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";
const SYD: &str = "ap-southeast-2";

const INPUT: &str = "InvalidInputException";
const ACCESS: &str = "InvalidAccessException";
const DENIED: &str = "AccessDeniedException";
const NOT_FOUND: &str = "ResourceNotFoundException";

async fn start(accounts: &[&str]) -> Awsim {
    common::start_accounts(accounts).await
}

async fn client(sim: &Awsim, account: &str, region: &str) -> Client {
    common::client(sim, account, region).await
}

/// A client of `account` in `region` with Security Hub enabled.
async fn enabled(sim: &Awsim, account: &str, region: &str) -> Client {
    let c = client(sim, account, region).await;
    c.enable_security_hub().send().await.unwrap();
    c
}

/// awsim acting for `accounts`, and EAST clients of `hubs` (some of them), each with Security Hub
/// enabled.
async fn east<const N: usize>(accounts: &[&str], hubs: [&str; N]) -> (Awsim, [Client; N]) {
    let sim = start(accounts).await;
    let mut clients = Vec::new();
    for a in hubs {
        clients.push(enabled(&sim, a, EAST).await);
    }
    (sim, clients.try_into().unwrap())
}

/// Enables Security Hub for `account` in `region` and imports one finding `ACCOUNT@REGION`.
async fn hub_with_finding(sim: &Awsim, account: &str, region: &str) -> Client {
    let c = enabled(sim, account, region).await;
    import(&c, account, region, &format!("{account}@{region}"), "first").await;
    c
}

async fn import(c: &Client, account: &str, region: &str, id: &str, title: &str) {
    import_at(c, account, region, id, title, 0).await;
}

async fn import_at(c: &Client, account: &str, region: &str, id: &str, title: &str, minute: u32) {
    let finding = common::hub::finding(account, region, id, "i-0123456789abcdef0")
        .title(title)
        .created_at(at(minute))
        .updated_at(at(minute));
    import_ok(c, vec![finding.build()]).await;
}

/// The finding `id` that `c` reads.
async fn find(c: &Client, id: &str) -> AwsSecurityFinding {
    let found = findings(c).await.into_iter().find(|f| f.id() == Some(id));
    found.unwrap_or_else(|| panic!("finding {id}"))
}

/// The ids of the first findings of these `(account, Region)`s: `ACCOUNT@REGION`.
fn firsts(pairs: &[(&str, &str)]) -> BTreeSet<String> {
    pairs.iter().map(|(a, r)| format!("{a}@{r}")).collect()
}

/// Sets the workflow of the first finding of `account` in `region`: how many were processed,
/// and the error codes of the unprocessed.
async fn triage(
    c: &Client,
    account: &str,
    region: &str,
    status: WorkflowStatus,
) -> (usize, Vec<String>) {
    let finding = identifier(account, region, &format!("{account}@{region}"));
    set_workflow(c, finding, status).await
}

/// What `BatchUpdateFindings` answers for a finding out of the caller's reach.
fn not_found() -> (usize, Vec<String>) {
    (0, vec!["FindingNotFound".to_string()])
}

fn details(account: &str) -> AccountDetails {
    AccountDetails::builder().account_id(account).build()
}

/// `CreateMembers` of `accounts`: the unprocessed, or the error code.
async fn create_call(admin: &Client, accounts: &[&str]) -> Result<Vec<(String, String)>, String> {
    let details = accounts.iter().map(|a| details(a)).collect();
    let call = admin.create_members().set_account_details(Some(details));
    outcome(call.send().await).map(|out| unprocessed(out.unprocessed_accounts()))
}

/// `CreateMembers` of `accounts`: the unprocessed.
async fn create(admin: &Client, accounts: &[&str]) -> Vec<(String, String)> {
    create_call(admin, accounts).await.unwrap()
}

fn unprocessed(list: &[aws_sdk_securityhub::types::Result]) -> Vec<(String, String)> {
    list.iter()
        .map(|r| {
            (
                r.account_id().unwrap_or_default().to_string(),
                r.processing_result().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn unprocessed_ids(list: &[(String, String)]) -> Vec<&str> {
    list.iter().map(|(a, _)| a.as_str()).collect()
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|a| (*a).to_string()).collect())
}

/// `InviteMembers` of `accounts`: the unprocessed.
async fn invite(admin: &Client, accounts: &[&str]) -> Vec<(String, String)> {
    let call = admin.invite_members().set_account_ids(strings(accounts));
    unprocessed(call.send().await.unwrap().unprocessed_accounts())
}

/// Creates and invites `accounts`, all of which must be processed.
async fn create_and_invite(admin: &Client, accounts: &[&str]) {
    assert!(create(admin, accounts).await.is_empty());
    assert!(invite(admin, accounts).await.is_empty());
}

/// `DeleteMembers` of `accounts`: the unprocessed.
async fn delete(admin: &Client, accounts: &[&str]) -> Vec<(String, String)> {
    let call = admin.delete_members().set_account_ids(strings(accounts));
    unprocessed(call.send().await.unwrap().unprocessed_accounts())
}

/// `DisassociateMembers` of `accounts`.
async fn disassociate(admin: &Client, accounts: &[&str]) -> Result<(), String> {
    let call = admin
        .disassociate_members()
        .set_account_ids(strings(accounts));
    outcome(call.send().await).map(|_| ())
}

/// `DeclineInvitations` from `accounts`: the unprocessed, or the error code.
async fn decline(member: &Client, accounts: &[&str]) -> Result<Vec<(String, String)>, String> {
    let call = member
        .decline_invitations()
        .set_account_ids(strings(accounts));
    outcome(call.send().await).map(|out| unprocessed(out.unprocessed_accounts()))
}

async fn invitations(member: &Client) -> Vec<Invitation> {
    let out = member.list_invitations().send().await.unwrap();
    out.invitations().to_vec()
}

async fn invitations_count(member: &Client) -> Option<i32> {
    let out = member.get_invitations_count().send().await.unwrap();
    out.invitations_count()
}

/// The invitation id `member` holds from `admin`.
async fn invitation_from(member: &Client, admin: &str) -> String {
    invitations(member)
        .await
        .iter()
        .find(|i| i.account_id() == Some(admin))
        .and_then(|i| i.invitation_id())
        .unwrap_or_else(|| panic!("no invitation from {admin}"))
        .to_string()
}

/// `AcceptAdministratorInvitation` of `invitation` from `admin`.
async fn accept_with(member: &Client, admin: &str, invitation: &str) -> Result<(), String> {
    let call = member
        .accept_administrator_invitation()
        .administrator_id(admin)
        .invitation_id(invitation);
    outcome(call.send().await).map(|_| ())
}

/// Accepts the invitation `member` holds from `admin`.
async fn accept(member: &Client, admin: &str) {
    let id = invitation_from(member, admin).await;
    accept_with(member, admin, &id).await.unwrap();
}

/// The administrator `member` has, seen from its side.
async fn administrator(member: &Client) -> Option<Invitation> {
    let out = member.get_administrator_account().send().await.unwrap();
    out.administrator().cloned()
}

/// Creates, invites and accepts `members` of `admin` in `region` (all hubs already enabled).
async fn associate(sim: &Awsim, admin: &str, region: &str, members: &[&str]) {
    create_and_invite(&client(sim, admin, region).await, members).await;
    for m in members {
        accept(&client(sim, m, region).await, admin).await;
    }
}

async fn all_members(admin: &Client) -> Vec<Member> {
    admin
        .list_members()
        .only_associated(false)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap()
}

/// The member status of `account` in `admin`'s records.
async fn status_of(admin: &Client, account: &str) -> String {
    let out = admin.get_members().account_ids(account).send().await;
    let out = out.unwrap();
    let status = out.members().first().and_then(|m| m.member_status());
    status.unwrap_or("<not a member>").to_string()
}

/// The findings `c` reads in the `(account, Region)`s expected.
async fn assert_seen(sim: &Awsim, cases: &[(&str, &str, BTreeSet<String>)]) {
    for (account, region, expected) in cases {
        let c = client(sim, account, region).await;
        assert_eq!(&seen(&c).await, expected, "{account} in {region}");
    }
}

/// Numbered 12-digit account ids from `first`.
fn numbered(first: u64, n: u64) -> Vec<String> {
    (0..n).map(|i| format!("{:012}", first + i)).collect()
}

#[test]
fn invitation_flow_across_four_accounts_and_two_regions() {
    run(async {
        let sim = start(&[ADMIN, M1, M2, OUT]).await;
        let mut c = HashMap::new();
        for a in [ADMIN, M1, M2, OUT] {
            for r in [EAST, WEST] {
                c.insert((a, r), hub_with_finding(&sim, a, r).await);
            }
        }
        let admin = &c[&(ADMIN, EAST)];
        let (m1, m2) = (&c[&(M1, EAST)], &c[&(M2, EAST)]);

        // Created: listed only with OnlyAssociated=false; no invitation yet.
        let m1_details = AccountDetails::builder()
            .account_id(M1)
            .email("m1@example.com")
            .build();
        let call = admin.create_members().account_details(m1_details);
        let out = call.account_details(details(M2)).send().await.unwrap();
        assert!(out.unprocessed_accounts().is_empty());
        let listed = admin.list_members().send().await.unwrap();
        assert!(
            listed.members().is_empty(),
            "OnlyAssociated defaults to true"
        );
        let all = all_members(admin).await;
        assert_eq!(all.len(), 2);
        assert!(
            all.iter()
                .all(|m| m.member_status() == Some("Created") && m.invited_at().is_none())
        );
        assert_eq!(all[0].email(), Some("m1@example.com"));
        assert!(invitations(m1).await.is_empty());

        // Invited: OUT was never created, so it cannot be invited.
        let failed = invite(admin, &[M1, M2, OUT]).await;
        assert_eq!(unprocessed_ids(&failed), vec![OUT]);
        let call = admin.get_members().set_account_ids(strings(&[M1, M2, OUT]));
        let got = call.send().await.unwrap();
        assert_eq!(got.members().len(), 2);
        assert!(
            got.members()
                .iter()
                .all(|m| m.member_status() == Some("Invited") && m.invited_at().is_some())
        );
        assert_eq!(
            unprocessed_ids(&unprocessed(got.unprocessed_accounts())),
            vec![OUT]
        );

        // The invitation exists in the Region it was sent from only.
        let inv = invitations(m1).await;
        assert_eq!(inv.len(), 1);
        assert_eq!(inv[0].account_id(), Some(ADMIN));
        assert_eq!(inv[0].member_status(), Some("Invited"));
        assert!(invitations(&c[&(M1, WEST)]).await.is_empty());
        assert_eq!(invitations_count(m1).await, Some(1));

        // Nothing is shared before acceptance.
        assert_eq!(seen(admin).await, firsts(&[(ADMIN, EAST)]));

        // M1 accepts with the current API, M2 with the deprecated one.
        accept(m1, ADMIN).await;
        let m2_invitation = invitation_from(m2, ADMIN).await;
        let call = m2.accept_invitation().master_id(ADMIN);
        call.invitation_id(&m2_invitation).send().await.unwrap();

        let members = admin.list_members().send().await.unwrap();
        let enabled: Vec<_> = members
            .members()
            .iter()
            .map(|m| m.account_id().unwrap())
            .collect();
        assert_eq!(enabled, vec![M1, M2]);
        for m in members.members() {
            assert_eq!(m.member_status(), Some("Enabled"));
            assert_eq!(m.administrator_id(), Some(ADMIN));
            assert_eq!(m.master_id(), Some(ADMIN));
        }

        // The administrator reads its members' findings in this Region only; members and
        // outsiders read only their own.
        let admin_east = firsts(&[(ADMIN, EAST), (M1, EAST), (M2, EAST)]);
        assert_eq!(seen(admin).await, admin_east);
        for (a, r) in [(ADMIN, WEST), (M1, EAST), (M2, EAST), (OUT, EAST)] {
            assert_eq!(seen(&c[&(a, r)]).await, firsts(&[(a, r)]), "{a} in {r}");
        }

        // Findings the member imports later are visible to the administrator at once.
        import(m2, M2, EAST, "later", "later").await;
        assert!(seen(admin).await.contains("later"));

        // Member-side views of the relationship.
        let a = administrator(m1).await.expect("M1 has an administrator");
        assert_eq!(a.account_id(), Some(ADMIN));
        assert_eq!(a.member_status(), Some("Enabled"));
        let m = m2.get_master_account().send().await.unwrap();
        assert_eq!(
            m.master().and_then(|m| m.invitation_id()),
            Some(m2_invitation.as_str())
        );
        assert!(administrator(&c[&(M1, WEST)]).await.is_none());
        assert!(administrator(&c[&(OUT, EAST)]).await.is_none());
        // The accepted invitation is still listed but no longer counted.
        assert_eq!(invitations(m1).await[0].member_status(), Some("Enabled"));
        assert_eq!(invitations_count(m1).await, Some(0));

        // The administrator may triage a member's finding; a member may not touch the
        // administrator's or another member's.
        let notified = triage(admin, M1, EAST, WorkflowStatus::Notified).await;
        assert_eq!(notified, (1, vec![]));
        let m1_finding = find(m1, &format!("{M1}@{EAST}")).await;
        assert_eq!(workflow_of(&m1_finding), Some(WorkflowStatus::Notified));
        for acct in [ADMIN, M2] {
            let suppressed = triage(m1, acct, EAST, WorkflowStatus::Suppressed).await;
            assert_eq!(suppressed, not_found(), "{acct}");
        }
    });
}

#[test]
fn create_members_limits_and_repeats() {
    run(async {
        let sim = start(&[ADMIN, OUT]).await;
        let admin = client(&sim, ADMIN, EAST).await;

        // Security Hub must be enabled first.
        assert_eq!(create_call(&admin, &[M1]).await.unwrap_err(), ACCESS);
        admin.enable_security_hub().send().await.unwrap();

        // 1..50 AccountDetails per call.
        let many = numbered(500_000_000_000, 51);
        let fifty_one: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(create_call(&admin, &fifty_one).await.unwrap_err(), INPUT);
        assert_eq!(create_call(&admin, &[]).await.unwrap_err(), INPUT);
        assert!(
            all_members(&admin).await.is_empty(),
            "a rejected call creates nothing"
        );
        assert!(create(&admin, &fifty_one[..50]).await.is_empty());
        assert_eq!(all_members(&admin).await.len(), 50);

        // Repeating an existing member is not an error but is reported, with AWS's text, next to
        // the caller itself and a malformed id; the new account in the same call is created.
        let failed = create(&admin, &[fifty_one[0], fifty_one[50], ADMIN, "12345"]).await;
        assert_eq!(unprocessed_ids(&failed), vec![fifty_one[0], ADMIN, "12345"]);
        assert_eq!(
            failed[0].1,
            "The request is rejected because the given account ID is already a member or associated member of the current account."
        );
        assert_eq!(all_members(&admin).await.len(), 51);
        assert_eq!(status_of(&admin, fifty_one[50]).await, "Created");
    });
}

#[test]
fn list_members_and_invitations_page_within_their_limits() {
    run(async {
        let sim = start(&[ADMIN, M1]).await;
        let admin = enabled(&sim, ADMIN, EAST).await;
        let accounts = numbered(600_000_000_000, 50);
        let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
        assert!(create(&admin, &refs).await.is_empty());

        let list = || admin.list_members().only_associated(false);
        for bad in [0, 51] {
            let call = list().max_results(bad);
            assert_eq!(refused(call.send().await), INPUT, "MaxResults {bad}");
        }
        let full = list().max_results(50).send().await.unwrap();
        assert_eq!(full.members().len(), 50);
        assert_eq!(full.next_token(), None);
        let one = list().max_results(1).send().await.unwrap();
        assert_eq!(one.members()[0].account_id(), Some(refs[0]));
        assert!(one.next_token().is_some());
        let forged = list().next_token("not-a-token");
        assert_eq!(refused(forged.send().await), INPUT);

        // Pages of 7: every member once, in account order.
        let pages: Vec<_> = list()
            .into_paginator()
            .page_size(7)
            .send()
            .collect::<Vec<_>>()
            .await;
        assert_eq!(pages.len(), 8);
        let listed: Vec<String> = pages
            .into_iter()
            .flat_map(|p| p.unwrap().members().to_vec())
            .map(|m| m.account_id().unwrap().to_string())
            .collect();
        assert_eq!(listed, accounts);

        let member = enabled(&sim, M1, EAST).await;
        for bad in [0, 51] {
            let call = member.list_invitations().max_results(bad);
            assert_eq!(refused(call.send().await), INPUT, "MaxResults {bad}");
        }
    });
}

#[test]
fn one_administrator_per_account_and_administrators_are_not_members() {
    run(async {
        let (a1, a2, m) = (ADMIN, OUT, M1);
        let (sim, [admin1, admin2, member]) = east(&[a1, a2, m, M2], [a1, a2, m]).await;
        create_and_invite(&admin1, &[m]).await;
        create_and_invite(&admin2, &[m, a1]).await;

        // A wrong invitation id is not found; accepting works once, and again is harmless.
        let wrong = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            accept_with(&member, a1, wrong).await.unwrap_err(),
            NOT_FOUND
        );
        accept(&member, a1).await;
        accept(&member, a1).await;

        // Only one administrator: the second invitation cannot be accepted or re-sent.
        let second = invitation_from(&member, a2).await;
        assert_eq!(accept_with(&member, a2, &second).await.unwrap_err(), INPUT);
        assert_eq!(unprocessed_ids(&invite(&admin2, &[m]).await), vec![m]);
        assert_eq!(status_of(&admin2, m).await, "Invited");

        // An administrator with a member cannot become a member.
        let to_a1 = invitation_from(&admin1, a2).await;
        assert_eq!(accept_with(&admin1, a2, &to_a1).await.unwrap_err(), INPUT);

        // A member cannot administer.
        assert_eq!(create_call(&member, &[M2]).await.unwrap_err(), INPUT);
        let call = member.invite_members().account_ids(M2);
        assert_eq!(refused(call.send().await), INPUT);

        // Accepting needs Security Hub enabled in the member.
        let fresh = client(&sim, M2, EAST).await;
        create_and_invite(&admin2, &[M2]).await;
        let accepted = accept_with(&fresh, a2, "whatever").await;
        assert_eq!(accepted.unwrap_err(), ACCESS);
        assert_eq!(refused(fresh.list_invitations().send().await), DENIED);
    });
}

#[test]
fn disassociating_and_deleting_members_reverses_visibility() {
    run(async {
        let sim = start(&[ADMIN, M1, M2]).await;
        let admin = hub_with_finding(&sim, ADMIN, EAST).await;
        let m1 = hub_with_finding(&sim, M1, EAST).await;
        let m2 = hub_with_finding(&sim, M2, EAST).await;
        associate(&sim, ADMIN, EAST, &[M1, M2]).await;
        let all_three = firsts(&[(ADMIN, EAST), (M1, EAST), (M2, EAST)]);
        assert_eq!(seen(&admin).await, all_three);
        let (m1_finding, m2_finding) = (format!("{M1}@{EAST}"), format!("{M2}@{EAST}"));

        // An associated member cannot be deleted.
        assert_eq!(unprocessed_ids(&delete(&admin, &[M1]).await), vec![M1]);
        assert_eq!(status_of(&admin, M1).await, "Enabled");

        // The administrator disassociates M1: Removed, and its findings are out of reach.
        assert_eq!(
            disassociate(&admin, &[M1, OUT]).await.unwrap_err(),
            NOT_FOUND
        );
        assert_eq!(
            status_of(&admin, M1).await,
            "Enabled",
            "a failed call changes nothing"
        );
        disassociate(&admin, &[M1]).await.unwrap();
        assert_eq!(status_of(&admin, M1).await, "Removed");
        assert_eq!(seen(&admin).await, firsts(&[(ADMIN, EAST), (M2, EAST)]));
        let resolved = triage(&admin, M1, EAST, WorkflowStatus::Resolved).await;
        assert_eq!(resolved, not_found());
        assert!(administrator(&m1).await.is_none());
        // The old invitation cannot be reused; a new one restores the membership.
        let old = invitation_from(&m1, ADMIN).await;
        assert_eq!(accept_with(&m1, ADMIN, &old).await.unwrap_err(), NOT_FOUND);
        assert!(invite(&admin, &[M1]).await.is_empty());
        accept(&m1, ADMIN).await;
        assert!(seen(&admin).await.contains(&m1_finding));

        // M2 leaves on its own: Resigned, keeps its invitation and can accept it again.
        let leave = || m2.disassociate_from_administrator_account();
        leave().send().await.unwrap();
        assert_eq!(status_of(&admin, M2).await, "Resigned");
        assert!(!seen(&admin).await.contains(&m2_finding));
        assert_eq!(invitations(&m2).await[0].member_status(), Some("Resigned"));
        accept(&m2, ADMIN).await;
        assert!(seen(&admin).await.contains(&m2_finding));
        m2.disassociate_from_master_account().send().await.unwrap();
        assert_eq!(status_of(&admin, M2).await, "Resigned");
        assert_eq!(refused(leave().send().await), NOT_FOUND);

        // Deleting removes the record and the invitation.
        disassociate(&admin, &[M1]).await.unwrap();
        assert!(delete(&admin, &[M1, M2]).await.is_empty());
        assert!(all_members(&admin).await.is_empty());
        assert!(invitations(&m2).await.is_empty());
        assert_eq!(seen(&admin).await, firsts(&[(ADMIN, EAST)]));
        assert!(create(&admin, &[M1]).await.is_empty());
        assert_eq!(status_of(&admin, M1).await, "Created");
    });
}

#[test]
fn declining_and_deleting_invitations() {
    run(async {
        let (sim, [admin, m1, m2]) = east(&[ADMIN, M1, M2, OUT], [ADMIN, M1, M2]).await;
        create_and_invite(&admin, &[M1, M2]).await;
        let declined = invitation_from(&m1, ADMIN).await;

        let failed = decline(&m1, &[ADMIN, OUT]).await.unwrap();
        assert_eq!(unprocessed_ids(&failed), vec![OUT]);
        assert_eq!(status_of(&admin, M1).await, "Resigned");
        assert!(invitations(&m1).await.is_empty());
        let accepted = accept_with(&m1, ADMIN, &declined).await;
        assert_eq!(accepted.unwrap_err(), NOT_FOUND);

        let out = m2.delete_invitations().account_ids(ADMIN).send().await;
        assert!(out.unwrap().unprocessed_accounts().is_empty());
        assert!(invitations(&m2).await.is_empty());
        assert_eq!(invitations_count(&m2).await, Some(0));

        // An accepted invitation cannot be declined.
        assert!(invite(&admin, &[M1]).await.is_empty());
        accept(&m1, ADMIN).await;
        let failed = decline(&m1, &[ADMIN]).await.unwrap();
        assert_eq!(unprocessed_ids(&failed), vec![ADMIN]);
        assert_eq!(status_of(&admin, M1).await, "Enabled");

        let outsider = client(&sim, OUT, EAST).await;
        assert_eq!(decline(&outsider, &[ADMIN]).await.unwrap_err(), ACCESS);
    });
}

#[test]
fn disable_security_hub_is_refused_for_administrators_and_members() {
    run(async {
        let accounts = [ADMIN, M1, M2, OUT];
        let (sim, [admin, m1, m2, out]) = east(&accounts, accounts).await;
        associate(&sim, ADMIN, EAST, &[M1]).await;
        create_and_invite(&admin, &[M2]).await;

        let err = admin.disable_security_hub().send().await.unwrap_err();
        assert_eq!(code(&err), INPUT);
        assert!(
            message(&err).contains("Cannot disable Security Hub on the Security Hub administrator"),
            "{}",
            message(&err)
        );
        assert_eq!(refused(m1.disable_security_hub().send().await), INPUT);
        assert!(
            admin.describe_hub().send().await.is_ok() && m1.describe_hub().send().await.is_ok()
        );
        // A standalone account is unaffected, and so is the administrator in another Region.
        out.disable_security_hub().send().await.unwrap();
        let west = enabled(&sim, ADMIN, WEST).await;
        west.disable_security_hub().send().await.unwrap();

        // Once the only associated member is gone (a pending invitation does not count), both
        // can disable; the administrator's remaining member records go with its hub.
        disassociate(&admin, &[M1]).await.unwrap();
        m1.disable_security_hub().send().await.unwrap();
        admin.disable_security_hub().send().await.unwrap();
        admin.enable_security_hub().send().await.unwrap();
        assert!(all_members(&admin).await.is_empty());
        assert!(invitations(&m2).await.is_empty());
    });
}

const MGMT: &str = "100000000000";
const DA: &str = "100000000001";
const ORG2: &str = "100000000002";
const ORG3: &str = "100000000003";
const SUSPENDED: &str = "100000000004";
const OUTSIDER: &str = "999999999999";

fn org_fleet() -> Fleet {
    let account = |id: &str, status: &str| AccountSpec {
        status: status.to_string(),
        regions: vec![EAST.into(), WEST.into()],
        ..common::account(id)
    };
    common::organization(
        MGMT,
        vec![
            account(MGMT, "ACTIVE"),
            account(DA, "ACTIVE"),
            account(ORG2, "ACTIVE"),
            account(ORG3, "ACTIVE"),
            account(SUSPENDED, "SUSPENDED"),
        ],
    )
}

/// awsim with the organization of [`org_fleet`] and an outsider, and the management account's
/// EAST client.
async fn org_estate() -> (Awsim, Client) {
    let sim = start(&[MGMT, DA, ORG2, ORG3, SUSPENDED, OUTSIDER]).await;
    sim.load_fleet(org_fleet()).unwrap();
    let mgmt = client(&sim, MGMT, EAST).await;
    (sim, mgmt)
}

/// `EnableOrganizationAdminAccount` of `account`: the account answered, or the error code.
async fn designate(mgmt: &Client, account: &str) -> Result<String, String> {
    let call = mgmt
        .enable_organization_admin_account()
        .admin_account_id(account);
    outcome(call.send().await).map(|out| out.admin_account_id().unwrap_or_default().to_string())
}

/// `DisableOrganizationAdminAccount` of `account`.
async fn undesignate(mgmt: &Client, account: &str) -> Result<(), String> {
    let call = mgmt
        .disable_organization_admin_account()
        .admin_account_id(account);
    outcome(call.send().await).map(|_| ())
}

/// `ListOrganizationAdminAccounts`: each administrator and its status, or the error code.
async fn admins(mgmt: &Client) -> Result<Vec<(String, AdminStatus)>, String> {
    let out = outcome(mgmt.list_organization_admin_accounts().send().await)?;
    let admins = out.admin_accounts().iter().map(|a| {
        let id = a.account_id().unwrap_or_default().to_string();
        (id, a.status().cloned().unwrap_or(AdminStatus::from("")))
    });
    Ok(admins.collect())
}

/// `DescribeOrganizationConfiguration`: `AutoEnable`, `AutoEnableStandards` and
/// `MemberAccountLimitReached`, or the error code.
async fn org_config(
    c: &Client,
) -> Result<(Option<bool>, Option<AutoEnableStandards>, Option<bool>), String> {
    let out = outcome(c.describe_organization_configuration().send().await)?;
    Ok((
        out.auto_enable(),
        out.auto_enable_standards().cloned(),
        out.member_account_limit_reached(),
    ))
}

#[test]
fn organization_administrator_is_designated_by_the_management_account_only() {
    run(async {
        let (sim, mgmt) = org_estate().await;

        for (who, acct) in [("member", ORG2), ("outsider", OUTSIDER)] {
            let c = client(&sim, acct, EAST).await;
            assert_eq!(designate(&c, DA).await.unwrap_err(), DENIED, "{who}");
            assert_eq!(admins(&c).await.unwrap_err(), DENIED, "{who}");
        }
        assert_eq!(designate(&mgmt, OUTSIDER).await.unwrap_err(), INPUT);
        assert_eq!(admins(&mgmt).await.unwrap(), vec![]);

        // Designation enables Security Hub in the administrator, in that Region only.
        let da_east = client(&sim, DA, EAST).await;
        assert_eq!(refused(da_east.describe_hub().send().await), ACCESS);
        assert_eq!(designate(&mgmt, DA).await.unwrap(), DA);
        assert!(da_east.describe_hub().send().await.is_ok());
        let da_west = client(&sim, DA, WEST).await;
        assert!(da_west.describe_hub().send().await.is_err());
        let da_enabled = vec![(DA.to_string(), AdminStatus::Enabled)];
        assert_eq!(admins(&mgmt).await.unwrap(), da_enabled);
        let mgmt_west = client(&sim, MGMT, WEST).await;
        assert_eq!(admins(&mgmt_west).await.unwrap(), vec![]);
        let call = mgmt.list_organization_admin_accounts().max_results(11);
        assert_eq!(refused(call.send().await), INPUT);

        // One delegated administrator per organization: another account elsewhere is refused,
        // the same account (or the management account itself) is fine.
        assert_eq!(designate(&mgmt_west, ORG2).await.unwrap_err(), INPUT);
        designate(&mgmt_west, DA).await.unwrap();
        let mgmt_syd = client(&sim, MGMT, SYD).await;
        designate(&mgmt_syd, MGMT).await.unwrap();
        undesignate(&mgmt_syd, MGMT).await.unwrap();
        // A different account in a Region that already has one is refused too.
        assert_eq!(designate(&mgmt, ORG2).await.unwrap_err(), INPUT);

        // Removing it in one Region leaves the others.
        assert_eq!(undesignate(&da_west, DA).await.unwrap_err(), DENIED);
        assert_eq!(undesignate(&mgmt_west, ORG2).await.unwrap_err(), INPUT);
        undesignate(&mgmt_west, DA).await.unwrap();
        assert_eq!(admins(&mgmt_west).await.unwrap(), vec![]);
        assert_eq!(admins(&mgmt).await.unwrap().len(), 1);
    });
}

#[test]
fn organization_administrator_enables_members_directly() {
    run(async {
        let (sim, mgmt) = org_estate().await;
        designate(&mgmt, DA).await.unwrap();
        let da = client(&sim, DA, EAST).await;

        // Organization configuration belongs to the administrator.
        let initial = (Some(false), Some(AutoEnableStandards::Default), Some(false));
        assert_eq!(org_config(&da).await.unwrap(), initial);
        for other in [MGMT, ORG2] {
            let c = client(&sim, other, EAST).await;
            assert_eq!(org_config(&c).await.unwrap_err(), ACCESS, "{other}");
            let update = c.update_organization_configuration().auto_enable(true);
            assert_eq!(refused(update.send().await), ACCESS, "{other}");
        }
        da.update_organization_configuration()
            .auto_enable(true)
            .auto_enable_standards(AutoEnableStandards::None)
            .send()
            .await
            .unwrap();
        let (auto_enable, standards, _) = org_config(&da).await.unwrap();
        assert_eq!(auto_enable, Some(true));
        assert_eq!(standards, Some(AutoEnableStandards::None));
        // AutoEnable concerns accounts that join later: existing ones are not members.
        assert!(all_members(&da).await.is_empty());
        let org2 = client(&sim, ORG2, EAST).await;
        assert!(org2.describe_hub().send().await.is_err());

        // CreateMembers associates organization accounts at once and enables Security Hub in
        // them, but never in the management account; a suspended account is recorded as such.
        let failed = create(&da, &[ORG2, ORG3, MGMT, SUSPENDED]).await;
        assert_eq!(unprocessed_ids(&failed), vec![MGMT]);
        assert!(org2.describe_hub().send().await.is_ok());
        assert!(invitations(&org2).await.is_empty());
        let members = all_members(&da).await;
        let status: Vec<_> = members
            .iter()
            .map(|m| (m.account_id().unwrap(), m.member_status().unwrap()))
            .collect();
        assert_eq!(
            status,
            vec![
                (ORG2, "Enabled"),
                (ORG3, "Enabled"),
                (SUSPENDED, "AccountSuspended")
            ]
        );
        assert_eq!(members[0].email(), Some("100000000002@example.com"));
        let a = administrator(&org2).await;
        assert_eq!(a.as_ref().and_then(|a| a.account_id()), Some(DA));

        import(&org2, ORG2, EAST, "org2-finding", "t").await;
        assert_eq!(seen(&da).await, set(&["org2-finding"]));

        // Organization members cannot leave or disable; the administrator cannot disable either.
        let leave = org2.disassociate_from_administrator_account();
        assert_eq!(refused(leave.send().await), INPUT);
        assert_eq!(refused(org2.disable_security_hub().send().await), INPUT);
        assert_eq!(refused(da.disable_security_hub().send().await), INPUT);
        // They are disassociated, not deleted; CreateMembers brings them back.
        assert_eq!(unprocessed_ids(&delete(&da, &[ORG2]).await), vec![ORG2]);
        disassociate(&da, &[ORG2]).await.unwrap();
        assert_eq!(status_of(&da, ORG2).await, "Removed");
        assert!(seen(&da).await.is_empty());
        assert!(create(&da, &[ORG2]).await.is_empty());
        assert_eq!(seen(&da).await, set(&["org2-finding"]));

        // The organization administrator may also invite an account outside the organization.
        let outsider = hub_with_finding(&sim, OUTSIDER, EAST).await;
        assert!(create(&da, &[OUTSIDER]).await.is_empty());
        assert_eq!(status_of(&da, OUTSIDER).await, "Created");
        assert!(invite(&da, &[OUTSIDER]).await.is_empty());
        accept(&outsider, DA).await;
        let outsider_finding = format!("{OUTSIDER}@{EAST}");
        assert_eq!(seen(&da).await, set(&["org2-finding", &outsider_finding]));

        // Removing the designation ends the organization memberships, not the invited one.
        undesignate(&mgmt, DA).await.unwrap();
        assert_eq!(seen(&da).await, firsts(&[(OUTSIDER, EAST)]));
        let left: Vec<_> = all_members(&da)
            .await
            .iter()
            .map(|m| m.account_id().unwrap().to_string())
            .collect();
        assert_eq!(left, vec![OUTSIDER.to_string()]);
        assert_eq!(org_config(&da).await.unwrap_err(), ACCESS);
        assert!(administrator(&org2).await.is_none());
    });
}

/// ADMIN, M1 and M2 with Security Hub and one finding in each of EAST, WEST and SYD; M1 is
/// ADMIN's member in all three Regions, M2 in EAST and WEST only.
async fn three_region_estate() -> Awsim {
    let sim = start(&[ADMIN, M1, M2, OUT]).await;
    for a in [ADMIN, M1, M2] {
        for r in [EAST, WEST, SYD] {
            hub_with_finding(&sim, a, r).await;
        }
    }
    associate(&sim, ADMIN, EAST, &[M1, M2]).await;
    associate(&sim, ADMIN, WEST, &[M1, M2]).await;
    associate(&sim, ADMIN, SYD, &[M1]).await;
    sim
}

/// `Regions` of an aggregator call: left out when there are none.
fn linked(regions: &[&str]) -> Option<Vec<String>> {
    strings(regions).filter(|r| !r.is_empty())
}

/// `CreateFindingAggregator` linking `regions`.
async fn create_aggregator(
    c: &Client,
    mode: &str,
    regions: &[&str],
) -> Result<CreateFindingAggregatorOutput, String> {
    let call = c.create_finding_aggregator().region_linking_mode(mode);
    outcome(call.set_regions(linked(regions)).send().await)
}

/// `UpdateFindingAggregator` of `arn` linking `regions`.
async fn update_aggregator(
    c: &Client,
    arn: &str,
    mode: &str,
    regions: &[&str],
) -> Result<UpdateFindingAggregatorOutput, String> {
    let call = c.update_finding_aggregator().finding_aggregator_arn(arn);
    let call = call.region_linking_mode(mode);
    outcome(call.set_regions(linked(regions)).send().await)
}

async fn get_aggregator(c: &Client, arn: &str) -> Result<GetFindingAggregatorOutput, String> {
    let call = c.get_finding_aggregator().finding_aggregator_arn(arn);
    outcome(call.send().await)
}

async fn delete_aggregator(c: &Client, arn: &str) -> Result<(), String> {
    let call = c.delete_finding_aggregator().finding_aggregator_arn(arn);
    outcome(call.send().await).map(|_| ())
}

/// The ARNs of the aggregators `c` lists.
async fn aggregators(c: &Client) -> Vec<String> {
    let out = c.list_finding_aggregators().send().await.unwrap();
    let arns = out.finding_aggregators().iter();
    arns.map(|a| a.finding_aggregator_arn().unwrap().to_string())
        .collect()
}

#[test]
fn aggregator_brings_linked_regions_to_the_home_region() {
    run(async {
        let sim = three_region_estate().await;
        let admin = client(&sim, ADMIN, EAST).await;
        let east_only = firsts(&[(ADMIN, EAST), (M1, EAST), (M2, EAST)]);
        assert_eq!(seen(&admin).await, east_only);

        let created = create_aggregator(&admin, "SPECIFIED_REGIONS", &[WEST]).await;
        let created = created.unwrap();
        let arn = created.finding_aggregator_arn().unwrap().to_string();
        assert_eq!(created.finding_aggregation_region(), Some(EAST));
        // Aggregation replicates findings created or updated after the aggregator exists
        // (user guide, "How cross-Region aggregation works"): nothing older is back-filled
        // until its provider updates it.
        assert_eq!(seen(&admin).await, east_only, "nothing back-filled");
        for a in [ADMIN, M1, M2] {
            for r in [EAST, WEST, SYD] {
                let c = client(&sim, a, r).await;
                import_at(&c, a, r, &format!("{a}@{r}"), "first", 1).await;
            }
        }

        // The home Region now shows the linked Region's findings of the administrator and its
        // members there; SYD is not linked, and other Regions are unchanged.
        let west_all = firsts(&[(ADMIN, WEST), (M1, WEST), (M2, WEST)]);
        let with_west = &east_only | &west_all;
        assert_eq!(seen(&admin).await, with_west);
        let m2_own = firsts(&[(M2, EAST), (M2, WEST)]);
        assert_seen(
            &sim,
            &[
                (ADMIN, WEST, west_all),
                (ADMIN, SYD, firsts(&[(ADMIN, SYD), (M1, SYD)])),
                // Members inherit the aggregation for their own findings only.
                (M1, EAST, firsts(&[(M1, EAST), (M1, WEST)])),
                (M2, EAST, m2_own.clone()),
                (M1, WEST, firsts(&[(M1, WEST)])),
            ],
        )
        .await;
        // Each finding keeps its Region, and an update from the home Region lands in it.
        let id = format!("{M1}@{WEST}");
        assert_eq!(find(&admin, &id).await.region(), Some(WEST));
        let notified = triage(&admin, M1, WEST, WorkflowStatus::Notified).await;
        assert_eq!(notified, (1, vec![]));
        let m1_west = client(&sim, M1, WEST).await;
        let in_m1 = find(&m1_west, &id).await;
        assert_eq!(workflow_of(&in_m1), Some(WorkflowStatus::Notified));

        // ALL_REGIONS adds SYD, where only M1 is a member.
        update_aggregator(&admin, &arn, "ALL_REGIONS", &[])
            .await
            .unwrap();
        let everything = &with_west | &firsts(&[(ADMIN, SYD), (M1, SYD)]);
        assert_eq!(seen(&admin).await, everything);
        assert_seen(&sim, &[(M2, EAST, m2_own)]).await;

        // Unlinking WEST keeps what had been aggregated from it, frozen: new findings and
        // provider updates there no longer reach the home Region.
        update_aggregator(&admin, &arn, "ALL_REGIONS_EXCEPT_SPECIFIED", &[WEST])
            .await
            .unwrap();
        assert_eq!(seen(&admin).await, everything);
        import(&m1_west, M1, WEST, "west-new", "new").await;
        import_at(&m1_west, M1, WEST, &id, "changed", 5).await;
        assert!(!seen(&admin).await.contains("west-new"));
        let admin_west = client(&sim, ADMIN, WEST).await;
        assert!(seen(&admin_west).await.contains("west-new"));
        assert_eq!(find(&admin, &id).await.title(), Some("first"));
        // ... while SYD is still live.
        import(&client(&sim, M1, SYD).await, M1, SYD, "syd-new", "new").await;
        assert!(seen(&admin).await.contains("syd-new"));

        // Deleting the aggregator stops aggregation and keeps what was aggregated.
        delete_aggregator(&admin, &arn).await.unwrap();
        let kept_all = &everything | &set(&["syd-new"]);
        assert_eq!(seen(&admin).await, kept_all);
        let admin_syd = client(&sim, ADMIN, SYD).await;
        import(&admin_syd, ADMIN, SYD, "syd-after", "after").await;
        assert!(!seen(&admin).await.contains("syd-after"));

        // A disassociated member's findings, kept ones included, leave the administrator's view;
        // the member still has its own.
        disassociate(&admin, &[M1]).await.unwrap();
        let seen_now = seen(&admin).await;
        assert!(
            seen_now
                .iter()
                .all(|id| !id.starts_with(M1) && id != "syd-new"),
            "{seen_now:?}"
        );
        let m1_all = &firsts(&[(M1, EAST), (M1, WEST), (M1, SYD)]) | &set(&["syd-new"]);
        assert_seen(&sim, &[(M1, EAST, m1_all)]).await;
    });
}

#[test]
fn aggregator_rules_and_errors() {
    run(async {
        let sim = start(&[ADMIN, M1, OUT]).await;
        let east = client(&sim, ADMIN, EAST).await;
        let all = "ALL_REGIONS";
        assert_eq!(
            create_aggregator(&east, all, &[]).await.unwrap_err(),
            ACCESS
        );
        east.enable_security_hub().send().await.unwrap();
        let west = enabled(&sim, ADMIN, WEST).await;

        for (mode, regions) in [
            ("NO_REGIONS", vec![WEST]),
            ("SPECIFIED_REGIONS", vec![]),
            ("ALL_REGIONS_EXCEPT_SPECIFIED", vec![]),
            ("SOME_REGIONS", vec![]),
            ("SPECIFIED_REGIONS", vec!["cn-north-1"]),
            ("SPECIFIED_REGIONS", vec!["westeros"]),
        ] {
            // Regions sent even when empty.
            let call = east.create_finding_aggregator().region_linking_mode(mode);
            let created = outcome(call.set_regions(strings(&regions)).send().await);
            assert_eq!(created.unwrap_err(), INPUT, "{mode} {regions:?}");
        }

        let created = create_aggregator(&east, all, &[]).await.unwrap();
        let arn = created.finding_aggregator_arn().unwrap().to_string();
        let prefix = format!("arn:aws:securityhub:{EAST}:{ADMIN}:finding-aggregator/");
        let uuid = arn.strip_prefix(&prefix).unwrap_or_else(|| panic!("{arn}"));
        assert_eq!(uuid.len(), 36);
        assert_eq!(
            uuid.match_indices('-').map(|(i, _)| i).collect::<Vec<_>>(),
            vec![8, 13, 18, 23]
        );
        assert_eq!(created.region_linking_mode(), Some(all));

        // One per account; readable from any Region, changed only from the home Region.
        assert_eq!(create_aggregator(&west, all, &[]).await.unwrap_err(), INPUT);
        assert_eq!(aggregators(&west).await, vec![arn.clone()]);
        let got = get_aggregator(&west, &arn).await.unwrap();
        assert_eq!(got.finding_aggregation_region(), Some(EAST));
        let updated = update_aggregator(&west, &arn, "NO_REGIONS", &[]).await;
        assert_eq!(updated.unwrap_err(), INPUT);
        assert_eq!(delete_aggregator(&west, &arn).await.unwrap_err(), INPUT);
        let bogus = format!("{prefix}00000000-0000-0000-0000-000000000000");
        assert_eq!(get_aggregator(&east, &bogus).await.unwrap_err(), NOT_FOUND);
        let call = east.list_finding_aggregators().max_results(0);
        assert_eq!(refused(call.send().await), INPUT);

        let specified = "SPECIFIED_REGIONS";
        let updated = update_aggregator(&east, &arn, specified, &[WEST]).await;
        assert_eq!(updated.unwrap().regions(), [WEST.to_string()]);
        let got = get_aggregator(&east, &arn).await.unwrap();
        assert_eq!(
            (got.region_linking_mode(), got.regions()),
            (Some(specified), &[WEST.to_string()][..])
        );

        // A member account cannot create one, in any Region.
        for r in [EAST, WEST] {
            enabled(&sim, M1, r).await;
        }
        associate(&sim, ADMIN, EAST, &[M1]).await;
        for r in [EAST, WEST] {
            let m1 = client(&sim, M1, r).await;
            let created = create_aggregator(&m1, all, &[]).await;
            assert_eq!(created.unwrap_err(), INPUT, "{r}");
        }

        delete_aggregator(&east, &arn).await.unwrap();
        assert!(aggregators(&east).await.is_empty());
        assert_eq!(get_aggregator(&east, &arn).await.unwrap_err(), NOT_FOUND);
        assert_eq!(delete_aggregator(&east, &arn).await.unwrap_err(), NOT_FOUND);
        // After deletion a new one may be created elsewhere.
        let again = create_aggregator(&west, "NO_REGIONS", &[]).await.unwrap();
        assert_eq!(again.finding_aggregation_region(), Some(WEST));
    });
}

#[test]
fn membership_calls_are_counted_under_their_operation_names() {
    run(async {
        let (sim, _) = east(&[ADMIN, M1], [ADMIN, M1]).await;
        associate(&sim, ADMIN, EAST, &[M1]).await;
        let stats = sim.stats();
        for op in [
            "CreateMembers",
            "InviteMembers",
            "ListInvitations",
            "AcceptAdministratorInvitation",
        ] {
            assert_eq!(stats.calls_of(op), 1, "{op}");
        }
    });
}
