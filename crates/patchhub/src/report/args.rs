//! `patchhub report` flags, and their validation into a plan (no AWS call is made here).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use patchhub_aws::clients::AwsOptions;
use patchhub_aws::fanout::FanOut;
use patchhub_core::policy::FindingPolicy;
use patchhub_core::report::ReportSource;

use super::RenderOptions;
use crate::Failure;
use crate::cli::{AwsArgs, Output, PolicyArgs, SyncArgs};

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables for a terminal, 100 columns wide.
    Table,
    /// One table (`--section`) as CSV.
    Csv,
    /// Every figure, in the schema of docs/REPORT.md.
    Json,
    /// One self-contained page: charts, sortable tables, printable, works offline.
    Html,
}

/// Where the findings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// patchhub's findings in Security Hub.
    Securityhub,
    /// SSM, mapped now as `sync` would (nothing is written).
    Ssm,
}

/// The table `--format csv` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// Compliance per account.
    Accounts,
    /// Compliance per Region.
    Regions,
    /// Open patch findings per severity.
    Severities,
    /// Missing patches by affected nodes.
    Patches,
    /// Open CVEs.
    Cves,
    /// Oldest open patch findings.
    Oldest,
    /// Open patch findings by age.
    Ages,
    /// Stale and connection-lost nodes.
    Stale,
    /// Nodes pending a reboot.
    Reboots,
    /// Compliance per platform.
    Platforms,
}

/// `patchhub report` flags.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Where the findings come from. `securityhub`: patchhub's findings as imported (run from the
    /// Security Hub administrator, one read per Region covers every member, and in the
    /// aggregation home Region every linked Region). `ssm`: read SSM now and map it as `sync`
    /// would, without Security Hub (nothing is written; ages count from each node's last scan).
    #[arg(long, value_enum, default_value_t = Source::Securityhub)]
    pub source: Source,
    /// Read findings from a JSON Lines file instead (`sync --output jsonl`, the demo's
    /// findings.jsonl; `-` for stdin). No AWS call is made.
    #[arg(long, conflicts_with_all = ["source", "accounts", "organization", "role_name", "regions"])]
    pub input: Option<PathBuf>,
    /// Output format (default: from --out's extension, else table on a terminal, else json).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to this file instead of stdout.
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// With --format csv: which table to write.
    #[arg(long, value_enum, default_value_t = Section::Accounts)]
    pub section: Section,
    /// Rows in the ranked lists (top missing patches, CVEs, oldest findings).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub top: u32,
    /// Accounts to cover: a CSV file of `AccountId[,Email]` lines.
    #[arg(long, conflicts_with = "organization")]
    pub accounts: Option<PathBuf>,
    /// Cover every ACTIVE account of the organization (not needed from the Security Hub
    /// administrator with --source securityhub: its view already has every member).
    #[arg(long)]
    pub organization: bool,
    /// With --organization: only this OU and its children.
    #[arg(long, requires = "organization")]
    pub ou: Option<String>,
    /// Role to assume in each account (not needed for the caller's own account).
    #[arg(long)]
    pub role_name: Option<String>,
    /// External id the role's trust policy requires.
    #[arg(long, requires = "role_name")]
    pub external_id: Option<String>,
    /// Regions, comma-separated (default: the --region/AWS_REGION one).
    #[arg(long)]
    pub regions: Option<String>,
    /// Account-Region reads in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// With --source ssm: requests per second per SSM API per account and Region.
    #[arg(long, default_value_t = 10.0)]
    pub ssm_rate: f64,
    /// With --source ssm: the finding policy the mapping uses (roll-ups and stale-scan findings
    /// are always on: the report needs them).
    #[command(flatten, next_help_heading = "Finding policy (with --source ssm)")]
    pub policy: PolicyArgs,
}

/// Where the findings come from, validated.
pub(super) enum Input {
    File(PathBuf),
    Aws(Box<AwsInput>),
}

/// Reading from AWS: the same fan-out and policy rules as `sync`.
pub(super) struct AwsInput {
    pub(super) aws: AwsOptions,
    pub(super) fan: FanOut,
    pub(super) source: Source,
    pub(super) policy: FindingPolicy,
}

pub(super) struct Plan {
    pub(super) input: Input,
    pub(super) render: RenderOptions,
    pub(super) out: Option<PathBuf>,
}

pub(super) fn format_of(path: &Path) -> Option<ReportFormat> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "html" | "htm" => Some(ReportFormat::Html),
        "csv" => Some(ReportFormat::Csv),
        "json" => Some(ReportFormat::Json),
        "txt" => Some(ReportFormat::Table),
        _ => None,
    }
}

/// Validates the flags (no AWS calls).
pub(super) fn prepare(args: &ReportArgs) -> Result<Plan, Failure> {
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(format_of))
        .unwrap_or(if args.out.is_none() && std::io::stdout().is_terminal() {
            ReportFormat::Table
        } else {
            ReportFormat::Json
        });
    if let Some(out) = &args.out {
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
        if out.is_dir() || parent.is_some_and(|p| !p.is_dir()) {
            return Err(Failure::usage(format!(
                "--out {}: not a file in an existing directory",
                out.display()
            )));
        }
    }
    let input = match &args.input {
        Some(path) => Input::File(path.clone()),
        None => {
            // The same accounts, Regions, role and policy rules as `sync`, checked the same way.
            let sync = SyncArgs {
                aws: args.aws.clone(),
                policy: args.policy.clone(),
                instance: None,
                accounts: args.accounts.clone(),
                organization: args.organization,
                ou: args.ou.clone(),
                role_name: args.role_name.clone(),
                external_id: args.external_id.clone(),
                regions: args.regions.clone(),
                dry_run: true,
                output: Some(Output::Json),
                concurrency: args.concurrency,
                ssm_rate: args.ssm_rate,
            };
            let p = crate::sync_cmd::prepare(&sync)?;
            let mut fan = p.fan;
            fan.role.session_name = "patchhub-report".into();
            let mut policy = p.opts.policy;
            policy.rollup = true;
            policy.stale_findings = true;
            Input::Aws(Box::new(AwsInput {
                aws: p.aws,
                fan,
                source: args.source,
                policy,
            }))
        }
    };
    let source = match &input {
        Input::File(_) => ReportSource::File,
        Input::Aws(a) if a.source == Source::Ssm => ReportSource::Ssm,
        Input::Aws(_) => ReportSource::SecurityHub,
    };
    Ok(Plan {
        input,
        render: RenderOptions {
            format,
            top: args.top as usize,
            section: args.section,
            source,
        },
        out: args.out.clone(),
    })
}
