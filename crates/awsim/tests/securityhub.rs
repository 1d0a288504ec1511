//! Security Hub through the real SDK: enabling the hub, importing findings with AWS's limits and
//! validation, the update rules, GetFindings filters, sorting and paging, BatchUpdateFindings,
//! account and Region isolation, injected per-finding failures, and the indexed query path.

mod common;

use std::collections::{BTreeSet, HashSet};

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::error::ProvideErrorMetadata;
use aws_sdk_securityhub::types::builders::AwsSecurityFindingBuilder;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, Compliance,
    ComplianceStatus, DateFilter, DateRange, DateRangeUnit, MapFilter, MapFilterComparison, Note,
    NoteUpdate, NumberFilter, RecordState, RelatedFinding, Resource, ResourceDetails, Severity,
    SeverityLabel, SeverityUpdate, SortCriterion, SortOrder, StringFilter, StringFilterComparison,
    VerificationState, Workflow, WorkflowStatus, WorkflowUpdate,
};

const ACCOUNT: &str = "123456789012";

/// Runs a test body on worker threads with a 16 MB stack. In debug builds the SDK's ASFF
/// deserializer has a stack frame of about 1 MB (`de_aws_security_finding`) and decoding a
/// `GetFindings` response needs more than the 2 MB a test thread has, so reading findings on a
/// `#[tokio::test]` thread overflows.
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
const REGION: &str = "us-east-1";

fn product_arn(account: &str, region: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account}:product/{account}/default")
}

fn default_product() -> String {
    product_arn(ACCOUNT, REGION)
}

/// `2024-05-01T00:MM:00Z`-style timestamps, `minute` minutes after a fixed start.
fn at(minute: u32) -> String {
    format!("2024-05-01T{:02}:{:02}:00Z", minute / 60, minute % 60)
}

/// A valid finding for `account` in `region`, `Id = id`, on instance `resource`.
fn finding_in(account: &str, region: &str, id: &str, resource: &str) -> AwsSecurityFindingBuilder {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(product_arn(account, region))
        .generator_id("patchhub/missing-patches")
        .aws_account_id(account)
        .types("Software and Configuration Checks/Patch Management")
        .created_at(at(0))
        .updated_at(at(0))
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .title(format!("Missing patches on {resource}"))
        .description("The instance is missing security patches.")
        .resources(
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id(resource)
                .build(),
        )
}

fn finding(id: &str, resource: &str) -> AwsSecurityFindingBuilder {
    finding_in(ACCOUNT, REGION, id, resource)
}

async fn enabled_client(sim: &awsim::Awsim, account: Option<&str>, region: &str) -> Client {
    let cfg = match account {
        Some(a) => common::sdk_config(sim, a, region),
        None => common::default_sdk_config(sim, region),
    };
    let client = Client::new(&cfg);
    client.enable_security_hub().send().await.unwrap();
    client
}

async fn import(
    client: &Client,
    findings: Vec<AwsSecurityFinding>,
) -> (i32, i32, Vec<(String, String)>) {
    let out = client
        .batch_import_findings()
        .set_findings(Some(findings))
        .send()
        .await
        .unwrap();
    let failed = out
        .failed_findings()
        .iter()
        .map(|f| {
            (
                f.id().unwrap_or_default().to_string(),
                f.error_code().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (
        out.success_count().unwrap(),
        out.failed_count().unwrap(),
        failed,
    )
}

async fn import_ok(client: &Client, findings: Vec<AwsSecurityFinding>) {
    let n = findings.len() as i32;
    let (ok, failed, list) = import(client, findings).await;
    assert_eq!((ok, failed), (n, 0), "unexpected failures: {list:?}");
}

async fn all_findings(
    client: &Client,
    filters: AwsSecurityFindingFilters,
) -> Vec<AwsSecurityFinding> {
    client
        .get_findings()
        .filters(filters)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap()
}

async fn get_one(client: &Client, id: &str) -> AwsSecurityFinding {
    let mut found = all_findings(client, filters().id(eq(id)).build()).await;
    assert_eq!(found.len(), 1, "finding {id}");
    found.remove(0)
}

fn ids(findings: &[AwsSecurityFinding]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f.id().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

fn filters() -> aws_sdk_securityhub::types::builders::AwsSecurityFindingFiltersBuilder {
    AwsSecurityFindingFilters::builder()
}

fn sf(value: &str, cmp: StringFilterComparison) -> StringFilter {
    StringFilter::builder().value(value).comparison(cmp).build()
}

fn eq(value: &str) -> StringFilter {
    sf(value, StringFilterComparison::Equals)
}

fn ident(id: &str) -> AwsSecurityFindingIdentifier {
    AwsSecurityFindingIdentifier::builder()
        .id(id)
        .product_arn(default_product())
        .build()
}

fn code<E: ProvideErrorMetadata, R>(
    err: &aws_sdk_securityhub::error::SdkError<E, R>,
) -> Option<String> {
    err.as_service_error()
        .and_then(|e| e.code())
        .map(str::to_string)
}

#[test]
fn enable_describe_disable_and_their_errors() {
    run(async {
        let sim = common::start().await;
        let client = Client::new(&common::default_sdk_config(&sim, REGION));

        let err = client.describe_hub().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidAccessException"));
        let err = client.disable_security_hub().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("ResourceNotFoundException"));

        client
            .enable_security_hub()
            .enable_default_standards(false)
            .tags("team", "security")
            .send()
            .await
            .unwrap();
        let hub = client.describe_hub().send().await.unwrap();
        assert_eq!(
            hub.hub_arn(),
            Some("arn:aws:securityhub:us-east-1:123456789012:hub/default")
        );
        let subscribed = hub.subscribed_at().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(subscribed).is_ok(),
            "{subscribed}"
        );
        assert_eq!(hub.auto_enable_controls(), Some(true));
        // Asking for our own hub by ARN works.
        client
            .describe_hub()
            .hub_arn("arn:aws:securityhub:us-east-1:123456789012:hub/default")
            .send()
            .await
            .unwrap();

        let err = client.enable_security_hub().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("ResourceConflictException"));

        client.disable_security_hub().send().await.unwrap();
        let err = client.describe_hub().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidAccessException"));
        let err = client.get_findings().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidAccessException"));
        let err = client.disable_security_hub().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("ResourceNotFoundException"));
        // Enabling again works.
        client.enable_security_hub().send().await.unwrap();
    });
}

#[test]
fn batch_sizes_one_and_hundred_pass_zero_and_hundred_one_fail() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;

        import_ok(&client, vec![finding("one", "i-1").build()]).await;
        let hundred: Vec<_> = (0..100)
            .map(|i| finding(&format!("h-{i}"), "i-1").build())
            .collect();
        import_ok(&client, hundred).await;
        assert_eq!(all_findings(&client, filters().build()).await.len(), 101);

        let err = client
            .batch_import_findings()
            .set_findings(Some(vec![]))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidInputException"));
        let too_many: Vec<_> = (0..101)
            .map(|i| finding(&format!("x-{i}"), "i-1").build())
            .collect();
        let err = client
            .batch_import_findings()
            .set_findings(Some(too_many))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidInputException"));
        // Nothing of the refused calls was stored.
        assert_eq!(all_findings(&client, filters().build()).await.len(), 101);
    });
}

/// A finding of about `kb` KB, padded in `Resources[].Details.Other`.
fn padded(id: &str, kb: usize) -> AwsSecurityFinding {
    let mut details = ResourceDetails::builder();
    for i in 0..kb {
        details = details.other(format!("pad{i:04}"), "x".repeat(1000));
    }
    finding(id, "i-big")
        .set_resources(Some(vec![
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id("i-big")
                .details(details.build())
                .build(),
        ]))
        .build()
}

#[test]
fn size_limits_per_finding_and_per_call() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;

        let (ok, failed, list) = import(
            &client,
            vec![
                padded("big", 250),
                padded("fits", 200),
                finding("small", "i-1").build(),
            ],
        )
        .await;
        assert_eq!((ok, failed), (2, 1));
        assert_eq!(list, vec![("big".to_string(), "InvalidInput".to_string())]);
        assert_eq!(
            ids(&all_findings(&client, filters().build()).await),
            set(&["fits", "small"])
        );

        // 30 findings of ~230 KB: each is allowed, the 6.9 MB call is not.
        let heavy: Vec<_> = (0..30)
            .map(|i| padded(&format!("heavy-{i}"), 230))
            .collect();
        let err = client
            .batch_import_findings()
            .set_findings(Some(heavy))
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidInputException"));
    });
}

#[test]
fn each_schema_violation_fails_only_its_finding() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;

        let mut many_pf = finding("pf-51", "i-1");
        for i in 0..51 {
            many_pf = many_pf.product_fields(format!("k{i}"), "v");
        }
        let mut many_types = finding("types-51", "i-1");
        for i in 0..51 {
            many_types = many_types.types(format!("TTPs/Discovery/t{i}"));
        }
        let long_id = "x".repeat(513);
        let cases: Vec<(&str, AwsSecurityFinding, &str)> = vec![
            (
                "schema",
                finding("schema", "i-1")
                    .schema_version("2020-01-01")
                    .build(),
                "InvalidInput",
            ),
            (
                long_id.as_str(),
                finding(&long_id, "i-1").build(),
                "InvalidInput",
            ),
            (
                "no-generator",
                finding("no-generator", "i-1")
                    .set_generator_id(None)
                    .build(),
                "InvalidInput",
            ),
            (
                "long-generator",
                finding("long-generator", "i-1")
                    .generator_id("g".repeat(513))
                    .build(),
                "InvalidInput",
            ),
            (
                "short-account",
                finding("short-account", "i-1")
                    .aws_account_id("12345")
                    .build(),
                "InvalidInput",
            ),
            (
                "bad-created",
                finding("bad-created", "i-1")
                    .created_at("yesterday")
                    .build(),
                "InvalidInput",
            ),
            (
                "no-updated",
                finding("no-updated", "i-1").set_updated_at(None).build(),
                "InvalidInput",
            ),
            (
                "long-title",
                finding("long-title", "i-1").title("t".repeat(257)).build(),
                "InvalidInput",
            ),
            (
                "no-description",
                finding("no-description", "i-1")
                    .set_description(None)
                    .build(),
                "InvalidInput",
            ),
            (
                "long-description",
                finding("long-description", "i-1")
                    .description("d".repeat(1025))
                    .build(),
                "InvalidInput",
            ),
            (
                "no-resources",
                finding("no-resources", "i-1").set_resources(None).build(),
                "InvalidInput",
            ),
            (
                "resource-no-id",
                finding("resource-no-id", "i-1")
                    .set_resources(Some(vec![
                        Resource::builder().r#type("AwsEc2Instance").build(),
                    ]))
                    .build(),
                "InvalidInput",
            ),
            (
                "too-many-resources",
                finding("too-many-resources", "i-1")
                    .set_resources(Some(
                        (0..33)
                            .map(|i| {
                                Resource::builder()
                                    .r#type("Other")
                                    .id(format!("r{i}"))
                                    .build()
                            })
                            .collect(),
                    ))
                    .build(),
                "InvalidInput",
            ),
            (
                "bad-label",
                finding("bad-label", "i-1")
                    .severity(
                        Severity::builder()
                            .label(SeverityLabel::from("SEVERE"))
                            .build(),
                    )
                    .build(),
                "InvalidInput",
            ),
            (
                "normalized-101",
                finding("normalized-101", "i-1")
                    .severity(Severity::builder().normalized(101).build())
                    .build(),
                "InvalidInput",
            ),
            (
                "no-severity",
                finding("no-severity", "i-1").set_severity(None).build(),
                "InvalidInput",
            ),
            (
                "bad-type",
                finding("bad-type", "i-1")
                    // The service's pattern, not the documented namespaces (prowler issue
                    // #2519): "PATCH" lands (see tests/realism.rs); four parts do not.
                    .set_types(Some(vec!["PATCH/a/b/c".into()]))
                    .build(),
                "InvalidInput",
            ),
            (
                "bad-namespace",
                finding("bad-namespace", "i-1")
                    .set_types(Some(vec!["Patches//Missing".into()]))
                    .build(),
                "InvalidInput",
            ),
            ("types-51", many_types.build(), "InvalidInput"),
            ("pf-51", many_pf.build(), "InvalidInput"),
            (
                "pf-long-key",
                finding("pf-long-key", "i-1")
                    .product_fields("k".repeat(129), "v")
                    .build(),
                "InvalidInput",
            ),
            (
                "pf-long-value",
                finding("pf-long-value", "i-1")
                    .product_fields("k", "v".repeat(2049))
                    .build(),
                "InvalidInput",
            ),
            (
                "other-account",
                finding("other-account", "i-1")
                    .aws_account_id("210987654321")
                    .build(),
                "InvalidAccess",
            ),
            (
                "other-product",
                finding("other-product", "i-1")
                    .product_arn(product_arn("210987654321", REGION))
                    .build(),
                "InvalidAccess",
            ),
            (
                "other-region-product",
                finding("other-region-product", "i-1")
                    .product_arn(product_arn(ACCOUNT, "eu-west-1"))
                    .build(),
                "InvalidAccess",
            ),
            (
                "partner-product",
                finding("partner-product", "i-1")
                    .product_arn("arn:aws:securityhub:us-east-1::product/prowler/prowler")
                    .build(),
                "InvalidAccess",
            ),
        ];
        let n = cases.len();
        let mut batch: Vec<AwsSecurityFinding> = cases.iter().map(|(_, f, _)| f.clone()).collect();
        batch.push(finding("valid", "i-1").build());
        let (ok, failed, list) = import(&client, batch).await;
        assert_eq!((ok, failed as usize), (1, n), "{list:?}");
        for (id, _, expected) in &cases {
            let got = list.iter().find(|(fid, _)| fid == id);
            assert_eq!(
                got.map(|(_, c)| c.as_str()),
                Some(*expected),
                "finding {id} should fail with {expected}"
            );
        }
        assert_eq!(
            ids(&all_findings(&client, filters().build()).await),
            set(&["valid"])
        );
    });
}

#[test]
fn findings_fail_with_invalid_access_when_the_hub_is_not_enabled() {
    run(async {
        let sim = common::start().await;
        let client = Client::new(&common::default_sdk_config(&sim, REGION));
        let (ok, failed, list) = import(
            &client,
            vec![finding("a", "i-1").build(), finding("b", "i-2").build()],
        )
        .await;
        assert_eq!((ok, failed), (0, 2));
        assert!(list.iter().all(|(_, c)| c == "InvalidAccess"), "{list:?}");
        assert_eq!(sim.stats().ingestion_events(), 0);
    });
}

#[test]
fn stale_updates_are_ignored_and_not_billed() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;

        import_ok(
            &client,
            vec![finding("f", "i-1").updated_at(at(10)).build()],
        )
        .await;
        assert_eq!(sim.stats().ingestion_events(), 1);

        // Same UpdatedAt and an earlier one: success, but nothing changes and nothing is billed.
        for updated in [at(10), at(5)] {
            import_ok(
                &client,
                vec![
                    finding("f", "i-1")
                        .updated_at(updated)
                        .title("changed")
                        .build(),
                ],
            )
            .await;
        }
        assert_eq!(sim.stats().ingestion_events(), 1);
        let f = get_one(&client, "f").await;
        assert_eq!(f.title(), Some("Missing patches on i-1"));
        assert_eq!(f.updated_at(), Some(at(10).as_str()));

        // A later one is an update and an ingestion event.
        import_ok(
            &client,
            vec![
                finding("f", "i-1")
                    .updated_at(at(11))
                    .title("changed")
                    .build(),
            ],
        )
        .await;
        assert_eq!(sim.stats().ingestion_events(), 2);
        let snap = sim.stats();
        let row = snap
            .ingestion
            .iter()
            .find(|r| r.account == ACCOUNT && r.region == REGION)
            .unwrap();
        assert_eq!((row.counts.creates, row.counts.updates), (1, 1));
        let f = get_one(&client, "f").await;
        assert_eq!(f.title(), Some("changed"));
        // Security Hub's own stamps.
        assert_eq!(f.region(), Some(REGION));
        assert_eq!(f.product_name(), Some("Default"));
        assert_eq!(f.company_name(), Some("Personal"));
        assert!(f.processed_at().is_some());
        assert_eq!(f.record_state(), Some(&RecordState::Active));
        assert_eq!(
            f.workflow().and_then(|w| w.status()),
            Some(&WorkflowStatus::New)
        );
        let pf = f.product_fields().unwrap();
        assert_eq!(
            pf.get("aws/securityhub/FindingId").map(String::as_str),
            Some(format!("{}/f", default_product()).as_str())
        );
        assert_eq!(
            pf.get("aws/securityhub/ProductName").map(String::as_str),
            Some("Default")
        );
    });
}

async fn set_workflow(client: &Client, id: &str, status: WorkflowStatus) {
    let out = client
        .batch_update_findings()
        .finding_identifiers(ident(id))
        .workflow(WorkflowUpdate::builder().status(status).build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.processed_findings().len(), 1);
}

fn workflow_of(f: &AwsSecurityFinding) -> WorkflowStatus {
    f.workflow().and_then(|w| w.status()).cloned().unwrap()
}

#[test]
fn provider_cannot_change_workflow_note_or_verification_on_update() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        import_ok(&client, vec![finding("f", "i-1").build()]).await;
        client
            .batch_update_findings()
            .finding_identifiers(ident("f"))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Notified)
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text("ticket SEC-1")
                    .updated_by("alice")
                    .build(),
            )
            .verification_state(VerificationState::TruePositive)
            .user_defined_fields("ticket", "SEC-1")
            .send()
            .await
            .unwrap();

        let update = finding("f", "i-1")
            .updated_at(at(1))
            .workflow(Workflow::builder().status(WorkflowStatus::Resolved).build())
            .note(
                Note::builder()
                    .text("provider note")
                    .updated_by("provider")
                    .updated_at(at(1))
                    .build(),
            )
            .verification_state(VerificationState::FalsePositive)
            .user_defined_fields("ticket", "overwritten")
            .build();
        import_ok(&client, vec![update]).await;
        let f = get_one(&client, "f").await;
        assert_eq!(f.updated_at(), Some(at(1).as_str()));
        assert_eq!(workflow_of(&f), WorkflowStatus::Notified);
        assert_eq!(f.note().and_then(|n| n.text()), Some("ticket SEC-1"));
        assert_eq!(
            f.verification_state(),
            Some(&VerificationState::TruePositive)
        );
        assert_eq!(
            f.user_defined_fields()
                .and_then(|u| u.get("ticket"))
                .map(String::as_str),
            Some("SEC-1")
        );
    });
}

#[test]
fn workflow_resets_to_new_when_the_problem_comes_back() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        let passed = || {
            Compliance::builder()
                .status(ComplianceStatus::Passed)
                .build()
        };
        let failed = || {
            Compliance::builder()
                .status(ComplianceStatus::Failed)
                .build()
        };
        import_ok(
            &client,
            vec![
                finding("archived", "i-1").build(),
                finding("passed", "i-2").compliance(passed()).build(),
                finding("suppressed", "i-3").build(),
                finding("still-passed", "i-4").compliance(passed()).build(),
            ],
        )
        .await;
        set_workflow(&client, "archived", WorkflowStatus::Resolved).await;
        set_workflow(&client, "passed", WorkflowStatus::Notified).await;
        set_workflow(&client, "suppressed", WorkflowStatus::Suppressed).await;
        set_workflow(&client, "still-passed", WorkflowStatus::Resolved).await;

        // Provider archives (workflow untouched) ...
        import_ok(
            &client,
            vec![
                finding("archived", "i-1")
                    .updated_at(at(1))
                    .record_state(RecordState::Archived)
                    .build(),
                finding("suppressed", "i-3")
                    .updated_at(at(1))
                    .record_state(RecordState::Archived)
                    .build(),
                finding("still-passed", "i-4")
                    .updated_at(at(1))
                    .compliance(passed())
                    .build(),
            ],
        )
        .await;
        assert_eq!(
            workflow_of(&get_one(&client, "archived").await),
            WorkflowStatus::Resolved
        );
        // ... then the issue is back.
        import_ok(
            &client,
            vec![
                finding("archived", "i-1")
                    .updated_at(at(2))
                    .record_state(RecordState::Active)
                    .build(),
                finding("passed", "i-2")
                    .updated_at(at(2))
                    .compliance(failed())
                    .build(),
                finding("suppressed", "i-3")
                    .updated_at(at(2))
                    .record_state(RecordState::Active)
                    .build(),
                finding("still-passed", "i-4")
                    .updated_at(at(2))
                    .compliance(passed())
                    .build(),
            ],
        )
        .await;
        assert_eq!(
            workflow_of(&get_one(&client, "archived").await),
            WorkflowStatus::New
        );
        assert_eq!(
            workflow_of(&get_one(&client, "passed").await),
            WorkflowStatus::New
        );
        assert_eq!(
            workflow_of(&get_one(&client, "suppressed").await),
            WorkflowStatus::Suppressed
        );
        assert_eq!(
            workflow_of(&get_one(&client, "still-passed").await),
            WorkflowStatus::Resolved
        );
    });
}

/// Ten findings with varied fields for the filter tests.
async fn filter_fixture(client: &Client) {
    let mut batch = Vec::new();
    for i in 0..10u32 {
        let label = [
            SeverityLabel::Low,
            SeverityLabel::Medium,
            SeverityLabel::High,
        ][i as usize % 3]
            .clone();
        let mut f = finding(&format!("f{i}"), &format!("i-{i:03}"))
            .title(format!("Title {} {}", ["alpha", "beta"][i as usize % 2], i))
            .generator_id(if i < 5 { "gen/a" } else { "gen/b" })
            .severity(Severity::builder().label(label).build())
            .updated_at(at(10 * i))
            .criticality(10 * i as i32)
            .product_fields("patchhub/Baseline", format!("pb-{}", i % 3))
            .record_state(if i % 4 == 0 {
                RecordState::Archived
            } else {
                RecordState::Active
            });
        if i == 9 {
            f = f.resources(
                Resource::builder()
                    .r#type("AwsAccount")
                    .id("AWS::::Account:123456789012")
                    .build(),
            );
        }
        batch.push(f.build());
    }
    import_ok(client, batch).await;
}

fn expect(ids: &[u32]) -> BTreeSet<String> {
    ids.iter().map(|i| format!("f{i}")).collect()
}

#[test]
fn get_findings_string_map_date_and_number_filters() {
    run(async {
        use StringFilterComparison as C;
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        filter_fixture(&client).await;
        let q = |f: AwsSecurityFindingFilters| {
            let client = client.clone();
            async move { ids(&all_findings(&client, f).await) }
        };

        assert_eq!(
            q(filters().generator_id(eq("gen/a")).build()).await,
            expect(&[0, 1, 2, 3, 4])
        );
        // Same field: EQUALS values ORed.
        assert_eq!(
            q(filters()
                .resource_id(eq("i-001"))
                .resource_id(eq("i-007"))
                .build())
            .await,
            expect(&[1, 7])
        );
        assert_eq!(
            q(filters().title(sf("Title beta", C::Prefix)).build()).await,
            expect(&[1, 3, 5, 7, 9])
        );
        assert_eq!(
            q(filters().title(sf("alpha", C::Contains)).build()).await,
            expect(&[0, 2, 4, 6, 8])
        );
        assert_eq!(
            q(filters().title(sf("alpha", C::NotContains)).build()).await,
            expect(&[1, 3, 5, 7, 9])
        );
        // NOT_ forms ANDed.
        assert_eq!(
            q(filters()
                .generator_id(sf("gen/a", C::NotEquals))
                .id(sf("f5", C::NotEquals))
                .id(sf("f6", C::NotEquals))
                .build())
            .await,
            expect(&[7, 8, 9])
        );
        // PREFIX first, then PREFIX_NOT_EQUALS.
        assert_eq!(
            q(filters()
                .resource_id(sf("i-00", C::Prefix))
                .resource_id(sf("i-00", C::PrefixNotEquals))
                .build())
            .await,
            expect(&[])
        );
        assert_eq!(
            q(filters().resource_id(sf("i-", C::PrefixNotEquals)).build()).await,
            expect(&[])
        );
        // A multi-resource finding matches a positive filter on either resource.
        assert_eq!(
            q(filters().resource_type(eq("AwsAccount")).build()).await,
            expect(&[9])
        );
        // Different fields ANDed.
        assert_eq!(
            q(filters()
                .generator_id(eq("gen/b"))
                .severity_label(eq("HIGH"))
                .record_state(eq("ACTIVE"))
                .build())
            .await,
            expect(&[5])
        );
        // Map filter on ProductFields.
        let pf = |v: &str, c: MapFilterComparison| {
            MapFilter::builder()
                .key("patchhub/Baseline")
                .value(v)
                .comparison(c)
                .build()
        };
        assert_eq!(
            q(filters()
                .product_fields(pf("pb-1", MapFilterComparison::Equals))
                .build())
            .await,
            expect(&[1, 4, 7])
        );
        assert_eq!(
            q(filters()
                .product_fields(pf("pb-1", MapFilterComparison::NotEquals))
                .product_fields(pf("pb-2", MapFilterComparison::NotEquals))
                .build())
            .await,
            expect(&[0, 3, 6, 9])
        );
        // Security Hub's own ProductFields are filterable too.
        assert_eq!(
            q(filters()
                .product_fields(
                    MapFilter::builder()
                        .key("aws/securityhub/FindingId")
                        .value(format!("{}/f3", default_product()))
                        .comparison(MapFilterComparison::Equals)
                        .build()
                )
                .build())
            .await,
            expect(&[3])
        );
        // Dates: inclusive Start/End on UpdatedAt (f_i was updated at minute 10*i).
        assert_eq!(
            q(filters()
                .updated_at(DateFilter::builder().start(at(20)).end(at(40)).build())
                .build())
            .await,
            expect(&[2, 3, 4])
        );
        // DateRange: the fixture is from 2024, so nothing is within the last 7 days; 100 years is all.
        let range = |days| {
            DateFilter::builder()
                .date_range(
                    DateRange::builder()
                        .value(days)
                        .unit(DateRangeUnit::Days)
                        .build(),
                )
                .build()
        };
        assert_eq!(q(filters().updated_at(range(7)).build()).await, expect(&[]));
        assert_eq!(
            q(filters().created_at(range(36_500)).build()).await.len(),
            10
        );
        // Number filters (f_i has Criticality 10*i), ORed within the attribute.
        assert_eq!(
            q(filters()
                .criticality(NumberFilter::builder().gte(40.0).lt(70.0).build())
                .criticality(NumberFilter::builder().eq(90.0).build())
                .build())
            .await,
            expect(&[4, 5, 6, 9])
        );
    });
}

#[test]
fn get_findings_refuses_bad_filters_and_page_sizes() {
    run(async {
        use StringFilterComparison as C;
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        filter_fixture(&client).await;
        let refuse = |f: AwsSecurityFindingFilters| {
            let client = client.clone();
            async move {
                let err = client.get_findings().filters(f).send().await.unwrap_err();
                code(&err)
            }
        };
        let invalid = Some("InvalidInputException".to_string());

        // 11 attributes.
        let eleven = filters()
            .id(eq("a"))
            .product_arn(eq("a"))
            .generator_id(eq("a"))
            .aws_account_id(eq("a"))
            .region(eq("a"))
            .title(eq("a"))
            .r#type(eq("a"))
            .resource_type(eq("a"))
            .resource_id(eq("a"))
            .record_state(eq("a"))
            .workflow_status(eq("a"))
            .build();
        assert_eq!(refuse(eleven).await, invalid);
        // 10 are fine.
        let ten = filters()
            .id(eq("f1"))
            .product_arn(eq(&default_product()))
            .generator_id(eq("gen/a"))
            .aws_account_id(eq(ACCOUNT))
            .region(eq(REGION))
            .title(sf("Title", C::Prefix))
            .r#type(eq("Software and Configuration Checks/Patch Management"))
            .resource_type(eq("AwsEc2Instance"))
            .resource_id(eq("i-001"))
            .record_state(eq("ACTIVE"))
            .build();
        assert_eq!(ids(&all_findings(&client, ten).await), expect(&[1]));
        // 21 values for one attribute.
        let mut many = filters();
        for i in 0..21 {
            many = many.id(eq(&format!("f{i}")));
        }
        assert_eq!(refuse(many.build()).await, invalid);
        // Forbidden combinations.
        assert_eq!(
            refuse(
                filters()
                    .title(sf("a", C::Contains))
                    .title(sf("b", C::NotContains))
                    .build()
            )
            .await,
            invalid
        );
        assert_eq!(
            refuse(
                filters()
                    .title(sf("a", C::Equals))
                    .title(sf("b", C::NotEquals))
                    .build()
            )
            .await,
            invalid
        );
        assert_eq!(
            refuse(
                filters()
                    .title(sf("a", C::Contains))
                    .title(sf("b", C::Prefix))
                    .build()
            )
            .await,
            invalid
        );

        for bad in [0, 101] {
            let err = client
                .get_findings()
                .max_results(bad)
                .send()
                .await
                .unwrap_err();
            assert_eq!(code(&err), invalid, "MaxResults {bad}");
        }
        let err = client
            .get_findings()
            .next_token("garbage")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), invalid);
    });
}

#[test]
fn get_findings_sorts() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        filter_fixture(&client).await;
        let sorted = |field: &str, order: SortOrder| {
            let client = client.clone();
            let crit = SortCriterion::builder()
                .field(field)
                .sort_order(order)
                .build();
            async move {
                let out = client
                    .get_findings()
                    .sort_criteria(crit)
                    .send()
                    .await
                    .unwrap();
                out.findings()
                    .iter()
                    .map(|f| f.id().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        let order = |ids: &[u32]| ids.iter().map(|i| format!("f{i}")).collect::<Vec<_>>();
        assert_eq!(
            sorted("UpdatedAt", SortOrder::Ascending).await,
            order(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        );
        assert_eq!(
            sorted("UpdatedAt", SortOrder::Descending).await,
            order(&[9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
        );
        // Ties broken by Id: LOW = 0,3,6,9; MEDIUM = 1,4,7; HIGH = 2,5,8.
        assert_eq!(
            sorted("SeverityNormalized", SortOrder::Descending).await,
            order(&[2, 5, 8, 1, 4, 7, 0, 3, 6, 9])
        );
        assert_eq!(
            sorted("Title", SortOrder::Ascending).await,
            order(&[0, 2, 4, 6, 8, 1, 3, 5, 7, 9])
        );
        // Default: most recently updated first.
        let out = client.get_findings().send().await.unwrap();
        assert_eq!(out.findings()[0].id(), Some("f9"));
        // Several criteria apply in order.
        let out = client
            .get_findings()
            .sort_criteria(
                SortCriterion::builder()
                    .field("GeneratorId")
                    .sort_order(SortOrder::Descending)
                    .build(),
            )
            .sort_criteria(
                SortCriterion::builder()
                    .field("CreatedAt")
                    .sort_order(SortOrder::Ascending)
                    .build(),
            )
            .sort_criteria(
                SortCriterion::builder()
                    .field("Id")
                    .sort_order(SortOrder::Descending)
                    .build(),
            )
            .max_results(3)
            .send()
            .await
            .unwrap();
        let first: Vec<_> = out.findings().iter().map(|f| f.id().unwrap()).collect();
        assert_eq!(first, vec!["f9", "f8", "f7"]);
    });
}

#[test]
fn paging_through_250_findings_returns_each_once() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        for chunk in 0..3 {
            let batch: Vec<_> = (0..100)
                .filter(|i| chunk * 100 + i < 250)
                .map(|i| {
                    let n = chunk * 100 + i;
                    // Many equal UpdatedAt values, so order relies on the tie-breaker.
                    finding(&format!("p-{n:03}"), "i-1")
                        .updated_at(at(n % 7))
                        .build()
                })
                .collect();
            import_ok(&client, batch).await;
        }
        let mut pages = 0;
        let mut seen = Vec::new();
        let mut stream = client
            .get_findings()
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = stream.next().await {
            let page = page.unwrap();
            pages += 1;
            assert!(page.findings().len() <= 100);
            seen.extend(page.findings().iter().map(|f| f.id().unwrap().to_string()));
        }
        assert_eq!(pages, 3);
        assert_eq!(seen.len(), 250);
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), 250);

        // Small pages with a sort: still each exactly once, and in order.
        let sorted: Vec<String> = client
            .get_findings()
            .sort_criteria(
                SortCriterion::builder()
                    .field("Id")
                    .sort_order(SortOrder::Ascending)
                    .build(),
            )
            .max_results(7)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap()
            .iter()
            .map(|f| f.id().unwrap().to_string())
            .collect();
        let mut expected: Vec<String> = (0..250).map(|n| format!("p-{n:03}")).collect();
        expected.sort();
        assert_eq!(sorted, expected);
    });
}

#[test]
fn accounts_and_regions_are_isolated() {
    run(async {
        let (a, b) = ("111111111111", "222222222222");
        let sim = common::start_with(common::config_for_accounts(&[a, b])).await;
        let client_a = enabled_client(&sim, Some(a), REGION).await;
        let client_b = enabled_client(&sim, Some(b), REGION).await;
        import_ok(
            &client_a,
            vec![finding_in(a, REGION, "secret", "i-a").build()],
        )
        .await;

        assert_eq!(all_findings(&client_b, filters().build()).await.len(), 0);
        assert_eq!(all_findings(&client_a, filters().build()).await.len(), 1);
        // B cannot update A's finding ...
        let out = client_b
            .batch_update_findings()
            .finding_identifiers(
                AwsSecurityFindingIdentifier::builder()
                    .id("secret")
                    .product_arn(product_arn(a, REGION))
                    .build(),
            )
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Suppressed)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(out.processed_findings().is_empty());
        assert_eq!(
            out.unprocessed_findings()[0].error_code(),
            Some("FindingNotFound")
        );
        // ... nor import into A's product, nor for A's account.
        let (ok, _, list) = import(
            &client_b,
            vec![
                finding_in(a, REGION, "forged", "i-a").build(),
                finding_in(b, REGION, "forged2", "i-a")
                    .aws_account_id(a)
                    .build(),
            ],
        )
        .await;
        assert_eq!(ok, 0);
        assert!(list.iter().all(|(_, c)| c == "InvalidAccess"), "{list:?}");
        assert_eq!(all_findings(&client_a, filters().build()).await.len(), 1);

        // Region: the same account in another Region has its own hub.
        let west = Client::new(&common::sdk_config(&sim, a, "eu-west-1"));
        let err = west.get_findings().send().await.unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidAccessException"));
        west.enable_security_hub().send().await.unwrap();
        assert_eq!(all_findings(&west, filters().build()).await.len(), 0);
        import_ok(
            &west,
            vec![finding_in(a, "eu-west-1", "west", "i-w").build()],
        )
        .await;
        assert_eq!(
            ids(&all_findings(&west, filters().build()).await),
            set(&["west"])
        );
        assert_eq!(
            ids(&all_findings(&client_a, filters().build()).await),
            set(&["secret"])
        );
        let f = &all_findings(&west, filters().build()).await[0];
        assert_eq!(f.region(), Some("eu-west-1"));
    });
}

#[test]
fn injected_finding_failures_are_reported_and_not_stored() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        sim.set_faults("fail_finding=0.5".parse().unwrap());
        let batch: Vec<_> = (0..100)
            .map(|i| finding(&format!("ff-{i}"), "i-1").build())
            .collect();
        let (ok, failed, list) = import(&client, batch).await;
        assert_eq!(ok + failed, 100);
        assert!(
            (20..80).contains(&failed),
            "{failed} of 100 failed at rate 0.5"
        );
        assert!(list.iter().all(|(_, c)| c == "InternalFailure"), "{list:?}");
        sim.set_faults(Default::default());

        let stored = ids(&all_findings(&client, filters().build()).await);
        let failed_ids: BTreeSet<String> = list.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(stored.len(), ok as usize);
        assert!(stored.is_disjoint(&failed_ids));
        assert_eq!(sim.stats().ingestion_events(), ok as u64);
    });
}

#[test]
fn batch_update_findings_effects_and_limits() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        import_ok(
            &client,
            vec![
                finding("u1", "i-1").updated_at(at(3)).build(),
                finding("u2", "i-2").updated_at(at(3)).build(),
            ],
        )
        .await;
        let events = sim.stats().ingestion_events();

        let out = client
            .batch_update_findings()
            .finding_identifiers(ident("u1"))
            .finding_identifiers(ident("missing"))
            .note(
                NoteUpdate::builder()
                    .text("patched in CHG-7")
                    .updated_by("bob")
                    .build(),
            )
            .severity(
                SeverityUpdate::builder()
                    .label(SeverityLabel::Critical)
                    .build(),
            )
            .verification_state(VerificationState::BenignPositive)
            .confidence(80)
            .criticality(90)
            .types("Effects/Data Exposure")
            .user_defined_fields("owner", "team-a")
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Resolved)
                    .build(),
            )
            .related_findings(
                RelatedFinding::builder()
                    .product_arn(default_product())
                    .id("u2")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(out.processed_findings().len(), 1);
        assert_eq!(out.processed_findings()[0].id(), Some("u1"));
        assert_eq!(out.unprocessed_findings().len(), 1);
        assert_eq!(
            out.unprocessed_findings()[0].error_code(),
            Some("FindingNotFound")
        );
        assert_eq!(
            out.unprocessed_findings()[0]
                .finding_identifier()
                .unwrap()
                .id(),
            Some("missing")
        );

        let f = get_one(&client, "u1").await;
        assert_eq!(
            f.updated_at(),
            Some(at(3).as_str()),
            "UpdatedAt must not change"
        );
        assert_eq!(f.note().and_then(|n| n.text()), Some("patched in CHG-7"));
        assert_eq!(f.note().and_then(|n| n.updated_by()), Some("bob"));
        assert!(f.note().and_then(|n| n.updated_at()).is_some());
        let sev = f.severity().unwrap();
        assert_eq!(sev.label(), Some(&SeverityLabel::Critical));
        assert_eq!(sev.normalized(), Some(90));
        assert_eq!(
            f.verification_state(),
            Some(&VerificationState::BenignPositive)
        );
        assert_eq!((f.confidence(), f.criticality()), (Some(80), Some(90)));
        assert_eq!(f.types(), &["Effects/Data Exposure".to_string()]);
        assert_eq!(
            f.user_defined_fields()
                .and_then(|u| u.get("owner"))
                .map(String::as_str),
            Some("team-a")
        );
        assert_eq!(workflow_of(&f), WorkflowStatus::Resolved);
        assert_eq!(f.related_findings()[0].id(), Some("u2"));
        // The provider's view is kept apart.
        let fpf = f.finding_provider_fields().unwrap();
        assert_eq!(
            fpf.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::High)
        );
        // Not an ingestion event; the indexes follow.
        assert_eq!(sim.stats().ingestion_events(), events);
        assert_eq!(
            ids(&all_findings(&client, filters().workflow_status(eq("RESOLVED")).build()).await),
            set(&["u1"])
        );
        assert_eq!(
            ids(&all_findings(&client, filters().workflow_status(eq("NEW")).build()).await),
            set(&["u2"])
        );
        // A later provider update keeps the customer's severity and types.
        import_ok(
            &client,
            vec![finding("u1", "i-1").updated_at(at(4)).build()],
        )
        .await;
        let f = get_one(&client, "u1").await;
        assert_eq!(
            f.severity().unwrap().label(),
            Some(&SeverityLabel::Critical)
        );
        assert_eq!(f.types(), &["Effects/Data Exposure".to_string()]);
        assert_eq!(workflow_of(&f), WorkflowStatus::Resolved);

        // Duplicates are refused per identifier.
        let out = client
            .batch_update_findings()
            .finding_identifiers(ident("u2"))
            .finding_identifiers(ident("u2"))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Notified)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(out.processed_findings().is_empty());
        assert!(
            out.unprocessed_findings()
                .iter()
                .all(|u| u.error_code() == Some("DuplicatedFindingIdentifier"))
        );

        // Limits and invalid values fail the whole call.
        let err = client
            .batch_update_findings()
            .set_finding_identifiers(Some(vec![]))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Notified)
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidInputException"));
        let err = client
            .batch_update_findings()
            .set_finding_identifiers(Some((0..101).map(|i| ident(&format!("x{i}"))).collect()))
            .workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::Notified)
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err).as_deref(), Some("InvalidInputException"));
        for bad in [
            client
                .batch_update_findings()
                .finding_identifiers(ident("u2"))
                .workflow(
                    WorkflowUpdate::builder()
                        .status(WorkflowStatus::from("DONE"))
                        .build(),
                ),
            client
                .batch_update_findings()
                .finding_identifiers(ident("u2"))
                .confidence(101),
            client
                .batch_update_findings()
                .finding_identifiers(ident("u2"))
                .types("Not A Namespace/x"),
        ] {
            let err = bad.send().await.unwrap_err();
            assert_eq!(code(&err).as_deref(), Some("InvalidInputException"));
        }
        assert_eq!(
            workflow_of(&get_one(&client, "u2").await),
            WorkflowStatus::New
        );
    });
}

#[test]
fn resource_id_query_over_20000_findings_uses_the_index_correctly() {
    run(async {
        let sim = common::start().await;
        let client = enabled_client(&sim, None, REGION).await;
        // 20,000 findings over 2,000 instances; every instance has 10 findings, half archived.
        let mut tasks = Vec::new();
        for w in 0..4 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                for call in (w..200).step_by(4) {
                    let batch: Vec<_> = (0..100)
                        .map(|i| {
                            let n = call * 100 + i;
                            finding(&format!("n-{n:05}"), &format!("i-{:05}", n % 2000))
                                .record_state(if (n / 2000) % 2 == 0 {
                                    RecordState::Active
                                } else {
                                    RecordState::Archived
                                })
                                .build()
                        })
                        .collect();
                    import_ok(&client, batch).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(sim.stats().ingestion_events(), 20_000);

        let hits = all_findings(&client, filters().resource_id(eq("i-00042")).build()).await;
        let expected: BTreeSet<String> =
            (0..10).map(|k| format!("n-{:05}", 42 + 2000 * k)).collect();
        assert_eq!(ids(&hits), expected);
        assert!(
            hits.iter()
                .all(|f| f.resources()[0].id() == Some("i-00042"))
        );

        let active = all_findings(
            &client,
            filters()
                .resource_id(eq("i-01999"))
                .record_state(eq("ACTIVE"))
                .build(),
        )
        .await;
        let expected: BTreeSet<String> = (0..10)
            .filter(|k| k % 2 == 0)
            .map(|k| format!("n-{:05}", 1999 + 2000 * k))
            .collect();
        assert_eq!(ids(&active), expected);

        // An update that moves a finding to another instance moves it in the index.
        import_ok(
            &client,
            vec![finding("n-00042", "i-99999").updated_at(at(1)).build()],
        )
        .await;
        assert_eq!(
            all_findings(&client, filters().resource_id(eq("i-00042")).build())
                .await
                .len(),
            9
        );
        assert_eq!(
            ids(&all_findings(&client, filters().resource_id(eq("i-99999")).build()).await),
            set(&["n-00042"])
        );
    });
}
