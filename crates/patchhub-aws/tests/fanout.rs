//! Fan-out across accounts and Regions, quotas and faults: nothing is lost, failures are named.

use std::collections::BTreeSet;

use awsim::Config;
use awsim::quota::QuotaConfig;
use patchhub_aws::ErrorKind;
use patchhub_aws::fanout::{AccountSource, FanOut, run_sync};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::targets::RegionSelection;
use patchhub_testkit::oracle::truth;
use patchhub_testkit::read::{assert_synced, findings, is_active};
use patchhub_testkit::run::{account_list, fan_out, opts, region_list, sync, sync_with};
use patchhub_testkit::{account_ids, scenario, sdk, start_account_with, start_with_hubs};

const R: &str = "us-east-1";

#[tokio::test]
async fn organization_of_three_accounts_and_two_regions_with_one_refused_role() {
    let (sim, fleet) = start_with_hubs("accounts=4,regions=2,instances=15,patches=20,seed=3").await;
    // The last account's role cannot be assumed (it does not exist there).
    let refused = fleet.accounts[3].id.clone();
    scenario::set_role(&sim, &refused, "PatchhubRole", false);
    let mgmt = fleet.accounts[0].id.clone();
    let regions = &fleet.accounts[0].regions;

    let fan = fan_out(
        AccountSource::Organization { ou: None },
        region_list(regions),
        Some("PatchhubRole"),
    );
    let report = sync_with(&sim, &mgmt, &fan, &opts()).await;
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
        let found = assert_synced(&sim, &fleet, &t.account, &t.region, "org sync").await;
        // Each finding sits in the account that owns it.
        assert!(
            found
                .iter()
                .all(|f| f.aws_account_id() == Some(t.account.as_str()))
        );
    }
    // The refused account got nothing.
    assert!(findings(&sim, &refused, &regions[0]).await.is_empty());
}

#[tokio::test]
async fn quotas_on_and_a_client_that_outruns_them_loses_nothing() {
    // Server at the published Security Hub quotas and an SSM rate with almost no burst: a
    // client that sends more than two SSM calls within 50 ms is throttled, which the greedy
    // client below does however slow a loaded machine makes it (it keeps several node reads in
    // flight at once), so the SDK's and patchhub's retries must carry every finding through.
    let mut quotas = QuotaConfig::aws();
    quotas.ssm = awsim::quota::Rate::new(20.0, 2.0);
    let config = Config {
        quotas,
        ..Config::default()
    };
    let spec = "accounts=1,regions=1,instances=120,patches=30,seed=4";
    let (sim, fleet, acct) = start_account_with(spec, config).await;
    // The kit's quotas are far above the published ones.
    let greedy = fan_out(AccountSource::Caller, region_list(&[R]), None);
    let report = sync_with(&sim, &acct, &greedy, &opts()).await;
    assert!(
        report.is_ok(),
        "{:#?}",
        report.targets[0]
            .failures
            .iter()
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_synced(&sim, &fleet, &acct, R, "greedy client").await;
    assert!(sim.stats().total_throttled() > 0, "the server did throttle");

    // With the limiter below the server's rate, the same work meets no throttle at all: the
    // server's bucket refills faster than the client spends it, so arrival jitter finds it full.
    scenario::edit_account(&sim, &acct, |a| a.instances.truncate(12));
    sim.reset_stats();
    // Time passes: the server's buckets, emptied by the greedy run, are full again.
    sim.sim().quotas.reset();
    let polite = FanOut {
        quotas: QuotaSettings {
            ssm: Rate::new(15.0, 1.0),
            ..QuotaSettings::default()
        },
        ..greedy
    };
    let report = sync_with(&sim, &acct, &polite, &opts()).await;
    assert!(report.is_ok());
    assert!(
        report.targets[0].resolved > 0,
        "the sweep archived the 108 removed nodes' findings"
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
        // The same fleet, other fault draws.
        let config = Config {
            seed,
            ..Config::default()
        };
        let spec = "accounts=1,regions=1,instances=80,patches=30,seed=9";
        let (sim, fleet, acct) = start_account_with(spec, config).await;
        sim.set_faults("throttle=0.2,error=0.05,fail_finding=0.05".parse().unwrap());
        let first = sync(&sim, &acct, &[R], opts()).await;
        let t = &first.targets[0];
        let found = findings(&sim, &acct, R).await;
        let active: BTreeSet<String> = found
            .iter()
            .filter(|f| is_active(f))
            .filter_map(|f| f.id().map(str::to_string))
            .collect();
        let expected = truth(&fleet, &acct, R);
        if first.is_ok() {
            assert!(
                expected.is_subset(&active),
                "seed {seed}: an ok run wrote everything"
            );
        } else {
            // Every expected finding that is missing is named in the report (or its node failed).
            let named: BTreeSet<&str> = t.failures.iter().map(|f| f.id.as_str()).collect();
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
        let second = sync(&sim, &acct, &[R], opts()).await;
        assert!(second.is_ok(), "seed {seed}: {:#?}", second.targets[0]);
        let found = assert_synced(&sim, &fleet, &acct, R, &format!("seed {seed}")).await;
        let ids: Vec<_> = found.iter().filter_map(|f| f.id()).collect();
        let unique: BTreeSet<_> = ids.iter().collect();
        assert_eq!(ids.len(), unique.len(), "seed {seed}: no duplicates");
        // And the run after that has nothing to do.
        sim.reset_stats();
        let third = sync(&sim, &acct, &[R], opts()).await;
        assert!(third.is_ok());
        assert_eq!(sim.stats().ingestion_events(), 0, "seed {seed}: converged");
    }
}

#[tokio::test]
async fn all_enabled_regions_sync_where_nodes_are_and_skip_the_quiet_ones() {
    let (sim, fleet) = start_with_hubs("accounts=2,regions=2,instances=10,patches=10,seed=5").await;
    // One node in a Region where the account never enabled Security Hub: that target cannot be
    // written and must say so; every other quiet Region has nothing to do.
    let stray_account = fleet.accounts[1].id.clone();
    scenario::edit_account(&sim, &stray_account, |a| {
        let mut stray = a.instances[0].clone();
        stray.id = "i-0aaaaaaaaaaaaaaa1".into();
        stray.region = "ca-central-1".into();
        a.instances.push(stray);
    });
    let mgmt = fleet.accounts[0].id.clone();

    let fan = fan_out(
        AccountSource::Organization { ou: None },
        RegionSelection::AllEnabled,
        Some("PatchhubRole"),
    );
    // From the home Region, the generator's first.
    let report = sync_with(&sim, &mgmt, &fan, &opts()).await;
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
            assert_synced(&sim, &fleet, &t.account, &t.region, "all enabled").await;
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
    let (sim, fleet) = start_with_hubs("accounts=30,regions=2,instances=2,patches=2,seed=11").await;
    let mgmt = fleet.accounts[0].id.clone();
    let regions: Vec<String> = fleet.accounts[0].regions.clone();
    // One base configuration for every run, as the fleet benchmark and a long-lived caller do.
    let base = sdk(&sim, &mgmt, &regions[0]).await;
    let fan = fan_out(
        account_list(&account_ids(&fleet)),
        region_list(&regions),
        Some("PatchhubRole"),
    );
    let accounts = fleet.accounts.len() as u64;
    for run in 1..=3 {
        sim.reset_stats();
        let report = run_sync(&base, &fan, &opts(), None)
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
