//! How the function's instances share one account's Security Hub quotas. Lambda runs several
//! instances of the function at once (the maintenance window's sync task, the queue's batches),
//! each with its own client-side limiter, while AWS's quotas are per account and Region.
//!
//! ```sh
//! cargo run -p patchhub-lambda --example quota_share -- --nodes 300 --window 10 --events 2
//! ```
//!
//! Runs the same work twice against awsim with the published quotas (GetFindings 3/s burst 6,
//! BatchImportFindings 10/s burst 30): once with every instance pacing at the whole rate
//! (`PATCHHUB_CONCURRENCY` unset, as before), once with `PATCHHUB_CONCURRENCY=window+events+1`.
//! The work: the window path (one invocation per node, `--window` at a time, each on its own
//! instance) and, at the same time, the queue path (compliance events for `--queued` of the
//! nodes, in batches of 10, on `--events` instances). Prints wall time, calls and throttled
//! calls per Security Hub API, and invocations that failed.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use awsim::Config;
use awsim::quota::QuotaConfig;
use lambda_runtime::{Context, LambdaEvent};
use patchhub_lambda::config::LambdaConfig;
use patchhub_lambda::function::Function;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// The options (see the header).
#[derive(clap::Parser)]
struct Args {
    /// Nodes in the generated fleet.
    #[arg(long, default_value_t = 300)]
    nodes: usize,
    /// Window invocations at a time, each on its own instance.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    window: u16,
    /// Instances draining the queue.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    events: u16,
    /// Nodes with a queued compliance event.
    #[arg(long, default_value_t = 100)]
    queued: usize,
}

async fn instance(sim: &awsim::Awsim, account: &str, concurrency: Option<&str>) -> Function {
    let config = LambdaConfig::from_env(|k| {
        (k == "PATCHHUB_CONCURRENCY")
            .then(|| concurrency.map(str::to_string))
            .flatten()
    })
    .expect("config");
    // Five attempts, as the function's own SDK configuration.
    let sdk = patchhub_testkit::loader(sim, account, patchhub_testkit::REGION)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
        .load()
        .await;
    Function::new(&sdk, config).await.expect("cold start")
}

async fn run(a: &Args, shared: bool) -> Result<String, String> {
    let spec = format!(
        "accounts=1,regions=1,instances={},patches=10,seed=5",
        a.nodes
    );
    let config = Config {
        quotas: QuotaConfig::aws(),
        ..Config::default()
    };
    let (sim, fleet) = patchhub_testkit::start(&spec, config).await;
    let acct = fleet.accounts[0].id.clone();
    patchhub_testkit::enable_hub(&sim, &acct, patchhub_testkit::REGION).await;
    let nodes: Vec<String> = fleet.accounts[0]
        .instances
        .iter()
        .filter(|i| i.region == patchhub_testkit::REGION)
        .map(|i| i.id.clone())
        .collect();
    let share = format!("{}+{}+1", a.window, a.events);
    let concurrency = shared.then_some(share.as_str());

    // Instances: `window` for the window path, `events` for the queue path.
    let mut pool = Vec::new();
    for _ in 0..a.window {
        pool.push(instance(&sim, &acct, concurrency).await);
    }
    let mut queue_instances = Vec::new();
    for _ in 0..a.events {
        queue_instances.push(instance(&sim, &acct, concurrency).await);
    }
    sim.reset_stats();
    let started = Instant::now();

    let work = Arc::new(Mutex::new(nodes.clone()));
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for f in pool {
        let (work, failed) = (work.clone(), failed.clone());
        tasks.spawn(async move {
            loop {
                let Some(node) = work.lock().await.pop() else {
                    break;
                };
                let payload = json!({ "instanceid": node });
                if f.handle(LambdaEvent::new(payload, Context::default()))
                    .await
                    .is_err()
                {
                    failed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
    }
    let batches: Vec<Vec<String>> = nodes
        .iter()
        .take(a.queued)
        .cloned()
        .collect::<Vec<_>>()
        .chunks(10)
        .map(<[String]>::to_vec)
        .collect();
    let batches = Arc::new(Mutex::new(batches));
    for f in queue_instances {
        let (batches, failed, acct) = (batches.clone(), failed.clone(), acct.clone());
        tasks.spawn(async move {
            loop {
                let Some(batch) = batches.lock().await.pop() else {
                    break;
                };
                let events: Vec<(String, Value)> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        (
                            format!("m{i}"),
                            support::fixture("compliance-change-non-compliant.json", &acct, n),
                        )
                    })
                    .collect();
                let records: Vec<(&str, &Value)> =
                    events.iter().map(|(id, v)| (id.as_str(), v)).collect();
                let out = f
                    .handle(LambdaEvent::new(
                        support::sqs_batch(&records),
                        Context::default(),
                    ))
                    .await;
                let bad = match out {
                    Ok(v) => v["batchItemFailures"].as_array().map_or(0, Vec::len),
                    Err(_) => batch.len(),
                };
                failed.fetch_add(bad, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let wall = started.elapsed().as_secs_f64();
    let stats = sim.stats();
    let of = |op: &str| {
        let rows = stats.calls.iter().filter(|r| r.operation == op);
        let (calls, throttled) = rows.fold((0, 0), |(c, t), r| {
            (c + r.counts.calls, t + r.counts.throttled)
        });
        format!("{op} {calls} calls, {throttled} throttled")
    };
    Ok(format!(
        "{:<9} PATCHHUB_CONCURRENCY={:<7} nodes={} window={} queue={}x10-node batches: {wall:.0} s; {}; {}; failed invocations/records {}",
        if shared { "shared" } else { "unshared" },
        concurrency.unwrap_or("unset"),
        nodes.len(),
        a.window,
        a.queued.div_ceil(10),
        of("GetFindings"),
        of("BatchImportFindings"),
        failed.load(std::sync::atomic::Ordering::SeqCst)
    ))
}

fn main() {
    // clap prints a one-line error and exits 2 on a bad option.
    let a = <Args as clap::Parser>::parse();
    // The function's own runtime: deep-stacked workers, as in `bootstrap` (the SDK's finding
    // deserializer overflows a default 2 MB worker stack in debug builds).
    let runtime = patchhub_aws::runtime::build().expect("async runtime");
    let work = runtime.spawn(async move {
        for shared in [false, true] {
            println!("{}", run(&a, shared).await?);
        }
        Ok::<(), String>(())
    });
    let done = runtime.block_on(work).map_err(|e| e.to_string());
    if let Err(e) = done.and_then(|ran| ran) {
        eprintln!("quota_share: {e}");
        std::process::exit(1);
    }
}
