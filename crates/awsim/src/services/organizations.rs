//! Organizations (awsJson1_1): the organization, its root, OUs and accounts from the fleet.
//! Listing APIs answer only to the management account, as in AWS (delegated administrators of
//! Organizations are not modelled).

use serde_json::{Value, json};

use crate::fleet::{AccountSpec, OrgSpec};
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;

/// Serves one Organizations call.
pub fn handle(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let world = sim.world();
    let org = world
        .organization
        .as_ref()
        // Every fleet account belongs to the fleet's organization; others are outside it.
        .filter(|_| world.accounts.contains_key(&caller.account))
        .ok_or_else(|| {
            AwsError::client(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )
        })?;
    let partition = caller.partition();
    if req.operation == "DescribeOrganization" {
        let mgmt = world.accounts.get(&org.management_account);
        return Ok(json!({"Organization": {
            "Id": org.id,
            "Arn": format!("arn:{partition}:organizations::{}:organization/{}", org.management_account, org.id),
            "FeatureSet": "ALL",
            "MasterAccountArn": format!("arn:{partition}:organizations::{m}:account/{}/{m}", org.id, m = org.management_account),
            "MasterAccountId": org.management_account,
            "MasterAccountEmail": mgmt.map(|a| a.email.clone()).unwrap_or_default(),
            "AvailablePolicyTypes": [],
        }}));
    }
    if caller.account != org.management_account {
        return Err(AwsError::client(
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        ));
    }
    let max = max_results(&input)?;
    let start = next_token(&input)?;
    let arn = |kind: &str, id: &str| {
        format!(
            "arn:{partition}:organizations::{}:{kind}/{}/{id}",
            org.management_account, org.id
        )
    };
    let account_json = |a: &AccountSpec| {
        json!({
            "Id": a.id, "Arn": arn("account", &a.id), "Email": a.email, "Name": a.name,
            "Status": a.status, "State": a.status,
            "JoinedMethod": if a.id == org.management_account { "CREATED" } else { "INVITED" },
            "JoinedTimestamp": 1_577_836_800.0,
        })
    };
    let parent_of = |a: &AccountSpec| a.parent.clone().unwrap_or_else(|| org.root_id.clone());
    let (key, items): (&str, Vec<Value>) = match req.operation.as_str() {
        "ListAccounts" => (
            "Accounts",
            world.accounts.values().map(account_json).collect(),
        ),
        "ListAccountsForParent" => {
            let parent = required_parent(&input, org)?;
            (
                "Accounts",
                world
                    .accounts
                    .values()
                    .filter(|a| parent_of(a) == parent)
                    .map(account_json)
                    .collect(),
            )
        }
        "ListRoots" => (
            "Roots",
            vec![
                json!({"Id": org.root_id, "Arn": arn("root", &org.root_id), "Name": "Root", "PolicyTypes": []}),
            ],
        ),
        "ListOrganizationalUnitsForParent" => {
            let parent = required_parent(&input, org)?;
            let ous = org
                .organizational_units
                .iter()
                .filter(|ou| ou.parent == parent)
                .map(|ou| json!({"Id": ou.id, "Arn": arn("ou", &ou.id), "Name": ou.name}))
                .collect();
            ("OrganizationalUnits", ous)
        }
        other => {
            return Err(AwsError::client(
                "UnknownOperationException",
                format!("Unknown operation {other}"),
            ));
        }
    };
    let page: Vec<Value> = items.iter().skip(start).take(max).cloned().collect();
    let mut out = json!({ key: page });
    if start + max < items.len() {
        out["NextToken"] = json!(format!("orgs-{}", start + max));
    }
    Ok(out)
}

fn max_results(input: &Value) -> Result<usize, AwsError> {
    match input.get("MaxResults").and_then(Value::as_i64) {
        None => Ok(20),
        Some(n) if (1..=20).contains(&n) => Ok(n as usize),
        Some(n) => Err(AwsError::client(
            "InvalidInputException",
            format!("MaxResults {n} is out of range: must be from 1 to 20"),
        )),
    }
}

fn next_token(input: &Value) -> Result<usize, AwsError> {
    match input.get("NextToken").and_then(Value::as_str) {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("orgs-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                AwsError::client("InvalidInputException", "The NextToken is not valid.")
            }),
    }
}

fn required_parent(input: &Value, org: &OrgSpec) -> Result<String, AwsError> {
    let parent = input
        .get("ParentId")
        .and_then(Value::as_str)
        .ok_or_else(|| AwsError::client("InvalidInputException", "ParentId is required."))?;
    if parent == org.root_id || org.organizational_units.iter().any(|ou| ou.id == parent) {
        Ok(parent.to_string())
    } else {
        Err(AwsError::client(
            "ParentNotFoundException",
            format!("We can't find a root or OU with the ParentId {parent}."),
        ))
    }
}
