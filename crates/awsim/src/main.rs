//! `awsim`, the emulator as a server:
//! `awsim --port 4566 [--fleet FILE | --generate SPEC] [--quotas aws|off] [--faults SPEC] [--latency-ms N] [--read-lag-ms N] [--seed N]`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use awsim::faults::FaultSpec;
use awsim::quota::QuotaConfig;
use awsim::{Awsim, Config, Fleet, GenerateSpec};
use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum QuotaMode {
    /// The published AWS quotas.
    Aws,
    /// No quotas.
    Off,
}

/// A local emulator of the AWS APIs patchhub uses (SSM, Security Hub, STS, Organizations).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 4566)]
    port: u16,
    /// Address to bind. Loopback by default: awsim has no authentication.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Fleet JSON file to load (format: see the `fleet` module docs).
    #[arg(long, conflicts_with = "generate")]
    fleet: Option<PathBuf>,
    /// Generate a fleet, e.g. `accounts=3,regions=2,instances=500,patches=40`.
    #[arg(long)]
    generate: Option<String>,
    /// Quotas to enforce.
    #[arg(long, value_enum, default_value = "off")]
    quotas: QuotaMode,
    /// Requests per second allowed per SSM API (SSM publishes no figure).
    #[arg(long, default_value_t = 10.0)]
    ssm_rate: f64,
    /// Injected faults, e.g. `throttle=0.2,error=0.05,fail_finding=0.01,slow=0.01,slow_ms=5000`.
    #[arg(long)]
    faults: Option<String>,
    /// Delay added to every AWS call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Seed for faults and the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How long an imported finding stays invisible to `GetFindings` (own, member and
    /// aggregated views), in milliseconds of simulated time: Security Hub's reads are
    /// eventually consistent.
    #[arg(long, default_value_t = 0)]
    read_lag_ms: u64,
    /// Account that static credentials belong to. Default: the generated management account
    /// with `--generate`, else 123456789012.
    #[arg(long)]
    default_account: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("awsim: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let faults = match &args.faults {
        Some(s) => s
            .parse::<FaultSpec>()
            .map_err(|e| anyhow::anyhow!("--faults: {e}"))?,
        None => FaultSpec::default(),
    };
    let mut quotas = match args.quotas {
        QuotaMode::Aws => QuotaConfig::aws(),
        QuotaMode::Off => QuotaConfig::off(),
    };
    if !args.ssm_rate.is_finite() || args.ssm_rate <= 0.0 {
        anyhow::bail!("--ssm-rate must be above 0");
    }
    quotas.ssm = awsim::quota::Rate::new(args.ssm_rate, (args.ssm_rate * 2.0).max(1.0));
    if let Some(a) = &args.default_account
        && (a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
    {
        anyhow::bail!("--default-account `{a}` must be 12 digits");
    }
    let mut spec = args
        .generate
        .as_deref()
        .map(|s| {
            s.parse::<GenerateSpec>()
                .map_err(|e| anyhow::anyhow!("--generate: {e}"))
        })
        .transpose()?;
    if let Some(spec) = &mut spec
        && !args
            .generate
            .as_deref()
            .unwrap_or_default()
            .contains("seed=")
    {
        spec.seed = args.seed;
    }
    let fleet = args.fleet.as_deref().map(Fleet::from_file).transpose()?;
    // Generated before the server starts so that static credentials can belong to its
    // management account: the AWS CLI with any static key then sees the generated fleet.
    let generated = spec
        .as_ref()
        .map(|spec| awsim::generate::generate(spec, chrono::Utc::now()));
    let default_account = args
        .default_account
        .clone()
        .or_else(|| {
            generated
                .as_ref()
                .and_then(|f| f.organization.as_ref())
                .map(|o| o.management_account.clone())
        })
        .unwrap_or_else(|| awsim::config::DEFAULT_ACCOUNT.to_string());
    let config = Config {
        bind: SocketAddr::new(args.bind, args.port),
        default_account: default_account.clone(),
        quotas,
        faults,
        latency_ms: args.latency_ms,
        seed: args.seed,
        read_lag_ms: args.read_lag_ms,
        ..Config::default()
    };
    if !args.bind.is_loopback() {
        eprintln!(
            "awsim: WARNING: listening on {} beyond loopback; awsim has no authentication, so anyone who can reach it can read and change its data",
            args.bind
        );
    }
    let sim = Awsim::start(config).await?;
    if let Some(fleet) = fleet {
        sim.load_fleet(fleet)?;
    }
    if let Some(fleet) = generated {
        let n: usize = fleet.accounts.iter().map(|a| a.instances.len()).sum();
        let accounts = fleet.accounts.len();
        sim.load_fleet(fleet)?;
        eprintln!(
            "awsim: generated {accounts} accounts, {n} managed nodes; static credentials act as account {default_account}"
        );
    }
    // One parseable line so scripts can read the port back when --port 0.
    println!("awsim listening on {}", sim.url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
