//! `patchhub report`: the fleet's patch compliance for a security lead. Reads patchhub's findings
//! from Security Hub (or maps them from SSM, or reads a JSON Lines file), computes the figures
//! with `patchhub_core::report`, and renders a table, CSV, JSON, or one self-contained HTML page.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use askama::Template;
use aws_config::SdkConfig;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, DateFilter, DateRange, DateRangeUnit, StringFilter,
    StringFilterComparison,
};
use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use patchhub_aws::clients::{self, AccountSession, AwsOptions};
use patchhub_aws::fanout::{self, FanOut};
use patchhub_aws::quota::{Api, Limiter};
use patchhub_aws::source::{ComplianceSource, SsmSource};
use patchhub_aws::targets::RegionSelection;
use patchhub_aws::{ApiError, ErrorKind, convert};
use patchhub_core::finding::{self, Finding, SeverityLabel};
use patchhub_core::model::{ManagedNode, NodeCompliance};
use patchhub_core::policy::FindingPolicy;
use patchhub_core::report::{
    self, Compliance, Report, ReportOptions, ReportSource, SEVERITIES, SeverityCounts,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

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

/// How to render a report.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Format.
    pub format: ReportFormat,
    /// Rows in the ranked lists.
    pub top: usize,
    /// The table `Csv` writes.
    pub section: Section,
    /// Where the findings came from (SSM keeps no history of resolved findings).
    pub source: ReportSource,
}

impl RenderOptions {
    /// Top 20, CSV section `accounts`, findings read from Security Hub.
    pub fn new(format: ReportFormat) -> Self {
        RenderOptions {
            format,
            top: 20,
            section: Section::Accounts,
            source: ReportSource::SecurityHub,
        }
    }
}

/// Computes the report of `findings` as of `now` and writes it in the chosen format.
pub fn write_report(
    findings: &[Finding],
    opts: &RenderOptions,
    out: &mut dyn Write,
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let mut ro = ReportOptions::new(now, opts.source);
    ro.top = opts.top;
    render(&report::build(findings, &ro), opts, out)
}

/// Writes a computed report in the chosen format.
pub fn render(r: &Report, opts: &RenderOptions, out: &mut dyn Write) -> std::io::Result<()> {
    match opts.format {
        ReportFormat::Table => out.write_all(table(r).as_bytes()),
        ReportFormat::Csv => write_csv(r, opts.section, out),
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, r)?;
            writeln!(out)
        }
        ReportFormat::Html => out.write_all(html(r)?.as_bytes()),
    }
}

// ---------------------------------------------------------------------------------------------
// Running the command.

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

fn format_of(path: &Path) -> Option<ReportFormat> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "html" | "htm" => Some(ReportFormat::Html),
        "csv" => Some(ReportFormat::Csv),
        "json" => Some(ReportFormat::Json),
        "txt" => Some(ReportFormat::Table),
        _ => None,
    }
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

/// `patchhub report`. Exit 0 when every account and Region was read, 1 when the report had to
/// leave some out (it is still written, and each gap is named), 2 for bad flags or credentials.
pub async fn run(args: ReportArgs, quiet: bool) -> Result<(), Failure> {
    let plan = prepare(&args)?;
    let now = Utc::now();
    let collected = match &plan.input {
        Input::File(path) => Collected {
            findings: read_jsonl(path)?,
            gaps: Vec::new(),
        },
        Input::Aws(a) => {
            let AwsInput {
                aws,
                fan,
                source,
                policy,
            } = a.as_ref();
            let base = clients::load_base(aws)
                .await
                .map_err(|e| Failure::usage(e.to_string()))?;
            collect(&base, fan, *source, policy, now)
                .await
                .map_err(|e| match e.kind {
                    ErrorKind::Credentials
                    | ErrorKind::InvalidInput
                    | ErrorKind::AccessDenied
                    | ErrorKind::RegionDisabled => Failure::usage(e.to_string()),
                    _ => Failure::partial(e.to_string()),
                })?
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
    if collected.gaps.is_empty() {
        return Ok(());
    }
    for g in &collected.gaps {
        eprintln!("patchhub: {g}");
    }
    Err(Failure::partial(format!(
        "incomplete: {} account(s) or account-Region target(s) could not be read and are missing from the report",
        collected.gaps.len()
    )))
}

/// Findings read, and what could not be read.
pub(crate) struct Collected {
    pub(crate) findings: Vec<Finding>,
    pub(crate) gaps: Vec<String>,
}

/// One finding per line; blank lines skipped; a bad line is named (exit 2).
fn read_jsonl(path: &Path) -> Result<Vec<Finding>, Failure> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| Failure::usage(format!("--input {}: cannot read: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Finding = serde_json::from_str(line).map_err(|e| {
            Failure::usage(format!(
                "--input {} line {}: not an ASFF finding: {e}",
                path.display(),
                i + 1
            ))
        })?;
        out.push(f);
    }
    Ok(out)
}

/// Reads every account and Region of the fan-out. Setup failures (credentials, the account
/// list) are errors; a target or account that cannot be read becomes a gap.
pub(crate) async fn collect(
    base: &SdkConfig,
    fan: &FanOut,
    source: Source,
    policy: &FindingPolicy,
    now: DateTime<Utc>,
) -> Result<Collected, ApiError> {
    let mut fan = fan.clone();
    if matches!(&fan.regions, RegionSelection::List(l) if l.is_empty()) {
        let home = base.region().map(|r| r.to_string()).unwrap_or_default();
        fan.regions = RegionSelection::List(vec![home]);
    }
    let all_enabled = matches!(fan.regions, RegionSelection::AllEnabled);
    let (sessions, mut account_errors) = fanout::sessions(base, &fan).await?;
    let (sessions, region_errors) = fanout::with_regions(sessions, &fan).await;
    account_errors.extend(region_errors);
    let mut gaps: Vec<String> = account_errors
        .iter()
        .map(|e| format!("account {}: {}", e.account, e.error))
        .collect();
    let sem = Arc::new(Semaphore::new(fan.concurrency.max(1)));
    let policy = Arc::new(policy.clone());
    let mut set = JoinSet::new();
    for (s, regions) in sessions {
        for region in &regions {
            let (s, region, sem, policy) = (s.clone(), region.clone(), sem.clone(), policy.clone());
            let quotas = fan.quotas.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                // Quotas are per account and Region: one limiter per target.
                let limiter = Limiter::new(quotas);
                match source {
                    Source::Securityhub => read_security_hub(&s, &region, &limiter).await,
                    Source::Ssm => read_ssm(&s, &region, &policy, &limiter, now).await,
                }
            });
        }
    }
    let mut findings = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(Ok(f)) => findings.extend(f),
            // A Region `all-enabled` lists where Security Hub is off holds no finding: no gap.
            Ok(Err(e)) if all_enabled && e.kind == ErrorKind::HubNotEnabled => {}
            Ok(Err(e)) => gaps.push(e.to_string()),
            Err(e) => gaps.push(format!("a read task failed: {e}")),
        }
    }
    gaps.sort();
    Ok(Collected { findings, gaps })
}

fn string_filter(value: &str, comparison: StringFilterComparison) -> StringFilter {
    StringFilter::builder()
        .value(value)
        .comparison(comparison)
        .build()
}

/// Days back that archived patch findings are read for "resolved recently".
const RESOLVED_WINDOW_DAYS: i32 = 30;

/// patchhub's open findings in one account and Region as its caller sees them (an
/// administrator's view includes its members and, in the aggregation home Region, the linked
/// Regions), plus the patch findings resolved in the last 30 days. No account filter: that is
/// what lets one read from the administrator cover the organization.
async fn read_security_hub(
    s: &AccountSession,
    region: &str,
    limiter: &Limiter,
) -> Result<Vec<Finding>, ApiError> {
    let client = aws_sdk_securityhub::Client::new(&s.in_region(region));
    let open = AwsSecurityFindingFilters::builder()
        .generator_id(string_filter(
            finding::GENERATOR_PREFIX,
            StringFilterComparison::Prefix,
        ))
        .record_state(string_filter("ACTIVE", StringFilterComparison::Equals))
        .build();
    let resolved = AwsSecurityFindingFilters::builder()
        .generator_id(string_filter(
            finding::GENERATOR_PATCH,
            StringFilterComparison::Equals,
        ))
        .record_state(string_filter("ARCHIVED", StringFilterComparison::Equals))
        .updated_at(
            DateFilter::builder()
                .date_range(
                    DateRange::builder()
                        .value(RESOLVED_WINDOW_DAYS)
                        .unit(DateRangeUnit::Days)
                        .build(),
                )
                .build(),
        )
        .build();
    let mut out = Vec::new();
    for filters in [open, resolved] {
        let mut token: Option<String> = None;
        loop {
            limiter.acquire(Api::GetFindings).await;
            let page = client
                .get_findings()
                .filters(filters.clone())
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ApiError::from_sdk(&s.account_id, region, "GetFindings", &e))?;
            for f in page.findings() {
                match convert::from_sdk(f) {
                    Ok(f) => out.push(f),
                    Err(e) => tracing::warn!(id = f.id(), "ignoring an unreadable finding: {e}"),
                }
            }
            token = page
                .next_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

/// Whether a node has patches worth reading (as `sync` decides).
fn has_patch_detail(node: &ManagedNode) -> bool {
    let c = &node.counts;
    node.last_operation.is_some()
        && c.missing
            + c.failed
            + c.installed_pending_reboot
            + c.installed_rejected
            + c.available_security_update
            > 0
}

/// Findings `sync` would write for one account and Region, mapped from SSM now.
async fn read_ssm(
    s: &AccountSession,
    region: &str,
    policy: &Arc<FindingPolicy>,
    limiter: &Limiter,
    now: DateTime<Utc>,
) -> Result<Vec<Finding>, ApiError> {
    let source = SsmSource::new(
        aws_sdk_ssm::Client::new(&s.in_region(region)),
        &s.account_id,
        region,
        &s.partition,
        limiter.clone(),
    );
    let nodes = source.list_nodes(None, &policy.exclude_tags).await?;
    let mut out = Vec::new();
    let mut set = JoinSet::new();
    let sem = Arc::new(Semaphore::new(8));
    for node in nodes {
        let (source, policy, sem) = (source.clone(), policy.clone(), sem.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let patches = if has_patch_detail(&node) {
                source.node_patches(&node).await?
            } else {
                Vec::new()
            };
            Ok::<_, ApiError>(patchhub_core::findings_for_node(
                &NodeCompliance { node, patches },
                &policy,
                now,
            ))
        });
    }
    while let Some(res) = set.join_next().await {
        match res {
            Ok(r) => out.extend(r?),
            Err(e) => {
                return Err(ApiError::other(
                    &s.account_id,
                    region,
                    "DescribeInstancePatches",
                    ErrorKind::Service,
                    format!("task failed: {e}"),
                ));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Shared formatting.

/// `1234567` -> `1,234,567`.
fn num(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0.71254` -> `71.3%`; none -> `-`.
fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(
        || "-".to_string(),
        |r| format!("{:.1}%", (r * 1000.0).round() / 10.0),
    )
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn source_name(s: ReportSource) -> &'static str {
    match s {
        ReportSource::SecurityHub => "Security Hub",
        ReportSource::Ssm => "Systems Manager (SSM)",
        ReportSource::File => "a findings file",
    }
}

fn severity_name(s: SeverityLabel) -> &'static str {
    match s {
        SeverityLabel::Critical => "Critical",
        SeverityLabel::High => "High",
        SeverityLabel::Medium => "Medium",
        SeverityLabel::Low => "Low",
        SeverityLabel::Informational => "Informational",
    }
}

fn severity_short(s: SeverityLabel) -> &'static str {
    match s {
        SeverityLabel::Informational => "Info",
        other => severity_name(other),
    }
}

/// `s` cut to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `a, b +3`.
fn some_of(items: &[String], show: usize) -> String {
    let mut s = items
        .iter()
        .take(show)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > show {
        let _ = write!(s, " +{}", items.len() - show);
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Table (terminal).

/// Width the terminal tables are fitted to.
const TABLE_WIDTH: u16 = 100;

fn new_table(header: &[&str], numeric: &[usize]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(TABLE_WIDTH)
        .set_header(header.to_vec());
    for &i in numeric {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn compliance_cells(c: &Compliance) -> Vec<String> {
    let nc = &c.non_compliant_by_severity;
    vec![
        num(c.nodes),
        num(c.scanned),
        num(c.compliant),
        pct(c.compliance_rate),
        num(nc.critical),
        num(nc.high),
        num(nc.medium),
        num(nc.low + nc.informational),
        num(c.open_findings),
        num(c.stale),
    ]
}

const COMPLIANCE_HEADER: [&str; 10] = [
    "nodes",
    "scanned",
    "compliant",
    "rate",
    "crit",
    "high",
    "med",
    "low",
    "findings",
    "stale",
];

/// Every section as terminal tables, each at most 100 columns wide.
pub(crate) fn table(r: &Report) -> String {
    let t = &r.totals;
    let c = &t.compliance;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Patch compliance report, {} (from {})",
        minute(r.generated_at),
        source_name(r.source)
    );
    let _ = writeln!(
        s,
        "Compliance {}: {} of {} scanned nodes compliant ({} nodes, {} accounts, {} Regions)",
        pct(c.compliance_rate),
        num(c.compliant),
        num(c.scanned),
        num(c.nodes),
        num(t.accounts),
        num(t.regions)
    );
    let _ = writeln!(
        s,
        "Open: {} patch findings, {} missing patches, {} CVEs",
        num(c.open_findings),
        num(t.missing_patches),
        num(t.open_cves)
    );
    let _ = writeln!(
        s,
        "Nodes: {} stale ({} agent connection lost), {} pending reboot",
        num(c.stale),
        num(t.connection_lost),
        num(t.pending_reboot)
    );
    if let Some(n) = t.resolved_recently {
        let _ = writeln!(
            s,
            "Resolved in the last {} days: {} patch findings",
            t.resolved_window_days,
            num(n)
        );
    }
    let legend =
        "crit/high/med/low: non-compliant nodes by the worst severity of their open findings";

    let mut head = vec!["account"];
    head.extend(COMPLIANCE_HEADER);
    let mut tab = new_table(&head, &(1..=10).collect::<Vec<_>>());
    for a in &r.accounts {
        let mut row = vec![a.account.clone()];
        row.extend(compliance_cells(&a.compliance));
        tab.add_row(row);
    }
    section(&mut s, "Compliance by account", &tab, Some(legend));

    let mut head = vec!["region"];
    head.extend(COMPLIANCE_HEADER);
    let mut tab = new_table(&head, &(1..=10).collect::<Vec<_>>());
    for x in &r.regions {
        let mut row = vec![x.region.clone()];
        row.extend(compliance_cells(&x.compliance));
        tab.add_row(row);
    }
    section(&mut s, "Compliance by Region", &tab, None);

    let mut tab = new_table(
        &["severity", "open findings", "nodes", "patches", "CVEs"],
        &[1, 2, 3, 4],
    );
    for x in &r.severities {
        tab.add_row(vec![
            severity_name(x.severity).to_string(),
            num(x.open_findings),
            num(x.nodes),
            num(x.patches),
            num(x.cves),
        ]);
    }
    section(&mut s, "Open patch findings by severity", &tab, None);

    let mut tab = new_table(
        &[
            "#",
            "patch",
            "severity",
            "nodes",
            "failed",
            "classification",
            "CVEs",
        ],
        &[0, 3, 4],
    );
    for (i, p) in r.top_patches.iter().enumerate() {
        tab.add_row(vec![
            (i + 1).to_string(),
            cut(&p.patch_id, 24),
            severity_short(p.severity).to_string(),
            num(p.nodes),
            num(p.failed),
            cut(&p.classification, 18),
            some_of(&p.cves, 1),
        ]);
    }
    section(
        &mut s,
        &format!("Top missing patches (of {})", num(r.totals.missing_patches)),
        &tab,
        None,
    );

    let mut tab = new_table(
        &[
            "CVE",
            "severity",
            "nodes",
            "accounts",
            "days open",
            "fixed by",
        ],
        &[2, 3, 4],
    );
    for x in &r.cves {
        tab.add_row(vec![
            x.cve.clone(),
            severity_short(x.severity).to_string(),
            num(x.nodes),
            num(x.accounts),
            x.age_days.to_string(),
            some_of(&cut_all(&x.patches, 24), 1),
        ]);
    }
    section(
        &mut s,
        &format!("Open CVEs (of {})", num(r.totals.open_cves)),
        &tab,
        None,
    );

    let mut tab = new_table(
        &["age", "findings", "crit", "high", "med", "low", "info"],
        &[1, 2, 3, 4, 5, 6],
    );
    for b in &r.age_buckets {
        let v = &b.by_severity;
        tab.add_row(vec![
            b.label.clone(),
            num(b.findings),
            num(v.critical),
            num(v.high),
            num(v.medium),
            num(v.low),
            num(v.informational),
        ]);
    }
    section(&mut s, "Age of open patch findings", &tab, None);

    let mut tab = new_table(
        &["days", "severity", "patch", "state", "node", "account"],
        &[0],
    );
    for f in &r.oldest_findings {
        tab.add_row(vec![
            f.age_days.to_string(),
            severity_short(f.severity).to_string(),
            cut(&f.patch_id, 22),
            state_short(&f.state).to_string(),
            cut(&f.node_id, 20),
            f.account.clone(),
        ]);
    }
    section(&mut s, "Oldest open findings", &tab, None);

    let mut tab = new_table(
        &["node", "account", "region", "last scan", "days", "why"],
        &[4],
    );
    let top = r.top.max(1);
    for x in r.stale_nodes.iter().take(top) {
        tab.add_row(vec![
            cut(&x.node_id, 20),
            x.account.clone(),
            x.region.clone(),
            x.last_scan.map_or_else(|| "never".into(), day),
            x.days_since_scan
                .map_or_else(|| "-".into(), |d| d.to_string()),
            x.reasons
                .iter()
                .map(|r| reason_short(r))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    section(
        &mut s,
        &format!(
            "Stale and connection-lost nodes ({})",
            num(r.stale_nodes.len())
        ),
        &tab,
        more(r.stale_nodes.len(), top, "stale").as_deref(),
    );

    let mut tab = new_table(
        &[
            "node",
            "account",
            "region",
            "patches",
            "since",
            "reboot option",
        ],
        &[3],
    );
    for x in r.pending_reboots.iter().take(top) {
        tab.add_row(vec![
            cut(&x.node_id, 20),
            x.account.clone(),
            x.region.clone(),
            num(x.patches),
            x.since.map_or_else(|| "-".into(), day),
            x.reboot_option.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    section(
        &mut s,
        &format!("Pending reboots ({})", num(r.pending_reboots.len())),
        &tab,
        more(r.pending_reboots.len(), top, "reboots").as_deref(),
    );

    let mut tab = new_table(
        &[
            "platform",
            "nodes",
            "scanned",
            "compliant",
            "rate",
            "findings",
            "stale",
        ],
        &[1, 2, 3, 4, 5, 6],
    );
    for p in &r.platforms {
        let c = &p.compliance;
        tab.add_row(vec![
            cut(&p.platform, 40),
            num(c.nodes),
            num(c.scanned),
            num(c.compliant),
            pct(c.compliance_rate),
            num(c.open_findings),
            num(c.stale),
        ]);
    }
    section(&mut s, "Nodes by platform", &tab, None);
    s
}

/// SSM patch state in a few words.
fn state_short(state: &str) -> &str {
    match state {
        "MISSING" => "missing",
        "FAILED" => "failed",
        "INSTALLED_PENDING_REBOOT" => "pending reboot",
        "INSTALLED_REJECTED" => "rejected",
        "AVAILABLE_SECURITY_UPDATE" => "available",
        other => other,
    }
}

/// Stale reason in a few words.
fn reason_short(reason: &str) -> &str {
    match reason {
        "never-scanned" => "never scanned",
        "scan-too-old" => "old scan",
        "connection-lost" => "agent lost",
        other => other,
    }
}

fn cut_all(items: &[String], max: usize) -> Vec<String> {
    items.iter().map(|s| cut(s, max)).collect()
}

fn more(total: usize, shown: usize, section: &str) -> Option<String> {
    (total > shown).then(|| {
        format!(
            "… and {} more (all of them: --format csv --section {section}, json or html)",
            num(total - shown)
        )
    })
}

fn section(s: &mut String, title: &str, t: &Table, note: Option<&str>) {
    let _ = writeln!(s, "\n{title}");
    if t.row_count() == 0 {
        let _ = writeln!(s, "  (none)");
    } else {
        let _ = writeln!(s, "{t}");
    }
    if let Some(n) = note {
        let _ = writeln!(s, "{n}");
    }
}

// ---------------------------------------------------------------------------------------------
// CSV.

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

const COMPLIANCE_COLUMNS: [&str; 17] = [
    "nodes",
    "scanned",
    "compliant",
    "non_compliant",
    "compliance_rate",
    "non_compliant_critical",
    "non_compliant_high",
    "non_compliant_medium",
    "non_compliant_low",
    "non_compliant_informational",
    "open_findings",
    "findings_critical",
    "findings_high",
    "findings_medium",
    "findings_low",
    "findings_informational",
    "stale",
];

fn severity_values(s: &SeverityCounts) -> impl Iterator<Item = String> + '_ {
    SEVERITIES.iter().map(|l| s.get(*l).to_string())
}

fn compliance_values(c: &Compliance) -> Vec<String> {
    let mut v = vec![
        c.nodes.to_string(),
        c.scanned.to_string(),
        c.compliant.to_string(),
        c.non_compliant.to_string(),
        opt(c.compliance_rate),
    ];
    v.extend(severity_values(&c.non_compliant_by_severity));
    v.push(c.open_findings.to_string());
    v.extend(severity_values(&c.findings_by_severity));
    v.push(c.stale.to_string());
    v
}

/// One section as CSV, columns as documented in docs/REPORT.md; lists are `;`-separated.
fn write_csv(r: &Report, section: Section, out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let with = |first: &[&str]| -> Vec<String> {
        first
            .iter()
            .chain(COMPLIANCE_COLUMNS.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let header: Vec<String> = match section {
        Section::Accounts => {
            for a in &r.accounts {
                let mut row = vec![a.account.clone(), a.region_count.to_string()];
                row.extend(compliance_values(&a.compliance));
                rows.push(row);
            }
            with(&["account", "regions"])
        }
        Section::Regions => {
            for x in &r.regions {
                let mut row = vec![x.region.clone(), x.account_count.to_string()];
                row.extend(compliance_values(&x.compliance));
                rows.push(row);
            }
            with(&["region", "accounts"])
        }
        Section::Platforms => {
            for p in &r.platforms {
                let mut row = vec![p.platform.clone(), p.platform_type.clone()];
                row.extend(compliance_values(&p.compliance));
                rows.push(row);
            }
            with(&["platform", "platform_type"])
        }
        Section::Severities => {
            for x in &r.severities {
                rows.push(vec![
                    x.severity.as_str().to_string(),
                    x.open_findings.to_string(),
                    x.nodes.to_string(),
                    x.patches.to_string(),
                    x.cves.to_string(),
                ]);
            }
            strings(&["severity", "open_findings", "nodes", "patches", "cves"])
        }
        Section::Patches => {
            for (i, p) in r.top_patches.iter().enumerate() {
                rows.push(vec![
                    (i + 1).to_string(),
                    p.patch_id.clone(),
                    p.title.clone(),
                    p.classification.clone(),
                    p.severity.as_str().to_string(),
                    p.nodes.to_string(),
                    p.accounts.to_string(),
                    p.missing.to_string(),
                    p.failed.to_string(),
                    p.cves.len().to_string(),
                    p.cves.join(";"),
                ]);
            }
            strings(&[
                "rank",
                "patch_id",
                "title",
                "classification",
                "severity",
                "nodes",
                "accounts",
                "missing",
                "failed",
                "cve_count",
                "cves",
            ])
        }
        Section::Cves => {
            for x in &r.cves {
                rows.push(vec![
                    x.cve.clone(),
                    x.severity.as_str().to_string(),
                    x.nodes.to_string(),
                    x.accounts.to_string(),
                    x.patches.join(";"),
                    ts(x.first_observed_at),
                    x.age_days.to_string(),
                ]);
            }
            strings(&[
                "cve",
                "severity",
                "nodes",
                "accounts",
                "patches",
                "first_observed_at",
                "age_days",
            ])
        }
        Section::Oldest => {
            for f in &r.oldest_findings {
                rows.push(vec![
                    f.account.clone(),
                    f.region.clone(),
                    f.node_id.clone(),
                    opt(f.node_name.as_ref()),
                    f.patch_id.clone(),
                    f.state.clone(),
                    f.severity.as_str().to_string(),
                    ts(f.first_observed_at),
                    f.age_days.to_string(),
                    f.title.clone(),
                    f.finding_id.clone(),
                ]);
            }
            strings(&[
                "account",
                "region",
                "node_id",
                "node_name",
                "patch_id",
                "state",
                "severity",
                "first_observed_at",
                "age_days",
                "title",
                "finding_id",
            ])
        }
        Section::Ages => {
            for b in &r.age_buckets {
                let mut row = vec![
                    b.label.clone(),
                    b.from_days.to_string(),
                    opt(b.to_days),
                    b.findings.to_string(),
                ];
                row.extend(severity_values(&b.by_severity));
                rows.push(row);
            }
            strings(&[
                "age",
                "from_days",
                "to_days",
                "findings",
                "critical",
                "high",
                "medium",
                "low",
                "informational",
            ])
        }
        Section::Stale => {
            for x in &r.stale_nodes {
                rows.push(vec![
                    x.account.clone(),
                    x.region.clone(),
                    x.node_id.clone(),
                    opt(x.node_name.as_ref()),
                    x.platform.clone(),
                    opt(x.ping_status.as_ref()),
                    x.reasons.join(";"),
                    opt(x.last_scan.map(ts)),
                    opt(x.days_since_scan),
                ]);
            }
            strings(&[
                "account",
                "region",
                "node_id",
                "node_name",
                "platform",
                "ping_status",
                "reasons",
                "last_scan",
                "days_since_scan",
            ])
        }
        Section::Reboots => {
            for x in &r.pending_reboots {
                rows.push(vec![
                    x.account.clone(),
                    x.region.clone(),
                    x.node_id.clone(),
                    opt(x.node_name.as_ref()),
                    x.platform.clone(),
                    x.patches.to_string(),
                    opt(x.reboot_option.as_ref()),
                    opt(x.since.map(ts)),
                    opt(x.age_days),
                ]);
            }
            strings(&[
                "account",
                "region",
                "node_id",
                "node_name",
                "platform",
                "patches",
                "reboot_option",
                "since",
                "age_days",
            ])
        }
    };
    w.write_record(&header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.flush()
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// HTML: one page, rendered from templates/report.html (askama, auto-escaped). Charts are inline
// SVG drawn from the geometry computed here; every chart has a title, a description and a data
// table with the same figures.

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    generated: String,
    generated_iso: String,
    source: &'static str,
    scope: String,
    tiles: Vec<Tile>,
    sections: Vec<SectionView>,
}

struct Tile {
    label: &'static str,
    value: String,
    note: String,
}

struct SectionView {
    id: &'static str,
    title: String,
    intro: String,
    charts: Vec<Chart>,
    tables: Vec<TableView>,
}

struct TableView {
    id: String,
    caption: String,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    empty: &'static str,
}

struct Column {
    label: &'static str,
    numeric: bool,
}

struct Cell {
    text: String,
    /// Sort key when the text is not it (raw numbers, ISO dates); empty: the text.
    sort: String,
    href: String,
    /// CSS classes (severity dot, no-wrap).
    class: &'static str,
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        Cell {
            text: s.into(),
            sort: String::new(),
            href: String::new(),
            class: "",
        }
    }

    fn n(n: usize) -> Self {
        Cell {
            sort: n.to_string(),
            ..Cell::text(num(n))
        }
    }

    /// An id or name that must not break (node ids, accounts, Regions).
    fn id(s: impl Into<String>) -> Self {
        Cell {
            class: "nw",
            ..Cell::text(s)
        }
    }

    fn days(n: i64) -> Self {
        Cell::text(n.to_string())
    }

    fn rate(r: Option<f64>) -> Self {
        Cell {
            sort: r.map_or_else(|| "-1".into(), |r| r.to_string()),
            ..Cell::text(pct(r))
        }
    }

    fn date(t: Option<DateTime<Utc>>, none: &str) -> Self {
        match t {
            Some(t) => Cell {
                sort: ts(t),
                class: "nw",
                ..Cell::text(day(t))
            },
            None => Cell {
                sort: String::new(),
                ..Cell::text(none)
            },
        }
    }

    fn severity(s: SeverityLabel) -> Self {
        Cell {
            sort: (SEVERITIES.len() - SEVERITIES.iter().position(|x| *x == s).unwrap_or(0))
                .to_string(),
            class: match s {
                SeverityLabel::Critical => "sev sev-critical",
                SeverityLabel::High => "sev sev-high",
                SeverityLabel::Medium => "sev sev-medium",
                SeverityLabel::Low => "sev sev-low",
                SeverityLabel::Informational => "sev sev-informational",
            },
            ..Cell::text(severity_name(s))
        }
    }
}

fn col(label: &'static str) -> Column {
    Column {
        label,
        numeric: false,
    }
}

fn ncol(label: &'static str) -> Column {
    Column {
        label,
        numeric: true,
    }
}

fn sev_class(s: SeverityLabel) -> &'static str {
    match s {
        SeverityLabel::Critical => "critical",
        SeverityLabel::High => "high",
        SeverityLabel::Medium => "medium",
        SeverityLabel::Low => "low",
        SeverityLabel::Informational => "informational",
    }
}

/// An inline SVG chart.
struct Chart {
    id: &'static str,
    title: String,
    desc: String,
    caption: String,
    width: u32,
    height: u32,
    rects: Vec<Rect>,
    texts: Vec<Text>,
    lines: Vec<Line>,
    legend: Vec<(&'static str, &'static str)>,
}

struct Rect {
    x: String,
    y: String,
    w: String,
    h: String,
    class: &'static str,
    tip: String,
}

struct Text {
    x: String,
    y: String,
    anchor: &'static str,
    class: &'static str,
    text: String,
}

struct Line {
    x1: String,
    y1: String,
    x2: String,
    y2: String,
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

impl Chart {
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &'static str, tip: String) {
        if w > 0.0 && h > 0.0 {
            self.rects.push(Rect {
                x: f1(x),
                y: f1(y),
                w: f1(w),
                h: f1(h),
                class,
                tip,
            });
        }
    }

    fn text(&mut self, x: f64, y: f64, anchor: &'static str, class: &'static str, text: String) {
        self.texts.push(Text {
            x: f1(x),
            y: f1(y),
            anchor,
            class,
            text,
        });
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        self.lines.push(Line {
            x1: f1(x1),
            y1: f1(y1),
            x2: f1(x2),
            y2: f1(y2),
        });
    }
}

const SEVERITY_LEGEND: [(&str, &str); 5] = [
    ("critical", "Critical"),
    ("high", "High"),
    ("medium", "Medium"),
    ("low", "Low"),
    ("informational", "Informational"),
];

const CHART_WIDTH: f64 = 960.0;

/// Per account: the compliant share of scanned nodes, the rest split by worst severity.
fn account_chart(r: &Report) -> Chart {
    let (label_w, bar_x, bar_w, row_h, bar_h, top) = (150.0, 160.0, 560.0, 30.0, 20.0, 8.0);
    let rows = r.accounts.len().max(1) as f64;
    let axis_y = top + rows * row_h + 4.0;
    let mut c = Chart {
        id: "chart-accounts",
        title: "Compliance by account".into(),
        desc: String::new(),
        caption: "Share of each account's scanned nodes that are compliant (green); the rest by the worst severity of their open patch findings. The table below has the same figures.".into(),
        width: CHART_WIDTH as u32,
        height: (axis_y + 24.0) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: vec![("compliant", "Compliant")],
    };
    c.legend.extend(SEVERITY_LEGEND);
    let mut desc = vec![
        "Bar chart: per account, the percentage of scanned nodes that are compliant.".to_string(),
    ];
    for (i, a) in r.accounts.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let k = &a.compliance;
        c.text(label_w, y + bar_h * 0.75, "end", "label", a.account.clone());
        if k.scanned == 0 {
            c.rect(
                bar_x,
                y,
                bar_w,
                bar_h,
                "none",
                format!("{}: no scanned nodes", a.account),
            );
            c.text(
                bar_x + bar_w + 10.0,
                y + bar_h * 0.75,
                "start",
                "value",
                "no scanned nodes".into(),
            );
            desc.push(format!("{}: no scanned nodes.", a.account));
            continue;
        }
        let unit = bar_w / k.scanned as f64;
        let mut x = bar_x;
        let w = k.compliant as f64 * unit;
        c.rect(
            x,
            y,
            w,
            bar_h,
            "compliant",
            format!(
                "{}: {} of {} scanned nodes compliant",
                a.account,
                num(k.compliant),
                num(k.scanned)
            ),
        );
        x += w;
        for s in SEVERITIES {
            let n = k.non_compliant_by_severity.get(s);
            let w = n as f64 * unit;
            c.rect(
                x,
                y,
                w,
                bar_h,
                sev_class(s),
                format!(
                    "{}: {} non-compliant nodes, worst severity {}",
                    a.account,
                    num(n),
                    severity_name(s)
                ),
            );
            x += w;
        }
        c.text(
            bar_x + bar_w + 10.0,
            y + bar_h * 0.75,
            "start",
            "value",
            format!("{} compliant of {}", pct(k.compliance_rate), num(k.scanned)),
        );
        desc.push(format!(
            "{}: {} compliant ({} of {} scanned nodes).",
            a.account,
            pct(k.compliance_rate),
            num(k.compliant),
            num(k.scanned)
        ));
    }
    if r.accounts.is_empty() {
        c.text(
            bar_x,
            top + bar_h * 0.75,
            "start",
            "value",
            "No nodes".into(),
        );
        desc.push("No nodes.".into());
    }
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = bar_x + p * bar_w;
        c.line(x, top - 4.0, x, axis_y);
        c.text(
            x,
            axis_y + 16.0,
            "middle",
            "axis",
            format!("{}%", (p * 100.0) as u32),
        );
    }
    c.desc = desc.join(" ");
    c
}

/// Open patch findings per severity, with their nodes.
fn severity_chart(r: &Report) -> Chart {
    let (label_w, bar_x, bar_w, row_h, bar_h, top) = (120.0, 130.0, 560.0, 30.0, 20.0, 8.0);
    let max = r
        .severities
        .iter()
        .map(|s| s.open_findings)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut c = Chart {
        id: "chart-severity",
        title: "Open patch findings by severity".into(),
        desc: String::new(),
        caption: "Open patch findings per severity, with the number of nodes they are on. The table below has the same figures.".into(),
        width: CHART_WIDTH as u32,
        height: (top * 2.0 + r.severities.len() as f64 * row_h) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: Vec::new(),
    };
    let mut desc = vec!["Bar chart of open patch findings per severity.".to_string()];
    for (i, s) in r.severities.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let name = severity_name(s.severity);
        c.text(label_w, y + bar_h * 0.75, "end", "label", name.into());
        c.rect(
            bar_x,
            y,
            s.open_findings as f64 / max * bar_w,
            bar_h,
            sev_class(s.severity),
            format!("{name}: {} open findings", num(s.open_findings)),
        );
        let value = format!(
            "{} findings on {} nodes",
            num(s.open_findings),
            num(s.nodes)
        );
        c.text(
            bar_x + s.open_findings as f64 / max * bar_w + 8.0,
            y + bar_h * 0.75,
            "start",
            "value",
            value.clone(),
        );
        desc.push(format!("{name}: {value}."));
    }
    c.desc = desc.join(" ");
    c
}

/// Open patch findings per age bucket, stacked by severity (worst at the bottom).
fn age_chart(r: &Report) -> Chart {
    let (left, plot_w, top, plot_h) = (60.0, 860.0, 28.0, 220.0);
    let base = top + plot_h;
    let max = r
        .age_buckets
        .iter()
        .map(|b| b.findings)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = plot_w / r.age_buckets.len().max(1) as f64;
    let bar_w = (slot * 0.6).min(120.0);
    let mut c = Chart {
        id: "chart-ages",
        title: "Age of open patch findings".into(),
        desc: String::new(),
        caption: "Open patch findings by days since first observed, stacked by severity. The table below has the same figures.".into(),
        width: CHART_WIDTH as u32,
        height: (base + 30.0) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: SEVERITY_LEGEND.to_vec(),
    };
    c.line(left, base, left + plot_w, base);
    c.line(left, top, left + plot_w, top);
    c.text(left - 8.0, base + 4.0, "end", "axis", "0".into());
    c.text(left - 8.0, top + 4.0, "end", "axis", num(max as usize));
    let mut desc = vec!["Column chart of open patch findings by age.".to_string()];
    for (i, b) in r.age_buckets.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar_w) / 2.0;
        let mut y = base;
        for s in SEVERITIES {
            let n = b.by_severity.get(s);
            let h = n as f64 / max * plot_h;
            y -= h;
            c.rect(
                x,
                y,
                bar_w,
                h,
                sev_class(s),
                format!("{}: {} {} findings", b.label, num(n), severity_name(s)),
            );
        }
        c.text(x + bar_w / 2.0, y - 6.0, "middle", "value", num(b.findings));
        c.text(
            x + bar_w / 2.0,
            base + 18.0,
            "middle",
            "label",
            b.label.clone(),
        );
        desc.push(format!("{}: {} findings.", b.label, num(b.findings)));
    }
    c.desc = desc.join(" ");
    c
}

fn compliance_columns(first: &'static str, second: &'static str) -> Vec<Column> {
    vec![
        col(first),
        ncol(second),
        ncol("Nodes"),
        ncol("Scanned"),
        ncol("Compliant"),
        ncol("Non-compliant"),
        ncol("Rate"),
        ncol("Critical"),
        ncol("High"),
        ncol("Medium"),
        ncol("Low"),
        ncol("Info"),
        ncol("Open findings"),
        ncol("Stale"),
    ]
}

fn compliance_row(first: &str, second: usize, k: &Compliance) -> Vec<Cell> {
    let v = &k.non_compliant_by_severity;
    vec![
        Cell::text(first),
        Cell::n(second),
        Cell::n(k.nodes),
        Cell::n(k.scanned),
        Cell::n(k.compliant),
        Cell::n(k.non_compliant),
        Cell::rate(k.compliance_rate),
        Cell::n(v.critical),
        Cell::n(v.high),
        Cell::n(v.medium),
        Cell::n(v.low),
        Cell::n(v.informational),
        Cell::n(k.open_findings),
        Cell::n(k.stale),
    ]
}

const SPLIT_NOTE: &str = "Rate: compliant / scanned nodes. Critical … Info: non-compliant nodes by the worst severity of their open patch findings.";

fn nvd(cve: &str) -> String {
    format!("https://nvd.nist.gov/vuln/detail/{cve}")
}

fn node_cells(account: &str, region: &str, id: &str, name: Option<&str>) -> Vec<Cell> {
    vec![
        Cell::id(id),
        Cell::text(name.unwrap_or("")),
        Cell::id(account),
        Cell::id(region),
    ]
}

fn sections(r: &Report) -> Vec<SectionView> {
    let mut out = Vec::new();

    out.push(SectionView {
        id: "accounts",
        title: "Compliance by account".into(),
        intro: SPLIT_NOTE.into(),
        charts: vec![account_chart(r)],
        tables: vec![TableView {
            id: "table-accounts".into(),
            caption: "Compliance by account".into(),
            columns: compliance_columns("Account", "Regions"),
            rows: r
                .accounts
                .iter()
                .map(|a| compliance_row(&a.account, a.region_count, &a.compliance))
                .collect(),
            empty: "No accounts.",
        }],
    });

    out.push(SectionView {
        id: "regions",
        title: "Compliance by Region".into(),
        intro: String::new(),
        charts: Vec::new(),
        tables: vec![TableView {
            id: "table-regions".into(),
            caption: "Compliance by Region".into(),
            columns: compliance_columns("Region", "Accounts"),
            rows: r
                .regions
                .iter()
                .map(|x| compliance_row(&x.region, x.account_count, &x.compliance))
                .collect(),
            empty: "No Regions.",
        }],
    });

    out.push(SectionView {
        id: "severity",
        title: "Open findings by severity".into(),
        intro: String::new(),
        charts: vec![severity_chart(r)],
        tables: vec![TableView {
            id: "table-severity".into(),
            caption: "Open patch findings by severity".into(),
            columns: vec![
                col("Severity"),
                ncol("Open findings"),
                ncol("Nodes"),
                ncol("Patches"),
                ncol("CVEs"),
            ],
            rows: r
                .severities
                .iter()
                .map(|s| {
                    vec![
                        Cell::severity(s.severity),
                        Cell::n(s.open_findings),
                        Cell::n(s.nodes),
                        Cell::n(s.patches),
                        Cell::n(s.cves),
                    ]
                })
                .collect(),
            empty: "No findings.",
        }],
    });

    out.push(SectionView {
        id: "patches",
        title: "Top missing patches".into(),
        intro: format!(
            "The {} patches missing (or failed) on the most nodes, of {} missing somewhere.",
            r.top_patches.len(),
            num(r.totals.missing_patches)
        ),
        charts: Vec::new(),
        tables: vec![TableView {
            id: "table-patches".into(),
            caption: "Top missing patches by affected nodes".into(),
            columns: vec![
                ncol("#"),
                col("Patch"),
                col("Title"),
                col("Classification"),
                col("Severity"),
                ncol("Nodes"),
                ncol("Accounts"),
                ncol("Missing"),
                ncol("Failed"),
                col("CVEs"),
            ],
            rows: r
                .top_patches
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    vec![
                        Cell::n(i + 1),
                        Cell::text(&p.patch_id),
                        Cell::text(cut(&p.title, 120)),
                        Cell::text(&p.classification),
                        Cell::severity(p.severity),
                        Cell::n(p.nodes),
                        Cell::n(p.accounts),
                        Cell::n(p.missing),
                        Cell::n(p.failed),
                        Cell::text(some_of(&p.cves, 4)),
                    ]
                })
                .collect(),
            empty: "No missing patches.",
        }],
    });

    out.push(SectionView {
        id: "cves",
        title: "Open CVEs".into(),
        intro: format!(
            "The {} most severe and widespread of {} CVEs listed by open patch findings. Each links to its NVD entry.",
            r.cves.len(),
            num(r.totals.open_cves)
        ),
        charts: Vec::new(),
        tables: vec![TableView {
            id: "table-cves".into(),
            caption: "Open CVEs by severity and affected nodes".into(),
            columns: vec![
                col("CVE"),
                col("Severity"),
                ncol("Nodes"),
                ncol("Accounts"),
                col("Fixed by"),
                col("First seen"),
                ncol("Days open"),
            ],
            rows: r
                .cves
                .iter()
                .map(|x| {
                    vec![
                        Cell {
                            href: nvd(&x.cve),
                            ..Cell::text(&x.cve)
                        },
                        Cell::severity(x.severity),
                        Cell::n(x.nodes),
                        Cell::n(x.accounts),
                        Cell::text(some_of(&x.patches, 3)),
                        Cell::date(Some(x.first_observed_at), ""),
                        Cell::days(x.age_days),
                    ]
                })
                .collect(),
            empty: "No open CVEs.",
        }],
    });

    out.push(SectionView {
        id: "ages",
        title: "Age of open findings".into(),
        intro: "Days since each open patch finding was first observed.".into(),
        charts: vec![age_chart(r)],
        tables: vec![
            TableView {
                id: "table-ages".into(),
                caption: "Open patch findings by age".into(),
                columns: vec![
                    col("Age"),
                    ncol("Findings"),
                    ncol("Critical"),
                    ncol("High"),
                    ncol("Medium"),
                    ncol("Low"),
                    ncol("Info"),
                ],
                rows: r
                    .age_buckets
                    .iter()
                    .map(|b| {
                        let mut row = vec![
                            Cell {
                                sort: b.from_days.to_string(),
                                ..Cell::text(&b.label)
                            },
                            Cell::n(b.findings),
                        ];
                        row.extend(SEVERITIES.iter().map(|s| Cell::n(b.by_severity.get(*s))));
                        row
                    })
                    .collect(),
                empty: "No open findings.",
            },
            TableView {
                id: "table-oldest".into(),
                caption: "Oldest open findings".into(),
                columns: vec![
                    ncol("Days open"),
                    col("First seen"),
                    col("Severity"),
                    col("Patch"),
                    col("State"),
                    col("Node"),
                    col("Name"),
                    col("Account"),
                    col("Region"),
                ],
                rows: r
                    .oldest_findings
                    .iter()
                    .map(|f| {
                        let mut row = vec![
                            Cell::days(f.age_days),
                            Cell::date(Some(f.first_observed_at), ""),
                            Cell::severity(f.severity),
                            Cell::text(&f.patch_id),
                            Cell::text(f.state.to_ascii_lowercase().replace('_', " ")),
                        ];
                        row.extend(node_cells(
                            &f.account,
                            &f.region,
                            &f.node_id,
                            f.node_name.as_deref(),
                        ));
                        row
                    })
                    .collect(),
                empty: "No open findings.",
            },
        ],
    });

    out.push(SectionView {
        id: "stale",
        title: "Stale and connection-lost nodes".into(),
        intro: "Nodes whose patch data cannot be trusted: never scanned, last scan too old, or SSM Agent not connected. Longest silent first.".into(),
        charts: Vec::new(),
        tables: vec![TableView {
            id: "table-stale".into(),
            caption: "Stale and connection-lost nodes".into(),
            columns: vec![
                col("Node"),
                col("Name"),
                col("Account"),
                col("Region"),
                col("Platform"),
                col("Agent"),
                col("Last scan"),
                ncol("Days since scan"),
                col("Reasons"),
            ],
            rows: r
                .stale_nodes
                .iter()
                .map(|x| {
                    let mut row = node_cells(
                        &x.account,
                        &x.region,
                        &x.node_id,
                        x.node_name.as_deref(),
                    );
                    row.extend([
                        Cell::text(&x.platform),
                        Cell::text(x.ping_status.as_deref().unwrap_or("")),
                        Cell::date(x.last_scan, "never"),
                        Cell {
                            sort: x.days_since_scan.unwrap_or(i64::MAX).to_string(),
                            ..Cell::text(x.days_since_scan.map_or_else(String::new, |d| d.to_string()))
                        },
                        Cell::text(x.reasons.join(", ")),
                    ]);
                    row
                })
                .collect(),
            empty: "No stale nodes.",
        }],
    });

    out.push(SectionView {
        id: "reboots",
        title: "Pending reboots".into(),
        intro: "Nodes with installed patches that take effect only after a reboot.".into(),
        charts: Vec::new(),
        tables: vec![TableView {
            id: "table-reboots".into(),
            caption: "Nodes pending a reboot".into(),
            columns: vec![
                col("Node"),
                col("Name"),
                col("Account"),
                col("Region"),
                col("Platform"),
                ncol("Patches"),
                col("Waiting since"),
                ncol("Days"),
                col("Reboot option"),
            ],
            rows: r
                .pending_reboots
                .iter()
                .map(|x| {
                    let mut row =
                        node_cells(&x.account, &x.region, &x.node_id, x.node_name.as_deref());
                    row.extend([
                        Cell::text(&x.platform),
                        Cell::n(x.patches),
                        Cell::date(x.since, ""),
                        Cell::text(x.age_days.map_or_else(String::new, |d| d.to_string())),
                        Cell::text(x.reboot_option.as_deref().unwrap_or("")),
                    ]);
                    row
                })
                .collect(),
            empty: "No nodes pending a reboot.",
        }],
    });

    out.push(SectionView {
        id: "platforms",
        title: "Nodes by platform".into(),
        intro: String::new(),
        charts: Vec::new(),
        tables: vec![TableView {
            id: "table-platforms".into(),
            caption: "Nodes by platform".into(),
            columns: vec![
                col("Platform"),
                col("Type"),
                ncol("Nodes"),
                ncol("Scanned"),
                ncol("Compliant"),
                ncol("Non-compliant"),
                ncol("Rate"),
                ncol("Open findings"),
                ncol("Stale"),
            ],
            rows: r
                .platforms
                .iter()
                .map(|p| {
                    let k = &p.compliance;
                    vec![
                        Cell::text(&p.platform),
                        Cell::text(&p.platform_type),
                        Cell::n(k.nodes),
                        Cell::n(k.scanned),
                        Cell::n(k.compliant),
                        Cell::n(k.non_compliant),
                        Cell::rate(k.compliance_rate),
                        Cell::n(k.open_findings),
                        Cell::n(k.stale),
                    ]
                })
                .collect(),
            empty: "No nodes.",
        }],
    });
    out
}

fn tiles(r: &Report) -> Vec<Tile> {
    let t = &r.totals;
    let c = &t.compliance;
    let sev = |s: SeverityLabel| {
        r.severities
            .iter()
            .find(|x| x.severity == s)
            .map_or(0, |x| x.open_findings)
    };
    let mut out = vec![
        Tile {
            label: "Compliance rate",
            value: pct(c.compliance_rate),
            note: format!("{} of {} scanned nodes", num(c.compliant), num(c.scanned)),
        },
        Tile {
            label: "Non-compliant nodes",
            value: num(c.non_compliant),
            note: format!(
                "{} with critical patches missing",
                num(c.non_compliant_by_severity.critical)
            ),
        },
        Tile {
            label: "Open patch findings",
            value: num(c.open_findings),
            note: format!(
                "{} critical, {} high",
                num(sev(SeverityLabel::Critical)),
                num(sev(SeverityLabel::High))
            ),
        },
        Tile {
            label: "Missing patches",
            value: num(t.missing_patches),
            note: "distinct KBs and packages".into(),
        },
        Tile {
            label: "Open CVEs",
            value: num(t.open_cves),
            note: "listed by open patch findings".into(),
        },
        Tile {
            label: "Stale nodes",
            value: num(c.stale),
            note: format!("{} agent connection lost", num(t.connection_lost)),
        },
        Tile {
            label: "Pending reboots",
            value: num(t.pending_reboot),
            note: "nodes".into(),
        },
    ];
    if let Some(n) = t.resolved_recently {
        out.push(Tile {
            label: "Resolved",
            value: num(n),
            note: format!("patch findings, last {} days", t.resolved_window_days),
        });
    }
    out
}

/// The report as one self-contained HTML page.
pub(crate) fn html(r: &Report) -> std::io::Result<String> {
    let t = &r.totals;
    let page = Page {
        generated: minute(r.generated_at),
        generated_iso: ts(r.generated_at),
        source: source_name(r.source),
        scope: format!(
            "{} nodes in {} accounts and {} Regions",
            num(t.compliance.nodes),
            num(t.accounts),
            num(t.regions)
        ),
        tiles: tiles(r),
        sections: sections(r),
    };
    page.render().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{Duration, TimeZone};
    use patchhub_aws::clients::RoleOptions;
    use patchhub_aws::fanout::AccountSource;
    use patchhub_aws::quota::{QuotaSettings, Rate};
    use patchhub_core::model::{
        Operation, PatchItem, PatchOperation, PatchState, PingStatus, Platform, Severity,
    };

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 20, 12, 0, 0).unwrap()
    }

    /// A small fleet mapped by the real mapping: two accounts, long names, a stale node, a
    /// pending reboot, CVEs, and text that needs escaping.
    fn sample() -> Vec<Finding> {
        let policy = FindingPolicy::default();
        let mut out = Vec::new();
        let node = |account: &str, region: &str, id: &str, platform: Platform, name: &str| {
            let mut n = ManagedNode::new(account, region, "aws", id);
            n.platform = platform;
            n.platform_name = name.into();
            n.name = Some(format!("{id}-<b>&\"name\"</b>-with-a-rather-long-tail"));
            n.ping_status = PingStatus::Online;
            n.baseline_id = Some("pb-0123456789abcdef0".into());
            n.last_operation = Some(PatchOperation {
                operation: Operation::Scan,
                start: now() - Duration::hours(3),
                end: now() - Duration::hours(2),
                execution_id: None,
                reboot_option: Some("RebootIfNeeded".into()),
            });
            n
        };
        let patch = |id: &str, state: PatchState, sev: Severity, cves: &[&str]| {
            let mut p = PatchItem::new(id, state, sev);
            p.title = format!(
                "{id}: a cumulative update <script>alert(1)</script> for x64-based systems"
            );
            p.classification = "SecurityUpdates".into();
            p.cve_ids = cves.iter().map(|c| c.to_string()).collect();
            p
        };
        for (i, account) in ["111111111111", "222222222222"].into_iter().enumerate() {
            for j in 0..4 {
                let id = format!("i-0{i}{j}00000000000000");
                let mut n = node(
                    account,
                    "eu-west-1",
                    &id,
                    Platform::Windows,
                    "Microsoft Windows Server 2022 Datacenter Azure Edition Core",
                );
                let mut patches = Vec::new();
                if j > 0 {
                    n.counts.missing = 2;
                    n.counts.critical_non_compliant = 1;
                    patches.push(patch(
                        "KB5031364-an-unusually-long-patch-identifier",
                        PatchState::Missing,
                        Severity::Critical,
                        &["CVE-2023-36563", "CVE-2023-41763", "CVE-2023-44487"],
                    ));
                    patches.push(patch("KB5032007", PatchState::Failed, Severity::High, &[]));
                }
                if j == 3 {
                    n.counts.installed_pending_reboot = 1;
                    patches.push(patch(
                        "KB5030000",
                        PatchState::InstalledPendingReboot,
                        Severity::Medium,
                        &[],
                    ));
                    n.ping_status = PingStatus::ConnectionLost;
                }
                out.extend(patchhub_core::findings_for_node(
                    &NodeCompliance { node: n, patches },
                    &policy,
                    now(),
                ));
            }
        }
        out
    }

    fn build(findings: &[Finding]) -> Report {
        report::build(
            findings,
            &ReportOptions::new(now(), ReportSource::SecurityHub),
        )
    }

    #[test]
    fn the_table_fits_100_columns_and_names_every_section() {
        let r = build(&sample());
        let t = table(&r);
        for line in t.lines() {
            assert!(
                line.chars().count() <= 100,
                "{} chars: {line}",
                line.chars().count()
            );
        }
        for heading in [
            "Compliance by account",
            "Compliance by Region",
            "Open patch findings by severity",
            "Top missing patches (of 2)",
            "Open CVEs (of 3)",
            "Age of open patch findings",
            "Oldest open findings",
            "Stale and connection-lost nodes (2)",
            "Pending reboots (2)",
            "Nodes by platform",
        ] {
            assert!(
                t.contains(&format!("\n{heading}\n")),
                "{heading} missing:\n{t}"
            );
        }
        assert!(
            t.contains("Compliance 25.0%: 2 of 8 scanned nodes compliant"),
            "{t}"
        );
        // Long ids are cut, not wrapped into the next column.
        assert!(t.contains("KB5031364-an-unusually-…"), "{t}");
        // A capped list says how many more there are and where to see them all.
        let mut capped = r.clone();
        capped.top = 1;
        assert!(table(&capped).contains("… and 1 more (all of them: --format csv --section stale"));
    }

    #[test]
    fn csv_sections_have_their_documented_columns_and_the_report_values() {
        let r = build(&sample());
        let read = |section: Section| {
            let mut buf = Vec::new();
            write_csv(&r, section, &mut buf).unwrap();
            let mut rd = csv::Reader::from_reader(buf.as_slice());
            let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
            let rows: Vec<Vec<String>> = rd
                .records()
                .map(|r| r.unwrap().iter().map(String::from).collect())
                .collect();
            (header, rows)
        };
        let (h, rows) = read(Section::Accounts);
        assert_eq!(
            h[..7],
            [
                "account",
                "regions",
                "nodes",
                "scanned",
                "compliant",
                "non_compliant",
                "compliance_rate"
            ]
        );
        assert_eq!(h.len(), 19);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0][..7],
            ["111111111111", "1", "4", "4", "1", "3", "0.25"]
        );
        let (h, rows) = read(Section::Patches);
        assert_eq!(h[1], "patch_id");
        assert_eq!(rows[0][1], "KB5031364-an-unusually-long-patch-identifier");
        assert_eq!(rows[0][5], "6", "nodes");
        assert_eq!(rows[0][10], "CVE-2023-36563;CVE-2023-41763;CVE-2023-44487");
        assert!(rows[0][2].contains("<script>"), "CSV is raw text");
        let (h, rows) = read(Section::Stale);
        assert_eq!(h[6], "reasons");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][6], "connection-lost");
        for s in [
            Section::Regions,
            Section::Severities,
            Section::Cves,
            Section::Oldest,
            Section::Ages,
            Section::Reboots,
            Section::Platforms,
        ] {
            let (h, rows) = read(s);
            assert!(!h.is_empty() && !rows.is_empty(), "{s:?}");
            assert!(rows.iter().all(|r| r.len() == h.len()), "{s:?}");
        }
    }

    #[test]
    fn json_is_the_core_report_with_its_schema_version() {
        let mut buf = Vec::new();
        let mut opts = RenderOptions::new(ReportFormat::Json);
        opts.top = 1;
        write_report(&sample(), &opts, &mut buf, now()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["schema_version"], patchhub_core::report::SCHEMA_VERSION);
        assert_eq!(v["top"], 1);
        assert_eq!(v["top_patches"].as_array().unwrap().len(), 1);
        assert_eq!(v["totals"]["compliance_rate"], 0.25);
    }

    /// Elements by tag name.
    fn all<'a, 'i>(doc: &'a roxmltree::Document<'i>, tag: &str) -> Vec<roxmltree::Node<'a, 'i>> {
        doc.descendants().filter(|n| n.has_tag_name(tag)).collect()
    }

    fn text(n: roxmltree::Node) -> String {
        n.descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect::<String>()
            .trim()
            .to_string()
    }

    /// Asserts the page is self-contained and accessible, and returns it parsed.
    fn check_page(html: &str) -> roxmltree::Document<'_> {
        // Nothing is loaded from anywhere: no src attributes, no stylesheet links, no imports
        // or url() in the CSS; the only absolute links are NVD entries.
        let lower = html.to_ascii_lowercase();
        for banned in [
            "http://", "<link", "@import", "url(", " src=", "<iframe", "<object", "<embed", "<img",
        ] {
            assert!(!lower.contains(banned), "the page contains {banned:?}");
        }
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc =
            roxmltree::Document::parse_with_options(html, opts).expect("the page is well-formed");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "html");
        assert_eq!(root.attribute("lang"), Some("en"));
        for a in all(&doc, "a") {
            let href = a.attribute("href").unwrap();
            assert!(
                href.starts_with('#') || href.starts_with("https://nvd.nist.gov/vuln/detail/CVE-"),
                "{href}"
            );
        }
        for s in all(&doc, "script") {
            assert!(s.attribute("src").is_none());
        }
        // Ids are unique and every reference points at one.
        let mut ids = BTreeSet::new();
        for n in doc.descendants().filter(|n| n.is_element()) {
            if let Some(id) = n.attribute("id") {
                assert!(ids.insert(id.to_string()), "duplicate id {id}");
            }
        }
        for n in doc.descendants().filter(|n| n.is_element()) {
            for r in n
                .attribute("aria-labelledby")
                .into_iter()
                .flat_map(str::split_whitespace)
            {
                assert!(ids.contains(r), "aria-labelledby {r} points nowhere");
            }
            if let Some(h) = n.attribute("href").and_then(|h| h.strip_prefix('#')) {
                assert!(ids.contains(h), "link to #{h} points nowhere");
            }
        }
        // Charts are images with a title and a description.
        let svgs = all(&doc, "svg");
        assert_eq!(svgs.len(), 3);
        for svg in svgs {
            assert_eq!(svg.attribute("role"), Some("img"));
            let kids: Vec<_> = svg.children().filter(|c| c.is_element()).collect();
            assert_eq!(kids[0].tag_name().name(), "title");
            assert_eq!(kids[1].tag_name().name(), "desc");
            assert!(!text(kids[0]).is_empty() && text(kids[1]).len() > 20);
        }
        // Real tables: a caption, column headers, a row header per row.
        for t in all(&doc, "table") {
            assert_eq!(
                t.first_element_child().unwrap().tag_name().name(),
                "caption"
            );
            let heads: Vec<_> = all_in(t, "th")
                .into_iter()
                .filter(|h| h.attribute("scope") == Some("col"))
                .collect();
            assert!(!heads.is_empty());
            for tr in all_in(t, "tr").into_iter().skip(1) {
                assert_eq!(
                    tr.first_element_child().unwrap().attribute("scope"),
                    Some("row")
                );
            }
        }
        doc
    }

    fn all_in<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Vec<roxmltree::Node<'a, 'i>> {
        n.descendants().filter(|d| d.has_tag_name(tag)).collect()
    }

    /// The body rows of the table with this id, as cell texts.
    fn rows(doc: &roxmltree::Document, id: &str) -> Vec<Vec<String>> {
        let t = doc
            .descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap_or_else(|| panic!("no table {id}"));
        let body = all_in(t, "tbody")[0];
        body.children()
            .filter(|c| c.has_tag_name("tr"))
            .map(|tr| tr.children().filter(|c| c.is_element()).map(text).collect())
            .collect()
    }

    #[test]
    fn the_html_page_is_self_contained_accessible_and_has_the_figures() {
        let r = build(&sample());
        let page = html(&r).unwrap();
        let doc = check_page(&page);
        let sections: Vec<&str> = all(&doc, "section")
            .iter()
            .filter_map(|s| s.attribute("id"))
            .collect();
        assert_eq!(
            sections,
            [
                "summary",
                "accounts",
                "regions",
                "severity",
                "patches",
                "cves",
                "ages",
                "stale",
                "reboots",
                "platforms"
            ]
        );
        assert_eq!(all(&doc, "h1").len(), 1);

        let accounts = rows(&doc, "table-accounts");
        assert_eq!(accounts.len(), 2);
        assert_eq!(
            accounts[0][..8],
            ["111111111111", "1", "4", "4", "1", "3", "25.0%", "3"]
        );
        let patches = rows(&doc, "table-patches");
        assert_eq!(
            patches[0][1],
            "KB5031364-an-unusually-long-patch-identifier"
        );
        assert_eq!(patches[0][5], "6");
        let cves = rows(&doc, "table-cves");
        assert_eq!(cves.len(), 3);
        assert!(cves.iter().all(|c| c[1] == "Critical" && c[2] == "6"));
        assert_eq!(rows(&doc, "table-stale").len(), 2);
        assert_eq!(rows(&doc, "table-reboots").len(), 2);
        assert_eq!(rows(&doc, "table-oldest").len(), 14);

        // Summary tiles carry the headline figures.
        let tiles: BTreeMap<String, String> = all(&doc, "div")
            .into_iter()
            .filter(|d| d.attribute("class") == Some("tile"))
            .map(|d| (text(all_in(d, "dt")[0]), text(all_in(d, "span")[0])))
            .collect();
        assert_eq!(tiles["Compliance rate"], "25.0%");
        assert_eq!(tiles["Open CVEs"], "3");
        assert_eq!(tiles["Resolved"], "0");

        // Text from findings is escaped, never markup.
        assert!(!page.contains("<script>alert"), "finding text is escaped");
        assert!(patches[0][2].contains("update <script>alert(1)</script> for"));
        assert_eq!(all(&doc, "script").len(), 1);
        assert_eq!(all(&doc, "b").len(), 0, "node names are not markup");
    }

    /// Every format and CSV section of the sample fleet (and of an empty report), byte for byte
    /// as committed under tests/golden/. `UPDATE_GOLDEN=1` rewrites the files after a deliberate
    /// change of output.
    #[test]
    fn every_format_matches_its_golden_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
        let render_to = |findings: &[Finding], opts: &RenderOptions| {
            let mut buf = Vec::new();
            write_report(findings, opts, &mut buf, now()).unwrap();
            buf
        };
        let sample = sample();
        for (name, format) in [
            ("report.txt", ReportFormat::Table),
            ("report.json", ReportFormat::Json),
            ("report.html", ReportFormat::Html),
        ] {
            let opts = RenderOptions::new(format);
            outputs.push((name.into(), render_to(&sample, &opts)));
            outputs.push((format!("empty-{name}"), render_to(&[], &opts)));
        }
        let mut top1 = RenderOptions::new(ReportFormat::Table);
        top1.top = 1;
        outputs.push(("report-top1.txt".into(), render_to(&sample, &top1)));
        for section in Section::value_variants() {
            let name = section.to_possible_value().unwrap().get_name().to_string();
            let mut opts = RenderOptions::new(ReportFormat::Csv);
            opts.section = *section;
            outputs.push((format!("report-{name}.csv"), render_to(&sample, &opts)));
        }
        let update = std::env::var_os("UPDATE_GOLDEN").is_some();
        for (name, got) in outputs {
            let path = dir.join(&name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            let want = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
            assert!(
                got == want,
                "{name} differs from {}:\n{}",
                path.display(),
                String::from_utf8_lossy(&got)
            );
        }
    }

    #[test]
    fn an_empty_report_renders_in_every_format() {
        let r = build(&[]);
        let doc_src = html(&r).unwrap();
        let doc = check_page(&doc_src);
        assert_eq!(rows(&doc, "table-accounts").len(), 0);
        assert!(doc_src.contains("No accounts."));
        assert!(table(&r).contains("Compliance -: 0 of 0 scanned nodes"));
        for s in [Section::Accounts, Section::Stale] {
            let mut buf = Vec::new();
            write_csv(&r, s, &mut buf).unwrap();
            assert_eq!(
                String::from_utf8(buf).unwrap().lines().count(),
                1,
                "header only"
            );
        }
    }

    #[test]
    fn numbers_and_formats_read_well() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1_234_567), "1,234,567");
        assert_eq!(pct(Some(0.7125)), "71.3%");
        assert_eq!(pct(None), "-");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(some_of(&["a".into(), "b".into(), "c".into()], 1), "a +2");
        assert_eq!(format_of(Path::new("r.HTML")), Some(ReportFormat::Html));
        assert_eq!(format_of(Path::new("r.csv")), Some(ReportFormat::Csv));
        assert_eq!(format_of(Path::new("r")), None);
    }

    // -----------------------------------------------------------------------------------------
    // Against awsim: a fleet whose answers are known, read from Security Hub after a sync, from
    // SSM directly, and from the Security Hub administrator's aggregated view.

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const EU: &str = "eu-west-1";
    const US: &str = "us-east-1";
    const KB: &str = "KB5031364";

    fn key(account: &str) -> String {
        format!("AKIAREPORT{account}")
    }

    /// | node | where | state |
    /// |---|---|---|
    /// | a1 | A eu-west-1, Windows | KB5031364 missing (CRITICAL, 2 CVEs) |
    /// | a2 | A eu-west-1, Windows | compliant |
    /// | a3 | A us-east-1, Ubuntu | openssl missing (HIGH, 1 CVE), kernel pending reboot (MEDIUM) |
    /// | b1 | B eu-west-1, Windows | KB5031364 missing (CRITICAL), last scan 10 days ago |
    /// | b2 | B eu-west-1, Amazon Linux | compliant, agent ConnectionLost |
    /// | b3 | B us-east-1, RHEL | never scanned |
    fn fleet(now: DateTime<Utc>) -> awsim::Fleet {
        let recent = now - Duration::hours(1);
        let old = now - Duration::days(10);
        let win = |id: &str, region: &str, name: &str, end: DateTime<Utc>, missing: bool| {
            serde_json::json!({
                "id": id, "region": region, "platform_type": "Windows",
                "platform_name": "Microsoft Windows Server 2022 Datacenter",
                "tags": {"Name": name}, "baseline_id": "pb-0123456789abcdef0",
                "operation": "Scan", "operation_start_time": end - Duration::minutes(5),
                "operation_end_time": end, "execution_id": format!("exec-{id}"),
                "patches": [
                    {"id": KB, "title": "2023-10 Cumulative Update", "classification": "SecurityUpdates",
                     "severity": "Critical", "compliance_severity": "CRITICAL",
                     "state": if missing { "MISSING" } else { "INSTALLED" },
                     "cve_ids": ["CVE-2023-36563", "CVE-2023-41763"]},
                    {"id": "KB5030000", "title": "Servicing stack", "classification": "Updates",
                     "compliance_severity": "LOW", "state": "INSTALLED"}
                ]
            })
        };
        let json = serde_json::json!({"accounts": [
            {"id": A, "roles": [{"name": "PatchhubRole"}], "regions": [EU, US], "instances": [
                win("i-0a000000000000001", EU, "web-1", recent, true),
                win("i-0a000000000000002", EU, "web-2", recent, false),
                {"id": "i-0a000000000000003", "region": US, "platform_type": "Linux",
                 "platform_name": "Ubuntu", "tags": {"Name": "app-1"},
                 "baseline_id": "pb-0123456789abcdef1", "operation": "Scan",
                 "operation_start_time": recent - Duration::minutes(5),
                 "operation_end_time": recent, "execution_id": "exec-a3",
                 "patches": [
                    {"id": "openssl", "title": "openssl", "classification": "Security",
                     "severity": "Important", "compliance_severity": "HIGH", "state": "MISSING",
                     "cve_ids": ["CVE-2024-0727"]},
                    {"id": "linux-image", "title": "kernel", "classification": "Security",
                     "compliance_severity": "MEDIUM", "state": "INSTALLED_PENDING_REBOOT"}
                 ]}
            ]},
            {"id": B, "roles": [{"name": "PatchhubRole"}], "regions": [EU, US], "instances": [
                win("i-0b000000000000001", EU, "db-1", old, true),
                {"id": "i-0b000000000000002", "region": EU, "platform_type": "Linux",
                 "platform_name": "Amazon Linux", "tags": {"Name": "db-2"},
                 "ping_status": "ConnectionLost", "baseline_id": "pb-0123456789abcdef2",
                 "operation": "Scan", "operation_start_time": recent - Duration::minutes(5),
                 "operation_end_time": recent, "execution_id": "exec-b2",
                 "patches": [{"id": "bash", "title": "bash", "classification": "Bugfix",
                              "compliance_severity": "LOW", "state": "INSTALLED"}]},
                {"id": "i-0b000000000000003", "region": US, "platform_type": "Linux",
                 "platform_name": "Red Hat Enterprise Linux", "tags": {"Name": "batch-1"},
                 "baseline_id": "pb-0123456789abcdef3"}
            ]}
        ]});
        serde_json::from_value(json).expect("fleet")
    }

    fn sdk(url: &str, account: &str, region: &str) -> impl Future<Output = SdkConfig> {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(url)
            .credentials_provider(aws_credential_types::Credentials::new(
                key(account),
                "secret",
                None,
                None,
                "test",
            ))
            .load()
    }

    fn fan(accounts: AccountSource, role: Option<&str>, regions: &[&str]) -> FanOut {
        let fast = Rate::new(1000.0, 1000.0);
        FanOut {
            accounts,
            regions: RegionSelection::List(regions.iter().map(|r| r.to_string()).collect()),
            role: RoleOptions {
                role_name: role.map(str::to_string),
                external_id: None,
                session_name: "patchhub-report-test".into(),
            },
            concurrency: 4,
            per_account_concurrency: 4,
            quotas: QuotaSettings {
                batch_import: fast,
                get_findings: fast,
                ssm: fast,
            },
        }
    }

    /// Runs `body` on worker threads with big stacks (the SDK's finding deserializer needs
    /// them in debug builds, as in main).
    fn run_big<F: Future<Output = ()> + Send + 'static>(body: F) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(32 << 20)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            if let Err(e) = tokio::spawn(body).await {
                std::panic::resume_unwind(e.into_panic());
            }
        });
    }

    fn both() -> AccountSource {
        AccountSource::List(
            [A, B]
                .map(|id| patchhub_aws::targets::AccountTarget {
                    id: id.into(),
                    email: None,
                })
                .to_vec(),
        )
    }

    /// The figures a security lead reads, as one comparable line each.
    fn figures(r: &Report) -> Vec<String> {
        let mut out = vec![format!("{:?}", r.totals)];
        out.extend(r.accounts.iter().map(|a| format!("{a:?}")));
        out.extend(r.regions.iter().map(|a| format!("{a:?}")));
        out.extend(r.severities.iter().map(|a| format!("{a:?}")));
        out.extend(
            r.top_patches
                .iter()
                .map(|p| format!("{} {} {}", p.patch_id, p.nodes, p.cves.join(","))),
        );
        out.extend(
            r.stale_nodes
                .iter()
                .map(|s| format!("{} {}", s.node_id, s.reasons.join(","))),
        );
        out.extend(
            r.pending_reboots
                .iter()
                .map(|s| format!("{} {}", s.node_id, s.patches)),
        );
        out.extend(r.platforms.iter().map(|p| format!("{p:?}")));
        out
    }

    #[test]
    fn awsim_fleet_figures_from_security_hub_ssm_and_the_administrator_view() {
        run_big(async {
            let start = Utc::now();
            let mut config = awsim::Config::default();
            for a in [A, B] {
                config.static_keys.insert(key(a), a.to_string());
            }
            let sim = awsim::Awsim::start(config).await.unwrap();
            sim.load_fleet(fleet(start)).unwrap();
            let url = sim.url();
            for a in [A, B] {
                for r in [EU, US] {
                    aws_sdk_securityhub::Client::new(&sdk(&url, a, r).await)
                        .enable_security_hub()
                        .send()
                        .await
                        .unwrap();
                }
            }
            let base = sdk(&url, A, EU).await;
            let policy = FindingPolicy::default();
            let everywhere = fan(both(), Some("PatchhubRole"), &[EU, US]);
            let sync = patchhub_aws::fanout::run_sync(
                &base,
                &everywhere,
                &patchhub_aws::sync::SyncOptions::new(policy.clone()),
                None,
            )
            .await
            .unwrap();
            assert!(sync.is_ok(), "{sync:#?}");

            let now = Utc::now();
            let report_of = |c: Collected, source| {
                assert!(c.gaps.is_empty(), "{:?}", c.gaps);
                report::build(&c.findings, &ReportOptions::new(now, source))
            };
            let hub = report_of(
                collect(&base, &everywhere, Source::Securityhub, &policy, now)
                    .await
                    .unwrap(),
                ReportSource::SecurityHub,
            );

            // The known answers.
            let t = &hub.totals;
            let c = &t.compliance;
            assert_eq!((t.accounts, t.regions), (2, 2));
            assert_eq!(
                (c.nodes, c.scanned, c.compliant, c.non_compliant),
                (6, 5, 2, 3)
            );
            assert_eq!(c.compliance_rate, Some(0.4));
            assert_eq!(
                (
                    c.non_compliant_by_severity.critical,
                    c.non_compliant_by_severity.high
                ),
                (2, 1)
            );
            assert_eq!(c.open_findings, 4);
            assert_eq!((c.stale, t.connection_lost, t.pending_reboot), (3, 1, 1));
            assert_eq!((t.missing_patches, t.open_cves), (2, 3));
            assert_eq!(t.resolved_recently, Some(0));
            let per_account: Vec<_> = hub
                .accounts
                .iter()
                .map(|a| {
                    (
                        a.account.as_str(),
                        a.compliance.scanned,
                        a.compliance.compliant,
                    )
                })
                .collect();
            assert_eq!(per_account, [(A, 3, 1), (B, 2, 1)]);
            let per_region: Vec<_> = hub
                .regions
                .iter()
                .map(|r| (r.region.as_str(), r.compliance.compliance_rate))
                .collect();
            assert_eq!(per_region, [(EU, Some(0.5)), (US, Some(0.0))]);
            let top = &hub.top_patches[0];
            assert_eq!((top.patch_id.as_str(), top.nodes, top.accounts), (KB, 2, 2));
            assert_eq!(top.severity, SeverityLabel::Critical);
            assert_eq!(top.cves, ["CVE-2023-36563", "CVE-2023-41763"]);
            let cves: Vec<_> = hub.cves.iter().map(|c| (c.cve.as_str(), c.nodes)).collect();
            assert_eq!(
                cves,
                [
                    ("CVE-2023-36563", 2),
                    ("CVE-2023-41763", 2),
                    ("CVE-2024-0727", 1)
                ]
            );
            let stale: Vec<_> = hub
                .stale_nodes
                .iter()
                .map(|s| (s.node_id.as_str(), s.reasons.join(",")))
                .collect();
            assert_eq!(
                stale,
                [
                    ("i-0b000000000000003", "never-scanned".to_string()),
                    ("i-0b000000000000001", "scan-too-old".to_string()),
                    ("i-0b000000000000002", "connection-lost".to_string()),
                ]
            );
            assert_eq!(hub.stale_nodes[1].days_since_scan, Some(10));
            assert_eq!(hub.pending_reboots[0].node_id, "i-0a000000000000003");
            assert!(hub.pending_reboots[0].node_name.is_some());
            let oldest = &hub.oldest_findings[0];
            assert_eq!(
                (oldest.node_id.as_str(), oldest.age_days),
                ("i-0b000000000000001", 10)
            );

            // SSM read directly gives the same figures (it keeps no resolved history).
            let ssm = report_of(
                collect(&base, &everywhere, Source::Ssm, &policy, now)
                    .await
                    .unwrap(),
                ReportSource::Ssm,
            );
            assert_eq!(ssm.totals.resolved_recently, None);
            let mut ssm_totals = ssm.totals.clone();
            ssm_totals.resolved_recently = Some(0);
            assert_eq!(ssm_totals, hub.totals);
            assert_eq!(figures(&ssm)[1..], figures(&hub)[1..]);

            // A becomes B's Security Hub administrator in both Regions and aggregates us-east-1
            // into eu-west-1: one read, in one Region, with A's own credentials, sees it all.
            for r in [EU, US] {
                let admin = aws_sdk_securityhub::Client::new(&sdk(&url, A, r).await);
                let member = aws_sdk_securityhub::Client::new(&sdk(&url, B, r).await);
                admin
                    .create_members()
                    .account_details(
                        aws_sdk_securityhub::types::AccountDetails::builder()
                            .account_id(B)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                admin.invite_members().account_ids(B).send().await.unwrap();
                let inv = member.list_invitations().send().await.unwrap();
                let id = inv.invitations()[0].invitation_id().unwrap().to_string();
                member
                    .accept_administrator_invitation()
                    .administrator_id(A)
                    .invitation_id(id)
                    .send()
                    .await
                    .unwrap();
            }
            aws_sdk_securityhub::Client::new(&base)
                .create_finding_aggregator()
                .region_linking_mode("ALL_REGIONS")
                .send()
                .await
                .unwrap();
            let admin = report_of(
                collect(
                    &base,
                    &fan(AccountSource::Caller, None, &[EU]),
                    Source::Securityhub,
                    &policy,
                    now,
                )
                .await
                .unwrap(),
                ReportSource::SecurityHub,
            );
            assert_eq!(
                admin, hub,
                "the administrator's one read sees the whole fleet"
            );
            // Entering every account as well reads findings twice; each counts once.
            let twice = report_of(
                collect(&base, &everywhere, Source::Securityhub, &policy, now)
                    .await
                    .unwrap(),
                ReportSource::SecurityHub,
            );
            assert_eq!(twice, hub);

            // b1 gets patched and rescanned; the next sync resolves its KB finding, and the
            // report shows it as resolved and the KB on one node only.
            let ssm_b = aws_sdk_ssm::Client::new(&sdk(&url, B, EU).await);
            for op in ["Install", "Scan"] {
                ssm_b
                    .send_command()
                    .document_name("AWS-RunPatchBaseline")
                    .instance_ids("i-0b000000000000001")
                    .parameters("Operation", vec![op.to_string()])
                    .send()
                    .await
                    .unwrap();
            }
            let again = patchhub_aws::fanout::run_sync(
                &base,
                &everywhere,
                &patchhub_aws::sync::SyncOptions::new(policy.clone()),
                None,
            )
            .await
            .unwrap();
            assert!(again.is_ok(), "{again:#?}");
            let later = Utc::now();
            let after = report::build(
                &collect(
                    &base,
                    &fan(AccountSource::Caller, None, &[EU]),
                    Source::Securityhub,
                    &policy,
                    later,
                )
                .await
                .unwrap()
                .findings,
                &ReportOptions::new(later, ReportSource::SecurityHub),
            );
            assert_eq!(after.totals.resolved_recently, Some(1));
            assert_eq!(after.top_patches[0].nodes, 1);
            assert_eq!(after.totals.compliance.compliant, 3);
            assert_eq!(after.totals.compliance.compliance_rate, Some(0.6));
            // Every format renders the live report.
            for format in [
                ReportFormat::Table,
                ReportFormat::Csv,
                ReportFormat::Json,
                ReportFormat::Html,
            ] {
                let mut buf = Vec::new();
                render(&after, &RenderOptions::new(format), &mut buf).unwrap();
                assert!(buf.len() > 100, "{format:?}");
            }
            let page = html(&after).unwrap();
            let doc = check_page(&page);
            let accounts = rows(&doc, "table-accounts");
            assert_eq!(
                (accounts[0][6].as_str(), accounts[1][6].as_str()),
                ("33.3%", "100.0%")
            );
        });
    }
}
