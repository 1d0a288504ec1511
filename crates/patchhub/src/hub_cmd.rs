//! `patchhub hub enable|status|disable` and `patchhub cleanup`: validate the flags, call
//! `patchhub_aws::hub`, print the report (a table or JSON), and exit 0 (all done or already in
//! place), 1 (some steps failed, the rest done), or 2 (usage, configuration, credentials).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use patchhub_aws::clients::{self, AwsOptions, RoleOptions};
use patchhub_aws::fanout::{AccountSource, FanOut};
use patchhub_aws::hub::{
    self, DisablePlan, EnablePlan, HubReport, MemberAccounts, Mode, Outcome, StatusPlan,
    StatusReport,
};
use patchhub_aws::quota::QuotaSettings;
use patchhub_aws::targets::{self, RegionSelection};
use patchhub_aws::{ApiError, ErrorKind};

use crate::Failure;
use crate::cli::AwsArgs;

/// `patchhub hub`.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: HubCommand,
}

/// `patchhub hub` subcommands.
#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Join the accounts to one Security Hub administrator in every Region, with cross-Region
    /// aggregation to a home Region (by invitation, or with --organization through AWS
    /// Organizations). Safe to run again: what is in place is left alone.
    Enable(Box<EnableArgs>),
    /// Show each account and Region: Security Hub, relationship, aggregation, active patchhub
    /// findings.
    Status(Box<StatusArgs>),
    /// Undo `hub enable`: disassociate and delete the members, delete the aggregator (and with
    /// --organization remove the designation); optionally disable Security Hub.
    Disable(Box<DisableArgs>),
}

/// Table or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HubOutput {
    /// A table per account and Region (only what changed, was skipped or failed).
    Table,
    /// One JSON document with every step.
    Json,
}

/// Who is involved: the administrator, the members, the Regions, how to get into accounts.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The Security Hub administrator account (default: the caller's account).
    #[arg(long)]
    pub admin_account: Option<String>,
    /// Member accounts: a CSV file of `AccountId,Email` lines (invitation mode).
    #[arg(long, conflicts_with = "organization")]
    pub accounts: Option<PathBuf>,
    /// Organization mode: the caller is the organization's management account and the members
    /// are the organization's ACTIVE accounts.
    #[arg(long)]
    pub organization: bool,
    /// With --organization: only the accounts of this OU and its children.
    #[arg(long, requires = "organization")]
    pub ou: Option<String>,
    /// Role assumed in the other accounts (the administrator, and in invitation mode each member).
    #[arg(long)]
    pub role_name: Option<String>,
    /// External id the role's trust policy requires.
    #[arg(long, requires = "role_name")]
    pub external_id: Option<String>,
    /// Regions, comma-separated (default: the --region/AWS_REGION one).
    #[arg(long)]
    pub regions: Option<String>,
    /// Output format (table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<HubOutput>,
    /// Accounts (or Regions) worked on at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
}

/// `patchhub hub enable`.
#[derive(Debug, Clone, Args)]
pub struct EnableArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Create (or widen) the administrator's finding aggregator here, linking the other Regions.
    #[arg(long)]
    pub home_region: Option<String>,
    /// Enable Security Hub's default standards where patchhub enables Security Hub.
    #[arg(long)]
    pub enable_default_standards: bool,
}

/// `patchhub hub status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Do not count active patchhub findings (faster on large accounts).
    #[arg(long)]
    pub no_findings: bool,
}

/// `patchhub hub disable`.
#[derive(Debug, Clone, Args)]
pub struct DisableArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Also disable Security Hub in the members and the administrator (needs --yes: Security
    /// Hub then deletes their findings and settings).
    #[arg(long)]
    pub disable_hub: bool,
    /// Confirm a destructive action.
    #[arg(long)]
    pub yes: bool,
}

/// `patchhub cleanup`.
#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Accounts to clean: a CSV file of `AccountId[,Email]` lines.
    #[arg(long, conflicts_with = "organization")]
    pub accounts: Option<PathBuf>,
    /// Every ACTIVE account of the organization (call from the management account).
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
    /// Output format (table on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub output: Option<HubOutput>,
    /// Account-Region targets in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Confirm: every patchhub finding in the scope is archived.
    #[arg(long)]
    pub yes: bool,
}

/// `patchhub hub …`.
pub async fn run(args: HubArgs) -> Result<(), Failure> {
    match args.command {
        HubCommand::Enable(a) => enable(*a).await,
        HubCommand::Status(a) => status(*a).await,
        HubCommand::Disable(a) => disable(*a).await,
    }
}

/// A setup error: exit 2 for what the user must fix, 1 for what may pass on a rerun.
fn setup_failure(e: ApiError) -> Failure {
    match e.kind {
        ErrorKind::Throttled | ErrorKind::Service => Failure::partial(e.to_string()),
        _ => Failure::usage(e.to_string()),
    }
}

/// `--regions`, or `None` to take the base configuration's Region once it is loaded.
fn regions(flag: Option<&str>) -> Result<Option<Vec<String>>, Failure> {
    match flag {
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

fn role(name: &Option<String>, external_id: &Option<String>, session: &str) -> RoleOptions {
    RoleOptions {
        role_name: name.clone(),
        external_id: external_id.clone(),
        session_name: session.into(),
    }
}

fn output_format(o: Option<HubOutput>) -> HubOutput {
    o.unwrap_or(if std::io::stdout().is_terminal() {
        HubOutput::Table
    } else {
        HubOutput::Json
    })
}

/// What every `hub` subcommand validates before calling AWS.
struct Scope {
    aws: AwsOptions,
    admin: Option<String>,
    members: MemberAccounts,
    mode: Mode,
    regions: Option<Vec<String>>,
    role: RoleOptions,
    output: HubOutput,
    concurrency: usize,
}

fn scope(a: &ScopeArgs) -> Result<Scope, Failure> {
    let aws = a.aws.options()?;
    let admin = a
        .admin_account
        .as_deref()
        .map(targets::parse_account_id)
        .transpose()
        .map_err(|e| Failure::usage(format!("--admin-account: {e}")))?;
    let (mode, members) = match (&a.accounts, a.organization) {
        (Some(path), _) => (
            Mode::Invitation,
            MemberAccounts::List(crate::cli::read_accounts(path)?),
        ),
        (None, true) => (
            Mode::Organization,
            MemberAccounts::Organization { ou: a.ou.clone() },
        ),
        (None, false) => (Mode::Invitation, MemberAccounts::Current),
    };
    Ok(Scope {
        aws,
        admin,
        members,
        mode,
        regions: regions(a.regions.as_deref())?,
        role: role(&a.role_name, &a.external_id, "patchhub-hub"),
        output: output_format(a.output),
        concurrency: a.concurrency as usize,
    })
}

/// Loads the base configuration; the Regions default to its Region.
async fn base(
    aws: &AwsOptions,
    regions: Option<Vec<String>>,
) -> Result<(aws_config::SdkConfig, Vec<String>), Failure> {
    let base = clients::load_base(aws).await.map_err(setup_failure)?;
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

async fn enable(args: EnableArgs) -> Result<(), Failure> {
    let s = scope(&args.scope)?;
    if s.mode == Mode::Invitation {
        match &s.members {
            MemberAccounts::Current => {
                return Err(Failure::usage(
                    "hub enable needs the members: --accounts FILE (AccountId,Email lines) for invitation mode, or --organization (from the management account)",
                ));
            }
            _ if s.role.role_name.is_none() => {
                return Err(Failure::usage(
                    "invitation mode enters each member account to enable Security Hub and accept the invitation: pass --role-name ROLE (a role in each member account this account may assume)",
                ));
            }
            _ => {}
        }
    }
    if let Some(h) = &args.home_region
        && !targets::is_region(h)
    {
        return Err(Failure::usage(format!(
            "--home-region: {}",
            targets::TargetError::Region(h.clone())
        )));
    }
    let (base, regions) = base(&s.aws, s.regions).await?;
    if let Some(h) = &args.home_region
        && !regions.contains(h)
    {
        return Err(Failure::usage(format!(
            "--home-region {h} must be one of the Regions ({}): add it to --regions",
            regions.join(",")
        )));
    }
    let plan = EnablePlan {
        mode: s.mode,
        admin_account: s.admin,
        members: s.members,
        regions,
        home_region: args.home_region.clone(),
        role: s.role,
        enable_default_standards: args.enable_default_standards,
        concurrency: s.concurrency,
    };
    let report = hub::enable(&base, &plan).await.map_err(setup_failure)?;
    print_report("hub enable", &report, s.output);
    exit_status("hub enable", &report)
}

async fn disable(args: DisableArgs) -> Result<(), Failure> {
    let s = scope(&args.scope)?;
    if args.disable_hub && !args.yes {
        return Err(Failure::usage(
            "--disable-hub disables Security Hub in every account of the scope, and Security Hub then deletes their findings and settings: add --yes to confirm",
        ));
    }
    let (base, regions) = base(&s.aws, s.regions).await?;
    let plan = DisablePlan {
        mode: s.mode,
        admin_account: s.admin,
        members: s.members,
        regions,
        role: s.role,
        disable_hub: args.disable_hub,
        concurrency: s.concurrency,
    };
    let report = hub::disable(&base, &plan).await.map_err(setup_failure)?;
    print_report("hub disable", &report, s.output);
    exit_status("hub disable", &report)
}

async fn status(args: StatusArgs) -> Result<(), Failure> {
    let s = scope(&args.scope)?;
    let (base, regions) = base(&s.aws, s.regions).await?;
    let plan = StatusPlan {
        admin_account: s.admin,
        members: s.members,
        regions,
        role: s.role,
        count_findings: !args.no_findings,
        concurrency: s.concurrency,
    };
    let report = hub::status(&base, &plan).await.map_err(setup_failure)?;
    match s.output {
        HubOutput::Table => println!("{}", status_table(&report)),
        HubOutput::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    }
    for r in report.rows.iter().filter(|r| r.error.is_some()) {
        eprintln!(
            "patchhub: account {} in {}: {}",
            r.account,
            r.region,
            r.error.as_deref().unwrap_or_default()
        );
    }
    if report.is_ok() {
        Ok(())
    } else {
        Err(Failure::partial(
            "incomplete: some accounts could not be read (see above)",
        ))
    }
}

/// `patchhub cleanup`.
pub async fn cleanup(args: CleanupArgs) -> Result<(), Failure> {
    let aws = args.aws.options()?;
    let accounts = match (&args.accounts, args.organization) {
        (Some(path), _) => AccountSource::List(crate::cli::read_accounts(path)?),
        (None, true) => AccountSource::Organization {
            ou: args.ou.clone(),
        },
        (None, false) => AccountSource::Caller,
    };
    let regions = regions(args.regions.as_deref())?;
    if !args.yes {
        return Err(Failure::usage(
            "cleanup archives every active patchhub finding in the accounts and Regions given (for uninstalling; a later sync brings them back): add --yes to confirm",
        ));
    }
    let output = output_format(args.output);
    let (base, regions) = base(&aws, regions).await?;
    let fan = FanOut {
        accounts,
        regions: RegionSelection::List(regions),
        role: role(&args.role_name, &args.external_id, "patchhub-cleanup"),
        concurrency: args.concurrency as usize,
        per_account_concurrency: 4,
        quotas: QuotaSettings::default(),
    };
    let report = hub::cleanup(&base, &fan).await.map_err(setup_failure)?;
    print_report("cleanup", &report, output);
    exit_status("cleanup", &report)
}

/// The steps that changed something, were skipped or failed (what is already in place is only
/// counted), and a summary line.
pub fn report_table(report: &HubReport) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["account", "region", "step", "result", "detail"]);
    let mut rows = 0;
    for a in report
        .actions
        .iter()
        .filter(|a| a.outcome != Outcome::Already)
    {
        t.add_row(vec![
            a.account.clone(),
            a.region.clone(),
            a.step.to_string(),
            a.outcome.to_string(),
            a.detail.clone(),
        ]);
        rows += 1;
    }
    let summary = summary(report);
    if rows == 0 {
        summary
    } else {
        format!("{t}\n{summary}")
    }
}

fn summary(report: &HubReport) -> String {
    let (done, already, skipped, failed) = (
        report.count(Outcome::Done),
        report.count(Outcome::Already),
        report.count(Outcome::Skipped),
        report.count(Outcome::Failed),
    );
    if done == 0 && failed == 0 {
        format!("nothing to change: {already} step(s) already in place, {skipped} skipped")
    } else {
        format!("{done} done, {already} already in place, {skipped} skipped, {failed} failed")
    }
}

fn print_report(command: &str, report: &HubReport, format: HubOutput) {
    match format {
        HubOutput::Table => println!("{}", report_table(report)),
        HubOutput::Json => {
            let v = serde_json::json!({
                "command": command,
                "ok": report.is_ok(),
                "summary": {
                    "done": report.count(Outcome::Done),
                    "already": report.count(Outcome::Already),
                    "skipped": report.count(Outcome::Skipped),
                    "failed": report.count(Outcome::Failed),
                },
                "actions": report.actions,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    for a in report.with(Outcome::Skipped) {
        eprintln!(
            "patchhub: warning: account {} in {}: {} skipped: {}",
            a.account, a.region, a.step, a.detail
        );
    }
    for a in report.with(Outcome::Failed) {
        eprintln!(
            "patchhub: account {} in {}: {} failed: {}\n  to resume: {}",
            a.account,
            a.region,
            a.step,
            a.detail,
            a.resume.as_deref().unwrap_or("run the same command again")
        );
    }
}

fn exit_status(command: &str, report: &HubReport) -> Result<(), Failure> {
    if report.is_ok() {
        return Ok(());
    }
    Err(Failure::partial(format!(
        "incomplete: {} step(s) failed, the rest is done; fix what is named above and run the same `patchhub {command}` again",
        report.count(Outcome::Failed)
    )))
}

/// One row per account and Region, then the administrator's view from the home Region.
pub fn status_table(report: &StatusReport) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "account",
        "region",
        "security hub",
        "relationship",
        "aggregation",
        "active findings",
    ]);
    for r in &report.rows {
        t.add_row(vec![
            r.account.clone(),
            r.region.clone(),
            r.hub.as_str().to_string(),
            r.relationship.to_string(),
            r.aggregation.clone(),
            r.active_findings
                .map_or_else(|| "-".to_string(), |n| n.to_string()),
        ]);
    }
    let mut out = format!("{t}\nadministrator: {}", report.administrator);
    match &report.aggregator {
        None => out.push_str("; no finding aggregator"),
        Some(a) => out.push_str(&format!(
            "; finding aggregator in {} ({}{})",
            a.home_region,
            a.mode,
            if a.regions.is_empty() {
                String::new()
            } else {
                format!(": {}", a.regions.join(", "))
            }
        )),
    }
    if let Some(v) = &report.aggregated {
        out.push_str(&format!(
            "\nfrom {} the administrator sees {} active patchhub findings of {} account(s) in {} Region(s)",
            v.region, v.active_findings, v.accounts, v.regions
        ));
    }
    out
}
