//! The two write paths of findings: `BatchImportFindings` (providers) and `BatchUpdateFindings`
//! (customers), with their request limits. The rules each applies to a stored finding are in
//! the store.

use serde_json::{Value, json};

use super::aggregation::{StoreLoc, store_at, store_at_mut, visible_hubs};
use super::store::{IngestContext, Outcome, str_at};
use super::validate::{self, MAX_FINDING_BYTES};
use super::{invalid_input, not_subscribed};
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;

/// Largest `BatchImportFindings` request body AWS accepts (6 MB).
const MAX_IMPORT_REQUEST_BYTES: usize = 6 * 1024 * 1024;
/// Findings per `BatchImportFindings` / identifiers per `BatchUpdateFindings`.
const MAX_BATCH: usize = 100;

/// Serves `BatchImportFindings`.
pub(crate) fn batch_import(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    if req.body.len() > MAX_IMPORT_REQUEST_BYTES {
        return Err(invalid_input(format!(
            "The request is {} bytes; BatchImportFindings accepts at most 6 MB per request",
            req.body.len()
        )));
    }
    let input = req.json()?;
    let list = validate::bounded_list(&input, "Findings", MAX_BATCH, "findings")?;
    let ctx = IngestContext {
        account: &caller.account,
        region: &caller.region,
        partition: caller.partition(),
        now: sim.clock.now(),
        read_lag: sim.read_lag(),
    };
    let default_product = ctx.default_product_arn();
    let mut failed = Vec::new();
    let (mut creates, mut updates, mut succeeded) = (0u64, 0u64, 0usize);
    {
        let mut world = sim.world();
        let hub = &mut world.region_mut(&caller.account, &caller.region).hub;
        let enabled = hub.is_enabled();
        for f in list {
            let id = str_at(f, "Id");
            let mut fail = |code: &str, msg: String| {
                failed.push(json!({"Id": id, "ErrorCode": code, "ErrorMessage": msg}));
            };
            if !enabled {
                // The guide: findings for an account without Security Hub fail with InvalidAccess.
                fail("InvalidAccess", not_subscribed(&caller.account).message);
                continue;
            }
            let size = serde_json::to_vec(f).map_or(0, |b| b.len());
            if size > MAX_FINDING_BYTES {
                fail(
                    "InvalidInput",
                    format!("Finding size exceeded 240 KB ({size} bytes)"),
                );
                continue;
            }
            if let Err(msg) = validate::finding(f) {
                fail("InvalidInput", msg);
                continue;
            }
            let product = str_at(f, "ProductArn");
            if product != default_product {
                fail(
                    "InvalidAccess",
                    format!(
                        "Account {} is not subscribed to product {product} in {}",
                        caller.account, caller.region
                    ),
                );
                continue;
            }
            let owner = str_at(f, "AwsAccountId");
            if owner != caller.account {
                fail(
                    "InvalidAccess",
                    format!(
                        "Account {} cannot import findings for account {owner} with product {product}",
                        caller.account
                    ),
                );
                continue;
            }
            if sim.faults.fail_finding(&caller.account, &caller.region) {
                fail("InternalFailure", "Internal service failure".to_string());
                continue;
            }
            match hub.store.ingest(f, &ctx) {
                Outcome::Created => creates += 1,
                Outcome::Updated => updates += 1,
                Outcome::Ignored => {}
            }
            succeeded += 1;
        }
    }
    if creates + updates > 0 {
        sim.stats
            .ingested(&caller.account, &caller.region, creates, updates);
    }
    Ok(json!({
        "FailedCount": failed.len(),
        "SuccessCount": succeeded,
        "FailedFindings": failed,
    }))
}

/// Serves `BatchUpdateFindings`.
pub(crate) fn batch_update(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let update = input
        .as_object()
        .ok_or_else(|| invalid_input("The request body must be an object"))?;
    let ids = validate::bounded_list(&input, "FindingIdentifiers", MAX_BATCH, "identifiers")?;
    let mut idents: Vec<(String, String)> = Vec::with_capacity(ids.len());
    for i in ids {
        let id = i
            .get("Id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let arn = i
            .get("ProductArn")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        match (id, arn) {
            (Some(id), Some(arn)) => idents.push((id.to_string(), arn.to_string())),
            _ => {
                return Err(invalid_input(
                    "Each FindingIdentifier needs Id and ProductArn",
                ));
            }
        }
    }
    validate::batch_update_fields(update).map_err(invalid_input)?;
    let now = sim.clock.now();

    let mut world = sim.world();
    let hubs: Vec<StoreLoc> = visible_hubs(&world, caller)?
        .into_iter()
        .map(|h| h.loc)
        .collect();
    let mut processed = Vec::new();
    let mut unprocessed = Vec::new();
    for (id, arn) in &idents {
        let ident = json!({"Id": id, "ProductArn": arn});
        let mut reject = |code: &str, msg: &str| {
            unprocessed.push(json!({
                "FindingIdentifier": ident.clone(),
                "ErrorCode": code,
                "ErrorMessage": msg,
            }));
        };
        if idents.iter().filter(|(i, a)| i == id && a == arn).count() > 1 {
            reject(
                "DuplicatedFindingIdentifier",
                "Finding Identifier is duplicated",
            );
            continue;
        }
        // An administrator's update of a member's finding, or of one aggregated from a linked
        // Region, changes the finding where it lives (AWS replicates it back there).
        let found = hubs.iter().find_map(|loc| {
            store_at(&world, loc)
                .and_then(|store| store.slot_of(arn, id))
                .map(|slot| (loc, slot))
        });
        let Some((loc, slot)) = found else {
            reject("FindingNotFound", "Finding Not Found");
            continue;
        };
        let Some(store) = store_at_mut(&mut world, loc) else {
            reject("FindingNotFound", "Finding Not Found");
            continue;
        };
        match store.customer_update(slot, update, now) {
            Ok(()) => processed.push(ident),
            Err((code, msg)) => reject(code, msg),
        }
    }
    Ok(json!({
        "ProcessedFindings": processed,
        "UnprocessedFindings": unprocessed,
    }))
}
