//! `patchhub hub enable|status|disable`: validate the flags, call `patchhub_aws::hub`, print the
//! report (a table or JSON), and exit 0 (all done or already in place), 1 (some steps failed, the
//! rest done), or 2 (usage, configuration, credentials).

use clap::{Args, Subcommand};
use patchhub_aws::clients::{AwsOptions, RoleOptions};
use patchhub_aws::hub::{self, DisablePlan, EnablePlan, MemberAccounts, Mode, StatusPlan};
use patchhub_aws::targets;

use crate::args::{AwsArgs, TargetArgs, base_with_regions, read_accounts};
use crate::error::Failure;
use crate::output::{HubOutput, hub_exit_status, print_hub_report, status_table};

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

/// Who is involved: the administrator, the members, the Regions, how to get into accounts.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The Security Hub administrator account (default: the caller's account).
    #[arg(long)]
    pub admin_account: Option<String>,
    /// The members (--accounts: invitation mode; --organization: organization mode), the role
    /// assumed in the other accounts, the Regions.
    #[command(flatten)]
    pub targets: TargetArgs,
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

/// `patchhub hub …`.
pub async fn run(args: HubArgs) -> Result<(), Failure> {
    match args.command {
        HubCommand::Enable(a) => enable(*a).await,
        HubCommand::Status(a) => status(*a).await,
        HubCommand::Disable(a) => disable(*a).await,
    }
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
    let t = &a.targets;
    let (mode, members) = match (&t.accounts, t.organization) {
        (Some(path), _) => (Mode::Invitation, MemberAccounts::List(read_accounts(path)?)),
        (None, true) => (
            Mode::Organization,
            MemberAccounts::Organization { ou: t.ou.clone() },
        ),
        (None, false) => (Mode::Invitation, MemberAccounts::Current),
    };
    Ok(Scope {
        aws,
        admin,
        members,
        mode,
        regions: t.region_list()?,
        role: t.role("patchhub-hub"),
        output: HubOutput::chosen(a.output),
        concurrency: a.concurrency as usize,
    })
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
    let (base, regions) = base_with_regions(&s.aws, s.regions).await?;
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
    let report = hub::enable(&base, &plan).await?;
    print_hub_report("hub enable", &report, s.output);
    hub_exit_status("hub enable", &report)
}

async fn disable(args: DisableArgs) -> Result<(), Failure> {
    let s = scope(&args.scope)?;
    if args.disable_hub && !args.yes {
        return Err(Failure::usage(
            "--disable-hub disables Security Hub in every account of the scope, and Security Hub then deletes their findings and settings: add --yes to confirm",
        ));
    }
    let (base, regions) = base_with_regions(&s.aws, s.regions).await?;
    let plan = DisablePlan {
        mode: s.mode,
        admin_account: s.admin,
        members: s.members,
        regions,
        role: s.role,
        disable_hub: args.disable_hub,
        concurrency: s.concurrency,
    };
    let report = hub::disable(&base, &plan).await?;
    print_hub_report("hub disable", &report, s.output);
    hub_exit_status("hub disable", &report)
}

async fn status(args: StatusArgs) -> Result<(), Failure> {
    let s = scope(&args.scope)?;
    let (base, regions) = base_with_regions(&s.aws, s.regions).await?;
    let plan = StatusPlan {
        admin_account: s.admin,
        members: s.members,
        regions,
        role: s.role,
        count_findings: !args.no_findings,
        concurrency: s.concurrency,
    };
    let report = hub::status(&base, &plan).await?;
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
