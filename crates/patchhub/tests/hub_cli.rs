//! `patchhub hub enable|status|disable` and `patchhub cleanup` as a user runs them against an
//! in-process awsim: exit codes 0/1/2, a second run that says there is nothing to change, skipped
//! opt-in Regions as warnings, failures with how to resume, and confirmations for what destroys.

mod support;

use std::path::PathBuf;
use std::process::Output;

use awsim::{Awsim, Config};

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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Three generated accounts in two Regions; the static key acts as the second one, the
/// administrator. Returns the sim, the account ids and a CSV of the other two.
fn fleet(rt: &tokio::runtime::Runtime) -> (Awsim, Vec<String>, PathBuf) {
    rt.block_on(async {
        let spec: awsim::GenerateSpec = "accounts=3,regions=2,instances=3,patches=6,seed=8"
            .parse()
            .unwrap();
        let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
        let ids: Vec<String> = fleet.accounts.iter().map(|a| a.id.clone()).collect();
        let mut config = Config::default();
        config.static_keys.insert(ADMIN_KEY.into(), ids[1].clone());
        let sim = Awsim::start(config).await.unwrap();
        sim.load_fleet(fleet).unwrap();
        let dir = std::env::temp_dir().join(format!("patchhub-hub-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("members.csv");
        std::fs::write(
            &csv,
            format!(
                "AccountId,Email\n{},a@example.com\n{},c@example.com\n",
                ids[0], ids[2]
            ),
        )
        .unwrap();
        (sim, ids, csv)
    })
}

#[test]
fn enable_status_cleanup_disable_as_a_user_runs_them() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .unwrap();
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
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--accounts"), "{}", stderr(&out));
    let out = patchhub(&["hub", "enable", "--accounts", csv], &url);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--role-name"), "{}", stderr(&out));
    let mut far_home = enable.to_vec();
    far_home[9] = "eu-central-1";
    let out = patchhub(&far_home, &url);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("eu-central-1"), "{}", stderr(&out));
    let out = patchhub(&["cleanup", "--regions", regions], &url);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let out = patchhub(&["hub", "disable", "--disable-hub"], &url);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));

    // One member's role is missing: the rest is done, exit 1, and stderr says how to resume.
    let role_of = |present: bool| {
        let mut f = sim.export_fleet();
        let a = f.accounts.iter_mut().find(|a| a.id == ids[2]).unwrap();
        a.roles.retain(|r| r.name != ROLE);
        if present {
            a.roles.push(awsim::fleet::RoleSpec {
                name: ROLE.into(),
                external_id: None,
            });
        }
        sim.load_fleet(f).unwrap();
    };
    role_of(false);
    let out = patchhub(&[&enable[..], &["--output", "json"]].concat(), &url);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert!(v["summary"]["done"].as_u64().unwrap() > 0);
    let out = patchhub(&[&enable[..], &["--output", "table"]].concat(), &url);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = patchhub(&disable, &url);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("nothing to change"),
        "{}",
        stdout(&out)
    );
}
