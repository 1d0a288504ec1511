//! Compliance changes through the SQS queue: the handler gets an event source mapping's batch,
//! syncs the batch's nodes together (one roll-up read-back for all of them) and reports only the
//! records that failed in `batchItemFailures`, so SQS redelivers those and not the others.

mod support;

use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_ROLLUP};
use patchhub_lambda::error::ErrorType;
use serde_json::{Value, json};
use support::{call, first_account, fixture, sqs_batch};

const SPEC: &str = "accounts=1,regions=1,instances=16,patches=20,seed=7";

fn failures(out: &Value) -> Vec<String> {
    out["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a batch response: {out}"))
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("itemIdentifier")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_batch_syncs_its_nodes_with_one_read_back_and_reports_only_bad_records() {
    let (sim, fleet, acct, f) =
        first_account("accounts=1,regions=1,instances=40,patches=20,seed=7", true).await;
    let nodes = support::missing_nodes(&fleet, 1);
    assert!(
        nodes.len() >= 4,
        "fleet has {} nodes with missing patches",
        nodes.len()
    );
    let nodes = &nodes[..4];

    let events: Vec<Value> = nodes
        .iter()
        .map(|n| fixture("compliance-change-non-compliant.json", &acct, n))
        .collect();
    let association = fixture("compliance-change-association.json", &acct, &nodes[0]);
    let garbage = json!("not an event");
    let batch = sqs_batch(&[
        ("m0", &events[0]),
        ("m1", &events[1]),
        ("bad", &garbage),
        ("m2", &events[2]),
        ("m3", &events[3]),
        ("m0-again", &events[0]),
        ("other-type", &association),
    ]);
    sim.reset_stats();
    let out = call(&f, batch)
        .await
        .expect("a batch with one bad record succeeds");
    assert_eq!(
        failures(&out),
        ["bad"],
        "only the bad record is redelivered"
    );
    assert_eq!(
        out,
        json!({"batchItemFailures": [{"itemIdentifier": "bad"}]})
    );

    // One read-back for the four nodes: the roll-ups in one GetFindings, their patch findings
    // in another (one per node each when every event is its own invocation).
    let stats = sim.stats();
    assert_eq!(
        stats.calls_of("GetFindings"),
        2,
        "one read-back for the batch"
    );
    let found = patchhub_testkit::read::findings(&sim, &acct, patchhub_testkit::REGION).await;
    for n in nodes {
        assert_eq!(
            patchhub_testkit::read::active_ids_of(&found, GENERATOR_PATCH, n),
            patchhub_testkit::oracle::patch_ids_of(&fleet, &acct, patchhub_testkit::REGION, n),
            "{n}"
        );
        assert_eq!(
            patchhub_testkit::read::active_ids_of(&found, GENERATOR_ROLLUP, n).len(),
            1
        );
    }
    assert!(
        found.iter().all(|x| nodes
            .iter()
            .any(|n| patchhub_testkit::read::node_of(x) == Some(n.as_str()))),
        "no other node was touched"
    );
}

#[tokio::test]
async fn a_node_ssm_cannot_read_fails_its_own_records_only() {
    let (sim, fleet, acct, f) = first_account(SPEC, true).await;
    let good = support::missing_nodes(&fleet, 1)[0].clone();
    let unknown = "i-0fffffffffffffff0";
    let a = fixture("compliance-change-non-compliant.json", &acct, &good);
    let b = fixture("compliance-change-non-compliant.json", &acct, unknown);
    let out = call(
        &f,
        sqs_batch(&[("good", &a), ("unknown", &b), ("unknown-2", &b)]),
    )
    .await
    .expect("partly done");
    assert_eq!(failures(&out), ["unknown", "unknown-2"]);
    let found = patchhub_testkit::read::findings(&sim, &acct, patchhub_testkit::REGION).await;
    assert_eq!(
        patchhub_testkit::read::active_ids_of(&found, GENERATOR_PATCH, &good),
        patchhub_testkit::oracle::patch_ids_of(&fleet, &acct, patchhub_testkit::REGION, &good)
    );
}

#[tokio::test]
async fn a_batch_that_fails_whole_is_a_failed_invocation_of_its_type() {
    // Security Hub is off: nothing can be written, every record fails.
    let (_sim, fleet, acct, f) = first_account(SPEC, false).await;
    let nodes = support::missing_nodes(&fleet, 2);
    let a = fixture("compliance-change-non-compliant.json", &acct, &nodes[0]);
    let b = fixture("compliance-change-non-compliant.json", &acct, &nodes[1]);
    let e = call(&f, sqs_batch(&[("a", &a), ("b", &b)]))
        .await
        .unwrap_err();
    assert_eq!(e.error_type, ErrorType::HubNotEnabled, "{}", e.message);

    // Only bad records: an InvalidEvent for the whole batch.
    let junk = json!({"detail-type": "Something Else", "source": "aws.ec2"});
    let e = call(&f, sqs_batch(&[("x", &junk)])).await.unwrap_err();
    assert_eq!(e.error_type, ErrorType::InvalidEvent, "{}", e.message);
}

#[tokio::test]
async fn a_sweep_in_the_queue_answers_every_record() {
    let (sim, fleet, acct, f) = first_account(SPEC, true).await;
    let node = support::missing_nodes(&fleet, 1)[0].clone();
    let change = fixture("compliance-change-non-compliant.json", &acct, &node);
    let sweep = fixture("scheduled-event.json", &acct, "-");
    let out = call(&f, sqs_batch(&[("change", &change), ("sweep", &sweep)]))
        .await
        .expect("sweep");
    assert!(failures(&out).is_empty(), "{out}");
    let found = patchhub_testkit::read::findings(&sim, &acct, patchhub_testkit::REGION).await;
    assert_eq!(
        patchhub_testkit::read::active_ids(&found, GENERATOR_PATCH),
        patchhub_testkit::oracle::patch_ids(&fleet, &acct, patchhub_testkit::REGION),
        "the sweep covered every node"
    );
}
