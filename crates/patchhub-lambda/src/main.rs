//! `bootstrap`, the patchhub Lambda function. Thin: logging, an async runtime, and
//! [`patchhub_lambda::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    patchhub_lambda::logging::init();
    // Everything runs on a deep-stacked worker, not on the main thread.
    let runtime = match patchhub_aws::runtime::build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bootstrap: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(async { tokio::spawn(patchhub_lambda::run()).await }) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            tracing::error!("bootstrap: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!("bootstrap: the function task failed: {e}");
            ExitCode::FAILURE
        }
    }
}
