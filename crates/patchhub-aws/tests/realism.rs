//! patchhub against awsim's faithful defaults: organizations with suspended and closed
//! accounts, stopped and terminated nodes, hostile tags and a read lag. Each test names its source.

use std::collections::BTreeSet;

use awsim::Awsim;
use awsim::fleet::STOPPED;
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::fanout::{AccountSource, FanOut, RunReport, run_sync};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::sync::SyncOptions;
use patchhub_aws::targets::RegionSelection;
use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_ROLLUP, GENERATOR_STALE};
use patchhub_core::policy::FindingPolicy;
use patchhub_testkit::read::{assert_synced, findings, is_active};
use patchhub_testkit::{REGION, management_account, sdk, start_with_hubs as start};

async fn sync(
    sim: &Awsim,
    account: &str,
    accounts: AccountSource,
    role: Option<&str>,
    opts: SyncOptions,
) -> RunReport {
    let fan = FanOut {
        accounts,
        regions: RegionSelection::List(vec![REGION.to_string()]),
        role: RoleOptions {
            role_name: role.map(str::to_string),
            external_id: None,
            session_name: "patchhub-realism".into(),
        },
        concurrency: 4,
        per_account_concurrency: 2,
        quotas: QuotaSettings {
            batch_import: Rate::new(1000.0, 1000.0),
            get_findings: Rate::new(1000.0, 1000.0),
            ssm: Rate::new(1000.0, 1000.0),
        },
    };
    run_sync(&sdk(sim, account, REGION).await, &fan, &opts, None)
        .await
        .expect("run starts")
}

fn opts() -> SyncOptions {
    SyncOptions::new(FindingPolicy::default())
}

/// Active finding ids of one generator, with the node id each is about.
async fn active(sim: &Awsim, account: &str, generator: &str) -> BTreeSet<(String, String)> {
    findings(sim, account, REGION)
        .await
        .iter()
        .filter(|f| f.generator_id() == Some(generator) && is_active(f))
        .map(|f| {
            let node = f
                .resources()
                .first()
                .and_then(|r| r.id())
                .and_then(|id| id.rsplit('/').next())
                .unwrap_or_default()
                .to_string();
            (f.id().unwrap_or_default().to_string(), node)
        })
        .collect()
}

/// Source: the doc comment of `Account::status` in aws-sdk-organizations (Status retired on
/// September 9, 2026; `State` is `ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED`), and the
/// Organizations API reference on `NextToken` (a page may be empty and still carry a token;
/// awsim's first account page is). Suspended and closed accounts have no role to assume.
#[tokio::test]
async fn organization_sync_skips_suspended_and_closed_accounts_and_succeeds() {
    let (sim, fleet) =
        start("accounts=3,regions=1,instances=4,patches=6,suspended=1,closed=1").await;
    let mgmt = management_account(&fleet);
    let report = sync(
        &sim,
        &mgmt,
        AccountSource::Organization { ou: None },
        Some("PatchhubRole"),
        opts(),
    )
    .await;
    assert!(report.is_ok(), "{report:#?}");
    assert!(report.account_errors.is_empty());
    let mut skipped: Vec<(String, String)> = report
        .skipped_accounts
        .iter()
        .map(|s| (s.account.clone(), s.state.clone()))
        .collect();
    skipped.sort();
    let mut expected: Vec<(String, String)> = fleet
        .accounts
        .iter()
        .filter(|a| a.status != "ACTIVE")
        .map(|a| (a.id.clone(), a.status.clone()))
        .collect();
    expected.sort();
    assert_eq!(skipped, expected);
    assert_eq!(expected.len(), 2);
    let synced: BTreeSet<&str> = report.targets.iter().map(|t| t.account.as_str()).collect();
    assert_eq!(synced.len(), 3, "the three ACTIVE accounts");
    assert!(report.targets.iter().all(|t| t.failed == 0));
}

/// Source: SSM API reference, DescribeInstanceInformation (stopped and terminated nodes are not
/// returned) and the Patch Manager user guide (compliance data stays until overwritten by the next
/// scan; terminated nodes lose it). Stopping nodes must not change their patch findings or
/// roll-ups, nor add a lost-agent stale finding; `--instance` on a stopped node works; a
/// terminated node's findings are archived by the next sweep.
#[tokio::test]
async fn stopped_nodes_keep_their_findings_and_terminated_ones_are_archived() {
    let spec = "accounts=1,regions=1,instances=16,patches=8";
    let (base_sim, base) = start(spec).await;
    let (sim, fleet) = start(&format!("{spec},stopped=25")).await;
    let account = fleet.accounts[0].id.clone();
    assert_eq!(
        account, base.accounts[0].id,
        "same fleet, some nodes stopped"
    );
    let stopped: Vec<String> = fleet.accounts[0]
        .instances
        .iter()
        .filter(|i| i.ping_status == STOPPED && i.operation.is_some())
        .map(|i| i.id.clone())
        .collect();
    assert!(!stopped.is_empty());

    for s in [&base_sim, &sim] {
        let r = sync(s, &account, AccountSource::Caller, None, opts()).await;
        assert!(r.is_ok(), "{r:#?}");
    }
    for generator in [GENERATOR_PATCH, GENERATOR_ROLLUP] {
        assert_eq!(
            active(&sim, &account, generator).await,
            active(&base_sim, &account, generator).await,
            "{generator}: stopping nodes changes nothing"
        );
    }
    let rollups = active(&sim, &account, GENERATOR_ROLLUP).await;
    for s in &stopped {
        assert!(rollups.iter().any(|(_, n)| n == s), "{s} keeps its roll-up");
    }
    let stale_base = active(&base_sim, &account, GENERATOR_STALE).await;
    let stale = active(&sim, &account, GENERATOR_STALE).await;
    assert!(
        stale.is_subset(&stale_base),
        "stopping a node never makes it a lost agent"
    );

    // Single-node mode on a stopped node.
    let mut one = opts();
    one.only_instance = Some(stopped[0].clone());
    let r = sync(&sim, &account, AccountSource::Caller, None, one).await;
    assert!(r.is_ok(), "{r:#?}");
    assert_eq!(r.targets[0].nodes_read, 1);

    // Terminate it: the next sweep archives its findings.
    let gone = stopped[0].clone();
    let mut after = sim.export_fleet();
    after.accounts[0].instances.retain(|i| i.id != gone);
    sim.load_fleet(after).unwrap();
    let r = sync(&sim, &account, AccountSource::Caller, None, opts()).await;
    assert!(r.is_ok(), "{r:#?}");
    for generator in [GENERATOR_PATCH, GENERATOR_ROLLUP] {
        assert!(
            active(&sim, &account, generator)
                .await
                .iter()
                .all(|(_, n)| n != &gone),
            "{gone}'s {generator} findings are archived"
        );
    }
}

/// The first ACTIVE account of the fleet.
fn active_account(fleet: &awsim::Fleet) -> String {
    fleet
        .accounts
        .iter()
        .find(|a| a.status == "ACTIVE")
        .map(|a| a.id.clone())
        .unwrap()
}

/// Everything unkind at once, as issue-level realism asks: an organization with a suspended and a
/// closed account, stopped nodes, tags Security Hub refuses (generated fleets carry them), and a
/// 60-second read lag (prowler issue #684: Security Hub's reads are eventually consistent). A
/// sync, a second one inside the lag, and after the lag each account holds exactly the truth: no
/// finding missing or stored twice, the first write's dates kept, and a third run imports nothing.
#[tokio::test]
async fn an_unkind_organization_converges_to_the_exact_truth_after_one_rerun() {
    let (sim, fleet) = start(
        "accounts=3,regions=1,instances=12,patches=10,suspended=1,closed=1,stopped=20,seed=17",
    )
    .await;
    sim.sim().set_read_lag_ms(60_000);
    let mgmt = management_account(&fleet);
    // Filtering on a tag copies it into the findings (sanitised), without excluding any node.
    let policy = FindingPolicy {
        exclude_tags: vec!["Owner=nobody-has-this-owner".parse().unwrap()],
        ..FindingPolicy::default()
    };
    let run = |opts: SyncOptions| {
        let (sim, mgmt) = (&sim, mgmt.clone());
        async move {
            sync(
                sim,
                &mgmt,
                AccountSource::Organization { ou: None },
                Some("PatchhubRole"),
                opts,
            )
            .await
        }
    };
    // The dates each finding had when it was first written.
    let written: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, (i64, i64)>>> =
        Default::default();
    let w = written.clone();
    let mut first_opts = SyncOptions::new(policy.clone());
    first_opts.observer = Some(std::sync::Arc::new(move |f, _| {
        let first_observed = f.first_observed_at.map_or(0, |t| t.timestamp_millis());
        w.lock().unwrap().insert(
            f.id.clone(),
            (f.created_at.timestamp_millis(), first_observed),
        );
    }));
    let first = run(first_opts).await;
    assert!(first.is_ok(), "{first:#?}");
    assert!(
        findings(&sim, &active_account(&fleet), REGION)
            .await
            .is_empty(),
        "nothing is visible inside the lag"
    );
    assert_eq!(
        first.skipped_accounts.len(),
        2,
        "the suspended and the closed account"
    );
    let active: Vec<String> = fleet
        .accounts
        .iter()
        .filter(|a| a.status == "ACTIVE")
        .map(|a| a.id.clone())
        .collect();
    let millis = |s: Option<&str>| {
        s.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map_or(0, |t| t.timestamp_millis())
    };
    let dates = |found: &[aws_sdk_securityhub::types::AwsSecurityFinding]| {
        found
            .iter()
            .map(|f| {
                let id = f.id().unwrap_or_default().to_string();
                (id, (millis(f.created_at()), millis(f.first_observed_at())))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };

    // Inside the lag nothing is visible yet: the re-run writes again, with the same dates.
    let second = run(SyncOptions::new(policy.clone())).await;
    assert!(second.is_ok(), "{second:#?}");
    sim.sim().clock.advance(chrono::Duration::seconds(61));
    let mut before = Vec::new();
    for a in &active {
        let found = assert_synced(&sim, &fleet, a, REGION, "after the lag").await;
        let ids: Vec<&str> = found.iter().filter_map(|f| f.id()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "{a}: a finding stored twice");
        let now = dates(&found);
        let first = written.lock().unwrap();
        for (id, d) in &now {
            assert_eq!(
                Some(d),
                first.get(id),
                "{id}: the re-run inside the lag kept the dates"
            );
        }
        before.push(now);
    }

    // After the lag: nothing new, nothing re-dated.
    sim.reset_stats();
    let third = run(SyncOptions::new(policy)).await;
    assert!(third.is_ok(), "{third:#?}");
    assert_eq!(sim.stats().ingestion_events(), 0, "{third:#?}");
    for (a, b) in active.iter().zip(before) {
        assert_eq!(
            dates(&findings(&sim, a, REGION).await),
            b,
            "{a}: dates kept"
        );
    }
}
