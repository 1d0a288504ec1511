//! Command-line grammar (clap derive). Raw flags are parsed here and validated into
//! `patchhub-aws`/`patchhub-core` types before any work starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use patchhub_aws::clients::AwsOptions;
use patchhub_aws::targets::{self, AccountTarget};

use crate::Failure;

/// Carries AWS Systems Manager patch compliance into AWS Security Hub.
#[derive(Debug, Parser)]
#[command(name = "patchhub", version, about, long_about = None)]
pub struct Cli {
    /// More detail on stderr (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sync patch compliance into Security Hub findings (one node up to a whole organization).
    Sync(Box<SyncArgs>),
    /// Run the whole job against an embedded emulated AWS (no account needed).
    Demo(crate::demo::DemoArgs),
    /// Security Hub administrator and members in every Region, so findings roll up (enable,
    /// status, disable).
    Hub(Box<crate::hub_cmd::HubArgs>),
    /// Archive every patchhub finding in the accounts and Regions given (for uninstalling).
    Cleanup(Box<crate::hub_cmd::CleanupArgs>),
    /// Patch-compliance report of the fleet: table, CSV, JSON or one self-contained HTML page.
    Report(Box<crate::report::ReportArgs>),
}

/// `--profile`, `--region`, `--endpoint-url`: shared by every command. The standard AWS
/// environment variables (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, credentials) apply too.
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Named profile from the AWS config files.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Home Region (STS and Organizations are called here).
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint override for every AWS service (e.g. an awsim URL).
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Per-attempt timeout for AWS calls, e.g. 30s; slower answers are retried.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// SDK attempts per call (throttles and 5xx are retried with backoff).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

impl AwsArgs {
    /// The SDK options these flags ask for; a malformed `--region` is a usage error.
    pub fn options(&self) -> Result<AwsOptions, Failure> {
        if let Some(r) = &self.region
            && !targets::is_region(r)
        {
            return Err(Failure::usage(format!(
                "--region: {}",
                targets::TargetError::Region(r.clone())
            )));
        }
        Ok(AwsOptions {
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            attempt_timeout: Some(self.timeout),
            max_attempts: self.max_attempts,
        })
    }
}

/// Reads an `--accounts` file (`AccountId[,Email]` lines); every bad line is named.
pub fn read_accounts(path: &Path) -> Result<Vec<AccountTarget>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("--accounts {}: cannot read: {e}", path.display())))?;
    targets::parse_accounts_csv(&path.display().to_string(), &text).map_err(|errs| {
        Failure::usage(
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n  "),
        )
    })
}

/// The finding policy, as flags (each also settable by a PATCHHUB_* environment variable).
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Lowest compliance severity that gets a per-patch finding: critical, high, medium, low,
    /// informational, or all. `critical` reproduces the 2020 blog's behaviour.
    #[arg(long, env = "PATCHHUB_MIN_SEVERITY", default_value = "all")]
    pub min_severity: String,
    /// A node whose last patch operation is older than this gets a stale-scan finding (e.g. 7d, 36h).
    #[arg(long, env = "PATCHHUB_STALE_AFTER", default_value = "7d")]
    pub stale_after: String,
    /// Patch ids/KBs to leave out (repeatable or comma-separated; a trailing * matches a prefix).
    #[arg(long, env = "PATCHHUB_EXCLUDE_PATCHES", value_delimiter = ',')]
    pub exclude_patch: Vec<String>,
    /// Nodes with this tag (KEY or KEY=VALUE) get no per-patch findings (repeatable).
    #[arg(long, env = "PATCHHUB_EXCLUDE_TAGS", value_delimiter = ',')]
    pub exclude_tag: Vec<String>,
    /// No per-node roll-up finding (makes every sync a full read-back).
    #[arg(long)]
    pub no_rollup: bool,
    /// No stale-scan findings.
    #[arg(long)]
    pub no_stale_findings: bool,
    /// Re-send unchanged findings older than this so they outlive the 90-day retention.
    #[arg(long, env = "PATCHHUB_REFRESH_AFTER", default_value = "30d")]
    pub refresh_after: String,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A table per account and Region.
    Table,
    /// One JSON document with every summary.
    Json,
    /// The ASFF findings imported (or, with --dry-run, that would be), one per line.
    Jsonl,
}

/// `patchhub sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Sync only this node (i-… or mi-…): reads and touches nothing else.
    #[arg(long)]
    pub instance: Option<String>,
    /// Accounts to cover: a CSV file of `AccountId[,Email]` lines.
    #[arg(long, conflicts_with = "organization")]
    pub accounts: Option<PathBuf>,
    /// Cover every ACTIVE account of the organization (call from the management account).
    #[arg(long)]
    pub organization: bool,
    /// With --organization: only this OU and its children.
    #[arg(long, requires = "organization")]
    pub ou: Option<String>,
    /// Role to assume in each account (the caller's own included); without it only the
    /// caller's own account can be synced, with its own credentials.
    #[arg(long)]
    pub role_name: Option<String>,
    /// External id the role's trust policy requires.
    #[arg(long, requires = "role_name")]
    pub external_id: Option<String>,
    /// Regions, comma-separated, or `all-enabled` (each account's enabled Regions, from
    /// account:ListRegions). Default: the --region/AWS_REGION one.
    #[arg(long)]
    pub regions: Option<String>,
    /// Plan and print; import nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format (table on a terminal).
    #[arg(long, value_enum)]
    pub output: Option<Output>,
    /// Account-Region targets in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Requests per second per SSM API per account and Region (SSM publishes no quota).
    #[arg(long, default_value_t = 10.0)]
    pub ssm_rate: f64,
}

/// `30s`, `5m`, `1h`, `250ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 5m, 250ms)"))?;
    let secs = |per: u64| {
        n.checked_mul(per)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{s}` is too long"))
    };
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        _ => Err(format!(
            "`{s}` has unknown unit `{unit}` (use ms, s, m or h)"
        )),
    }
}
