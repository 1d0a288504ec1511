//! AWS Account Management (restJson1): `ListRegions`, the Regions of an account and their opt-in
//! status. patchhub calls it to expand `--regions all-enabled`.
//!
//! The answer is the partition's Region catalogue seen through the fleet: Regions launched before
//! March 2019 are `ENABLED_BY_DEFAULT`; opt-in Regions are `DISABLED` when the account lists them
//! in `disabled_regions` and `ENABLED` otherwise, which is exactly the rule the router applies to
//! calls signed for them, so the two views never disagree.

use serde_json::{Value, json};

use crate::identity::{Caller, partition_of};
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;

/// Regions every account has (`ENABLED_BY_DEFAULT`), by partition.
const DEFAULT_REGIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ca-central-1",
            "eu-central-1",
            "eu-north-1",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
];

/// Opt-in Regions (launched after March 2019), commercial partition only.
const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

const STATUSES: &[&str] = &[
    "ENABLED",
    "ENABLING",
    "DISABLING",
    "DISABLED",
    "ENABLED_BY_DEFAULT",
];

/// The operation a restJson request names, if any.
pub fn operation_for(method: &axum::http::Method, path: &str) -> Option<String> {
    (method == axum::http::Method::POST && path == "/listRegions").then(|| "ListRegions".into())
}

/// Serves one Account Management call.
pub fn handle(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let world = sim.world();
    let target = match input.get("AccountId") {
        None | Some(Value::Null) => caller.account.clone(),
        Some(v) => {
            let id = v.as_str().unwrap_or_default();
            if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(validation(format!(
                    "1 validation error detected: Value '{v}' at 'accountId' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{{12}}"
                )));
            }
            let org = world.organization.as_ref();
            let management = org.is_some_and(|o| o.management_account == caller.account);
            if id == caller.account && management {
                // AWS: the management account must call in standalone context for itself.
                return Err(AwsError::client(
                    "ValidationException",
                    "The management account can't specify its own AccountId.",
                ));
            }
            if id != caller.account && !(management && world.accounts.contains_key(id)) {
                return Err(AwsError::new(
                    403,
                    "AccessDeniedException",
                    format!(
                        "User: {} is not authorized to perform: account:ListRegions on resource: account {id}",
                        caller.arn
                    ),
                ));
            }
            id.to_string()
        }
    };
    let max = match input.get("MaxResults") {
        None | Some(Value::Null) => 20,
        Some(v) => match v.as_i64() {
            Some(n @ 1..=50) => n as usize,
            _ => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50"
                )));
            }
        },
    };
    let start = match input.get("NextToken").and_then(Value::as_str) {
        None => 0,
        Some(t) => t
            .strip_prefix("regions-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| validation("The NextToken is not valid.".into()))?,
    };
    let wanted: Vec<String> = match input.get("RegionOptStatusContains") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for s in a {
                match s.as_str() {
                    Some(s) if STATUSES.contains(&s) => out.push(s.to_string()),
                    _ => {
                        return Err(validation(format!(
                            "1 validation error detected: Value '{s}' at 'regionOptStatusContains' failed to satisfy constraint: Member must satisfy enum value set: {STATUSES:?}"
                        )));
                    }
                }
            }
            out
        }
        Some(v) => {
            return Err(AwsError::client(
                "SerializationException",
                format!("RegionOptStatusContains must be a list, got {v}"),
            ));
        }
    };

    let partition = partition_of(&caller.region);
    let disabled: Vec<String> = world
        .accounts
        .get(&target)
        .map(|a| a.disabled_regions.clone())
        .unwrap_or_default();
    let mut all: Vec<(String, &str)> = DEFAULT_REGIONS
        .iter()
        .filter(|(p, _)| *p == partition)
        .flat_map(|(_, rs)| rs.iter().map(|r| (r.to_string(), "ENABLED_BY_DEFAULT")))
        .collect();
    if partition == "aws" {
        for r in OPT_IN_REGIONS {
            let status = if disabled.iter().any(|d| d == r) {
                "DISABLED"
            } else {
                "ENABLED"
            };
            all.push((r.to_string(), status));
        }
    }
    // Regions the fleet uses that the catalogue does not know (a newer Region) are enabled.
    if let Some(a) = world.accounts.get(&target) {
        for r in &a.regions {
            if partition_of(r) == partition && !all.iter().any(|(n, _)| n == r) {
                all.push((r.clone(), "ENABLED_BY_DEFAULT"));
            }
        }
    }
    all.sort();
    all.retain(|(_, s)| wanted.is_empty() || wanted.iter().any(|w| w == s));
    if start > all.len() {
        return Err(validation("The NextToken is not valid.".into()));
    }
    let end = (start + max).min(all.len());
    let regions: Vec<Value> = all[start..end]
        .iter()
        .map(|(n, s)| json!({"RegionName": n, "RegionOptStatus": s}))
        .collect();
    let mut out = json!({ "Regions": regions });
    if end < all.len() {
        out["NextToken"] = json!(format!("regions-{end}"));
    }
    Ok(out)
}

fn validation(message: String) -> AwsError {
    AwsError::client("ValidationException", message)
}
