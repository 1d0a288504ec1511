//! `patchhub hub enable|status|disable` and `patchhub cleanup` as a user runs them against an
//! in-process awsim: exit codes 0/1/2, a second run that says there is nothing to change, skipped
//! opt-in Regions as warnings, failures with how to resume, and confirmations for what destroys.

mod support;

use std::path::PathBuf;
use std::process::Output;

use awsim::{Awsim, Config};
use patchhub_testkit::{
    account_ids, assert_mentions, generate, runtime, scenario, start_fleet, with_key,
};
use support::{exited, json, scratch, stderr, stdout};

const ROLE: &str = "PatchhubRole";
const ADMIN_KEY: &str = "AKIATESTHUBADMIN";

fn patchhub(args: &[&str], url: &str) -> Output {
    support::patchhub()
        .args(args)
        .args(["--endpoint-url", url])
        .env("AWS_ACCESS_KEY_ID", ADMIN_KEY)
        .env("AWS_SECRET_ACCESS_KEY", "secret")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("patchhub runs")
}

/// Three generated accounts in two Regions; the static key acts as the second one, the
/// administrator. Returns the sim, the account ids and a CSV of the other two.
fn fleet(rt: &tokio::runtime::Runtime) -> (Awsim, Vec<String>, PathBuf) {
    let fleet = generate("accounts=3,regions=2,instances=3,patches=6,seed=8");
    let ids = account_ids(&fleet);
    let config = with_key(Config::default(), ADMIN_KEY, &ids[1]);
    let sim = rt.block_on(start_fleet(&fleet, config));
    // The administrator is not the management account: the roles name it in their trust.
    scenario::trust_every_account(&sim, ROLE);
    let csv = scratch("hub-cli").join("members.csv");
    std::fs::write(
        &csv,
        format!(
            "AccountId,Email\n{},a@example.com\n{},c@example.com\n",
            ids[0], ids[2]
        ),
    )
    .unwrap();
    (sim, ids, csv)
}

#[test]
fn enable_status_cleanup_disable_as_a_user_runs_them() {
    let rt = runtime();
    let (sim, ids, csv) = fleet(&rt);
    let url = sim.url();
    let csv = csv.to_str().unwrap();
    let regions = "us-east-1,eu-west-1,ap-east-1";
    let enable = [
        "hub",
        "enable",
        "--accounts",
        csv,
        "--role-name",
        ROLE,
        "--regions",
        regions,
        "--home-region",
        "us-east-1",
    ];

    // What is missing or destructive is refused before anything runs.
    let out = patchhub(&["hub", "enable", "--regions", regions], &url);
    assert_mentions(&exited(&out, 2), &["--accounts"]);
    let out = patchhub(&["hub", "enable", "--accounts", csv], &url);
    assert_mentions(&exited(&out, 2), &["--role-name"]);
    let mut far_home = enable.to_vec();
    far_home[9] = "eu-central-1";
    let out = patchhub(&far_home, &url);
    assert_mentions(&exited(&out, 2), &["eu-central-1"]);
    let out = patchhub(&["cleanup", "--regions", regions], &url);
    assert_mentions(&exited(&out, 2), &["--yes"]);
    let out = patchhub(&["hub", "disable", "--disable-hub"], &url);
    assert_mentions(&exited(&out, 2), &["--yes"]);

    // One member's role is missing: the rest is done, exit 1, and stderr says how to resume.
    let role_of = |present: bool| scenario::set_role(&sim, &ids[2], ROLE, present);
    role_of(false);
    let out = patchhub(&[&enable[..], &["--output", "json"]].concat(), &url);
    exited(&out, 1);
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["summary"]["failed"], 1);
    assert!(stderr(&out).contains("to resume"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning") && stderr(&out).contains("ap-east-1"),
        "{}",
        stderr(&out)
    );

    role_of(true);
    let out = patchhub(&[&enable[..], &["--output", "json"]].concat(), &url);
    exited(&out, 0);
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert!(v["summary"]["done"].as_u64().unwrap() > 0);
    let out = patchhub(&[&enable[..], &["--output", "table"]].concat(), &url);
    exited(&out, 0);
    assert!(
        stdout(&out).contains("nothing to change"),
        "{}",
        stdout(&out)
    );

    let out = patchhub(
        &[
            "hub",
            "status",
            "--role-name",
            ROLE,
            "--regions",
            "us-east-1,eu-west-1",
            "--output",
            "json",
        ],
        &url,
    );
    exited(&out, 0);
    let v = json(&out);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    for r in rows {
        let kind = r["relationship"]["kind"].as_str().unwrap();
        if r["account"] == ids[1].as_str() {
            assert_eq!(kind, "administrator");
        } else {
            assert_eq!(kind, "member");
            assert_eq!(r["relationship"]["administrator"], ids[1].as_str());
        }
        assert_eq!(r["hub"], "enabled");
    }
    assert_eq!(v["aggregator"]["home_region"], "us-east-1");
    let out = patchhub(
        &["hub", "status", "--role-name", ROLE, "--output", "table"],
        &url,
    );
    exited(&out, 0);
    assert!(
        stdout(&out).contains("administrator (2 members)"),
        "{}",
        stdout(&out)
    );

    let all = std::path::Path::new(csv).with_file_name("all.csv");
    std::fs::write(&all, ids.join("\n")).unwrap();
    let all = all.to_str().unwrap();
    let out = patchhub(
        &[
            "cleanup",
            "--accounts",
            all,
            "--role-name",
            ROLE,
            "--regions",
            regions,
            "--yes",
            "--output",
            "json",
        ],
        &url,
    );
    exited(&out, 0);
    assert_eq!(json(&out)["summary"]["failed"], 0);

    let disable = [
        "hub",
        "disable",
        "--role-name",
        ROLE,
        "--regions",
        regions,
        "--output",
        "table",
    ];
    let out = patchhub(&disable, &url);
    exited(&out, 0);
    let out = patchhub(&disable, &url);
    exited(&out, 0);
    assert!(
        stdout(&out).contains("nothing to change"),
        "{}",
        stdout(&out)
    );
}
