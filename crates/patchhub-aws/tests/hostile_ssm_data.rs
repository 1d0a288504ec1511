//! Hostile compliance data as SSM returns it, end to end: awsim's SSM serves patches with 100 KB
//! titles, control and bidi characters, empty fields, 10,000 CVE ids, one KB listed in several
//! spellings and odd severities; a sync reads it through the SDK (`source`), maps it, converts it
//! (`convert::to_sdk`) and imports it. awsim's Security Hub checks every finding against AWS's
//! ASFF rules: none may be refused, and every finding read back converts (`convert::from_sdk`)
//! into a finding that passes the core's own validation.

use std::collections::BTreeSet;

use awsim::fleet::{PATCH_STATES, PatchSpec};
use patchhub_aws::convert::from_sdk;
use patchhub_testkit::read::findings;
use patchhub_testkit::run::{opts, sync};
use patchhub_testkit::{runtime, start_with_hubs};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

const BIG: usize = 100 * 1024;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._:/()-]{0,40}",
        1 => Just(String::new()),
        1 => "[\\x00-\\x1f\\x7f\u{85}\u{202a}-\u{202e}\u{2028}a-z\"\\\\]{1,40}",
        1 => "[長🚀é\u{0301}\u{200d}]{1,60}",
        1 => "\\PC{0,60}",
        1 => select(vec!['x', 'é', '\n']).prop_map(|c| c.to_string().repeat(BIG)),
    ]
}

fn patch() -> impl Strategy<Value = PatchSpec> {
    (
        prop_oneof![
            3 => select(vec!["KB5031364", "kb5031364", " KB5031364", "openssl", "OPENSSL"]).prop_map(String::from),
            1 => text(),
        ],
        text(),
        text(),
        prop_oneof![select(vec!["Critical", "Important", "", "n/a"]).prop_map(String::from), text()],
        select(vec!["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNSPECIFIED", "", "critical", "SEVERE"]),
        select(PATCH_STATES.to_vec()),
        prop_oneof![
            4 => vec("CVE-20[0-9]{2}-[0-9]{4,6}", 0..5),
            1 => Just((0..10_000).map(|i| format!("CVE-2024-{i:05}")).collect()),
            1 => vec(text(), 1..3),
        ],
    )
        .prop_map(|(id, title, classification, severity, compliance, state, cve_ids)| PatchSpec {
            id,
            title,
            classification,
            severity,
            compliance_severity: compliance.to_string(),
            state: state.to_string(),
            cve_ids,
            installed_time: None,
        })
}

/// Syncs a one-account fleet whose nodes carry `patches` (and hostile names and tags), then
/// checks what Security Hub accepted and holds.
fn sync_hostile(nodes: Vec<(String, Vec<PatchSpec>)>, seed: usize) -> Result<usize, TestCaseError> {
    runtime().block_on(async {
        let spec = format!(
            "accounts=1,regions=1,instances={},patches=3,seed={seed}",
            nodes.len()
        );
        let (sim, _) = start_with_hubs(&spec).await;
        let mut f = sim.export_fleet();
        let account = f.accounts[0].id.clone();
        let region = f.accounts[0].regions[0].clone();
        for (inst, (name, patches)) in f.accounts[0].instances.iter_mut().zip(nodes) {
            inst.tags.insert("Name".into(), name.clone());
            inst.tags.insert(name, "\u{202e}x\ny".into());
            inst.platform_name = "Windows\u{0}Server\n2022".into();
            inst.patches = patches;
        }
        sim.load_fleet(f).unwrap();

        let report = sync(&sim, &account, &[&region], opts()).await;
        let failures: Vec<String> = report
            .targets
            .iter()
            .flat_map(|t| t.failures.iter().map(|x| format!("{x:?}")))
            .take(3)
            .collect();
        prop_assert!(
            report.is_ok(),
            "Security Hub refused findings: {:?} {:?}",
            failures,
            report.account_errors
        );

        let stored = findings(&sim, &account, &region).await;
        prop_assert!(!stored.is_empty());
        let mut ids = BTreeSet::new();
        for sdk in &stored {
            let f = from_sdk(sdk).map_err(TestCaseError::fail)?;
            prop_assert!(ids.insert(f.id.clone()), "Id {} twice", f.id);
            prop_assert_eq!(f.validate(), Ok(()), "{}", f.id);
        }
        sim.shutdown().await;
        Ok(ids.len())
    })
}

proptest! {
    // Each case runs a whole sync against awsim: a handful.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn hostile_patches_from_ssm_are_all_accepted(
        nodes in vec((text(), vec(patch(), 0..8)), 1..3),
        seed in 1usize..1000,
    ) {
        let _ = sync_hostile(nodes, seed)?;
    }
}

#[test]
fn the_worst_node_imports_cleanly() {
    let kb = |id: &str, title: String, cves: Vec<String>| PatchSpec {
        id: id.into(),
        title,
        classification: "Security\u{7}Updates".into(),
        severity: "Critical\r\n".into(),
        compliance_severity: "CRITICAL".into(),
        state: "MISSING".into(),
        cve_ids: cves,
        installed_time: None,
    };
    let patches = vec![
        kb("KB5031364", "x".repeat(BIG), vec![]),
        kb("kb5031364", "é\n".repeat(BIG / 2), vec!["C".repeat(BIG)]),
        kb(" KB5031364 ", String::new(), vec![]),
        kb("", "\u{202e}evil".into(), vec![]),
        kb(
            "KB1",
            "ten thousand CVEs".into(),
            (0..10_000).map(|i| format!("CVE-2024-{i:05}")).collect(),
        ),
    ];
    let stored = sync_hostile(vec![("web\n1".repeat(300), patches)], 5).unwrap();
    assert!(stored >= 4, "a roll-up and the patch findings: {stored}");
}
