//! The account template's custom resource: when the stack is deleted, CloudFormation sends
//! `Delete` and the function archives every active patchhub finding of its account and Region,
//! then answers with a `PUT` to the request's pre-signed response URL (here a loopback server);
//! `Create` and `Update` only answer. Driven against awsim (in-process).

mod support;

use awsim::Config;
use patchhub_lambda::error::ErrorType;
use patchhub_testkit::{REGION, assert_mentions};
use serde_json::Value;
use support::{ResponseUrl, call, cfn_request, first_account, fixture, function};

const SPEC: &str = "accounts=2,regions=1,instances=12,patches=20,seed=21";

fn active_count(found: &[aws_sdk_securityhub::types::AwsSecurityFinding]) -> usize {
    found
        .iter()
        .filter(|f| f.record_state().map(|r| r.as_str()) == Some("ACTIVE"))
        .count()
}

/// The one answer the server got, parsed, with the path it went to.
fn answer(url: &ResponseUrl) -> (String, Value) {
    let got = url.received();
    assert_eq!(got.len(), 1, "exactly one answer: {got:?}");
    let (path, body) = got[0].clone();
    (
        path,
        serde_json::from_str(&body).expect("the answer is JSON"),
    )
}

/// The one answer says SUCCESS and its `Reason` mentions `reason`.
fn assert_success_saying(url: &ResponseUrl, reason: &str) {
    let (_, body) = answer(url);
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_mentions(body["Reason"].as_str().unwrap(), &[reason]);
}

#[tokio::test]
async fn deleting_the_stack_archives_the_accounts_findings_and_answers_success() {
    let (sim, fleet) = patchhub_testkit::start(SPEC, Config::default()).await;
    let (a, b) = (fleet.accounts[0].id.clone(), fleet.accounts[1].id.clone());
    for acct in [&a, &b] {
        patchhub_testkit::enable_hub(&sim, acct, patchhub_testkit::REGION).await;
        let f = function(&sim, acct, 2).await;
        call(&f, fixture("sweep-action.json", acct, "-"))
            .await
            .expect("sweep");
    }
    let before_a =
        active_count(&patchhub_testkit::read::findings(&sim, &a, patchhub_testkit::REGION).await);
    let before_b =
        active_count(&patchhub_testkit::read::findings(&sim, &b, patchhub_testkit::REGION).await);
    assert!(before_a > 0 && before_b > 0, "{before_a} {before_b}");

    let url = ResponseUrl::start(0).await;
    let f = function(&sim, &a, 2).await;
    let out = call(&f, cfn_request("Delete", &a, &url.url(), "true"))
        .await
        .expect("answered");
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["trigger"], "cloudformation");
    assert_eq!(out["mode"], "stack-delete");
    assert_eq!(out["archived"].as_u64(), Some(before_a as u64));

    let found = patchhub_testkit::read::findings(&sim, &a, patchhub_testkit::REGION).await;
    assert!(!found.is_empty());
    assert_eq!(
        active_count(&found),
        0,
        "every patchhub finding of the account is archived"
    );
    assert!(
        found.iter().all(|f| f
            .product_fields()
            .and_then(|p| p.get("patchhub/Resolution"))
            .map(String::as_str)
            == Some("uninstalled")),
        "archived as `patchhub cleanup` archives"
    );
    assert_eq!(
        active_count(&patchhub_testkit::read::findings(&sim, &b, patchhub_testkit::REGION).await),
        before_b,
        "the other account's findings are not touched"
    );

    let (path, body) = answer(&url);
    assert!(
        url.url().ends_with(&path),
        "the answer went to the pre-signed path and query as given: {path}"
    );
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["RequestId"], "5d478078-13e9-baf0-464a-7ef285ecc786");
    assert_eq!(body["LogicalResourceId"], "ArchiveFindingsOnDelete");
    assert_mentions(body["StackId"].as_str().unwrap(), &[":stack/patchhub/"]);
    assert_eq!(
        body["PhysicalResourceId"],
        format!("patchhub-findings-{a}-{REGION}")
    );
    assert_eq!(body["Data"]["Archived"].as_u64(), Some(before_a as u64));
    assert_mentions(
        body["Reason"].as_str().unwrap(),
        &[&format!("archived {before_a} patchhub findings")],
    );

    // A retried Delete (Lambda retries failed asynchronous invocations) finds nothing left and
    // still answers.
    let again = ResponseUrl::start(0).await;
    let out = call(&f, cfn_request("Delete", &a, &again.url(), "true"))
        .await
        .expect("answered");
    assert!(out.get("archived").is_none(), "{out}");
    assert_success_saying(&again, "no active patchhub finding");
}

#[tokio::test]
async fn create_and_update_only_answer() {
    let (sim, _, acct, f) = first_account(SPEC, true).await;
    sim.reset_stats();
    for kind in ["Create", "Update"] {
        let url = ResponseUrl::start(0).await;
        let mut req = cfn_request(kind, &acct, &url.url(), "true");
        if kind == "Create" {
            req.as_object_mut().unwrap().remove("PhysicalResourceId");
        }
        call(&f, req).await.expect("answered");
        let (_, body) = answer(&url);
        assert_eq!(body["Status"], "SUCCESS", "{kind}: {body}");
        assert_eq!(
            body["PhysicalResourceId"],
            format!("patchhub-findings-{acct}-{REGION}"),
            "{kind}: one stable physical id, so an update never replaces (and archives)"
        );
    }
    assert_eq!(sim.stats().total_calls(), 0, "no AWS call");
}

#[tokio::test]
async fn archive_off_leaves_the_findings() {
    let (sim, _, acct, f) = first_account(SPEC, true).await;
    call(&f, fixture("sweep-action.json", &acct, "-"))
        .await
        .expect("sweep");
    let before = active_count(
        &patchhub_testkit::read::findings(&sim, &acct, patchhub_testkit::REGION).await,
    );
    let url = ResponseUrl::start(0).await;
    call(&f, cfn_request("Delete", &acct, &url.url(), "false"))
        .await
        .expect("answered");
    assert_eq!(
        active_count(
            &patchhub_testkit::read::findings(&sim, &acct, patchhub_testkit::REGION).await
        ),
        before
    );
    assert_success_saying(&url, "left as they are");
}

#[tokio::test]
async fn without_security_hub_the_delete_still_succeeds() {
    let (_sim, _, acct, f) = first_account(SPEC, false).await;
    let url = ResponseUrl::start(0).await;
    let out = call(&f, cfn_request("Delete", &acct, &url.url(), "true"))
        .await
        .expect("answered");
    assert_eq!(out["ok"], true);
    assert_success_saying(&url, "not enabled");
}

#[tokio::test]
async fn the_answer_is_retried_and_an_undeliverable_one_fails_the_invocation() {
    let (_sim, _, acct, f) = first_account(SPEC, true).await;

    // Two 500s, then 200: the third attempt lands.
    let flaky = ResponseUrl::start(2).await;
    call(&f, cfn_request("Create", &acct, &flaky.url(), "true"))
        .await
        .expect("delivered on the third attempt");
    assert_eq!(flaky.received().len(), 3);

    // Nobody listens: the invocation fails, so Lambda retries it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/x?sig=1", listener.local_addr().unwrap());
    drop(listener);
    let e = call(&f, cfn_request("Create", &acct, &dead, "true"))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, ErrorType::ServiceError);
    assert_mentions(&e.message, &["cannot answer CloudFormation"]);

    // An unknown request type is answered FAILED (CloudFormation then fails the operation).
    let url = ResponseUrl::start(0).await;
    let mut req = cfn_request("Create", &acct, &url.url(), "true");
    req["RequestType"] = "Replace".into();
    let out = call(&f, req).await.expect("answered");
    assert_eq!(out["ok"], false);
    assert_eq!(out["error_type"], "InvalidEvent");
    let (_, body) = answer(&url);
    assert_eq!(body["Status"], "FAILED");
}
