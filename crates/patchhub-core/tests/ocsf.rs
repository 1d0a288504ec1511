//! OCSF is a second rendering of the same findings: golden OCSF events made from the ASFF
//! golden files, and the identity, dates, classes and resolution semantics both share.
//! `UPDATE_GOLDEN=1 cargo test` rewrites the OCSF golden files; the ASFF ones must not move.
//! `scripts/check-ocsf` validates these files against an independent OCSF JSON Schema.

mod common;

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use common::*;
use patchhub_core::ocsf::{self, Activity};
use patchhub_core::*;
use serde_json::Value;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn golden_ocsf(name: &str, event: &Value) {
    let path = golden_dir().join("ocsf").join(format!("{name}.json"));
    let actual = serde_json::to_string_pretty(event).unwrap() + "\n";
    compare_golden(name, &path, &actual);
}

fn ms(t: DateTime<Utc>) -> Value {
    Value::from(t.timestamp_millis())
}

/// Every OCSF golden file but the resolved ones is the rendering of the ASFF golden file
/// of the same name, read as stored.
#[test]
fn each_asff_golden_file_has_its_ocsf_event() {
    for name in [
        "hybrid_mi_node",
        "linux_package",
        "pending_reboot",
        "rollup",
        "stale_node",
        "windows_kb_cves",
    ] {
        let text = std::fs::read_to_string(golden_dir().join(format!("{name}.json"))).unwrap();
        let f: Finding = serde_json::from_str(&text).unwrap();
        let e = ocsf::event(&f);
        assert_same_finding(&f, &e);
        golden_ocsf(name, &e);
    }
}

/// What both renderings must agree on, for any finding.
fn assert_same_finding(f: &Finding, e: &Value) {
    let info = &e["finding_info"];
    assert_eq!(info["uid"], f.id.as_str());
    assert_eq!(info["title"], f.title.as_str());
    assert_eq!(info["created_time"], ms(f.created_at));
    assert_eq!(info["modified_time"], ms(f.updated_at));
    assert_eq!(e["time"], ms(f.updated_at));
    assert_eq!(info["first_seen_time"], ms(f.first_observed_at.unwrap()));
    assert_eq!(info["last_seen_time"], ms(f.last_observed_at.unwrap()));
    assert_eq!(e["metadata"]["version"], ocsf::OCSF_VERSION);
    assert_eq!(e["metadata"]["product"]["name"], "patchhub");
    assert_eq!(e["cloud"]["provider"], "AWS");
    assert_eq!(e["cloud"]["account"]["uid"], f.aws_account_id.as_str());
    assert_eq!(e["cloud"]["region"], f.region.as_deref().unwrap());
    assert_eq!(e["resource"]["uid"], f.resources[0].id.as_str());
    let class = e["class_uid"].as_u64().unwrap();
    assert_eq!(
        e["type_uid"].as_u64().unwrap(),
        class * 100 + e["activity_id"].as_u64().unwrap()
    );
    assert_eq!(e["category_uid"], 2);
    if class == 2002 {
        let cves: Vec<&str> = e["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["cve"]["uid"].as_str().unwrap())
            .collect();
        let asff: Vec<&str> = f.vulnerabilities.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(cves, asff);
        assert!(e.get("compliance").is_none());
    } else {
        assert_eq!(class, 2003);
        assert!(f.vulnerabilities.is_empty() || f.kind() != Some(FindingKind::Patch));
        assert!(
            e["compliance"]["standards"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
        );
        assert!(e.get("vulnerabilities").is_none());
    }
}

#[test]
fn patches_with_cves_are_vulnerability_findings_the_rest_compliance_findings() {
    let fs = findings_for_node(&windows(), &FindingPolicy::default(), now());
    let class_of = |suffix: &str| {
        let f = fs.iter().find(|f| f.id.ends_with(suffix)).unwrap();
        ocsf::event(f)["class_uid"].as_u64().unwrap()
    };
    assert_eq!(class_of("/patch/KB5031364"), 2002);
    // No CVE: OCSF 1.1.0's vulnerability object needs a cve or a cwe.
    assert_eq!(class_of("/patch/KB5032198"), 2003);
    assert_eq!(class_of("/rollup"), 2003);

    let kb = fs.iter().find(|f| f.id.ends_with("/KB5032198")).unwrap();
    let e = ocsf::event(kb);
    assert_same_finding(kb, &e);
    assert_eq!(e["compliance"]["control"], "KB5032198");
    assert_eq!(e["compliance"]["status"], "Fail");
    assert_eq!(e["remediation"]["kb_article_list"][0]["uid"], "KB5032198");
    golden_ocsf("windows_kb_failed_no_cve", &e);

    let cves = fs.iter().find(|f| f.id.ends_with("/KB5031364")).unwrap();
    let e = ocsf::event(cves);
    let v = &e["vulnerabilities"][0];
    assert_eq!(v["kb_article_list"][0]["uid"], "KB5031364");
    assert_eq!(v["is_fix_available"], true);
    assert_eq!(v["vendor_name"], "Microsoft");
    assert_eq!(e["severity_id"], 5);
}

/// A sweep of the account and Region holding `nc` alone at `t`, imported into `hub`.
fn next_run(hub: &mut FakeHub, nc: NodeCompliance, t: DateTime<Utc>) -> Plan {
    let scope = Scope::all(ACCOUNT, REGION);
    let plan = plan_all(&scope, &[nc], &FindingPolicy::default(), hub.read(), t);
    hub.apply(&plan);
    plan
}

#[test]
fn a_fixed_patch_closes_its_event_and_a_returning_one_reopens_it() {
    let mut hub = FakeHub::default();
    let first = next_run(&mut hub, windows(), now());
    let events = ocsf::plan_events(&first);
    assert_eq!(events.len(), first.counts().imports());
    for (e, f) in events.iter().zip(first.to_import()) {
        assert_same_finding(f, e);
        assert_eq!(e["activity_id"], 1, "{}", f.id);
        assert_eq!(e["status_id"], 1, "{}", f.id);
    }

    // KB5031364 installed: its finding is resolved, not dropped.
    let mut fixed = windows();
    let t2 = scan_end() + Duration::days(1);
    fixed.node.last_operation = Some(op(t2, "install-run"));
    fixed.patches.retain(|p| p.id != "KB5031364");
    fixed.node.counts.missing -= 1;
    fixed.node.counts.installed += 1;
    fixed.node.counts.critical_non_compliant = 0;
    let second = next_run(&mut hub, fixed, t2 + Duration::hours(1));
    let by_id = |plan: &Plan, suffix: &str| {
        plan.changes()
            .find(|(f, _)| f.id.ends_with(suffix))
            .map(|(f, c)| (f.clone(), ocsf::change_event(f, c)))
            .unwrap()
    };
    let (resolved, e) = by_id(&second, "/patch/KB5031364");
    assert_same_finding(&resolved, &e);
    assert_eq!(e["class_uid"], 2002, "same class as when it was open");
    assert_eq!(e["activity_id"], Activity::Close.id());
    assert_eq!(e["type_uid"], 200203);
    assert_eq!(e["status_id"], 4);
    assert_eq!(e["status"], "Resolved");
    assert_eq!(e["unmapped"]["compliance_status"], "PASSED");
    assert_eq!(e["finding_info"]["created_time"], ms(scan_end()));
    // Read on its own (no plan), an archived finding is a Close too.
    assert_eq!(ocsf::event(&resolved)["activity_id"], 3);
    golden_ocsf("windows_kb_cves_resolved", &e);

    let (_, rollup) = by_id(&second, "/rollup");
    assert_eq!(rollup["activity_id"], Activity::Update.id());
    assert_eq!(
        rollup["compliance"]["status_id"], 3,
        "KB5032198 still failed"
    );

    // It comes back: an Update back to New, same uid and creation time.
    let mut back = windows();
    let t3 = t2 + Duration::days(1);
    back.node.last_operation = Some(op(t3, "scan-3"));
    let third = next_run(&mut hub, back, t3 + Duration::hours(1));
    assert_eq!(third.counts().reopen, 1);
    let (reopened, e) = by_id(&third, "/patch/KB5031364");
    assert_same_finding(&reopened, &e);
    assert_eq!(e["activity_id"], 2);
    assert_eq!(e["status_id"], 1);
    assert_eq!(e["finding_info"]["created_time"], ms(scan_end()));
}

#[test]
fn a_resolved_compliance_finding_passes() {
    let scope = Scope::all(ACCOUNT, REGION);
    let policy = FindingPolicy::default();
    let mut hub = FakeHub::default();
    hub.apply(&plan_all(&scope, &[linux()], &policy, hub.read(), now()));
    // The node is gone from SSM: a sweep resolves its roll-up.
    let gone = plan_all(&scope, &[], &policy, hub.read(), now() + Duration::hours(1));
    let (f, c) = gone
        .changes()
        .find(|(f, _)| f.kind() == Some(FindingKind::Rollup))
        .unwrap();
    assert_eq!(c, Change::Resolve);
    let e = ocsf::change_event(f, c);
    assert_eq!(e["class_uid"], 2003);
    assert_eq!(e["activity_id"], 3);
    assert_eq!(e["compliance"]["status"], "Pass");
    assert_eq!(e["status"], "Resolved");
}

#[test]
fn deadline_fields_stay_in_unmapped() {
    let mut f = patch_findings(&windows(), &FindingPolicy::default(), now())
        .into_iter()
        .find(|f| f.patch_id() == Some("KB5031364"))
        .unwrap();
    f.product_fields
        .insert(fields::SLA_DUE_AT.into(), "2024-03-08T10:00:00.000Z".into());
    f.product_fields
        .insert(fields::SLA_BREACHED.into(), "false".into());
    f.product_fields
        .insert(fields::KNOWN_EXPLOITED.into(), "true".into());
    let e = ocsf::event(&f);
    let u = &e["unmapped"]["patchhub"];
    assert_eq!(u["SlaDueAt"], "2024-03-08T10:00:00.000Z");
    assert_eq!(u["SlaBreached"], "false");
    assert_eq!(u["KnownExploited"], "true");
    assert_eq!(u["NodeId"], "i-0123456789abcdef0");
}

#[test]
fn events_of_a_set_keep_its_count_order_and_ids() {
    let fs: Vec<Finding> = [windows(), linux(), hybrid()]
        .iter()
        .flat_map(|nc| findings_for_node(nc, &FindingPolicy::default(), now()))
        .collect();
    let es = ocsf::events(&fs);
    assert_eq!(es.len(), fs.len());
    for (f, e) in fs.iter().zip(&es) {
        assert_same_finding(f, e);
    }
    // The event uid differs per import of a finding and is stable per rendering.
    let mut again = fs[0].clone();
    assert_eq!(
        ocsf::event(&again)["metadata"]["uid"],
        es[0]["metadata"]["uid"]
    );
    again.updated_at += Duration::milliseconds(1);
    assert_ne!(
        ocsf::event(&again)["metadata"]["uid"],
        es[0]["metadata"]["uid"]
    );
}
