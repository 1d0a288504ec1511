//! STS through the real SDK: caller identity, AssumeRole into fleet roles, refusals.

mod common;

use awsim::fleet::{AccountSpec, Fleet, RoleSpec};

fn account(id: &str, roles: &[(&str, Option<&str>)]) -> AccountSpec {
    AccountSpec {
        id: id.into(),
        name: format!("acct-{id}"),
        email: format!("{id}@example.com"),
        status: "ACTIVE".into(),
        parent: None,
        roles: roles
            .iter()
            .map(|(n, e)| RoleSpec {
                name: (*n).into(),
                external_id: e.map(str::to_string),
            })
            .collect(),
        regions: vec!["us-east-1".into()],
        disabled_regions: vec!["ap-east-1".into()],
        instances: vec![],
    }
}

#[tokio::test]
async fn caller_identity_of_static_keys() {
    let sim = common::start_with(common::config_for_accounts(&["222222222222"])).await;
    let sts = aws_sdk_sts::Client::new(&common::default_sdk_config(&sim, "us-east-1"));
    let id = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(id.account(), Some("123456789012"));
    assert_eq!(id.arn(), Some("arn:aws:iam::123456789012:user/awsim"));
    let sts2 = aws_sdk_sts::Client::new(&common::sdk_config(&sim, "222222222222", "us-east-1"));
    assert_eq!(
        sts2.get_caller_identity().send().await.unwrap().account(),
        Some("222222222222")
    );
}

#[tokio::test]
async fn assume_role_binds_credentials_to_the_role_account() {
    let sim = common::start().await;
    sim.load_fleet(Fleet {
        organization: None,
        accounts: vec![account(
            "111111111111",
            &[("PatchhubRole", None), ("Guarded", Some("ext-1"))],
        )],
    })
    .unwrap();
    let sts = aws_sdk_sts::Client::new(&common::default_sdk_config(&sim, "us-east-1"));
    let out = sts
        .assume_role()
        .role_arn("arn:aws:iam::111111111111:role/PatchhubRole")
        .role_session_name("patchhub-test")
        .send()
        .await
        .unwrap();
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::111111111111:assumed-role/PatchhubRole/patchhub-test"
    );
    // The temporary credentials act as the role's account.
    let cfg = common::sdk_config_with_key(
        &sim,
        "us-east-1",
        creds.access_key_id(),
        Some(creds.session_token().to_string()),
    );
    let who = aws_sdk_sts::Client::new(&cfg)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.account(), Some("111111111111"));
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/PatchhubRole/patchhub-test")
    );

    // A role that does not exist in that account: AccessDenied.
    let err = sts
        .assume_role()
        .role_arn("arn:aws:iam::111111111111:role/Nope")
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDenied")
    );
    // An account not in the fleet: AccessDenied.
    let err = sts
        .assume_role()
        .role_arn("arn:aws:iam::999999999999:role/PatchhubRole")
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDenied")
    );
    // External id required and wrong: AccessDenied; right: granted.
    let guarded = "arn:aws:iam::111111111111:role/Guarded";
    let err = sts
        .assume_role()
        .role_arn(guarded)
        .role_session_name("x1")
        .external_id("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDenied")
    );
    sts.assume_role()
        .role_arn(guarded)
        .role_session_name("x1")
        .external_id("ext-1")
        .send()
        .await
        .unwrap();
    // Session name outside the allowed pattern: ValidationError.
    let err = sts
        .assume_role()
        .role_arn(guarded)
        .role_session_name("a")
        .external_id("ext-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ValidationError")
    );
}

#[tokio::test]
async fn unknown_temporary_key_and_disabled_region_are_refused() {
    let sim = common::start().await;
    sim.load_fleet(Fleet {
        organization: None,
        accounts: vec![account("123456789012", &[])],
    })
    .unwrap();
    let forged = common::sdk_config_with_key(
        &sim,
        "us-east-1",
        "ASIAFORGED0000000000",
        Some("tok".into()),
    );
    let err = aws_sdk_sts::Client::new(&forged)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidClientTokenId")
    );
    // ap-east-1 is an opt-in Region this account has not enabled.
    let cfg = common::default_sdk_config(&sim, "ap-east-1");
    let err = aws_sdk_sts::Client::new(&cfg)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("InvalidClientTokenId")
    );
}
