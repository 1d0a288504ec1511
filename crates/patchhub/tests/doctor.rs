//! `patchhub doctor` as a user runs it against an awsim organization: exactly the broken things
//! are ✗, each with its fix, the exit code says whether `sync` can run, and nothing is written.

mod support;

use awsim::{Awsim, Config};
use patchhub_testkit::{assert_mentions, enable_hub, generate, runtime, start_fleet, with_key};
use serde_json::Value;
use support::{exited, json, run, stdout};

const KEY: &str = "AKIATESTDOCTOR";
const REGIONS: &str = "us-east-1,eu-west-1";

/// An organization of three accounts in two Regions, acting as its management account. When
/// `broken`, the third account has no PatchhubRole and the second has Security Hub off in
/// eu-west-1. Returns awsim and the account ids.
fn organization(rt: &tokio::runtime::Runtime, broken: bool) -> (Awsim, Vec<String>) {
    rt.block_on(async {
        let mut fleet = generate("accounts=3,regions=2,instances=4,patches=8,seed=9");
        if broken {
            fleet.accounts[2].roles.retain(|r| r.name != "PatchhubRole");
        }
        let ids: Vec<String> = fleet.accounts.iter().map(|a| a.id.clone()).collect();
        let sim = start_fleet(&fleet, with_key(Config::default(), KEY, &ids[0])).await;
        for a in &fleet.accounts {
            for r in &a.regions {
                if !(broken && a.id == ids[1] && r == "eu-west-1") {
                    enable_hub(&sim, &a.id, r).await;
                }
            }
        }
        (sim, ids)
    })
}

fn doctor(sim: &Awsim, output: &str) -> std::process::Output {
    run(
        &[
            "doctor",
            "--endpoint-url",
            &sim.url(),
            "--organization",
            "--role-name",
            "PatchhubRole",
            "--regions",
            REGIONS,
            "--output",
            output,
        ],
        &[
            ("AWS_ACCESS_KEY_ID", KEY),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_REGION", "us-east-1"),
        ],
    )
}

fn failed(v: &Value) -> Vec<&Value> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect()
}

/// Doctor only reads: no call that enables, creates, imports, updates or deletes anything.
fn assert_read_only(sim: &Awsim) {
    let writes: Vec<String> = sim
        .stats()
        .calls
        .iter()
        .map(|r| r.operation.clone())
        .filter(|op| {
            [
                "Enable", "Create", "Batch", "Update", "Delete", "Send", "Accept", "Invite",
            ]
            .iter()
            .any(|w| op.starts_with(w))
        })
        .collect();
    assert!(writes.is_empty(), "doctor wrote: {writes:?}");
}

#[test]
fn a_missing_role_and_a_disabled_hub_are_exactly_the_two_failures_with_their_fixes() {
    let rt = runtime();
    let (sim, ids) = organization(&rt, true);
    sim.reset_stats();
    let out = doctor(&sim, "json");
    exited(&out, 1);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["caller"], ids[0].as_str());
    let failed = failed(&v);
    assert_eq!(failed.len(), 2, "{failed:#?}");
    let role = failed.iter().find(|c| c["item"] == "role").expect("role ✗");
    assert_eq!(role["account"], ids[2].as_str());
    assert_mentions(
        role["detail"].as_str().unwrap(),
        &["cannot assume PatchhubRole", "AccessDenied"],
    );
    assert_mentions(
        role["fix"].as_str().unwrap(),
        &["does not exist or does not trust", &ids[0], "trust policy"],
    );
    let hub = failed
        .iter()
        .find(|c| c["item"] == "security_hub")
        .expect("hub ✗");
    assert_eq!(
        (&hub["account"], &hub["region"]),
        (&Value::from(ids[1].as_str()), &Value::from("eu-west-1"))
    );
    assert_mentions(
        hub["fix"].as_str().unwrap(),
        &["patchhub hub enable --regions eu-west-1"],
    );
    // Everything else in the entered accounts was checked and is in place or only worth a note.
    let nodes = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["item"] == "nodes" && c["status"] == "ok")
        .count();
    assert_eq!(nodes, 4, "two accounts x two Regions list their nodes");
    assert_read_only(&sim);

    // The table: the same two ✗, each on a line with its fix, and the summary.
    let out = doctor(&sim, "table");
    exited(&out, 1);
    let text = stdout(&out);
    let fixes: Vec<&str> = text.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert_eq!(fixes.len(), 2, "{text}");
    assert!(fixes.iter().all(|l| l.contains("(fix: ")), "{text}");
    assert_mentions(&text, &["2 ✗", "BatchImportFindings cannot be checked"]);
    drop(rt);
}

#[test]
fn a_healthy_organization_exits_0() {
    let rt = runtime();
    let (sim, ids) = organization(&rt, false);
    let out = doctor(&sim, "json");
    exited(&out, 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert!(failed(&v).is_empty());
    // Every account in both Regions was reached and read.
    for id in &ids {
        for region in REGIONS.split(',') {
            let perms = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| {
                    c["account"] == id.as_str()
                        && c["region"] == region
                        && c["item"] == "permissions"
                })
                .unwrap_or_else(|| panic!("{id} {region} checked"));
            assert_eq!(perms["status"], "ok");
            assert_mentions(
                perms["detail"].as_str().unwrap(),
                &[
                    "GetFindings",
                    "DescribeInstancePatches",
                    "BatchImportFindings",
                ],
            );
        }
    }
    drop(rt);
}

#[test]
fn without_credentials_the_first_check_fails_with_what_to_set_and_exit_2() {
    let out = run(
        &[
            "doctor",
            "--region",
            "us-east-1",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--output",
            "json",
        ],
        &[],
    );
    exited(&out, 2);
    let v = json(&out);
    let failed = failed(&v);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["item"], "credentials");
    assert_mentions(
        failed[0]["fix"].as_str().unwrap(),
        &["AWS_PROFILE", "AWS_ACCESS_KEY_ID"],
    );
}
