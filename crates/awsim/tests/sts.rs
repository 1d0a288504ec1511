//! STS through the real SDK: caller identity, AssumeRole into fleet roles, refusals.

mod common;

use aws_sdk_sts::Client;
use awsim::Awsim;
use awsim::fleet::{AccountSpec, RoleSpec};
use common::{DEFAULT_ACCOUNT, EAST, refused};

fn account(id: &str, roles: &[(&str, Option<&str>)]) -> AccountSpec {
    let role = |(name, external_id): &(&str, Option<&str>)| RoleSpec {
        external_id: external_id.map(str::to_string),
        ..RoleSpec::named(name)
    };
    AccountSpec {
        roles: roles.iter().map(role).collect(),
        disabled_regions: vec!["ap-east-1".into()],
        ..common::account(id)
    }
}

/// A client signing with `access_key` (and `session_token`) in us-east-1.
async fn signing_with(sim: &Awsim, access_key: &str, session_token: Option<String>) -> Client {
    Client::new(&common::sdk_with_key(sim, EAST, access_key, session_token).await)
}

#[tokio::test]
async fn caller_identity_of_static_keys() {
    let sim = common::start_accounts(&["222222222222"]).await;
    // A key awsim has no mapping for acts as the default account.
    let sts = signing_with(&sim, "AKIAIOSFODNN7EXAMPLE", None).await;
    let id = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(id.account(), Some("123456789012"));
    assert_eq!(id.arn(), Some("arn:aws:iam::123456789012:user/awsim"));
    let sts2: Client = common::client(&sim, "222222222222", EAST).await;
    assert_eq!(
        sts2.get_caller_identity().send().await.unwrap().account(),
        Some("222222222222")
    );
}

#[tokio::test]
async fn assume_role_binds_credentials_to_the_role_account() {
    let roles = [("PatchhubRole", None), ("Guarded", Some("ext-1"))];
    let fleet = common::standalone(vec![account("111111111111", &roles)]);
    let sim = common::start_loaded(&fleet).await;
    let sts: Client = common::client(&sim, DEFAULT_ACCOUNT, EAST).await;
    let assume =
        |arn: &str, session: &str| sts.assume_role().role_arn(arn).role_session_name(session);
    let role = "arn:aws:iam::111111111111:role/PatchhubRole";
    let out = assume(role, "patchhub-test").send().await.unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let session = "arn:aws:sts::111111111111:assumed-role/PatchhubRole/patchhub-test";
    assert_eq!(out.assumed_role_user().unwrap().arn(), session);
    // The temporary credentials act as the role's account.
    let token = Some(creds.session_token().to_string());
    let who = signing_with(&sim, creds.access_key_id(), token).await;
    let who = who.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some("111111111111"));
    assert_eq!(who.arn(), Some(session));

    let guarded = "arn:aws:iam::111111111111:role/Guarded";
    for (call, why) in [
        (
            assume("arn:aws:iam::111111111111:role/Nope", "x1"),
            "a role that does not exist in that account",
        ),
        (
            assume("arn:aws:iam::999999999999:role/PatchhubRole", "x1"),
            "an account not in the fleet",
        ),
        (
            assume(guarded, "x1").external_id("bad"),
            "an external id required and wrong",
        ),
    ] {
        assert_eq!(refused(call.send().await), "AccessDenied", "{why}");
    }
    // The right external id: granted.
    assume(guarded, "x1")
        .external_id("ext-1")
        .send()
        .await
        .unwrap();
    // Session name outside the allowed pattern: ValidationError.
    let short = assume(guarded, "a").external_id("ext-1");
    assert_eq!(refused(short.send().await), "ValidationError");
}

#[tokio::test]
async fn unknown_temporary_key_and_disabled_region_are_refused() {
    let fleet = common::standalone(vec![account(DEFAULT_ACCOUNT, &[])]);
    let sim = common::start_loaded(&fleet).await;
    let invalid = "InvalidClientTokenId";
    let forged = signing_with(&sim, "ASIAFORGED0000000000", Some("tok".into())).await;
    assert_eq!(refused(forged.get_caller_identity().send().await), invalid);
    // ap-east-1 is an opt-in Region this account has not enabled.
    let opt_in: Client = common::client(&sim, DEFAULT_ACCOUNT, "ap-east-1").await;
    assert_eq!(refused(opt_in.get_caller_identity().send().await), invalid);
}

/// Source: STS API reference, `AssumeRole`: the role's trust policy must name the caller as a
/// principal; IAM API reference, `CreateRole`, `MaxSessionDuration` (3600 to 43200 seconds,
/// default 3600); `DurationSeconds` above it fails with "The requested DurationSeconds exceeds
/// the MaxSessionDuration set for this role" (ValidationError).
#[tokio::test]
async fn roles_trust_only_the_accounts_the_fleet_names_and_cap_the_session() {
    let mut member = account("111111111111", &[("PatchhubRole", None)]);
    member.roles.push(RoleSpec {
        trusted_accounts: vec!["222222222222".into()],
        max_session_seconds: Some(7200),
        ..RoleSpec::named("FromTooling")
    });
    let fleet = common::standalone(vec![member, account("222222222222", &[])]);
    let sim = common::start_loaded(&fleet).await;
    let home: Client = common::client(&sim, DEFAULT_ACCOUNT, EAST).await;
    let tooling: Client = common::client(&sim, "222222222222", EAST).await;
    let default_role = "arn:aws:iam::111111111111:role/PatchhubRole";
    let named_role = "arn:aws:iam::111111111111:role/FromTooling";
    let assume = |sts: &Client, arn: &str| {
        sts.assume_role()
            .role_arn(arn)
            .role_session_name("patchhub-test")
    };
    // Default trust, fleet without an organization: the account of unmapped static keys.
    assume(&home, default_role).send().await.unwrap();
    assert_eq!(
        refused(assume(&tooling, default_role).send().await),
        "AccessDenied",
        "an account the default trust does not name"
    );
    // Named trust: only the named account.
    assume(&tooling, named_role).send().await.unwrap();
    assert_eq!(
        refused(assume(&home, named_role).send().await),
        "AccessDenied"
    );
    // Maximum session duration: one hour by default, the role's own otherwise.
    let too_long = assume(&home, default_role)
        .duration_seconds(3601)
        .send()
        .await;
    let err = too_long.expect_err("above the role's maximum");
    assert_eq!(common::code(&err), "ValidationError");
    assert!(common::message(&err).contains("MaxSessionDuration"));
    assume(&tooling, named_role)
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let beyond = assume(&tooling, named_role)
        .duration_seconds(7201)
        .send()
        .await;
    assert_eq!(refused(beyond), "ValidationError");
}

/// An organization's roles trust its management account by default (the account an
/// organization-wide tool starts from), not the other members.
#[tokio::test]
async fn generated_roles_trust_the_management_account() {
    let (sim, fleet) = common::start_generated("accounts=3,regions=1,instances=1,patches=1").await;
    let management = patchhub_testkit::management_account(&fleet);
    let member = fleet.accounts.iter().find(|a| a.id != management).unwrap();
    let other = fleet
        .accounts
        .iter()
        .find(|a| a.id != management && a.id != member.id)
        .unwrap();
    let role = format!("arn:aws:iam::{}:role/PatchhubRole", member.id);
    let from = |account: &str| {
        let account = account.to_string();
        let sim = &sim;
        let role = role.clone();
        async move {
            let sts: Client = common::client(sim, &account, EAST).await;
            sts.assume_role()
                .role_arn(role)
                .role_session_name("patchhub")
                .send()
                .await
        }
    };
    from(&management).await.unwrap();
    assert_eq!(refused(from(&other.id).await), "AccessDenied");
}

/// Sessions expire on awsim's simulated clock. Source for the answers: JSON services answer an
/// expired session with `ExpiredTokenException` and HTTP 400 (salesforce/multicloudj pull
/// request #608; the STS model codes the exception as 400, aws/aws-sdk-java-v2 issue #1649);
/// STS itself answers `ExpiredToken` (same issue).
#[tokio::test]
async fn sessions_expire_on_the_simulated_clock() {
    let fleet = common::standalone(vec![account("111111111111", &[("PatchhubRole", None)])]);
    let sim = common::start_loaded(&fleet).await;
    let sts: Client = common::client(&sim, DEFAULT_ACCOUNT, EAST).await;
    let out = sts
        .assume_role()
        .role_arn("arn:aws:iam::111111111111:role/PatchhubRole")
        .role_session_name("patchhub-test")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let creds = out.credentials().unwrap();
    let token = Some(creds.session_token().to_string());
    let config = common::sdk_with_key(&sim, EAST, creds.access_key_id(), token).await;
    let ssm = aws_sdk_ssm::Client::new(&config);
    let who = Client::new(&config);
    ssm.describe_instance_information().send().await.unwrap();
    sim.advance_clock(chrono::Duration::seconds(899));
    ssm.describe_instance_information().send().await.unwrap();
    sim.advance_clock(chrono::Duration::seconds(1));
    let err = ssm
        .describe_instance_information()
        .send()
        .await
        .expect_err("expired");
    assert_eq!(common::code(&err), "ExpiredTokenException");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    let err = who.get_caller_identity().send().await.expect_err("expired");
    assert_eq!(common::code(&err), "ExpiredToken");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
}
