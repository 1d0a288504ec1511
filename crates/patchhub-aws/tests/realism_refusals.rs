//! patchhub against what Security Hub refuses: a foreign finding that refuses a whole
//! `BatchImportFindings` call, and node tags Security Hub would refuse. Each test names its
//! source.

use std::collections::BTreeSet;

use chrono::{Duration, Utc};
use patchhub_aws::clients::base_session;
use patchhub_aws::sink::{FindingSink, SecurityHubSink};
use patchhub_aws::sync::SyncOptions;
use patchhub_aws::target::Target;
use patchhub_core::finding::Finding;
use patchhub_core::mapping::rollup_finding;
use patchhub_core::policy::FindingPolicy;
use patchhub_testkit::fakes::node;
use patchhub_testkit::read::findings;
use patchhub_testkit::run::sync;
use patchhub_testkit::{REGION, fast_quotas, runtime, sdk, start_account};

/// Another account: findings claiming it refuse the whole call.
const FOREIGN: &str = "210987654321";

/// `n` roll-up findings of `account`, one per node.
fn rollups(account: &str, n: usize) -> Vec<Finding> {
    let policy = FindingPolicy::default();
    let now = Utc::now();
    (0..n)
        .filter_map(|i| {
            let nc = node(
                account,
                REGION,
                &format!("i-{i:08}"),
                now - Duration::hours(1),
                vec![],
            );
            rollup_finding(&nc.node, &policy, now)
        })
        .collect()
}

/// awsim with one account whose hub is on, the account, and its Security Hub sink.
async fn one_hub() -> (awsim::Awsim, String, SecurityHubSink) {
    let (sim, _, account) = start_account("accounts=1,regions=1,instances=1,patches=1").await;
    let session = base_session(&sdk(&sim, &account, REGION).await)
        .await
        .unwrap();
    let sink = Target::new(&session, REGION, fast_quotas()).hub();
    (sim, account, sink)
}

/// `BatchImportFindings` calls awsim has served.
fn import_calls(sim: &awsim::Awsim) -> u64 {
    sim.stats().calls_of("BatchImportFindings")
}

/// Source: AWS Support, quoted in prowler issue #867: one finding whose `AwsAccountId` is not
/// the caller's makes Security Hub refuse the whole call with `AccessDeniedException`. The sink
/// splits a refused call by account and product: every other finding lands, the refused ones
/// are reported as failed (not lost), and the split costs one call per account and product.
#[test]
fn a_refused_call_is_split_by_account_and_product() {
    runtime().block_on(async {
        let (sim, account, sink) = one_hub().await;
        let mut batch = rollups(&account, 40);
        assert_eq!(batch.len(), 40);
        for i in [7, 31] {
            batch[i].aws_account_id = FOREIGN.to_string();
        }
        let foreign: BTreeSet<String> = [7, 31].iter().map(|&i| batch[i].id.clone()).collect();
        let before = import_calls(&sim);
        let outcome = sink.import(batch.clone()).await;

        let failed: BTreeSet<String> = outcome.failed.iter().map(|f| f.id.clone()).collect();
        assert_eq!(failed, foreign, "{:?}", outcome.failed);
        assert!(
            outcome
                .failed
                .iter()
                .all(|f| f.code == "AccessDeniedException"),
            "{:?}",
            outcome.failed
        );
        assert_eq!(outcome.imported.len(), 38);
        assert!(
            outcome.call_error.is_none(),
            "isolated refusals are per finding"
        );
        // The refused call, then one call for the 38 own findings and one for the 2 foreign.
        assert_eq!(import_calls(&sim) - before, 3);

        let held: BTreeSet<String> = findings(&sim, &account, REGION)
            .await
            .iter()
            .filter_map(|f| f.id().map(str::to_string))
            .collect();
        let expected: BTreeSet<String> = batch
            .iter()
            .map(|f| f.id.clone())
            .filter(|id| !foreign.contains(id))
            .collect();
        assert_eq!(held, expected);
    });
}

/// A call refused whatever it holds (here: every finding foreign) is a refusal of the caller:
/// every finding is reported, the target carries the error, and later chunks are not split.
#[test]
fn a_call_refused_whatever_it_holds_fails_the_target() {
    runtime().block_on(async {
        let (sim, account, sink) = one_hub().await;
        let mut batch = rollups(&account, 104);
        for f in &mut batch {
            f.aws_account_id = FOREIGN.to_string();
        }
        let before = import_calls(&sim);
        let outcome = sink.import(batch).await;
        assert_eq!(outcome.failed.len(), 104);
        assert!(outcome.imported.is_empty());
        let err = outcome.call_error.expect("the target carries the refusal");
        assert_eq!(err.code.as_deref(), Some("AccessDeniedException"));
        // One account and product: neither chunk (100, then 4) can be refused in part, so
        // neither is split.
        assert_eq!(import_calls(&sim) - before, 1 + 1);
    });
}

/// Sources: EC2 user guide, "Tag restrictions" (EC2 allows any character in tags); Security Hub
/// user guide, "Tagging Security Hub resources" (letters, numbers, spaces and `_ . : / = + - @`),
/// the model's `NonEmptyString` for map values. A generated fleet carries such tags by default;
/// a sync copies the tags it was asked about (exclusion tags) into the findings' resources, so
/// a policy naming them brings them in: the sync rewrites or leaves them out, counts them in the
/// run report, and loses no finding.
#[test]
fn tags_security_hub_refuses_are_repaired_counted_and_cost_no_finding() {
    runtime().block_on(async {
        let (sim, fleet, account) =
            start_account("accounts=1,regions=1,instances=60,patches=5").await;
        let carrying = |key: &str, value: &str| {
            fleet.accounts[0]
                .instances
                .iter()
                .filter(|i| i.region == REGION && i.ping_status != awsim::fleet::STOPPED)
                .filter(|i| i.tags.get(key).map(String::as_str) == Some(value))
                .count()
        };
        let (owners, backups) = (carrying("Owner", "R&D (ops)"), carrying("Backup", ""));
        assert!(
            owners > 0 && backups > 0,
            "the generated fleet carries refused tags"
        );
        let policy = FindingPolicy {
            exclude_tags: vec![
                "Owner=R&D (ops)".parse().unwrap(),
                "Backup".parse().unwrap(),
            ],
            ..FindingPolicy::default()
        };
        let report = sync(&sim, &account, &[REGION], SyncOptions::new(policy)).await;
        assert!(report.is_ok(), "{:?}", report.targets[0].failures);
        let total = report.total();
        // `R&D (ops)` is rewritten; `Backup`'s empty value leaves nothing to keep.
        assert_eq!(
            (total.tags_rewritten, total.tags_dropped),
            (owners, backups)
        );
        let json = serde_json::to_value(&report.targets[0]).unwrap();
        assert_eq!(json["tags_rewritten"], owners);
        assert_eq!(json["tags_dropped"], backups);

        // Every node has its roll-up, with the repaired tag.
        let held = findings(&sim, &account, REGION).await;
        let tags: Vec<String> = held
            .iter()
            .flat_map(|f| f.resources())
            .filter_map(|r| r.tags().and_then(|t| t.get("Owner")).cloned())
            .collect();
        assert!(!tags.is_empty());
        assert!(tags.iter().all(|o| o == "R_D _ops_"), "{tags:?}");
        let rollups = held
            .iter()
            .filter(|f| f.generator_id() == Some(patchhub_core::finding::GENERATOR_ROLLUP))
            .count();
        let scanned = fleet.accounts[0]
            .instances
            .iter()
            .filter(|i| i.operation.is_some() && i.ping_status != awsim::fleet::STOPPED)
            .count();
        assert_eq!(rollups, scanned);
    });
}
