//! Fan-out across accounts and Regions, quotas and faults: nothing is lost, failures are named.

mod common;

use awsim::Config;
use awsim::quota::QuotaConfig;
use patchhub_aws::ErrorKind;
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::fanout::{AccountSource, FanOut, run_sync};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::targets::{AccountTarget, RegionSelection};
use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_ROLLUP};

#[tokio::test]
async fn organization_of_three_accounts_and_two_regions_with_one_refused_role() {
    let (sim, fleet) = common::start(
        "accounts=4,regions=2,instances=15,patches=20,seed=3",
        Config::default(),
    )
    .await;
    common::enable_hubs(&sim, &fleet).await;
    // The last account's role cannot be assumed (it does not exist there).
    let mut f = sim.export_fleet();
    let refused = f.accounts[3].id.clone();
    f.accounts[3].roles.clear();
    sim.load_fleet(f).unwrap();
    let mgmt = fleet.accounts[0].id.clone();
    let regions: Vec<String> = fleet.accounts[0].regions.clone();
    let regions: Vec<&str> = regions.iter().map(String::as_str).collect();

    let report = common::sync_with(
        &sim,
        &mgmt,
        &regions,
        common::opts(),
        AccountSource::Organization { ou: None },
        Some("PatchhubRole"),
        common::fast_quotas(),
    )
    .await;
    assert!(!report.is_ok(), "a refused role makes the run incomplete");
    assert_eq!(report.account_errors.len(), 1);
    assert_eq!(report.account_errors[0].account, refused);
    assert!(
        report.account_errors[0].error.contains("PatchhubRole"),
        "{}",
        report.account_errors[0].error
    );
    assert_eq!(report.targets.len(), 6, "3 accounts x 2 Regions done");
    for t in &report.targets {
        assert!(t.is_ok(), "{t:#?}");
        let found = common::findings(&sim, &t.account, &t.region).await;
        assert_eq!(
            common::active_ids(&found, GENERATOR_PATCH),
            common::expected_patch_ids(&fleet, &t.account, &t.region)
        );
        assert_eq!(
            common::active_ids(&found, GENERATOR_ROLLUP),
            common::expected_rollup_ids(&fleet, &t.account, &t.region)
        );
        // Each finding sits in the account that owns it.
        assert!(
            found
                .iter()
                .all(|f| f.aws_account_id() == Some(t.account.as_str()))
        );
    }
    // The refused account got nothing.
    assert!(
        common::findings(&sim, &refused, regions[0])
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn quotas_on_and_a_client_that_outruns_them_loses_nothing() {
    // Server at the published quotas (SSM raised so the test is quick); the client's own limiter
    // set far above them, so the server throttles and the SDK's and patchhub's retries must
    // carry every finding through.
    let mut quotas = QuotaConfig::aws();
    quotas.ssm = awsim::quota::Rate::new(200.0, 400.0);
    let (sim, fleet) = common::start(
        "accounts=1,regions=1,instances=600,patches=30,seed=4",
        Config {
            quotas,
            ..Config::default()
        },
    )
    .await;
    let acct = fleet.accounts[0].id.clone();
    common::enable_hubs(&sim, &fleet).await;
    let greedy = QuotaSettings {
        batch_import: Rate::new(1000.0, 1000.0),
        get_findings: Rate::new(1000.0, 1000.0),
        ssm: Rate::new(1000.0, 1000.0),
    };
    let report = common::sync_with(
        &sim,
        &acct,
        &["us-east-1"],
        common::opts(),
        AccountSource::Caller,
        None,
        greedy,
    )
    .await;
    assert!(
        report.is_ok(),
        "{:#?}",
        report.targets[0]
            .failures
            .iter()
            .take(5)
            .collect::<Vec<_>>()
    );
    let found = common::findings(&sim, &acct, "us-east-1").await;
    assert_eq!(
        common::active_ids(&found, GENERATOR_PATCH),
        common::expected_patch_ids(&fleet, &acct, "us-east-1")
    );
    assert!(sim.stats().total_throttled() > 0, "the server did throttle");

    // With the limiter at the published quotas, the same work meets no throttle at all.
    let mut f = sim.export_fleet();
    f.accounts[0].instances.truncate(60);
    sim.load_fleet(f).unwrap();
    sim.reset_stats();
    // Time passes: the server's buckets, emptied by the greedy run, are full again.
    sim.sim().quotas.reset();
    let polite = QuotaSettings {
        ssm: Rate::new(200.0, 400.0),
        ..QuotaSettings::default()
    };
    let report = common::sync_with(
        &sim,
        &acct,
        &["us-east-1"],
        common::opts(),
        AccountSource::Caller,
        None,
        polite,
    )
    .await;
    assert!(report.is_ok());
    assert!(
        report.targets[0].resolved > 0,
        "the sweep archived the 540 removed nodes' findings"
    );
    assert_eq!(
        sim.stats().total_throttled(),
        0,
        "a client at the quota is never throttled"
    );
}

#[tokio::test]
async fn faults_either_complete_or_report_exactly_and_a_rerun_converges() {
    for seed in [1u64, 2, 3] {
        let (sim, fleet) = common::start(
            "accounts=1,regions=1,instances=80,patches=30,seed=9",
            Config {
                seed,
                ..Config::default()
            },
        )
        .await;
        let acct = fleet.accounts[0].id.clone();
        common::enable_hubs(&sim, &fleet).await;
        sim.set_faults("throttle=0.2,error=0.05,fail_finding=0.05".parse().unwrap());
        let first = common::sync(&sim, &acct, &["us-east-1"], common::opts()).await;
        let t = &first.targets[0];
        let found = common::findings(&sim, &acct, "us-east-1").await;
        let active: std::collections::BTreeSet<String> = found
            .iter()
            .filter(|f| f.record_state().map(|r| r.as_str()) == Some("ACTIVE"))
            .filter_map(|f| f.id().map(str::to_string))
            .collect();
        let expected: std::collections::BTreeSet<String> =
            common::expected_patch_ids(&fleet, &acct, "us-east-1")
                .union(&common::expected_rollup_ids(&fleet, &acct, "us-east-1"))
                .cloned()
                .collect();
        if first.is_ok() {
            assert!(
                expected.is_subset(&active),
                "seed {seed}: an ok run wrote everything"
            );
        } else {
            // Every expected finding that is missing is named in the report (or its node failed).
            let named: std::collections::BTreeSet<&str> =
                t.failures.iter().map(|f| f.id.as_str()).collect();
            for id in expected.difference(&active) {
                assert!(
                    named.contains(id.as_str()) || t.error.is_some(),
                    "seed {seed}: {id} missing but not reported"
                );
            }
        }
        let extra: Vec<_> = active
            .difference(&expected)
            .filter(|id| !id.ends_with("/stale-scan"))
            .collect();
        assert!(extra.is_empty(), "seed {seed}: unexpected {extra:?}");

        // Faults gone: the next run converges, with no duplicates.
        sim.set_faults(awsim::faults::FaultSpec::default());
        let second = common::sync(&sim, &acct, &["us-east-1"], common::opts()).await;
        assert!(second.is_ok(), "seed {seed}: {:#?}", second.targets[0]);
        let found = common::findings(&sim, &acct, "us-east-1").await;
        assert_eq!(
            common::active_ids(&found, GENERATOR_PATCH),
            common::expected_patch_ids(&fleet, &acct, "us-east-1"),
            "seed {seed}"
        );
        assert_eq!(
            common::active_ids(&found, GENERATOR_ROLLUP),
            common::expected_rollup_ids(&fleet, &acct, "us-east-1"),
            "seed {seed}"
        );
        let ids: Vec<_> = found.iter().filter_map(|f| f.id()).collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), unique.len(), "seed {seed}: no duplicates");
        // And the run after that has nothing to do.
        sim.reset_stats();
        let third = common::sync(&sim, &acct, &["us-east-1"], common::opts()).await;
        assert!(third.is_ok());
        assert_eq!(sim.stats().ingestion_events(), 0, "seed {seed}: converged");
    }
}

#[tokio::test]
async fn all_enabled_regions_sync_where_nodes_are_and_skip_the_quiet_ones() {
    let (sim, fleet) = common::start(
        "accounts=2,regions=2,instances=10,patches=10,seed=5",
        Config::default(),
    )
    .await;
    common::enable_hubs(&sim, &fleet).await;
    // One node in a Region where the account never enabled Security Hub: that target cannot be
    // written and must say so; every other quiet Region has nothing to do.
    let mut f = sim.export_fleet();
    let stray_account = f.accounts[1].id.clone();
    let mut stray = f.accounts[1].instances[0].clone();
    stray.id = "i-0aaaaaaaaaaaaaaa1".into();
    stray.region = "ca-central-1".into();
    f.accounts[1].instances.push(stray);
    sim.load_fleet(f).unwrap();
    let mgmt = fleet.accounts[0].id.clone();
    let home = fleet.accounts[0].regions[0].clone();

    let base = common::sdk(&sim, &mgmt, &home).await;
    let fan = FanOut {
        accounts: AccountSource::Organization { ou: None },
        regions: RegionSelection::AllEnabled,
        role: RoleOptions {
            role_name: Some("PatchhubRole".into()),
            external_id: None,
            session_name: "patchhub-test".into(),
        },
        concurrency: 8,
        per_account_concurrency: 4,
        quotas: common::fast_quotas(),
    };
    let report = run_sync(&base, &fan, &common::opts(), None).await.unwrap();
    assert!(
        report.account_errors.is_empty(),
        "{:?}",
        report.account_errors
    );

    let disabled = &fleet.accounts[0].disabled_regions;
    assert!(!disabled.is_empty());
    for t in &report.targets {
        assert!(
            !disabled.contains(&t.region),
            "a disabled opt-in Region was synced: {t:?}"
        );
        let in_fleet = fleet
            .accounts
            .iter()
            .any(|a| a.id == t.account && a.regions.contains(&t.region));
        if in_fleet {
            assert!(t.is_ok() && t.skipped.is_none(), "{t:#?}");
            let found = common::findings(&sim, &t.account, &t.region).await;
            assert_eq!(
                common::active_ids(&found, GENERATOR_PATCH),
                common::expected_patch_ids(&fleet, &t.account, &t.region)
            );
        } else if t.account == stray_account && t.region == "ca-central-1" {
            assert_eq!(t.error_kind, Some(ErrorKind::HubNotEnabled), "{t:#?}");
            assert_eq!(t.nodes_read, 1);
        } else {
            assert!(t.is_ok(), "{t:#?}");
            assert!(t.skipped.is_some(), "{t:#?}");
            assert_eq!(t.ingestion_events(), 0);
        }
    }
    // Both accounts, every enabled Region of the commercial catalogue (17 default + 14 opt-in).
    let per_account = report.targets.len() / 2;
    assert_eq!(report.targets.len(), 2 * per_account);
    assert!(per_account >= 17, "{per_account} Regions per account");
    assert!(
        !report.is_ok(),
        "the stray node's Region makes the run incomplete"
    );
    let written: usize = report
        .targets
        .iter()
        .filter(|t| t.skipped.is_none())
        .count();
    assert_eq!(written, 2 * 2 + 1, "4 fleet targets and the stray one");
}

#[tokio::test]
async fn every_run_assumes_each_role_once_even_when_runs_share_the_base_config() {
    // Enough accounts that three runs create more credentials providers (one per account and
    // run) than the SDK identity cache's 64 partitions: sessions that shared the base
    // configuration's cache then evicted each other's credentials and assumed roles again.
    let (sim, fleet) = common::start(
        "accounts=30,regions=2,instances=2,patches=2,seed=11",
        Config::default(),
    )
    .await;
    common::enable_hubs(&sim, &fleet).await;
    let mgmt = fleet.accounts[0].id.clone();
    let regions: Vec<String> = fleet.accounts[0].regions.clone();
    // One base configuration for every run, as the fleet benchmark and a long-lived caller do.
    let base = common::sdk(&sim, &mgmt, &regions[0]).await;
    let fan = FanOut {
        accounts: AccountSource::List(
            fleet
                .accounts
                .iter()
                .map(|a| AccountTarget {
                    id: a.id.clone(),
                    email: None,
                })
                .collect(),
        ),
        regions: RegionSelection::List(regions.clone()),
        role: RoleOptions {
            role_name: Some("PatchhubRole".into()),
            external_id: None,
            session_name: "patchhub-test".into(),
        },
        concurrency: 8,
        per_account_concurrency: 4,
        quotas: common::fast_quotas(),
    };
    let accounts = fleet.accounts.len() as u64;
    for run in 1..=3 {
        sim.reset_stats();
        let report = run_sync(&base, &fan, &common::opts(), None)
            .await
            .expect("run starts");
        assert!(report.is_ok(), "run {run}: {report:#?}");
        assert_eq!(report.targets.len(), fleet.accounts.len() * regions.len());
        // Every account is entered through the role (the caller's own too): the early check's
        // credentials serve the whole run, so one AssumeRole per account.
        assert_eq!(
            sim.stats().calls_of("AssumeRole"),
            accounts,
            "run {run}: AssumeRole calls"
        );
    }
}
