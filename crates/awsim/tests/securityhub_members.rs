//! Security Hub administrator and member accounts through the real SDK: the invitation flow,
//! the Organizations integration, cross-Region finding aggregators, and what each account's
//! `GetFindings` and `BatchUpdateFindings` reach as relationships are made and undone.
#![allow(
    deprecated,
    reason = "the deprecated AcceptInvitation, GetMasterAccount, DisassociateFromMasterAccount and MasterId are still served and tested"
)]

mod common;

use std::collections::BTreeSet;

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::error::ProvideErrorMetadata;
use aws_sdk_securityhub::types::{
    AccountDetails, AdminStatus, AutoEnableStandards, AwsSecurityFinding,
    AwsSecurityFindingIdentifier, Member, Resource, Severity, SeverityLabel, WorkflowStatus,
    WorkflowUpdate,
};
use awsim::fleet::{AccountSpec, Fleet, OrgSpec};

const ADMIN: &str = "111111111111";
const M1: &str = "222222222222";
const M2: &str = "333333333333";
const OUT: &str = "444444444444";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";
const SYD: &str = "ap-southeast-2";

/// Runs a test body on worker threads with a 16 MB stack: decoding findings in debug builds
/// needs more than a test thread's default (see tests/securityhub.rs).
fn run<F: Future<Output = ()> + Send + 'static>(body: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()
        .expect("test runtime");
    rt.block_on(async move {
        if let Err(e) = tokio::spawn(body).await {
            match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => panic!("test task failed: {e}"),
            }
        }
    });
}

async fn start(accounts: &[&str]) -> awsim::Awsim {
    common::start_with(common::config_for_accounts(accounts)).await
}

fn client(sim: &awsim::Awsim, account: &str, region: &str) -> Client {
    Client::new(&common::sdk_config(sim, account, region))
}

/// Enables Security Hub for `account` in `region` and imports one finding `ACCOUNT@REGION`.
async fn hub_with_finding(sim: &awsim::Awsim, account: &str, region: &str) -> Client {
    let c = client(sim, account, region);
    c.enable_security_hub().send().await.unwrap();
    import(&c, account, region, &format!("{account}@{region}"), "first").await;
    c
}

fn product_arn(account: &str, region: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account}:product/{account}/default")
}

fn finding(account: &str, region: &str, id: &str, title: &str, minute: u32) -> AwsSecurityFinding {
    let at = format!("2024-05-01T00:{minute:02}:00Z");
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(product_arn(account, region))
        .generator_id("patchhub/missing-patches")
        .aws_account_id(account)
        .types("Software and Configuration Checks/Patch Management")
        .created_at(&at)
        .updated_at(&at)
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .title(title)
        .description("The instance is missing security patches.")
        .resources(
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id("i-0123456789abcdef0")
                .build(),
        )
        .build()
}

async fn import(c: &Client, account: &str, region: &str, id: &str, title: &str) {
    import_at(c, account, region, id, title, 0).await;
}

async fn import_at(c: &Client, account: &str, region: &str, id: &str, title: &str, minute: u32) {
    let out = c
        .batch_import_findings()
        .findings(finding(account, region, id, title, minute))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_count(), Some(0), "{:?}", out.failed_findings());
}

async fn findings(c: &Client) -> Vec<AwsSecurityFinding> {
    c.get_findings()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap()
}

/// Ids of the findings `c` sees.
async fn seen(c: &Client) -> BTreeSet<String> {
    findings(c)
        .await
        .iter()
        .map(|f| f.id().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// `ACCOUNT@REGION` ids.
fn ids(pairs: &[(&str, &str)]) -> BTreeSet<String> {
    pairs.iter().map(|(a, r)| format!("{a}@{r}")).collect()
}

fn code<E: ProvideErrorMetadata, R>(err: &aws_sdk_securityhub::error::SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.code())
        .unwrap_or("<no service error>")
        .to_string()
}

fn message<E: ProvideErrorMetadata, R>(err: &aws_sdk_securityhub::error::SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_string()
}

fn details(account: &str) -> AccountDetails {
    AccountDetails::builder().account_id(account).build()
}

async fn create(admin: &Client, accounts: &[&str]) -> Vec<(String, String)> {
    let out = admin
        .create_members()
        .set_account_details(Some(accounts.iter().map(|a| details(a)).collect()))
        .send()
        .await
        .unwrap();
    unprocessed(out.unprocessed_accounts())
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

async fn invite(admin: &Client, accounts: &[&str]) -> Vec<(String, String)> {
    let out = admin
        .invite_members()
        .set_account_ids(Some(accounts.iter().map(|a| (*a).to_string()).collect()))
        .send()
        .await
        .unwrap();
    unprocessed(out.unprocessed_accounts())
}

/// The invitation id `member` holds from `admin`.
async fn invitation_from(member: &Client, admin: &str) -> String {
    let out = member.list_invitations().send().await.unwrap();
    out.invitations()
        .iter()
        .find(|i| i.account_id() == Some(admin))
        .and_then(|i| i.invitation_id())
        .unwrap_or_else(|| panic!("no invitation from {admin}"))
        .to_string()
}

async fn accept(member: &Client, admin: &str) {
    let id = invitation_from(member, admin).await;
    member
        .accept_administrator_invitation()
        .administrator_id(admin)
        .invitation_id(id)
        .send()
        .await
        .unwrap();
}

/// Creates, invites and accepts `members` of `admin` in `region` (all hubs already enabled).
async fn associate(sim: &awsim::Awsim, admin: &str, region: &str, members: &[&str]) {
    let a = client(sim, admin, region);
    assert!(create(&a, members).await.is_empty());
    assert!(invite(&a, members).await.is_empty());
    for m in members {
        accept(&client(sim, m, region), admin).await;
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

async fn status_of(admin: &Client, account: &str) -> Option<String> {
    let out = admin
        .get_members()
        .account_ids(account)
        .send()
        .await
        .unwrap();
    out.members()
        .first()
        .and_then(|m| m.member_status())
        .map(str::to_string)
}

async fn set_workflow(
    c: &Client,
    account: &str,
    region: &str,
    id: &str,
    status: WorkflowStatus,
) -> (usize, Vec<String>) {
    let out = c
        .batch_update_findings()
        .finding_identifiers(
            AwsSecurityFindingIdentifier::builder()
                .id(id)
                .product_arn(product_arn(account, region))
                .build(),
        )
        .workflow(WorkflowUpdate::builder().status(status).build())
        .send()
        .await
        .unwrap();
    (
        out.processed_findings().len(),
        out.unprocessed_findings()
            .iter()
            .map(|u| u.error_code().unwrap_or_default().to_string())
            .collect(),
    )
}

async fn workflow_of(c: &Client, id: &str) -> Option<WorkflowStatus> {
    findings(c)
        .await
        .into_iter()
        .find(|f| f.id() == Some(id))
        .and_then(|f| f.workflow().and_then(|w| w.status().cloned()))
}

#[test]
fn invitation_flow_across_four_accounts_and_two_regions() {
    run(async {
        let sim = start(&[ADMIN, M1, M2, OUT]).await;
        let mut c = std::collections::HashMap::new();
        for a in [ADMIN, M1, M2, OUT] {
            for r in [EAST, WEST] {
                c.insert((a, r), hub_with_finding(&sim, a, r).await);
            }
        }
        let admin = &c[&(ADMIN, EAST)];

        // Created: listed only with OnlyAssociated=false; no invitation yet.
        let out = admin
            .create_members()
            .account_details(
                AccountDetails::builder()
                    .account_id(M1)
                    .email("m1@example.com")
                    .build(),
            )
            .account_details(details(M2))
            .send()
            .await
            .unwrap();
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
        assert!(
            c[&(M1, EAST)]
                .list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );

        // Invited: OUT was never created, so it cannot be invited.
        let failed = invite(admin, &[M1, M2, OUT]).await;
        assert_eq!(unprocessed_ids(&failed), vec![OUT]);
        let got = admin
            .get_members()
            .account_ids(M1)
            .account_ids(M2)
            .account_ids(OUT)
            .send()
            .await
            .unwrap();
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
        let inv = c[&(M1, EAST)].list_invitations().send().await.unwrap();
        assert_eq!(inv.invitations().len(), 1);
        assert_eq!(inv.invitations()[0].account_id(), Some(ADMIN));
        assert_eq!(inv.invitations()[0].member_status(), Some("Invited"));
        assert!(
            c[&(M1, WEST)]
                .list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );
        assert_eq!(
            c[&(M1, EAST)]
                .get_invitations_count()
                .send()
                .await
                .unwrap()
                .invitations_count(),
            Some(1)
        );

        // Nothing is shared before acceptance.
        assert_eq!(seen(admin).await, ids(&[(ADMIN, EAST)]));

        // M1 accepts with the current API, M2 with the deprecated one.
        accept(&c[&(M1, EAST)], ADMIN).await;
        let m2_invitation = invitation_from(&c[&(M2, EAST)], ADMIN).await;
        c[&(M2, EAST)]
            .accept_invitation()
            .master_id(ADMIN)
            .invitation_id(&m2_invitation)
            .send()
            .await
            .unwrap();

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
        assert_eq!(
            seen(admin).await,
            ids(&[(ADMIN, EAST), (M1, EAST), (M2, EAST)])
        );
        assert_eq!(seen(&c[&(ADMIN, WEST)]).await, ids(&[(ADMIN, WEST)]));
        assert_eq!(seen(&c[&(M1, EAST)]).await, ids(&[(M1, EAST)]));
        assert_eq!(seen(&c[&(M2, EAST)]).await, ids(&[(M2, EAST)]));
        assert_eq!(seen(&c[&(OUT, EAST)]).await, ids(&[(OUT, EAST)]));

        // Findings the member imports later are visible to the administrator at once.
        import(&c[&(M2, EAST)], M2, EAST, "later", "later").await;
        assert!(seen(admin).await.contains("later"));

        // Member-side views of the relationship.
        let a = c[&(M1, EAST)]
            .get_administrator_account()
            .send()
            .await
            .unwrap();
        let a = a.administrator().expect("M1 has an administrator");
        assert_eq!(a.account_id(), Some(ADMIN));
        assert_eq!(a.member_status(), Some("Enabled"));
        let m = c[&(M2, EAST)].get_master_account().send().await.unwrap();
        assert_eq!(
            m.master().and_then(|m| m.invitation_id()),
            Some(m2_invitation.as_str())
        );
        assert!(
            c[&(M1, WEST)]
                .get_administrator_account()
                .send()
                .await
                .unwrap()
                .administrator()
                .is_none()
        );
        assert!(
            c[&(OUT, EAST)]
                .get_administrator_account()
                .send()
                .await
                .unwrap()
                .administrator()
                .is_none()
        );
        // The accepted invitation is still listed but no longer counted.
        let inv = c[&(M1, EAST)].list_invitations().send().await.unwrap();
        assert_eq!(inv.invitations()[0].member_status(), Some("Enabled"));
        assert_eq!(
            c[&(M1, EAST)]
                .get_invitations_count()
                .send()
                .await
                .unwrap()
                .invitations_count(),
            Some(0)
        );

        // The administrator may triage a member's finding; a member may not touch the
        // administrator's or another member's.
        let m1_finding = format!("{M1}@{EAST}");
        assert_eq!(
            set_workflow(admin, M1, EAST, &m1_finding, WorkflowStatus::Notified).await,
            (1, vec![])
        );
        assert_eq!(
            workflow_of(&c[&(M1, EAST)], &m1_finding).await,
            Some(WorkflowStatus::Notified)
        );
        for (acct, id) in [
            (ADMIN, format!("{ADMIN}@{EAST}")),
            (M2, format!("{M2}@{EAST}")),
        ] {
            let (ok, failed) =
                set_workflow(&c[&(M1, EAST)], acct, EAST, &id, WorkflowStatus::Suppressed).await;
            assert_eq!((ok, failed), (0, vec!["FindingNotFound".to_string()]));
        }
    });
}

#[test]
fn create_members_limits_and_repeats() {
    run(async {
        let sim = start(&[ADMIN, OUT]).await;
        let admin = client(&sim, ADMIN, EAST);

        // Security Hub must be enabled first.
        let err = admin
            .create_members()
            .account_details(details(M1))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidAccessException");
        admin.enable_security_hub().send().await.unwrap();

        // 1..50 AccountDetails per call.
        let many: Vec<String> = (0..51)
            .map(|i| format!("{:012}", 500_000_000_000u64 + i))
            .collect();
        let fifty_one: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = admin
            .create_members()
            .set_account_details(Some(fifty_one.iter().map(|a| details(a)).collect()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        let err = admin
            .create_members()
            .set_account_details(Some(vec![]))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
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
        assert_eq!(
            status_of(&admin, fifty_one[50]).await.as_deref(),
            Some("Created")
        );
    });
}

#[test]
fn list_members_and_invitations_page_within_their_limits() {
    run(async {
        let sim = start(&[ADMIN, M1]).await;
        let admin = client(&sim, ADMIN, EAST);
        admin.enable_security_hub().send().await.unwrap();
        let accounts: Vec<String> = (0..50)
            .map(|i| format!("{:012}", 600_000_000_000u64 + i))
            .collect();
        let refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
        assert!(create(&admin, &refs).await.is_empty());

        for bad in [0, 51] {
            let err = admin
                .list_members()
                .only_associated(false)
                .max_results(bad)
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "InvalidInputException", "MaxResults {bad}");
        }
        let full = admin
            .list_members()
            .only_associated(false)
            .max_results(50)
            .send()
            .await
            .unwrap();
        assert_eq!(full.members().len(), 50);
        assert_eq!(full.next_token(), None);
        let one = admin
            .list_members()
            .only_associated(false)
            .max_results(1)
            .send()
            .await
            .unwrap();
        assert_eq!(one.members()[0].account_id(), Some(refs[0]));
        assert!(one.next_token().is_some());
        let err = admin
            .list_members()
            .only_associated(false)
            .next_token("not-a-token")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");

        // Pages of 7: every member once, in account order.
        let pages: Vec<_> = admin
            .list_members()
            .only_associated(false)
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

        let member = client(&sim, M1, EAST);
        member.enable_security_hub().send().await.unwrap();
        for bad in [0, 51] {
            let err = member
                .list_invitations()
                .max_results(bad)
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "InvalidInputException", "MaxResults {bad}");
        }
    });
}

#[test]
fn one_administrator_per_account_and_administrators_are_not_members() {
    run(async {
        let (a1, a2, m) = (ADMIN, OUT, M1);
        let sim = start(&[a1, a2, m, M2]).await;
        for acct in [a1, a2, m] {
            client(&sim, acct, EAST)
                .enable_security_hub()
                .send()
                .await
                .unwrap();
        }
        let (admin1, admin2, member) = (
            client(&sim, a1, EAST),
            client(&sim, a2, EAST),
            client(&sim, m, EAST),
        );
        assert!(create(&admin1, &[m]).await.is_empty());
        assert!(invite(&admin1, &[m]).await.is_empty());
        assert!(create(&admin2, &[m, a1]).await.is_empty());
        assert!(invite(&admin2, &[m, a1]).await.is_empty());

        // A wrong invitation id is not found; accepting works once, and again is harmless.
        let err = member
            .accept_administrator_invitation()
            .administrator_id(a1)
            .invitation_id("0123456789abcdef0123456789abcdef")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");
        accept(&member, a1).await;
        accept(&member, a1).await;

        // Only one administrator: the second invitation cannot be accepted or re-sent.
        let second = invitation_from(&member, a2).await;
        let err = member
            .accept_administrator_invitation()
            .administrator_id(a2)
            .invitation_id(&second)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        assert_eq!(unprocessed_ids(&invite(&admin2, &[m]).await), vec![m]);
        assert_eq!(status_of(&admin2, m).await.as_deref(), Some("Invited"));

        // An administrator with a member cannot become a member.
        let to_a1 = invitation_from(&admin1, a2).await;
        let err = admin1
            .accept_administrator_invitation()
            .administrator_id(a2)
            .invitation_id(to_a1)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");

        // A member cannot administer.
        let err = member
            .create_members()
            .account_details(details(M2))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        let err = member
            .invite_members()
            .account_ids(M2)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");

        // Accepting needs Security Hub enabled in the member.
        let fresh = client(&sim, M2, EAST);
        assert!(create(&admin2, &[M2]).await.is_empty());
        assert!(invite(&admin2, &[M2]).await.is_empty());
        let err = fresh
            .accept_administrator_invitation()
            .administrator_id(a2)
            .invitation_id("whatever")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidAccessException");
        let err = fresh.list_invitations().send().await.unwrap_err();
        assert_eq!(code(&err), "AccessDeniedException");
    });
}

#[test]
fn disassociating_and_deleting_members_reverses_visibility() {
    run(async {
        let sim = start(&[ADMIN, M1, M2]).await;
        for a in [ADMIN, M1, M2] {
            hub_with_finding(&sim, a, EAST).await;
        }
        associate(&sim, ADMIN, EAST, &[M1, M2]).await;
        let (admin, m1, m2) = (
            client(&sim, ADMIN, EAST),
            client(&sim, M1, EAST),
            client(&sim, M2, EAST),
        );
        assert_eq!(
            seen(&admin).await,
            ids(&[(ADMIN, EAST), (M1, EAST), (M2, EAST)])
        );

        // An associated member cannot be deleted.
        let out = admin.delete_members().account_ids(M1).send().await.unwrap();
        assert_eq!(
            unprocessed_ids(&unprocessed(out.unprocessed_accounts())),
            vec![M1]
        );
        assert_eq!(status_of(&admin, M1).await.as_deref(), Some("Enabled"));

        // The administrator disassociates M1: Removed, and its findings are out of reach.
        let err = admin
            .disassociate_members()
            .account_ids(M1)
            .account_ids(OUT)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");
        assert_eq!(
            status_of(&admin, M1).await.as_deref(),
            Some("Enabled"),
            "a failed call changes nothing"
        );
        admin
            .disassociate_members()
            .account_ids(M1)
            .send()
            .await
            .unwrap();
        assert_eq!(status_of(&admin, M1).await.as_deref(), Some("Removed"));
        assert_eq!(seen(&admin).await, ids(&[(ADMIN, EAST), (M2, EAST)]));
        let (ok, failed) = set_workflow(
            &admin,
            M1,
            EAST,
            &format!("{M1}@{EAST}"),
            WorkflowStatus::Resolved,
        )
        .await;
        assert_eq!((ok, failed), (0, vec!["FindingNotFound".to_string()]));
        assert!(
            m1.get_administrator_account()
                .send()
                .await
                .unwrap()
                .administrator()
                .is_none()
        );
        // The old invitation cannot be reused; a new one restores the membership.
        let old = invitation_from(&m1, ADMIN).await;
        let err = m1
            .accept_administrator_invitation()
            .administrator_id(ADMIN)
            .invitation_id(&old)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");
        assert!(invite(&admin, &[M1]).await.is_empty());
        accept(&m1, ADMIN).await;
        assert!(seen(&admin).await.contains(&format!("{M1}@{EAST}")));

        // M2 leaves on its own: Resigned, keeps its invitation and can accept it again.
        m2.disassociate_from_administrator_account()
            .send()
            .await
            .unwrap();
        assert_eq!(status_of(&admin, M2).await.as_deref(), Some("Resigned"));
        assert!(!seen(&admin).await.contains(&format!("{M2}@{EAST}")));
        let kept = m2.list_invitations().send().await.unwrap();
        assert_eq!(kept.invitations()[0].member_status(), Some("Resigned"));
        accept(&m2, ADMIN).await;
        assert!(seen(&admin).await.contains(&format!("{M2}@{EAST}")));
        m2.disassociate_from_master_account().send().await.unwrap();
        assert_eq!(status_of(&admin, M2).await.as_deref(), Some("Resigned"));
        let err = m2
            .disassociate_from_administrator_account()
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");

        // Deleting removes the record and the invitation.
        admin
            .disassociate_members()
            .account_ids(M1)
            .send()
            .await
            .unwrap();
        let out = admin
            .delete_members()
            .account_ids(M1)
            .account_ids(M2)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_accounts().is_empty());
        assert!(all_members(&admin).await.is_empty());
        assert!(
            m2.list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );
        assert_eq!(seen(&admin).await, ids(&[(ADMIN, EAST)]));
        assert!(create(&admin, &[M1]).await.is_empty());
        assert_eq!(status_of(&admin, M1).await.as_deref(), Some("Created"));
    });
}

#[test]
fn declining_and_deleting_invitations() {
    run(async {
        let sim = start(&[ADMIN, M1, M2, OUT]).await;
        for a in [ADMIN, M1, M2] {
            client(&sim, a, EAST)
                .enable_security_hub()
                .send()
                .await
                .unwrap();
        }
        let (admin, m1, m2) = (
            client(&sim, ADMIN, EAST),
            client(&sim, M1, EAST),
            client(&sim, M2, EAST),
        );
        assert!(create(&admin, &[M1, M2]).await.is_empty());
        assert!(invite(&admin, &[M1, M2]).await.is_empty());
        let declined = invitation_from(&m1, ADMIN).await;

        let out = m1
            .decline_invitations()
            .account_ids(ADMIN)
            .account_ids(OUT)
            .send()
            .await
            .unwrap();
        assert_eq!(
            unprocessed_ids(&unprocessed(out.unprocessed_accounts())),
            vec![OUT]
        );
        assert_eq!(status_of(&admin, M1).await.as_deref(), Some("Resigned"));
        assert!(
            m1.list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );
        let err = m1
            .accept_administrator_invitation()
            .administrator_id(ADMIN)
            .invitation_id(declined)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");

        let out = m2
            .delete_invitations()
            .account_ids(ADMIN)
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_accounts().is_empty());
        assert!(
            m2.list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );
        assert_eq!(
            m2.get_invitations_count()
                .send()
                .await
                .unwrap()
                .invitations_count(),
            Some(0)
        );

        // An accepted invitation cannot be declined.
        assert!(invite(&admin, &[M1]).await.is_empty());
        accept(&m1, ADMIN).await;
        let out = m1
            .decline_invitations()
            .account_ids(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            unprocessed_ids(&unprocessed(out.unprocessed_accounts())),
            vec![ADMIN]
        );
        assert_eq!(status_of(&admin, M1).await.as_deref(), Some("Enabled"));

        let err = client(&sim, OUT, EAST)
            .decline_invitations()
            .account_ids(ADMIN)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidAccessException");
    });
}

#[test]
fn disable_security_hub_is_refused_for_administrators_and_members() {
    run(async {
        let sim = start(&[ADMIN, M1, M2, OUT]).await;
        for a in [ADMIN, M1, M2, OUT] {
            client(&sim, a, EAST)
                .enable_security_hub()
                .send()
                .await
                .unwrap();
        }
        let (admin, m1) = (client(&sim, ADMIN, EAST), client(&sim, M1, EAST));
        associate(&sim, ADMIN, EAST, &[M1]).await;
        assert!(create(&admin, &[M2]).await.is_empty());
        assert!(invite(&admin, &[M2]).await.is_empty());

        let err = admin.disable_security_hub().send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        assert!(
            message(&err).contains("Cannot disable Security Hub on the Security Hub administrator"),
            "{}",
            message(&err)
        );
        let err = m1.disable_security_hub().send().await.unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        assert!(
            admin.describe_hub().send().await.is_ok() && m1.describe_hub().send().await.is_ok()
        );
        // A standalone account is unaffected, and so is the administrator in another Region.
        client(&sim, OUT, EAST)
            .disable_security_hub()
            .send()
            .await
            .unwrap();
        let west = client(&sim, ADMIN, WEST);
        west.enable_security_hub().send().await.unwrap();
        west.disable_security_hub().send().await.unwrap();

        // Once the only associated member is gone (a pending invitation does not count), both
        // can disable; the administrator's remaining member records go with its hub.
        admin
            .disassociate_members()
            .account_ids(M1)
            .send()
            .await
            .unwrap();
        m1.disable_security_hub().send().await.unwrap();
        admin.disable_security_hub().send().await.unwrap();
        admin.enable_security_hub().send().await.unwrap();
        assert!(all_members(&admin).await.is_empty());
        assert!(
            client(&sim, M2, EAST)
                .list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );
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
        id: id.to_string(),
        name: format!("acct-{id}"),
        email: format!("{id}@example.com"),
        status: status.to_string(),
        parent: None,
        roles: vec![],
        regions: vec![EAST.into(), WEST.into()],
        disabled_regions: vec![],
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
            account(MGMT, "ACTIVE"),
            account(DA, "ACTIVE"),
            account(ORG2, "ACTIVE"),
            account(ORG3, "ACTIVE"),
            account(SUSPENDED, "SUSPENDED"),
        ],
    }
}

#[test]
fn organization_administrator_is_designated_by_the_management_account_only() {
    run(async {
        let sim = start(&[MGMT, DA, ORG2, ORG3, SUSPENDED, OUTSIDER]).await;
        sim.load_fleet(org_fleet()).unwrap();
        let mgmt = client(&sim, MGMT, EAST);

        for (who, acct) in [("member", ORG2), ("outsider", OUTSIDER)] {
            let c = client(&sim, acct, EAST);
            let err = c
                .enable_organization_admin_account()
                .admin_account_id(DA)
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "AccessDeniedException", "{who}");
            let err = c
                .list_organization_admin_accounts()
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "AccessDeniedException", "{who}");
        }
        let err = mgmt
            .enable_organization_admin_account()
            .admin_account_id(OUTSIDER)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        assert!(
            mgmt.list_organization_admin_accounts()
                .send()
                .await
                .unwrap()
                .admin_accounts()
                .is_empty()
        );

        // Designation enables Security Hub in the administrator, in that Region only.
        let da_east = client(&sim, DA, EAST);
        assert_eq!(
            code(&da_east.describe_hub().send().await.unwrap_err()),
            "InvalidAccessException"
        );
        let out = mgmt
            .enable_organization_admin_account()
            .admin_account_id(DA)
            .send()
            .await
            .unwrap();
        assert_eq!(out.admin_account_id(), Some(DA));
        assert!(da_east.describe_hub().send().await.is_ok());
        assert!(client(&sim, DA, WEST).describe_hub().send().await.is_err());
        let admins = mgmt
            .list_organization_admin_accounts()
            .send()
            .await
            .unwrap();
        assert_eq!(admins.admin_accounts().len(), 1);
        assert_eq!(admins.admin_accounts()[0].account_id(), Some(DA));
        assert_eq!(
            admins.admin_accounts()[0].status(),
            Some(&AdminStatus::Enabled)
        );
        let mgmt_west = client(&sim, MGMT, WEST);
        assert!(
            mgmt_west
                .list_organization_admin_accounts()
                .send()
                .await
                .unwrap()
                .admin_accounts()
                .is_empty()
        );
        let err = mgmt
            .list_organization_admin_accounts()
            .max_results(11)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");

        // One delegated administrator per organization: another account elsewhere is refused,
        // the same account (or the management account itself) is fine.
        let err = mgmt_west
            .enable_organization_admin_account()
            .admin_account_id(ORG2)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        mgmt_west
            .enable_organization_admin_account()
            .admin_account_id(DA)
            .send()
            .await
            .unwrap();
        let mgmt_syd = client(&sim, MGMT, SYD);
        mgmt_syd
            .enable_organization_admin_account()
            .admin_account_id(MGMT)
            .send()
            .await
            .unwrap();
        mgmt_syd
            .disable_organization_admin_account()
            .admin_account_id(MGMT)
            .send()
            .await
            .unwrap();
        // A different account in a Region that already has one is refused too.
        let err = mgmt
            .enable_organization_admin_account()
            .admin_account_id(ORG2)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");

        // Removing it in one Region leaves the others.
        let err = client(&sim, DA, WEST)
            .disable_organization_admin_account()
            .admin_account_id(DA)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "AccessDeniedException");
        let err = mgmt_west
            .disable_organization_admin_account()
            .admin_account_id(ORG2)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        mgmt_west
            .disable_organization_admin_account()
            .admin_account_id(DA)
            .send()
            .await
            .unwrap();
        assert!(
            mgmt_west
                .list_organization_admin_accounts()
                .send()
                .await
                .unwrap()
                .admin_accounts()
                .is_empty()
        );
        assert_eq!(
            mgmt.list_organization_admin_accounts()
                .send()
                .await
                .unwrap()
                .admin_accounts()
                .len(),
            1
        );
    });
}

#[test]
fn organization_administrator_enables_members_directly() {
    run(async {
        let sim = start(&[MGMT, DA, ORG2, ORG3, SUSPENDED, OUTSIDER]).await;
        sim.load_fleet(org_fleet()).unwrap();
        let mgmt = client(&sim, MGMT, EAST);
        mgmt.enable_organization_admin_account()
            .admin_account_id(DA)
            .send()
            .await
            .unwrap();
        let da = client(&sim, DA, EAST);

        // Organization configuration belongs to the administrator.
        let cfg = da
            .describe_organization_configuration()
            .send()
            .await
            .unwrap();
        assert_eq!(cfg.auto_enable(), Some(false));
        assert_eq!(
            cfg.auto_enable_standards(),
            Some(&AutoEnableStandards::Default)
        );
        assert_eq!(cfg.member_account_limit_reached(), Some(false));
        for other in [MGMT, ORG2] {
            let c = client(&sim, other, EAST);
            let err = c
                .describe_organization_configuration()
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "InvalidAccessException");
            let err = c
                .update_organization_configuration()
                .auto_enable(true)
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "InvalidAccessException");
        }
        da.update_organization_configuration()
            .auto_enable(true)
            .auto_enable_standards(AutoEnableStandards::None)
            .send()
            .await
            .unwrap();
        let cfg = da
            .describe_organization_configuration()
            .send()
            .await
            .unwrap();
        assert_eq!(cfg.auto_enable(), Some(true));
        assert_eq!(
            cfg.auto_enable_standards(),
            Some(&AutoEnableStandards::None)
        );
        // AutoEnable concerns accounts that join later: existing ones are not members.
        assert!(all_members(&da).await.is_empty());
        assert!(
            client(&sim, ORG2, EAST)
                .describe_hub()
                .send()
                .await
                .is_err()
        );

        // CreateMembers associates organization accounts at once and enables Security Hub in
        // them, but never in the management account; a suspended account is recorded as such.
        let failed = create(&da, &[ORG2, ORG3, MGMT, SUSPENDED]).await;
        assert_eq!(unprocessed_ids(&failed), vec![MGMT]);
        let org2 = client(&sim, ORG2, EAST);
        assert!(org2.describe_hub().send().await.is_ok());
        assert!(
            org2.list_invitations()
                .send()
                .await
                .unwrap()
                .invitations()
                .is_empty()
        );
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
        let a = org2.get_administrator_account().send().await.unwrap();
        assert_eq!(a.administrator().and_then(|a| a.account_id()), Some(DA));

        import(&org2, ORG2, EAST, "org2-finding", "t").await;
        assert_eq!(seen(&da).await, set(&["org2-finding"]));

        // Organization members cannot leave or disable; the administrator cannot disable either.
        assert_eq!(
            code(
                &org2
                    .disassociate_from_administrator_account()
                    .send()
                    .await
                    .unwrap_err()
            ),
            "InvalidInputException"
        );
        assert_eq!(
            code(&org2.disable_security_hub().send().await.unwrap_err()),
            "InvalidInputException"
        );
        assert_eq!(
            code(&da.disable_security_hub().send().await.unwrap_err()),
            "InvalidInputException"
        );
        // They are disassociated, not deleted; CreateMembers brings them back.
        let out = da.delete_members().account_ids(ORG2).send().await.unwrap();
        assert_eq!(
            unprocessed_ids(&unprocessed(out.unprocessed_accounts())),
            vec![ORG2]
        );
        da.disassociate_members()
            .account_ids(ORG2)
            .send()
            .await
            .unwrap();
        assert_eq!(status_of(&da, ORG2).await.as_deref(), Some("Removed"));
        assert!(seen(&da).await.is_empty());
        assert!(create(&da, &[ORG2]).await.is_empty());
        assert_eq!(seen(&da).await, set(&["org2-finding"]));

        // The organization administrator may also invite an account outside the organization.
        let outsider = hub_with_finding(&sim, OUTSIDER, EAST).await;
        assert!(create(&da, &[OUTSIDER]).await.is_empty());
        assert_eq!(status_of(&da, OUTSIDER).await.as_deref(), Some("Created"));
        assert!(invite(&da, &[OUTSIDER]).await.is_empty());
        accept(&outsider, DA).await;
        assert_eq!(
            seen(&da).await,
            set(&["org2-finding", &format!("{OUTSIDER}@{EAST}")])
        );

        // Removing the designation ends the organization memberships, not the invited one.
        mgmt.disable_organization_admin_account()
            .admin_account_id(DA)
            .send()
            .await
            .unwrap();
        assert_eq!(seen(&da).await, ids(&[(OUTSIDER, EAST)]));
        let left: Vec<_> = all_members(&da)
            .await
            .iter()
            .map(|m| m.account_id().unwrap().to_string())
            .collect();
        assert_eq!(left, vec![OUTSIDER.to_string()]);
        assert_eq!(
            code(
                &da.describe_organization_configuration()
                    .send()
                    .await
                    .unwrap_err()
            ),
            "InvalidAccessException"
        );
        assert!(
            org2.get_administrator_account()
                .send()
                .await
                .unwrap()
                .administrator()
                .is_none()
        );
    });
}

/// ADMIN, M1 and M2 with Security Hub and one finding in each of EAST, WEST and SYD; M1 is
/// ADMIN's member in all three Regions, M2 in EAST and WEST only.
async fn three_region_estate() -> awsim::Awsim {
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

#[test]
fn aggregator_brings_linked_regions_to_the_home_region() {
    run(async {
        let sim = three_region_estate().await;
        let admin = client(&sim, ADMIN, EAST);
        let (m1, m2) = (client(&sim, M1, EAST), client(&sim, M2, EAST));
        let east_only = ids(&[(ADMIN, EAST), (M1, EAST), (M2, EAST)]);
        assert_eq!(seen(&admin).await, east_only);

        let created = admin
            .create_finding_aggregator()
            .region_linking_mode("SPECIFIED_REGIONS")
            .regions(WEST)
            .send()
            .await
            .unwrap();
        let arn = created.finding_aggregator_arn().unwrap().to_string();
        assert_eq!(created.finding_aggregation_region(), Some(EAST));

        // The home Region now shows the linked Region's findings of the administrator and its
        // members there; SYD is not linked, and other Regions are unchanged.
        let with_west = &east_only | &ids(&[(ADMIN, WEST), (M1, WEST), (M2, WEST)]);
        assert_eq!(seen(&admin).await, with_west);
        assert_eq!(
            seen(&client(&sim, ADMIN, WEST)).await,
            ids(&[(ADMIN, WEST), (M1, WEST), (M2, WEST)])
        );
        assert_eq!(
            seen(&client(&sim, ADMIN, SYD)).await,
            ids(&[(ADMIN, SYD), (M1, SYD)])
        );
        // Members inherit the aggregation for their own findings only.
        assert_eq!(seen(&m1).await, ids(&[(M1, EAST), (M1, WEST)]));
        assert_eq!(seen(&m2).await, ids(&[(M2, EAST), (M2, WEST)]));
        assert_eq!(seen(&client(&sim, M1, WEST)).await, ids(&[(M1, WEST)]));
        // Each finding keeps its Region, and an update from the home Region lands in it.
        let f = findings(&admin)
            .await
            .into_iter()
            .find(|f| f.id() == Some(&format!("{M1}@{WEST}")))
            .unwrap();
        assert_eq!(f.region(), Some(WEST));
        let id = format!("{M1}@{WEST}");
        assert_eq!(
            set_workflow(&admin, M1, WEST, &id, WorkflowStatus::Notified).await,
            (1, vec![])
        );
        assert_eq!(
            workflow_of(&client(&sim, M1, WEST), &id).await,
            Some(WorkflowStatus::Notified)
        );

        // ALL_REGIONS adds SYD, where only M1 is a member.
        admin
            .update_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .region_linking_mode("ALL_REGIONS")
            .send()
            .await
            .unwrap();
        let everything = &with_west | &ids(&[(ADMIN, SYD), (M1, SYD)]);
        assert_eq!(seen(&admin).await, everything);
        assert_eq!(seen(&m2).await, ids(&[(M2, EAST), (M2, WEST)]));

        // Unlinking WEST keeps what had been aggregated from it, frozen: new findings and
        // provider updates there no longer reach the home Region.
        admin
            .update_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .region_linking_mode("ALL_REGIONS_EXCEPT_SPECIFIED")
            .regions(WEST)
            .send()
            .await
            .unwrap();
        assert_eq!(seen(&admin).await, everything);
        let m1_west = client(&sim, M1, WEST);
        import(&m1_west, M1, WEST, "west-new", "new").await;
        import_at(&m1_west, M1, WEST, &format!("{M1}@{WEST}"), "changed", 5).await;
        assert!(!seen(&admin).await.contains("west-new"));
        assert!(seen(&client(&sim, ADMIN, WEST)).await.contains("west-new"));
        let kept = findings(&admin)
            .await
            .into_iter()
            .find(|f| f.id() == Some(&format!("{M1}@{WEST}")))
            .unwrap();
        assert_eq!(kept.title(), Some("first"));
        // ... while SYD is still live.
        import(&client(&sim, M1, SYD), M1, SYD, "syd-new", "new").await;
        assert!(seen(&admin).await.contains("syd-new"));

        // Deleting the aggregator stops aggregation and keeps what was aggregated.
        admin
            .delete_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap();
        let kept_all = &everything | &set(&["syd-new"]);
        assert_eq!(seen(&admin).await, kept_all);
        import(&client(&sim, ADMIN, SYD), ADMIN, SYD, "syd-after", "after").await;
        assert!(!seen(&admin).await.contains("syd-after"));

        // A disassociated member's findings, kept ones included, leave the administrator's view;
        // the member still has its own.
        admin
            .disassociate_members()
            .account_ids(M1)
            .send()
            .await
            .unwrap();
        let seen_now = seen(&admin).await;
        assert!(
            seen_now
                .iter()
                .all(|id| !id.starts_with(M1) && id != "syd-new"),
            "{seen_now:?}"
        );
        assert_eq!(
            seen(&m1).await,
            &ids(&[(M1, EAST), (M1, WEST), (M1, SYD)]) | &set(&["syd-new"])
        );
    });
}

#[test]
fn aggregator_rules_and_errors() {
    run(async {
        let sim = start(&[ADMIN, M1, OUT]).await;
        let east = client(&sim, ADMIN, EAST);
        let err = east
            .create_finding_aggregator()
            .region_linking_mode("ALL_REGIONS")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidAccessException");
        east.enable_security_hub().send().await.unwrap();
        let west = client(&sim, ADMIN, WEST);
        west.enable_security_hub().send().await.unwrap();

        for (mode, regions) in [
            ("NO_REGIONS", vec![WEST]),
            ("SPECIFIED_REGIONS", vec![]),
            ("ALL_REGIONS_EXCEPT_SPECIFIED", vec![]),
            ("SOME_REGIONS", vec![]),
            ("SPECIFIED_REGIONS", vec!["cn-north-1"]),
            ("SPECIFIED_REGIONS", vec!["westeros"]),
        ] {
            let err = east
                .create_finding_aggregator()
                .region_linking_mode(mode)
                .set_regions(Some(regions.iter().map(|r| (*r).to_string()).collect()))
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "InvalidInputException", "{mode} {regions:?}");
        }

        let created = east
            .create_finding_aggregator()
            .region_linking_mode("ALL_REGIONS")
            .send()
            .await
            .unwrap();
        let arn = created.finding_aggregator_arn().unwrap().to_string();
        let prefix = format!("arn:aws:securityhub:{EAST}:{ADMIN}:finding-aggregator/");
        let uuid = arn.strip_prefix(&prefix).unwrap_or_else(|| panic!("{arn}"));
        assert_eq!(uuid.len(), 36);
        assert_eq!(
            uuid.match_indices('-').map(|(i, _)| i).collect::<Vec<_>>(),
            vec![8, 13, 18, 23]
        );
        assert_eq!(created.region_linking_mode(), Some("ALL_REGIONS"));

        // One per account; readable from any Region, changed only from the home Region.
        let err = west
            .create_finding_aggregator()
            .region_linking_mode("ALL_REGIONS")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        let listed = west.list_finding_aggregators().send().await.unwrap();
        assert_eq!(listed.finding_aggregators().len(), 1);
        assert_eq!(
            listed.finding_aggregators()[0].finding_aggregator_arn(),
            Some(arn.as_str())
        );
        let got = west
            .get_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(got.finding_aggregation_region(), Some(EAST));
        let err = west
            .update_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .region_linking_mode("NO_REGIONS")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        let err = west
            .delete_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");
        let bogus = format!("{prefix}00000000-0000-0000-0000-000000000000");
        let err = east
            .get_finding_aggregator()
            .finding_aggregator_arn(&bogus)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");
        let err = east
            .list_finding_aggregators()
            .max_results(0)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "InvalidInputException");

        let updated = east
            .update_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .region_linking_mode("SPECIFIED_REGIONS")
            .regions(WEST)
            .send()
            .await
            .unwrap();
        assert_eq!(updated.regions(), [WEST.to_string()]);
        let got = east
            .get_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap();
        assert_eq!(
            (got.region_linking_mode(), got.regions()),
            (Some("SPECIFIED_REGIONS"), &[WEST.to_string()][..])
        );

        // A member account cannot create one, in any Region.
        for r in [EAST, WEST] {
            client(&sim, M1, r)
                .enable_security_hub()
                .send()
                .await
                .unwrap();
        }
        associate(&sim, ADMIN, EAST, &[M1]).await;
        for r in [EAST, WEST] {
            let err = client(&sim, M1, r)
                .create_finding_aggregator()
                .region_linking_mode("ALL_REGIONS")
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), "InvalidInputException", "{r}");
        }

        east.delete_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap();
        assert!(
            east.list_finding_aggregators()
                .send()
                .await
                .unwrap()
                .finding_aggregators()
                .is_empty()
        );
        let err = east
            .get_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");
        let err = east
            .delete_finding_aggregator()
            .finding_aggregator_arn(&arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "ResourceNotFoundException");
        // After deletion a new one may be created elsewhere.
        let again = west
            .create_finding_aggregator()
            .region_linking_mode("NO_REGIONS")
            .send()
            .await
            .unwrap();
        assert_eq!(again.finding_aggregation_region(), Some(WEST));
    });
}

#[test]
fn membership_calls_are_counted_under_their_operation_names() {
    run(async {
        let sim = start(&[ADMIN, M1]).await;
        for a in [ADMIN, M1] {
            client(&sim, a, EAST)
                .enable_security_hub()
                .send()
                .await
                .unwrap();
        }
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
