//! The async runtime patchhub's binaries (the CLI and the Lambda's `bootstrap`) run on.

/// A multi-threaded runtime whose worker threads have deep stacks: the SDK's finding
/// deserializer recurses deeply in debug builds (32 MB is address space, not memory, until
/// touched). Callers run their work on a worker, not on the 8 MB main thread, for the same
/// reason.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
}
