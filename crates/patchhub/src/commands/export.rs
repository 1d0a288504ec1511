//! `patchhub export`: the fleet's current state, read from SSM and mapped as `sync` would map it
//! now, rendered as OCSF events, and written as JSON Lines or as Parquet in the Security Lake
//! custom-source layout, to a directory or an S3 prefix.
//!
//! "Current state" is the findings a sync would want in Security Hub now (per-patch findings,
//! roll-ups, stale-scan findings, all active): nothing is read from Security Hub, so findings a
//! sync would resolve (patches installed since) are not in an export. A lake that keeps every
//! export has the history; the newest export of a `finding_info.uid` is its state.

use chrono::Utc;
use clap::{Args, ValueEnum};
use patchhub_aws::clients;
use patchhub_aws::lake::{self, Destination, ExportError, LakeLayout, ObjectWriter};
use patchhub_aws::report_read::{self, ReadSource};

use crate::args::{AwsArgs, PaceArgs, PolicyArgs, TargetArgs};
use crate::error::Failure;

/// What `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One OCSF event per line, in one file or object.
    OcsfJsonl,
    /// Apache Parquet in the Security Lake custom-source layout: one source per OCSF class,
    /// partitioned by Region, account and day.
    OcsfParquet,
}

/// `patchhub export` flags.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// What to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Where: an existing directory, or s3://BUCKET[/PREFIX] (for Security Lake, its bucket: the
    /// objects go under PREFIX/ext/SOURCE/…). S3 is written with the caller's credentials in
    /// the --region Region.
    #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
    pub out: String,
    /// With ocsf-parquet: custom source names are PREFIX-vuln (Vulnerability Finding) and
    /// PREFIX-compliance (Compliance Finding), as registered in Security Lake (at most 20
    /// characters each).
    #[arg(long, env = "PATCHHUB_LAKE_SOURCE_PREFIX", default_value = "patchhub")]
    pub source_prefix: String,
    /// With ocsf-parquet: the custom sources' version, when they were created with one (it
    /// becomes a path segment: ext/SOURCE/VERSION/…).
    #[arg(long, env = "PATCHHUB_LAKE_SOURCE_VERSION")]
    pub source_version: Option<String>,
    /// The accounts and Regions to read (the same flags as `sync`).
    #[command(flatten)]
    pub targets: TargetArgs,
    #[command(flatten)]
    pub pace: PaceArgs,
    /// The finding policy the mapping uses (as `sync`'s).
    #[command(flatten, next_help_heading = "Finding policy")]
    pub policy: PolicyArgs,
}

/// `patchhub export`. Exit 0 when every account and Region was read and written, 1 when some
/// could not be read (the rest is written, each gap named), 2 for bad flags, credentials or
/// destination.
pub async fn run(args: ExportArgs, quiet: bool) -> Result<(), Failure> {
    let policy = args.policy.policy()?;
    let aws = args.aws.options()?;
    let fan = args
        .pace
        .fan_out(&args.targets, &args.aws, "patchhub-export")?;
    let dest = Destination::parse(&args.out).map_err(|e| Failure::usage(format!("--out {e}")))?;
    let layout = LakeLayout::new(&args.source_prefix, args.source_version.as_deref())
        .map_err(|e| Failure::usage(format!("--source-prefix/--source-version: {e}")))?;
    let base = clients::load_base(&aws).await?;
    let writer = ObjectWriter::new(&base, dest);
    // The destination first: a wrong bucket fails before the fleet is read.
    writer.check().await?;
    let now = Utc::now();
    let collected = report_read::collect(&base, &fan, ReadSource::Ssm, &policy, now).await?;
    let events = patchhub_core::ocsf::events(&collected.findings);
    if !quiet {
        tracing::info!(findings = collected.findings.len(), "findings mapped");
    }
    let written = match args.format {
        ExportFormat::OcsfJsonl => lake::write_jsonl(&writer, &events, now)
            .await
            .map(|w| vec![w]),
        ExportFormat::OcsfParquet => lake::write_parquet(&writer, &layout, events, now).await,
    }
    .map_err(|e| match e {
        ExportError::Write(e) => Failure::from(e),
        // The rendering and the schema disagree: a bug, and running again will not help.
        other => Failure::usage(format!("cannot export: {other}")),
    })?;
    for w in &written {
        println!("{}\t{} events", w.location, w.events);
    }
    crate::error::incomplete(&collected.gaps, "the export")
}
