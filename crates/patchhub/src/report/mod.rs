//! `patchhub report`: the fleet's patch compliance for a security lead. The findings are read by
//! `patchhub_aws::report_read` (from Security Hub, from SSM mapped now, or from a JSON Lines file),
//! the figures computed by `patchhub_core::report`, and the result rendered here: the sections
//! are one table model ([`model`], [`sections`]) that the terminal ([`table`]), CSV ([`csv`]) and
//! HTML ([`html`], [`charts`]) formats each render; JSON ([`json`]) is the core report itself.

mod args;
mod charts;
mod csv;
mod html;
mod json;
mod model;
mod sections;
mod table;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use patchhub_aws::report_read::{self, Collected, JsonlError, ReadSource};
use patchhub_aws::{ErrorKind, clients};
use patchhub_core::finding::Finding;
use patchhub_core::report::{self, Report, ReportOptions, ReportSource};

use args::{AwsInput, Input, prepare};
pub use args::{ReportArgs, ReportFormat, Section, Source};

use crate::Failure;

/// How to render a report.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Format.
    pub format: ReportFormat,
    /// Rows in the ranked lists.
    pub top: usize,
    /// The table `Csv` writes.
    pub section: Section,
    /// Where the findings came from (SSM keeps no history of resolved findings).
    pub source: ReportSource,
}

impl RenderOptions {
    /// Top 20, CSV section `accounts`, findings read from Security Hub.
    pub fn new(format: ReportFormat) -> Self {
        RenderOptions {
            format,
            top: 20,
            section: Section::Accounts,
            source: ReportSource::SecurityHub,
        }
    }
}

/// Computes the report of `findings` as of `now` and writes it in the chosen format.
pub fn write_report(
    findings: &[Finding],
    opts: &RenderOptions,
    out: &mut dyn Write,
    now: DateTime<Utc>,
) -> std::io::Result<()> {
    let mut ro = ReportOptions::new(now, opts.source);
    ro.top = opts.top;
    render(&report::build(findings, &ro), opts, out)
}

/// Writes a computed report in the chosen format.
pub fn render(r: &Report, opts: &RenderOptions, out: &mut dyn Write) -> std::io::Result<()> {
    match opts.format {
        ReportFormat::Table => out.write_all(table::table(r).as_bytes()),
        ReportFormat::Csv => csv::write_csv(r, opts.section, out),
        ReportFormat::Json => json::write_json(r, out),
        ReportFormat::Html => out.write_all(html::html(r)?.as_bytes()),
    }
}

/// `patchhub report`. Exit 0 when every account and Region was read, 1 when the report had to
/// leave some out (it is still written, and each gap is named), 2 for bad flags or credentials.
pub async fn run(args: ReportArgs, quiet: bool) -> Result<(), Failure> {
    let plan = prepare(&args)?;
    let now = Utc::now();
    let collected = match &plan.input {
        Input::File(path) => Collected {
            findings: read_file(path)?,
            gaps: Vec::new(),
        },
        Input::Aws(a) => {
            let AwsInput {
                aws,
                fan,
                source,
                policy,
            } = a.as_ref();
            let base = clients::load_base(aws)
                .await
                .map_err(|e| Failure::usage(e.to_string()))?;
            report_read::collect(&base, fan, source.read_source(), policy, now)
                .await
                .map_err(|e| match e.kind {
                    ErrorKind::Credentials
                    | ErrorKind::InvalidInput
                    | ErrorKind::AccessDenied
                    | ErrorKind::RegionDisabled => Failure::usage(e.to_string()),
                    _ => Failure::partial(e.to_string()),
                })?
        }
    };
    if !quiet {
        tracing::info!(findings = collected.findings.len(), "findings read");
    }
    let mut buf = Vec::new();
    write_report(&collected.findings, &plan.render, &mut buf, now)
        .map_err(|e| Failure::partial(format!("cannot render the report: {e}")))?;
    match &plan.out {
        Some(path) => std::fs::write(path, &buf)
            .map_err(|e| Failure::usage(format!("--out {}: {e}", path.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&buf).and_then(|()| stdout.flush()) {
                // A closed pipe (| head) is not an error worth reporting.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Failure::partial(format!("cannot write the report: {e}")));
                }
                _ => {}
            }
        }
    }
    if let Some(path) = &plan.out
        && !quiet
    {
        eprintln!("patchhub: report written to {}", path.display());
    }
    if collected.gaps.is_empty() {
        return Ok(());
    }
    for g in &collected.gaps {
        eprintln!("patchhub: {g}");
    }
    Err(Failure::partial(format!(
        "incomplete: {} account(s) or account-Region target(s) could not be read and are missing from the report",
        collected.gaps.len()
    )))
}

impl Source {
    /// The reader this source names.
    fn read_source(self) -> ReadSource {
        match self {
            Source::Securityhub => ReadSource::SecurityHub,
            Source::Ssm => ReadSource::Ssm,
        }
    }
}

/// A findings file; a bad line is named (exit 2).
fn read_file(path: &Path) -> Result<Vec<Finding>, Failure> {
    report_read::read_jsonl(path).map_err(|e| match e {
        JsonlError::Read(e) => {
            Failure::usage(format!("--input {}: cannot read: {e}", path.display()))
        }
        JsonlError::Line { line, error } => Failure::usage(format!(
            "--input {} line {line}: not an ASFF finding: {error}",
            path.display()
        )),
    })
}
