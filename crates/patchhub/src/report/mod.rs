//! The report's renderers, shared by `patchhub report` and the demo: the figures computed by
//! `patchhub_core::report` as one table model ([`model`], [`sections`]) that the terminal
//! ([`table`]), CSV ([`csv`]) and HTML ([`html`], [`charts`]) formats each render; JSON
//! ([`json`]) is the core report itself. One format per file.

mod charts;
mod csv;
mod format;
mod html;
mod json;
mod model;
mod sections;
mod table;
#[cfg(test)]
mod tests;

use std::io::Write;

use chrono::{DateTime, Utc};
use patchhub_core::finding::Finding;
use patchhub_core::report::{self, Report, ReportOptions, ReportSource};

pub use format::{ReportFormat, Section, format_of};

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
