//! Command-line grammar (clap derive): the global flags and one subcommand per command module.
//! Each command's flags are its own, built from the shared groups in `args`.

use clap::{Parser, Subcommand};

use crate::commands::{cleanup, demo, doctor, export, hub, report, sync};

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
    Sync(Box<sync::SyncArgs>),
    /// Check, reading only, that everything `sync` needs is in place (same target flags as
    /// `sync`): credentials, roles, Regions, Security Hub, SSM data, permissions.
    Doctor(Box<doctor::DoctorArgs>),
    /// Run the whole job against an embedded emulated AWS (no account needed).
    Demo(demo::DemoArgs),
    /// Security Hub administrator and members in every Region, so findings roll up (enable,
    /// status, disable).
    Hub(Box<hub::HubArgs>),
    /// Archive every patchhub finding in the accounts and Regions given (for uninstalling).
    Cleanup(Box<cleanup::CleanupArgs>),
    /// Patch-compliance report of the fleet: table, CSV, JSON or one self-contained HTML page.
    Report(Box<report::ReportArgs>),
    /// The fleet's current state from SSM as OCSF: JSON Lines, or Parquet in the Amazon
    /// Security Lake custom-source layout, to a directory or s3://BUCKET/PREFIX.
    Export(Box<export::ExportArgs>),
}

impl Command {
    /// Runs the command.
    pub async fn run(self, quiet: bool) -> Result<(), crate::error::Failure> {
        match self {
            Command::Sync(args) => sync::run(*args, quiet).await,
            Command::Doctor(args) => doctor::run(*args).await,
            Command::Demo(args) => demo::run(args, quiet).await,
            Command::Hub(args) => hub::run(*args).await,
            Command::Cleanup(args) => cleanup::run(*args).await,
            Command::Report(args) => report::run(*args, quiet).await,
            Command::Export(args) => export::run(*args, quiet).await,
        }
    }
}
