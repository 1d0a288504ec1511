//! Property tests: limits for any input, deterministic Ids, idempotent plans, scope safety,
//! and the roll-up fingerprint covering everything patch findings depend on.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use common::*;
use patchhub_core::*;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

/// Strings as SSM might send them, and as it should never send them.
fn wild(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ._:/-]{0,24}",
        1 => Just(String::new()),
        1 => proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
        1 => "[\\x00-\\x1f\u{202e}\u{1F600}é\"\\\\ ]{0,40}",
        1 => (1usize..=3).prop_map(move |k| "長🚀x".repeat(max * k)),
    ]
}

fn cves() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        8 => vec("(CVE|cve)-20[0-9]{2}-[0-9]{4,6}", 0..8),
        2 => vec(wild(80), 0..4),
        1 => (1000usize..=10_000).prop_map(|n| (0..n).map(|i| format!("CVE-2024-{i}")).collect()),
    ]
}

fn when() -> impl Strategy<Value = DateTime<Utc>> {
    // Around the fixtures' scan, minute resolution.
    (-60 * 24 * 60i64..=2 * 24 * 60).prop_map(|m| scan_end() + Duration::minutes(m))
}

fn patch() -> impl Strategy<Value = PatchItem> {
    (
        prop_oneof![3 => "(KB|kb)[0-9]{1,3}|openssl|kernel|pkg[a-c]", 1 => wild(600)],
        wild(300),
        wild(40),
        prop_oneof![
            select(vec!["Critical", "Important", "Moderate", "Low", ""]).prop_map(String::from),
            wild(100)
        ],
        select(Severity::ALL.to_vec()),
        select(PatchState::ALL.to_vec()),
        cves(),
        option::of(when()),
    )
        .prop_map(patch_from)
}

fn operation() -> impl Strategy<Value = PatchOperation> {
    (
        any::<bool>(),
        when(),
        option::of(wild(200)),
        option::of(wild(300)),
    )
        .prop_map(
            |(install, end, execution_id, reboot_option)| PatchOperation {
                operation: if install {
                    Operation::Install
                } else {
                    Operation::Scan
                },
                start: end - Duration::minutes(3),
                end,
                execution_id,
                reboot_option,
            },
        )
}

fn counts() -> impl Strategy<Value = PatchCounts> {
    let c = || prop_oneof![9 => 0u32..5, 1 => any::<u32>()];
    (vec(c(), 11)).prop_map(|v| PatchCounts {
        installed: v[0],
        installed_other: v[1],
        installed_pending_reboot: v[2],
        installed_rejected: v[3],
        missing: v[4],
        failed: v[5],
        not_applicable: v[6],
        available_security_update: v[7],
        critical_non_compliant: v[8],
        security_non_compliant: v[9],
        other_non_compliant: v[10],
    })
}

fn identity(valid: bool) -> BoxedStrategy<(String, String, String, String)> {
    if valid {
        (
            "[0-9]{12}",
            select(vec![
                "eu-west-1",
                "us-east-1",
                "cn-north-1",
                "us-gov-west-1",
            ]),
            select(vec!["aws", "aws-cn", "aws-us-gov"]),
            prop_oneof!["i-[0-9a-f]{17}", "i-[0-9a-f]{8}", "mi-[0-9a-f]{17}"],
        )
            .prop_map(|(a, r, p, i)| (a, r.to_string(), p.to_string(), i))
            .boxed()
    } else {
        (wild(20), wild(20), wild(10), wild(200)).boxed()
    }
}

fn node(valid: bool) -> impl Strategy<Value = ManagedNode> {
    (
        identity(valid),
        prop_oneof![Just(Platform::Windows), Just(Platform::Linux), Just(Platform::MacOS), wild(20).prop_map(Platform::Other)],
        wild(200),
        option::of(wild(300)),
        select(vec![PingStatus::Online, PingStatus::ConnectionLost, PingStatus::Inactive, PingStatus::Unknown]),
        (option::of(wild(300)), option::of(wild(300))),
        option::of(operation()),
        counts(),
        prop_oneof![4 => btree_map(wild(130), wild(260), 0..6), 1 => btree_map("[a-z]{1,8}", "[a-z]{1,8}", 40..70)],
        any::<bool>(),
    )
        .prop_map(|((account_id, region, partition, instance_id), platform, platform_name, name, ping_status, (patch_group, baseline_id), last_operation, counts, tags, asu)| {
            ManagedNode {
                account_id,
                region,
                partition,
                instance_id,
                platform,
                platform_name,
                name,
                ping_status,
                patch_group,
                baseline_id,
                last_operation,
                counts,
                tags,
                available_security_updates_compliant: asu,
                last_ping: None,
                registered: None,
            }
        })
}

fn node_compliance(valid: bool) -> impl Strategy<Value = NodeCompliance> {
    (node(valid), vec(patch(), 0..12)).prop_map(|(node, patches)| NodeCompliance { node, patches })
}

fn policy() -> impl Strategy<Value = FindingPolicy> {
    (
        select(Severity::ALL.to_vec()),
        1i64..=30,
        subsequence(
            vec![
                "KB1*".to_string(),
                "openssl".to_string(),
                "pkga".to_string(),
            ],
            0..=3,
        ),
        subsequence(
            vec![
                "Env=dev".parse::<TagFilter>().unwrap(),
                "a".parse().unwrap(),
            ],
            0..=2,
        ),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(min_severity, stale_days, exclude_patches, exclude_tags, rollup, stale_findings)| {
                FindingPolicy {
                    min_severity,
                    stale_after: Duration::days(stale_days),
                    exclude_patches,
                    exclude_tags,
                    rollup,
                    stale_findings,
                    refresh_after: Duration::days(30),
                }
            },
        )
}

/// What the mapping should produce per patch, computed independently of it.
fn expected_patch_keys(nc: &NodeCompliance, policy: &FindingPolicy) -> BTreeSet<String> {
    if policy.excluding_tag(&nc.node).is_some() {
        return BTreeSet::new();
    }
    nc.patches
        .iter()
        .filter(|p| {
            p.state
                .is_non_compliant(nc.node.available_security_updates_compliant)
        })
        .filter(|p| p.effective_severity() >= policy.min_severity)
        .filter(|p| !policy.excludes_patch(&p.id))
        .map(|p| {
            [p.id.trim(), p.title.trim()]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("unnamed-patch")
                .to_string()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every emitted finding passes validate(), for any input; with a valid identity the
    /// right findings exist.
    #[test]
    fn every_finding_is_within_asff_limits(
        nc in prop_oneof![4 => node_compliance(true), 1 => node_compliance(false)],
        policy in policy(),
        now in when(),
    ) {
        let fs = findings_for_node(&nc, &policy, now);
        for f in &fs {
            if let Err(v) = f.validate() {
                prop_assert!(false, "{} violates {:?}", f.id, v);
            }
            let fp = f.compute_fingerprint();
            prop_assert_eq!(f.fingerprint(), Some(fp.as_str()));
            prop_assert_eq!(f.node_id(), Some(nc.node.instance_id.as_str()));
        }
        let valid_identity = nc.node.account_id.len() == 12
            && nc.node.account_id.bytes().all(|b| b.is_ascii_digit())
            && nc.node.instance_id.starts_with('i') | nc.node.instance_id.starts_with('m')
            && ["eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"].contains(&nc.node.region.as_str());
        if valid_identity && !nc.node.instance_id.contains(char::is_whitespace) {
            let count = |k| fs.iter().filter(|f| f.kind() == Some(k)).count();
            prop_assert_eq!(count(FindingKind::Rollup), usize::from(policy.rollup && nc.node.last_operation.is_some()));
            prop_assert_eq!(count(FindingKind::StaleScan), usize::from(policy.stale_findings && !policy.stale_reasons(&nc.node, now).is_empty()));
            prop_assert_eq!(count(FindingKind::Patch), expected_patch_keys(&nc, &policy).len());
        }
    }

    /// Same input, same findings: Ids unique, independent of patch order, and patch
    /// findings independent of `now`.
    #[test]
    fn ids_and_content_are_deterministic(
        nc in node_compliance(true),
        policy in policy(),
        now in when(),
        later_minutes in 0i64..100_000,
    ) {
        let a = findings_for_node(&nc, &policy, now);
        prop_assert_eq!(&a, &findings_for_node(&nc, &policy, now));
        let ids: BTreeSet<&str> = a.iter().map(|f| f.id.as_str()).collect();
        prop_assert_eq!(ids.len(), a.len(), "Ids are unique");
        let mut shuffled = nc.clone();
        shuffled.patches.reverse();
        prop_assert_eq!(&a, &findings_for_node(&shuffled, &policy, now));
        let fp = |fs: Vec<Finding>| fs.into_iter().map(|f| (f.id.clone(), f.fingerprint().map(String::from))).collect::<Vec<_>>();
        let later = now + Duration::minutes(later_minutes);
        prop_assert_eq!(fp(patch_findings(&nc, &policy, now)), fp(patch_findings(&nc, &policy, later)));
    }

    /// An unchanged roll-up fingerprint means unchanged patch findings, whatever node
    /// attribute changed (the patch list itself only changes with a new scan).
    #[test]
    fn rollup_fingerprint_covers_patch_finding_inputs(
        nc in node_compliance(true),
        other in node(true),
        field in 0usize..12,
        policy in policy(),
        other_policy in policy(),
        now in when(),
    ) {
        prop_assume!(nc.node.last_operation.is_some() && policy.rollup && other_policy.rollup);
        let mut changed = nc.clone();
        let n = &mut changed.node;
        match field {
            0 => n.name = other.name,
            1 => n.platform_name = other.platform_name,
            2 => n.platform = other.platform,
            3 => n.tags = other.tags,
            4 => n.baseline_id = other.baseline_id,
            5 => n.patch_group = other.patch_group,
            6 => n.last_operation.as_mut().unwrap().execution_id = other.last_operation.and_then(|o| o.execution_id),
            7 => n.last_operation.as_mut().unwrap().end += Duration::minutes(1),
            8 => n.available_security_updates_compliant = !n.available_security_updates_compliant,
            9 => n.ping_status = other.ping_status,
            10 => n.counts = other.counts,
            _ => {}
        }
        let p2 = if field == 11 { other_policy } else { policy.clone() };
        let r1 = rollup_finding(&nc.node, &policy, now).unwrap();
        let r2 = rollup_finding(&changed.node, &p2, now).unwrap();
        let fps = |nc: &NodeCompliance, p: &FindingPolicy| patch_findings(nc, p, now).into_iter().map(|f| f.compute_fingerprint()).collect::<Vec<_>>();
        if r1.fingerprint() == r2.fingerprint() {
            prop_assert_eq!(fps(&nc, &policy), fps(&changed, &p2));
        }
    }
}

/// Node ids the idempotence and scope properties use.
fn node_id(i: usize) -> String {
    format!("i-{i:017x}")
}

/// A node's previous and current state: the current scan is never older.
fn node_history(i: usize) -> impl Strategy<Value = (NodeCompliance, Option<NodeCompliance>)> {
    (
        node_compliance(true),
        vec(patch(), 0..8),
        0i64..3000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            move |(mut prev, new_patches, advance_min, still_there, new_execution)| {
                prev.node.account_id = ACCOUNT.into();
                prev.node.region = REGION.into();
                prev.node.partition = "aws".into();
                prev.node.instance_id = node_id(i);
                let mut cur = prev.clone();
                if let Some(op) = &mut cur.node.last_operation {
                    op.end += Duration::minutes(advance_min);
                    if new_execution {
                        op.execution_id = Some(format!("exec-{advance_min}"));
                    }
                }
                // Some patches fixed, some new.
                cur.patches.retain(|p| p.id.len() % 2 == 0);
                cur.patches.extend(new_patches);
                (prev, still_there.then_some(cur))
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Applying a plan and planning again with the same input yields only `unchanged`, and
    /// Security Hub never ignores an import.
    #[test]
    fn planning_is_idempotent(
        history in (1usize..5).prop_flat_map(|n| (0..n).map(node_history).collect::<Vec<_>>()),
        policy in policy(),
        gap_hours in 0i64..2000,
        skew_minutes in option::of(1i64..10_000),
    ) {
        let scope = Scope::all(ACCOUNT, REGION);
        let prev: Vec<NodeCompliance> = history.iter().map(|(p, _)| p.clone()).collect();
        let cur: Vec<NodeCompliance> = history.iter().filter_map(|(_, c)| c.clone()).collect();
        let t0 = scan_end() + Duration::days(3);
        let mut hub = FakeHub::default();
        hub.apply(&plan_all(&scope, &prev, &policy, vec![], t0));
        let now = t0 + Duration::hours(gap_hours) + Duration::days(3);
        if let Some(m) = skew_minutes {
            // Another writer's clock ran ahead: stored UpdatedAt lies in our future.
            for f in hub.store.values_mut() {
                f.updated_at = now + Duration::minutes(m);
            }
        }
        let before = hub.store.clone();

        let desired = desired_of(&cur, &policy, now);
        let first = plan(PlanInput {
            scope: &scope,
            desired: desired.clone(),
            existing: hub.read(),
            node_scans: scans_of(&cur),
            now,
            refresh_after: policy.refresh_after,
        });
        prop_assert!(first.held_back.is_empty(), "scans only move forward: {:?}", first.held_back);
        for f in first.update.iter().chain(&first.refresh).chain(&first.reopen).chain(&first.resolve) {
            let old = &before[&f.id];
            prop_assert_eq!(f.created_at, old.created_at);
            prop_assert_eq!(f.first_observed_at, old.first_observed_at);
            prop_assert!(f.updated_at > old.updated_at);
        }
        hub.apply(&first);
        prop_assert_eq!(hub.ignored, 0);

        let again = plan(PlanInput {
            scope: &scope,
            desired,
            existing: hub.read(),
            node_scans: scans_of(&cur),
            now,
            refresh_after: policy.refresh_after,
        });
        prop_assert_eq!(again.counts().imports(), 0, "{:?}", again.counts());
        prop_assert!(again.held_back.is_empty());
        prop_assert_eq!(again.unchanged.len(), hub.store.len());
    }

    /// Nothing outside the scope is ever imported, and everything outside it is counted.
    #[test]
    fn plans_stay_inside_their_scope(
        nodes in vec((select(vec![ACCOUNT, "210987654321"]), select(vec![REGION, "us-east-1"]), 0usize..4, any::<bool>(), any::<bool>(), any::<bool>()), 1..10),
        all_nodes in any::<bool>(),
        scoped in subsequence((0usize..4).collect::<Vec<_>>(), 0..=4),
        scanned in subsequence((0usize..4).collect::<Vec<_>>(), 0..=4),
        scan_shift in -3000i64..3000,
        foreign_generator in any::<bool>(),
    ) {
        let mut desired = Vec::new();
        let mut existing = Vec::new();
        for (account, region, idx, in_desired, in_existing, archived) in nodes {
            let mut nc = if idx % 2 == 0 { windows() } else { linux() };
            nc.node.account_id = account.into();
            nc.node.region = region.into();
            nc.node.instance_id = node_id(idx);
            let fs = findings_for_node(&nc, &FindingPolicy::default(), now());
            if in_desired {
                desired.extend(fs.iter().cloned());
            }
            if in_existing {
                // Existing findings from an older scan, some archived, some from another tool.
                let mut old = nc.clone();
                old.node.last_operation.as_mut().unwrap().execution_id = Some("older".into());
                for mut f in findings_for_node(&old, &FindingPolicy::default(), now() - Duration::days(1)) {
                    if archived {
                        f.record_state = RecordState::Archived;
                    }
                    if foreign_generator && idx == 3 {
                        f.generator_id = "someone-else/patch".into();
                    }
                    existing.push(f);
                }
            }
        }
        let scope = Scope {
            account_id: ACCOUNT.into(),
            region: REGION.into(),
            nodes: if all_nodes { NodeSet::All } else { NodeSet::Only(scoped.iter().map(|i| node_id(*i)).collect()) },
        };
        let node_scans: BTreeMap<String, Option<DateTime<Utc>>> = scanned
            .iter()
            .map(|i| (node_id(*i), Some(scan_end() + Duration::minutes(scan_shift))))
            .collect();
        let outside = desired.iter().chain(&existing).filter(|f| !scope.contains(f)).count();
        let outside_ids: BTreeSet<String> = existing.iter().filter(|f| !scope.contains(f)).map(|f| f.id.clone()).collect();
        let inside_ids: BTreeSet<String> = desired.iter().chain(&existing).filter(|f| scope.contains(f)).map(|f| f.id.clone()).collect();

        let p = plan(PlanInput { scope: &scope, desired, existing, node_scans, now: now(), refresh_after: Duration::days(30) });
        prop_assert_eq!(p.out_of_scope, outside);
        for f in p.to_import() {
            prop_assert!(scope.contains(f), "{} imported outside its scope", f.id);
            prop_assert!(!outside_ids.contains(&f.id) || inside_ids.contains(&f.id));
            prop_assert_eq!(f.validate(), Ok(()));
        }
        for id in p.unchanged.iter().chain(&p.held_back) {
            prop_assert!(inside_ids.contains(id));
        }
    }
}
