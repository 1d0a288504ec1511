//! The fleet benchmark: `patchhub sync` against awsim with the published quotas and a network
//! latency, over a generated fleet, measuring what bounds it.
//!
//! ```text
//! cargo bench -p patchhub --bench fleet -- --accounts 1 --regions 1 --nodes 2000 --patches 40 --latency-ms 20
//! ```
//!
//! awsim runs in a child process (this binary re-executed with `--serve`) that also holds the
//! generated fleet and tells the parent only the account ids and which nodes to patch; each
//! phase's sync runs in a fresh process of its own (`--sync-child`), as a scheduled `patchhub
//! sync` or a Lambda invocation would, so the peak RSS reported is that sync's alone (the RSS
//! at its start, after the runtime and the SDK configuration, is shown beside it). For each phase (first sync, unchanged re-sync, re-sync after
//! installs on 5% of nodes, the window's daily scan of every node with nothing changed, and with
//! installs on 1% of nodes) it prints wall time, API calls by operation, throttles, ingestion
//! events, peak RSS, and the quota lower bound: each API has its own token bucket per account
//! and Region, so the least time the quotas allow is the largest, over (account, Region, API),
//! of (calls - burst) / rate; wall / bound says how close the sync runs to the quotas.
//!
//! `--lambda-invocations K` measures instead how many 900 s Lambda invocations a first sync
//! takes: each invocation is a sweep in a fresh process that stops starting node batches at the
//! Lambda's margin before its deadline (as `bootstrap` does), with the sweep's share of the
//! quotas the account template configures (11 of 13), repeated until a sweep ends whole. Time
//! runs K times faster: every quota (awsim's and the client's) is multiplied by K and the
//! deadline and margin divided by K, so a 50,000-node first sync (over half an hour of reads)
//! is measured in minutes; the latency is not scaled, which only makes the count conservative.
//!
//! `--seed-unthrottled` runs the first sync without quotas (awsim's `quotas_after_seeding`
//! leniency, and a client limiter far above them), then turns the published quotas on for every
//! later phase: a 50,000-node first sync under the quotas takes over half an hour and is not
//! what the daily cycle measures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use patchhub_aws::fanout::{AccountSource, FanOut, run_sync};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_testkit::run::{account_list, fan_out, opts, region_list};
use patchhub_testkit::scenario::run_patch_baseline;
use patchhub_testkit::{enable_hubs, loader_at, start_fleet};

#[derive(Debug, Clone)]
struct Args {
    accounts: usize,
    regions: usize,
    nodes: usize,
    patches: usize,
    latency_ms: u64,
    ssm_rate: f64,
    seed: u64,
    serve: bool,
    seed_unthrottled: bool,
    /// `--lambda-invocations K`: count Lambda invocations of a first sync, time scaled by K.
    lambda_scale: Option<f64>,
    /// Set in a phase's sync process (see `sync_child`): awsim's URL, the account ids and
    /// Regions the parent learnt from awsim's child, and whether this is the unthrottled seeding.
    sync_child: Option<SyncChild>,
}

#[derive(Debug, Clone, Default)]
struct SyncChild {
    url: String,
    accounts: Vec<String>,
    regions: Vec<String>,
    seeding: bool,
    /// A Lambda invocation's sweep, time scaled by this factor (`--lambda-invocations`).
    lambda_scale: Option<f64>,
}

fn parse_args() -> Args {
    let mut a = Args {
        accounts: 1,
        regions: 1,
        nodes: 500,
        patches: 40,
        latency_ms: 20,
        ssm_rate: 10.0,
        seed: 1,
        serve: false,
        seed_unthrottled: false,
        lambda_scale: None,
        sync_child: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let val = || argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--accounts" => a.accounts = val().parse().expect("--accounts N"),
            "--regions" => a.regions = val().parse().expect("--regions N"),
            "--nodes" => a.nodes = val().parse().expect("--nodes N (per account and Region)"),
            "--patches" => a.patches = val().parse().expect("--patches N"),
            "--latency-ms" => a.latency_ms = val().parse().expect("--latency-ms N"),
            "--ssm-rate" => a.ssm_rate = val().parse().expect("--ssm-rate N"),
            "--seed" => a.seed = val().parse().expect("--seed N"),
            "--serve" => {
                a.serve = true;
                i += 1;
                continue;
            }
            "--seed-unthrottled" => {
                a.seed_unthrottled = true;
                i += 1;
                continue;
            }
            "--sync-child" => {
                a.sync_child.get_or_insert_with(Default::default);
                i += 1;
                continue;
            }
            "--seeding" => {
                a.sync_child.get_or_insert_with(Default::default).seeding = true;
                i += 1;
                continue;
            }
            "--lambda-invocations" => {
                let k: f64 = val()
                    .parse()
                    .expect("--lambda-invocations K (time scale, >= 1)");
                assert!(
                    k >= 1.0,
                    "--lambda-invocations K: K is a time scale, at least 1"
                );
                a.lambda_scale = Some(k);
            }
            "--invocation" => {
                let k = val().parse().expect("--invocation K");
                a.sync_child
                    .get_or_insert_with(Default::default)
                    .lambda_scale = Some(k);
            }
            "--url" => a.sync_child.get_or_insert_with(Default::default).url = val(),
            "--account-ids" | "--region-names" => {
                let list: Vec<String> = val().split(',').map(str::to_string).collect();
                let child = a.sync_child.get_or_insert_with(Default::default);
                if argv[i] == "--account-ids" {
                    child.accounts = list;
                } else {
                    child.regions = list;
                }
            }
            // cargo bench passes --bench; ignore anything else of the harness protocol.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn spec(a: &Args) -> String {
    format!(
        "accounts={},regions={},instances={},patches={},seed={}",
        a.accounts, a.regions, a.nodes, a.patches, a.seed
    )
}

fn ssm_quota(a: &Args) -> awsim::quota::Rate {
    awsim::quota::Rate::new(a.ssm_rate, (a.ssm_rate * 2.0).max(1.0))
}

/// Child: serve awsim with the fleet until stdin closes.
fn serve(a: &Args) {
    let rt = patchhub_aws::runtime::build().expect("runtime");
    rt.block_on(async {
        let fleet = patchhub_testkit::generate(&spec(a));
        let mut quotas = awsim::quota::QuotaConfig::aws();
        quotas.ssm = ssm_quota(a);
        if let Some(k) = a.lambda_scale {
            quotas = quotas.scaled(k);
        }
        let config = awsim::Config {
            quotas,
            latency_ms: a.latency_ms,
            seed: a.seed,
            leniency: awsim::config::Leniency {
                quotas_after_seeding: a.seed_unthrottled,
                ..Default::default()
            },
            ..awsim::Config::default()
        };
        // What the parent needs, so it never holds the fleet: accounts, Regions, and the nodes
        // to patch before the third phase (every missing patch on 5% of the non-compliant,
        // online nodes of each account and Region).
        // Also every node (the daily window scans them all) and 1% of the nodes to patch in
        // the last phase (other nodes than the 5%).
        let mut installs = Vec::new();
        for acct in &fleet.accounts {
            for r in &acct.regions {
                let patchable: Vec<&str> = acct
                    .instances
                    .iter()
                    .filter(|i| {
                        &i.region == r
                            && i.ping_status == "Online"
                            && i.patches.iter().any(|p| p.state == "MISSING")
                    })
                    .map(|i| i.id.as_str())
                    .collect();
                let ids: Vec<&str> = patchable.iter().copied().step_by(20).collect();
                let all: Vec<&str> = acct
                    .instances
                    .iter()
                    .filter(|i| &i.region == r)
                    .map(|i| i.id.as_str())
                    .collect();
                let one_percent: Vec<&str> = patchable
                    .iter()
                    .copied()
                    .skip(10)
                    .step_by(20)
                    .take(all.len().div_ceil(100))
                    .collect();
                installs.push(serde_json::json!({
                    "account": acct.id, "region": r, "ids": ids, "all": all,
                    "one_percent": one_percent,
                }));
            }
        }
        let plan = serde_json::json!({
            "accounts": fleet.accounts.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(),
            "regions": fleet.accounts[0].regions,
            "installs": installs,
        });
        let sim = start_fleet(&fleet, config).await;
        enable_hubs(&sim, &fleet).await;
        drop(fleet);
        println!("{}", sim.url());
        println!("{plan}");
        tokio::task::spawn_blocking(|| {
            let mut s = String::new();
            let _ = std::io::stdin().read_to_string(&mut s);
        })
        .await
        .ok();
    });
}

/// A Lambda function's timeout (the account template's) and the most a sweep keeps back of it
/// (`patchhub-lambda`'s `deadline::sweep_stop`: half the time left, at most 60 s).
const LAMBDA_TIMEOUT_S: f64 = 900.0;
const LAMBDA_MARGIN_S: f64 = 60.0;

/// The sweep's share of the quotas with the account template's defaults:
/// `PATCHHUB_CONCURRENCY` = 10 + 2 + 1, the sweep running beside the maintenance window's
/// invocations (docs/DEPLOY.md).
const SWEEP_SHARE: f64 = 11.0 / 13.0;

/// Minimal HTTP/1.1 to the control plane (the bench must not depend on an HTTP client crate).
fn control(url: &str, method: &str, path: &str, body: &str) -> serde_json::Value {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect awsim");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("{}");
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS:` now, `VmHWM:` peak), MB.
fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// CPU seconds (user and system) a process has used so far, from `/proc/<pid>/stat` (clock
/// ticks of 1/100 s, Linux's `USER_HZ`); 0 where that cannot be read.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is the first, utime the
    // 12th and stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// The least time the published quotas allow for the calls counted in `stats`.
fn lower_bound(stats: &serde_json::Value, a: &Args) -> (f64, String) {
    let aws = awsim::quota::QuotaConfig {
        ssm: ssm_quota(a),
        ..awsim::quota::QuotaConfig::aws()
    };
    let mut worst = (0.0, String::from("-"));
    for row in stats["calls"].as_array().into_iter().flatten() {
        let (svc, op) = (
            row["service"].as_str().unwrap_or(""),
            row["operation"].as_str().unwrap_or(""),
        );
        // Throttled attempts were not necessary; count the calls the data needed.
        let calls = row["calls"].as_f64().unwrap_or(0.0) - row["throttled"].as_f64().unwrap_or(0.0);
        if let Some(r) = aws.rate_for(svc, op) {
            let t = ((calls - r.burst).max(0.0)) / r.per_second;
            if t > worst.0 {
                worst = (t, op.to_string());
            }
        }
    }
    worst
}

fn calls_by_op(stats: &serde_json::Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for row in stats["calls"].as_array().into_iter().flatten() {
        *m.entry(row["operation"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += row["calls"].as_u64().unwrap_or(0);
    }
    m
}

struct Phase {
    name: &'static str,
    /// What the phase's sync process measured of itself.
    sync: SyncOutcome,
    bound: (f64, String),
    calls: BTreeMap<String, u64>,
    throttled: u64,
    ingestion: u64,
}

/// The fan-out a phase's sync runs with: the published quotas (the SSM rate as given), far
/// above them while seeding, or a Lambda sweep's share of them, time scaled.
fn fan_out_for(
    a: &Args,
    accounts: &[String],
    regions: &[String],
    seeding: bool,
    lambda_scale: Option<f64>,
) -> FanOut {
    let fan = FanOut {
        concurrency: 16,
        quotas: QuotaSettings {
            ssm: Rate::new(a.ssm_rate, (a.ssm_rate * 2.0).max(1.0)),
            ..QuotaSettings::default()
        },
        ..fan_out(
            if accounts.len() == 1 {
                AccountSource::Caller
            } else {
                account_list(accounts)
            },
            region_list(regions),
            (accounts.len() > 1).then_some("PatchhubRole"),
        )
    };
    if let Some(k) = lambda_scale {
        // The sweep's share of the quotas, as the Lambda's configuration computes it, in time
        // running k times faster.
        return FanOut {
            quotas: fan.quotas.shared(k * SWEEP_SHARE),
            ..fan
        };
    }
    if !seeding {
        return fan;
    }
    // Seeding without quotas: the client limiter far above them too.
    FanOut {
        quotas: QuotaSettings {
            ssm: Rate::new(10_000.0, 10_000.0),
            get_findings: Rate::new(10_000.0, 10_000.0),
            batch_import: Rate::new(10_000.0, 10_000.0),
        },
        ..fan
    }
}

/// What a phase's sync process reports to the parent, one JSON line.
#[derive(serde::Serialize, serde::Deserialize)]
struct SyncOutcome {
    wall: f64,
    rss_before: f64,
    rss: f64,
    ok: bool,
    /// Cut off at its deadline (a Lambda invocation's sweep), with this many nodes left.
    #[serde(default)]
    partial: bool,
    #[serde(default)]
    deferred: usize,
    /// Nodes the sweep found changed (synced, or deferred).
    #[serde(default)]
    changed: usize,
    /// CPU seconds the sync process used.
    #[serde(default)]
    cpu: f64,
}

/// A phase's sync, in a process of its own: each phase's peak RSS is then the sync's alone, not
/// what the allocator kept from an earlier phase in the same process (a 50,000-node first sync
/// leaves hundreds of MB mapped that a later, smaller phase would be charged with).
fn sync_child(a: &Args, c: &SyncChild) {
    let started = Instant::now();
    let rt = patchhub_aws::runtime::build().expect("runtime");
    let outcome = rt.block_on(async {
        // The management account through its static key, with the client settings production
        // uses; member accounts are reached by AssumeRole.
        let base = loader_at(&c.url, &c.accounts[0], &c.regions[0])
            .load()
            .await;
        let fan = fan_out_for(a, &c.accounts, &c.regions, c.seeding, c.lambda_scale);
        let mut opts = opts();
        if let Some(k) = c.lambda_scale {
            // As `bootstrap` stops a sweep: half the time left, at most the margin, before the
            // deadline (the clock started with the process, as Lambda's does at the invoke).
            let left = LAMBDA_TIMEOUT_S / k - started.elapsed().as_secs_f64();
            let stop = left - (left / 2.0).min(LAMBDA_MARGIN_S / k);
            opts.stop_at = Some(Instant::now() + std::time::Duration::from_secs_f64(stop));
        }
        let rss_before = rss_mb("VmRSS:");
        let t = Instant::now();
        let report = run_sync(&base, &fan, &opts, None).await.expect("sync runs");
        let total = report.total();
        SyncOutcome {
            wall: t.elapsed().as_secs_f64(),
            rss_before,
            rss: rss_mb("VmHWM:"),
            ok: report.is_ok(),
            partial: total.partial,
            deferred: total.nodes_deferred,
            changed: total.nodes_changed,
            cpu: cpu_seconds("self"),
        }
    });
    println!("{}", serde_json::to_string(&outcome).expect("outcome"));
}

/// Runs one phase's sync in a fresh process of this binary and reads its outcome.
fn run_phase_sync(
    a: &Args,
    url: &str,
    accounts: &[String],
    regions: &[String],
    seeding: bool,
) -> SyncOutcome {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args(["--sync-child", "--url", url])
        .args(["--account-ids", &accounts.join(",")])
        .args(["--region-names", &regions.join(",")])
        .args(["--ssm-rate", &a.ssm_rate.to_string()])
        .stderr(Stdio::inherit());
    if seeding {
        cmd.arg("--seeding");
    }
    if let Some(k) = a.lambda_scale {
        cmd.args(["--invocation", &k.to_string()]);
    }
    let out = cmd.output().expect("spawn the phase's sync");
    assert!(
        out.status.success(),
        "the phase's sync failed: {}",
        out.status
    );
    let line = String::from_utf8_lossy(&out.stdout);
    let last = line.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("outcome of the phase's sync ({e}): {line}"))
}

fn main() {
    let a = parse_args();
    if a.serve {
        serve(&a);
        return;
    }
    if let Some(c) = &a.sync_child {
        sync_child(&a, c);
        return;
    }
    let mut child: Child = Command::new(std::env::current_exe().unwrap())
        .args(std::env::args().skip(1))
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn awsim child");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut url, mut plan) = (String::new(), String::new());
    out.read_line(&mut url).unwrap();
    out.read_line(&mut plan).unwrap();
    let url = url.trim().to_string();
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("plan from the child");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    };
    let accounts = strings(&plan["accounts"]);
    let regions = strings(&plan["regions"]);

    if let Some(k) = a.lambda_scale {
        lambda_invocations(&a, &url, &accounts, &regions, k, &child.id().to_string());
        drop(child.stdin.take());
        let _ = child.wait();
        return;
    }

    let rt = patchhub_aws::runtime::build().unwrap();
    let mut phases = Vec::new();
    for name in [
        "first sync",
        "unchanged re-sync",
        "after installs on 5% of nodes",
        "first daily scan of every node",
        "daily scan, nothing changed",
        "daily scan, 1% patched",
    ] {
        // What happens before the phase: installs (every missing patch on the nodes the
        // child picked) and the window's daily scan of every node.
        let (install, scan) = match name {
            "after installs on 5% of nodes" => (Some("ids"), false),
            // The generated fleet has nodes whose last scan is stale or that never scanned:
            // the first scan of every node changes them (a real change); the next one is
            // the steady daily cycle.
            "first daily scan of every node" | "daily scan, nothing changed" => (None, true),
            "daily scan, 1% patched" => (Some("one_percent"), true),
            _ => (None, false),
        };
        rt.block_on(async {
            for job in plan["installs"].as_array().into_iter().flatten() {
                let (acct, r) = (
                    job["account"].as_str().unwrap_or_default(),
                    job["region"].as_str().unwrap_or_default(),
                );
                let ssm = aws_sdk_ssm::Client::new(&loader_at(&url, acct, r).load().await);
                if let Some(key) = install {
                    run_patch_baseline(&ssm, &strings(&job[key]), "Install").await;
                }
                if scan {
                    run_patch_baseline(&ssm, &strings(&job["all"]), "Scan").await;
                }
            }
        });
        control(&url, "POST", "/_awsim/stats/reset", "");
        let seeding = a.seed_unthrottled && name == "first sync";
        let outcome = run_phase_sync(&a, &url, &accounts, &regions, seeding);
        let stats = control(&url, "GET", "/_awsim/stats", "");
        if seeding {
            control(&url, "POST", "/_awsim/quotas/enforce", "");
        }
        phases.push(Phase {
            name,
            sync: outcome,
            bound: lower_bound(&stats, &a),
            calls: calls_by_op(&stats),
            throttled: stats["total_throttled"].as_u64().unwrap_or(0),
            ingestion: stats["ingestion_events"].as_u64().unwrap_or(0),
        });
    }
    drop(child.stdin.take());
    let _ = child.wait();

    println!(
        "\nfleet: {} account(s) x {} Region(s) x {} nodes x {} patches; latency {} ms; quotas: published Security Hub, SSM {}/s per API{}",
        a.accounts,
        a.regions,
        a.nodes,
        a.patches,
        a.latency_ms,
        a.ssm_rate,
        if a.seed_unthrottled {
            " (first sync seeded without quotas)"
        } else {
            ""
        }
    );
    let nodes = (a.accounts * a.regions * a.nodes).max(1) as f64;
    println!(
        "\n| phase | wall s | quota bound s (API) | wall/bound | throttled | ingestion events | API calls / node | sync RSS at start MB | peak RSS MB | ok |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for p in &phases {
        let ratio = if p.bound.0 > 0.0 {
            format!("{:.2}", p.sync.wall / p.bound.0)
        } else {
            "-".into()
        };
        println!(
            "| {} | {:.1} | {:.1} ({}) | {} | {} | {} | {:.4} | {:.0} | {:.0} | {} |",
            p.name,
            p.sync.wall,
            p.bound.0,
            p.bound.1,
            ratio,
            p.throttled,
            p.ingestion,
            p.calls.values().sum::<u64>() as f64 / nodes,
            p.sync.rss_before,
            p.sync.rss,
            p.sync.ok
        );
    }
    println!("\nAPI calls by operation:\n");
    let ops: std::collections::BTreeSet<&String> =
        phases.iter().flat_map(|p| p.calls.keys()).collect();
    print!("| operation |");
    for p in &phases {
        print!(" {} |", p.name);
    }
    println!();
    println!("|---|{}", "---|".repeat(phases.len()));
    for op in ops {
        print!("| {op} |");
        for p in &phases {
            print!(" {} |", p.calls.get(op).copied().unwrap_or(0));
        }
        println!();
    }
}

/// `--lambda-invocations K`: a first sync as successive Lambda sweeps, each in its own process
/// and cut off at its (time-scaled) deadline, until one ends whole.
fn lambda_invocations(
    a: &Args,
    url: &str,
    accounts: &[String],
    regions: &[String],
    k: f64,
    awsim_pid: &str,
) {
    println!(
        "\nfleet: {} account(s) x {} Region(s) x {} nodes x {} patches; latency {} ms; first sync as \
         {LAMBDA_TIMEOUT_S} s Lambda sweeps at {SWEEP_SHARE:.3} of the quotas (Security Hub's \
         published, SSM {}/s per API); time x{k}: measured seconds x{k} are the Lambda's\n",
        a.accounts, a.regions, a.nodes, a.patches, a.latency_ms, a.ssm_rate
    );
    println!(
        "| invocation | wall s (x{k}) | nodes changed at its start | left for the next | ingestion events | API calls | sync CPU s | awsim CPU s | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (mut ops, mut ended) = (Vec::new(), false);
    let mut total = (0.0, 0u64);
    for n in 1..=30 {
        control(url, "POST", "/_awsim/stats/reset", "");
        let awsim_cpu = cpu_seconds(awsim_pid);
        let o = run_phase_sync(a, url, accounts, regions, false);
        let awsim_cpu = cpu_seconds(awsim_pid) - awsim_cpu;
        let stats = control(url, "GET", "/_awsim/stats", "");
        let ingestion = stats["ingestion_events"].as_u64().unwrap_or(0);
        let by_op = calls_by_op(&stats);
        let calls: u64 = by_op.values().sum();
        ops.push(by_op);
        total = (total.0 + o.wall * k, total.1 + ingestion);
        println!(
            "| {n} | {:.0} | {} | {} | {ingestion} | {calls} | {:.1} | {awsim_cpu:.1} | {:.0} |",
            o.wall * k,
            o.changed,
            o.deferred,
            o.cpu,
            o.rss
        );
        if !o.partial {
            println!(
                "\n{n} invocation(s), {:.0} s of Lambda time, {} ingestion events in all",
                total.0, total.1
            );
            ended = true;
            break;
        }
    }
    if !ended {
        println!("\nno sweep ended whole in 30 invocations");
    }
    println!("\nAPI calls by operation and invocation:\n");
    let names: std::collections::BTreeSet<&String> = ops.iter().flat_map(|m| m.keys()).collect();
    println!(
        "| operation |{}",
        (1..=ops.len())
            .map(|n| format!(" {n} |"))
            .collect::<String>()
    );
    println!("|---|{}", "---|".repeat(ops.len()));
    for name in names {
        print!("| {name} |");
        for m in &ops {
            print!(" {} |", m.get(name).copied().unwrap_or(0));
        }
        println!();
    }
}
