//! Cross-Region aggregation and what a caller's reads reach.
//!
//! From the user guide ("How cross-Region aggregation works", "Effects of an
//! administrator-member relationship"):
//!
//! * One finding aggregator per account (and partition), created in and managed from its home
//!   Region. It links other Regions: `ALL_REGIONS`, `ALL_REGIONS_EXCEPT_SPECIFIED`,
//!   `SPECIFIED_REGIONS` or `NO_REGIONS`. Data is aggregated only from Regions where the account
//!   has Security Hub enabled.
//! * Standalone and administrator accounts configure aggregation; member accounts inherit their
//!   administrator's. In each linked Region, the administrator's members *there* are aggregated;
//!   an account that is a member in the home Region but not in a linked Region is not aggregated
//!   from that Region. A member's own aggregator is inactive while it is a member.
//! * In a Region, an administrator sees its own findings and its associated members' findings;
//!   in the home Region also those aggregated from linked Regions. A member sees only its own
//!   (in the home Region including its own from linked Regions). Updates made in the home
//!   Region apply to the finding in its Region.
//! * When a Region stops being linked (aggregator updated or deleted, membership ended, hub
//!   disabled), what was already aggregated stays in the home Region, no longer updated.
//!
//! awsim models linked data as a live view of the linked Region (no replication delay beyond
//! the read-after-write lag every read has) and keeps a frozen copy ("replica") in the home
//! Region when the link ends. The view shows only findings written (created or updated) after
//! the aggregator was created: the guide describes aggregation of new findings and updates,
//! and existing findings are not back-filled.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::members::{associated_members, associations, is_member_anywhere};
use super::paging::{page_params, paged, query};
use super::{Aggregator, FindingStore, Mode, invalid_input, not_subscribed};
use crate::identity::{Caller, is_region_name, partition_of};
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;
use crate::world::World;

/// Page size bound of `ListFindingAggregators` (`MaxResults`).
const MAX_AGGREGATORS_PAGE: i64 = 100;

fn aggregator_arn(partition: &str, home: &str, account: &str, id: &str) -> String {
    format!("arn:{partition}:securityhub:{home}:{account}:finding-aggregator/{id}")
}

fn aggregator_json(partition: &str, home: &str, account: &str, agg: &Aggregator) -> Value {
    json!({
        "FindingAggregatorArn": aggregator_arn(partition, home, account, &agg.id),
        "FindingAggregationRegion": home,
        "RegionLinkingMode": agg.mode.as_str(),
        "Regions": agg.regions,
    })
}

/// The Regions `agg` (home `home`) links for the data of `account`, before checking that the
/// account is enabled (and, for members, associated) there.
fn linked_candidates(
    world: &World,
    agg: &Aggregator,
    home: &str,
    account: &str,
) -> BTreeSet<String> {
    let partition = partition_of(home);
    let listed: BTreeSet<&str> = agg.regions.iter().map(String::as_str).collect();
    let known = || {
        world
            .regions
            .keys()
            .filter(|(a, r)| a == account && partition_of(r) == partition)
            .map(|(_, r)| r.clone())
    };
    let all: BTreeSet<String> = match agg.mode {
        Mode::NoRegions => BTreeSet::new(),
        Mode::SpecifiedRegions => agg.regions.iter().cloned().collect(),
        Mode::AllRegions => known().collect(),
        Mode::AllRegionsExceptSpecified => {
            known().filter(|r| !listed.contains(r.as_str())).collect()
        }
    };
    all.into_iter().filter(|r| r != home).collect()
}

fn enabled(world: &World, account: &str, region: &str) -> bool {
    world
        .region(account, region)
        .is_some_and(|r| r.hub.is_enabled())
}

/// The aggregator that governs `account`'s data in home Region `region`: its own, or, for a
/// member, its administrator's there (with that administrator).
fn governing<'w>(
    world: &'w World,
    assoc: &HashMap<(String, String), String>,
    account: &str,
    region: &str,
) -> Option<(&'w Aggregator, Option<String>)> {
    let is_member = assoc
        .keys()
        .any(|(m, r)| m == account && partition_of(r) == partition_of(region));
    if is_member {
        // Inherited from the administrator it is associated with in this (home) Region.
        let admin = assoc.get(&(account.to_string(), region.to_string()))?;
        let agg = world.region(admin, region)?.hub.aggregator.as_ref()?;
        return Some((agg, Some(admin.clone())));
    }
    let agg = world.region(account, region)?.hub.aggregator.as_ref()?;
    Some((agg, None))
}

/// The Regions whose findings of `account` are aggregated into its hub in `region` right now.
fn sources_into(
    world: &World,
    assoc: &HashMap<(String, String), String>,
    account: &str,
    region: &str,
) -> BTreeSet<String> {
    if !enabled(world, account, region) {
        return BTreeSet::new();
    }
    let Some((agg, admin)) = governing(world, assoc, account, region) else {
        return BTreeSet::new();
    };
    linked_candidates(world, agg, region, account)
        .into_iter()
        .filter(|l| {
            enabled(world, account, l)
                && admin
                    .as_ref()
                    .is_none_or(|a| assoc.get(&(account.to_string(), l.clone())) == Some(a))
        })
        .collect()
}

/// Every `(account, home Region) -> linked Regions aggregated into it`.
fn coverage(world: &World) -> BTreeMap<(String, String), BTreeSet<String>> {
    let assoc = associations(world);
    world
        .regions
        .keys()
        .filter_map(|(a, r)| {
            let s = sources_into(world, &assoc, a, r);
            (!s.is_empty()).then(|| ((a.clone(), r.clone()), s))
        })
        .collect()
}

/// Where a finding store lives: the account and the Region its findings were imported in, and
/// for findings kept after a Region stopped being linked, the home Region holding the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreLoc {
    pub account: String,
    pub region: String,
    pub replica_in: Option<String>,
}

/// A finding store and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct HubRef<'w> {
    pub loc: StoreLoc,
    pub store: &'w FindingStore,
    /// For a linked Region's live view: its aggregator's creation. Security Hub replicates
    /// findings created or updated after the aggregator exists ("How cross-Region aggregation
    /// works" in the user guide); older ones are not back-filled.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// The store at a location, if it exists.
pub(crate) fn store_at<'w>(world: &'w World, loc: &StoreLoc) -> Option<&'w FindingStore> {
    match &loc.replica_in {
        None => world
            .region(&loc.account, &loc.region)
            .map(|r| &r.hub.store),
        Some(home) => world
            .region(&loc.account, home)
            .and_then(|r| r.hub.replicas.get(&loc.region)),
    }
}

/// The store at a location, mutably, if it exists.
pub(crate) fn store_at_mut<'w>(
    world: &'w mut World,
    loc: &StoreLoc,
) -> Option<&'w mut FindingStore> {
    match &loc.replica_in {
        None => Some(&mut world.region_mut(&loc.account, &loc.region).hub.store),
        Some(home) => world
            .region_mut(&loc.account, home)
            .hub
            .replicas
            .get_mut(&loc.region),
    }
}

/// Runs a change to memberships, aggregators or hubs; wherever it ends the aggregation of a
/// linked Region into a home Region, keeps a copy of what had been aggregated in the home
/// Region, as AWS does. `f` must not change anything when it returns an error.
pub(crate) fn tracked<T>(
    world: &mut World,
    f: impl FnOnce(&mut World) -> Result<T, AwsError>,
) -> Result<T, AwsError> {
    let before = coverage(world);
    let out = f(world)?;
    let after = coverage(world);
    for ((account, home), sources) in before {
        let still = after.get(&(account.clone(), home.clone()));
        for linked in sources {
            if still.is_some_and(|s| s.contains(&linked)) {
                continue;
            }
            let copy = world
                .region(&account, &linked)
                .map(|r| r.hub.store.clone())
                .unwrap_or_default();
            world
                .region_mut(&account, &home)
                .hub
                .replicas
                .insert(linked, copy);
        }
    }
    Ok(out)
}

/// The stores a caller's `GetFindings` and `BatchUpdateFindings` reach: for the caller and each
/// member associated with it in the Region, that account's hub here, what aggregation brings
/// into it from linked Regions, and copies kept from Regions no longer linked.
pub(crate) fn visible_hubs<'w>(
    world: &'w World,
    caller: &Caller,
) -> Result<Vec<HubRef<'w>>, AwsError> {
    let region = caller.region.as_str();
    if !enabled(world, &caller.account, region) {
        return Err(not_subscribed(&caller.account));
    }
    let assoc = associations(world);
    let mut accounts = vec![caller.account.clone()];
    accounts.extend(
        associated_members(world, &caller.account, region)
            .into_iter()
            .filter(|m| enabled(world, m, region)),
    );
    let mut out = Vec::new();
    for account in accounts {
        let here = &world
            .region(&account, region)
            .expect("enabled hub exists")
            .hub;
        out.push(HubRef {
            loc: StoreLoc {
                account: account.clone(),
                region: region.to_string(),
                replica_in: None,
            },
            store: &here.store,
            since: None,
        });
        let live = sources_into(world, &assoc, &account, region);
        let since = governing(world, &assoc, &account, region).map(|(a, _)| a.created_at);
        for linked in &live {
            if let Some(st) = world.region(&account, linked) {
                out.push(HubRef {
                    loc: StoreLoc {
                        account: account.clone(),
                        region: linked.clone(),
                        replica_in: None,
                    },
                    store: &st.hub.store,
                    since,
                });
            }
        }
        for (linked, store) in &here.replicas {
            if !live.contains(linked) {
                out.push(HubRef {
                    loc: StoreLoc {
                        account: account.clone(),
                        region: linked.clone(),
                        replica_in: Some(region.to_string()),
                    },
                    store,
                    since: None,
                });
            }
        }
    }
    Ok(out)
}

/// `RegionLinkingMode` and `Regions` of a create or update request.
fn linking(input: &Value, home: &str) -> Result<(Mode, Vec<String>), AwsError> {
    let mode_text = input
        .get("RegionLinkingMode")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_input("RegionLinkingMode is required"))?;
    let mode = Mode::parse(mode_text).ok_or_else(|| {
        invalid_input(format!(
            "RegionLinkingMode must be ALL_REGIONS, ALL_REGIONS_EXCEPT_SPECIFIED, SPECIFIED_REGIONS or NO_REGIONS; got {mode_text}"
        ))
    })?;
    let regions: Vec<String> = match input.get("Regions") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid_input("Regions must be a list of Region names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid_input("Regions must be a list of Region names")),
    };
    let partition = partition_of(home);
    for r in &regions {
        if !is_region_name(r) || partition_of(r) != partition {
            return Err(invalid_input(format!(
                "{r} is not a Region of partition {partition}"
            )));
        }
    }
    match mode {
        Mode::NoRegions | Mode::AllRegions if !regions.is_empty() => Err(invalid_input(format!(
            "Regions must be empty when RegionLinkingMode is {mode_text}"
        ))),
        Mode::SpecifiedRegions | Mode::AllRegionsExceptSpecified if regions.is_empty() => {
            Err(invalid_input(format!(
                "Regions must list at least one Region when RegionLinkingMode is {mode_text}"
            )))
        }
        _ => {
            let mut regions = regions;
            regions.sort();
            regions.dedup();
            Ok((mode, regions))
        }
    }
}

/// The caller's aggregator: `(home Region, aggregator)`, searched in its partition.
fn find<'w>(world: &'w World, caller: &Caller) -> Option<(String, &'w Aggregator)> {
    let partition = caller.partition();
    world
        .regions
        .iter()
        .filter(|((a, r), _)| a == &caller.account && partition_of(r) == partition)
        .find_map(|((_, r), st)| st.hub.aggregator.as_ref().map(|agg| (r.clone(), agg)))
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new(
        404,
        "ResourceNotFoundException",
        format!("Finding aggregator {arn} was not found"),
    )
}

/// The caller's aggregator named by `arn`, which must be managed from its home Region.
fn managed_here(world: &World, caller: &Caller, arn: &str) -> Result<(), AwsError> {
    let (home, agg) = find(world, caller).ok_or_else(|| not_found(arn))?;
    if aggregator_arn(caller.partition(), &home, &caller.account, &agg.id) != arn {
        return Err(not_found(arn));
    }
    if home != caller.region {
        return Err(invalid_input(format!(
            "Finding aggregator {arn} can only be changed from its home Region {home}"
        )));
    }
    Ok(())
}

/// Serves `CreateFindingAggregator`.
pub(crate) fn create(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let (mode, regions) = linking(&input, &caller.region)?;
    let mut world = sim.world();
    tracked(&mut world, |world| {
        if !enabled(world, &caller.account, &caller.region) {
            return Err(not_subscribed(&caller.account));
        }
        if is_member_anywhere(world, &caller.account, &caller.region) {
            // Observed with HTTP 401 (nozaq/terraform-aws-secure-baseline#254).
            return Err(AwsError::new(
                401,
                "InvalidInputException",
                "A finding aggregator cannot be created by a member account.",
            ));
        }
        if let Some((home, _)) = find(world, caller) {
            return Err(invalid_input(format!(
                "Account {} already has a finding aggregator (home Region {home}); an account can have only one",
                caller.account
            )));
        }
        let digest = hex::encode(Sha256::digest(format!(
            "{}/{}/{}",
            caller.account,
            caller.region,
            sim.clock.now().timestamp_nanos_opt().unwrap_or_default()
        )));
        let id = format!(
            "{}-{}-{}-{}-{}",
            &digest[0..8],
            &digest[8..12],
            &digest[12..16],
            &digest[16..20],
            &digest[20..32]
        );
        let agg = Aggregator {
            id,
            mode,
            regions,
            created_at: sim.clock.now(),
        };
        let out = aggregator_json(caller.partition(), &caller.region, &caller.account, &agg);
        world
            .region_mut(&caller.account, &caller.region)
            .hub
            .aggregator = Some(agg);
        Ok(out)
    })
}

/// Serves `UpdateFindingAggregator` (the home Region cannot change).
pub(crate) fn update(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let arn = input
        .get("FindingAggregatorArn")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid_input("FindingAggregatorArn is required"))?
        .to_string();
    let (mode, regions) = linking(&input, &caller.region)?;
    let mut world = sim.world();
    tracked(&mut world, |world| {
        if !enabled(world, &caller.account, &caller.region) {
            return Err(not_subscribed(&caller.account));
        }
        managed_here(world, caller, &arn)?;
        let agg = world
            .region_mut(&caller.account, &caller.region)
            .hub
            .aggregator
            .as_mut()
            .expect("checked above");
        agg.mode = mode;
        agg.regions = regions;
        let agg = agg.clone();
        Ok(aggregator_json(
            caller.partition(),
            &caller.region,
            &caller.account,
            &agg,
        ))
    })
}

/// The `{FindingAggregatorArn+}` label at the end of the path, percent-decoded.
fn arn_label(req: &Request, prefix: &str) -> Result<String, AwsError> {
    let raw = req
        .path
        .strip_prefix(prefix)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid_input("FindingAggregatorArn is required"))?;
    percent_decode(raw).ok_or_else(|| invalid_input("FindingAggregatorArn is not validly encoded"))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Serves `GetFindingAggregator` (from any Region of the partition).
pub(crate) fn get(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let arn = arn_label(req, "/findingAggregator/get/")?;
    let world = sim.world();
    if !enabled(&world, &caller.account, &caller.region) {
        return Err(not_subscribed(&caller.account));
    }
    let (home, agg) = find(&world, caller).ok_or_else(|| not_found(&arn))?;
    let partition = caller.partition();
    if aggregator_arn(partition, &home, &caller.account, &agg.id) != arn {
        return Err(not_found(&arn));
    }
    Ok(aggregator_json(partition, &home, &caller.account, agg))
}

/// Serves `ListFindingAggregators` (at most one, from any Region of the partition).
pub(crate) fn list(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let q = query(req);
    let (size, after) = page_params(&q, MAX_AGGREGATORS_PAGE)?;
    let world = sim.world();
    if !enabled(&world, &caller.account, &caller.region) {
        return Err(not_subscribed(&caller.account));
    }
    let items = find(&world, caller)
        .map(|(home, agg)| {
            let arn = aggregator_arn(caller.partition(), &home, &caller.account, &agg.id);
            (arn.clone(), json!({"FindingAggregatorArn": arn}))
        })
        .into_iter()
        .collect();
    Ok(paged("FindingAggregators", items, after.as_deref(), size))
}

/// Serves `DeleteFindingAggregator`; what was aggregated stays in the home Region.
pub(crate) fn delete(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let arn = arn_label(req, "/findingAggregator/delete/")?;
    let mut world = sim.world();
    tracked(&mut world, |world| {
        if !enabled(world, &caller.account, &caller.region) {
            return Err(not_subscribed(&caller.account));
        }
        managed_here(world, caller, &arn)?;
        world
            .region_mut(&caller.account, &caller.region)
            .hub
            .aggregator = None;
        Ok(json!({}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("arn%3Aaws%3Asecurityhub%3Aus-east-1%3A1%3Afinding-aggregator/x")
                .as_deref(),
            Some("arn:aws:securityhub:us-east-1:1:finding-aggregator/x")
        );
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }

    #[test]
    fn linking_validation() {
        let ok = |v: Value| linking(&v, "us-east-1");
        assert!(ok(json!({"RegionLinkingMode": "ALL_REGIONS"})).is_ok());
        assert!(ok(json!({"RegionLinkingMode": "ALL_REGIONS", "Regions": []})).is_ok());
        assert!(ok(json!({"RegionLinkingMode": "NO_REGIONS", "Regions": ["eu-west-1"]})).is_err());
        assert!(ok(json!({"RegionLinkingMode": "SPECIFIED_REGIONS"})).is_err());
        assert!(
            ok(json!({"RegionLinkingMode": "SPECIFIED_REGIONS", "Regions": ["cn-north-1"]}))
                .is_err()
        );
        assert!(ok(json!({"RegionLinkingMode": "SOME_REGIONS"})).is_err());
        let (mode, regions) =
            ok(json!({"RegionLinkingMode": "SPECIFIED_REGIONS", "Regions": ["us-west-2", "eu-west-1", "us-west-2"]}))
                .unwrap();
        assert_eq!(mode, Mode::SpecifiedRegions);
        assert_eq!(regions, vec!["eu-west-1", "us-west-2"]);
    }
}
