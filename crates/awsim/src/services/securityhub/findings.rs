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
    if let Some(resource) = list
        .iter()
        .find_map(|f| foreign_resource(f, &caller.account, &default_product))
    {
        return Err(AwsError::new(
            403,
            "AccessDeniedException",
            format!(
                "User: {} is not authorized to perform: securityhub:BatchImportFindings on resource: {resource}",
                caller.arn
            ),
        ));
    }
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

/// The product a finding would import into when that is not the caller's to import into: a
/// `ProductArn` other than the caller's default product in this Region (another account's,
/// another Region's, a partner's), or an `AwsAccountId` other than the caller's. Any such finding
/// refuses the whole call with `AccessDeniedException`, not one entry of `FailedFindings`:
/// AWS Support, quoted in prowler issue #867 ("a finding JSON is only valid if the account ID is
/// the current one. The error in case of a different and thus invalid account ID sadly is an
/// AccessDeniedException"); prowler issues #711 and #872 show the same call-level answer for a
/// product ARN the caller may not import to. Findings without these fields fail on their own
/// (InvalidInput).
fn foreign_resource(f: &Value, account: &str, default_product: &str) -> Option<String> {
    let product = f.get("ProductArn").and_then(Value::as_str);
    let owner = f.get("AwsAccountId").and_then(Value::as_str);
    match (product, owner) {
        (Some(p), _) if p != default_product => Some(p.to_string()),
        // A malformed account id fails its own finding (the schema's pattern) instead.
        (_, Some(o)) if o != account && o.len() == 12 && o.bytes().all(|b| b.is_ascii_digit()) => {
            Some(default_product.to_string())
        }
        _ => None,
    }
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
