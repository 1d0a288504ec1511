//! The HTML format: one self-contained page rendered from templates/report.html (askama,
//! auto-escaped): summary tiles, then every section of the model with its charts and its tables
//! (sortable, with the raw figure as each cell's sort key).

use askama::Template;
use patchhub_core::finding::SeverityLabel;
use patchhub_core::report::{Report, SEVERITIES};

use super::charts::{Chart, charts};
use super::model::{self, cut, day, minute, num, pct, severity_name, some_of, source_name, ts};

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    generated: String,
    generated_iso: String,
    source: &'static str,
    scope: String,
    tiles: Vec<Tile>,
    sections: Vec<SectionView>,
}

struct Tile {
    label: &'static str,
    value: String,
    note: String,
}

struct SectionView {
    id: &'static str,
    title: String,
    intro: String,
    charts: Vec<Chart>,
    tables: Vec<TableView>,
}

struct TableView {
    id: &'static str,
    caption: &'static str,
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    empty: &'static str,
}

struct Column {
    label: &'static str,
    numeric: bool,
}

struct Cell {
    text: String,
    /// Sort key when the text is not it (raw numbers, ISO dates); empty: the text.
    sort: String,
    href: String,
    /// CSS classes (severity dot, no-wrap).
    class: &'static str,
}

impl Cell {
    fn text(s: impl Into<String>) -> Self {
        Cell {
            text: s.into(),
            sort: String::new(),
            href: String::new(),
            class: "",
        }
    }

    fn sorted(text: impl Into<String>, sort: impl Into<String>) -> Self {
        Cell {
            sort: sort.into(),
            ..Cell::text(text)
        }
    }

    fn severity(s: SeverityLabel) -> Self {
        Cell {
            sort: (SEVERITIES.len() - SEVERITIES.iter().position(|x| *x == s).unwrap_or(0))
                .to_string(),
            class: match s {
                SeverityLabel::Critical => "sev sev-critical",
                SeverityLabel::High => "sev sev-high",
                SeverityLabel::Medium => "sev sev-medium",
                SeverityLabel::Low => "sev sev-low",
                SeverityLabel::Informational => "sev sev-informational",
            },
            ..Cell::text(severity_name(s))
        }
    }

    /// A model cell as the page shows it.
    fn of(cell: &model::Cell, col: &model::Column) -> Self {
        use model::Cell as M;
        match cell {
            M::Text(s) => Cell::text(col.html_width.map_or_else(|| s.clone(), |w| cut(s, w))),
            // An id or name that must not break (node ids, accounts, Regions).
            M::Id(s) => Cell {
                class: "nw",
                ..Cell::text(s)
            },
            M::Count(n) | M::Rank(n) => Cell::sorted(num(*n), n.to_string()),
            M::Days(d) => Cell::text(d.to_string()),
            // Never scanned: the longest silent.
            M::DaysSince(d) => Cell::sorted(
                d.map_or_else(String::new, |d| d.to_string()),
                d.unwrap_or(i64::MAX).to_string(),
            ),
            M::Percent(r) => {
                Cell::sorted(pct(*r), r.map_or_else(|| "-1".into(), |r| r.to_string()))
            }
            M::Time(t) => Cell {
                class: "nw",
                ..Cell::sorted(day(*t), ts(*t))
            },
            M::Severity(s) => Cell::severity(*s),
            M::Link { text, href } => Cell {
                href: href.clone(),
                ..Cell::text(text)
            },
            M::List(items) => Cell::text(some_of(items, col.html_items.unwrap_or(items.len()))),
            M::PatchState(s) => Cell::text(s.to_ascii_lowercase().replace('_', " ")),
            M::StaleReasons(r) => Cell::text(r.join(", ")),
            M::Label { text, order } => Cell::sorted(text, order.to_string()),
            M::Missing(word) => Cell::text(word.unwrap_or("")),
        }
    }
}

/// A section of the model, with its charts.
fn section_view(s: model::Section, r: &Report) -> SectionView {
    SectionView {
        id: s.id,
        charts: charts(s.id, r),
        title: s.title,
        intro: s.intro,
        tables: s
            .tables
            .into_iter()
            .map(|t| {
                let columns = t.columns_where(|c| c.html.is_some());
                TableView {
                    id: t.html_id,
                    caption: t.caption,
                    empty: t.empty,
                    rows: t
                        .rows
                        .iter()
                        .map(|row| columns.iter().map(|(i, c)| Cell::of(&row[*i], c)).collect())
                        .collect(),
                    columns: columns
                        .iter()
                        .map(|(_, c)| Column {
                            label: c.html.unwrap_or_default(),
                            numeric: c.numeric,
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

fn tiles(r: &Report) -> Vec<Tile> {
    let t = &r.totals;
    let c = &t.compliance;
    let sev = |s: SeverityLabel| {
        r.severities
            .iter()
            .find(|x| x.severity == s)
            .map_or(0, |x| x.open_findings)
    };
    let mut out = vec![
        Tile {
            label: "Compliance rate",
            value: pct(c.compliance_rate),
            note: format!("{} of {} scanned nodes", num(c.compliant), num(c.scanned)),
        },
        Tile {
            label: "Non-compliant nodes",
            value: num(c.non_compliant),
            note: format!(
                "{} with critical patches missing",
                num(c.non_compliant_by_severity.critical)
            ),
        },
        Tile {
            label: "Open patch findings",
            value: num(c.open_findings),
            note: format!(
                "{} critical, {} high",
                num(sev(SeverityLabel::Critical)),
                num(sev(SeverityLabel::High))
            ),
        },
        Tile {
            label: "Missing patches",
            value: num(t.missing_patches),
            note: "distinct KBs and packages".into(),
        },
        Tile {
            label: "Open CVEs",
            value: num(t.open_cves),
            note: "listed by open patch findings".into(),
        },
        Tile {
            label: "Stale nodes",
            value: num(c.stale),
            note: format!("{} agent connection lost", num(t.connection_lost)),
        },
        Tile {
            label: "Pending reboots",
            value: num(t.pending_reboot),
            note: "nodes".into(),
        },
    ];
    if let Some(n) = t.resolved_recently {
        out.push(Tile {
            label: "Resolved",
            value: num(n),
            note: format!("patch findings, last {} days", t.resolved_window_days),
        });
    }
    out
}

/// The report as one self-contained HTML page.
pub(crate) fn html(r: &Report) -> std::io::Result<String> {
    let t = &r.totals;
    let page = Page {
        generated: minute(r.generated_at),
        generated_iso: ts(r.generated_at),
        source: source_name(r.source),
        scope: format!(
            "{} nodes in {} accounts and {} Regions",
            num(t.compliance.nodes),
            num(t.accounts),
            num(t.regions)
        ),
        tiles: tiles(r),
        sections: super::sections::sections(r)
            .into_iter()
            .map(|s| section_view(s, r))
            .collect(),
    };
    page.render().map_err(std::io::Error::other)
}
