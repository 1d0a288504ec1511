//! The terminal format: a summary, then every table of the model, each fitted to 100 columns.

use std::fmt::Write as _;

use clap::ValueEnum;
use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use patchhub_core::report::Report;

use super::model::{
    self, Cell, Column, cut, day, minute, num, pct, severity_name, severity_short, some_of,
    source_name,
};

/// Width the terminal tables are fitted to.
const TABLE_WIDTH: u16 = 100;

/// Every section as terminal tables, each at most 100 columns wide.
pub(crate) fn table(r: &Report) -> String {
    let mut s = summary(r);
    for t in model_tables(r) {
        let columns = t.columns_where(|c| c.term.is_some());
        let mut tab = Table::new();
        tab.load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(TABLE_WIDTH)
            .set_header(columns.iter().map(|(_, c)| c.term.unwrap_or_default()));
        for (i, (_, c)) in columns.iter().enumerate() {
            if c.numeric
                && let Some(col) = tab.column_mut(i)
            {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        let shown = t.term_rows.unwrap_or(t.rows.len());
        for row in t.rows.iter().take(shown) {
            tab.add_row(columns.iter().map(|(i, c)| text(&row[*i], c)));
        }
        let more = more(t.rows.len(), shown, &t.section);
        let _ = writeln!(s, "\n{}", t.term_title);
        if tab.row_count() == 0 {
            let _ = writeln!(s, "  (none)");
        } else {
            let _ = writeln!(s, "{tab}");
        }
        if let Some(n) = more.as_deref().or(t.term_note) {
            let _ = writeln!(s, "{n}");
        }
    }
    s
}

fn model_tables(r: &Report) -> impl Iterator<Item = model::Table> {
    super::sections::sections(r)
        .into_iter()
        .flat_map(|s| s.tables)
}

/// The headline figures above the tables.
fn summary(r: &Report) -> String {
    let t = &r.totals;
    let c = &t.compliance;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Patch compliance report, {} (from {})",
        minute(r.generated_at),
        source_name(r.source)
    );
    let _ = writeln!(
        s,
        "Compliance {}: {} of {} scanned nodes compliant ({} nodes, {} accounts, {} Regions)",
        pct(c.compliance_rate),
        num(c.compliant),
        num(c.scanned),
        num(c.nodes),
        num(t.accounts),
        num(t.regions)
    );
    let _ = writeln!(
        s,
        "Open: {} patch findings, {} missing patches, {} CVEs",
        num(c.open_findings),
        num(t.missing_patches),
        num(t.open_cves)
    );
    let _ = writeln!(
        s,
        "Nodes: {} stale ({} agent connection lost), {} pending reboot",
        num(c.stale),
        num(t.connection_lost),
        num(t.pending_reboot)
    );
    if let Some(n) = t.resolved_recently {
        let _ = writeln!(
            s,
            "Resolved in the last {} days: {} patch findings",
            t.resolved_window_days,
            num(n)
        );
    }
    s
}

/// A cell as the terminal shows it.
fn text(cell: &Cell, col: &Column) -> String {
    let cut_to = |s: &str| col.term_width.map_or_else(|| s.to_string(), |w| cut(s, w));
    match cell {
        Cell::Text(s) | Cell::Id(s) | Cell::Link { text: s, .. } | Cell::Label { text: s, .. } => {
            cut_to(s)
        }
        Cell::Count(n) => num(*n),
        Cell::Rank(n) => n.to_string(),
        Cell::Days(d) => d.to_string(),
        Cell::DaysSince(d) => d.map_or_else(|| "-".into(), |d| d.to_string()),
        Cell::Percent(r) => pct(*r),
        Cell::Time(t) => day(*t),
        Cell::Severity(s) if col.term_full_severity => severity_name(*s).to_string(),
        Cell::Severity(s) => severity_short(*s).to_string(),
        Cell::List(items) => {
            let items: Vec<String> = items.iter().map(|s| cut_to(s)).collect();
            some_of(&items, col.term_items.unwrap_or(items.len()))
        }
        Cell::PatchState(s) => state_short(s).to_string(),
        Cell::StaleReasons(r) => r
            .iter()
            .map(|r| reason_short(r))
            .collect::<Vec<_>>()
            .join(", "),
        Cell::Missing(word) => word.unwrap_or("-").to_string(),
    }
}

/// SSM patch state in a few words.
fn state_short(state: &str) -> &str {
    match state {
        "MISSING" => "missing",
        "FAILED" => "failed",
        "INSTALLED_PENDING_REBOOT" => "pending reboot",
        "INSTALLED_REJECTED" => "rejected",
        "AVAILABLE_SECURITY_UPDATE" => "available",
        other => other,
    }
}

/// Stale reason in a few words.
fn reason_short(reason: &str) -> &str {
    match reason {
        "never-scanned" => "never scanned",
        "scan-too-old" => "old scan",
        "connection-lost" => "agent lost",
        other => other,
    }
}

/// Where to see the rows a capped table leaves out.
fn more(total: usize, shown: usize, section: &super::format::Section) -> Option<String> {
    (total > shown).then(|| {
        let name = section
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        format!(
            "… and {} more (all of them: --format csv --section {name}, json or html)",
            num(total - shown)
        )
    })
}
