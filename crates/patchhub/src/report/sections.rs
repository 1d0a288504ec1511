//! The report's sections as tables of the shared model: every table is declared here once, and
//! the terminal, CSV and HTML formats render it.

use patchhub_core::report::{Compliance, Report, SEVERITIES, SeverityCounts};

use super::format::Section as Csv;
use super::model::{Cell, Column, Rows, Section, Table, num, pct};

/// Under the terminal's account table.
const LEGEND: &str =
    "crit/high/med/low: non-compliant nodes by the worst severity of their open findings";

/// Under the HTML account heading.
const SPLIT_NOTE: &str = "Rate: compliant / scanned nodes. Critical … Info: non-compliant nodes by the worst severity of their open patch findings.";

/// CSV names of a severity split, worst first (as [`SEVERITIES`]).
const NON_COMPLIANT: [&str; 5] = [
    "non_compliant_critical",
    "non_compliant_high",
    "non_compliant_medium",
    "non_compliant_low",
    "non_compliant_informational",
];
const FINDINGS: [&str; 5] = [
    "findings_critical",
    "findings_high",
    "findings_medium",
    "findings_low",
    "findings_informational",
];
const BARE: [&str; 5] = ["critical", "high", "medium", "low", "informational"];
/// Terminal and HTML headers of a severity split.
const TERM: [&str; 5] = ["crit", "high", "med", "low", "info"];
const HTML: [&str; 5] = ["Critical", "High", "Medium", "Low", "Info"];

/// A column of counts in every format.
fn count(csv: &'static str, term: &'static str, html: &'static str) -> Column {
    Column::all(csv, term, html).numeric()
}

/// One column per severity of `counts(item)`, with these headers.
fn by_severity<'a, T>(
    mut rows: Rows<'a, T>,
    headers: impl Fn(usize) -> Column,
    counts: impl Fn(&T) -> &SeverityCounts + Copy,
) -> Rows<'a, T> {
    for (i, s) in SEVERITIES.into_iter().enumerate() {
        rows = rows.col(headers(i), move |x| Cell::Count(counts(x).get(s)));
    }
    rows
}

/// The compliance figures of a row. With `split`, the terminal and HTML show non-compliant
/// nodes by severity too (the terminal folds low and informational into one column); CSV always
/// has every figure.
fn compliance<'a, T>(
    rows: Rows<'a, T>,
    split: bool,
    get: impl Fn(&T) -> &Compliance + Copy,
) -> Rows<'a, T> {
    let rows = rows
        .col(count("nodes", "nodes", "Nodes"), move |x| {
            Cell::Count(get(x).nodes)
        })
        .col(count("scanned", "scanned", "Scanned"), move |x| {
            Cell::Count(get(x).scanned)
        })
        .col(count("compliant", "compliant", "Compliant"), move |x| {
            Cell::Count(get(x).compliant)
        })
        .col(
            Column::csv("non_compliant").html("Non-compliant").numeric(),
            move |x| Cell::Count(get(x).non_compliant),
        )
        .col(count("compliance_rate", "rate", "Rate"), move |x| {
            Cell::Percent(get(x).compliance_rate)
        });
    let mut rows = by_severity(
        rows,
        |i| {
            let c = Column::csv(NON_COMPLIANT[i]).numeric();
            match (split, i) {
                (false, _) => c,
                // The terminal's `low` holds low and informational (below).
                (true, 3 | 4) => c.html(HTML[i]),
                (true, _) => c.term(TERM[i]).html(HTML[i]),
            }
        },
        move |x| &get(x).non_compliant_by_severity,
    );
    if split {
        rows = rows.col(Column::default().term("low").numeric(), move |x| {
            let v = &get(x).non_compliant_by_severity;
            Cell::Count(v.low + v.informational)
        });
    }
    let rows = rows.col(
        count("open_findings", "findings", "Open findings"),
        move |x| Cell::Count(get(x).open_findings),
    );
    by_severity(
        rows,
        |i| Column::csv(FINDINGS[i]).numeric(),
        move |x| &get(x).findings_by_severity,
    )
    .col(count("stale", "stale", "Stale"), move |x| {
        Cell::Count(get(x).stale)
    })
}

/// Node, name and account as the terminal (without the name) and HTML show them, after the
/// CSV's own columns.
fn node_columns<'a, T>(
    rows: Rows<'a, T>,
    get: impl Fn(&T) -> (&str, Option<&str>, &str) + Copy,
) -> Rows<'a, T> {
    rows.col(
        Column::default().term("node").html("Node").term_width(20),
        move |x| Cell::Id(get(x).0.to_string()),
    )
    .col(Column::default().html("Name"), move |x| {
        Cell::Text(get(x).1.unwrap_or("").to_string())
    })
    .col(
        Column::default().term("account").html("Account"),
        move |x| Cell::Id(get(x).2.to_string()),
    )
}

/// Account, Region, node id and name: the first CSV columns of the node lists.
fn csv_node<'a, T>(
    rows: Rows<'a, T>,
    get: impl Fn(&T) -> (&str, &str, &str, Option<&str>) + Copy,
) -> Rows<'a, T> {
    rows.col(Column::csv("account"), move |x| Cell::Id(get(x).0.into()))
        .col(Column::csv("region"), move |x| Cell::Id(get(x).1.into()))
        .col(Column::csv("node_id"), move |x| Cell::Id(get(x).2.into()))
        .col(Column::csv("node_name"), move |x| {
            Cell::text_or_missing(get(x).3)
        })
}

fn nvd(cve: &str) -> String {
    format!("https://nvd.nist.gov/vuln/detail/{cve}")
}

/// Every section, in the order every format shows them.
pub(crate) fn sections(r: &Report) -> Vec<Section> {
    let section = |id, title: &str, intro: String, tables| Section {
        id,
        title: title.to_string(),
        intro,
        tables,
    };
    vec![
        section(
            "accounts",
            "Compliance by account",
            SPLIT_NOTE.into(),
            vec![accounts(r)],
        ),
        section("regions", "Compliance by Region", String::new(), vec![regions(r)]),
        section(
            "severity",
            "Open findings by severity",
            String::new(),
            vec![severities(r)],
        ),
        section(
            "patches",
            "Top missing patches",
            format!(
                "The {} patches missing (or failed) on the most nodes, of {} missing somewhere.",
                r.top_patches.len(),
                num(r.totals.missing_patches)
            ),
            vec![patches(r)],
        ),
        section(
            "cves",
            "Open CVEs",
            format!(
                "The {} most severe and widespread of {} CVEs listed by open patch findings. Each links to its NVD entry.",
                r.cves.len(),
                num(r.totals.open_cves)
            ),
            vec![cves(r)],
        ),
        section(
            "ages",
            "Age of open findings",
            "Days since each open patch finding was first observed.".into(),
            vec![ages(r), oldest(r)],
        ),
        section(
            "stale",
            "Stale and connection-lost nodes",
            "Nodes whose patch data cannot be trusted: never scanned, last scan too old, or SSM Agent not connected. Longest silent first.".into(),
            vec![stale(r)],
        ),
        section(
            "reboots",
            "Pending reboots",
            "Nodes with installed patches that take effect only after a reboot.".into(),
            vec![reboots(r)],
        ),
        section("platforms", "Nodes by platform", String::new(), vec![platforms(r)]),
        section(
            "deadlines",
            "Deadlines",
            deadline_intro(r),
            vec![deadline_scopes(r), overdue(r), kev(r)],
        ),
    ]
}

/// Compliance per account, with the terminal's legend.
fn accounts(r: &Report) -> Table {
    let accounts = Table::new(
        Csv::Accounts,
        "table-accounts",
        "Compliance by account",
        "Compliance by account",
        "No accounts.",
    )
    .rows(&r.accounts)
    .col(Column::all("account", "account", "Account"), |a| {
        Cell::Text(a.account.clone())
    })
    .col(Column::csv("regions").html("Regions").numeric(), |a| {
        Cell::Count(a.region_count)
    });
    compliance(accounts, true, |a| &a.compliance)
        .done()
        .with_term_note(LEGEND)
}

/// Compliance per Region.
fn regions(r: &Report) -> Table {
    let regions = Table::new(
        Csv::Regions,
        "table-regions",
        "Compliance by Region",
        "Compliance by Region",
        "No Regions.",
    )
    .rows(&r.regions)
    .col(Column::all("region", "region", "Region"), |x| {
        Cell::Text(x.region.clone())
    })
    .col(Column::csv("accounts").html("Accounts").numeric(), |x| {
        Cell::Count(x.account_count)
    });
    compliance(regions, true, |x| &x.compliance).done()
}

/// Open patch findings per severity.
fn severities(r: &Report) -> Table {
    Table::new(
        Csv::Severities,
        "table-severity",
        "Open patch findings by severity",
        "Open patch findings by severity",
        "No findings.",
    )
    .rows(&r.severities)
    .col(
        Column::all("severity", "severity", "Severity").term_full_severity(),
        |x| Cell::Severity(x.severity),
    )
    .col(
        count("open_findings", "open findings", "Open findings"),
        |x| Cell::Count(x.open_findings),
    )
    .col(count("nodes", "nodes", "Nodes"), |x| Cell::Count(x.nodes))
    .col(count("patches", "patches", "Patches"), |x| {
        Cell::Count(x.patches)
    })
    .col(count("cves", "CVEs", "CVEs"), |x| Cell::Count(x.cves))
    .done()
}

/// The top missing patches.
fn patches(r: &Report) -> Table {
    Table::new(
        Csv::Patches,
        "table-patches",
        format!("Top missing patches (of {})", num(r.totals.missing_patches)),
        "Top missing patches by affected nodes",
        "No missing patches.",
    )
    .rows(&r.top_patches)
    .rank(count("rank", "#", "#"))
    .col(
        Column::all("patch_id", "patch", "Patch").term_width(24),
        |p| Cell::Text(p.patch_id.clone()),
    )
    .col(Column::csv("title").html("Title").html_width(120), |p| {
        Cell::Text(p.title.clone())
    })
    .col(Column::csv("classification").html("Classification"), |p| {
        Cell::Text(p.classification.clone())
    })
    .col(Column::all("severity", "severity", "Severity"), |p| {
        Cell::Severity(p.severity)
    })
    .col(count("nodes", "nodes", "Nodes"), |p| Cell::Count(p.nodes))
    .col(Column::csv("accounts").html("Accounts").numeric(), |p| {
        Cell::Count(p.accounts)
    })
    .col(Column::csv("missing").html("Missing").numeric(), |p| {
        Cell::Count(p.missing)
    })
    .col(count("failed", "failed", "Failed"), |p| {
        Cell::Count(p.failed)
    })
    // The terminal's classification comes after the counts.
    .col(
        Column::default().term("classification").term_width(18),
        |p| Cell::Text(p.classification.clone()),
    )
    .col(Column::csv("cve_count").numeric(), |p| {
        Cell::Count(p.cves.len())
    })
    .col(
        Column::all("cves", "CVEs", "CVEs")
            .term_items(1)
            .html_items(4),
        |p| Cell::List(p.cves.clone()),
    )
    .done()
}

/// The top open CVEs.
fn cves(r: &Report) -> Table {
    Table::new(
        Csv::Cves,
        "table-cves",
        format!("Open CVEs (of {})", num(r.totals.open_cves)),
        "Open CVEs by severity and affected nodes",
        "No open CVEs.",
    )
    .rows(&r.cves)
    .col(Column::all("cve", "CVE", "CVE"), |x| Cell::Link {
        text: x.cve.clone(),
        href: nvd(&x.cve),
    })
    .col(Column::all("severity", "severity", "Severity"), |x| {
        Cell::Severity(x.severity)
    })
    .col(count("nodes", "nodes", "Nodes"), |x| Cell::Count(x.nodes))
    .col(count("accounts", "accounts", "Accounts"), |x| {
        Cell::Count(x.accounts)
    })
    .col(Column::csv("patches").html("Fixed by").html_items(3), |x| {
        Cell::List(x.patches.clone())
    })
    .col(Column::csv("first_observed_at").html("First seen"), |x| {
        Cell::Time(x.first_observed_at)
    })
    .col(
        Column::all("age_days", "days open", "Days open").numeric(),
        |x| Cell::Days(x.age_days),
    )
    // The terminal's "fixed by" comes last.
    .col(
        Column::default()
            .term("fixed by")
            .term_items(1)
            .term_width(24),
        |x| Cell::List(x.patches.clone()),
    )
    .done()
}

/// Open patch findings by age.
fn ages(r: &Report) -> Table {
    let ages = Table::new(
        Csv::Ages,
        "table-ages",
        "Age of open patch findings",
        "Open patch findings by age",
        "No open findings.",
    )
    .rows(&r.age_buckets)
    .col(Column::all("age", "age", "Age"), |b| Cell::Label {
        text: b.label.clone(),
        order: b.from_days,
    })
    .col(Column::csv("from_days"), |b| Cell::Days(b.from_days))
    .col(Column::csv("to_days"), |b| {
        b.to_days.map_or(Cell::Missing(None), Cell::Days)
    })
    .col(count("findings", "findings", "Findings"), |b| {
        Cell::Count(b.findings)
    });
    by_severity(
        ages,
        |i| count(BARE[i], TERM[i], HTML[i]),
        |b| &b.by_severity,
    )
    .done()
}

/// The oldest open findings: CSV's documented columns, then the terminal's and HTML's.
fn oldest(r: &Report) -> Table {
    let oldest = Table::new(
        Csv::Oldest,
        "table-oldest",
        "Oldest open findings",
        "Oldest open findings",
        "No open findings.",
    )
    .rows(&r.oldest_findings);
    let oldest = csv_node(oldest, |f| {
        (&f.account, &f.region, &f.node_id, f.node_name.as_deref())
    })
    .col(Column::csv("patch_id"), |f| Cell::Text(f.patch_id.clone()))
    .col(Column::csv("state"), |f| Cell::PatchState(f.state.clone()))
    .col(Column::csv("severity"), |f| Cell::Severity(f.severity))
    .col(Column::csv("first_observed_at"), |f| {
        Cell::Time(f.first_observed_at)
    })
    .col(Column::csv("age_days"), |f| Cell::Days(f.age_days))
    .col(Column::csv("title"), |f| Cell::Text(f.title.clone()))
    .col(Column::csv("finding_id"), |f| {
        Cell::Text(f.finding_id.clone())
    })
    .col(
        Column::default().term("days").html("Days open").numeric(),
        |f| Cell::Days(f.age_days),
    )
    .col(Column::default().html("First seen"), |f| {
        Cell::Time(f.first_observed_at)
    })
    .col(Column::default().term("severity").html("Severity"), |f| {
        Cell::Severity(f.severity)
    })
    .col(
        Column::default().term("patch").html("Patch").term_width(22),
        |f| Cell::Text(f.patch_id.clone()),
    )
    .col(Column::default().term("state").html("State"), |f| {
        Cell::PatchState(f.state.clone())
    });
    node_columns(oldest, |f| (&f.node_id, f.node_name.as_deref(), &f.account))
        .col(Column::default().html("Region"), |f| {
            Cell::Id(f.region.clone())
        })
        .done()
}

/// Stale and connection-lost nodes (the terminal shows the first `top`).
fn stale(r: &Report) -> Table {
    let stale = Table::new(
        Csv::Stale,
        "table-stale",
        format!(
            "Stale and connection-lost nodes ({})",
            num(r.stale_nodes.len())
        ),
        "Stale and connection-lost nodes",
        "No stale nodes.",
    )
    .rows(&r.stale_nodes);
    let stale = csv_node(stale, |x| {
        (&x.account, &x.region, &x.node_id, x.node_name.as_deref())
    });
    let stale = node_columns(stale, |x| (&x.node_id, x.node_name.as_deref(), &x.account));
    stale
        .col(Column::default().term("region").html("Region"), |x| {
            Cell::Id(x.region.clone())
        })
        .col(Column::csv("platform").html("Platform"), |x| {
            Cell::Text(x.platform.clone())
        })
        .col(Column::csv("ping_status").html("Agent"), |x| {
            Cell::text_or_missing(x.ping_status.as_deref())
        })
        .col(Column::csv("reasons"), |x| {
            Cell::StaleReasons(x.reasons.clone())
        })
        .col(
            Column::csv("last_scan").term("last scan").html("Last scan"),
            |x| x.last_scan.map_or(Cell::Missing(Some("never")), Cell::Time),
        )
        .col(
            Column::csv("days_since_scan")
                .term("days")
                .html("Days since scan")
                .numeric(),
            |x| Cell::DaysSince(x.days_since_scan),
        )
        .col(Column::default().term("why").html("Reasons"), |x| {
            Cell::StaleReasons(x.reasons.clone())
        })
        .done()
        .with_term_rows(r.top.max(1))
}

/// Nodes pending a reboot (the terminal shows the first `top`).
fn reboots(r: &Report) -> Table {
    let reboots = Table::new(
        Csv::Reboots,
        "table-reboots",
        format!("Pending reboots ({})", num(r.pending_reboots.len())),
        "Nodes pending a reboot",
        "No nodes pending a reboot.",
    )
    .rows(&r.pending_reboots);
    let reboots = csv_node(reboots, |x| {
        (&x.account, &x.region, &x.node_id, x.node_name.as_deref())
    });
    let reboots = node_columns(reboots, |x| {
        (&x.node_id, x.node_name.as_deref(), &x.account)
    });
    reboots
        .col(Column::default().term("region").html("Region"), |x| {
            Cell::Id(x.region.clone())
        })
        .col(Column::csv("platform").html("Platform"), |x| {
            Cell::Text(x.platform.clone())
        })
        .col(count("patches", "patches", "Patches"), |x| {
            Cell::Count(x.patches)
        })
        .col(Column::csv("reboot_option"), |x| {
            Cell::text_or_missing(x.reboot_option.as_deref())
        })
        .col(
            Column::csv("since").term("since").html("Waiting since"),
            |x| x.since.map_or(Cell::Missing(None), Cell::Time),
        )
        .col(Column::csv("age_days").html("Days").numeric(), |x| {
            x.age_days.map_or(Cell::Missing(None), Cell::Days)
        })
        .col(
            Column::default()
                .term("reboot option")
                .html("Reboot option"),
            |x| Cell::text_or_missing(x.reboot_option.as_deref()),
        )
        .done()
        .with_term_rows(r.top.max(1))
}

/// Compliance per platform.
fn platforms(r: &Report) -> Table {
    let platforms = Table::new(
        Csv::Platforms,
        "table-platforms",
        "Nodes by platform",
        "Nodes by platform",
        "No nodes.",
    )
    .rows(&r.platforms)
    .col(
        Column::all("platform", "platform", "Platform").term_width(40),
        |p| Cell::Text(p.platform.clone()),
    )
    .col(Column::csv("platform_type").html("Type"), |p| {
        Cell::Text(p.platform_type.clone())
    });
    compliance(platforms, false, |p| &p.compliance).done()
}

/// What an auditor writes down: the share of nodes with no breached deadline.
fn deadline_intro(r: &Report) -> String {
    let d = &r.deadlines;
    if d.counts.with_deadline == 0 {
        return "No open patch finding has a due date: sync with --sla (per-severity deadlines) or --kev (CISA's Known Exploited Vulnerabilities catalog) to track them.".into();
    }
    format!(
        "{} of {} scanned nodes ({}) have no patch past its deadline. Open patch findings with a due date: {}; past it: {}; due within 7 days: {}. Deadlines count from when patchhub first saw the patch missing on the node; a CVE in CISA's KEV catalog is due by the catalog's date when that is earlier.",
        num(d.nodes_without_breach),
        num(d.nodes),
        pct(d.nodes_without_breach_rate),
        num(d.counts.with_deadline),
        num(d.counts.breached),
        num(d.counts.due_soon)
    )
}

/// Deadlines per account, Region and severity.
fn deadline_scopes(r: &Report) -> Table {
    Table::new(
        Csv::Deadlines,
        "table-deadlines",
        "Deadlines by account, Region and severity",
        "Deadlines by account, Region and severity",
        "No open patch finding has a due date.",
    )
    .rows(&r.deadlines.by_scope)
    .col(Column::all("account", "account", "Account"), |x| {
        Cell::Id(x.account.clone())
    })
    .col(Column::all("region", "region", "Region"), |x| {
        Cell::Id(x.region.clone())
    })
    .col(Column::all("severity", "severity", "Severity"), |x| {
        Cell::Severity(x.severity)
    })
    .col(count("with_deadline", "due", "With a due date"), |x| {
        Cell::Count(x.counts.with_deadline)
    })
    .col(count("breached", "breached", "Breached"), |x| {
        Cell::Count(x.counts.breached)
    })
    .col(count("due_soon", "due soon", "Due within 7 days"), |x| {
        Cell::Count(x.counts.due_soon)
    })
    .done()
}

/// Breached and due-soon findings, the most overdue first.
fn overdue(r: &Report) -> Table {
    let rows = Table::new(
        Csv::Overdue,
        "table-overdue",
        "Breached and due soon",
        "Breached and due-soon findings, most overdue first",
        "No finding is past or near its deadline.",
    )
    .rows(&r.deadlines.findings);
    let rows = csv_node(rows, |d| {
        let f = &d.finding;
        (&f.account, &f.region, &f.node_id, f.node_name.as_deref())
    })
    .col(
        Column::all("patch_id", "patch", "Patch").term_width(22),
        |d| Cell::Text(d.finding.patch_id.clone()),
    )
    .col(Column::all("severity", "severity", "Severity"), |d| {
        Cell::Severity(d.finding.severity)
    })
    .col(Column::csv("first_observed_at").html("First seen"), |d| {
        Cell::Time(d.finding.first_observed_at)
    })
    .col(Column::all("due_at", "due", "Due"), |d| {
        Cell::Time(d.due_at)
    })
    .col(
        Column::all("days_overdue", "overdue", "Days overdue").numeric(),
        |d| Cell::Days(d.days_overdue),
    )
    .col(
        Column::all("known_exploited", "KEV", "Known exploited"),
        |d| Cell::Text(if d.known_exploited { "yes" } else { "" }.into()),
    )
    .col(Column::csv("finding_id"), |d| {
        Cell::Text(d.finding.finding_id.clone())
    });
    node_columns(rows, |d| {
        let f = &d.finding;
        (&f.node_id, f.node_name.as_deref(), &f.account)
    })
    .done()
}

/// CVEs in CISA's KEV catalog that open findings still miss.
fn kev(r: &Report) -> Table {
    Table::new(
        Csv::Kev,
        "table-kev",
        "Known exploited CVEs still missing",
        "Known exploited CVEs (CISA KEV) still missing, earliest due first",
        "No CVE from CISA's KEV catalog is missing (or no catalog was given).",
    )
    .rows(&r.deadlines.known_exploited)
    .col(Column::all("cve", "CVE", "CVE"), |x| Cell::Link {
        text: x.cve.clone(),
        href: nvd(&x.cve),
    })
    .col(Column::all("due_at", "due", "Due"), |x| {
        Cell::Time(x.due_at)
    })
    .col(Column::all("breached", "breached", "Breached"), |x| {
        Cell::Text(if x.breached { "yes" } else { "no" }.into())
    })
    .col(count("nodes", "nodes", "Nodes"), |x| Cell::Count(x.nodes))
    .col(
        Column::all("patches", "fixed by", "Fixed by")
            .term_items(1)
            .term_width(24)
            .html_items(3),
        |x| Cell::List(x.patches.clone()),
    )
    .done()
}
