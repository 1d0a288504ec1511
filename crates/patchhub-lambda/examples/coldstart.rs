//! Cold start and memory of a `bootstrap` binary, measured as Lambda would see them: a fresh
//! process per run, the event already queued at the local Runtime API, awsim (in-process, a
//! generated fleet, Security Hub enabled, no findings yet) as AWS.
//!
//! ```sh
//! cargo run -p patchhub-lambda --example coldstart -- \
//!     --bootstrap target/lambda/x86_64-unknown-linux-gnu/release/bootstrap --event node --runs 5
//! ```
//!
//! Per run: `init_ms` (process start to its first `/next`), `first_response_ms` (process start to
//! the response of the first invocation) and `peak_rss_kib` (`VmHWM` of the process, read from
//! `/proc` after that response). Options: `--bootstrap PATH` (default: `target/<profile>/bootstrap`, from
//! `cargo build -p patchhub-lambda`),
//! `--event node|sweep`, `--instances N` (500), `--patches N` (30), `--runs N` (5), and
//! `--runner "CMD ARGS"` to start the binary through an emulator, e.g.
//! `--runner "qemu-aarch64 -L /usr/aarch64-linux-gnu"` for an arm64 build on an x86_64 machine
//! (times and memory are then the emulator's, not the CPU's: they prove the build runs, they
//! do not measure an arm64 cold start).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use patchhub_testkit::{REGION, oracle, start_account};
use support::runtime_api::{Report, RuntimeApi};

/// The options (see the header).
#[derive(clap::Parser)]
struct Args {
    /// The binary to start (default: `target/<profile>/bootstrap`, beside this example).
    #[arg(long, default_value_t = default_bootstrap())]
    bootstrap: String,
    /// A command that starts the binary, e.g. an emulator.
    #[arg(long, value_parser = split_words, default_value = "")]
    runner: Words,
    /// The event each run answers.
    #[arg(long, value_parser = ["node", "sweep"], default_value = "node")]
    event: String,
    /// Nodes in the generated fleet.
    #[arg(long, default_value_t = 500)]
    instances: usize,
    /// Patches per node.
    #[arg(long, default_value_t = 30)]
    patches: usize,
    /// Fresh processes to measure.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// A command line split at whitespace (`--runner "qemu-aarch64 -L /usr/aarch64-linux-gnu"`).
/// An alias, so that clap takes it as one value rather than a repeated option.
type Words = Vec<String>;

fn split_words(s: &str) -> Result<Words, String> {
    Ok(s.split_whitespace().map(str::to_string).collect())
}

/// Beside this example's own directory: target/<profile>/bootstrap.
fn default_bootstrap() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("bootstrap")))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn one_run(a: &Args, run: usize) -> Result<String, String> {
    let spec = format!(
        "accounts=1,regions=1,instances={},patches={},seed={}",
        a.instances,
        a.patches,
        100 + run
    );
    let (sim, fleet, acct) = start_account(&spec).await;
    let payload = if a.event == "node" {
        let node = oracle::nodes_with_missing(&fleet, &acct, REGION, 1)
            .into_iter()
            .next()
            .ok_or("no non-compliant node")?;
        support::fixture("maintenance-window.json", &acct, &node.id)
    } else {
        support::fixture("scheduled-event.json", &acct, "-")
    };
    let mut api = RuntimeApi::start().await;
    api.enqueue(payload);

    let started = Instant::now();
    let mut command = match a.runner.split_first() {
        Some((program, args)) => {
            let mut c = tokio::process::Command::new(program);
            c.args(args).arg(&a.bootstrap);
            c
        }
        None => tokio::process::Command::new(&a.bootstrap),
    };
    let mut child = command
        .env_clear()
        .envs(support::bootstrap_env(&api.address(), &sim.url(), &acct))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", a.bootstrap))?;
    let pid = child.id().ok_or("no pid")?;
    let (at, report) = api
        .report(Duration::from_secs(900))
        .await
        .ok_or("no answer within 900 s")?;
    let rss = peak_rss_kib(pid).ok_or("cannot read /proc status")?;
    let init = api
        .first_next()
        .map(|t| t.duration_since(started).as_secs_f64() * 1000.0)
        .unwrap_or(f64::NAN);
    child.kill().await.map_err(|e| e.to_string())?;
    let Report::Response { body, .. } = report else {
        return Err(format!("the invocation failed: {report:?}"));
    };
    Ok(format!(
        "run={run} event={} nodes={} created={} api_calls={} init_ms={init:.1} first_response_ms={:.1} peak_rss_kib={rss}",
        a.event,
        body["nodes"],
        body["created"],
        body["api_calls"],
        at.duration_since(started).as_secs_f64() * 1000.0,
    ))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    // clap prints a one-line error and exits 2 on a bad option.
    let a = <Args as clap::Parser>::parse();
    println!("bootstrap={} runner={:?}", a.bootstrap, a.runner);
    for run in 1..=a.runs {
        match one_run(&a, run).await {
            Ok(line) => println!("{line}"),
            Err(e) => {
                eprintln!("coldstart: run {run}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
