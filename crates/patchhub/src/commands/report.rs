//! `patchhub report`: the fleet's patch compliance for a security lead. Validates the flags,
//! reads the findings with `patchhub_aws::report_read` (from Security Hub, from SSM mapped now,
//! or from a JSON Lines file), and renders them with the report renderers.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::{Args, ValueEnum};
use patchhub_aws::clients::{self, AwsOptions};
use patchhub_aws::fanout::FanOut;
use patchhub_aws::report_read::{self, Collected, JsonlError, ReadSource};
use patchhub_core::finding::Finding;
use patchhub_core::policy::FindingPolicy;
use patchhub_core::report::ReportSource;

use crate::args::{AwsArgs, PaceArgs, PolicyArgs, TargetArgs};
use crate::error::Failure;
use crate::report::{RenderOptions, ReportFormat, Section, format_of, write_report};

/// Where the findings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// patchhub's findings in Security Hub.
    Securityhub,
    /// SSM, mapped now as `sync` would (nothing is written).
    Ssm,
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
    /// The accounts and Regions to read (with --source securityhub from the Security Hub
    /// administrator, its view already has every member).
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Reads in flight, and with --source ssm the SSM request rate.
    #[command(flatten)]
    pub pace: PaceArgs,
    /// With --source ssm: the finding policy the mapping uses (roll-ups and stale-scan findings
    /// are always on: the report needs them).
    #[command(flatten, next_help_heading = "Finding policy (with --source ssm)")]
    pub policy: PolicyArgs,
}

/// Where the findings come from, validated.
enum Input {
    File(PathBuf),
    Aws(Box<AwsInput>),
}

/// Reading from AWS: the same fan-out and policy rules as `sync`.
struct AwsInput {
    aws: AwsOptions,
    fan: FanOut,
    source: Source,
    policy: FindingPolicy,
}

struct Plan {
    input: Input,
    render: RenderOptions,
    out: Option<PathBuf>,
}

/// Validates the flags (no AWS calls).
fn prepare(args: &ReportArgs) -> Result<Plan, Failure> {
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
            let mut policy = args.policy.policy()?;
            let aws = args.aws.options()?;
            let fan = args
                .pace
                .fan_out(&args.targets, &args.aws, "patchhub-report")?;
            policy.rollup = true;
            policy.stale_findings = true;
            Input::Aws(Box::new(AwsInput {
                aws,
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
/// `patchhub report`. Exit 0 when every account and Region was read, 1 when the report had to
/// leave some out (it is still written, and each gap is named), 2 for bad flags or credentials.
pub async fn run(args: ReportArgs, quiet: bool) -> Result<(), Failure> {
    let plan = prepare(&args)?;
    let now = Utc::now();
    let collected = match &plan.input {
        Input::File(path) => Collected {
            findings: read_file(path)?,
            gaps: Vec::new(),
        },
        Input::Aws(a) => {
            let AwsInput {
                aws,
                fan,
                source,
                policy,
            } = a.as_ref();
            let base = clients::load_base(aws).await?;
            report_read::collect(&base, fan, source.read_source(), policy, now).await?
        }
    };
    if !quiet {
        tracing::info!(findings = collected.findings.len(), "findings read");
    }
    let mut buf = Vec::new();
    write_report(&collected.findings, &plan.render, &mut buf, now)
        .map_err(|e| Failure::partial(format!("cannot render the report: {e}")))?;
    match &plan.out {
        Some(path) => std::fs::write(path, &buf)
            .map_err(|e| Failure::usage(format!("--out {}: {e}", path.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&buf).and_then(|()| stdout.flush()) {
                // A closed pipe (| head) is not an error worth reporting.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::partial(format!("cannot write the report: {e}")));
                }
                _ => {}
            }
        }
    }
    if let Some(path) = &plan.out
        && !quiet
    {
        eprintln!("patchhub: report written to {}", path.display());
    }
    crate::error::incomplete(&collected.gaps, "the report")
}

impl Source {
    /// The reader this source names.
    fn read_source(self) -> ReadSource {
        match self {
            Source::Securityhub => ReadSource::SecurityHub,
            Source::Ssm => ReadSource::Ssm,
        }
    }
}

/// A findings file; a bad line is named (exit 2).
fn read_file(path: &Path) -> Result<Vec<Finding>, Failure> {
    report_read::read_jsonl(path).map_err(|e| match e {
        JsonlError::Read(e) => {
            Failure::usage(format!("--input {}: cannot read: {e}", path.display()))
        }
        JsonlError::Line { line, error } => Failure::usage(format!(
            "--input {} line {line}: not an ASFF finding: {error}",
            path.display()
        )),
    })
}
