//! `AWS-RunPatchBaseline` through `SendCommand`, and the agreement of every SSM view over a
//! generated fleet, through the real SDK.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{ComplianceQueryOperatorType, ComplianceStringFilter, Target};
use awsim::Awsim;
use awsim::fleet::{AccountSpec, Fleet, InstanceSpec, PatchSpec};
use chrono::{DateTime, Utc};

const ACCT: &str = "123456789012";
const WIN: &str = "i-0aaaaaaaaaaaaaaa1";
const LINUX: &str = "i-0bbbbbbbbbbbbbbb2";
const OFFLINE: &str = "i-0ddddddddddddddd4";
const OLD_EXEC: &str = "11111111-1111-4111-8111-111111111111";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn patch(id: &str, state: &str, csev: &str) -> PatchSpec {
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
}

fn node(id: &str, platform: &str, ping: &str, role: &str, patches: Vec<PatchSpec>) -> InstanceSpec {
    InstanceSpec {
        id: id.into(),
        region: "us-east-1".into(),
        platform_type: platform.into(),
        platform_name: String::new(),
        platform_version: String::new(),
        tags: BTreeMap::from([("Role".to_string(), role.to_string())]),
        ping_status: ping.into(),
        patch_group: None,
        baseline_id: "pb-0123456789abcdef0".into(),
        operation: Some("Scan".into()),
        reboot_option: "RebootIfNeeded".into(),
        operation_start_time: Some(t("2026-11-01T02:00:00Z")),
        operation_end_time: Some(t("2026-11-01T02:05:00Z")),
        execution_id: Some(OLD_EXEC.into()),
        available_security_updates_compliant: false,
        patches,
    }
}

async fn setup() -> (Awsim, Client) {
    let sim = common::start().await;
    sim.load_fleet(Fleet {
        organization: None,
        accounts: vec![AccountSpec {
            id: ACCT.into(),
            name: "acct".into(),
            email: "a@example.com".into(),
            status: "ACTIVE".into(),
            parent: None,
            roles: vec![],
            regions: vec!["us-east-1".into()],
            disabled_regions: vec![],
            instances: vec![
                node(
                    WIN,
                    "Windows",
                    "Online",
                    "app",
                    vec![
                        patch("KB1", "INSTALLED", "HIGH"),
                        patch("KB2", "MISSING", "CRITICAL"),
                        patch("KB3", "FAILED", "HIGH"),
                        patch("KB4", "INSTALLED_PENDING_REBOOT", "HIGH"),
                        patch("KB5", "AVAILABLE_SECURITY_UPDATE", "MEDIUM"),
                        patch("KB6", "INSTALLED_REJECTED", "LOW"),
                        patch("KB7", "NOT_APPLICABLE", "UNSPECIFIED"),
                    ],
                ),
                node(
                    LINUX,
                    "Linux",
                    "Online",
                    "web",
                    vec![
                        patch("bash", "INSTALLED", "HIGH"),
                        patch("curl", "INSTALLED", "HIGH"),
                    ],
                ),
                node(
                    OFFLINE,
                    "Linux",
                    "ConnectionLost",
                    "web",
                    vec![patch("sudo", "MISSING", "HIGH")],
                ),
            ],
        }],
    })
    .unwrap();
    let client = Client::new(&common::default_sdk_config(&sim, "us-east-1"));
    (sim, client)
}

fn code<E: ProvideErrorMetadata, R>(err: aws_sdk_ssm::error::SdkError<E, R>) -> String {
    err.as_service_error()
        .and_then(|e| e.meta().code())
        .unwrap_or("<not a service error>")
        .to_string()
}

async fn state_of(ssm: &Client, id: &str) -> aws_sdk_ssm::types::InstancePatchState {
    ssm.describe_instance_patch_states()
        .instance_ids(id)
        .send()
        .await
        .unwrap()
        .instance_patch_states()[0]
        .clone()
}

async fn patch_states(ssm: &Client, id: &str) -> BTreeMap<String, String> {
    ssm.describe_instance_patches()
        .instance_id(id)
        .max_results(100)
        .send()
        .await
        .unwrap()
        .patches()
        .iter()
        .map(|p| (p.kb_id().to_string(), p.state().as_str().to_string()))
        .collect()
}

fn run(
    ssm: &Client,
    op: &str,
) -> aws_sdk_ssm::operation::send_command::builders::SendCommandFluentBuilder {
    ssm.send_command()
        .document_name("AWS-RunPatchBaseline")
        .parameters("Operation", vec![op.to_string()])
}

#[tokio::test]
async fn scan_reveals_changes_made_behind_patch_managers_back() {
    let (sim, ssm) = setup().await;
    // Someone removes curl's update by hand: SSM does not know yet.
    {
        let mut world = sim.sim().world();
        let truth = world
            .region_mut(ACCT, "us-east-1")
            .ssm
            .true_patches_mut(LINUX)
            .unwrap();
        truth[1].state = "MISSING".into();
        truth[1].installed_time = None;
    }
    let before = state_of(&ssm, LINUX).await;
    assert_eq!(before.missing_count(), 0);
    assert_eq!(
        before.operation_end_time().secs(),
        t("2026-11-01T02:05:00Z").timestamp()
    );

    sim.advance_clock(chrono::Duration::hours(1));
    let out = run(&ssm, "Scan").instance_ids(LINUX).send().await.unwrap();
    let cmd = out.command().unwrap();
    let id = cmd.command_id().unwrap();
    assert_eq!(id.len(), 36);
    assert_ne!(id, OLD_EXEC);
    assert_eq!(cmd.status().unwrap().as_str(), "Success");
    assert_eq!(cmd.document_name(), Some("AWS-RunPatchBaseline"));
    assert_eq!(cmd.target_count(), 1);
    assert_eq!(cmd.completed_count(), 1);
    assert_eq!(cmd.parameters().unwrap()["Operation"], ["Scan"]);

    let after = state_of(&ssm, LINUX).await;
    assert_eq!(after.missing_count(), 1);
    assert_eq!(after.installed_count(), 1);
    assert_eq!(after.operation().as_str(), "Scan");
    let now = sim.sim().clock.now().timestamp();
    assert!((after.operation_end_time().secs() - now).abs() <= 2);
    assert_ne!(after.snapshot_id(), before.snapshot_id());
    // Compliance shows the new execution.
    let items = ssm
        .list_compliance_items()
        .resource_ids(LINUX)
        .send()
        .await
        .unwrap();
    assert!(
        items
            .compliance_items()
            .iter()
            .all(|i| i.execution_summary().unwrap().execution_id() == Some(id))
    );
    // A scan changes nothing on the node itself.
    let exported = sim.export_fleet();
    let linux = exported.accounts[0]
        .instances
        .iter()
        .find(|i| i.id == LINUX)
        .unwrap();
    assert_eq!(linux.patches[1].state, "MISSING");
    assert_eq!(linux.execution_id.as_deref(), Some(id));

    // The invocation is recorded.
    let inv = ssm
        .get_command_invocation()
        .command_id(id)
        .instance_id(LINUX)
        .send()
        .await
        .unwrap();
    assert_eq!(inv.status().unwrap().as_str(), "Success");
    assert_eq!(inv.plugin_name(), Some("PatchLinux"));
    assert_eq!(inv.response_code(), 0);
    let err = ssm
        .get_command_invocation()
        .command_id(id)
        .instance_id(WIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvocationDoesNotExist");
    let err = ssm
        .get_command_invocation()
        .command_id("00000000-0000-4000-8000-000000000000")
        .instance_id(LINUX)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidCommandId");
}

#[tokio::test]
async fn install_with_no_reboot_leaves_patches_pending() {
    let (sim, ssm) = setup().await;
    run(&ssm, "Install")
        .parameters("RebootOption", vec!["NoReboot".into()])
        .instance_ids(WIN)
        .send()
        .await
        .unwrap();
    let states = patch_states(&ssm, WIN).await;
    assert_eq!(states["KB1"], "Installed");
    assert_eq!(states["KB2"], "InstalledPendingReboot");
    assert_eq!(states["KB3"], "InstalledPendingReboot");
    assert_eq!(states["KB4"], "InstalledPendingReboot");
    assert_eq!(states["KB5"], "InstalledPendingReboot");
    assert_eq!(
        states["KB6"], "InstalledRejected",
        "rejected patches are left alone"
    );
    assert_eq!(states["KB7"], "NotApplicable");
    let st = state_of(&ssm, WIN).await;
    assert_eq!(st.operation().as_str(), "Install");
    assert_eq!(st.reboot_option().unwrap().as_str(), "NoReboot");
    assert_eq!(st.installed_pending_reboot_count(), Some(4));
    assert_eq!((st.missing_count(), st.failed_count()), (0, 0));
    let no_reboot_at = st
        .last_no_reboot_install_operation_time()
        .expect("set by a NoReboot install")
        .secs();
    // Still non-compliant: pending reboots and the rejected patch.
    let rows = ssm
        .list_resource_compliance_summaries()
        .filters(
            ComplianceStringFilter::builder()
                .key("ResourceId")
                .values(WIN)
                .r#type(ComplianceQueryOperatorType::Equal)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        rows.resource_compliance_summary_items()[0]
            .non_compliant_summary()
            .unwrap()
            .non_compliant_count(),
        5
    );

    // A later install that may reboot finishes the job.
    sim.advance_clock(chrono::Duration::minutes(30));
    run(&ssm, "Install").instance_ids(WIN).send().await.unwrap();
    let states = patch_states(&ssm, WIN).await;
    for kb in ["KB1", "KB2", "KB3", "KB4", "KB5"] {
        assert_eq!(states[kb], "Installed", "{kb}");
    }
    let st = state_of(&ssm, WIN).await;
    assert_eq!(st.reboot_option().unwrap().as_str(), "RebootIfNeeded");
    assert_eq!(st.installed_count(), 5);
    assert_eq!(st.installed_rejected_count(), Some(1));
    assert_eq!(
        st.last_no_reboot_install_operation_time().unwrap().secs(),
        no_reboot_at,
        "keeps the time of the last NoReboot install"
    );
    // Installed patches carry their installation time; CVEs are no longer reported.
    let patches = ssm
        .describe_instance_patches()
        .instance_id(WIN)
        .send()
        .await
        .unwrap();
    let kb2 = patches
        .patches()
        .iter()
        .find(|p| p.kb_id() == "KB2")
        .unwrap();
    assert!((kb2.installed_time().secs() - sim.sim().clock.now().timestamp()).abs() <= 1900);
    assert!(kb2.cve_ids().is_none());
}

#[tokio::test]
async fn install_with_reboot_installs_directly() {
    let (_sim, ssm) = setup().await;
    run(&ssm, "Install")
        .parameters("RebootOption", vec!["RebootIfNeeded".into()])
        .instance_ids(WIN)
        .send()
        .await
        .unwrap();
    let st = state_of(&ssm, WIN).await;
    assert_eq!(st.installed_count(), 5);
    assert_eq!(st.installed_pending_reboot_count(), Some(0));
    assert!(st.last_no_reboot_install_operation_time().is_none());
    assert_eq!(st.critical_non_compliant_count(), Some(0));
    // The rejected (security) patch stays non-compliant.
    assert_eq!(st.security_non_compliant_count(), Some(1));
    assert_eq!(st.other_non_compliant_count(), Some(0));
}

#[tokio::test]
async fn targets_by_tag_skip_disconnected_nodes() {
    let (sim, ssm) = setup().await;
    sim.advance_clock(chrono::Duration::hours(2));
    let out = run(&ssm, "Install")
        .targets(Target::builder().key("tag:Role").values("web").build())
        .send()
        .await
        .unwrap();
    let cmd = out.command().unwrap();
    assert_eq!(cmd.target_count(), 2);
    assert_eq!(cmd.delivery_timed_out_count(), 1);
    assert_eq!(cmd.status().unwrap().as_str(), "Failed");
    let id = cmd.command_id().unwrap().to_string();
    // The disconnected node kept its old report and its true state.
    let off = state_of(&ssm, OFFLINE).await;
    assert_eq!(off.missing_count(), 1);
    assert_eq!(
        off.operation_end_time().secs(),
        t("2026-11-01T02:05:00Z").timestamp()
    );
    let inv = ssm
        .get_command_invocation()
        .command_id(&id)
        .instance_id(OFFLINE)
        .send()
        .await
        .unwrap();
    assert_eq!(inv.status().unwrap().as_str(), "TimedOut");
    assert_eq!(inv.status_details(), Some("DeliveryTimedOut"));
    // The online web node ran it; the app node was not targeted.
    assert_eq!(state_of(&ssm, LINUX).await.operation().as_str(), "Install");
    assert_eq!(state_of(&ssm, WIN).await.operation().as_str(), "Scan");

    // ListCommands: newest first, filter by instance.
    let first = run(&ssm, "Scan").instance_ids(WIN).send().await.unwrap();
    let listed = ssm.list_commands().send().await.unwrap();
    let ids: Vec<&str> = listed
        .commands()
        .iter()
        .map(|c| c.command_id().unwrap())
        .collect();
    assert_eq!(
        ids,
        [first.command().unwrap().command_id().unwrap(), id.as_str()]
    );
    let for_offline = ssm
        .list_commands()
        .instance_id(OFFLINE)
        .send()
        .await
        .unwrap();
    assert_eq!(for_offline.commands().len(), 1);
    // A node that loses its agent connection stops taking commands.
    assert!(
        sim.sim()
            .world()
            .region_mut(ACCT, "us-east-1")
            .ssm
            .set_ping_status(LINUX, "ConnectionLost", sim.sim().clock.now())
    );
    let before = state_of(&ssm, LINUX).await;
    let lost = run(&ssm, "Scan").instance_ids(LINUX).send().await.unwrap();
    assert_eq!(lost.command().unwrap().delivery_timed_out_count(), 1);
    assert_eq!(
        state_of(&ssm, LINUX).await.snapshot_id(),
        before.snapshot_id()
    );
    let info = ssm.describe_instance_information().send().await.unwrap();
    let linux = info
        .instance_information_list()
        .iter()
        .find(|i| i.instance_id() == Some(LINUX))
        .unwrap();
    assert_eq!(linux.ping_status().unwrap().as_str(), "ConnectionLost");
    let paged: Vec<_> = ssm
        .list_commands()
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(paged.len(), 3);
}

#[tokio::test]
async fn send_command_refuses_what_aws_refuses() {
    let (_sim, ssm) = setup().await;
    let err = ssm
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids(WIN)
        .parameters("commands", vec!["echo hi".into()])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidDocument");
    let err = ssm
        .send_command()
        .document_name("AWS-RunPatchBaseline")
        .instance_ids(WIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameters", "Operation is required");
    let err = run(&ssm, "Patch")
        .instance_ids(WIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameters");
    let err = run(&ssm, "Scan")
        .parameters("RebootOption", vec!["Sometimes".into()])
        .instance_ids(WIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameters");
    let err = run(&ssm, "Scan")
        .parameters("Colour", vec!["blue".into()])
        .instance_ids(WIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidParameters");
    let err = run(&ssm, "Scan")
        .instance_ids("i-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "InvalidInstanceId");
    let err = run(&ssm, "Scan")
        .instance_ids(WIN)
        .instance_ids(WIN)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "DuplicateInstanceId");
    let err = run(&ssm, "Scan")
        .instance_ids("web-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
    let err = run(&ssm, "Scan").send().await.unwrap_err();
    assert_eq!(code(err), "ValidationException", "no targets");
    let err = run(&ssm, "Scan")
        .instance_ids(WIN)
        .targets(Target::builder().key("tag:Role").values("web").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(err),
        "ValidationException",
        "both InstanceIds and Targets"
    );
    let ids: Vec<String> = (0..51).map(|i| format!("i-{i:017}")).collect();
    let err = run(&ssm, "Scan")
        .set_instance_ids(Some(ids))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
    let err = run(&ssm, "Scan")
        .instance_ids(WIN)
        .max_concurrency("0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
    let err = run(&ssm, "Scan")
        .instance_ids(WIN)
        .timeout_seconds(10)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(err), "ValidationException");
}

/// Every view of a generated fleet agrees with the others and with the fleet itself.
#[tokio::test]
async fn every_view_agrees_over_a_generated_fleet() {
    let spec = "accounts=1,regions=1,instances=150,patches=25,seed=11"
        .parse()
        .unwrap();
    let fleet = awsim::generate::generate(&spec, Utc::now());
    let acct = fleet.accounts[0].id.clone();
    let sim = common::start_with(common::config_for_accounts(&[&acct])).await;
    sim.load_fleet(fleet.clone()).unwrap();
    let ssm = Client::new(&common::sdk_config(&sim, &acct, "us-east-1"));
    let nodes = &fleet.accounts[0].instances;

    // Inventory: all nodes, page after page.
    let listed: BTreeSet<String> = ssm
        .describe_instance_information()
        .max_results(7)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    assert_eq!(listed, nodes.iter().map(|n| n.id.clone()).collect());

    // Patch states, 50 ids per call, paged.
    let mut states = BTreeMap::new();
    for chunk in nodes.chunks(50) {
        let pages = ssm
            .describe_instance_patch_states()
            .set_instance_ids(Some(chunk.iter().map(|n| n.id.clone()).collect()))
            .max_results(10)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        for s in pages {
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
    let rows: BTreeMap<String, _> = ssm
        .list_resource_compliance_summaries()
        .filters(
            ComplianceStringFilter::builder()
                .key("ComplianceType")
                .values("Patch")
                .r#type(ComplianceQueryOperatorType::Equal)
                .build(),
        )
        .max_results(13)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.resource_id().unwrap().to_string(), r))
        .collect();
    assert_eq!(rows.keys().cloned().collect::<BTreeSet<_>>(), scanned);

    let mut non_compliant_nodes = 0;
    for n in nodes.iter().filter(|n| n.operation.is_some()) {
        let st = &states[&n.id];
        let asu_nc = if n.available_security_updates_compliant {
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
            .filter(|p| match p.state.as_str() {
                "MISSING" | "FAILED" | "INSTALLED_PENDING_REBOOT" | "INSTALLED_REJECTED" => true,
                "AVAILABLE_SECURITY_UPDATE" => !n.available_security_updates_compliant,
                _ => false,
            })
            .count() as i32;
        let items = ssm
            .list_compliance_items()
            .resource_ids(&n.id)
            .filters(
                ComplianceStringFilter::builder()
                    .key("Status")
                    .values("NON_COMPLIANT")
                    .r#type(ComplianceQueryOperatorType::Equal)
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap()
            .len() as i32;
        let patches = ssm
            .describe_instance_patches()
            .instance_id(&n.id)
            .max_results(100)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .unwrap();
        assert_eq!(patches.len(), n.patches.len(), "{}", n.id);
        let from_patches = patches
            .iter()
            .filter(|p| match p.state().as_str() {
                "Missing" | "Failed" | "InstalledPendingReboot" | "InstalledRejected" => true,
                "AvailableSecurityUpdate" => !n.available_security_updates_compliant,
                _ => false,
            })
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
        assert_eq!(
            row.status().unwrap().as_str(),
            if from_fleet > 0 {
                "NON_COMPLIANT"
            } else {
                "COMPLIANT"
            }
        );
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
    let spec = "accounts=1,regions=1,instances=10000,patches=4,seed=2"
        .parse()
        .unwrap();
    let fleet = awsim::generate::generate(&spec, Utc::now());
    let acct = fleet.accounts[0].id.clone();
    let sim = common::start_with(common::config_for_accounts(&[&acct])).await;
    sim.load_fleet(fleet.clone()).unwrap();
    let ssm = Client::new(&common::sdk_config(&sim, &acct, "us-east-1"));
    let started = std::time::Instant::now();
    let ids: Vec<String> = ssm
        .describe_instance_information()
        .max_results(50)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .iter()
        .map(|i| i.instance_id().unwrap().to_string())
        .collect();
    let info_took = started.elapsed();
    assert_eq!(ids.len(), 10_000);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    let started = std::time::Instant::now();
    let rows = ssm
        .list_resource_compliance_summaries()
        .max_results(50)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let rows_took = started.elapsed();
    let scanned = fleet.accounts[0]
        .instances
        .iter()
        .filter(|i| i.operation.is_some())
        .count();
    assert_eq!(rows.len(), scanned);
    eprintln!(
        "200 DescribeInstanceInformation pages: {info_took:?}; {} summary pages: {rows_took:?}",
        rows.len().div_ceil(50)
    );
    assert_eq!(stats_calls(&sim), 200 + rows.len().div_ceil(50) as u64);
}

fn stats_calls(sim: &Awsim) -> u64 {
    sim.stats().total_calls()
}
