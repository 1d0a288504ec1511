//! Hostile compliance data, beyond what `properties.rs` generates: 100 KB titles and ids,
//! 10,000 CVE ids, the same KB listed several times in different spellings, control and bidi
//! characters, empty fields, and several nodes planned into one import. Whatever SSM sends,
//! every finding of the import is valid ASFF, no two share an Id, and console text is one line.

mod common;

use std::collections::BTreeSet;

use chrono::Duration;
use common::*;
use patchhub_core::limits;
use patchhub_core::*;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;

const BIG: usize = 100 * 1024;

/// Free text as SSM might send it, at its worst.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._:/()-]{0,40}",
        1 => Just(String::new()),
        1 => "[ \\t\\r\\n]{1,5}",
        1 => "[\\x00-\\x1f\\x7f\u{85}\u{202a}-\u{202e}\u{2066}-\u{2069}\u{2028}a-z]{1,60}",
        1 => "[長🚀é\u{0301}\u{200d}\u{fe0f}]{1,80}",
        1 => "\\PC{0,80}",
        1 => select(vec!['x', 'é', '🚀', '\n']).prop_map(|c| c.to_string().repeat(BIG)),
    ]
}

/// Patch ids that collide: the same KB in other cases and with padding, and hostile ones.
fn patch_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (select(vec!["KB5031364", "kb5031364", " KB5031364 ", "KB5031364\n", "openssl", "OpenSSL"]))
            .prop_map(String::from),
        2 => "(KB|kb)[0-9]{1,2}",
        2 => text(),
    ]
}

fn cve_ids() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        4 => vec("CVE-20[0-9]{2}-[0-9]{4,6}", 0..6),
        1 => Just((0..10_000).map(|i| format!("CVE-2024-{i:05}")).collect()),
        1 => Just(vec!["CVE-2024-0001".to_string(); 10_000]),
        1 => vec(text(), 1..4),
        1 => Just(vec!["C".repeat(BIG)]),
    ]
}

fn patch() -> impl Strategy<Value = PatchItem> {
    (
        patch_id(),
        text(),
        text(),
        text(),
        select(Severity::ALL.to_vec()),
        select(PatchState::ALL.to_vec()),
        cve_ids(),
        proptest::option::of(
            (-100_000i64..100_000).prop_map(|m| scan_end() + Duration::minutes(m)),
        ),
    )
        .prop_map(patch_from)
}

/// A node of the fixtures' account and Region with hostile names, tags and patches.
fn node(i: usize) -> impl Strategy<Value = NodeCompliance> {
    (
        select(vec![windows_node(), linux_node(), hybrid_node()]),
        proptest::option::of(text()),
        text(),
        (proptest::option::of(text()), proptest::option::of(text())),
        proptest::option::of(text()),
        prop_oneof![3 => btree_map(text(), text(), 0..4), 1 => btree_map("[a-z]{1,6}", text(), 45..70)],
        vec(patch(), 0..10),
    )
        .prop_map(
            move |(mut node, name, platform_name, (group, baseline), reboot, tags, patches)| {
                node.instance_id = format!("i-{i:017x}");
                node.name = name;
                node.platform_name = platform_name;
                node.patch_group = group;
                node.baseline_id = baseline;
                if let Some(op) = node.last_operation.as_mut() {
                    op.reboot_option = reboot.clone();
                    op.execution_id = reboot;
                }
                node.tags = tags;
                NodeCompliance { node, patches }
            },
        )
}

fn nodes() -> impl Strategy<Value = Vec<NodeCompliance>> {
    (1usize..4).prop_flat_map(|n| (0..n).map(node).collect::<Vec<_>>())
}

/// What a console shows on one line must not hold control or bidi characters.
fn one_line(field: &str, s: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !s.chars()
            .any(|c| c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
        "{} holds a control character: {:?}",
        field,
        &s[..s.floor_char_boundary(120)]
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// One import of several hostile nodes: every finding valid, Ids unique, text one line.
    #[test]
    fn hostile_nodes_give_a_valid_import(ncs in nodes(), min in select(Severity::ALL.to_vec())) {
        let policy = FindingPolicy { min_severity: min, ..FindingPolicy::default() };
        let scope = Scope::all(ACCOUNT, REGION);
        let p = plan_all(&scope, &ncs, &policy, vec![], now());
        let import: Vec<&Finding> = p.to_import().collect();
        let mut ids = BTreeSet::new();
        for f in &import {
            prop_assert!(ids.insert(f.id.as_str()), "Id {} twice in one import", f.id);
            if let Err(v) = f.validate() {
                return Err(TestCaseError::fail(format!("{} violates {v:?}", f.id)));
            }
            let bytes = serde_json::to_vec(f).unwrap().len();
            prop_assert!(bytes <= limits::MAX_FINDING_BYTES, "{} is {} bytes", f.id, bytes);
            prop_assert!(f.vulnerabilities.len() <= limits::MAX_VULNERABILITIES);
            one_line("Title", &f.title)?;
            one_line("Description", &f.description)?;
            if let Some(t) = f.remediation.as_ref().and_then(|r| r.recommendation.text.as_deref()) {
                one_line("Remediation.Recommendation.Text", t)?;
            }
            prop_assert!(scope.contains(f));
        }
        // Patches whose ids differ only in case or padding are one patch to Security Hub.
        for nc in &ncs {
            let node_patch_ids: BTreeSet<&str> = import
                .iter()
                .filter(|f| f.node_id() == Some(nc.node.instance_id.as_str()))
                .filter_map(|f| f.patch_id())
                .collect();
            let n = import
                .iter()
                .filter(|f| f.node_id() == Some(nc.node.instance_id.as_str()) && f.kind() == Some(FindingKind::Patch))
                .count();
            prop_assert_eq!(node_patch_ids.len(), n);
        }
        // Planning the same data again changes nothing: hostile data still converges.
        let mut hub = FakeHub::default();
        hub.apply(&p);
        let again = plan_all(&scope, &ncs, &policy, hub.read(), now());
        prop_assert_eq!(again.counts().imports(), 0, "{:?}", again.counts());
    }
}

fn missing(id: &str) -> PatchItem {
    let mut p = PatchItem::new(id, PatchState::Missing, Severity::Critical);
    p.title = format!("{id} title");
    p
}

fn import_of(patches: Vec<PatchItem>) -> Vec<Finding> {
    let mut nc = windows();
    nc.patches = patches;
    let p = plan_all(
        &Scope::all(ACCOUNT, REGION),
        &[nc],
        &FindingPolicy::default(),
        vec![],
        now(),
    );
    let out: Vec<Finding> = p.to_import().cloned().collect();
    for f in &out {
        assert_eq!(f.validate(), Ok(()), "{}", f.id);
    }
    out
}

#[test]
fn a_100_kb_title_and_id_are_cut_to_the_limits() {
    let mut p = missing(&"K".repeat(BIG));
    p.title = "é\n".repeat(BIG / 2);
    let fs = import_of(vec![p]);
    let patch = fs
        .iter()
        .find(|f| f.kind() == Some(FindingKind::Patch))
        .unwrap();
    assert!(patch.title.chars().count() <= limits::MAX_TITLE);
    assert!(!patch.title.contains('\n'));
}

#[test]
fn ten_thousand_cves_stay_under_240_kb() {
    let mut p = missing("KB1");
    p.cve_ids = (0..10_000).map(|i| format!("CVE-2024-{i:05}")).collect();
    let fs = import_of(vec![p]);
    let patch = fs
        .iter()
        .find(|f| f.kind() == Some(FindingKind::Patch))
        .unwrap();
    assert_eq!(patch.vulnerabilities.len(), limits::MAX_VULNERABILITIES);
    assert!(serde_json::to_vec(patch).unwrap().len() <= limits::MAX_FINDING_BYTES);
}

#[test]
fn one_kb_listed_in_three_spellings_is_one_finding() {
    let fs = import_of(vec![
        missing("KB5031364"),
        missing("kb5031364"),
        missing(" KB5031364\n"),
    ]);
    let ids: Vec<&str> = fs
        .iter()
        .filter(|f| f.kind() == Some(FindingKind::Patch))
        .map(|f| f.id.as_str())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "{ids:?}");
}

#[test]
fn empty_ids_and_titles_still_give_a_valid_finding() {
    let mut p = missing("");
    p.title = " \u{0}\t".into();
    let fs = import_of(vec![p]);
    assert!(fs.iter().any(|f| f.kind() == Some(FindingKind::Patch)));
}

/// Patch ids that differ only in control characters, blanks, or past the ProductFields cap are
/// different patches (different finding Ids) and keep different `patchhub/PatchId` values, which
/// the report groups by.
#[test]
fn ids_that_differ_only_where_text_is_cleaned_keep_distinct_patch_ids() {
    let long = "P".repeat(600);
    for (a, b) in [
        ("KB1\u{7}X", "KB1\u{8}X"),
        ("KB1  X", "KB1 X"),
        (format!("{long}a").as_str(), format!("{long}b").as_str()),
    ] {
        let fs = import_of(vec![missing(a), missing(b)]);
        let ids: BTreeSet<&str> = fs
            .iter()
            .filter(|f| f.kind() == Some(FindingKind::Patch))
            .filter_map(|f| f.patch_id())
            .collect();
        assert_eq!(ids.len(), 2, "{a:?} / {b:?}: {ids:?}");
    }
}
