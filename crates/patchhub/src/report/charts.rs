//! The HTML page's charts: inline SVG drawn from geometry computed here (askama writes the
//! elements, auto-escaped). Every chart has a title, a description that reads out its figures,
//! and a data table with the same figures next to it.

use patchhub_core::finding::SeverityLabel;
use patchhub_core::report::{Report, SEVERITIES};

use super::model::{num, pct, severity_name};

/// The charts of one page section (by its id).
pub(crate) fn charts(section: &str, r: &Report) -> Vec<Chart> {
    match section {
        "accounts" => vec![account_chart(r)],
        "severity" => vec![severity_chart(r)],
        "ages" => vec![age_chart(r)],
        "deadlines" => vec![deadline_chart(r)],
        _ => Vec::new(),
    }
}

fn sev_class(s: SeverityLabel) -> &'static str {
    match s {
        SeverityLabel::Critical => "critical",
        SeverityLabel::High => "high",
        SeverityLabel::Medium => "medium",
        SeverityLabel::Low => "low",
        SeverityLabel::Informational => "informational",
    }
}

/// An inline SVG chart.
pub(crate) struct Chart {
    pub(crate) id: &'static str,
    pub(crate) title: String,
    pub(crate) desc: String,
    pub(crate) caption: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) rects: Vec<Rect>,
    pub(crate) texts: Vec<Text>,
    pub(crate) lines: Vec<Line>,
    pub(crate) legend: Vec<(&'static str, &'static str)>,
}

/// A bar, with its tooltip.
pub(crate) struct Rect {
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) w: String,
    pub(crate) h: String,
    pub(crate) class: &'static str,
    pub(crate) tip: String,
}

/// A label or a value.
pub(crate) struct Text {
    pub(crate) x: String,
    pub(crate) y: String,
    pub(crate) anchor: &'static str,
    pub(crate) class: &'static str,
    pub(crate) text: String,
}

/// A grid or axis line.
pub(crate) struct Line {
    pub(crate) x1: String,
    pub(crate) y1: String,
    pub(crate) x2: String,
    pub(crate) y2: String,
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

impl Chart {
    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &'static str, tip: String) {
        if w > 0.0 && h > 0.0 {
            self.rects.push(Rect {
                x: f1(x),
                y: f1(y),
                w: f1(w),
                h: f1(h),
                class,
                tip,
            });
        }
    }

    fn text(&mut self, x: f64, y: f64, anchor: &'static str, class: &'static str, text: String) {
        self.texts.push(Text {
            x: f1(x),
            y: f1(y),
            anchor,
            class,
            text,
        });
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64) {
        self.lines.push(Line {
            x1: f1(x1),
            y1: f1(y1),
            x2: f1(x2),
            y2: f1(y2),
        });
    }
}

const SEVERITY_LEGEND: [(&str, &str); 5] = [
    ("critical", "Critical"),
    ("high", "High"),
    ("medium", "Medium"),
    ("low", "Low"),
    ("informational", "Informational"),
];

const CHART_WIDTH: f64 = 960.0;

/// The largest of `values`, at least 1: what a full-length bar stands for.
fn scale(values: impl Iterator<Item = usize>) -> f64 {
    values.max().unwrap_or(0).max(1) as f64
}

/// Per account: the compliant share of scanned nodes, the rest split by worst severity.
fn account_chart(r: &Report) -> Chart {
    let (label_w, bar_x, bar_w, row_h, bar_h, top) = (150.0, 160.0, 560.0, 30.0, 20.0, 8.0);
    let rows = r.accounts.len().max(1) as f64;
    let axis_y = top + rows * row_h + 4.0;
    let mut c = Chart {
        id: "chart-accounts",
        title: "Compliance by account".into(),
        desc: String::new(),
        caption: "Share of each account's scanned nodes that are compliant (green); the rest by the worst severity of their open patch findings. The table below has the same figures.".into(),
        width: CHART_WIDTH as u32,
        height: (axis_y + 24.0) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: vec![("compliant", "Compliant")],
    };
    c.legend.extend(SEVERITY_LEGEND);
    let mut desc = vec![
        "Bar chart: per account, the percentage of scanned nodes that are compliant.".to_string(),
    ];
    for (i, a) in r.accounts.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let k = &a.compliance;
        c.text(label_w, y + bar_h * 0.75, "end", "label", a.account.clone());
        if k.scanned == 0 {
            c.rect(
                bar_x,
                y,
                bar_w,
                bar_h,
                "none",
                format!("{}: no scanned nodes", a.account),
            );
            c.text(
                bar_x + bar_w + 10.0,
                y + bar_h * 0.75,
                "start",
                "value",
                "no scanned nodes".into(),
            );
            desc.push(format!("{}: no scanned nodes.", a.account));
            continue;
        }
        let unit = bar_w / k.scanned as f64;
        let mut x = bar_x;
        let w = k.compliant as f64 * unit;
        c.rect(
            x,
            y,
            w,
            bar_h,
            "compliant",
            format!(
                "{}: {} of {} scanned nodes compliant",
                a.account,
                num(k.compliant),
                num(k.scanned)
            ),
        );
        x += w;
        for s in SEVERITIES {
            let n = k.non_compliant_by_severity.get(s);
            let w = n as f64 * unit;
            c.rect(
                x,
                y,
                w,
                bar_h,
                sev_class(s),
                format!(
                    "{}: {} non-compliant nodes, worst severity {}",
                    a.account,
                    num(n),
                    severity_name(s)
                ),
            );
            x += w;
        }
        c.text(
            bar_x + bar_w + 10.0,
            y + bar_h * 0.75,
            "start",
            "value",
            format!("{} compliant of {}", pct(k.compliance_rate), num(k.scanned)),
        );
        desc.push(format!(
            "{}: {} compliant ({} of {} scanned nodes).",
            a.account,
            pct(k.compliance_rate),
            num(k.compliant),
            num(k.scanned)
        ));
    }
    if r.accounts.is_empty() {
        c.text(
            bar_x,
            top + bar_h * 0.75,
            "start",
            "value",
            "No nodes".into(),
        );
        desc.push("No nodes.".into());
    }
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = bar_x + p * bar_w;
        c.line(x, top - 4.0, x, axis_y);
        c.text(
            x,
            axis_y + 16.0,
            "middle",
            "axis",
            format!("{}%", (p * 100.0) as u32),
        );
    }
    c.desc = desc.join(" ");
    c
}

/// Open patch findings per severity, with their nodes.
fn severity_chart(r: &Report) -> Chart {
    let (label_w, bar_x, bar_w, row_h, bar_h, top) = (120.0, 130.0, 560.0, 30.0, 20.0, 8.0);
    let max = scale(r.severities.iter().map(|s| s.open_findings));
    let mut c = Chart {
        id: "chart-severity",
        title: "Open patch findings by severity".into(),
        desc: String::new(),
        caption: "Open patch findings per severity, with the number of nodes they are on. The table below has the same figures.".into(),
        width: CHART_WIDTH as u32,
        height: (top * 2.0 + r.severities.len() as f64 * row_h) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: Vec::new(),
    };
    let mut desc = vec!["Bar chart of open patch findings per severity.".to_string()];
    for (i, s) in r.severities.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let name = severity_name(s.severity);
        c.text(label_w, y + bar_h * 0.75, "end", "label", name.into());
        c.rect(
            bar_x,
            y,
            s.open_findings as f64 / max * bar_w,
            bar_h,
            sev_class(s.severity),
            format!("{name}: {} open findings", num(s.open_findings)),
        );
        let value = format!(
            "{} findings on {} nodes",
            num(s.open_findings),
            num(s.nodes)
        );
        c.text(
            bar_x + s.open_findings as f64 / max * bar_w + 8.0,
            y + bar_h * 0.75,
            "start",
            "value",
            value.clone(),
        );
        desc.push(format!("{name}: {value}."));
    }
    c.desc = desc.join(" ");
    c
}

/// Open patch findings per age bucket, stacked by severity (worst at the bottom).
fn age_chart(r: &Report) -> Chart {
    let (left, plot_w, top, plot_h) = (60.0, 860.0, 28.0, 220.0);
    let base = top + plot_h;
    let max = scale(r.age_buckets.iter().map(|b| b.findings));
    let slot = plot_w / r.age_buckets.len().max(1) as f64;
    let bar_w = (slot * 0.6).min(120.0);
    let mut c = Chart {
        id: "chart-ages",
        title: "Age of open patch findings".into(),
        desc: String::new(),
        caption: "Open patch findings by days since first observed, stacked by severity. The table below has the same figures.".into(),
        width: CHART_WIDTH as u32,
        height: (base + 30.0) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: SEVERITY_LEGEND.to_vec(),
    };
    c.line(left, base, left + plot_w, base);
    c.line(left, top, left + plot_w, top);
    c.text(left - 8.0, base + 4.0, "end", "axis", "0".into());
    c.text(left - 8.0, top + 4.0, "end", "axis", num(max as usize));
    let mut desc = vec!["Column chart of open patch findings by age.".to_string()];
    for (i, b) in r.age_buckets.iter().enumerate() {
        let x = left + i as f64 * slot + (slot - bar_w) / 2.0;
        let mut y = base;
        for s in SEVERITIES {
            let n = b.by_severity.get(s);
            let h = n as f64 / max * plot_h;
            y -= h;
            c.rect(
                x,
                y,
                bar_w,
                h,
                sev_class(s),
                format!("{}: {} {} findings", b.label, num(n), severity_name(s)),
            );
        }
        c.text(x + bar_w / 2.0, y - 6.0, "middle", "value", num(b.findings));
        c.text(
            x + bar_w / 2.0,
            base + 18.0,
            "middle",
            "label",
            b.label.clone(),
        );
        desc.push(format!("{}: {} findings.", b.label, num(b.findings)));
    }
    c.desc = desc.join(" ");
    c
}

/// Per severity, open patch findings with a due date: breached, due within 7 days, on track.
fn deadline_chart(r: &Report) -> Chart {
    let (label_w, bar_x, bar_w, row_h, bar_h, top) = (120.0, 130.0, 560.0, 30.0, 20.0, 8.0);
    // (severity, with a due date, breached, due soon), worst first.
    let rows: Vec<(SeverityLabel, usize, usize, usize)> = SEVERITIES
        .into_iter()
        .map(|s| {
            let of = r.deadlines.by_scope.iter().filter(|x| x.severity == s);
            of.fold((s, 0, 0, 0), |(s, n, b, d), x| {
                (
                    s,
                    n + x.counts.with_deadline,
                    b + x.counts.breached,
                    d + x.counts.due_soon,
                )
            })
        })
        .collect();
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let mut c = Chart {
        id: "chart-deadlines",
        title: "Deadlines by severity".into(),
        desc: String::new(),
        caption: "Open patch findings with a due date, per severity: past the deadline (dark red), due within 7 days (amber), on track (green). The tables below have the same figures by account and Region.".into(),
        width: CHART_WIDTH as u32,
        height: (top * 2.0 + rows.len() as f64 * row_h) as u32,
        rects: Vec::new(),
        texts: Vec::new(),
        lines: Vec::new(),
        legend: vec![
            ("critical", "Breached"),
            ("medium", "Due within 7 days"),
            ("compliant", "On track"),
        ],
    };
    let mut desc = vec!["Stacked bar chart of patch deadlines per severity.".to_string()];
    for (i, (sev, total, breached, soon)) in rows.into_iter().enumerate() {
        let y = top + i as f64 * row_h;
        let name = severity_name(sev);
        c.text(label_w, y + bar_h * 0.75, "end", "label", name.into());
        let mut x = bar_x;
        for (n, class, what) in [
            (breached, "critical", "breached"),
            (soon, "medium", "due within 7 days"),
            (total - breached - soon, "compliant", "on track"),
        ] {
            let w = n as f64 / max * bar_w;
            c.rect(x, y, w, bar_h, class, format!("{name}: {} {what}", num(n)));
            x += w;
        }
        let value = if total == 0 {
            "no due dates".to_string()
        } else {
            format!(
                "{} breached, {} due soon, of {}",
                num(breached),
                num(soon),
                num(total)
            )
        };
        c.text(x + 8.0, y + bar_h * 0.75, "start", "value", value.clone());
        desc.push(format!("{name}: {value}."));
    }
    c.desc = desc.join(" ");
    c
}
