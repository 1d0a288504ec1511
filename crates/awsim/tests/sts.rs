//! STS through the real SDK: caller identity, AssumeRole into fleet roles, refusals.

mod common;

use aws_sdk_sts::Client;
use awsim::Awsim;
use awsim::fleet::{AccountSpec, RoleSpec};
use common::{DEFAULT_ACCOUNT, EAST, refused};

fn account(id: &str, roles: &[(&str, Option<&str>)]) -> AccountSpec {
    let role = |(name, external_id): &(&str, Option<&str>)| RoleSpec {
        name: (*name).into(),
        external_id: external_id.map(str::to_string),
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
