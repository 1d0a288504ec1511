//! Credentials never reach an output: `sync` across an organization (STS sessions minted, one
//! role refused, faults injected so errors are printed), `hub status`, `report` to a file, and
//! `demo`, each at the most verbose logging, never print or write the caller's secret key or
//! session token, nor any secret key or session token STS handed out. AWS is an in-process awsim.

mod support;

use std::path::Path;
use std::process::Output;

use awsim::{Awsim, Config};
use patchhub_testkit::{enable_hubs, generate, runtime, scenario, start_fleet, with_key};
use support::scratch;

const KEY: &str = "AKIATESTSECRETS";
const SECRET: &str = "caller-secret-key-must-never-be-printed";
const TOKEN: &str = "caller-session-token-must-never-be-printed";
const ROLE: &str = "PatchhubRole";

/// Runs patchhub as the management account, at the most verbose logging it has.
fn patchhub(args: &[&str], url: &str) -> Output {
    support::patchhub()
        .args(args)
        .args(["--endpoint-url", url, "-vv"])
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("AWS_REGION", "us-east-1")
        // Everything at TRACE, the orchestrator explicitly too, and the SDK's own switch for
        // logging whole response bodies: nothing of that may print a credential.
        .env(
            "PATCHHUB_LOG",
            "trace,aws_smithy_runtime::client::orchestrator=trace",
        )
        .env("RUST_LOG", "trace")
        .env("LOG_SENSITIVE_BODIES", "true")
        .output()
        .expect("patchhub runs")
}

/// Three accounts in an organization, two Regions, Security Hub on everywhere; the last account
/// has no role to assume. Returns the sim, the Regions and the refused account.
fn fleet(rt: &tokio::runtime::Runtime) -> (Awsim, String, String) {
    let fleet = generate("accounts=3,regions=2,instances=6,patches=8,seed=11");
    let mgmt = fleet
        .organization
        .as_ref()
        .map(|o| o.management_account.clone())
        .unwrap_or_else(|| fleet.accounts[0].id.clone());
    let refused = fleet
        .accounts
        .iter()
        .rfind(|a| a.id != mgmt)
        .map(|a| a.id.clone())
        .unwrap();
    let sim = rt.block_on(async {
        let sim = start_fleet(&fleet, with_key(Config::default(), KEY, &mgmt)).await;
        enable_hubs(&sim, &fleet).await;
        sim
    });
    scenario::edit_account(&sim, &refused, |a| a.roles.clear());
    let regions = fleet.accounts[0].regions.join(",");
    (sim, regions, refused)
}

/// Every secret awsim's STS has handed out: secret keys and session tokens.
fn minted(sim: &Awsim) -> Vec<String> {
    let world = sim.sim().world();
    world
        .sessions
        .iter()
        .flat_map(|(key, s)| [s.secret.clone(), format!("awsim-session-{key}")])
        .collect()
}

struct Seen {
    what: String,
    text: String,
}

fn outputs(what: &str, o: &Output) -> Vec<Seen> {
    vec![
        Seen {
            what: format!("{what}: stdout"),
            text: String::from_utf8_lossy(&o.stdout).into_owned(),
        },
        Seen {
            what: format!("{what}: stderr"),
            text: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
    ]
}

fn files_under(dir: &Path, what: &str, out: &mut Vec<Seen>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, what, out);
        } else {
            out.push(Seen {
                what: format!("{what}: {}", p.display()),
                text: String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
            });
        }
    }
}

fn assert_no_secret(seen: &[Seen], secrets: &[String]) {
    for s in seen {
        for secret in secrets {
            assert!(
                !s.text.contains(secret.as_str()),
                "{} contains the secret `{secret}`: {}",
                s.what,
                s.text
                    .lines()
                    .find(|l| l.contains(secret.as_str()))
                    .unwrap_or_default()
                    .chars()
                    .take(600)
                    .collect::<String>()
            );
        }
        // Whatever awsim minted or will mint, its tokens have this shape.
        assert!(
            !s.text.contains("awsim-session-"),
            "{} contains a session token",
            s.what
        );
    }
}

#[test]
fn no_output_of_sync_hub_or_report_holds_a_credential() {
    let rt = runtime();
    let (sim, regions, refused) = fleet(&rt);
    let url = sim.url();
    let org = [
        "--organization",
        "--role-name",
        ROLE,
        "--regions",
        regions.as_str(),
    ];
    let mut seen = Vec::new();

    // A clean sync first, so the later commands have findings to read.
    let clean = patchhub(&[&["sync", "--output", "json"][..], &org].concat(), &url);
    assert_eq!(
        clean.status.code(),
        Some(1),
        "the refused role makes it partial"
    );
    assert!(
        String::from_utf8_lossy(&clean.stderr).contains(&refused),
        "the refused account is named"
    );
    seen.extend(outputs("sync", &clean));

    // Faults on: throttles, 500s and refused findings, so retries and errors are logged.
    sim.set_faults(
        "throttle=0.2,error=0.1,fail_finding=0.2"
            .parse()
            .expect("fault spec"),
    );
    let faulty = patchhub(
        &[
            &["sync", "--output", "jsonl", "--max-attempts", "2"][..],
            &org,
        ]
        .concat(),
        &url,
    );
    assert_ne!(faulty.status.code(), Some(0));
    let err = String::from_utf8_lossy(&faulty.stderr);
    assert!(
        err.contains("TRACE") || err.contains("DEBUG"),
        "logging is at its most verbose"
    );
    seen.extend(outputs("sync with faults", &faulty));
    sim.set_faults(awsim::faults::FaultSpec::default());

    let status = patchhub(
        &[&["hub", "status", "--output", "json"][..], &org].concat(),
        &url,
    );
    seen.extend(outputs("hub status", &status));

    let dir = scratch("report");
    let html = dir.join("report.html");
    let report = patchhub(
        &[
            &[
                "report",
                "--format",
                "html",
                "--out",
                html.to_str().unwrap(),
            ][..],
            &org,
        ]
        .concat(),
        &url,
    );
    assert!(html.exists(), "{}", String::from_utf8_lossy(&report.stderr));
    seen.extend(outputs("report", &report));
    let json = patchhub(&[&["report", "--format", "json"][..], &org].concat(), &url);
    seen.extend(outputs("report json", &json));
    files_under(&dir, "report", &mut seen);

    let mut secrets = minted(&sim);
    assert!(
        secrets.len() >= 4,
        "STS minted sessions for the fan-out: {}",
        secrets.len()
    );
    secrets.push(SECRET.into());
    secrets.push(TOKEN.into());
    assert_no_secret(&seen, &secrets);
    let _ = std::fs::remove_dir_all(&dir);
    drop(rt);
}

#[test]
fn no_output_of_the_demo_holds_a_credential() {
    let dir = scratch("demo");
    let out = support::patchhub()
        .args([
            "demo",
            "--accounts",
            "2",
            "--regions",
            "1",
            "--instances",
            "5",
        ])
        .args(["--out", dir.to_str().unwrap(), "-vv"])
        .env("PATCHHUB_LOG", "trace")
        .env("LOG_SENSITIVE_BODIES", "true")
        .output()
        .expect("patchhub runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = outputs("demo", &out);
    files_under(&dir, "demo", &mut seen);
    assert!(seen.len() > 2, "the demo wrote its files");
    assert_no_secret(&seen, &["demo-secret".to_string()]);
    let _ = std::fs::remove_dir_all(&dir);
}
