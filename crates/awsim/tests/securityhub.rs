//! Security Hub through the real SDK: enabling the hub, importing findings with AWS's limits and
//! validation, the update rules, GetFindings filters, sorting and paging, BatchUpdateFindings,
//! account and Region isolation, injected per-finding failures, and the indexed query path.

mod common;

use std::collections::{BTreeSet, HashSet};

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::operation::get_findings::GetFindingsOutput;
use aws_sdk_securityhub::types::builders::{
    AwsSecurityFindingBuilder, AwsSecurityFindingFiltersBuilder,
};
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, Compliance,
    ComplianceStatus, DateFilter, DateRange, DateRangeUnit, MapFilter, MapFilterComparison, Note,
    NoteUpdate, NumberFilter, RecordState, RelatedFinding, Resource, ResourceDetails, Severity,
    SeverityLabel, SeverityUpdate, SortCriterion, SortOrder, StringFilter, StringFilterComparison,
    VerificationState, Workflow, WorkflowStatus,
};
use common::hub::finding as finding_in;
use common::hub::{
    all_pages, at, batch_import, findings, findings_matching, identifier, ids, import, import_ok,
    product_arn, seen, set, set_workflow, workflow, workflow_of,
};
use common::{DEFAULT_ACCOUNT as ACCOUNT, refused, run};

const REGION: &str = "us-east-1";
/// What a call refused as a whole for bad input answers.
const INVALID: &str = "InvalidInputException";

fn default_product() -> String {
    product_arn(ACCOUNT, REGION)
}

/// A valid finding of the default account, `Id = id`, on instance `resource`.
fn finding(id: &str, resource: &str) -> AwsSecurityFindingBuilder {
    finding_in(ACCOUNT, REGION, id, resource)
}

/// `n` valid findings `PREFIX-0`, `PREFIX-1`, … on one instance.
fn numbered(prefix: &str, n: usize) -> Vec<AwsSecurityFinding> {
    (0..n)
        .map(|i| finding(&format!("{prefix}-{i}"), "i-1").build())
        .collect()
}

/// A client of `account` in `region` with Security Hub enabled.
async fn enabled_client(sim: &awsim::Awsim, account: &str, region: &str) -> Client {
    let client: Client = common::client(sim, account, region).await;
    client.enable_security_hub().send().await.unwrap();
    client
}

/// awsim, and a client of the default account with Security Hub enabled.
async fn enabled() -> (awsim::Awsim, Client) {
    let sim = common::start_empty().await;
    let client = enabled_client(&sim, ACCOUNT, REGION).await;
    (sim, client)
}

/// The ids of the findings `client` reads that match `filters`.
async fn matching(client: &Client, filters: AwsSecurityFindingFiltersBuilder) -> BTreeSet<String> {
    ids(&findings_matching(client, Some(filters.build())).await)
}

async fn get_one(client: &Client, id: &str) -> AwsSecurityFinding {
    let mut found = findings_matching(client, Some(filters().id(eq(id)).build())).await;
    assert_eq!(found.len(), 1, "finding {id}");
    found.remove(0)
}

fn filters() -> AwsSecurityFindingFiltersBuilder {
    AwsSecurityFindingFilters::builder()
}

fn sf(value: &str, cmp: StringFilterComparison) -> StringFilter {
    StringFilter::builder().value(value).comparison(cmp).build()
}

fn eq(value: &str) -> StringFilter {
    sf(value, StringFilterComparison::Equals)
}

fn ident(id: &str) -> AwsSecurityFindingIdentifier {
    identifier(ACCOUNT, REGION, id)
}

/// Without a hub, reading is refused and there is nothing to disable.
async fn assert_no_hub(client: &Client) {
    let access = "InvalidAccessException";
    assert_eq!(refused(client.describe_hub().send().await), access);
    assert_eq!(refused(client.get_findings().send().await), access);
    assert_eq!(
        refused(client.disable_security_hub().send().await),
        "ResourceNotFoundException"
    );
}

#[test]
fn enable_describe_disable_and_their_errors() {
    run(async {
        let sim = common::start_empty().await;
        let client: Client = common::client(&sim, ACCOUNT, REGION).await;
        let arn = "arn:aws:securityhub:us-east-1:123456789012:hub/default";
        assert_no_hub(&client).await;

        client
            .enable_security_hub()
            .enable_default_standards(false)
            .tags("team", "security")
            .send()
            .await
            .unwrap();
        let hub = client.describe_hub().send().await.unwrap();
        assert_eq!(hub.hub_arn(), Some(arn));
        let subscribed = hub.subscribed_at().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(subscribed).is_ok(),
            "{subscribed}"
        );
        assert_eq!(hub.auto_enable_controls(), Some(true));
        // Asking for our own hub by ARN works.
        client.describe_hub().hub_arn(arn).send().await.unwrap();
        assert_eq!(
            refused(client.enable_security_hub().send().await),
            "ResourceConflictException"
        );

        client.disable_security_hub().send().await.unwrap();
        assert_no_hub(&client).await;
        // Enabling again works.
        client.enable_security_hub().send().await.unwrap();
    });
}

#[test]
fn batch_sizes_one_and_hundred_pass_zero_and_hundred_one_fail() {
    run(async {
        let (_sim, client) = enabled().await;
        import_ok(&client, vec![finding("one", "i-1").build()]).await;
        import_ok(&client, numbered("h", 100)).await;
        assert_eq!(seen(&client).await.len(), 101);

        assert_eq!(refused(batch_import(&client, vec![]).send().await), INVALID);
        let too_many = batch_import(&client, numbered("x", 101));
        assert_eq!(refused(too_many.send().await), INVALID);
        // Nothing of the refused calls was stored.
        assert_eq!(seen(&client).await.len(), 101);
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
        let (_sim, client) = enabled().await;
        let batch = vec![
            padded("big", 250),
            padded("fits", 200),
            finding("small", "i-1").build(),
        ];
        let (ok, failed, list) = import(&client, batch).await;
        assert_eq!((ok, failed), (2, 1));
        assert_eq!(list, vec![("big".to_string(), "InvalidInput".to_string())]);
        assert_eq!(seen(&client).await, set(&["fits", "small"]));

        // 30 findings of ~230 KB: each is allowed, the 6.9 MB call is not.
        let heavy = (0..30)
            .map(|i| padded(&format!("heavy-{i}"), 230))
            .collect();
        assert_eq!(refused(batch_import(&client, heavy).send().await), INVALID);
    });
}

/// A change to a valid finding.
type Change = fn(AwsSecurityFindingBuilder) -> AwsSecurityFindingBuilder;

fn compliance(status: ComplianceStatus) -> Compliance {
    Compliance::builder().status(status).build()
}

#[test]
fn each_schema_violation_fails_only_its_finding() {
    run(async {
        let (_sim, client) = enabled().await;
        let input = "InvalidInput";
        let case = |id: &str, change: Change, expected: &'static str| {
            (id.to_string(), change(finding(id, "i-1")).build(), expected)
        };
        let cases = vec![
            case("schema", |f| f.schema_version("2020-01-01"), input),
            case(&"x".repeat(513), |f| f, input),
            case("no-generator", |f| f.set_generator_id(None), input),
            case("long-generator", |f| f.generator_id("g".repeat(513)), input),
            case("short-account", |f| f.aws_account_id("12345"), input),
            case("bad-created", |f| f.created_at("yesterday"), input),
            case("no-updated", |f| f.set_updated_at(None), input),
            case("long-title", |f| f.title("t".repeat(257)), input),
            case("no-description", |f| f.set_description(None), input),
            case(
                "long-description",
                |f| f.description("d".repeat(1025)),
                input,
            ),
            case("no-resources", |f| f.set_resources(None), input),
            case(
                "resource-no-id",
                |f| {
                    f.set_resources(Some(vec![
                        Resource::builder().r#type("AwsEc2Instance").build(),
                    ]))
                },
                input,
            ),
            case(
                "too-many-resources",
                |f| {
                    (0..33).fold(f.set_resources(None), |f, i| {
                        f.resources(
                            Resource::builder()
                                .r#type("Other")
                                .id(format!("r{i}"))
                                .build(),
                        )
                    })
                },
                input,
            ),
            case(
                "bad-label",
                |f| f.severity(Severity::builder().label("SEVERE".into()).build()),
                input,
            ),
            case(
                "normalized-101",
                |f| f.severity(Severity::builder().normalized(101).build()),
                input,
            ),
            case("no-severity", |f| f.set_severity(None), input),
            case(
                "bad-type",
                // The service's pattern, not the documented namespaces (prowler issue #2519):
                // "PATCH" lands (see tests/realism.rs); four parts do not.
                |f| f.set_types(Some(vec!["PATCH/a/b/c".into()])),
                input,
            ),
            case(
                "bad-namespace",
                |f| f.set_types(Some(vec!["Patches//Missing".into()])),
                input,
            ),
            case(
                "types-51",
                |f| (0..51).fold(f, |f, i| f.types(format!("TTPs/Discovery/t{i}"))),
                input,
            ),
            case(
                "pf-51",
                |f| (0..51).fold(f, |f, i| f.product_fields(format!("k{i}"), "v")),
                input,
            ),
            case(
                "pf-long-key",
                |f| f.product_fields("k".repeat(129), "v"),
                input,
            ),
            case(
                "pf-long-value",
                |f| f.product_fields("k", "v".repeat(2049)),
                input,
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
        assert_eq!(seen(&client).await, set(&["valid"]));
    });
}

/// Source: AWS Support, quoted in prowler issue #867: a finding whose `AwsAccountId` is not the
/// caller's makes `BatchImportFindings` answer `AccessDeniedException` for the whole call
/// ("User: … is not authorized to perform: securityhub:BatchImportFindings on resource: …");
/// prowler issues #711 and #872 show the same answer for a product ARN the caller may not
/// import to. Nothing in the call lands, the valid findings with it included.
#[test]
fn a_foreign_finding_refuses_the_whole_call() {
    run(async {
        let (sim, client) = enabled().await;
        let foreign: Vec<(&str, Change)> = vec![
            ("other-account", |f| f.aws_account_id("210987654321")),
            ("other-product", |f| {
                f.product_arn(product_arn("210987654321", REGION))
            }),
            ("other-region-product", |f| {
                f.product_arn(product_arn(ACCOUNT, "eu-west-1"))
            }),
            ("partner-product", |f| {
                f.product_arn("arn:aws:securityhub:us-east-1::product/prowler/prowler")
            }),
        ];
        for (id, change) in foreign {
            let batch = vec![
                finding("valid-1", "i-1").build(),
                change(finding(id, "i-2")).build(),
                finding("valid-2", "i-3").build(),
            ];
            let err = batch_import(&client, batch)
                .send()
                .await
                .expect_err("the whole call is refused");
            assert_eq!(common::code(&err), "AccessDeniedException", "{id}");
            assert_eq!(
                err.raw_response().map(|r| r.status().as_u16()),
                Some(403),
                "{id}"
            );
            assert!(
                common::message(&err).contains("securityhub:BatchImportFindings"),
                "{id}: {}",
                common::message(&err)
            );
        }
        assert!(seen(&client).await.is_empty(), "nothing landed");
        assert_eq!(sim.stats().ingestion_events(), 0);
    });
}

#[test]
fn findings_fail_with_invalid_access_when_the_hub_is_not_enabled() {
    run(async {
        let sim = common::start_empty().await;
        let client: Client = common::client(&sim, ACCOUNT, REGION).await;
        let batch = vec![finding("a", "i-1").build(), finding("b", "i-2").build()];
        let (ok, failed, list) = import(&client, batch).await;
        assert_eq!((ok, failed), (0, 2));
        assert!(list.iter().all(|(_, c)| c == "InvalidAccess"), "{list:?}");
        assert_eq!(sim.stats().ingestion_events(), 0);
    });
}

#[test]
fn stale_updates_are_ignored_and_not_billed() {
    run(async {
        let (sim, client) = enabled().await;
        import_ok(
            &client,
            vec![finding("f", "i-1").updated_at(at(10)).build()],
        )
        .await;
        assert_eq!(sim.stats().ingestion_events(), 1);

        // Same UpdatedAt and an earlier one: success, but nothing changes and nothing is billed.
        // A later one is an update and an ingestion event.
        let unchanged = "Missing patches on i-1";
        for (minute, events, title, updated) in [
            (10, 1, unchanged, 10),
            (5, 1, unchanged, 10),
            (11, 2, "changed", 11),
        ] {
            let update = finding("f", "i-1").updated_at(at(minute)).title("changed");
            import_ok(&client, vec![update.build()]).await;
            assert_eq!(sim.stats().ingestion_events(), events, "UpdatedAt {minute}");
            let f = get_one(&client, "f").await;
            assert_eq!(f.title(), Some(title), "UpdatedAt {minute}");
            assert_eq!(f.updated_at(), Some(at(updated).as_str()));
        }
        let snap = sim.stats();
        let row = snap
            .ingestion
            .iter()
            .find(|r| r.account == ACCOUNT && r.region == REGION)
            .unwrap();
        assert_eq!((row.counts.creates, row.counts.updates), (1, 1));
        let f = get_one(&client, "f").await;
        // Security Hub's own stamps.
        assert_eq!(f.region(), Some(REGION));
        assert_eq!(f.product_name(), Some("Default"));
        assert_eq!(f.company_name(), Some("Personal"));
        assert!(f.processed_at().is_some());
        assert_eq!(f.record_state(), Some(&RecordState::Active));
        assert_eq!(workflow_of(&f), Some(WorkflowStatus::New));
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

#[test]
fn provider_cannot_change_workflow_note_or_verification_on_update() {
    run(async {
        let (_sim, client) = enabled().await;
        import_ok(&client, vec![finding("f", "i-1").build()]).await;
        client
            .batch_update_findings()
            .finding_identifiers(ident("f"))
            .workflow(workflow(WorkflowStatus::Notified))
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
        assert_eq!(workflow_of(&f), Some(WorkflowStatus::Notified));
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
        use WorkflowStatus::{New, Notified, Resolved, Suppressed};
        let (_sim, client) = enabled().await;
        let pass: Change = |f| f.compliance(compliance(ComplianceStatus::Passed));
        let fail: Change = |f| f.compliance(compliance(ComplianceStatus::Failed));
        let archive: Change = |f| f.record_state(RecordState::Archived);
        let reopen: Change = |f| f.record_state(RecordState::Active);
        let same: Change = |f| f;
        // The provider's import at `minute` of the changed findings.
        let provider = |minute, changes: Vec<(&str, Change)>| {
            let changed = changes.into_iter().map(|(id, change)| {
                change(finding(id, &format!("i-{id}")).updated_at(at(minute))).build()
            });
            changed.collect::<Vec<_>>()
        };
        // Each finding's story: imported with a change, its workflow set, changed by the
        // provider when the issue is back, after which its workflow is the last one.
        let stories = [
            ("archived", same, Resolved, reopen, New),
            ("passed", pass, Notified, fail, New),
            ("suppressed", same, Suppressed, reopen, Suppressed),
            ("still-passed", pass, Resolved, pass, Resolved),
        ];
        let first = stories.iter().map(|s| (s.0, s.1)).collect();
        import_ok(&client, provider(0, first)).await;
        for (id, _, status, ..) in &stories {
            let set = set_workflow(&client, ident(id), status.clone()).await;
            assert_eq!(set, (1, vec![]), "{id}");
        }

        // Provider archives (workflow untouched) ...
        let archiving = [
            ("archived", archive),
            ("suppressed", archive),
            ("still-passed", pass),
        ];
        import_ok(&client, provider(1, archiving.to_vec())).await;
        assert_eq!(
            workflow_of(&get_one(&client, "archived").await),
            Some(Resolved)
        );
        // ... then the issue is back.
        let back = stories.iter().map(|s| (s.0, s.3)).collect();
        import_ok(&client, provider(2, back)).await;
        for (id, .., expected) in &stories {
            let f = get_one(&client, id).await;
            assert_eq!(workflow_of(&f), Some(expected.clone()), "{id}");
        }
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

/// awsim, and a client of the default account holding the [`filter_fixture`].
async fn with_fixture() -> (awsim::Awsim, Client) {
    let (sim, client) = enabled().await;
    filter_fixture(&client).await;
    (sim, client)
}

#[test]
fn get_findings_string_map_date_and_number_filters() {
    run(async {
        use StringFilterComparison as C;
        let (_sim, client) = with_fixture().await;
        let pf = |key: &str, v: &str, c: MapFilterComparison| {
            MapFilter::builder().key(key).value(v).comparison(c).build()
        };
        let baseline = |v: &str, c| pf("patchhub/Baseline", v, c);
        let range = |days| {
            let range = DateRange::builder().value(days).unit(DateRangeUnit::Days);
            DateFilter::builder().date_range(range.build()).build()
        };
        let number = NumberFilter::builder;
        let f3 = format!("{}/f3", default_product());
        let cases: Vec<(AwsSecurityFindingFiltersBuilder, Vec<u32>)> = vec![
            (filters().generator_id(eq("gen/a")), vec![0, 1, 2, 3, 4]),
            // Same field: EQUALS values ORed.
            (
                filters().resource_id(eq("i-001")).resource_id(eq("i-007")),
                vec![1, 7],
            ),
            (
                filters().title(sf("Title beta", C::Prefix)),
                vec![1, 3, 5, 7, 9],
            ),
            (
                filters().title(sf("alpha", C::Contains)),
                vec![0, 2, 4, 6, 8],
            ),
            (
                filters().title(sf("alpha", C::NotContains)),
                vec![1, 3, 5, 7, 9],
            ),
            // NOT_ forms ANDed.
            (
                filters()
                    .generator_id(sf("gen/a", C::NotEquals))
                    .id(sf("f5", C::NotEquals))
                    .id(sf("f6", C::NotEquals)),
                vec![7, 8, 9],
            ),
            // PREFIX first, then PREFIX_NOT_EQUALS.
            (
                filters()
                    .resource_id(sf("i-00", C::Prefix))
                    .resource_id(sf("i-00", C::PrefixNotEquals)),
                vec![],
            ),
            (filters().resource_id(sf("i-", C::PrefixNotEquals)), vec![]),
            // A multi-resource finding matches a positive filter on either resource.
            (filters().resource_type(eq("AwsAccount")), vec![9]),
            // Different fields ANDed.
            (
                filters()
                    .generator_id(eq("gen/b"))
                    .severity_label(eq("HIGH"))
                    .record_state(eq("ACTIVE")),
                vec![5],
            ),
            // Map filter on ProductFields.
            (
                filters().product_fields(baseline("pb-1", MapFilterComparison::Equals)),
                vec![1, 4, 7],
            ),
            (
                filters()
                    .product_fields(baseline("pb-1", MapFilterComparison::NotEquals))
                    .product_fields(baseline("pb-2", MapFilterComparison::NotEquals)),
                vec![0, 3, 6, 9],
            ),
            // Security Hub's own ProductFields are filterable too.
            (
                filters().product_fields(pf(
                    "aws/securityhub/FindingId",
                    &f3,
                    MapFilterComparison::Equals,
                )),
                vec![3],
            ),
            // Dates: inclusive Start/End on UpdatedAt (f_i was updated at minute 10*i).
            (
                filters().updated_at(DateFilter::builder().start(at(20)).end(at(40)).build()),
                vec![2, 3, 4],
            ),
            // DateRange: the fixture is from 2024, so nothing is within the last 7 days; 100
            // years is all.
            (filters().updated_at(range(7)), vec![]),
            (filters().created_at(range(36_500)), (0..10).collect()),
            // Number filters (f_i has Criticality 10*i), ORed within the attribute.
            (
                filters()
                    .criticality(number().gte(40.0).lt(70.0).build())
                    .criticality(number().eq(90.0).build()),
                vec![4, 5, 6, 9],
            ),
        ];
        for (f, expected) in cases {
            let f = f.build();
            let got = ids(&findings_matching(&client, Some(f.clone())).await);
            assert_eq!(got, expect(&expected), "{f:?}");
        }
    });
}

/// The code a `GetFindings` with `filters` is refused with.
async fn refuse(client: &Client, filters: AwsSecurityFindingFiltersBuilder) -> String {
    refused(client.get_findings().filters(filters.build()).send().await)
}

#[test]
fn get_findings_refuses_bad_filters_and_page_sizes() {
    run(async {
        use StringFilterComparison as C;
        let (_sim, client) = with_fixture().await;

        // 10 attributes are fine, 11 are not.
        let ten = || {
            filters()
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
        };
        assert_eq!(matching(&client, ten()).await, expect(&[1]));
        let eleven = ten().workflow_status(eq("NEW"));
        assert_eq!(refuse(&client, eleven).await, INVALID);
        // 21 values for one attribute.
        let many = (0..21).fold(filters(), |f, i| f.id(eq(&format!("f{i}"))));
        assert_eq!(refuse(&client, many).await, INVALID);
        // Forbidden combinations.
        for (a, b) in [
            (C::Contains, C::NotContains),
            (C::Equals, C::NotEquals),
            (C::Contains, C::Prefix),
        ] {
            let both = filters()
                .title(sf("a", a.clone()))
                .title(sf("b", b.clone()));
            assert_eq!(refuse(&client, both).await, INVALID, "{a:?} with {b:?}");
        }

        for bad in [0, 101] {
            let call = client.get_findings().max_results(bad);
            assert_eq!(refused(call.send().await), INVALID, "MaxResults {bad}");
        }
        let call = client.get_findings().next_token("garbage");
        assert_eq!(refused(call.send().await), INVALID);
    });
}

fn sort(field: &str, order: SortOrder) -> SortCriterion {
    SortCriterion::builder()
        .field(field)
        .sort_order(order)
        .build()
}

fn first_ids(out: &GetFindingsOutput) -> Vec<&str> {
    out.findings().iter().map(|f| f.id().unwrap()).collect()
}

#[test]
fn get_findings_sorts() {
    run(async {
        let (_sim, client) = with_fixture().await;
        let order = |ids: &str| ids.chars().map(|i| format!("f{i}")).collect::<Vec<_>>();
        // Ties broken by Id: LOW = 0,3,6,9; MEDIUM = 1,4,7; HIGH = 2,5,8.
        for (field, direction, expected) in [
            ("UpdatedAt", SortOrder::Ascending, "0123456789"),
            ("UpdatedAt", SortOrder::Descending, "9876543210"),
            ("SeverityNormalized", SortOrder::Descending, "2581470369"),
            ("Title", SortOrder::Ascending, "0246813579"),
        ] {
            let criterion = sort(field, direction.clone());
            let out = client.get_findings().sort_criteria(criterion).send().await;
            let out = out.unwrap();
            assert_eq!(first_ids(&out), order(expected), "{field} {direction:?}");
        }
        // Default: most recently updated first.
        let out = client.get_findings().send().await.unwrap();
        assert_eq!(out.findings()[0].id(), Some("f9"));
        // Several criteria apply in order.
        let out = client
            .get_findings()
            .sort_criteria(sort("GeneratorId", SortOrder::Descending))
            .sort_criteria(sort("CreatedAt", SortOrder::Ascending))
            .sort_criteria(sort("Id", SortOrder::Descending))
            .max_results(3)
            .send()
            .await
            .unwrap();
        assert_eq!(first_ids(&out), vec!["f9", "f8", "f7"]);
    });
}

#[test]
fn paging_through_250_findings_returns_each_once() {
    run(async {
        let (_sim, client) = enabled().await;
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
        let call = client
            .get_findings()
            .sort_criteria(sort("Id", SortOrder::Ascending))
            .max_results(7);
        let sorted: Vec<String> = all_pages(call)
            .await
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
        let sim = common::start_accounts(&[a, b]).await;
        let client_a = enabled_client(&sim, a, REGION).await;
        let client_b = enabled_client(&sim, b, REGION).await;
        let secret = finding_in(a, REGION, "secret", "i-a").build();
        import_ok(&client_a, vec![secret]).await;

        assert_eq!(seen(&client_b).await.len(), 0);
        assert_eq!(seen(&client_a).await.len(), 1);
        // B cannot update A's finding ...
        let a_secret = identifier(a, REGION, "secret");
        assert_eq!(
            set_workflow(&client_b, a_secret, WorkflowStatus::Suppressed).await,
            (0, vec!["FindingNotFound".to_string()])
        );
        // ... nor import into A's product, nor for A's account.
        let forged = vec![
            finding_in(a, REGION, "forged", "i-a").build(),
            finding_in(b, REGION, "forged2", "i-a")
                .aws_account_id(a)
                .build(),
        ];
        for f in forged {
            let refused_call = batch_import(&client_b, vec![f]).send().await;
            assert_eq!(common::refused(refused_call), "AccessDeniedException");
        }
        assert_eq!(seen(&client_a).await.len(), 1);

        // Region: the same account in another Region has its own hub.
        let west: Client = common::client(&sim, a, "eu-west-1").await;
        assert_eq!(
            refused(west.get_findings().send().await),
            "InvalidAccessException"
        );
        west.enable_security_hub().send().await.unwrap();
        assert_eq!(seen(&west).await.len(), 0);
        let in_west = finding_in(a, "eu-west-1", "west", "i-w").build();
        import_ok(&west, vec![in_west]).await;
        assert_eq!(seen(&west).await, set(&["west"]));
        assert_eq!(seen(&client_a).await, set(&["secret"]));
        let f = &findings(&west).await[0];
        assert_eq!(f.region(), Some("eu-west-1"));
    });
}

#[test]
fn injected_finding_failures_are_reported_and_not_stored() {
    run(async {
        let (sim, client) = enabled().await;
        sim.set_faults("fail_finding=0.5".parse().unwrap());
        let (ok, failed, list) = import(&client, numbered("ff", 100)).await;
        assert_eq!(ok + failed, 100);
        assert!(
            (20..80).contains(&failed),
            "{failed} of 100 failed at rate 0.5"
        );
        assert!(list.iter().all(|(_, c)| c == "InternalFailure"), "{list:?}");
        sim.set_faults(Default::default());

        let stored = seen(&client).await;
        let failed_ids: BTreeSet<String> = list.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(stored.len(), ok as usize);
        assert!(stored.is_disjoint(&failed_ids));
        assert_eq!(sim.stats().ingestion_events(), ok as u64);
    });
}

#[test]
fn batch_update_findings_effects_and_limits() {
    run(async {
        let (sim, client) = enabled().await;
        import_ok(
            &client,
            vec![
                finding("u1", "i-1").updated_at(at(3)).build(),
                finding("u2", "i-2").updated_at(at(3)).build(),
            ],
        )
        .await;
        let events = sim.stats().ingestion_events();
        let update = || client.batch_update_findings();

        let out = update()
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
            .workflow(workflow(WorkflowStatus::Resolved))
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
        let unprocessed = &out.unprocessed_findings()[0];
        assert_eq!(unprocessed.error_code(), Some("FindingNotFound"));
        assert_eq!(
            unprocessed.finding_identifier().unwrap().id(),
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
        assert_eq!(workflow_of(&f), Some(WorkflowStatus::Resolved));
        assert_eq!(f.related_findings()[0].id(), Some("u2"));
        // The provider's view is kept apart.
        let fpf = f.finding_provider_fields().unwrap();
        assert_eq!(
            fpf.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::High)
        );
        // Not an ingestion event; the indexes follow.
        assert_eq!(sim.stats().ingestion_events(), events);
        let status = |s: &str| filters().workflow_status(eq(s));
        assert_eq!(matching(&client, status("RESOLVED")).await, set(&["u1"]));
        assert_eq!(matching(&client, status("NEW")).await, set(&["u2"]));
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
        assert_eq!(workflow_of(&f), Some(WorkflowStatus::Resolved));

        // Duplicates are refused per identifier.
        let notified = workflow(WorkflowStatus::Notified);
        let out = update()
            .finding_identifiers(ident("u2"))
            .finding_identifiers(ident("u2"))
            .workflow(notified.clone())
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
        let hundred_one = (0..101).map(|i| ident(&format!("x{i}"))).collect();
        let u2 = || update().finding_identifiers(ident("u2"));
        for bad in [
            update()
                .set_finding_identifiers(Some(vec![]))
                .workflow(notified.clone()),
            update()
                .set_finding_identifiers(Some(hundred_one))
                .workflow(notified),
            u2().workflow(workflow(WorkflowStatus::from("DONE"))),
            u2().confidence(101),
            u2().types("Not A Namespace/x"),
        ] {
            assert_eq!(refused(bad.send().await), INVALID);
        }
        assert_eq!(
            workflow_of(&get_one(&client, "u2").await),
            Some(WorkflowStatus::New)
        );
    });
}

#[test]
fn resource_id_query_over_20000_findings_uses_the_index_correctly() {
    run(async {
        let (sim, client) = enabled().await;
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

        let on = |resource: &str| filters().resource_id(eq(resource));
        let hits = findings_matching(&client, Some(on("i-00042").build())).await;
        let expected: BTreeSet<String> =
            (0..10).map(|k| format!("n-{:05}", 42 + 2000 * k)).collect();
        assert_eq!(ids(&hits), expected);
        assert!(
            hits.iter()
                .all(|f| f.resources()[0].id() == Some("i-00042"))
        );

        let active = matching(&client, on("i-01999").record_state(eq("ACTIVE"))).await;
        let expected: BTreeSet<String> = (0..10)
            .filter(|k| k % 2 == 0)
            .map(|k| format!("n-{:05}", 1999 + 2000 * k))
            .collect();
        assert_eq!(active, expected);

        // An update that moves a finding to another instance moves it in the index.
        let moved = finding("n-00042", "i-99999").updated_at(at(1)).build();
        import_ok(&client, vec![moved]).await;
        assert_eq!(matching(&client, on("i-00042")).await.len(), 9);
        assert_eq!(matching(&client, on("i-99999")).await, set(&["n-00042"]));
    });
}
