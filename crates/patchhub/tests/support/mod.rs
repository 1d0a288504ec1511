//! Shared by the tests of the `patchhub` binary: the binary in a clean environment and what it
//! printed. The awsim set-up is the workspace's test kit (`patchhub-testkit`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use awsim::{Awsim, Config, Fleet};
use patchhub_testkit::{enable_hubs, generate, start_fleet, with_key};

/// The `patchhub` binary in a clean AWS environment: no profile files, no instance metadata (so
/// no network), no stray credentials or `PATCHHUB_*` settings from the machine running the tests.
pub fn patchhub() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchhub"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_CONFIG_FILE", "/nonexistent/patchhub-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/patchhub-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Static credentials for `key` in us-east-1, as the environment of [`run`].
pub const fn creds(key: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_REGION", "us-east-1"),
    ]
}

/// Runs `patchhub ARGS` with `env` added.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    patchhub()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("patchhub runs")
}

/// What it printed on stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// What it printed on stderr.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Asserts that the process exited with `code`; what it printed on stderr.
pub fn exited(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    err
}

/// Its stdout as JSON (a failure shows both streams).
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

/// `patchhub sync --dry-run --output FORMAT` against the awsim at `url`: exit 0, one JSON
/// document a line (a finding in ASFF, an event in OCSF).
pub fn dry_run(url: &str, format: &str, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let out = run(
        &[
            "sync",
            "--endpoint-url",
            url,
            "--dry-run",
            "--output",
            format,
        ],
        env,
    );
    exited(&out, 0);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON document"))
        .collect()
}

/// A fresh, empty directory of this test process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchhub-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A generated fleet with Security Hub on everywhere, served in `rt`, with the static key `key`
/// acting as its first account (whose id comes back).
pub fn fleet_as(rt: &tokio::runtime::Runtime, spec: &str, key: &str) -> (Awsim, String) {
    let (sim, _, account) = fleet_of(rt, spec, key);
    (sim, account)
}

/// [`fleet_as`], with the fleet itself.
pub fn fleet_of(rt: &tokio::runtime::Runtime, spec: &str, key: &str) -> (Awsim, Fleet, String) {
    rt.block_on(async {
        let fleet = generate(spec);
        let account = fleet.accounts[0].id.clone();
        let sim = start_fleet(&fleet, with_key(Config::default(), key, &account)).await;
        enable_hubs(&sim, &fleet).await;
        (sim, fleet, account)
    })
}
