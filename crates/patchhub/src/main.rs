//! `patchhub`, the command line. Thin: it parses flags and calls into `patchhub-aws`.
//! (The commands arrive with the `patchhub sync` issue.)

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("patchhub: no commands yet; see README.md");
    ExitCode::from(2)
}
