//! The report's formats and the tables `--format csv` can write: what every renderer and the
//! `report` command's flags share.

use std::path::Path;

use clap::ValueEnum;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables for a terminal, 100 columns wide.
    Table,
    /// One table (`--section`) as CSV.
    Csv,
    /// Every figure, in the schema of docs/REPORT.md.
    Json,
    /// One self-contained page: charts, sortable tables, printable, works offline.
    Html,
}

/// The table `--format csv` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// Compliance per account.
    Accounts,
    /// Compliance per Region.
    Regions,
    /// Open patch findings per severity.
    Severities,
    /// Missing patches by affected nodes.
    Patches,
    /// Open CVEs.
    Cves,
    /// Oldest open patch findings.
    Oldest,
    /// Open patch findings by age.
    Ages,
    /// Stale and connection-lost nodes.
    Stale,
    /// Nodes pending a reboot.
    Reboots,
    /// Compliance per platform.
    Platforms,
    /// Patch deadlines per account, Region and severity.
    Deadlines,
    /// Breached and due-soon patch findings.
    Overdue,
    /// CVEs in CISA's KEV catalog still missing.
    Kev,
}

/// The format a file name asks for, by its extension.
pub fn format_of(path: &Path) -> Option<ReportFormat> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "html" | "htm" => Some(ReportFormat::Html),
        "csv" => Some(ReportFormat::Csv),
        "json" => Some(ReportFormat::Json),
        "txt" => Some(ReportFormat::Table),
        _ => None,
    }
}
