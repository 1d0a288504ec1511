//! The JSON format: the core report as it is, every figure, in the schema docs/REPORT.md
//! documents (the other formats render the table model; JSON keeps the schema's own shape).

use std::io::Write;

use patchhub_core::report::Report;

/// The report, pretty-printed, with a final newline.
pub(crate) fn write_json(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, r)?;
    writeln!(out)
}
