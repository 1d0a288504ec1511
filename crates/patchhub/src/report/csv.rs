//! The CSV format: one table of the model (`--section`), every column that has a CSV name, the
//! values bare (columns as documented in docs/REPORT.md; lists are `;`-separated).

use std::io::Write;

use patchhub_core::report::Report;

use super::format::Section;
use super::model::{Cell, ts};

/// One section as CSV.
pub(crate) fn write_csv(r: &Report, section: Section, out: &mut dyn Write) -> std::io::Result<()> {
    let Some(table) = super::sections::sections(r)
        .into_iter()
        .flat_map(|s| s.tables)
        .find(|t| t.section == section)
    else {
        return Ok(());
    };
    let columns = table.columns_where(|c| c.csv.is_some());
    let mut w = ::csv::Writer::from_writer(out);
    w.write_record(columns.iter().map(|(_, c)| c.csv.unwrap_or_default()))?;
    for row in &table.rows {
        w.write_record(columns.iter().map(|(i, _)| value(&row[*i])))?;
    }
    w.flush()
}

/// A cell as CSV writes it: nothing left out, nothing formatted for people.
fn value(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) | Cell::Id(s) | Cell::PatchState(s) => s.clone(),
        Cell::Link { text, .. } | Cell::Label { text, .. } => text.clone(),
        Cell::Count(n) | Cell::Rank(n) => n.to_string(),
        Cell::Days(d) => d.to_string(),
        Cell::DaysSince(d) => d.map(|d| d.to_string()).unwrap_or_default(),
        Cell::Percent(r) => r.map(|r| r.to_string()).unwrap_or_default(),
        Cell::Time(t) => ts(*t),
        Cell::Severity(s) => s.as_str().to_string(),
        Cell::List(items) | Cell::StaleReasons(items) => items.join(";"),
        Cell::Missing(_) => String::new(),
    }
}
