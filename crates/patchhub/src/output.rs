//! Printing what the commands did: the sync's summary (a table, JSON, or JSONL's summary on
//! stderr) with its progress bar (only on a terminal), the steps of `hub` and `cleanup`, and the
//! exit status each report deserves.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::Arc;

use clap::ValueEnum;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use patchhub_aws::doctor::{Check, DoctorReport, Item, Status};
use patchhub_aws::fanout::RunReport;
use patchhub_aws::hub::{HubReport, Outcome, StatusReport};
use patchhub_aws::sync::TargetSummary;

use crate::error::Failure;

/// `sync`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A table per account and Region.
    Table,
    /// One JSON document with every summary.
    Json,
    /// The ASFF findings imported (or, with --dry-run, that would be), one per line.
    Jsonl,
    /// With --dry-run only: the same findings as OCSF 1.1.0 events, one per line.
    Ocsf,
}

/// `hub`, `cleanup` and `doctor` output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HubOutput {
    /// A table per account and Region (only what changed, was skipped or failed).
    Table,
    /// One JSON document with every step.
    Json,
}

impl HubOutput {
    /// The format asked for, else a table on a terminal and JSON otherwise.
    pub fn chosen(asked: Option<HubOutput>) -> HubOutput {
        asked.unwrap_or(if std::io::stdout().is_terminal() {
            HubOutput::Table
        } else {
            HubOutput::Json
        })
    }
}

/// A spinner counting finished targets, on stderr, only when stderr is a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A progress display (none when quiet or not a TTY).
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {pos} account-Region targets done {msg}")
                    .expect("static template"),
            );
            b.enable_steady_tick(std::time::Duration::from_millis(120));
            b
        });
        Progress { bar }
    }

    /// Called by the fan-out when a target finishes.
    pub fn callback(&self) -> Arc<dyn Fn(&TargetSummary) + Send + Sync> {
        let bar = self.bar.clone();
        Arc::new(move |s: &TargetSummary| {
            if let Some(b) = &bar {
                b.inc(1);
                b.set_message(format!("(last: {} {})", s.account, s.region));
            }
        })
    }

    /// Clears the display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn calls(s: &TargetSummary) -> u64 {
    s.api_calls.values().sum()
}

/// The summary table: one row per account and Region, and a total.
pub fn table(report: &RunReport, dry_run: bool) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    let verb = if dry_run { "would " } else { "" };
    t.set_header(vec![
        "account".to_string(),
        "region".into(),
        "nodes".into(),
        "non-compl.".into(),
        format!("{verb}create"),
        format!("{verb}update"),
        "unchanged".into(),
        format!("{verb}refresh"),
        format!("{verb}resolve"),
        "failed".into(),
        "API calls".into(),
        "ingested".into(),
    ]);
    // Skipped targets (no nodes, no hub) would bury the real rows under `all-enabled`; they are
    // counted in a note instead.
    let mut rows: Vec<&TargetSummary> = report
        .targets
        .iter()
        .filter(|t| t.skipped.is_none())
        .collect();
    let total = report.total();
    if rows.len() > 1 {
        rows.push(&total);
    }
    for s in rows {
        t.add_row(vec![
            s.account.clone(),
            s.region.clone(),
            s.nodes_read.to_string(),
            s.non_compliant.to_string(),
            s.created.to_string(),
            s.updated.to_string(),
            s.unchanged.to_string(),
            s.refreshed.to_string(),
            (s.resolved + s.reopened).to_string(),
            s.failed.to_string(),
            calls(s).to_string(),
            if dry_run {
                "0".into()
            } else {
                s.ingestion_events().to_string()
            },
        ]);
    }
    t.to_string()
}

/// Prints the report in the chosen format (JSONL and OCSF were streamed already; their summary
/// goes to stderr).
pub fn print_report(report: &RunReport, format: Output, dry_run: bool) {
    match format {
        Output::Table => println!("{}", table(report, dry_run)),
        Output::Json => {
            let v = serde_json::json!({
                "dry_run": dry_run,
                "ok": report.is_ok(),
                "total": report.total(),
                "targets": report.targets,
                "account_errors": report.account_errors,
                "skipped_accounts": report.skipped_accounts,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Output::Jsonl | Output::Ocsf => eprintln!("{}", table(report, dry_run)),
    }
    let total = report.total();
    if total.tags_rewritten + total.tags_dropped > 0 {
        eprintln!(
            "patchhub: {} node tag(s) held characters Security Hub refuses and were rewritten, {} were left out (empty, too long or nothing acceptable); no finding was lost to them",
            total.tags_rewritten, total.tags_dropped
        );
    }
    let skipped: Vec<String> = report
        .targets
        .iter()
        .filter(|t| t.skipped.is_some())
        .map(|t| format!("{}/{}", t.account, t.region))
        .collect();
    if !skipped.is_empty() {
        let more = skipped.len().saturating_sub(10);
        eprintln!(
            "patchhub: skipped {} account-Region target(s) with no managed nodes and no Security Hub: {}{}",
            skipped.len(),
            skipped[..skipped.len() - more].join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    if !report.skipped_accounts.is_empty() {
        let named: Vec<String> = report
            .skipped_accounts
            .iter()
            .map(|s| format!("{} ({})", s.account, s.state))
            .collect();
        eprintln!(
            "patchhub: skipped {} account(s) of the organization that are not ACTIVE: {}",
            named.len(),
            named.join(", ")
        );
    }
    // Each error already names its account (and Region, API and fix): one line each.
    for e in &report.account_errors {
        eprintln!("patchhub: {}", e.error);
    }
    for s in &report.targets {
        if let Some(e) = &s.error {
            eprintln!("patchhub: {e}");
        }
        if !s.nodes_failed.is_empty() {
            let more = s.nodes_failed.len().saturating_sub(20);
            eprintln!(
                "patchhub: account {} in {}: {} node(s) left as they were (their data could not be read; the next run retries): {}{}",
                s.account,
                s.region,
                s.nodes_failed.len(),
                s.nodes_failed[..s.nodes_failed.len() - more].join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        for f in s.failures.iter().take(20) {
            eprintln!(
                "patchhub: account {} in {}: finding {} not imported: {} {}",
                s.account, s.region, f.id, f.code, f.message
            );
        }
        if s.failures.len() > 20 {
            eprintln!(
                "patchhub: account {} in {}: … and {} more failed findings (see --output json)",
                s.account,
                s.region,
                s.failures.len() - 20
            );
        }
    }
}

/// 0 when everything was written, else 1 with a count.
pub fn exit_status(report: &RunReport) -> Result<(), Failure> {
    if report.is_ok() {
        return Ok(());
    }
    let failed_targets = report.targets.iter().filter(|t| !t.is_ok()).count();
    Err(Failure::partial(format!(
        "incomplete: {} account(s) not entered, {} account-Region target(s) with failures, {} finding(s) not imported; run again to converge",
        report.account_errors.len(),
        failed_targets,
        report.total().failed
    )))
}

/// The steps that changed something, were skipped or failed (what is already in place is only
/// counted), and a summary line.
pub fn report_table(report: &HubReport) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["account", "region", "step", "result", "detail"]);
    let mut rows = 0;
    for a in report
        .actions
        .iter()
        .filter(|a| a.outcome != Outcome::Already)
    {
        t.add_row(vec![
            a.account.clone(),
            a.region.clone(),
            a.step.to_string(),
            a.outcome.to_string(),
            a.detail.clone(),
        ]);
        rows += 1;
    }
    let summary = summary(report);
    if rows == 0 {
        summary
    } else {
        format!("{t}\n{summary}")
    }
}

fn summary(report: &HubReport) -> String {
    let (done, already, skipped, failed) = (
        report.count(Outcome::Done),
        report.count(Outcome::Already),
        report.count(Outcome::Skipped),
        report.count(Outcome::Failed),
    );
    if done == 0 && failed == 0 {
        format!("nothing to change: {already} step(s) already in place, {skipped} skipped")
    } else {
        format!("{done} done, {already} already in place, {skipped} skipped, {failed} failed")
    }
}

pub fn print_hub_report(command: &str, report: &HubReport, format: HubOutput) {
    match format {
        HubOutput::Table => println!("{}", report_table(report)),
        HubOutput::Json => {
            let v = serde_json::json!({
                "command": command,
                "ok": report.is_ok(),
                "summary": {
                    "done": report.count(Outcome::Done),
                    "already": report.count(Outcome::Already),
                    "skipped": report.count(Outcome::Skipped),
                    "failed": report.count(Outcome::Failed),
                },
                "actions": report.actions,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    for a in report.with(Outcome::Skipped) {
        eprintln!(
            "patchhub: warning: account {} in {}: {} skipped: {}",
            a.account, a.region, a.step, a.detail
        );
    }
    for a in report.with(Outcome::Failed) {
        eprintln!(
            "patchhub: account {} in {}: {} failed: {} (to resume: {})",
            a.account,
            a.region,
            a.step,
            a.detail,
            a.resume.as_deref().unwrap_or("run the same command again")
        );
    }
}

pub fn hub_exit_status(command: &str, report: &HubReport) -> Result<(), Failure> {
    if report.is_ok() {
        return Ok(());
    }
    Err(Failure::partial(format!(
        "incomplete: {} step(s) failed, the rest is done; fix what is named above and run the same `patchhub {command}` again",
        report.count(Outcome::Failed)
    )))
}

/// One row per account and Region, then the administrator's view from the home Region.
pub fn status_table(report: &StatusReport) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "account",
        "region",
        "security hub",
        "relationship",
        "aggregation",
        "active findings",
    ]);
    for r in &report.rows {
        t.add_row(vec![
            r.account.clone(),
            r.region.clone(),
            r.hub.as_str().to_string(),
            r.relationship.to_string(),
            r.aggregation.clone(),
            r.active_findings
                .map_or_else(|| "-".to_string(), |n| n.to_string()),
        ]);
    }
    let mut out = format!("{t}\nadministrator: {}", report.administrator);
    match &report.aggregator {
        None => out.push_str("; no finding aggregator"),
        Some(a) => out.push_str(&format!(
            "; finding aggregator in {} ({}{})",
            a.home_region,
            a.mode,
            if a.regions.is_empty() {
                String::new()
            } else {
                format!(": {}", a.regions.join(", "))
            }
        )),
    }
    if let Some(v) = &report.aggregated {
        out.push_str(&format!(
            "\nfrom {} the administrator sees {} active patchhub findings of {} account(s) in {} Region(s)",
            v.region, v.active_findings, v.accounts, v.regions
        ));
    }
    out
}

/// `doctor`'s report as a table, one row per account and Region (an account that could not be
/// entered has one row), then one line per ✗ and ! with its fix.
pub fn doctor_table(report: &DoctorReport) -> String {
    let mut out = String::new();
    for c in report.checks.iter().filter(|c| c.account.is_empty()) {
        out.push_str(&format!(
            "{} {}: {}\n",
            c.status.mark(),
            c.item.label(),
            c.detail
        ));
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    let mut header = vec!["account", "region", "role"];
    header.extend(Item::PER_TARGET.iter().map(|i| match i {
        Item::Region => "enabled",
        other => other.label(),
    }));
    t.set_header(header);
    let accounts: BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|c| !c.account.is_empty())
        .map(|c| c.account.as_str())
        .collect();
    for account in accounts {
        let of = |region: &str, item: Item| {
            report
                .checks
                .iter()
                .find(|c| c.account == account && c.region == region && c.item == item)
        };
        let role = of("", Item::Role).map_or_else(|| "–".to_string(), doctor_cell);
        let regions: BTreeSet<&str> = report
            .checks
            .iter()
            .filter(|c| c.account == account && !c.region.is_empty())
            .map(|c| c.region.as_str())
            .collect();
        if regions.is_empty() {
            let why = of("", Item::Regions).map_or_else(|| "–".to_string(), doctor_cell);
            let mut row = vec![account.to_string(), "–".into(), role, why];
            row.extend(std::iter::repeat_n(
                "–".to_string(),
                Item::PER_TARGET.len() - 1,
            ));
            t.add_row(row);
            continue;
        }
        for region in regions {
            let mut row = vec![account.to_string(), region.to_string(), role.clone()];
            row.extend(
                Item::PER_TARGET
                    .iter()
                    .map(|i| of(region, *i).map_or_else(|| "–".to_string(), doctor_cell)),
            );
            t.add_row(row);
        }
    }
    if report.checks.iter().any(|c| !c.account.is_empty()) {
        out.push_str(&format!("{t}\n"));
    }
    for c in report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
    {
        let place = match (c.account.as_str(), c.region.as_str()) {
            ("", _) => String::new(),
            (a, "") => format!("account {a}: "),
            (a, r) => format!("account {a} in {r}: "),
        };
        out.push_str(&format!(
            "{} {place}{}: {} (fix: {})\n",
            c.status.mark(),
            c.item.label(),
            c.detail,
            c.fix.as_deref().unwrap_or("-")
        ));
    }
    let count = |s: Status| report.with(s).count();
    out.push_str(&format!(
        "{} ✓, {} !, {} ✗; BatchImportFindings cannot be checked without writing (Security Hub offers no dry run): the first sync shows it",
        count(Status::Ok),
        count(Status::Warn),
        count(Status::Fail)
    ));
    out
}

/// A table cell: the mark and a short detail (the whole detail is in JSON and the fix lines).
fn doctor_cell(c: &Check) -> String {
    const WIDTH: usize = 40;
    let detail = if c.item == Item::Permissions && c.status == Status::Ok {
        "reads allowed"
    } else {
        c.detail.as_str()
    };
    let short: String = detail.chars().take(WIDTH).collect();
    let more = if detail.chars().count() > WIDTH {
        "…"
    } else {
        ""
    };
    format!("{} {short}{more}", c.status.mark())
}

/// Prints `doctor`'s report in the chosen format.
pub fn print_doctor_report(report: &DoctorReport, format: HubOutput) {
    match format {
        HubOutput::Table => println!("{}", doctor_table(report)),
        HubOutput::Json => {
            let v = serde_json::json!({
                "ok": report.is_ok(),
                "caller": report.caller,
                "checks": report.checks,
            });
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
}
