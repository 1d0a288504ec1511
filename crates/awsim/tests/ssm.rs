//! SSM through the real SDK: node inventory, patch states and patches, compliance items and
//! summaries, custom compliance, account and Region isolation, validation errors.

mod common;

use std::collections::BTreeMap;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{
    ComplianceExecutionSummary, ComplianceItemEntry, ComplianceQueryOperatorType,
    ComplianceSeverity, ComplianceStatus, ComplianceStringFilter, InstanceInformationFilter,
    InstanceInformationFilterKey, InstanceInformationStringFilter, PatchOrchestratorFilter,
    ResourceType,
};
use aws_smithy_types::DateTime as SdkTime;
use awsim::Awsim;
use awsim::fleet::{AccountSpec, Fleet, InstanceSpec, PatchSpec};
use chrono::{DateTime, TimeZone, Utc};

const A: &str = "111111111111";
const B: &str = "222222222222";
const WIN: &str = "i-0aaaaaaaaaaaaaaa1";
const LINUX: &str = "i-0bbbbbbbbbbbbbbb2";
const HYBRID: &str = "mi-0ccccccccccccccc3";
const OFFLINE: &str = "i-0ddddddddddddddd4";
const B_NODE: &str = "i-0eeeeeeeeeeeeeee5";
const EU_NODE: &str = "i-0fffffffffffffff6";
const UNKNOWN: &str = "i-0123456789abcdef0";
const EXEC: &str = "11111111-1111-4111-8111-111111111111";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn patch(id: &str, state: &str, class: &str, sev: &str, csev: &str, cves: &[&str]) -> PatchSpec {
    let installed = state.starts_with("INSTALLED");
    PatchSpec {
        id: id.into(),
        title: format!("Title of {id}"),
        classification: class.into(),
        severity: sev.into(),
        compliance_severity: csev.into(),
        state: state.into(),
        cve_ids: cves.iter().map(|c| c.to_string()).collect(),
        installed_time: installed.then(|| t("2023-11-01T10:00:00Z")),
    }
}

fn node(id: &str, region: &str, platform: &str, patches: Vec<PatchSpec>) -> InstanceSpec {
    assert!(awsim::fleet::valid_instance_id(id), "{id}");
    InstanceSpec {
        id: id.into(),
        region: region.into(),
        platform_type: platform.into(),
        platform_name: if platform == "Windows" {
            "Microsoft Windows Server 2022 Datacenter".into()
        } else {
            "Amazon Linux".into()
        },
        platform_version: if platform == "Windows" {
            "10.0.20348".into()
        } else {
            "2023".into()
        },
        tags: BTreeMap::from([("Name".to_string(), format!("name-{id}"))]),
        ping_status: "Online".into(),
        patch_group: None,
        baseline_id: "pb-0123456789abcdef0".into(),
        operation: Some("Scan".into()),
        reboot_option: "RebootIfNeeded".into(),
        operation_start_time: Some(t("2026-11-28T02:00:00Z")),
        operation_end_time: Some(t("2026-11-28T02:03:10Z")),
        execution_id: Some(EXEC.into()),
        available_security_updates_compliant: true,
        patches,
    }
}

fn account(id: &str, instances: Vec<InstanceSpec>) -> AccountSpec {
    AccountSpec {
        id: id.into(),
        name: format!("acct-{id}"),
        email: format!("{id}@example.com"),
        status: "ACTIVE".into(),
        parent: None,
        roles: vec![],
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        disabled_regions: vec![],
        instances,
    }
}

/// The Windows node: one patch in every state; 5 non-compliant (the baseline counts available
/// security updates as non-compliant), 2 compliant, 1 not applicable.
fn windows_node() -> InstanceSpec {
    let mut n = node(
        WIN,
        "us-east-1",
        "Windows",
        vec![
            patch(
                "KB5000001",
                "INSTALLED",
                "SecurityUpdates",
                "Critical",
                "CRITICAL",
                &["CVE-2023-1001"],
            ),
            patch(
                "KB5000002",
                "MISSING",
                "SecurityUpdates",
                "Important",
                "HIGH",
                &["CVE-2023-2001", "CVE-2023-2002"],
            ),
            patch(
                "KB5000003",
                "FAILED",
                "CriticalUpdates",
                "Unspecified",
                "MEDIUM",
                &[],
            ),
            patch(
                "KB5000004",
                "INSTALLED_PENDING_REBOOT",
                "SecurityUpdates",
                "Critical",
                "CRITICAL",
                &["CVE-2023-4001"],
            ),
            patch(
                "KB5000005",
                "NOT_APPLICABLE",
                "Updates",
                "Unspecified",
                "UNSPECIFIED",
                &[],
            ),
            patch(
                "KB5000006",
                "INSTALLED_OTHER",
                "Updates",
                "Unspecified",
                "UNSPECIFIED",
                &[],
            ),
            patch(
                "KB5000007",
                "AVAILABLE_SECURITY_UPDATE",
                "SecurityUpdates",
                "Important",
                "HIGH",
                &["CVE-2023-7001"],
            ),
            patch(
                "KB5000008",
                "INSTALLED_REJECTED",
                "Updates",
                "Unspecified",
                "LOW",
                &[],
            ),
        ],
    );
    n.patch_group = Some("prod-windows".into());
    n.available_security_updates_compliant = false;
    n.tags.insert("Patch Group".into(), "prod-windows".into());
    n
}

fn fleet() -> Fleet {
    let mut linux = node(
        LINUX,
        "us-east-1",
        "Linux",
        vec![
            patch(
                "bash.x86_64:0:5.2.15-1.amzn2023.0.2",
                "INSTALLED",
                "Security",
                "Important",
                "HIGH",
                &[],
            ),
            patch(
                "curl.x86_64:0:8.3.0-1.amzn2023.0.1",
                "INSTALLED",
                "Security",
                "Medium",
                "MEDIUM",
                &["CVE-2023-38545"],
            ),
            patch(
                "vim.x86_64:2:9.0.1592-1.amzn2023.0.1",
                "INSTALLED",
                "Bugfix",
                "None",
                "UNSPECIFIED",
                &[],
            ),
        ],
    );
    linux.operation = Some("Install".into());
    linux.tags.insert("Role".into(), "web".into());
    let mut hybrid = node(
        HYBRID,
        "us-east-1",
        "Linux",
        vec![patch(
            "openssl",
            "MISSING",
            "Security",
            "Critical",
            "CRITICAL",
            &[],
        )],
    );
    hybrid.operation = None;
    hybrid.operation_start_time = None;
    hybrid.operation_end_time = None;
    hybrid.execution_id = None;
    hybrid.tags.insert("Name".into(), "onprem-db-1".into());
    let mut offline = node(
        OFFLINE,
        "us-east-1",
        "Linux",
        vec![patch(
            "sudo.x86_64:0:1.9.15-1.amzn2023.0.1",
            "MISSING",
            "Security",
            "Important",
            "HIGH",
            &["CVE-2023-42465"],
        )],
    );
    offline.ping_status = "ConnectionLost".into();
    offline.tags.insert("Role".into(), "web".into());
    Fleet {
        organization: None,
        accounts: vec![
            account(
                A,
                vec![
                    windows_node(),
                    linux,
                    hybrid,
                    offline,
                    node(
                        EU_NODE,
                        "eu-west-1",
                        "Linux",
                        vec![patch("zlib", "MISSING", "Security", "Low", "LOW", &[])],
                    ),
                ],
            ),
            account(
                B,
                vec![node(
                    B_NODE,
                    "us-east-1",
                    "Linux",
                    vec![patch("zlib", "MISSING", "Security", "Low", "LOW", &[])],
                )],
            ),
        ],
    }
}

async fn setup() -> (Awsim, Client) {
    let sim = common::start_with(common::config_for_accounts(&[A, B])).await;
    sim.load_fleet(fleet()).unwrap();
    let client = Client::new(&common::sdk_config(&sim, A, "us-east-1"));
    (sim, client)
}

fn code<E: ProvideErrorMetadata, R>(err: aws_sdk_ssm::error::SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.meta().code())
        .unwrap_or("<not a service error>")
        .to_string()
}

fn message<E: ProvideErrorMetadata, R>(err: &aws_sdk_ssm::error::SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.meta().message())
        .unwrap_or_default()
        .to_string()
}

fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn cfilter(key: &str, values: &[&str], ty: &str) -> ComplianceStringFilter {
    ComplianceStringFilter::builder()
        .key(key)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .r#type(ComplianceQueryOperatorType::from(ty))
        .build()
}

fn pfilter(key: &str, values: &[&str]) -> PatchOrchestratorFilter {
    PatchOrchestratorFilter::builder()
        .key(key)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

#[tokio::test]
async fn patch_states_count_the_last_report() {
    let (_sim, ssm) = setup().await;
    let out = ssm
        .describe_instance_patch_states()
        .set_instance_ids(Some(vec![
            WIN.into(),
            LINUX.into(),
            HYBRID.into(),
            UNKNOWN.into(),
        ]))
        .send()
        .await
        .unwrap();
    let states = out.instance_patch_states();
    // Never-scanned and unknown nodes are simply absent.
    let ids: Vec<&str> = states.iter().map(|s| s.instance_id()).collect();
    assert_eq!(ids, [WIN, LINUX]);
    assert!(out.next_token().is_none());

    let w = &states[0];
    assert_eq!(w.patch_group(), "prod-windows");
    assert_eq!(w.baseline_id(), "pb-0123456789abcdef0");
    assert_eq!(w.snapshot_id().unwrap().len(), 36);
    assert_eq!(w.installed_count(), 1);
    assert_eq!(w.installed_other_count(), 1);
    assert_eq!(w.installed_pending_reboot_count(), Some(1));
    assert_eq!(w.installed_rejected_count(), Some(1));
    assert_eq!(w.missing_count(), 1);
    assert_eq!(w.failed_count(), 1);
    assert_eq!(w.not_applicable_count(), 1);
    assert_eq!(w.unreported_not_applicable_count(), Some(0));
    assert_eq!(w.available_security_update_count(), Some(1));
    // Non-compliant: KB2 (HIGH, security), KB3 (MEDIUM), KB4 (CRITICAL, security),
    // KB7 (HIGH, security), KB8 (LOW).
    assert_eq!(w.critical_non_compliant_count(), Some(1));
    assert_eq!(w.security_non_compliant_count(), Some(3));
    assert_eq!(w.other_non_compliant_count(), Some(2));
    assert_eq!(w.operation().as_str(), "Scan");
    assert_eq!(w.reboot_option().unwrap().as_str(), "RebootIfNeeded");
    assert_eq!(
        w.operation_start_time().secs(),
        secs(t("2026-11-28T02:00:00Z"))
    );
    assert_eq!(
        w.operation_end_time().secs(),
        secs(t("2026-11-28T02:03:10Z"))
    );
    assert!(w.last_no_reboot_install_operation_time().is_none());

    let l = &states[1];
    assert_eq!(l.operation().as_str(), "Install");
    assert_eq!(l.patch_group(), "");
    assert_eq!(l.installed_count(), 3);
    assert_eq!(l.missing_count(), 0);
    assert_eq!(l.critical_non_compliant_count(), Some(0));
}

#[tokio::test]
async fn patch_states_validate_and_page() {
    let fleet = awsim::generate::generate(
        &"instances=60,patches=5,seed=7".parse().unwrap(),
        Utc::now(),
    );
    let acct = fleet.accounts[0].id.clone();
    let sim = common::start_with(common::config_for_accounts(&[&acct])).await;
    sim.load_fleet(fleet.clone()).unwrap();
    let ssm = Client::new(&common::sdk_config(&sim, &acct, "us-east-1"));
    let scanned: Vec<String> = fleet.accounts[0]
        .instances
        .iter()
        .filter(|i| i.operation.is_some())
        .map(|i| i.id.clone())
        .collect();
    let ids: Vec<String> = fleet.accounts[0]
        .instances
        .iter()
        .take(50)
        .map(|i| i.id.clone())
        .collect();
    let expected: Vec<String> = {
        let mut e: Vec<String> = ids
            .iter()
            .filter(|i| scanned.contains(i))
            .cloned()
            .collect();
        e.sort();
        e
    };
    // 50 ids, 10 per page: the paginator reads every page, in id order.
    let pages: Vec<_> = ssm
        .describe_instance_patch_states()
        .set_instance_ids(Some(ids.clone()))
        .max_results(10)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert!(pages.len() >= 4, "{} pages", pages.len());
    assert!(pages.iter().all(|p| p.instance_patch_states().len() <= 10));
    let got: Vec<String> = pages
        .iter()
        .flat_map(|p| {
            p.instance_patch_states()
                .iter()
                .map(|s| s.instance_id().to_string())
        })
        .collect();
    assert_eq!(got, expected);

    // Limits: 51 ids, MaxResults 9 and 101 are refused; 100 is fine.
    let mut many = ids.clone();
    many.push(fleet.accounts[0].instances[50].id.clone());
    let err = ssm
        .describe_instance_patch_states()
        .set_instance_ids(Some(many))
        .send()
        .await
        .unwrap_err();
    assert!(message(&err).contains("'instanceIds'"), "{}", message(&err));
    assert_eq!(code(err), "ValidationException");
    for bad in [9, 101] {
        let err = ssm
            .describe_instance_patch_states()
            .instance_ids(&ids[0])
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(err), "ValidationException", "MaxResults {bad}");
    }
    ssm.describe_instance_patch_states()
        .instance_ids(&ids[0])
        .max_results(100)
        .send()
        .await
        .unwrap();
    // A malformed id is a validation error, not an empty answer.
    let err = ssm
        .describe_instance_patch_states()
        .instance_ids("i-123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
    // A token from another operation is refused.
    let info = ssm
        .describe_instance_information()
        .max_results(5)
        .send()
        .await
        .unwrap();
    let err = ssm
        .describe_instance_patch_states()
        .instance_ids(&ids[0])
        .next_token(info.next_token().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidNextToken");
}

#[tokio::test]
async fn instance_patches_report_states_as_aws_spells_them() {
    let (_sim, ssm) = setup().await;
    let out = ssm
        .describe_instance_patches()
        .instance_id(WIN)
        .max_results(10)
        .send()
        .await
        .unwrap();
    let patches = out.patches();
    assert_eq!(patches.len(), 8);
    assert!(out.next_token().is_none());
    let by_id: BTreeMap<&str, _> = patches.iter().map(|p| (p.kb_id(), p)).collect();
    // AWS sends CamelCase states, which the SDK keeps as unknown enum values.
    let states: Vec<&str> = patches.iter().map(|p| p.state().as_str()).collect();
    assert_eq!(
        states,
        [
            "Installed",
            "Missing",
            "Failed",
            "InstalledPendingReboot",
            "NotApplicable",
            "InstalledOther",
            "AvailableSecurityUpdate",
            "InstalledRejected"
        ]
    );
    let missing = by_id["KB5000002"];
    assert_eq!(missing.cve_ids(), Some("CVE-2023-2001,CVE-2023-2002"));
    assert_eq!(missing.installed_time().secs(), 0);
    assert_eq!(missing.classification(), "SecurityUpdates");
    assert_eq!(missing.severity(), "Important");
    assert_eq!(missing.title(), "Title of KB5000002");
    // CVE ids only for missing or failed patches.
    assert_eq!(by_id["KB5000001"].cve_ids(), None);
    assert_eq!(by_id["KB5000004"].cve_ids(), None);
    assert_eq!(by_id["KB5000007"].cve_ids(), None);
    assert_eq!(
        by_id["KB5000001"].installed_time().secs(),
        secs(t("2023-11-01T10:00:00Z"))
    );

    // Filters: AND across keys, OR across values.
    let f = |filters: Vec<PatchOrchestratorFilter>| {
        ssm.describe_instance_patches()
            .instance_id(WIN)
            .set_filters(Some(filters))
            .send()
    };
    let ids =
        |o: aws_sdk_ssm::operation::describe_instance_patches::DescribeInstancePatchesOutput| {
            o.patches()
                .iter()
                .map(|p| p.kb_id().to_string())
                .collect::<Vec<_>>()
        };
    assert_eq!(
        ids(f(vec![pfilter("State", &["Missing"])]).await.unwrap()),
        ["KB5000002"]
    );
    assert_eq!(
        ids(f(vec![pfilter("State", &["Missing", "Failed"])])
            .await
            .unwrap()),
        ["KB5000002", "KB5000003"]
    );
    assert_eq!(
        ids(f(vec![
            pfilter("Severity", &["Critical"]),
            pfilter("Classification", &["SecurityUpdates"])
        ])
        .await
        .unwrap()),
        ["KB5000001", "KB5000004"]
    );
    assert_eq!(
        ids(f(vec![pfilter("KBId", &["KB5000008"])]).await.unwrap()),
        ["KB5000008"]
    );
    // The model's enum spelling is not what the service matches on.
    assert_eq!(
        code(f(vec![pfilter("State", &["MISSING"])]).await.unwrap_err()),
        "InvalidFilter"
    );
    assert_eq!(
        code(
            f(vec![pfilter("PatchState", &["Missing"])])
                .await
                .unwrap_err()
        ),
        "InvalidFilter"
    );
    let six: Vec<_> = (0..6).map(|_| pfilter("State", &["Missing"])).collect();
    assert_eq!(code(f(six).await.unwrap_err()), "ValidationException");

    // Paging 10 at a time through a node with 8 patches, then MaxResults limits.
    for bad in [9, 101] {
        let err = ssm
            .describe_instance_patches()
            .instance_id(WIN)
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(err), "ValidationException");
    }
    // Unknown but well-formed id, malformed id, never-scanned node.
    let err = ssm
        .describe_instance_patches()
        .instance_id(UNKNOWN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidInstanceId");
    let err = ssm
        .describe_instance_patches()
        .instance_id("i-12345")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
    let none = ssm
        .describe_instance_patches()
        .instance_id(HYBRID)
        .send()
        .await
        .unwrap();
    assert!(none.patches().is_empty());
}

#[tokio::test]
async fn instance_patches_page_through_large_nodes() {
    let sim = common::start().await;
    let mut n = node(
        WIN,
        "us-east-1",
        "Windows",
        (0..57)
            .map(|i| {
                patch(
                    &format!("KB50{i:05}"),
                    if i % 3 == 0 { "MISSING" } else { "INSTALLED" },
                    "SecurityUpdates",
                    "Important",
                    "HIGH",
                    &[],
                )
            })
            .collect(),
    );
    // Duplicate ids (one package in two architectures) must survive paging.
    n.patches.push(patch(
        "KB5000010",
        "MISSING",
        "SecurityUpdates",
        "Important",
        "HIGH",
        &[],
    ));
    sim.load_fleet(Fleet {
        organization: None,
        accounts: vec![account("123456789012", vec![n])],
    })
    .unwrap();
    let ssm = Client::new(&common::default_sdk_config(&sim, "us-east-1"));
    let pages: Vec<_> = ssm
        .describe_instance_patches()
        .instance_id(WIN)
        .max_results(10)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 6);
    let all: Vec<String> = pages
        .iter()
        .flat_map(|p| p.patches().iter().map(|x| x.kb_id().to_string()))
        .collect();
    assert_eq!(all.len(), 58);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "pages come in KBId order");
    assert_eq!(all.iter().filter(|k| *k == "KB5000010").count(), 2);
    // Default page size.
    let first = ssm
        .describe_instance_patches()
        .instance_id(WIN)
        .send()
        .await
        .unwrap();
    assert_eq!(first.patches().len(), 10);
    assert!(first.next_token().is_some());
}

#[tokio::test]
async fn instance_information_lists_and_filters() {
    let (_sim, ssm) = setup().await;
    let all: Vec<_> = ssm
        .describe_instance_information()
        .max_results(5)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|i| i.instance_id().unwrap()).collect();
    assert_eq!(
        ids,
        [WIN, LINUX, OFFLINE, HYBRID]
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    let hybrid = all
        .iter()
        .find(|i| i.instance_id() == Some(HYBRID))
        .unwrap();
    assert_eq!(hybrid.resource_type(), Some(&ResourceType::ManagedInstance));
    assert_eq!(hybrid.name(), Some("onprem-db-1"));
    assert!(hybrid.registration_date().is_some());
    assert!(hybrid.activation_id().is_some());
    let win = all.iter().find(|i| i.instance_id() == Some(WIN)).unwrap();
    assert_eq!(win.resource_type(), Some(&ResourceType::Ec2Instance));
    assert_eq!(win.platform_type().unwrap().as_str(), "Windows");
    assert_eq!(
        win.platform_name(),
        Some("Microsoft Windows Server 2022 Datacenter")
    );
    assert_eq!(win.ping_status().unwrap().as_str(), "Online");
    assert!(win.computer_name().unwrap().starts_with("EC2AMAZ-"));
    assert!(win.name().is_none());
    assert!(win.agent_version().is_some());
    assert!(win.ip_address().is_some());
    let offline = all
        .iter()
        .find(|i| i.instance_id() == Some(OFFLINE))
        .unwrap();
    assert!(
        offline.last_ping_date_time().unwrap().secs()
            < win.last_ping_date_time().unwrap().secs() - 86_400
    );

    let filtered = |filters: Vec<InstanceInformationStringFilter>| {
        ssm.describe_instance_information()
            .set_filters(Some(filters))
            .send()
    };
    let sf = |k: &str, v: &[&str]| {
        InstanceInformationStringFilter::builder()
            .key(k)
            .set_values(Some(v.iter().map(|s| s.to_string()).collect()))
            .build()
            .unwrap()
    };
    let ids_of = |o: aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput| {
        o.instance_information_list().iter().map(|i| i.instance_id().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids_of(
            filtered(vec![sf("PingStatus", &["ConnectionLost"])])
                .await
                .unwrap()
        ),
        [OFFLINE]
    );
    assert_eq!(
        ids_of(
            filtered(vec![sf("PlatformTypes", &["Windows"])])
                .await
                .unwrap()
        ),
        [WIN]
    );
    assert_eq!(
        ids_of(
            filtered(vec![sf("ResourceType", &["ManagedInstance"])])
                .await
                .unwrap()
        ),
        [HYBRID]
    );
    assert_eq!(
        ids_of(
            filtered(vec![
                sf("PlatformTypes", &["Linux"]),
                sf("PingStatus", &["Online"])
            ])
            .await
            .unwrap()
        ),
        [LINUX, HYBRID]
    );
    assert_eq!(
        ids_of(filtered(vec![sf("tag:Role", &["web"])]).await.unwrap()),
        [LINUX, OFFLINE]
    );
    assert_eq!(
        ids_of(
            filtered(vec![sf("tag-key", &["Patch Group"])])
                .await
                .unwrap()
        ),
        [WIN]
    );
    assert_eq!(
        ids_of(
            filtered(vec![sf("InstanceIds", &[OFFLINE, WIN])])
                .await
                .unwrap()
        ),
        [WIN, OFFLINE]
    );
    // Legacy filter list.
    let legacy = ssm
        .describe_instance_information()
        .instance_information_filter_list(
            InstanceInformationFilter::builder()
                .key(InstanceInformationFilterKey::PingStatus)
                .value_set("ConnectionLost")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ids_of(legacy), [OFFLINE]);

    // Errors.
    let e = filtered(vec![sf("InstanceIds", &[WIN, UNKNOWN])])
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidInstanceId");
    let e = filtered(vec![sf("Colour", &["blue"])]).await.unwrap_err();
    assert_eq!(code(e), "InvalidFilterKey");
    let e = filtered(vec![sf("PingStatus", &["Sleeping"])])
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidInstanceInformationFilterValue");
    let e = filtered(vec![
        sf("tag:Role", &["web"]),
        sf("PingStatus", &["Online"]),
    ])
    .await
    .unwrap_err();
    assert_eq!(code(e), "InvalidFilterKey");
    let e = filtered(vec![sf("PingStatus", &[])]).await.unwrap_err();
    assert_eq!(code(e), "ValidationException");
    let e = ssm
        .describe_instance_information()
        .filters(sf("PingStatus", &["Online"]))
        .instance_information_filter_list(
            InstanceInformationFilter::builder()
                .key(InstanceInformationFilterKey::PingStatus)
                .value_set("Online")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidFilterKey");
    let e = ssm
        .describe_instance_information()
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(e), "InvalidNextToken");
}

#[tokio::test]
async fn instance_information_page_size_limits() {
    let sim = common::start().await;
    let spec = "instances=60,patches=2,seed=3".parse().unwrap();
    let mut fleet = awsim::generate::generate(&spec, Utc::now());
    fleet.accounts[0].id = "123456789012".into();
    fleet.organization = None;
    sim.load_fleet(fleet).unwrap();
    let ssm = Client::new(&common::default_sdk_config(&sim, "us-east-1"));
    let err = ssm
        .describe_instance_information()
        .max_results(51)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        message(&err),
        "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"
    );
    assert_eq!(code(err), "ValidationException");
    let err = ssm
        .describe_instance_information()
        .max_results(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
    let first = ssm
        .describe_instance_information()
        .max_results(50)
        .send()
        .await
        .unwrap();
    assert_eq!(first.instance_information_list().len(), 50);
    let second = ssm
        .describe_instance_information()
        .max_results(50)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.instance_information_list().len(), 10);
    assert!(second.next_token().is_none());
    // Documented default page size: 10.
    let default = ssm.describe_instance_information().send().await.unwrap();
    assert_eq!(default.instance_information_list().len(), 10);
    let five = ssm
        .describe_instance_information()
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(five.instance_information_list().len(), 5);
}

#[tokio::test]
async fn compliance_items_mirror_the_report() {
    let (_sim, ssm) = setup().await;
    let items: Vec<_> = ssm
        .list_compliance_items()
        .resource_ids(WIN)
        .resource_types("ManagedInstance")
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(items.len(), 8);
    let status = |s: &str| {
        items
            .iter()
            .filter(|i| i.status().map(|x| x.as_str()) == Some(s))
            .count()
    };
    assert_eq!(status("NON_COMPLIANT"), 5);
    assert_eq!(status("COMPLIANT"), 2);
    assert_eq!(
        status(""),
        1,
        "not-applicable patches carry an empty status"
    );
    let kb2 = items.iter().find(|i| i.id() == Some("KB5000002")).unwrap();
    assert_eq!(kb2.compliance_type(), Some("Patch"));
    assert_eq!(kb2.resource_type(), Some("ManagedInstance"));
    assert_eq!(kb2.resource_id(), Some(WIN));
    assert_eq!(kb2.title(), Some("Title of KB5000002"));
    assert_eq!(kb2.severity(), Some(&ComplianceSeverity::High));
    let exec = kb2.execution_summary().unwrap();
    assert_eq!(exec.execution_id(), Some(EXEC));
    assert_eq!(exec.execution_type(), Some("Command"));
    assert_eq!(
        exec.execution_time().secs(),
        secs(t("2026-11-28T02:03:10Z"))
    );
    let d = kb2.details().unwrap();
    assert_eq!(d["DocumentName"], "AWS-RunPatchBaseline");
    assert_eq!(d["PatchState"], "Missing");
    assert_eq!(d["PatchSeverity"], "Important");
    assert_eq!(d["Classification"], "SecurityUpdates");
    assert_eq!(d["PatchBaselineId"], "pb-0123456789abcdef0");
    assert_eq!(d["PatchGroup"], "prod-windows");
    assert_eq!(d["CVEIds"], "CVE-2023-2001,CVE-2023-2002");
    assert!(!d.contains_key("InstalledTime"));
    let kb1 = items.iter().find(|i| i.id() == Some("KB5000001")).unwrap();
    assert_eq!(
        kb1.details().unwrap()["InstalledTime"],
        "2023-11-01T10:00:00Z"
    );
    assert_eq!(kb1.details().unwrap()["PatchState"], "Installed");

    let list = |filters: Vec<ComplianceStringFilter>| {
        ssm.list_compliance_items()
            .resource_ids(WIN)
            .set_filters(Some(filters))
            .send()
    };
    let n = |o: aws_sdk_ssm::operation::list_compliance_items::ListComplianceItemsOutput| {
        o.compliance_items().len()
    };
    assert_eq!(
        n(list(vec![
            cfilter("ComplianceType", &["Patch"], "EQUAL"),
            cfilter("Status", &["NON_COMPLIANT"], "EQUAL")
        ])
        .await
        .unwrap()),
        5
    );
    // The 2020 blog sample's legacy keys and `Equal` spelling.
    let blog = list(vec![
        cfilter("AWS:ComplianceItem.Status", &["NON_COMPLIANT"], "Equal"),
        cfilter("AWS:ComplianceItem.ComplianceType", &["Patch"], "Equal"),
        cfilter("AWS:ComplianceItem.Severity", &["CRITICAL"], "Equal"),
    ])
    .await
    .unwrap();
    assert_eq!(
        blog.compliance_items()
            .iter()
            .map(|i| i.id().unwrap())
            .collect::<Vec<_>>(),
        ["KB5000004"]
    );
    assert_eq!(
        n(list(vec![cfilter("Status", &["COMPLIANT"], "NOT_EQUAL")])
            .await
            .unwrap()),
        6
    );
    assert_eq!(
        n(list(vec![cfilter("Id", &["KB500000"], "BEGIN_WITH")])
            .await
            .unwrap()),
        8
    );
    assert_eq!(
        n(
            list(vec![cfilter("PatchState", &["Missing", "Failed"], "EQUAL")])
                .await
                .unwrap()
        ),
        2
    );
    assert_eq!(
        n(
            list(vec![cfilter("Severity", &["HIGH", "CRITICAL"], "EQUAL")])
                .await
                .unwrap()
        ),
        4
    );
    assert_eq!(
        n(list(vec![cfilter(
            "ExecutionTime",
            &["2026-11-28T00:00:00Z"],
            "GREATER_THAN"
        )])
        .await
        .unwrap()),
        8
    );
    assert_eq!(
        n(list(vec![cfilter(
            "ExecutionTime",
            &["2026-11-28T00:00:00Z"],
            "LESS_THAN"
        )])
        .await
        .unwrap()),
        0
    );
    // Errors.
    assert_eq!(
        code(
            list(vec![cfilter("Colour", &["x"], "EQUAL")])
                .await
                .unwrap_err()
        ),
        "InvalidFilter"
    );
    assert_eq!(
        code(
            list(vec![cfilter("Status", &["x"], "SIMILAR")])
                .await
                .unwrap_err()
        ),
        "ValidationException"
    );
    let many: Vec<String> = (0..21).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        code(list(vec![cfilter("Id", &refs, "EQUAL")]).await.unwrap_err()),
        "ValidationException"
    );
    assert_eq!(
        n(list(vec![cfilter("Id", &refs[..20], "EQUAL")])
            .await
            .unwrap()),
        0
    );
    let err = ssm.list_compliance_items().send().await.unwrap_err();
    assert_eq!(code(err), "InvalidResourceId");
    let err = ssm
        .list_compliance_items()
        .resource_ids(WIN)
        .resource_ids(LINUX)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidResourceId");
    let err = ssm
        .list_compliance_items()
        .resource_ids(WIN)
        .resource_types("EC2Instance")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidResourceType");
    for bad in [0, 51] {
        let err = ssm
            .list_compliance_items()
            .resource_ids(WIN)
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(err), "ValidationException", "MaxResults {bad}");
    }
    ssm.list_compliance_items()
        .resource_ids(WIN)
        .max_results(50)
        .send()
        .await
        .unwrap();
    // Never scanned, unknown: nothing to list.
    assert_eq!(
        n(ssm
            .list_compliance_items()
            .resource_ids(HYBRID)
            .send()
            .await
            .unwrap()),
        0
    );
    assert_eq!(
        n(ssm
            .list_compliance_items()
            .resource_ids(UNKNOWN)
            .send()
            .await
            .unwrap()),
        0
    );
}

#[tokio::test]
async fn summaries_agree_with_items_and_states() {
    let (_sim, ssm) = setup().await;
    let rows: Vec<_> = ssm
        .list_resource_compliance_summaries()
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.resource_id().unwrap()).collect();
    assert_eq!(
        ids,
        [WIN, LINUX, OFFLINE],
        "never-scanned nodes have no Patch row"
    );
    let w = &rows[0];
    assert_eq!(w.compliance_type(), Some("Patch"));
    assert_eq!(w.status(), Some(&ComplianceStatus::NonCompliant));
    assert_eq!(w.overall_severity(), Some(&ComplianceSeverity::Critical));
    let nc = w.non_compliant_summary().unwrap();
    assert_eq!(nc.non_compliant_count(), 5);
    let s = nc.severity_summary().unwrap();
    assert_eq!(
        (
            s.critical_count(),
            s.high_count(),
            s.medium_count(),
            s.low_count(),
            s.informational_count(),
            s.unspecified_count()
        ),
        (1, 2, 1, 1, 0, 0)
    );
    let c = w.compliant_summary().unwrap();
    assert_eq!(c.compliant_count(), 2);
    let s = c.severity_summary().unwrap();
    assert_eq!((s.critical_count(), s.unspecified_count()), (1, 1));
    assert_eq!(w.execution_summary().unwrap().execution_id(), Some(EXEC));
    let l = &rows[1];
    assert_eq!(l.status(), Some(&ComplianceStatus::Compliant));
    assert_eq!(l.overall_severity(), Some(&ComplianceSeverity::Unspecified));
    assert_eq!(l.compliant_summary().unwrap().compliant_count(), 3);

    let list = |filters: Vec<ComplianceStringFilter>| {
        ssm.list_resource_compliance_summaries()
            .set_filters(Some(filters))
            .send()
    };
    let ids_of = |o: aws_sdk_ssm::operation::list_resource_compliance_summaries::ListResourceComplianceSummariesOutput| {
        o.resource_compliance_summary_items().iter().map(|r| r.resource_id().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids_of(
            list(vec![
                cfilter("ComplianceType", &["Patch"], "EQUAL"),
                cfilter("Status", &["NON_COMPLIANT"], "EQUAL")
            ])
            .await
            .unwrap()
        ),
        [WIN, OFFLINE]
    );
    assert_eq!(
        ids_of(
            list(vec![
                cfilter("AWS:ComplianceSummary.Status", &["NON_COMPLIANT"], "Equal"),
                cfilter("AWS:ComplianceSummary.ComplianceType", &["Patch"], "Equal"),
            ])
            .await
            .unwrap()
        ),
        [WIN, OFFLINE]
    );
    assert_eq!(
        ids_of(
            list(vec![cfilter("OverallSeverity", &["CRITICAL"], "EQUAL")])
                .await
                .unwrap()
        ),
        [WIN]
    );
    assert_eq!(
        code(
            list(vec![cfilter("Severity", &["HIGH"], "EQUAL")])
                .await
                .unwrap_err()
        ),
        "InvalidFilter"
    );
    for bad in [0, 51] {
        let err = ssm
            .list_resource_compliance_summaries()
            .max_results(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(err), "ValidationException");
    }
    ssm.list_resource_compliance_summaries()
        .max_results(50)
        .send()
        .await
        .unwrap();
}

fn entry(id: &str, sev: ComplianceSeverity, status: ComplianceStatus) -> ComplianceItemEntry {
    ComplianceItemEntry::builder()
        .id(id)
        .title(format!("check {id}"))
        .severity(sev)
        .status(status)
        .details("Source", "awsim-test")
        .build()
        .unwrap()
}

fn exec_summary(id: &str, at: DateTime<Utc>) -> ComplianceExecutionSummary {
    ComplianceExecutionSummary::builder()
        .execution_time(SdkTime::from_secs(at.timestamp()))
        .execution_id(id)
        .execution_type("Custom")
        .build()
        .unwrap()
}

#[tokio::test]
async fn put_compliance_items_stores_custom_types() {
    let (_sim, ssm) = setup().await;
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
    ssm.put_compliance_items()
        .resource_id(LINUX)
        .resource_type("ManagedInstance")
        .compliance_type("Custom:Antivirus")
        .execution_summary(exec_summary("av-1", at))
        .items(entry(
            "engine",
            ComplianceSeverity::High,
            ComplianceStatus::NonCompliant,
        ))
        .items(entry(
            "signatures",
            ComplianceSeverity::Low,
            ComplianceStatus::Compliant,
        ))
        .item_content_hash("hash-1")
        .send()
        .await
        .unwrap();
    let custom = ssm
        .list_compliance_items()
        .resource_ids(LINUX)
        .filters(cfilter("ComplianceType", &["Custom:Antivirus"], "EQUAL"))
        .send()
        .await
        .unwrap();
    let items = custom.compliance_items();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].id(), Some("engine"));
    assert_eq!(items[0].status(), Some(&ComplianceStatus::NonCompliant));
    assert_eq!(
        items[0].execution_summary().unwrap().execution_id(),
        Some("av-1")
    );
    assert_eq!(
        items[0]
            .execution_summary()
            .unwrap()
            .execution_time()
            .secs(),
        at.timestamp()
    );
    assert_eq!(items[0].details().unwrap()["Source"], "awsim-test");
    // Without a type filter, Patch and custom items come together.
    let all = ssm
        .list_compliance_items()
        .resource_ids(LINUX)
        .send()
        .await
        .unwrap();
    assert_eq!(all.compliance_items().len(), 5);

    let rows = ssm
        .list_resource_compliance_summaries()
        .filters(cfilter("ResourceId", &[LINUX], "EQUAL"))
        .send()
        .await
        .unwrap();
    let types: Vec<&str> = rows
        .resource_compliance_summary_items()
        .iter()
        .map(|r| r.compliance_type().unwrap())
        .collect();
    assert_eq!(types, ["Custom:Antivirus", "Patch"]);
    let av = &rows.resource_compliance_summary_items()[0];
    assert_eq!(av.status(), Some(&ComplianceStatus::NonCompliant));
    assert_eq!(av.overall_severity(), Some(&ComplianceSeverity::High));

    // Same content hash: ignored, even with different items.
    ssm.put_compliance_items()
        .resource_id(LINUX)
        .resource_type("ManagedInstance")
        .compliance_type("Custom:Antivirus")
        .execution_summary(exec_summary("av-2", at))
        .items(entry(
            "engine",
            ComplianceSeverity::High,
            ComplianceStatus::Compliant,
        ))
        .item_content_hash("hash-1")
        .send()
        .await
        .unwrap();
    let again = ssm
        .list_compliance_items()
        .resource_ids(LINUX)
        .filters(cfilter("ComplianceType", &["Custom:Antivirus"], "EQUAL"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.compliance_items().len(), 2);
    // A new hash replaces the whole set.
    ssm.put_compliance_items()
        .resource_id(LINUX)
        .resource_type("ManagedInstance")
        .compliance_type("Custom:Antivirus")
        .execution_summary(exec_summary("av-3", at))
        .items(entry(
            "engine",
            ComplianceSeverity::High,
            ComplianceStatus::Compliant,
        ))
        .item_content_hash("hash-2")
        .send()
        .await
        .unwrap();
    let replaced = ssm
        .list_compliance_items()
        .resource_ids(LINUX)
        .filters(cfilter("ComplianceType", &["Custom:Antivirus"], "EQUAL"))
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.compliance_items().len(), 1);
    assert_eq!(
        replaced.compliance_items()[0].status(),
        Some(&ComplianceStatus::Compliant)
    );

    // At most 10 custom types per resource.
    for i in 1..10 {
        ssm.put_compliance_items()
            .resource_id(LINUX)
            .resource_type("ManagedInstance")
            .compliance_type(format!("Custom:Check{i}"))
            .execution_summary(exec_summary("x", at))
            .set_items(Some(vec![]))
            .send()
            .await
            .unwrap();
    }
    let err = ssm
        .put_compliance_items()
        .resource_id(LINUX)
        .resource_type("ManagedInstance")
        .compliance_type("Custom:Check10")
        .execution_summary(exec_summary("x", at))
        .set_items(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ComplianceTypeCountLimitExceededException");

    // Errors.
    let put = |resource: &str, rtype: &str, ctype: &str| {
        ssm.put_compliance_items()
            .resource_id(resource)
            .resource_type(rtype)
            .compliance_type(ctype)
            .execution_summary(exec_summary("x", at))
            .set_items(Some(vec![]))
            .send()
    };
    assert_eq!(
        code(
            put(UNKNOWN, "ManagedInstance", "Custom:A1")
                .await
                .unwrap_err()
        ),
        "InvalidResourceId"
    );
    assert_eq!(
        code(
            put(B_NODE, "ManagedInstance", "Custom:A1")
                .await
                .unwrap_err()
        ),
        "InvalidResourceId"
    );
    assert_eq!(
        code(put(WIN, "EC2Instance", "Custom:A1").await.unwrap_err()),
        "InvalidResourceType"
    );
    assert_eq!(
        code(put(WIN, "ManagedInstance", "Custom:a b").await.unwrap_err()),
        "ValidationException"
    );
    let err = ssm
        .put_compliance_items()
        .resource_id(WIN)
        .resource_type("ManagedInstance")
        .compliance_type("Custom:A1")
        .execution_summary(exec_summary("x", at))
        .items(
            ComplianceItemEntry::builder()
                .id("a")
                .severity(ComplianceSeverity::from("SEVERE"))
                .status(ComplianceStatus::Compliant)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
}

#[tokio::test]
async fn put_patch_compliance_replaces_the_report_everywhere() {
    let (_sim, ssm) = setup().await;
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 9, 30, 0).unwrap();
    let patch_item = |id: &str, sev, status, state: &str| {
        ComplianceItemEntry::builder()
            .id(id)
            .title(format!("{id} title"))
            .severity(sev)
            .status(status)
            .details("PatchState", state)
            .details("Classification", "Security")
            .details("PatchSeverity", "Critical")
            .details("CVEIds", "CVE-2024-1,CVE-2024-2")
            .build()
            .unwrap()
    };
    ssm.put_compliance_items()
        .resource_id(LINUX)
        .resource_type("ManagedInstance")
        .compliance_type("Patch")
        .execution_summary(
            ComplianceExecutionSummary::builder()
                .execution_time(SdkTime::from_secs(at.timestamp()))
                .execution_id("manual-1")
                .execution_type("Command")
                .build()
                .unwrap(),
        )
        .items(patch_item(
            "glibc",
            ComplianceSeverity::Critical,
            ComplianceStatus::NonCompliant,
            "Failed",
        ))
        .items(patch_item(
            "bash",
            ComplianceSeverity::Low,
            ComplianceStatus::Compliant,
            "Installed",
        ))
        .items(patch_item(
            "curl",
            ComplianceSeverity::High,
            ComplianceStatus::NonCompliant,
            "Installed",
        ))
        .send()
        .await
        .unwrap();
    let st = ssm
        .describe_instance_patch_states()
        .instance_ids(LINUX)
        .send()
        .await
        .unwrap();
    let st = &st.instance_patch_states()[0];
    // curl's PatchState contradicts its Status: the Status wins (Missing).
    assert_eq!(
        (st.failed_count(), st.missing_count(), st.installed_count()),
        (1, 1, 1)
    );
    assert_eq!(st.critical_non_compliant_count(), Some(1));
    assert_eq!(st.operation_end_time().secs(), at.timestamp());
    let patches = ssm
        .describe_instance_patches()
        .instance_id(LINUX)
        .send()
        .await
        .unwrap();
    let states: Vec<(&str, &str)> = patches
        .patches()
        .iter()
        .map(|p| (p.kb_id(), p.state().as_str()))
        .collect();
    assert_eq!(
        states,
        [
            ("bash", "Installed"),
            ("curl", "Missing"),
            ("glibc", "Failed")
        ]
    );
    assert_eq!(
        patches.patches()[2].cve_ids(),
        Some("CVE-2024-1,CVE-2024-2")
    );
    let items = ssm
        .list_compliance_items()
        .resource_ids(LINUX)
        .send()
        .await
        .unwrap();
    assert_eq!(items.compliance_items().len(), 3);
    assert!(
        items
            .compliance_items()
            .iter()
            .all(|i| i.execution_summary().unwrap().execution_id() == Some("manual-1"))
    );
    let rows = ssm
        .list_resource_compliance_summaries()
        .filters(cfilter("ResourceId", &[LINUX], "EQUAL"))
        .send()
        .await
        .unwrap();
    let row = &rows.resource_compliance_summary_items()[0];
    assert_eq!(
        row.non_compliant_summary().unwrap().non_compliant_count(),
        2
    );
    assert_eq!(row.overall_severity(), Some(&ComplianceSeverity::Critical));
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let (sim, a) = setup().await;
    let b = Client::new(&common::sdk_config(&sim, B, "us-east-1"));
    let a_eu = Client::new(&common::sdk_config(&sim, A, "eu-west-1"));
    let ids = |o: aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput| {
        o.instance_information_list().iter().map(|i| i.instance_id().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(b.describe_instance_information().send().await.unwrap()),
        [B_NODE]
    );
    assert_eq!(
        ids(a_eu.describe_instance_information().send().await.unwrap()),
        [EU_NODE]
    );
    // A cannot see B's node by any door.
    let err = a
        .describe_instance_patches()
        .instance_id(B_NODE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidInstanceId");
    let states = a
        .describe_instance_patch_states()
        .instance_ids(B_NODE)
        .send()
        .await
        .unwrap();
    assert!(states.instance_patch_states().is_empty());
    let items = a
        .list_compliance_items()
        .resource_ids(B_NODE)
        .send()
        .await
        .unwrap();
    assert!(items.compliance_items().is_empty());
    let err = a
        .describe_instance_information()
        .filters(
            InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(B_NODE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidInstanceId");
    let err = a
        .send_command()
        .document_name("AWS-RunPatchBaseline")
        .instance_ids(B_NODE)
        .parameters("Operation", vec!["Scan".into()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidInstanceId");
    // Nor another Region's.
    let err = a
        .describe_instance_patches()
        .instance_id(EU_NODE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidInstanceId");
    let rows = b.list_resource_compliance_summaries().send().await.unwrap();
    let rows: Vec<&str> = rows
        .resource_compliance_summary_items()
        .iter()
        .map(|r| r.resource_id().unwrap())
        .collect();
    assert_eq!(rows, [B_NODE]);
    // A Region with nothing in it answers empty.
    let a_west = Client::new(&common::sdk_config(&sim, A, "us-west-2"));
    assert!(ids(a_west.describe_instance_information().send().await.unwrap()).is_empty());
}

#[tokio::test]
async fn unknown_operations_are_refused() {
    let (_sim, ssm) = setup().await;
    let err = ssm.describe_patch_baselines().send().await.unwrap_err();
    assert_eq!(code(err), "UnknownOperationException");
}
