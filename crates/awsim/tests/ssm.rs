//! SSM through the real SDK: node inventory, patch states and patches, compliance items and
//! summaries, custom compliance, account and Region isolation, validation errors.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput;
use aws_sdk_ssm::operation::describe_instance_patches::DescribeInstancePatchesOutput;
use aws_sdk_ssm::operation::list_resource_compliance_summaries::ListResourceComplianceSummariesOutput;
use aws_sdk_ssm::operation::put_compliance_items::builders::PutComplianceItemsFluentBuilder;
use aws_sdk_ssm::types::{
    ComplianceExecutionSummary, ComplianceItemEntry, ComplianceSeverity, ComplianceStatus,
    InstanceInformationFilter, InstanceInformationFilterKey, InstanceInformationStringFilter,
    InstancePropertyFilter, InstancePropertyFilterKey, InstancePropertyFilterOperator,
    InstancePropertyStringFilter, PatchOrchestratorFilter, ResourceType, SeveritySummary,
};
use aws_smithy_types::DateTime as SdkTime;
use awsim::Awsim;
use awsim::fleet::{AccountSpec, Fleet, InstanceSpec, PatchSpec};
use chrono::{DateTime, TimeZone, Utc};
use common::ssm::{assert_counts, cfilter, cfilters};
use common::{EAST, SCAN_EXECUTION, WEST, all_items, all_pages, code, message, refused, strings};

const A: &str = "111111111111";
const B: &str = "222222222222";
const VALIDATION: &str = "ValidationException";

// Account A's nodes in us-east-1.
const WIN: &str = "i-0aaaaaaaaaaaaaaa1";
const LINUX: &str = "i-0bbbbbbbbbbbbbbb2";
const HYBRID: &str = "mi-0ccccccccccccccc3";
const OFFLINE: &str = "i-0ddddddddddddddd4";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn secs(s: &str) -> i64 {
    t(s).timestamp()
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

/// Patches written as a table, one a line:
/// `ID STATE CLASSIFICATION SEVERITY COMPLIANCE_SEVERITY [CVE,CVE]`.
fn patches(table: &str) -> Vec<PatchSpec> {
    let row = |line: &str| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let cves: Vec<&str> = words.get(5).map_or(vec![], |c| c.split(',').collect());
        patch(words[0], words[1], words[2], words[3], words[4], &cves)
    };
    table.lines().map(row).collect()
}

fn node(id: &str, region: &str, platform: &str, patches: Vec<PatchSpec>) -> InstanceSpec {
    assert!(awsim::fleet::valid_instance_id(id), "{id}");
    let windows = platform == "Windows";
    InstanceSpec {
        region: region.into(),
        platform_name: if windows {
            "Microsoft Windows Server 2022 Datacenter".into()
        } else {
            "Amazon Linux".into()
        },
        platform_version: if windows { "10.0.20348" } else { "2023" }.into(),
        tags: BTreeMap::from([("Name".to_string(), format!("name-{id}"))]),
        ..common::node(id, platform, patches)
    }
}

fn account(id: &str, instances: Vec<InstanceSpec>) -> AccountSpec {
    AccountSpec {
        regions: vec![EAST.into(), WEST.into()],
        instances,
        ..common::account(id)
    }
}

/// The Windows node: one patch in every state; 5 non-compliant (the baseline counts available
/// security updates as non-compliant), 2 compliant, 1 not applicable.
fn windows_node() -> InstanceSpec {
    let table = "KB5000001 INSTALLED SecurityUpdates Critical CRITICAL CVE-2023-1001
        KB5000002 MISSING SecurityUpdates Important HIGH CVE-2023-2001,CVE-2023-2002
        KB5000003 FAILED CriticalUpdates Unspecified MEDIUM
        KB5000004 INSTALLED_PENDING_REBOOT SecurityUpdates Critical CRITICAL CVE-2023-4001
        KB5000005 NOT_APPLICABLE Updates Unspecified UNSPECIFIED
        KB5000006 INSTALLED_OTHER Updates Unspecified UNSPECIFIED
        KB5000007 AVAILABLE_SECURITY_UPDATE SecurityUpdates Important HIGH CVE-2023-7001
        KB5000008 INSTALLED_REJECTED Updates Unspecified LOW";
    let mut n = node(WIN, EAST, "Windows", patches(table));
    n.patch_group = Some("prod-windows".into());
    n.available_security_updates_compliant = false;
    n.tags.insert("Patch Group".into(), "prod-windows".into());
    n
}

/// Account B's node, in us-east-1.
const B_NODE: &str = "i-0eeeeeeeeeeeeeee5";
/// Account A's node in eu-west-1.
const EU_NODE: &str = "i-0fffffffffffffff6";
/// A well-formed id of no node.
const UNKNOWN: &str = "i-0123456789abcdef0";

fn fleet() -> Fleet {
    let table = "bash.x86_64:0:5.2.15-1.amzn2023.0.2 INSTALLED Security Important HIGH
        curl.x86_64:0:8.3.0-1.amzn2023.0.1 INSTALLED Security Medium MEDIUM CVE-2023-38545
        vim.x86_64:2:9.0.1592-1.amzn2023.0.1 INSTALLED Bugfix None UNSPECIFIED";
    let mut linux = node(LINUX, EAST, "Linux", patches(table));
    linux.operation = Some("Install".into());
    linux.tags.insert("Role".into(), "web".into());
    let openssl = patches("openssl MISSING Security Critical CRITICAL");
    let mut hybrid = node(HYBRID, EAST, "Linux", openssl);
    hybrid.operation = None;
    hybrid.operation_start_time = None;
    hybrid.operation_end_time = None;
    hybrid.execution_id = None;
    hybrid.tags.insert("Name".into(), "onprem-db-1".into());
    let sudo = "sudo.x86_64:0:1.9.15-1.amzn2023.0.1 MISSING Security Important HIGH CVE-2023-42465";
    let mut offline = node(OFFLINE, EAST, "Linux", patches(sudo));
    offline.ping_status = "ConnectionLost".into();
    offline.tags.insert("Role".into(), "web".into());
    let zlib = || patches("zlib MISSING Security Low LOW");
    let eu = node(EU_NODE, WEST, "Linux", zlib());
    common::standalone(vec![
        account(A, vec![windows_node(), linux, hybrid, offline, eu]),
        account(B, vec![node(B_NODE, EAST, "Linux", zlib())]),
    ])
}

/// awsim with the fleet, and account A's client in us-east-1.
async fn setup() -> (Awsim, Client) {
    let sim = common::start_loaded(&fleet()).await;
    let client = common::client(&sim, A, EAST).await;
    (sim, client)
}

fn pfilter(key: &str, values: &[&str]) -> PatchOrchestratorFilter {
    PatchOrchestratorFilter::builder()
        .key(key)
        .set_values(strings(values))
        .build()
}

fn kb_ids(out: &DescribeInstancePatchesOutput) -> Vec<String> {
    out.patches()
        .iter()
        .map(|p| p.kb_id().to_string())
        .collect()
}

fn summary_ids(out: &ListResourceComplianceSummariesOutput) -> Vec<String> {
    let rows = out.resource_compliance_summary_items().iter();
    rows.map(|r| r.resource_id().unwrap().to_string()).collect()
}

fn info_ids(out: &DescribeInstanceInformationOutput) -> Vec<String> {
    let list = out.instance_information_list().iter();
    list.map(|i| i.instance_id().unwrap().to_string()).collect()
}

/// awsim with a generated fleet of `instances` nodes, and its first account's client in
/// us-east-1.
async fn generated(instances: usize) -> (Awsim, Client) {
    let spec = format!("instances={instances},patches=2,seed=3");
    let (sim, fleet) = common::start_generated(&spec).await;
    let client = common::client(&sim, &fleet.accounts[0].id, EAST).await;
    (sim, client)
}

/// The nodes `c` lists.
async fn listed(c: &Client) -> Vec<String> {
    info_ids(&c.describe_instance_information().send().await.unwrap())
}

#[tokio::test]
async fn patch_states_count_the_last_report() {
    let (_sim, ssm) = setup().await;
    let call = ssm.describe_instance_patch_states();
    let out = call.set_instance_ids(strings(&[WIN, LINUX, HYBRID, UNKNOWN]));
    let out = out.send().await.unwrap();
    let states = out.instance_patch_states();
    // Never-scanned and unknown nodes are simply absent.
    let ids: Vec<&str> = states.iter().map(|s| s.instance_id()).collect();
    assert_eq!(ids, [WIN, LINUX]);
    assert!(out.next_token().is_none());

    let w = &states[0];
    assert_eq!(w.patch_group(), "prod-windows");
    assert_eq!(w.baseline_id(), "pb-0123456789abcdef0");
    assert_eq!(w.snapshot_id().unwrap().len(), 36);
    // Non-compliant: KB2 (HIGH, security), KB3 (MEDIUM), KB4 (CRITICAL, security),
    // KB7 (HIGH, security), KB8 (LOW).
    assert_counts(
        w,
        "installed=1 installed_other=1 pending_reboot=1 rejected=1 missing=1 failed=1
         not_applicable=1 unreported=0 available_security=1
         critical_non_compliant=1 security_non_compliant=3 other_non_compliant=2",
    );
    assert_eq!(w.operation().as_str(), "Scan");
    assert_eq!(w.reboot_option().unwrap().as_str(), "RebootIfNeeded");
    let (start, end) = (w.operation_start_time(), w.operation_end_time());
    assert_eq!(start.secs(), secs("2026-11-28T02:00:00Z"));
    assert_eq!(end.secs(), secs("2026-11-28T02:03:10Z"));
    assert!(w.last_no_reboot_install_operation_time().is_none());

    let l = &states[1];
    assert_eq!(l.operation().as_str(), "Install");
    assert_eq!(l.patch_group(), "");
    assert_counts(l, "installed=3 missing=0 critical_non_compliant=0");
}

#[tokio::test]
async fn patch_states_validate_and_page() {
    let (sim, fleet) = common::start_generated("instances=60,patches=5,seed=7").await;
    let ssm: Client = common::client(&sim, &fleet.accounts[0].id, EAST).await;
    let nodes = &fleet.accounts[0].instances;
    let ids: Vec<String> = nodes.iter().take(50).map(|i| i.id.clone()).collect();
    let scanned = nodes.iter().take(50).filter(|i| i.operation.is_some());
    let mut expected: Vec<String> = scanned.map(|i| i.id.clone()).collect();
    expected.sort();
    let states = || ssm.describe_instance_patch_states();

    // 50 ids, 10 per page: the paginator reads every page, in id order.
    let pages = all_pages!(states().set_instance_ids(Some(ids.clone())).max_results(10));
    assert!(pages.len() >= 4, "{} pages", pages.len());
    assert!(pages.iter().all(|p| p.instance_patch_states().len() <= 10));
    let got: Vec<String> = pages
        .iter()
        .flat_map(|p| p.instance_patch_states())
        .map(|s| s.instance_id().to_string())
        .collect();
    assert_eq!(got, expected);

    // Limits: 51 ids, MaxResults 9 and 101 are refused; 100 is fine.
    let mut many = ids.clone();
    many.push(nodes[50].id.clone());
    let err = states().set_instance_ids(Some(many)).send().await;
    let err = err.unwrap_err();
    assert!(message(&err).contains("'instanceIds'"), "{}", message(&err));
    assert_eq!(code(&err), VALIDATION);
    let first = || states().instance_ids(&ids[0]);
    for bad in [9, 101] {
        let call = first().max_results(bad);
        assert_eq!(refused(call.send().await), VALIDATION, "MaxResults {bad}");
    }
    first().max_results(100).send().await.unwrap();
    // A malformed id is a validation error, not an empty answer.
    let malformed = states().instance_ids("i-123");
    assert_eq!(refused(malformed.send().await), VALIDATION);
    // A token from another operation is refused.
    let info = ssm.describe_instance_information().max_results(5);
    let info = info.send().await.unwrap();
    let forged = first().next_token(info.next_token().unwrap());
    assert_eq!(refused(forged.send().await), "InvalidNextToken");
}

#[tokio::test]
async fn instance_patches_report_states_as_aws_spells_them() {
    let (_sim, ssm) = setup().await;
    let on = |id: &str| ssm.describe_instance_patches().instance_id(id);
    let out = on(WIN).max_results(10).send().await.unwrap();
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
    for kb in ["KB5000001", "KB5000004", "KB5000007"] {
        assert_eq!(by_id[kb].cve_ids(), None, "{kb}");
    }
    let installed = by_id["KB5000001"].installed_time();
    assert_eq!(installed.secs(), secs("2023-11-01T10:00:00Z"));

    // Filters: AND across keys, OR across values.
    for (filters, expected) in [
        (vec![pfilter("State", &["Missing"])], vec!["KB5000002"]),
        (
            vec![pfilter("State", &["Missing", "Failed"])],
            vec!["KB5000002", "KB5000003"],
        ),
        (
            vec![
                pfilter("Severity", &["Critical"]),
                pfilter("Classification", &["SecurityUpdates"]),
            ],
            vec!["KB5000001", "KB5000004"],
        ),
        (vec![pfilter("KBId", &["KB5000008"])], vec!["KB5000008"]),
    ] {
        let out = on(WIN).set_filters(Some(filters.clone())).send().await;
        assert_eq!(kb_ids(&out.unwrap()), expected, "{filters:?}");
    }
    // The model's enum spelling is not what the service matches on.
    let six: Vec<_> = (0..6).map(|_| pfilter("State", &["Missing"])).collect();
    for (filters, expected) in [
        (vec![pfilter("State", &["MISSING"])], "InvalidFilter"),
        (vec![pfilter("PatchState", &["Missing"])], "InvalidFilter"),
        (six, VALIDATION),
    ] {
        let call = on(WIN).set_filters(Some(filters.clone()));
        assert_eq!(refused(call.send().await), expected, "{filters:?}");
    }

    // Paging 10 at a time through a node with 8 patches, then MaxResults limits.
    for bad in [9, 101] {
        let call = on(WIN).max_results(bad);
        assert_eq!(refused(call.send().await), VALIDATION, "MaxResults {bad}");
    }
    // Unknown but well-formed id, malformed id, never-scanned node.
    assert_eq!(refused(on(UNKNOWN).send().await), "InvalidInstanceId");
    assert_eq!(refused(on("i-12345").send().await), VALIDATION);
    let none = on(HYBRID).send().await.unwrap();
    assert!(none.patches().is_empty());
}

#[tokio::test]
async fn instance_patches_page_through_large_nodes() {
    let security = |id: &str, state| patch(id, state, "SecurityUpdates", "Important", "HIGH", &[]);
    let state = |i| if i % 3 == 0 { "MISSING" } else { "INSTALLED" };
    let many = (0..57).map(|i| security(&format!("KB50{i:05}"), state(i)));
    let mut n = node(WIN, EAST, "Windows", many.collect());
    // Duplicate ids (one package in two architectures) must survive paging.
    n.patches.push(security("KB5000010", "MISSING"));
    let default = common::DEFAULT_ACCOUNT;
    let sim = common::start_loaded(&common::standalone(vec![account(default, vec![n])])).await;
    let ssm: Client = common::client(&sim, default, EAST).await;
    let patches = || ssm.describe_instance_patches().instance_id(WIN);
    let pages = all_pages!(patches().max_results(10));
    assert_eq!(pages.len(), 6);
    let all: Vec<String> = pages.iter().flat_map(kb_ids).collect();
    assert_eq!(all.len(), 58);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "pages come in KBId order");
    assert_eq!(all.iter().filter(|k| *k == "KB5000010").count(), 2);
    // Default page size.
    let first = patches().send().await.unwrap();
    assert_eq!(first.patches().len(), 10);
    assert!(first.next_token().is_some());
}

#[tokio::test]
async fn instance_information_lists_and_filters() {
    let (_sim, ssm) = setup().await;
    let info = || ssm.describe_instance_information();
    let all = all_items!(info().max_results(5));
    let ids: Vec<&str> = all.iter().map(|i| i.instance_id().unwrap()).collect();
    let in_order: BTreeSet<&str> = [WIN, LINUX, OFFLINE, HYBRID].into();
    assert_eq!(ids, in_order.into_iter().collect::<Vec<_>>());
    let of = |id: &str| all.iter().find(|i| i.instance_id() == Some(id)).unwrap();
    let hybrid = of(HYBRID);
    assert_eq!(hybrid.resource_type(), Some(&ResourceType::ManagedInstance));
    assert_eq!(hybrid.name(), Some("onprem-db-1"));
    assert!(hybrid.registration_date().is_some());
    assert!(hybrid.activation_id().is_some());
    let win = of(WIN);
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
    let last_ping =
        |i: &aws_sdk_ssm::types::InstanceInformation| i.last_ping_date_time().unwrap().secs();
    assert!(last_ping(of(OFFLINE)) < last_ping(win) - 86_400);

    let sf = |k: &str, v: &[&str]| {
        let filter = InstanceInformationStringFilter::builder().key(k);
        filter.set_values(strings(v)).build().unwrap()
    };
    for (filters, expected) in [
        (vec![sf("PingStatus", &["ConnectionLost"])], vec![OFFLINE]),
        (vec![sf("PlatformTypes", &["Windows"])], vec![WIN]),
        (vec![sf("ResourceType", &["ManagedInstance"])], vec![HYBRID]),
        (
            vec![
                sf("PlatformTypes", &["Linux"]),
                sf("PingStatus", &["Online"]),
            ],
            vec![LINUX, HYBRID],
        ),
        (vec![sf("tag:Role", &["web"])], vec![LINUX, OFFLINE]),
        (vec![sf("tag-key", &["Patch Group"])], vec![WIN]),
        (vec![sf("InstanceIds", &[OFFLINE, WIN])], vec![WIN, OFFLINE]),
    ] {
        let out = info().set_filters(Some(filters.clone())).send().await;
        assert_eq!(info_ids(&out.unwrap()), expected, "{filters:?}");
    }
    // Legacy filter list.
    let legacy = |status: &str| {
        let filter = InstanceInformationFilter::builder();
        let filter = filter.key(InstanceInformationFilterKey::PingStatus);
        filter.value_set(status).build().unwrap()
    };
    let out = info().instance_information_filter_list(legacy("ConnectionLost"));
    assert_eq!(info_ids(&out.send().await.unwrap()), [OFFLINE]);

    // Errors.
    for (filters, expected) in [
        (
            vec![sf("InstanceIds", &[WIN, UNKNOWN])],
            "InvalidInstanceId",
        ),
        (vec![sf("Colour", &["blue"])], "InvalidFilterKey"),
        (
            vec![sf("PingStatus", &["Sleeping"])],
            "InvalidInstanceInformationFilterValue",
        ),
        (
            vec![sf("tag:Role", &["web"]), sf("PingStatus", &["Online"])],
            "InvalidFilterKey",
        ),
        (vec![sf("PingStatus", &[])], VALIDATION),
    ] {
        let call = info().set_filters(Some(filters.clone()));
        assert_eq!(refused(call.send().await), expected, "{filters:?}");
    }
    let both = info().filters(sf("PingStatus", &["Online"]));
    let both = both.instance_information_filter_list(legacy("Online"));
    assert_eq!(refused(both.send().await), "InvalidFilterKey");
    let forged = info().next_token("not-a-token");
    assert_eq!(refused(forged.send().await), "InvalidNextToken");
}

#[tokio::test]
async fn instance_information_page_size_limits() {
    let (_sim, ssm) = generated(60).await;
    let info = || ssm.describe_instance_information();
    let err = info().max_results(51).send().await.unwrap_err();
    assert_eq!(
        message(&err),
        "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"
    );
    assert_eq!(code(&err), VALIDATION);
    assert_eq!(refused(info().max_results(4).send().await), VALIDATION);
    let first = info().max_results(50).send().await.unwrap();
    assert_eq!(first.instance_information_list().len(), 50);
    let second = info()
        .max_results(50)
        .next_token(first.next_token().unwrap());
    let second = second.send().await.unwrap();
    assert_eq!(second.instance_information_list().len(), 10);
    assert!(second.next_token().is_none());
    // Documented default page size: 10.
    for (max_results, len) in [(None, 10), (Some(5), 5)] {
        let out = info().set_max_results(max_results).send().await.unwrap();
        let listed = out.instance_information_list().len();
        assert_eq!(listed, len, "MaxResults {max_results:?}");
    }
}

/// Source: SSM API reference, DescribeInstanceProperties (MaxResults 5..1000, filter keys,
/// `InstanceProperty` fields). It lists what DescribeInstanceInformation lists, with the same
/// values, up to 1,000 a page.
#[tokio::test]
async fn instance_properties_list_what_information_lists() {
    let (_sim, ssm) = setup().await;
    let props = || ssm.describe_instance_properties();
    let all = all_items!(props().max_results(5));
    let info = all_items!(ssm.describe_instance_information().max_results(5));
    assert_eq!(all.len(), info.len());
    for (p, i) in all.iter().zip(&info) {
        assert_eq!(p.instance_id(), i.instance_id());
        assert_eq!(p.ping_status(), i.ping_status());
        assert_eq!(p.platform_type(), i.platform_type());
        assert_eq!(p.platform_name(), i.platform_name());
        assert_eq!(p.computer_name(), i.computer_name());
        // An online agent's last ping moves with the clock between the two calls.
        let ping = |t: Option<&SdkTime>| t.unwrap().as_secs_f64();
        let apart = ping(p.last_ping_date_time()) - ping(i.last_ping_date_time());
        assert!(apart.abs() < 5.0, "{apart}");
        assert_eq!(p.registration_date(), i.registration_date());
        assert_eq!(p.resource_type(), i.resource_type().map(|r| r.as_str()));
    }
    let of = |id: &str| all.iter().find(|p| p.instance_id() == Some(id)).unwrap();
    assert_eq!(of(HYBRID).name(), Some("onprem-db-1"));
    // An EC2 instance's Name is its Name tag.
    assert_eq!(of(WIN).name(), Some(format!("name-{WIN}").as_str()));

    let legacy = |key: InstancePropertyFilterKey, values: &[&str]| {
        let filter = InstancePropertyFilter::builder().key(key);
        filter.set_value_set(strings(values)).build().unwrap()
    };
    let with_op = |key: &str, op: InstancePropertyFilterOperator, values: &[&str]| {
        let filter = InstancePropertyStringFilter::builder()
            .key(key)
            .operator(op);
        filter.set_values(strings(values)).build().unwrap()
    };
    let ids = |out: aws_sdk_ssm::operation::describe_instance_properties::DescribeInstancePropertiesOutput| {
        let list = out.instance_properties().iter();
        list.map(|p| p.instance_id().unwrap().to_string()).collect::<Vec<_>>()
    };
    let lost = legacy(InstancePropertyFilterKey::PingStatus, &["ConnectionLost"]);
    let out = props().instance_property_filter_list(lost).send().await;
    assert_eq!(ids(out.unwrap()), [OFFLINE]);
    let eq = InstancePropertyFilterOperator::Equal;
    let windows = with_op("PlatformTypes", eq.clone(), &["Windows"]);
    let out = props().filters_with_operator(windows).send().await;
    assert_eq!(ids(out.unwrap()), [WIN]);

    // Refused: bad values and ids, what awsim does not emulate, page sizes outside 5..1000.
    let sleeping = legacy(InstancePropertyFilterKey::PingStatus, &["Sleeping"]);
    let call = props().instance_property_filter_list(sleeping);
    assert_eq!(
        refused(call.send().await),
        "InvalidInstancePropertyFilterValue"
    );
    let unknown = legacy(InstancePropertyFilterKey::InstanceIds, &[UNKNOWN]);
    let call = props().instance_property_filter_list(unknown);
    assert_eq!(refused(call.send().await), "InvalidInstanceId");
    let document = legacy(
        InstancePropertyFilterKey::DocumentName,
        &["AWS-RunPatchBaseline"],
    );
    let call = props().instance_property_filter_list(document);
    assert_eq!(refused(call.send().await), "InvalidFilterKey");
    let prefix = with_op(
        "PlatformTypes",
        InstancePropertyFilterOperator::BeginWith,
        &["Win"],
    );
    let call = props().filters_with_operator(prefix);
    assert_eq!(refused(call.send().await), "InvalidFilterKey");
    let forged = props().next_token("not-a-token");
    assert_eq!(refused(forged.send().await), "InvalidNextToken");
    for bad in [4, 1001] {
        let err = props().max_results(bad).send().await.unwrap_err();
        assert_eq!(code(&err), VALIDATION, "MaxResults {bad}");
    }
}

#[tokio::test]
async fn instance_properties_pages_hold_up_to_a_thousand() {
    let (_sim, ssm) = generated(1100).await;
    let props = || ssm.describe_instance_properties();
    let first = props().max_results(1000).send().await.unwrap();
    assert_eq!(first.instance_properties().len(), 1000);
    let next = first.next_token().unwrap();
    let second = props()
        .max_results(1000)
        .next_token(next)
        .send()
        .await
        .unwrap();
    assert_eq!(second.instance_properties().len(), 100);
    assert!(second.next_token().is_none());
    // A token of another operation is refused.
    let info = ssm
        .describe_instance_information()
        .max_results(5)
        .send()
        .await
        .unwrap();
    let theirs = props().next_token(info.next_token().unwrap()).send().await;
    assert_eq!(refused(theirs), "InvalidNextToken");
}

#[tokio::test]
async fn compliance_items_mirror_the_report() {
    let (_sim, ssm) = setup().await;
    let of = |id: &str| ssm.list_compliance_items().resource_ids(id);
    let items = all_items!(of(WIN).resource_types("ManagedInstance").max_results(3));
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
    let item = |id: &str| items.iter().find(|i| i.id() == Some(id)).unwrap();
    let kb2 = item("KB5000002");
    assert_eq!(kb2.compliance_type(), Some("Patch"));
    assert_eq!(kb2.resource_type(), Some("ManagedInstance"));
    assert_eq!(kb2.resource_id(), Some(WIN));
    assert_eq!(kb2.title(), Some("Title of KB5000002"));
    assert_eq!(kb2.severity(), Some(&ComplianceSeverity::High));
    let exec = kb2.execution_summary().unwrap();
    assert_eq!(exec.execution_id(), Some(SCAN_EXECUTION));
    assert_eq!(exec.execution_type(), Some("Command"));
    let time = exec.execution_time().secs();
    assert_eq!(time, secs("2026-11-28T02:03:10Z"));
    let d = kb2.details().unwrap();
    for (key, value) in [
        ("DocumentName", "AWS-RunPatchBaseline"),
        ("PatchState", "Missing"),
        ("PatchSeverity", "Important"),
        ("Classification", "SecurityUpdates"),
        ("PatchBaselineId", "pb-0123456789abcdef0"),
        ("PatchGroup", "prod-windows"),
        ("CVEIds", "CVE-2023-2001,CVE-2023-2002"),
    ] {
        assert_eq!(d[key], value, "{key}");
    }
    assert!(!d.contains_key("InstalledTime"));
    let kb1 = item("KB5000001").details().unwrap();
    assert_eq!(kb1["InstalledTime"], "2023-11-01T10:00:00Z");
    assert_eq!(kb1["PatchState"], "Installed");

    let many: Vec<String> = (0..21).map(|i| format!("v{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    for (filters, n) in [
        (
            cfilters("ComplianceType EQUAL Patch; Status EQUAL NON_COMPLIANT"),
            5,
        ),
        (cfilters("Status NOT_EQUAL COMPLIANT"), 6),
        (cfilters("Id BEGIN_WITH KB500000"), 8),
        (cfilters("PatchState EQUAL Missing,Failed"), 2),
        (cfilters("Severity EQUAL HIGH,CRITICAL"), 4),
        (
            cfilters("ExecutionTime GREATER_THAN 2026-11-28T00:00:00Z"),
            8,
        ),
        (cfilters("ExecutionTime LESS_THAN 2026-11-28T00:00:00Z"), 0),
        (vec![cfilter("Id", &refs[..20], "EQUAL")], 0),
    ] {
        let out = of(WIN).set_filters(Some(filters.clone())).send().await;
        let listed = out.unwrap().compliance_items().len();
        assert_eq!(listed, n, "{filters:?}");
    }
    // The 2020 blog sample's legacy keys and `Equal` spelling.
    let blog = cfilters(
        "AWS:ComplianceItem.Status Equal NON_COMPLIANT;
         AWS:ComplianceItem.ComplianceType Equal Patch;
         AWS:ComplianceItem.Severity Equal CRITICAL",
    );
    let blog = of(WIN).set_filters(Some(blog)).send().await.unwrap();
    let ids: Vec<&str> = blog
        .compliance_items()
        .iter()
        .map(|i| i.id().unwrap())
        .collect();
    assert_eq!(ids, ["KB5000004"]);
    // Errors.
    for (filters, expected) in [
        (cfilters("Colour EQUAL x"), "InvalidFilter"),
        (cfilters("Status SIMILAR x"), VALIDATION),
        (vec![cfilter("Id", &refs, "EQUAL")], VALIDATION),
    ] {
        let call = of(WIN).set_filters(Some(filters.clone()));
        assert_eq!(refused(call.send().await), expected, "{filters:?}");
    }
    let list = || ssm.list_compliance_items();
    let invalid_id = "InvalidResourceId";
    assert_eq!(refused(list().send().await), invalid_id);
    let two = list().resource_ids(WIN).resource_ids(LINUX);
    assert_eq!(refused(two.send().await), invalid_id);
    let ec2 = of(WIN).resource_types("EC2Instance");
    assert_eq!(refused(ec2.send().await), "InvalidResourceType");
    for bad in [0, 51] {
        let call = of(WIN).max_results(bad);
        assert_eq!(refused(call.send().await), VALIDATION, "MaxResults {bad}");
    }
    of(WIN).max_results(50).send().await.unwrap();
    // Never scanned, unknown: nothing to list.
    for id in [HYBRID, UNKNOWN] {
        let out = of(id).send().await.unwrap();
        assert_eq!(out.compliance_items().len(), 0, "{id}");
    }
}

fn severities(s: &SeveritySummary) -> String {
    let counts = [
        ("critical", s.critical_count()),
        ("high", s.high_count()),
        ("medium", s.medium_count()),
        ("low", s.low_count()),
        ("informational", s.informational_count()),
        ("unspecified", s.unspecified_count()),
    ];
    let named = counts.iter().map(|(name, n)| format!("{name}={n}"));
    named.collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn summaries_agree_with_items_and_states() {
    let (_sim, ssm) = setup().await;
    let summaries = || ssm.list_resource_compliance_summaries();
    let rows = all_items!(summaries().max_results(1));
    assert_eq!(
        rows.iter()
            .map(|r| r.resource_id().unwrap())
            .collect::<Vec<_>>(),
        [WIN, LINUX, OFFLINE],
        "never-scanned nodes have no Patch row"
    );
    let w = &rows[0];
    assert_eq!(w.compliance_type(), Some("Patch"));
    assert_eq!(w.status(), Some(&ComplianceStatus::NonCompliant));
    assert_eq!(w.overall_severity(), Some(&ComplianceSeverity::Critical));
    let nc = w.non_compliant_summary().unwrap();
    assert_eq!(nc.non_compliant_count(), 5);
    assert_eq!(
        severities(nc.severity_summary().unwrap()),
        "critical=1 high=2 medium=1 low=1 informational=0 unspecified=0"
    );
    let c = w.compliant_summary().unwrap();
    assert_eq!(c.compliant_count(), 2);
    let s = c.severity_summary().unwrap();
    assert_eq!((s.critical_count(), s.unspecified_count()), (1, 1));
    assert_eq!(
        w.execution_summary().unwrap().execution_id(),
        Some(SCAN_EXECUTION)
    );
    let l = &rows[1];
    assert_eq!(l.status(), Some(&ComplianceStatus::Compliant));
    assert_eq!(l.overall_severity(), Some(&ComplianceSeverity::Unspecified));
    assert_eq!(l.compliant_summary().unwrap().compliant_count(), 3);

    for (filters, expected) in [
        (
            "ComplianceType EQUAL Patch; Status EQUAL NON_COMPLIANT",
            vec![WIN, OFFLINE],
        ),
        (
            "AWS:ComplianceSummary.Status Equal NON_COMPLIANT;
             AWS:ComplianceSummary.ComplianceType Equal Patch",
            vec![WIN, OFFLINE],
        ),
        ("OverallSeverity EQUAL CRITICAL", vec![WIN]),
    ] {
        let call = summaries().set_filters(Some(cfilters(filters)));
        let out = call.send().await.unwrap();
        assert_eq!(summary_ids(&out), expected, "{filters}");
    }
    let severity = summaries().set_filters(Some(cfilters("Severity EQUAL HIGH")));
    assert_eq!(refused(severity.send().await), "InvalidFilter");
    for bad in [0, 51] {
        let call = summaries().max_results(bad);
        assert_eq!(refused(call.send().await), VALIDATION, "MaxResults {bad}");
    }
    summaries().max_results(50).send().await.unwrap();
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

/// A `PutComplianceItems` of `ctype` for `resource`, executed (`Custom`) as `execution` at `at`.
fn put(
    ssm: &Client,
    resource: &str,
    rtype: &str,
    ctype: &str,
    execution: &str,
    at: DateTime<Utc>,
) -> PutComplianceItemsFluentBuilder {
    let summary = ComplianceExecutionSummary::builder()
        .execution_time(SdkTime::from_secs(at.timestamp()))
        .execution_id(execution)
        .execution_type("Custom")
        .build()
        .unwrap();
    let call = ssm.put_compliance_items().resource_id(resource);
    let call = call.resource_type(rtype).compliance_type(ctype);
    call.execution_summary(summary)
}

#[tokio::test]
async fn put_compliance_items_stores_custom_types() {
    use ComplianceSeverity::{High, Low};
    use ComplianceStatus::{Compliant, NonCompliant};
    let (_sim, ssm) = setup().await;
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
    let managed = "ManagedInstance";
    // Antivirus results from execution `execution`, with `hash` over the items.
    let antivirus = |execution, items, hash| {
        let call = put(&ssm, LINUX, managed, "Custom:Antivirus", execution, at);
        call.set_items(Some(items)).item_content_hash(hash).send()
    };
    let of_linux = || ssm.list_compliance_items().resource_ids(LINUX);
    let custom = || of_linux().filters(cfilter("ComplianceType", &["Custom:Antivirus"], "EQUAL"));
    let engine_ok = || vec![entry("engine", High, Compliant)];

    let first = vec![
        entry("engine", High, NonCompliant),
        entry("signatures", Low, Compliant),
    ];
    antivirus("av-1", first, "hash-1").await.unwrap();
    let listed = custom().send().await.unwrap();
    let items = listed.compliance_items();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].id(), Some("engine"));
    assert_eq!(items[0].status(), Some(&NonCompliant));
    let summary = items[0].execution_summary().unwrap();
    assert_eq!(summary.execution_id(), Some("av-1"));
    assert_eq!(summary.execution_time().secs(), at.timestamp());
    assert_eq!(items[0].details().unwrap()["Source"], "awsim-test");
    // Without a type filter, Patch and custom items come together.
    let all = of_linux().send().await.unwrap();
    assert_eq!(all.compliance_items().len(), 5);

    let linux_rows = || {
        let rows = ssm.list_resource_compliance_summaries();
        rows.filters(cfilter("ResourceId", &[LINUX], "EQUAL"))
            .send()
    };
    let rows = linux_rows().await.unwrap();
    let rows = rows.resource_compliance_summary_items();
    let types: Vec<&str> = rows.iter().map(|r| r.compliance_type().unwrap()).collect();
    assert_eq!(types, ["Custom:Antivirus", "Patch"]);
    assert_eq!(rows[0].status(), Some(&NonCompliant));
    assert_eq!(rows[0].overall_severity(), Some(&High));

    // Same content hash: ignored, even with different items.
    antivirus("av-2", engine_ok(), "hash-1").await.unwrap();
    assert_eq!(custom().send().await.unwrap().compliance_items().len(), 2);
    // A new hash replaces the whole set.
    antivirus("av-3", engine_ok(), "hash-2").await.unwrap();
    let replaced = custom().send().await.unwrap();
    assert_eq!(replaced.compliance_items().len(), 1);
    assert_eq!(replaced.compliance_items()[0].status(), Some(&Compliant));

    // At most 10 custom types per resource.
    let check = |i| put(&ssm, LINUX, managed, &format!("Custom:Check{i}"), "x", at);
    for i in 1..10 {
        check(i).set_items(Some(vec![])).send().await.unwrap();
    }
    let eleventh = check(10).set_items(Some(vec![])).send().await;
    assert_eq!(
        refused(eleventh),
        "ComplianceTypeCountLimitExceededException"
    );

    // Errors.
    for (resource, rtype, ctype, expected) in [
        (UNKNOWN, managed, "Custom:A1", "InvalidResourceId"),
        (B_NODE, managed, "Custom:A1", "InvalidResourceId"),
        (WIN, "EC2Instance", "Custom:A1", "InvalidResourceType"),
        (WIN, managed, "Custom:a b", VALIDATION),
    ] {
        let call = put(&ssm, resource, rtype, ctype, "x", at).set_items(Some(vec![]));
        assert_eq!(
            refused(call.send().await),
            expected,
            "{resource} {rtype} {ctype}"
        );
    }
    let severe = ComplianceItemEntry::builder()
        .id("a")
        .severity(ComplianceSeverity::from("SEVERE"))
        .status(Compliant)
        .build()
        .unwrap();
    let call = put(&ssm, WIN, managed, "Custom:A1", "x", at).items(severe);
    assert_eq!(refused(call.send().await), VALIDATION);
}

#[tokio::test]
async fn put_patch_compliance_replaces_the_report_everywhere() {
    use ComplianceSeverity as Severity;
    use ComplianceStatus::{Compliant, NonCompliant};
    let (_sim, ssm) = setup().await;
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 9, 30, 0).unwrap();
    let patch_item = |(id, sev, status, state): (&str, Severity, ComplianceStatus, &str)| {
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
    let items = [
        ("glibc", Severity::Critical, NonCompliant, "Failed"),
        ("bash", Severity::Low, Compliant, "Installed"),
        ("curl", Severity::High, NonCompliant, "Installed"),
    ];
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
        .set_items(Some(items.map(patch_item).to_vec()))
        .send()
        .await
        .unwrap();
    let st = common::ssm::state_of(&ssm, LINUX).await;
    // curl's PatchState contradicts its Status: the Status wins (Missing).
    assert_counts(
        &st,
        "installed=1 missing=1 failed=1 critical_non_compliant=1",
    );
    assert_eq!(st.operation_end_time().secs(), at.timestamp());
    let patches = ssm.describe_instance_patches().instance_id(LINUX);
    let patches = patches.send().await.unwrap();
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
    let glibc = &patches.patches()[2];
    assert_eq!(glibc.cve_ids(), Some("CVE-2024-1,CVE-2024-2"));
    let items = ssm.list_compliance_items().resource_ids(LINUX);
    let items = items.send().await.unwrap();
    assert_eq!(items.compliance_items().len(), 3);
    let manual = BTreeSet::from(["manual-1".to_string()]);
    assert_eq!(common::ssm::executions(&ssm, LINUX).await, manual);
    let rows = ssm.list_resource_compliance_summaries();
    let rows = rows.filters(cfilter("ResourceId", &[LINUX], "EQUAL"));
    let rows = rows.send().await.unwrap();
    let row = &rows.resource_compliance_summary_items()[0];
    let non_compliant = row.non_compliant_summary().unwrap();
    assert_eq!(non_compliant.non_compliant_count(), 2);
    assert_eq!(row.overall_severity(), Some(&Severity::Critical));
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let (sim, a) = setup().await;
    let b: Client = common::client(&sim, B, EAST).await;
    let a_eu: Client = common::client(&sim, A, WEST).await;
    assert_eq!(listed(&b).await, [B_NODE]);
    assert_eq!(listed(&a_eu).await, [EU_NODE]);
    // A cannot see B's node by any door.
    let invalid = "InvalidInstanceId";
    let patches = |id| a.describe_instance_patches().instance_id(id).send();
    assert_eq!(refused(patches(B_NODE).await), invalid);
    let states = a.describe_instance_patch_states().instance_ids(B_NODE);
    let states = states.send().await.unwrap();
    assert!(states.instance_patch_states().is_empty());
    let items = a.list_compliance_items().resource_ids(B_NODE);
    assert!(items.send().await.unwrap().compliance_items().is_empty());
    let by_id = InstanceInformationStringFilter::builder()
        .key("InstanceIds")
        .values(B_NODE)
        .build()
        .unwrap();
    let info = a.describe_instance_information().filters(by_id);
    assert_eq!(refused(info.send().await), invalid);
    let props = b.describe_instance_properties().send().await.unwrap();
    let props: Vec<&str> = props
        .instance_properties()
        .iter()
        .filter_map(|p| p.instance_id())
        .collect();
    assert_eq!(props, [B_NODE]);
    let scan = a
        .send_command()
        .document_name("AWS-RunPatchBaseline")
        .instance_ids(B_NODE)
        .parameters("Operation", vec!["Scan".into()]);
    assert_eq!(refused(scan.send().await), invalid);
    // Nor another Region's.
    assert_eq!(refused(patches(EU_NODE).await), invalid);
    let rows = b.list_resource_compliance_summaries().send().await.unwrap();
    assert_eq!(summary_ids(&rows), [B_NODE]);
    // A Region with nothing in it answers empty.
    let a_west: Client = common::client(&sim, A, "us-west-2").await;
    assert!(listed(&a_west).await.is_empty());
}

#[tokio::test]
async fn unknown_operations_are_refused() {
    let (_sim, ssm) = setup().await;
    let err = ssm.describe_patch_baselines().send().await;
    assert_eq!(refused(err), "UnknownOperationException");
}
