//! Every failure class a first run meets, driven through the `patchhub` binary against awsim:
//! each failure is one line on stderr naming where (account, Region, API), what (AWS's code and
//! message) and the fix, with no `Debug` dump, no raw response body, no SDK warning, and the
//! documented exit code (README, "When something fails").

mod support;

use std::process::Output;

use awsim::{Awsim, Config, Fleet};
use patchhub_testkit::{assert_mentions, enable_hubs, generate, runtime, start_fleet, with_key};
use support::{exited, patchhub, run};

const KEY: &str = "AKIATESTFAILURES";

/// An organization of three accounts in one Region, acting as its management account through
/// `KEY`; `edit` changes the fleet before it loads; Security Hub on everywhere when `hubs`.
fn organization(
    rt: &tokio::runtime::Runtime,
    hubs: bool,
    edit: impl FnOnce(&mut Fleet),
) -> (Awsim, Fleet) {
    rt.block_on(async {
        let mut fleet = generate("accounts=3,regions=1,instances=4,patches=8,seed=5");
        edit(&mut fleet);
        let mgmt = fleet.accounts[0].id.clone();
        let sim = start_fleet(&fleet, with_key(Config::default(), KEY, &mgmt)).await;
        if hubs {
            enable_hubs(&sim, &fleet).await;
        }
        (sim, fleet)
    })
}

fn creds(region: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID", KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", "secret".to_string()),
    ];
    if let Some(r) = region {
        env.push(("AWS_REGION", r.to_string()));
    }
    env
}

fn sync(sim: &Awsim, extra: &[&str], env: &[(&'static str, String)]) -> Output {
    let url = sim.url();
    let mut args = vec!["sync", "--endpoint-url", &url, "--output", "json"];
    args.extend_from_slice(extra);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(&args, &env)
}

/// The error lines of `stderr` (the summary `incomplete:` line aside), after checking that every
/// line of stderr is one of patchhub's own, one line each, with no dump and no body.
fn error_lines(stderr: &str) -> Vec<String> {
    for line in stderr.lines() {
        assert!(
            line.starts_with("patchhub: "),
            "a line that is not patchhub's (an SDK warning, a continuation): {line}\n{stderr}"
        );
        for dump in ['{', '}', '<', '>'] {
            assert!(
                !line.contains(dump),
                "`{dump}` in an error line (a Debug dump or a response body): {line}"
            );
        }
        // Before any account or Region is known, a line does not pretend to name them.
        for noise in ["WARN", "ErrorMetadata", "source:", "account -", " in -:"] {
            assert!(!line.contains(noise), "`{noise}` in: {line}");
        }
    }
    stderr
        .lines()
        .filter(|l| !l.starts_with("patchhub: incomplete:"))
        .map(str::to_string)
        .collect()
}

/// Asserts one error line that mentions every one of `parts`; returns it.
fn one_line(o: &Output, code: i32, parts: &[&str]) -> String {
    let line = lines(o, code, 1).remove(0);
    assert_mentions(&line, parts);
    line
}

/// Asserts exactly `n` error lines; returns them.
fn lines(o: &Output, code: i32, n: usize) -> Vec<String> {
    let err = exited(o, code);
    let lines = error_lines(&err);
    assert_eq!(lines.len(), n, "{n} error line(s) expected:\n{err}");
    lines
}

#[test]
fn no_credentials_says_what_to_set_and_hides_the_credential_chain_probes() {
    let rt = runtime();
    let (sim, _) = organization(&rt, true, |_| {});
    // No credentials anywhere, and an instance metadata endpoint that answers (awsim refuses the
    // token request): the SDK's chain probes it and warns, as on a laptop or a misconfigured host.
    let url = sim.url();
    let without_credentials = |verbose: &[&str]| {
        patchhub()
            .args(verbose)
            .args(["sync", "--region", "us-east-1", "--endpoint-url", &url])
            .env("AWS_EC2_METADATA_DISABLED", "false")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url)
            .output()
            .unwrap()
    };
    let out = without_credentials(&[]);
    let line = one_line(
        &out,
        2,
        &[
            "no usable AWS credentials",
            "AWS_PROFILE",
            "--profile",
            "AWS_ACCESS_KEY_ID",
        ],
    );
    assert!(!line.contains("sts:GetCallerIdentity"), "{line}");
    // With -v the SDK's own warnings are there to read.
    let verbose = without_credentials(&["-v"]);
    assert!(
        exited(&verbose, 2).contains("WARN"),
        "-v shows the SDK's warnings"
    );
    drop(rt);
}

#[test]
fn no_region_says_what_to_set() {
    let rt = runtime();
    let (sim, _) = organization(&rt, true, |_| {});
    one_line(
        &sync(&sim, &[], &creds(None)),
        2,
        &["no AWS Region configured", "--region", "AWS_REGION"],
    );
    drop(rt);
}

#[test]
fn an_unknown_role_is_one_line_per_account_naming_the_caller() {
    let rt = runtime();
    let (sim, fleet) = organization(&rt, true, |_| {});
    let mgmt = &fleet.accounts[0].id;
    let out = sync(
        &sim,
        &["--organization", "--role-name", "NoSuchRole"],
        &creds(Some("us-east-1")),
    );
    let mut ids: Vec<&String> = fleet.accounts.iter().map(|a| &a.id).collect();
    ids.sort();
    let lines = lines(&out, 1, ids.len());
    for (line, account) in lines.iter().zip(ids) {
        assert_mentions(
            line,
            &[
                &format!("account {account}: cannot assume NoSuchRole: AccessDenied"),
                &format!("does not exist or does not trust {mgmt}"),
                "--role-name",
            ],
        );
    }
    drop(rt);
}

#[test]
fn a_role_that_does_not_trust_the_caller_is_one_line_with_the_fix() {
    let rt = runtime();
    let (sim, fleet) = organization(&rt, true, |f| {
        // The member's role trusts some other account only.
        for r in &mut f.accounts[2].roles {
            r.trusted_accounts = vec!["999999999999".into()];
        }
    });
    let (mgmt, member) = (&fleet.accounts[0].id, &fleet.accounts[2].id);
    let out = sync(
        &sim,
        &["--organization", "--role-name", "PatchhubRole"],
        &creds(Some("us-east-1")),
    );
    one_line(
        &out,
        1,
        &[
            &format!("account {member}: cannot assume PatchhubRole: AccessDenied"),
            &format!("does not trust {mgmt}"),
            "trust policy",
        ],
    );
    drop(rt);
}

/// A sync of the management account's own Regions (`--regions`; Security Hub on when `hubs`,
/// awsim's `faults` injected) that fails with one error line (exit `code`) mentioning every one
/// of `parts(management account)`.
fn one_failing_sync(
    hubs: bool,
    faults: &str,
    extra: &[&str],
    code: i32,
    parts: impl Fn(&str) -> Vec<String>,
) {
    let rt = runtime();
    let (sim, fleet) = organization(&rt, hubs, |_| {});
    sim.set_faults(faults.parse().unwrap());
    let out = sync(&sim, extra, &creds(Some("us-east-1")));
    let parts = parts(&fleet.accounts[0].id);
    one_line(
        &out,
        code,
        &parts.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    drop(rt);
}

#[test]
fn security_hub_disabled_names_the_account_region_and_the_command_that_enables_it() {
    one_failing_sync(false, "", &[], 1, |mgmt| {
        vec![
            format!("account {mgmt} in us-east-1"),
            "InvalidAccessException".into(),
            "not subscribed".into(),
            "patchhub hub enable".into(),
        ]
    });
}

#[test]
fn a_region_not_enabled_names_it_and_says_to_enable_it_or_leave_it_out() {
    let opt_in = awsim::generate::DISABLED_REGIONS[0];
    let regions = format!("us-east-1,{opt_in}");
    one_failing_sync(true, "", &["--regions", &regions], 1, |mgmt| {
        vec![
            format!("account {mgmt} in {opt_in}"),
            "UnrecognizedClientException".into(),
            "not enabled".into(),
            "--regions".into(),
        ]
    });
}

#[test]
fn throttled_past_retries_is_one_line_and_exit_1() {
    one_failing_sync(true, "throttle=1.0", &["--max-attempts", "2"], 1, |_| {
        vec![
            "Throttling".into(),
            "throttled after retries".into(),
            "run again".into(),
        ]
    });
}

#[test]
fn refused_findings_are_one_line_each_and_exit_1() {
    let rt = runtime();
    let (sim, _) = organization(&rt, true, |_| {});
    sim.set_faults("fail_finding=1.0".parse().unwrap());
    let out = sync(&sim, &[], &creds(Some("us-east-1")));
    let failed = support::json(&out)["total"]["failed"].as_u64().unwrap() as usize;
    assert!(failed > 0);
    // The first 20 are named, one line each; one more line counts the rest.
    let named = failed.min(20);
    let lines = lines(&out, 1, named + usize::from(failed > 20));
    for line in &lines[..named] {
        assert_mentions(line, &["not imported", "InternalFailure"]);
    }
    if failed > 20 {
        assert_mentions(&lines[20], &[&format!("{} more", failed - 20)]);
    }
    drop(rt);
}
