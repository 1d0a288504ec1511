//! `patchhub`, the command line. Thin: it parses flags into validated settings, calls
//! `patchhub-aws`, and prints. Exit codes: 0 all done, 1 ran but some findings or some
//! account/Region failed (the rest was done), 2 usage, configuration or credential error.

mod args;
mod cli;
mod commands;
mod error;
mod output;
mod report;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{self, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::error::Failure;

fn init_tracing(verbose: u8, quiet: bool) {
    // By default the SDK's own warnings stay out: the credential chain's probes (IMDS, SSO, the
    // profile files) warn on every machine they do not apply to, with `Debug` dumps of their
    // errors, and whatever fails for good comes back as patchhub's one-line error anyway. `-v`
    // shows them. (Targets match by prefix: `aws_smithy` covers every aws-smithy-* crate.)
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => {
            "warn,aws_config=error,aws_smithy=error,aws_runtime=error,aws_sdk=error,aws_credential_types=error,hyper=error"
        }
        (false, 1) => "info,aws_config=warn,aws_smithy_runtime=warn",
        (false, _) => "debug,hyper=info,aws_smithy_runtime=info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PATCHHUB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // At TRACE the SDK's orchestrator logs whole responses, and with the SDK's
    // LOG_SENSITIVE_BODIES=true their bodies: STS's secret keys and session tokens among them.
    // Those events are dropped whatever PATCHHUB_LOG asks for, so no setting prints credentials.
    let no_bodies = filter::filter_fn(|m| {
        !(*m.level() == tracing::Level::TRACE
            && m.target()
                .starts_with("aws_smithy_runtime::client::orchestrator"))
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter.and(no_bodies)),
        )
        .init();
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match patchhub_aws::runtime::build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("patchhub: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // Run on a worker thread (32 MB stack), not on main's 8 MB.
    let quiet = cli.quiet;
    let work = runtime.spawn(cli.command.run(quiet));
    let result = runtime
        .block_on(work)
        .unwrap_or_else(|e| Err(Failure::partial(format!("internal error: {e}"))));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("patchhub: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
