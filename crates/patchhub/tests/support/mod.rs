//! Shared by the tests of the `patchhub` binary.

use std::process::Command;

/// The `patchhub` binary in a clean AWS environment: no profile files, no instance metadata (so
/// no network), no stray credentials or `PATCHHUB_*` settings from the machine running the tests.
pub fn patchhub() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchhub"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_CONFIG_FILE", "/nonexistent/patchhub-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/patchhub-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}
