//! The fleet generator: deterministic per seed, valid, and shaped like a real estate.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use awsim::GenerateSpec;
use awsim::fleet::{Fleet, InstanceSpec};
use awsim::generate::{REGIONS, generate};
use chrono::{DateTime, Duration, Utc};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn spec(s: &str) -> GenerateSpec {
    s.parse().unwrap()
}

fn non_compliant(n: &InstanceSpec) -> bool {
    let compliant = n.available_security_updates_compliant;
    n.patches
        .iter()
        .any(|p| common::counts_against(&p.state, compliant))
}

fn share(nodes: &[&InstanceSpec], f: impl Fn(&InstanceSpec) -> bool) -> f64 {
    nodes.iter().filter(|n| f(n)).count() as f64 / nodes.len() as f64
}

#[test]
fn same_seed_same_fleet() {
    let s = spec("accounts=2,regions=2,instances=40,patches=15,seed=42");
    let a = generate(&s, now());
    let b = generate(&s, now());
    assert_eq!(a, b);
    let json_a = serde_json::to_string(&a).unwrap();
    assert_eq!(json_a, serde_json::to_string(&b).unwrap());
    let other = generate(
        &spec("accounts=2,regions=2,instances=40,patches=15,seed=43"),
        now(),
    );
    assert_ne!(a, other);
    // Round-trips through the fleet file format and passes validation.
    assert_eq!(Fleet::from_json(&json_a).unwrap(), a);
}

#[test]
fn organization_accounts_and_regions() {
    let f = generate(&spec("accounts=4,regions=3,instances=5,patches=5"), now());
    let org = f.organization.as_ref().unwrap();
    assert!(org.id.starts_with("o-") && org.id.len() == 12);
    assert!(org.root_id.starts_with("r-"));
    assert!(org.organizational_units.len() >= 2);
    for ou in &org.organizational_units {
        assert!(
            ou.id.starts_with(&format!("ou-{}-", &org.root_id[2..])),
            "{}",
            ou.id
        );
    }
    assert_eq!(f.accounts.len(), 4);
    assert_eq!(org.management_account, f.accounts[0].id);
    let ids: HashSet<&str> = f.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), 4);
    for a in &f.accounts {
        assert_eq!(a.id.len(), 12);
        assert!(a.id.bytes().all(|b| b.is_ascii_digit()));
        assert!(a.roles.iter().any(|r| r.name == "PatchhubRole"));
        assert_eq!(
            a.regions,
            REGIONS[..3]
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
        );
        assert_eq!(&a.regions[..3], ["us-east-1", "eu-west-1", "us-west-2"]);
        for r in &a.regions {
            assert_eq!(a.instances.iter().filter(|i| &i.region == r).count(), 5);
        }
        if a.id != org.management_account {
            assert!(
                a.roles
                    .iter()
                    .any(|r| r.name == "OrganizationAccountAccessRole")
            );
            let parent = a.parent.as_ref().unwrap();
            assert!(org.organizational_units.iter().any(|ou| &ou.id == parent));
        }
    }
    assert!(f.validate().is_ok());
}

#[test]
fn realistic_mix() {
    let f = generate(
        &spec("accounts=1,regions=1,instances=3000,patches=30,seed=5"),
        now(),
    );
    let nodes: Vec<&InstanceSpec> = f.accounts[0].instances.iter().collect();
    assert_eq!(nodes.len(), 3000);
    let within = |name: &str, x: f64, lo: f64, hi: f64| {
        eprintln!("{name}: {x:.3}");
        assert!((lo..=hi).contains(&x), "{name}: {x:.3} not in {lo}..{hi}");
    };
    within(
        "windows",
        share(&nodes, |n| n.platform_type == "Windows"),
        0.35,
        0.45,
    );
    within(
        "hybrid",
        share(&nodes, |n| n.id.starts_with("mi-")),
        0.08,
        0.12,
    );
    within(
        "connection lost",
        share(&nodes, |n| n.ping_status == "ConnectionLost"),
        0.02,
        0.045,
    );
    let scanned: Vec<&InstanceSpec> = nodes
        .iter()
        .copied()
        .filter(|n| n.operation.is_some())
        .collect();
    within(
        "never scanned",
        1.0 - scanned.len() as f64 / nodes.len() as f64,
        0.01,
        0.035,
    );
    within("non-compliant", share(&scanned, non_compliant), 0.30, 0.42);
    within(
        "pending reboot",
        share(&scanned, |n| {
            n.patches
                .iter()
                .any(|p| p.state == "INSTALLED_PENDING_REBOOT")
        }),
        0.035,
        0.07,
    );
    let stale = |n: &InstanceSpec| n.operation_end_time.unwrap() < now() - Duration::days(10);
    within("stale", share(&scanned, stale), 0.035, 0.075);
    let names: Vec<&str> = ["Amazon Linux", "Ubuntu", "Red Hat Enterprise Linux"].to_vec();
    for name in names {
        assert!(nodes.iter().any(|n| n.platform_name == name), "{name}");
    }

    // Ids and fields look like AWS's.
    let mut ids = HashSet::new();
    for n in &nodes {
        assert!(awsim::fleet::valid_instance_id(&n.id), "{}", n.id);
        assert!(ids.insert(n.id.as_str()));
        assert!(n.tags.contains_key("Name"));
        assert!(
            n.baseline_id.starts_with("pb-") && n.baseline_id.len() == 20,
            "{}",
            n.baseline_id
        );
        if let Some(e) = &n.execution_id {
            assert_eq!(e.len(), 36);
        }
        let patches = n.patches.len();
        assert!((22..=38).contains(&patches), "{patches} patches");
        for p in &n.patches {
            if n.platform_type == "Windows" {
                assert!(p.id.starts_with("KB") && p.id.len() == 9, "{}", p.id);
                assert!(p.title.contains(&p.id), "{}", p.title);
                assert!(
                    [
                        "SecurityUpdates",
                        "CriticalUpdates",
                        "Updates",
                        "UpdateRollups",
                        "DefinitionUpdates"
                    ]
                    .contains(&p.classification.as_str())
                );
            } else {
                assert!(["Security", "Bugfix", "Enhancement"].contains(&p.classification.as_str()));
                if n.platform_name == "Amazon Linux" {
                    assert!(
                        p.id.contains(".x86_64:") && p.id.contains(".amzn2023."),
                        "{}",
                        p.id
                    );
                }
            }
            for c in &p.cve_ids {
                let parts: Vec<&str> = c.split('-').collect();
                assert_eq!(parts.len(), 3, "{c}");
                assert_eq!(parts[0], "CVE");
                assert!(parts[2].len() >= 4 && parts[2].bytes().all(|b| b.is_ascii_digit()));
            }
            assert!(
                [
                    "CRITICAL",
                    "HIGH",
                    "MEDIUM",
                    "LOW",
                    "INFORMATIONAL",
                    "UNSPECIFIED"
                ]
                .contains(&p.compliance_severity.as_str())
            );
            assert_eq!(
                p.installed_time.is_some(),
                p.state.starts_with("INSTALLED"),
                "{}",
                p.state
            );
        }
    }
    // Security patches carry CVEs, others none.
    let all: Vec<_> = nodes.iter().flat_map(|n| n.patches.iter()).collect();
    assert!(all.iter().any(|p| p.cve_ids.len() >= 2));
    assert!(
        all.iter()
            .filter(|p| p.classification == "Bugfix")
            .all(|p| p.cve_ids.is_empty())
    );

    // Catalogs are shared, so the top missing patches are missing on many nodes.
    let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
    for p in nodes
        .iter()
        .flat_map(|n| n.patches.iter())
        .filter(|p| p.state == "MISSING")
    {
        *missing.entry(p.id.as_str()).or_default() += 1;
    }
    let mut counts: Vec<usize> = missing.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    assert!(counts[0] >= 30, "top missing patch on {} nodes", counts[0]);
    assert!(counts.len() >= 10);
    // Most nodes share their scan's command id (a maintenance window), not one id each.
    let mut exec: BTreeMap<&str, usize> = BTreeMap::new();
    for n in &scanned {
        *exec.entry(n.execution_id.as_deref().unwrap()).or_default() += 1;
    }
    assert!(exec.values().max().unwrap() * 2 > scanned.len());
}

#[test]
fn large_fleets_generate_quickly() {
    let s = spec("accounts=1,regions=1,instances=10000,patches=40,seed=9");
    let started = Instant::now();
    let f = generate(&s, now());
    let took = started.elapsed();
    let patches: usize = f.accounts[0]
        .instances
        .iter()
        .map(|i| i.patches.len())
        .sum();
    assert_eq!(f.accounts[0].instances.len(), 10_000);
    assert!(patches > 350_000, "{patches}");
    // The budget is 1 s in release; unoptimized test builds get headroom.
    let budget = if cfg!(debug_assertions) { 15.0 } else { 1.0 };
    assert!(took.as_secs_f64() < budget, "took {took:?}");
    eprintln!("generated 10,000 nodes x ~40 patches in {took:?}");
}

#[test]
fn spec_parsing() {
    assert!("accounts=0".parse::<GenerateSpec>().is_err());
    assert!("regions=17".parse::<GenerateSpec>().is_err());
    assert!("colour=3".parse::<GenerateSpec>().is_err());
    let s = spec("accounts=3,regions=2,instances=500,patches=40,seed=7");
    assert_eq!(
        (s.accounts, s.regions, s.instances, s.patches, s.seed),
        (3, 2, 500, 40, 7)
    );
    // Empty corners still make a valid fleet.
    let f = generate(&spec("instances=0,patches=0"), now());
    assert!(f.accounts[0].instances.is_empty());
    let f = generate(&spec("instances=3,patches=0"), now());
    assert!(f.accounts[0].instances.iter().all(|i| i.patches.is_empty()));
}

#[tokio::test]
async fn generated_fleets_load_and_serve() {
    let sim = common::start_empty().await;
    let fleet = sim
        .generate(&spec("accounts=2,regions=2,instances=20,patches=10,seed=3"))
        .unwrap();
    let exported = sim.export_fleet();
    assert_eq!(exported.accounts.len(), 2);
    let count = |f: &Fleet| f.accounts.iter().map(|a| a.instances.len()).sum::<usize>();
    assert_eq!(count(&exported), count(&fleet));
    // Exported truth is the generated truth.
    let find = |f: &Fleet, id: &str| {
        f.accounts
            .iter()
            .flat_map(|a| a.instances.iter())
            .find(|i| i.id == id)
            .cloned()
            .unwrap()
    };
    for n in fleet.accounts.iter().flat_map(|a| a.instances.iter()) {
        assert_eq!(find(&exported, &n.id), *n);
    }
}
