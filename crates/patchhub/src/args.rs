//! The flag groups every command shares, flattened into each command's arguments: AWS options,
//! the accounts and Regions a command covers, and the finding policy. Raw values are validated
//! here into `patchhub-aws`/`patchhub-core` types before any work starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use patchhub_aws::clients::{self, AwsOptions, RoleOptions};
use patchhub_aws::fanout::{AccountSource, FanOut};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::settings::{PolicySettings, Setting, policy_from_settings_named};
use patchhub_aws::targets::{self, AccountTarget, RegionSelection};
use patchhub_core::policy::FindingPolicy;

use crate::error::Failure;
use crate::output::HubOutput;

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

/// The accounts and Regions a command covers, and how it gets into the accounts.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Accounts to cover: a CSV file of `AccountId[,Email]` lines (`hub enable` invitation mode
    /// needs the Email).
    #[arg(long, conflicts_with = "organization")]
    pub accounts: Option<PathBuf>,
    /// Cover every ACTIVE account of the organization (call from the management account; for
    /// `hub`: organization mode, through AWS Organizations).
    #[arg(long)]
    pub organization: bool,
    /// With --organization: only this OU and its children.
    #[arg(long, requires = "organization")]
    pub ou: Option<String>,
    /// Role to assume in each account; without it only the caller's own account is covered,
    /// with its own credentials.
    #[arg(long)]
    pub role_name: Option<String>,
    /// External id the role's trust policy requires.
    #[arg(long, requires = "role_name")]
    pub external_id: Option<String>,
    /// Regions, comma-separated (default: the --region/AWS_REGION one); `sync` and `report` also
    /// take `all-enabled` (each account's enabled Regions, from account:ListRegions).
    #[arg(long)]
    pub regions: Option<String>,
}

impl TargetArgs {
    /// Where the accounts come from.
    pub fn accounts(&self) -> Result<AccountSource, Failure> {
        Ok(match (&self.accounts, self.organization) {
            (Some(path), _) => AccountSource::List(read_accounts(path)?),
            (None, true) => AccountSource::Organization {
                ou: self.ou.clone(),
            },
            (None, false) => AccountSource::Caller,
        })
    }

    /// The role, with the session name CloudTrail shows for this command.
    pub fn role(&self, session_name: &str) -> RoleOptions {
        RoleOptions {
            role_name: self.role_name.clone(),
            external_id: self.external_id.clone(),
            session_name: session_name.into(),
        }
    }

    /// `--regions` as given, else the `--region`/`AWS_REGION` one, else an empty list that
    /// the fan-out completes with the loaded configuration's Region.
    pub fn region_selection(&self, aws: &AwsArgs) -> Result<RegionSelection, Failure> {
        if let Some(r) = &self.regions {
            return targets::parse_regions(r)
                .map_err(|e| Failure::usage(format!("--regions: {e}")));
        }
        if let Some(r) = &aws.region {
            return Ok(RegionSelection::List(vec![r.clone()]));
        }
        match std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")) {
            Ok(r) if targets::is_region(&r) => Ok(RegionSelection::List(vec![r])),
            Ok(r) => Err(Failure::usage(format!(
                "AWS_REGION: {}",
                targets::TargetError::Region(r)
            ))),
            Err(_) => Ok(RegionSelection::List(Vec::new())),
        }
    }

    /// `--regions` as a list (commands that change things name their Regions), or `None` to
    /// take the loaded configuration's Region.
    pub fn region_list(&self) -> Result<Option<Vec<String>>, Failure> {
        match self.regions.as_deref() {
            None => Ok(None),
            Some(s) => match targets::parse_regions(s) {
                Ok(RegionSelection::List(l)) => Ok(Some(l)),
                Ok(RegionSelection::AllEnabled) => Err(Failure::usage(
                    "--regions all-enabled is not supported here: list the Regions (e.g. us-east-1,eu-west-1)",
                )),
                Err(e) => Err(Failure::usage(format!("--regions: {e}"))),
            },
        }
    }

    /// The fan-out of a reading command (`sync`, `report`): accounts, Regions, role, concurrency
    /// and the SSM rate, all checked.
    pub fn fan_out(
        &self,
        aws: &AwsArgs,
        session_name: &str,
        concurrency: u32,
        ssm_rate: f64,
    ) -> Result<FanOut, Failure> {
        let accounts = self.accounts()?;
        let regions = self.region_selection(aws)?;
        if !(ssm_rate.is_finite() && ssm_rate > 0.0) {
            return Err(Failure::usage(format!(
                "--ssm-rate `{ssm_rate}` must be a positive number of requests per second"
            )));
        }
        Ok(FanOut {
            accounts,
            regions,
            role: self.role(session_name),
            concurrency: concurrency as usize,
            per_account_concurrency: 4,
            quotas: QuotaSettings {
                ssm: Rate::new(ssm_rate, (ssm_rate * 2.0).max(1.0)),
                ..QuotaSettings::default()
            },
        })
    }
}

/// The flags of a command that covers accounts and Regions and prints a table or JSON
/// (`cleanup`, `doctor`).
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Output format (table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<HubOutput>,
    /// Account-Region targets in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
}

/// How hard a command that reads SSM may go (`report`, `export`): reads in flight and the SSM
/// request rate.
#[derive(Debug, Clone, Args)]
pub struct PaceArgs {
    /// Account-Region reads in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Requests per second per SSM API per account and Region (SSM publishes no quota).
    #[arg(long, default_value_t = 10.0)]
    pub ssm_rate: f64,
}

impl PaceArgs {
    /// The fan-out of `targets` at this pace (see [`TargetArgs::fan_out`]).
    pub fn fan_out(
        &self,
        targets: &TargetArgs,
        aws: &AwsArgs,
        session_name: &str,
    ) -> Result<FanOut, Failure> {
        targets.fan_out(aws, session_name, self.concurrency, self.ssm_rate)
    }
}

/// Loads the base configuration; the Regions default to its Region.
pub async fn base_with_regions(
    aws: &AwsOptions,
    regions: Option<Vec<String>>,
) -> Result<(aws_config::SdkConfig, Vec<String>), Failure> {
    let base = clients::load_base(aws).await?;
    let regions = match regions {
        Some(r) => r,
        None => {
            let r = base.region().map(|r| r.to_string()).unwrap_or_default();
            if !targets::is_region(&r) {
                return Err(Failure::usage(format!(
                    "AWS_REGION: {}",
                    targets::TargetError::Region(r)
                )));
            }
            vec![r]
        }
    };
    Ok((base, regions))
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

impl PolicyArgs {
    /// The finding policy; every bad value listed together, exit 2. The rules are
    /// `patchhub_aws::settings`, shared with the Lambda's environment variables.
    pub fn policy(&self) -> Result<FindingPolicy, Failure> {
        let join = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
        let settings = PolicySettings {
            min_severity: Some(self.min_severity.clone()),
            stale_after: Some(self.stale_after.clone()),
            exclude_patches: join(&self.exclude_patch),
            exclude_tags: join(&self.exclude_tag),
            rollup: Some((!self.no_rollup).to_string()),
            stale_findings: Some((!self.no_stale_findings).to_string()),
            refresh_after: Some(self.refresh_after.clone()),
            ..PolicySettings::default()
        };
        policy_from_settings_named(&settings, Setting::flag)
            .map_err(|errors| Failure::usage(errors.join("; ")))
    }
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

/// Patch deadlines, as flags (each also settable by a PATCHHUB_* environment variable).
#[derive(Debug, Clone, Args)]
pub struct DeadlineArgs {
    /// Per-severity patch deadlines, counted from when patchhub first saw the patch missing on a
    /// node, e.g. critical=15d,high=30d,medium=90d (no deadline by default).
    #[arg(long, env = "PATCHHUB_SLA")]
    pub sla: Option<String>,
    /// CISA's Known Exploited Vulnerabilities catalog (known_exploited_vulnerabilities.json as
    /// published): findings whose CVEs it lists are marked, rated CRITICAL, and due by the
    /// catalog's date when that is earlier.
    #[arg(long, env = "PATCHHUB_KEV", value_name = "FILE")]
    pub kev: Option<String>,
    /// Raise a breached finding's severity label one step.
    #[arg(long)]
    pub escalate_breached: bool,
    /// Judge deadlines at this instant (RFC 3339) instead of now: for backfills and tests.
    #[arg(long, env = "PATCHHUB_AS_OF", value_name = "TIMESTAMP")]
    pub as_of: Option<String>,
}

impl DeadlineArgs {
    /// The deadlines; every bad value listed together, exit 2. The rules are
    /// `patchhub_aws::deadlines`, shared with the Lambda's environment variables. Warnings (an
    /// old catalog) are printed to stderr.
    pub fn deadlines(&self) -> Result<patchhub_aws::deadlines::Deadlines, Failure> {
        use patchhub_aws::deadlines::deadlines_from_settings;
        let settings = PolicySettings {
            sla: self.sla.clone(),
            kev: self.kev.clone(),
            escalate_breached: Some(self.escalate_breached.to_string()),
            as_of: self.as_of.clone(),
            ..PolicySettings::default()
        };
        let d = deadlines_from_settings(&settings, Setting::flag, chrono::Utc::now())
            .map_err(|errors| Failure::usage(errors.join("; ")))?;
        for w in &d.warnings {
            eprintln!("patchhub: warning: {w}");
        }
        Ok(d)
    }
}
