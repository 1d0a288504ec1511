//! `AWS-RunPatchBaseline` through `SendCommand`, and the agreement of every SSM view over a
//! generated fleet, through the real SDK.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::operation::get_command_invocation::builders::GetCommandInvocationFluentBuilder;
use aws_sdk_ssm::operation::send_command::builders::SendCommandFluentBuilder;
use aws_sdk_ssm::types::Target;
use awsim::Awsim;
use awsim::fleet::{AccountSpec, InstanceSpec, PatchSpec};
use chrono::{DateTime, Utc};
use common::ssm::{assert_counts, cfilter, executions, state_of};
use common::{DEFAULT_ACCOUNT as ACCT, EAST, SCAN_EXECUTION as OLD_EXEC, all_items, refused};

const WIN: &str = "i-0aaaaaaaaaaaaaaa1";
const LINUX: &str = "i-0bbbbbbbbbbbbbbb2";
const OFFLINE: &str = "i-0ddddddddddddddd4";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Patches written as text: `ID STATE COMPLIANCE_SEVERITY; …`, security updates with one CVE.
fn patches(spec: &str) -> Vec<PatchSpec> {
    let patch = |text: &str| {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [id, state, csev] = words[..] else {
            panic!("not ID STATE SEVERITY: {text:?}")
        };
        PatchSpec {
            id: id.into(),
            title: format!("Title of {id}"),
            classification: "SecurityUpdates".into(),
            severity: "Important".into(),
            compliance_severity: csev.into(),
            state: state.into(),
            cve_ids: vec!["CVE-2024-0001".into()],
            installed_time: state
                .starts_with("INSTALLED")
                .then(|| t("2024-01-01T00:00:00Z")),
        }
    };
    spec.split(';').map(patch).collect()
}

fn node(id: &str, platform: &str, ping: &str, role: &str, patches: Vec<PatchSpec>) -> InstanceSpec {
    InstanceSpec {
        tags: BTreeMap::from([("Role".to_string(), role.to_string())]),
        ping_status: ping.into(),
        operation_start_time: Some(t("2026-11-01T02:00:00Z")),
        operation_end_time: Some(t("2026-11-01T02:05:00Z")),
        available_security_updates_compliant: false,
        ..common::node(id, platform, patches)
    }
}

async fn setup() -> (Awsim, Client) {
    let windows = patches(
        "KB1 INSTALLED HIGH; KB2 MISSING CRITICAL; KB3 FAILED HIGH;
         KB4 INSTALLED_PENDING_REBOOT HIGH; KB5 AVAILABLE_SECURITY_UPDATE MEDIUM;
         KB6 INSTALLED_REJECTED LOW; KB7 NOT_APPLICABLE UNSPECIFIED",
    );
    let linux = patches("bash INSTALLED HIGH; curl INSTALLED HIGH");
    let offline = patches("sudo MISSING HIGH");
    let instances = vec![
        node(WIN, "Windows", "Online", "app", windows),
        node(LINUX, "Linux", "Online", "web", linux),
        node(OFFLINE, "Linux", "ConnectionLost", "web", offline),
    ];
    let account = AccountSpec {
        instances,
        ..common::account(ACCT)
    };
    let sim = common::start_loaded(&common::standalone(vec![account])).await;
    let client = common::client(&sim, ACCT, EAST).await;
    (sim, client)
}

/// The state of each patch of node `id`, `KB=State` in KB order.
async fn patch_states(ssm: &Client, id: &str) -> String {
    let call = ssm
        .describe_instance_patches()
        .instance_id(id)
        .max_results(100);
    let out = call.send().await.unwrap();
    let mut states: Vec<String> = out
        .patches()
        .iter()
        .map(|p| format!("{}={}", p.kb_id(), p.state().as_str()))
        .collect();
    states.sort();
    states.join(" ")
}

/// `AWS-RunPatchBaseline` with `Operation` `op`.
fn run(ssm: &Client, op: &str) -> SendCommandFluentBuilder {
    ssm.send_command()
        .document_name("AWS-RunPatchBaseline")
        .parameters("Operation", vec![op.to_string()])
}

fn invocation(ssm: &Client, command: &str, node: &str) -> GetCommandInvocationFluentBuilder {
    let call = ssm.get_command_invocation().command_id(command);
    call.instance_id(node)
}

/// Nodes tagged `Role=web`.
fn web() -> Target {
    Target::builder().key("tag:Role").values("web").build()
}

#[tokio::test]
async fn scan_reveals_changes_made_behind_patch_managers_back() {
    let (sim, ssm) = setup().await;
    // Someone removes curl's update by hand: SSM does not know yet.
    {
        let mut world = sim.sim().world();
        let truth = world
            .region_mut(ACCT, EAST)
            .ssm
            .true_patches_mut(LINUX)
            .unwrap();
        truth[1].state = "MISSING".into();
        truth[1].installed_time = None;
    }
    let before = state_of(&ssm, LINUX).await;
    assert_eq!(before.missing_count(), 0);
    let scanned_at = t("2026-11-01T02:05:00Z").timestamp();
    assert_eq!(before.operation_end_time().secs(), scanned_at);

    sim.advance_clock(chrono::Duration::hours(1));
    let out = run(&ssm, "Scan").instance_ids(LINUX).send().await.unwrap();
    let cmd = out.command().unwrap();
    let id = cmd.command_id().unwrap();
    assert_eq!(id.len(), 36);
    assert_ne!(id, OLD_EXEC);
    assert_eq!(cmd.status().unwrap().as_str(), "Success");
    assert_eq!(cmd.document_name(), Some("AWS-RunPatchBaseline"));
    assert_eq!((cmd.target_count(), cmd.completed_count()), (1, 1));
    assert_eq!(cmd.parameters().unwrap()["Operation"], ["Scan"]);

    let after = state_of(&ssm, LINUX).await;
    assert_counts(&after, "installed=1 missing=1");
    assert_eq!(after.operation().as_str(), "Scan");
    let now = sim.sim().clock.now().timestamp();
    assert!((after.operation_end_time().secs() - now).abs() <= 2);
    assert_ne!(after.snapshot_id(), before.snapshot_id());
    // Compliance shows the new execution.
    assert_eq!(executions(&ssm, LINUX).await, BTreeSet::from([id.into()]));
    // A scan changes nothing on the node itself.
    let exported = sim.export_fleet();
    let nodes = &exported.accounts[0].instances;
    let linux = nodes.iter().find(|i| i.id == LINUX).unwrap();
    assert_eq!(linux.patches[1].state, "MISSING");
    assert_eq!(linux.execution_id.as_deref(), Some(id));

    // The invocation is recorded.
    let inv = invocation(&ssm, id, LINUX).send().await.unwrap();
    assert_eq!(inv.status().unwrap().as_str(), "Success");
    assert_eq!(inv.plugin_name(), Some("PatchLinux"));
    assert_eq!(inv.response_code(), 0);
    let elsewhere = invocation(&ssm, id, WIN).send().await;
    assert_eq!(refused(elsewhere), "InvocationDoesNotExist");
    let unknown = "00000000-0000-4000-8000-000000000000";
    let never = invocation(&ssm, unknown, LINUX).send().await;
    assert_eq!(refused(never), "InvalidCommandId");
}

#[tokio::test]
async fn install_with_no_reboot_leaves_patches_pending() {
    let (sim, ssm) = setup().await;
    let no_reboot = run(&ssm, "Install").parameters("RebootOption", vec!["NoReboot".into()]);
    no_reboot.instance_ids(WIN).send().await.unwrap();
    // Rejected patches are left alone.
    assert_eq!(
        patch_states(&ssm, WIN).await,
        "KB1=Installed KB2=InstalledPendingReboot KB3=InstalledPendingReboot \
         KB4=InstalledPendingReboot KB5=InstalledPendingReboot KB6=InstalledRejected \
         KB7=NotApplicable"
    );
    let st = state_of(&ssm, WIN).await;
    assert_eq!(st.operation().as_str(), "Install");
    assert_eq!(st.reboot_option().unwrap().as_str(), "NoReboot");
    assert_counts(&st, "pending_reboot=4 missing=0 failed=0");
    let no_reboot_at = st
        .last_no_reboot_install_operation_time()
        .expect("set by a NoReboot install")
        .secs();
    // Still non-compliant: pending reboots and the rejected patch.
    let rows = ssm.list_resource_compliance_summaries();
    let rows = rows.filters(cfilter("ResourceId", &[WIN], "EQUAL"));
    let rows = rows.send().await.unwrap();
    let summary = rows.resource_compliance_summary_items()[0].non_compliant_summary();
    assert_eq!(summary.unwrap().non_compliant_count(), 5);

    // A later install that may reboot finishes the job.
    sim.advance_clock(chrono::Duration::minutes(30));
    run(&ssm, "Install").instance_ids(WIN).send().await.unwrap();
    assert_eq!(
        patch_states(&ssm, WIN).await,
        "KB1=Installed KB2=Installed KB3=Installed KB4=Installed KB5=Installed \
         KB6=InstalledRejected KB7=NotApplicable"
    );
    let st = state_of(&ssm, WIN).await;
    assert_eq!(st.reboot_option().unwrap().as_str(), "RebootIfNeeded");
    assert_counts(&st, "installed=5 rejected=1");
    assert_eq!(
        st.last_no_reboot_install_operation_time().unwrap().secs(),
        no_reboot_at,
        "keeps the time of the last NoReboot install"
    );
    // Installed patches carry their installation time; CVEs are no longer reported.
    let patches = ssm.describe_instance_patches().instance_id(WIN);
    let patches = patches.send().await.unwrap();
    let kb2 = patches.patches().iter().find(|p| p.kb_id() == "KB2");
    let kb2 = kb2.unwrap();
    let now = sim.sim().clock.now().timestamp();
    assert!((kb2.installed_time().secs() - now).abs() <= 1900);
    assert!(kb2.cve_ids().is_none());
}

#[tokio::test]
async fn install_with_reboot_installs_directly() {
    let (_sim, ssm) = setup().await;
    let reboot = vec!["RebootIfNeeded".into()];
    let install = run(&ssm, "Install").parameters("RebootOption", reboot);
    install.instance_ids(WIN).send().await.unwrap();
    let st = state_of(&ssm, WIN).await;
    // The rejected (security) patch stays non-compliant.
    assert_counts(
        &st,
        "installed=5 pending_reboot=0 critical_non_compliant=0 security_non_compliant=1
         other_non_compliant=0",
    );
    assert!(st.last_no_reboot_install_operation_time().is_none());
}

#[tokio::test]
async fn targets_by_tag_skip_disconnected_nodes() {
    let (sim, ssm) = setup().await;
    sim.advance_clock(chrono::Duration::hours(2));
    let out = run(&ssm, "Install").targets(web()).send().await.unwrap();
    let cmd = out.command().unwrap();
    assert_eq!((cmd.target_count(), cmd.delivery_timed_out_count()), (2, 1));
    assert_eq!(cmd.status().unwrap().as_str(), "Failed");
    let id = cmd.command_id().unwrap().to_string();
    // The disconnected node kept its old report and its true state.
    let off = state_of(&ssm, OFFLINE).await;
    assert_eq!(off.missing_count(), 1);
    let scanned_at = t("2026-11-01T02:05:00Z").timestamp();
    assert_eq!(off.operation_end_time().secs(), scanned_at);
    let inv = invocation(&ssm, &id, OFFLINE).send().await.unwrap();
    assert_eq!(inv.status().unwrap().as_str(), "TimedOut");
    assert_eq!(inv.status_details(), Some("DeliveryTimedOut"));
    // The online web node ran it; the app node was not targeted.
    assert_eq!(state_of(&ssm, LINUX).await.operation().as_str(), "Install");
    assert_eq!(state_of(&ssm, WIN).await.operation().as_str(), "Scan");

    // ListCommands: newest first, filter by instance.
    let first = run(&ssm, "Scan").instance_ids(WIN).send().await.unwrap();
    let first = first.command().unwrap().command_id().unwrap();
    let listed = ssm.list_commands().send().await.unwrap();
    let ids: Vec<&str> = listed
        .commands()
        .iter()
        .map(|c| c.command_id().unwrap())
        .collect();
    assert_eq!(ids, [first, id.as_str()]);
    let for_offline = ssm.list_commands().instance_id(OFFLINE).send().await;
    assert_eq!(for_offline.unwrap().commands().len(), 1);
    // A node that loses its agent connection stops taking commands.
    let now = sim.sim().clock.now();
    let disconnected = {
        let mut world = sim.sim().world();
        let ssm_truth = &mut world.region_mut(ACCT, EAST).ssm;
        ssm_truth.set_ping_status(LINUX, "ConnectionLost", now)
    };
    assert!(disconnected);
    let before = state_of(&ssm, LINUX).await;
    let lost = run(&ssm, "Scan").instance_ids(LINUX).send().await.unwrap();
    assert_eq!(lost.command().unwrap().delivery_timed_out_count(), 1);
    let after = state_of(&ssm, LINUX).await;
    assert_eq!(after.snapshot_id(), before.snapshot_id());
    let info = ssm.describe_instance_information().send().await.unwrap();
    let linux = info
        .instance_information_list()
        .iter()
        .find(|i| i.instance_id() == Some(LINUX))
        .unwrap();
    assert_eq!(linux.ping_status().unwrap().as_str(), "ConnectionLost");
    let paged = all_items!(ssm.list_commands().max_results(1));
    assert_eq!(paged.len(), 3);
}

#[tokio::test]
async fn send_command_refuses_what_aws_refuses() {
    let (_sim, ssm) = setup().await;
    let params = "InvalidParameters";
    let validation = "ValidationException";
    let scan = || run(&ssm, "Scan");
    let option = |name: &str, value: &str| scan().parameters(name, vec![value.into()]);
    let patch_baseline = || ssm.send_command().document_name("AWS-RunPatchBaseline");
    let shell = ssm.send_command().document_name("AWS-RunShellScript");
    let shell = shell.parameters("commands", vec!["echo hi".into()]);
    let fifty_one: Vec<String> = (0..51).map(|i| format!("i-{i:017}")).collect();
    for (call, expected, why) in [
        (
            shell.instance_ids(WIN),
            "InvalidDocument",
            "not a patch document",
        ),
        (
            patch_baseline().instance_ids(WIN),
            params,
            "Operation is required",
        ),
        (
            run(&ssm, "Patch").instance_ids(WIN),
            params,
            "an unknown Operation",
        ),
        (
            option("RebootOption", "Sometimes").instance_ids(WIN),
            params,
            "RebootOption",
        ),
        (
            option("Colour", "blue").instance_ids(WIN),
            params,
            "an unknown parameter",
        ),
        (
            scan().instance_ids("i-0123456789abcdef0"),
            "InvalidInstanceId",
            "unknown node",
        ),
        (
            scan().instance_ids(WIN).instance_ids(WIN),
            "DuplicateInstanceId",
            "twice",
        ),
        (scan().instance_ids("web-1"), validation, "malformed id"),
        (scan(), validation, "no targets"),
        (
            scan().instance_ids(WIN).targets(web()),
            validation,
            "both InstanceIds and Targets",
        ),
        (
            scan().set_instance_ids(Some(fifty_one)),
            validation,
            "51 nodes",
        ),
        (
            scan().instance_ids(WIN).max_concurrency("0"),
            validation,
            "MaxConcurrency 0",
        ),
        (
            scan().instance_ids(WIN).timeout_seconds(10),
            validation,
            "TimeoutSeconds 10",
        ),
    ] {
        assert_eq!(refused(call.send().await), expected, "{why}");
    }
}

/// The fleet's spelling of a state the SDK reports in AWS's CamelCase:
/// `InstalledPendingReboot` is `INSTALLED_PENDING_REBOOT`; other spellings stay as they are.
fn fleet_spelling(state: &str) -> String {
    if !state.starts_with(|c: char| c.is_ascii_uppercase()) {
        return state.to_string();
    }
    let mut out = String::new();
    for (i, c) in state.chars().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Every view of a generated fleet agrees with the others and with the fleet itself.
#[tokio::test]
async fn every_view_agrees_over_a_generated_fleet() {
    let spec = "accounts=1,regions=1,instances=150,patches=25,seed=11";
    let (sim, fleet) = common::start_generated(spec).await;
    let ssm: Client = common::client(&sim, &fleet.accounts[0].id, EAST).await;
    let nodes = &fleet.accounts[0].instances;

    // Inventory: all nodes, page after page.
    let info = all_items!(ssm.describe_instance_information().max_results(7));
    let listed: BTreeSet<String> = info
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    assert_eq!(listed, nodes.iter().map(|n| n.id.clone()).collect());

    // Patch states, 50 ids per call, paged.
    let mut states = BTreeMap::new();
    for chunk in nodes.chunks(50) {
        let ids = chunk.iter().map(|n| n.id.clone()).collect();
        let call = ssm
            .describe_instance_patch_states()
            .set_instance_ids(Some(ids));
        for s in all_items!(call.max_results(10)) {
            states.insert(s.instance_id().to_string(), s);
        }
    }
    let scanned: BTreeSet<String> = nodes
        .iter()
        .filter(|n| n.operation.is_some())
        .map(|n| n.id.clone())
        .collect();
    assert_eq!(states.keys().cloned().collect::<BTreeSet<_>>(), scanned);

    // Resource summaries (Patch rows only exist for scanned nodes).
    let summaries = ssm.list_resource_compliance_summaries();
    let patch_rows = summaries.filters(cfilter("ComplianceType", &["Patch"], "EQUAL"));
    let rows: BTreeMap<String, _> = all_items!(patch_rows.max_results(13))
        .into_iter()
        .map(|r| (r.resource_id().unwrap().to_string(), r))
        .collect();
    assert_eq!(rows.keys().cloned().collect::<BTreeSet<_>>(), scanned);

    let mut non_compliant_nodes = 0;
    for n in nodes.iter().filter(|n| n.operation.is_some()) {
        let asu_compliant = n.available_security_updates_compliant;
        let st = &states[&n.id];
        let asu_nc = if asu_compliant {
            0
        } else {
            st.available_security_update_count().unwrap()
        };
        let from_states = st.missing_count()
            + st.failed_count()
            + st.installed_pending_reboot_count().unwrap()
            + st.installed_rejected_count().unwrap()
            + asu_nc;
        let from_fleet = n
            .patches
            .iter()
            .filter(|p| common::counts_against(&p.state, asu_compliant))
            .count() as i32;
        let of_node = ssm.list_compliance_items().resource_ids(&n.id);
        let non_compliant = of_node.filters(cfilter("Status", &["NON_COMPLIANT"], "EQUAL"));
        let items = all_items!(non_compliant).len() as i32;
        let patches = ssm.describe_instance_patches().instance_id(&n.id);
        let patches = all_items!(patches.max_results(100));
        assert_eq!(patches.len(), n.patches.len(), "{}", n.id);
        let from_patches = patches
            .iter()
            .filter(|p| common::counts_against(&fleet_spelling(p.state().as_str()), asu_compliant))
            .count() as i32;
        let row = &rows[&n.id];
        let from_summary = row.non_compliant_summary().unwrap().non_compliant_count();
        assert_eq!(
            (from_states, from_patches, items, from_summary),
            (from_fleet, from_fleet, from_fleet, from_fleet),
            "{}",
            n.id
        );
        let crit_sec_other = st.critical_non_compliant_count().unwrap()
            + st.security_non_compliant_count().unwrap()
            + st.other_non_compliant_count().unwrap();
        assert!(crit_sec_other >= from_states, "{}", n.id);
        let status = if from_fleet > 0 {
            "NON_COMPLIANT"
        } else {
            "COMPLIANT"
        };
        assert_eq!(row.status().unwrap().as_str(), status);
        if from_fleet > 0 {
            non_compliant_nodes += 1;
        }
    }
    assert!(
        non_compliant_nodes > 20,
        "{non_compliant_nodes} non-compliant nodes"
    );
}

/// Paging through a 10,000-node Region: every node once, in order, without slowing down.
#[tokio::test]
async fn ten_thousand_nodes_page_through() {
    let spec = "accounts=1,regions=1,instances=10000,patches=4,seed=2";
    let (sim, fleet) = common::start_generated(spec).await;
    let ssm: Client = common::client(&sim, &fleet.accounts[0].id, EAST).await;
    let started = std::time::Instant::now();
    let info = all_items!(ssm.describe_instance_information().max_results(50));
    let ids: Vec<String> = info
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    let info_took = started.elapsed();
    assert_eq!(ids.len(), 10_000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    let started = std::time::Instant::now();
    let rows = all_items!(ssm.list_resource_compliance_summaries().max_results(50));
    let rows_took = started.elapsed();
    let instances = fleet.accounts[0].instances.iter();
    let scanned = instances.filter(|i| i.operation.is_some()).count();
    assert_eq!(rows.len(), scanned);
    let summary_pages = rows.len().div_ceil(50);
    eprintln!(
        "200 DescribeInstanceInformation pages: {info_took:?}; {summary_pages} summary pages: \
         {rows_took:?}"
    );
    assert_eq!(sim.stats().total_calls(), 200 + summary_pages as u64);
}
