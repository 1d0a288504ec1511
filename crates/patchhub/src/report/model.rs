//! The one table model the terminal, CSV and HTML formats render: sections of tables whose
//! columns say in which formats they appear (and under which header), and whose cells are typed
//! values (a count, a share, a time, a severity…) that each format writes its own way.
//!
//! A table's columns are listed once, in order. Each format shows the columns that name a
//! header for it, in that order; where two formats order the same value differently, the value
//! has one column per place (the terminal's compact layout, say, next to the CSV's documented
//! one).

use chrono::{DateTime, Utc};
use patchhub_core::finding::SeverityLabel;
use patchhub_core::report::ReportSource;

use super::format::Section as CsvSection;

/// One typed value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text as it is.
    Text(String),
    /// An id or name that must not break (node ids, accounts, Regions).
    Id(String),
    /// A count: grouped (`1,234`) for people, bare in CSV.
    Count(usize),
    /// A place in a ranked list: bare except in HTML.
    Rank(usize),
    /// Whole days.
    Days(i64),
    /// Days since a node's last scan; unknown (never scanned) sorts as the longest.
    DaysSince(Option<i64>),
    /// A share (a compliance rate); none when there is nothing to divide by.
    Percent(Option<f64>),
    /// A point in time: its day for people, RFC 3339 in CSV.
    Time(DateTime<Utc>),
    /// A severity label.
    Severity(SeverityLabel),
    /// Text that links to a page (a CVE's NVD entry).
    Link {
        /// Shown.
        text: String,
        /// Where it leads.
        href: String,
    },
    /// Values (CVEs, patches): `;`-separated in CSV, the first few for people.
    List(Vec<String>),
    /// An SSM patch state (`MISSING`, `INSTALLED_PENDING_REBOOT`…).
    PatchState(String),
    /// Why a node is stale (`never-scanned`, `scan-too-old`, `connection-lost`).
    StaleReasons(Vec<String>),
    /// A label ordered by a number (an age bucket by its first day).
    Label {
        /// Shown.
        text: String,
        /// Sort key.
        order: i64,
    },
    /// No value: empty in CSV; for people this word, else `-` in the terminal and nothing in
    /// HTML.
    Missing(Option<&'static str>),
}

impl Cell {
    /// Text, or [`Cell::Missing`] without a word.
    pub(crate) fn text_or_missing(s: Option<&str>) -> Cell {
        s.map_or(Cell::Missing(None), |s| Cell::Text(s.to_string()))
    }
}

/// One column: its header in each format it appears in, and how people see its cells.
#[derive(Debug, Clone, Default)]
pub(crate) struct Column {
    /// CSV header (the names docs/REPORT.md documents).
    pub csv: Option<&'static str>,
    /// Terminal header.
    pub term: Option<&'static str>,
    /// HTML header.
    pub html: Option<&'static str>,
    /// A figure: right-aligned in the terminal, `num` in HTML.
    pub numeric: bool,
    /// Terminal: text (or each list item) cut to this many characters.
    pub term_width: Option<usize>,
    /// Terminal: list items shown (the rest counted as `+N`).
    pub term_items: Option<usize>,
    /// Terminal: severities in full (`Informational`), not short (`Info`).
    pub term_full_severity: bool,
    /// HTML: text cut to this many characters.
    pub html_width: Option<usize>,
    /// HTML: list items shown (the rest counted as `+N`).
    pub html_items: Option<usize>,
}

impl Column {
    /// A column in every format.
    pub(crate) fn all(csv: &'static str, term: &'static str, html: &'static str) -> Self {
        Column {
            csv: Some(csv),
            term: Some(term),
            html: Some(html),
            ..Column::default()
        }
    }

    /// A column only CSV has.
    pub(crate) fn csv(name: &'static str) -> Self {
        Column {
            csv: Some(name),
            ..Column::default()
        }
    }

    /// Shown in the terminal under this header.
    pub(crate) fn term(mut self, header: &'static str) -> Self {
        self.term = Some(header);
        self
    }

    /// Shown in HTML under this header.
    pub(crate) fn html(mut self, header: &'static str) -> Self {
        self.html = Some(header);
        self
    }

    /// A figure.
    pub(crate) fn numeric(mut self) -> Self {
        self.numeric = true;
        self
    }

    /// Terminal: cut to `width` characters.
    pub(crate) fn term_width(mut self, width: usize) -> Self {
        self.term_width = Some(width);
        self
    }

    /// Terminal: the first `n` list items.
    pub(crate) fn term_items(mut self, n: usize) -> Self {
        self.term_items = Some(n);
        self
    }

    /// Terminal: severities in full.
    pub(crate) fn term_full_severity(mut self) -> Self {
        self.term_full_severity = true;
        self
    }

    /// HTML: cut to `width` characters.
    pub(crate) fn html_width(mut self, width: usize) -> Self {
        self.html_width = Some(width);
        self
    }

    /// HTML: the first `n` list items.
    pub(crate) fn html_items(mut self, n: usize) -> Self {
        self.html_items = Some(n);
        self
    }
}

/// One table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// The `--section` that writes it as CSV.
    pub section: CsvSection,
    /// HTML element id.
    pub html_id: &'static str,
    /// Terminal heading.
    pub term_title: String,
    /// HTML caption.
    pub caption: &'static str,
    /// HTML: said when there are no rows.
    pub empty: &'static str,
    /// Terminal: a line under the table.
    pub term_note: Option<&'static str>,
    /// Terminal: rows shown (the rest are counted, and left to the other formats).
    pub term_rows: Option<usize>,
    /// Columns, in order.
    pub columns: Vec<Column>,
    /// Rows: one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table; [`Table::rows`] fills it.
    pub(crate) fn new(
        section: CsvSection,
        html_id: &'static str,
        term_title: impl Into<String>,
        caption: &'static str,
        empty: &'static str,
    ) -> Self {
        Table {
            section,
            html_id,
            term_title: term_title.into(),
            caption,
            empty,
            term_note: None,
            term_rows: None,
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Terminal: this line under the table.
    pub(crate) fn with_term_note(mut self, note: &'static str) -> Self {
        self.term_note = Some(note);
        self
    }

    /// Terminal: only the first `n` rows (the note under the table counts the rest).
    pub(crate) fn with_term_rows(mut self, n: usize) -> Self {
        self.term_rows = Some(n);
        self
    }

    /// One row per item; columns are added with [`Rows::col`].
    pub(crate) fn rows<T>(mut self, items: &[T]) -> Rows<'_, T> {
        self.rows = vec![Vec::new(); items.len()];
        Rows { items, table: self }
    }

    /// The columns `shown` picks, with their indexes.
    pub(crate) fn columns_where(&self, shown: impl Fn(&Column) -> bool) -> Vec<(usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| shown(c))
            .collect()
    }
}

/// A table being filled from a list of items.
pub(crate) struct Rows<'a, T> {
    items: &'a [T],
    table: Table,
}

impl<T> Rows<'_, T> {
    /// Adds a column whose cells are `cell` of each item.
    pub(crate) fn col(mut self, column: Column, cell: impl Fn(&T) -> Cell) -> Self {
        for (row, item) in self.table.rows.iter_mut().zip(self.items) {
            row.push(cell(item));
        }
        self.table.columns.push(column);
        self
    }

    /// Adds a column of each item's place in the list (1, 2, …).
    pub(crate) fn rank(mut self, column: Column) -> Self {
        for (i, row) in self.table.rows.iter_mut().enumerate() {
            row.push(Cell::Rank(i + 1));
        }
        self.table.columns.push(column);
        self
    }

    /// The filled table.
    pub(crate) fn done(self) -> Table {
        self.table
    }
}

/// A titled group of tables (one page section in HTML).
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// HTML element id.
    pub id: &'static str,
    /// HTML heading.
    pub title: String,
    /// HTML: a paragraph under the heading.
    pub intro: String,
    /// Tables, in order.
    pub tables: Vec<Table>,
}

// ---------------------------------------------------------------------------------------------
// Text every format shares.

/// `1234567` -> `1,234,567`.
pub(crate) fn num(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0.71254` -> `71.3%`; none -> `-`.
pub(crate) fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(
        || "-".to_string(),
        |r| format!("{:.1}%", (r * 1000.0).round() / 10.0),
    )
}

/// `2024-03-20`.
pub(crate) fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// `2024-03-20 12:00 UTC`.
pub(crate) fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// RFC 3339, UTC, milliseconds.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Where the findings came from, for people.
pub(crate) fn source_name(s: ReportSource) -> &'static str {
    match s {
        ReportSource::SecurityHub => "Security Hub",
        ReportSource::Ssm => "Systems Manager (SSM)",
        ReportSource::File => "a findings file",
    }
}

/// `Critical` … `Informational`.
pub(crate) fn severity_name(s: SeverityLabel) -> &'static str {
    match s {
        SeverityLabel::Critical => "Critical",
        SeverityLabel::High => "High",
        SeverityLabel::Medium => "Medium",
        SeverityLabel::Low => "Low",
        SeverityLabel::Informational => "Informational",
    }
}

/// `Critical` … `Info`.
pub(crate) fn severity_short(s: SeverityLabel) -> &'static str {
    match s {
        SeverityLabel::Informational => "Info",
        other => severity_name(other),
    }
}

/// `s` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `a, b +3`.
pub(crate) fn some_of(items: &[String], show: usize) -> String {
    match patchhub_core::text::join_shown(items, show) {
        (shown, 0) => shown,
        (shown, more) => format!("{shown} +{more}"),
    }
}
