//! The renderers on a small fleet mapped by the real mapping: every section in every format,
//! the page's self-containment and accessibility, and golden files byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::ValueEnum;
use patchhub_core::deadline::{DeadlinePolicy, KevCatalog};
use patchhub_core::finding::Finding;
use patchhub_core::model::{
    ManagedNode, NodeCompliance, Operation, PatchItem, PatchOperation, PatchState, PingStatus,
    Platform, Severity,
};
use patchhub_core::policy::FindingPolicy;
use patchhub_core::report::{self, Report, ReportOptions, ReportSource};

use super::format::format_of;
use super::model::{cut, num, pct, some_of};
use super::{RenderOptions, ReportFormat, Section, csv, html, table, write_report};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 20, 12, 0, 0).unwrap()
}

/// A small fleet mapped by the real mapping: two accounts, long names, a stale node, a
/// pending reboot, CVEs, and text that needs escaping.
fn sample() -> Vec<Finding> {
    let policy = FindingPolicy::default();
    let mut out = Vec::new();
    let node = |account: &str, region: &str, id: &str, platform: Platform, name: &str| {
        let mut n = ManagedNode::new(account, region, "aws", id);
        n.platform = platform;
        n.platform_name = name.into();
        n.name = Some(format!("{id}-<b>&\"name\"</b>-with-a-rather-long-tail"));
        n.ping_status = PingStatus::Online;
        n.baseline_id = Some("pb-0123456789abcdef0".into());
        n.last_operation = Some(PatchOperation {
            operation: Operation::Scan,
            start: now() - Duration::hours(3),
            end: now() - Duration::hours(2),
            execution_id: None,
            reboot_option: Some("RebootIfNeeded".into()),
        });
        n
    };
    let patch = |id: &str, state: PatchState, sev: Severity, cves: &[&str]| {
        let mut p = PatchItem::new(id, state, sev);
        p.title =
            format!("{id}: a cumulative update <script>alert(1)</script> for x64-based systems");
        p.classification = "SecurityUpdates".into();
        p.cve_ids = cves.iter().map(|c| c.to_string()).collect();
        p
    };
    for (i, account) in ["111111111111", "222222222222"].into_iter().enumerate() {
        for j in 0..4 {
            let id = format!("i-0{i}{j}00000000000000");
            let mut n = node(
                account,
                "eu-west-1",
                &id,
                Platform::Windows,
                "Microsoft Windows Server 2022 Datacenter Azure Edition Core",
            );
            let mut patches = Vec::new();
            if j > 0 {
                n.counts.missing = 2;
                n.counts.critical_non_compliant = 1;
                patches.push(patch(
                    "KB5031364-an-unusually-long-patch-identifier",
                    PatchState::Missing,
                    Severity::Critical,
                    &["CVE-2023-36563", "CVE-2023-41763", "CVE-2023-44487"],
                ));
                patches.push(patch("KB5032007", PatchState::Failed, Severity::High, &[]));
            }
            if j == 3 {
                n.counts.installed_pending_reboot = 1;
                patches.push(patch(
                    "KB5030000",
                    PatchState::InstalledPendingReboot,
                    Severity::Medium,
                    &[],
                ));
                n.ping_status = PingStatus::ConnectionLost;
            }
            out.extend(patchhub_core::findings_for_node(
                &NodeCompliance { node: n, patches },
                &policy,
                now(),
            ));
        }
    }
    // Deadlines as a sync with `--sla high=5d --kev FILE` writes them: the critical patch
    // fixes a catalogued CVE whose due date has passed, the high one is due in five days.
    let deadlines = DeadlinePolicy {
        sla: "high=5d".parse().unwrap(),
        kev: Some(
            KevCatalog::from_json(
                r#"{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2024.03.19",
                "dateReleased":"2024-03-19T00:00:00Z","count":1,"vulnerabilities":[{"cveID":"CVE-2023-36563",
                "dateAdded":"2023-10-10","dueDate":"2024-03-10"}]}"#,
            )
            .unwrap(),
        ),
        escalate_breached: false,
    };
    for f in &mut out {
        let first = f.first_observed_at.unwrap_or(f.created_at);
        deadlines.apply(f, first, now());
    }
    out
}

fn build(findings: &[Finding]) -> Report {
    report::build(
        findings,
        &ReportOptions::new(now(), ReportSource::SecurityHub),
    )
}

#[test]
fn the_table_fits_100_columns_and_names_every_section() {
    let r = build(&sample());
    let t = table::table(&r);
    for line in t.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} chars: {line}",
            line.chars().count()
        );
    }
    for heading in [
        "Compliance by account",
        "Compliance by Region",
        "Open patch findings by severity",
        "Top missing patches (of 2)",
        "Open CVEs (of 3)",
        "Age of open patch findings",
        "Oldest open findings",
        "Stale and connection-lost nodes (2)",
        "Pending reboots (2)",
        "Nodes by platform",
        "Deadlines by account, Region and severity",
        "Breached and due soon",
        "Known exploited CVEs still missing",
    ] {
        assert!(
            t.contains(&format!("\n{heading}\n")),
            "{heading} missing:\n{t}"
        );
    }
    assert!(
        t.contains("Compliance 25.0%: 2 of 8 scanned nodes compliant"),
        "{t}"
    );
    // Long ids are cut, not wrapped into the next column.
    assert!(t.contains("KB5031364-an-unusually-…"), "{t}");
    // A capped list says how many more there are and where to see them all.
    let mut capped = r.clone();
    capped.top = 1;
    assert!(
        table::table(&capped).contains("… and 1 more (all of them: --format csv --section stale")
    );
}

#[test]
fn csv_sections_have_their_documented_columns_and_the_report_values() {
    let r = build(&sample());
    let read = |section: Section| {
        let mut buf = Vec::new();
        csv::write_csv(&r, section, &mut buf).unwrap();
        let mut rd = ::csv::Reader::from_reader(buf.as_slice());
        let header: Vec<String> = rd.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<Vec<String>> = rd
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    };
    let (h, rows) = read(Section::Accounts);
    assert_eq!(
        h[..7],
        [
            "account",
            "regions",
            "nodes",
            "scanned",
            "compliant",
            "non_compliant",
            "compliance_rate"
        ]
    );
    assert_eq!(h.len(), 19);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0][..7],
        ["111111111111", "1", "4", "4", "1", "3", "0.25"]
    );
    let (h, rows) = read(Section::Patches);
    assert_eq!(h[1], "patch_id");
    assert_eq!(rows[0][1], "KB5031364-an-unusually-long-patch-identifier");
    assert_eq!(rows[0][5], "6", "nodes");
    assert_eq!(rows[0][10], "CVE-2023-36563;CVE-2023-41763;CVE-2023-44487");
    assert!(rows[0][2].contains("<script>"), "CSV is raw text");
    let (h, rows) = read(Section::Stale);
    assert_eq!(h[6], "reasons");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][6], "connection-lost");
    for s in [
        Section::Regions,
        Section::Severities,
        Section::Cves,
        Section::Oldest,
        Section::Ages,
        Section::Reboots,
        Section::Platforms,
    ] {
        let (h, rows) = read(s);
        assert!(!h.is_empty() && !rows.is_empty(), "{s:?}");
        assert!(rows.iter().all(|r| r.len() == h.len()), "{s:?}");
    }
}

#[test]
fn json_is_the_core_report_with_its_schema_version() {
    let mut buf = Vec::new();
    let mut opts = RenderOptions::new(ReportFormat::Json);
    opts.top = 1;
    write_report(&sample(), &opts, &mut buf, now()).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["schema_version"], patchhub_core::report::SCHEMA_VERSION);
    assert_eq!(v["top"], 1);
    assert_eq!(v["top_patches"].as_array().unwrap().len(), 1);
    assert_eq!(v["totals"]["compliance_rate"], 0.25);
}

/// Elements by tag name.
fn all<'a, 'i>(doc: &'a roxmltree::Document<'i>, tag: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants().filter(|n| n.has_tag_name(tag)).collect()
}

fn text(n: roxmltree::Node) -> String {
    n.descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
        .collect::<String>()
        .trim()
        .to_string()
}

/// Asserts the page is self-contained and accessible, and returns it parsed.
fn check_page(html: &str) -> roxmltree::Document<'_> {
    // Nothing is loaded from anywhere: no src attributes, no stylesheet links, no imports
    // or url() in the CSS; the only absolute links are NVD entries.
    let lower = html.to_ascii_lowercase();
    for banned in [
        "http://", "<link", "@import", "url(", " src=", "<iframe", "<object", "<embed", "<img",
    ] {
        assert!(!lower.contains(banned), "the page contains {banned:?}");
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(html, opts).expect("the page is well-formed");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "html");
    assert_eq!(root.attribute("lang"), Some("en"));
    for a in all(&doc, "a") {
        let href = a.attribute("href").unwrap();
        assert!(
            href.starts_with('#') || href.starts_with("https://nvd.nist.gov/vuln/detail/CVE-"),
            "{href}"
        );
    }
    for s in all(&doc, "script") {
        assert!(s.attribute("src").is_none());
    }
    // Ids are unique and every reference points at one.
    let mut ids = BTreeSet::new();
    for n in doc.descendants().filter(|n| n.is_element()) {
        if let Some(id) = n.attribute("id") {
            assert!(ids.insert(id.to_string()), "duplicate id {id}");
        }
    }
    for n in doc.descendants().filter(|n| n.is_element()) {
        for r in n
            .attribute("aria-labelledby")
            .into_iter()
            .flat_map(str::split_whitespace)
        {
            assert!(ids.contains(r), "aria-labelledby {r} points nowhere");
        }
        if let Some(h) = n.attribute("href").and_then(|h| h.strip_prefix('#')) {
            assert!(ids.contains(h), "link to #{h} points nowhere");
        }
    }
    // Charts are images with a title and a description.
    let svgs = all(&doc, "svg");
    assert_eq!(svgs.len(), 4);
    for svg in svgs {
        assert_eq!(svg.attribute("role"), Some("img"));
        let kids: Vec<_> = svg.children().filter(|c| c.is_element()).collect();
        assert_eq!(kids[0].tag_name().name(), "title");
        assert_eq!(kids[1].tag_name().name(), "desc");
        assert!(!text(kids[0]).is_empty() && text(kids[1]).len() > 20);
    }
    // Real tables: a caption, column headers, a row header per row.
    for t in all(&doc, "table") {
        assert_eq!(
            t.first_element_child().unwrap().tag_name().name(),
            "caption"
        );
        let heads: Vec<_> = all_in(t, "th")
            .into_iter()
            .filter(|h| h.attribute("scope") == Some("col"))
            .collect();
        assert!(!heads.is_empty());
        for tr in all_in(t, "tr").into_iter().skip(1) {
            assert_eq!(
                tr.first_element_child().unwrap().attribute("scope"),
                Some("row")
            );
        }
    }
    doc
}

fn all_in<'a, 'i>(n: roxmltree::Node<'a, 'i>, tag: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    n.descendants().filter(|d| d.has_tag_name(tag)).collect()
}

/// The body rows of the table with this id, as cell texts.
fn rows(doc: &roxmltree::Document, id: &str) -> Vec<Vec<String>> {
    let t = doc
        .descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no table {id}"));
    let body = all_in(t, "tbody")[0];
    body.children()
        .filter(|c| c.has_tag_name("tr"))
        .map(|tr| tr.children().filter(|c| c.is_element()).map(text).collect())
        .collect()
}

#[test]
fn the_html_page_is_self_contained_accessible_and_has_the_figures() {
    let r = build(&sample());
    let page = html::html(&r).unwrap();
    let doc = check_page(&page);
    let sections: Vec<&str> = all(&doc, "section")
        .iter()
        .filter_map(|s| s.attribute("id"))
        .collect();
    assert_eq!(
        sections,
        [
            "summary",
            "accounts",
            "regions",
            "severity",
            "patches",
            "cves",
            "ages",
            "stale",
            "reboots",
            "platforms",
            "deadlines"
        ]
    );
    assert_eq!(all(&doc, "h1").len(), 1);

    let accounts = rows(&doc, "table-accounts");
    assert_eq!(accounts.len(), 2);
    assert_eq!(
        accounts[0][..8],
        ["111111111111", "1", "4", "4", "1", "3", "25.0%", "3"]
    );
    let patches = rows(&doc, "table-patches");
    assert_eq!(
        patches[0][1],
        "KB5031364-an-unusually-long-patch-identifier"
    );
    assert_eq!(patches[0][5], "6");
    let cves = rows(&doc, "table-cves");
    assert_eq!(cves.len(), 3);
    assert!(cves.iter().all(|c| c[1] == "Critical" && c[2] == "6"));
    assert_eq!(rows(&doc, "table-stale").len(), 2);
    assert_eq!(rows(&doc, "table-reboots").len(), 2);
    assert_eq!(rows(&doc, "table-oldest").len(), 14);

    // Summary tiles carry the headline figures.
    let tiles: BTreeMap<String, String> = all(&doc, "div")
        .into_iter()
        .filter(|d| d.attribute("class") == Some("tile"))
        .map(|d| (text(all_in(d, "dt")[0]), text(all_in(d, "span")[0])))
        .collect();
    assert_eq!(tiles["Compliance rate"], "25.0%");
    assert_eq!(tiles["Open CVEs"], "3");
    assert_eq!(tiles["Resolved"], "0");

    // Text from findings is escaped, never markup.
    assert!(!page.contains("<script>alert"), "finding text is escaped");
    assert!(patches[0][2].contains("update <script>alert(1)</script> for"));
    assert_eq!(all(&doc, "script").len(), 1);
    assert_eq!(all(&doc, "b").len(), 0, "node names are not markup");
}

/// Every format and CSV section of the sample fleet (and of an empty report), byte for byte
/// as committed under tests/golden/ (each as `NAME.golden`: expected output, not source).
/// `UPDATE_GOLDEN=1` rewrites the files after a deliberate change of output.
#[test]
fn every_format_matches_its_golden_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let render_to = |findings: &[Finding], opts: &RenderOptions| {
        let mut buf = Vec::new();
        write_report(findings, opts, &mut buf, now()).unwrap();
        buf
    };
    let sample = sample();
    for (name, format) in [
        ("report.txt", ReportFormat::Table),
        ("report.json", ReportFormat::Json),
        ("report.html", ReportFormat::Html),
    ] {
        let opts = RenderOptions::new(format);
        outputs.push((name.into(), render_to(&sample, &opts)));
        outputs.push((format!("empty-{name}"), render_to(&[], &opts)));
    }
    let mut top1 = RenderOptions::new(ReportFormat::Table);
    top1.top = 1;
    outputs.push(("report-top1.txt".into(), render_to(&sample, &top1)));
    for section in Section::value_variants() {
        let name = section.to_possible_value().unwrap().get_name().to_string();
        let mut opts = RenderOptions::new(ReportFormat::Csv);
        opts.section = *section;
        outputs.push((format!("report-{name}.csv"), render_to(&sample, &opts)));
    }
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, got) in outputs {
        let path = dir.join(format!("{name}.golden"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert!(
            got == want,
            "{name} differs from {}:\n{}",
            path.display(),
            String::from_utf8_lossy(&got)
        );
    }
}

#[test]
fn an_empty_report_renders_in_every_format() {
    let r = build(&[]);
    let doc_src = html::html(&r).unwrap();
    let doc = check_page(&doc_src);
    assert_eq!(rows(&doc, "table-accounts").len(), 0);
    assert!(doc_src.contains("No accounts."));
    assert!(table::table(&r).contains("Compliance -: 0 of 0 scanned nodes"));
    for s in [Section::Accounts, Section::Stale] {
        let mut buf = Vec::new();
        csv::write_csv(&r, s, &mut buf).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap().lines().count(),
            1,
            "header only"
        );
    }
}

#[test]
fn numbers_and_formats_read_well() {
    assert_eq!(num(0), "0");
    assert_eq!(num(999), "999");
    assert_eq!(num(1000), "1,000");
    assert_eq!(num(1_234_567), "1,234,567");
    assert_eq!(pct(Some(0.7125)), "71.3%");
    assert_eq!(pct(None), "-");
    assert_eq!(cut("abcdef", 4), "abc…");
    assert_eq!(some_of(&["a".into(), "b".into(), "c".into()], 1), "a +2");
    assert_eq!(format_of(Path::new("r.HTML")), Some(ReportFormat::Html));
    assert_eq!(format_of(Path::new("r.csv")), Some(ReportFormat::Csv));
    assert_eq!(format_of(Path::new("r")), None);
}
