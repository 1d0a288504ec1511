//! `patchhub demo`: the whole job against an embedded awsim. (Filled in with the demo issue.)

use std::path::PathBuf;

use clap::Args;

use crate::Failure;

/// `patchhub demo` flags.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Accounts in the generated organization.
    #[arg(long, default_value_t = 3)]
    pub accounts: usize,
    /// Regions per account.
    #[arg(long, default_value_t = 2)]
    pub regions: usize,
    /// Managed nodes per account and Region.
    #[arg(long, default_value_t = 200)]
    pub instances: usize,
    /// Seed of the generated fleet.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Where to write the report and findings.
    #[arg(long, default_value = "patchhub-demo")]
    pub out: PathBuf,
}

/// Runs the demo.
pub async fn run(args: DemoArgs, _quiet: bool) -> Result<(), Failure> {
    let _ = args;
    Err(Failure::usage("demo: not built yet"))
}
