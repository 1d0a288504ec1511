//! `patchhub sync`: validate flags, enter the accounts, sync each account and Region, print the
//! summary, and exit 0/1/2.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

use patchhub_aws::clients::{self, AwsOptions, RoleOptions};
use patchhub_aws::fanout::{AccountSource, FanOut, RunReport, run_sync};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::sync::{FindingObserver, SyncOptions};
use patchhub_aws::targets::{self, RegionSelection};
use patchhub_aws::{ApiError, ErrorKind};

use crate::Failure;
use crate::cli::{Output, SyncArgs};
use crate::output;

/// Maps a setup error (before any target ran) to exit 2 with its message.
pub fn setup_failure(e: ApiError) -> Failure {
    Failure::usage(e.to_string())
}

/// Everything `sync` needs, validated.
pub struct Prepared {
    /// AWS options.
    pub aws: AwsOptions,
    /// Fan-out.
    pub fan: FanOut,
    /// Sync options.
    pub opts: SyncOptions,
    /// Output format.
    pub output: Output,
}

/// Validates the flags (no AWS calls yet).
pub fn prepare(args: &SyncArgs) -> Result<Prepared, Failure> {
    let policy = crate::settings::policy(&args.policy)?;
    let aws = args.aws.options()?;
    let instance = args
        .instance
        .as_deref()
        .map(targets::parse_instance_id)
        .transpose()
        .map_err(|e| Failure::usage(format!("--instance: {e}")))?;
    let accounts = if let Some(path) = &args.accounts {
        AccountSource::List(crate::cli::read_accounts(path)?)
    } else if args.organization {
        AccountSource::Organization {
            ou: args.ou.clone(),
        }
    } else {
        AccountSource::Caller
    };
    if instance.is_some() && !matches!(accounts, AccountSource::Caller) {
        return Err(Failure::usage(
            "--instance syncs one node of the caller's account: drop --accounts/--organization",
        ));
    }
    let regions = match &args.regions {
        Some(r) => {
            targets::parse_regions(r).map_err(|e| Failure::usage(format!("--regions: {e}")))?
        }
        None => match &args.aws.region {
            Some(r) => RegionSelection::List(vec![r.clone()]),
            None => {
                match std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")) {
                    Ok(r) if targets::is_region(&r) => RegionSelection::List(vec![r]),
                    Ok(r) => {
                        return Err(Failure::usage(format!(
                            "AWS_REGION: {}",
                            targets::TargetError::Region(r)
                        )));
                    }
                    Err(_) => RegionSelection::List(Vec::new()),
                }
            }
        },
    };
    if !(args.ssm_rate.is_finite() && args.ssm_rate > 0.0) {
        return Err(Failure::usage(format!(
            "--ssm-rate `{}` must be a positive number of requests per second",
            args.ssm_rate
        )));
    }
    let quotas = QuotaSettings {
        ssm: Rate::new(args.ssm_rate, (args.ssm_rate * 2.0).max(1.0)),
        ..QuotaSettings::default()
    };
    let fan = FanOut {
        accounts,
        regions,
        role: RoleOptions {
            role_name: args.role_name.clone(),
            external_id: args.external_id.clone(),
            session_name: "patchhub-sync".into(),
        },
        concurrency: args.concurrency as usize,
        per_account_concurrency: 4,
        quotas,
    };
    let mut opts = SyncOptions::new(policy);
    opts.only_instance = instance;
    opts.dry_run = args.dry_run;
    let output = args.output.unwrap_or(if std::io::stdout().is_terminal() {
        Output::Table
    } else {
        Output::Json
    });
    Ok(Prepared {
        aws,
        fan,
        opts,
        output,
    })
}

/// Runs a prepared sync and prints; the exit status follows the report.
pub async fn execute(mut p: Prepared, quiet: bool) -> Result<RunReport, Failure> {
    let base = clients::load_base(&p.aws).await.map_err(setup_failure)?;
    if let RegionSelection::List(l) = &p.fan.regions
        && l.is_empty()
    {
        let r = base.region().map(|r| r.to_string()).unwrap_or_default();
        p.fan.regions = RegionSelection::List(vec![r]);
    }
    // JSONL goes to stdout as findings are accepted, so a long run streams.
    if p.output == Output::Jsonl {
        let out = Arc::new(Mutex::new(std::io::stdout()));
        let obs: FindingObserver = Arc::new(move |f| {
            if let Ok(line) = serde_json::to_string(f) {
                let mut o = out.lock().expect("stdout lock");
                // A closed pipe (| head) is not an error worth reporting.
                let _ = writeln!(o, "{line}");
            }
        });
        p.opts.observer = Some(obs);
    }
    let progress = output::Progress::new(quiet);
    let report = run_sync(&base, &p.fan, &p.opts, Some(progress.callback()))
        .await
        .map_err(|e| match e.kind {
            ErrorKind::Credentials
            | ErrorKind::InvalidInput
            | ErrorKind::AccessDenied
            | ErrorKind::RegionDisabled => setup_failure(e),
            _ => Failure::partial(e.to_string()),
        })?;
    progress.finish();
    Ok(report)
}

/// `patchhub sync`.
pub async fn run(args: SyncArgs, quiet: bool) -> Result<(), Failure> {
    let prepared = prepare(&args)?;
    let format = prepared.output;
    let dry_run = prepared.opts.dry_run;
    let report = execute(prepared, quiet).await?;
    output::print_report(&report, format, dry_run);
    output::exit_status(&report)
}
