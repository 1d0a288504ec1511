//! `bootstrap`, the patchhub Lambda function. Thin: logging, an async runtime, and
//! [`patchhub_lambda::run`].

use std::process::ExitCode;

fn main() -> ExitCode {
    patchhub_lambda::logging::init();
    // Worker threads with deep stacks: the SDK's finding deserializer recurses deeply in debug
    // builds (32 MB is address space, not memory, until touched). Everything runs on a worker,
    // not on the main thread, for the same reason.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
    {
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
