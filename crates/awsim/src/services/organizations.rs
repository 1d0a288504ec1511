//! Organizations (awsJson1_1): the organization, its root, OUs and accounts from the fleet.
//! Listing APIs answer to the management account and to delegated administrators, as in AWS:
//! the account the management account designated as Security Hub administrator (in any Region)
//! is a delegated administrator for Security Hub and may list the organization.
//!
//! Faithful by default (each can be relaxed by name through [`crate::config::Leniency`]):
//! accounts carry `State` only, since Organizations retired `Account.Status` on September 9,
//! 2026 (doc comment of `Account::status` in aws-sdk-organizations); and the first page of an
//! account listing is empty but carries a `NextToken`, which the Organizations API reference
//! allows for every list call ("you should check NextToken after every operation to ensure that
//! you receive all of the results", ListAccounts, Request Parameters, NextToken).

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
    let delegated = world.regions.iter().any(|((acct, _), state)| {
        acct == &org.management_account
            && state.hub.designated_admin() == Some(caller.account.as_str())
    });
    if caller.account != org.management_account && !delegated {
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
    let leniency = &sim.config.leniency;
    let account_json = |a: &AccountSpec| {
        let mut j = json!({
            "Id": a.id, "Arn": arn("account", &a.id), "Email": a.email, "Name": a.name,
            "State": a.status,
            "JoinedMethod": if a.id == org.management_account { "CREATED" } else { "INVITED" },
            "JoinedTimestamp": 1_577_836_800.0,
        });
        // The retired field knew no CLOSED.
        if leniency.org_account_status && a.status != "CLOSED" {
            j["Status"] = json!(a.status);
        }
        j
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
    // The first page of an account listing is empty but says there is more.
    if key == "Accounts"
        && !leniency.no_empty_org_pages
        && input.get("NextToken").is_none()
        && !items.is_empty()
    {
        return Ok(json!({ key: [], "NextToken": "orgs-0" }));
    }
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
