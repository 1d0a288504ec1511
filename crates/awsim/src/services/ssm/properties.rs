//! `DescribeInstanceProperties`: the managed nodes with their properties, up to 1,000 a page
//! (`MaxResults` 5..1000 in the SSM service model, against 5..50 for
//! `DescribeInstanceInformation`). It lists the nodes `DescribeInstanceInformation` lists, in the
//! same order and with the same values, and takes the same filter keys in
//! `InstancePropertyFilterList` and in `FiltersWithOperator` (operator `Equal`).
//!
//! Refused rather than guessed: the `DocumentName` key (awsim keeps no association documents)
//! and the operators other than `Equal` (`BeginWith`, `NotEqual`, `LessThan`, `GreaterThan`,
//! whose matching rules per key the API reference does not spell out), both with
//! `InvalidFilterKey`, an error code the operation declares.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::instances::{NodeListing, information_json, key_values, node_filters};
use super::wire::{self, Input, Violations};
use super::{Node, SsmRegion};
use crate::protocol::AwsError;

const OP: &str = "DescribeInstanceProperties";

/// `InstancePropertyFilterKey` in the service model.
const FILTER_KEYS: &str = "InstanceIds AgentVersion PingStatus PlatformTypes DocumentName \
    ActivationIds IamRole ResourceType AssociationStatus";

/// `InstancePropertyFilterOperator` in the service model.
const OPERATORS: &str = "Equal NotEqual BeginWith LessThan GreaterThan";

fn not_emulated(what: String) -> AwsError {
    AwsError::client(
        "InvalidFilterKey",
        format!("awsim does not emulate {what} for {OP}."),
    )
}

/// One node as an `InstanceProperty`: `DescribeInstanceInformation`'s fields, plus the instance
/// state and architecture; an EC2 instance's `Name` is its `Name` tag (the API reference: "the
/// value of the EC2 Name tag associated with the node").
fn property_json(node: &Node, region: &str, now: DateTime<Utc>) -> Value {
    let mut v = information_json(node, region, now);
    if let Some(o) = v.as_object_mut() {
        o.remove("IsLatestVersion");
        o.insert("InstanceState".into(), json!("running"));
        o.insert("Architecture".into(), json!("x86_64"));
        if !node.spec.id.starts_with("mi-")
            && let Some(name) = node.spec.tags.get("Name")
        {
            o.insert("Name".into(), json!(name));
        }
    }
    v
}

/// Answers `DescribeInstanceProperties` in a Region at a time (`at`).
pub(crate) fn describe_properties(
    ssm: &SsmRegion,
    input: Input<'_>,
    at: (&str, DateTime<Utc>),
) -> Result<Value, AwsError> {
    let (keys, operators): (Vec<&str>, Vec<&str>) = (
        FILTER_KEYS.split_whitespace().collect(),
        OPERATORS.split_whitespace().collect(),
    );
    let legacy = input
        .objects("InstancePropertyFilterList")?
        .unwrap_or_default();
    let mut v = Violations::default();
    let mut raw = key_values(
        &legacy,
        &mut v,
        ("instancePropertyFilterList", "key", "valueSet"),
        40,
        |v, path, k| v.one_of(path, k, &keys),
    )?;
    let max = input.max_results(&mut v, 5, 1000)?;
    let with_operator = input.objects("FiltersWithOperator")?.unwrap_or_default();
    let mut asked = Vec::new();
    for (i, f) in with_operator.iter().enumerate() {
        let op = f.str("Operator")?;
        let path = format!("filtersWithOperator.{}.member.operator", i + 1);
        v.required(&path, op, |v, path, op| v.one_of(path, op, &operators));
        asked.push(op.unwrap_or_default().to_string());
    }
    raw.extend(key_values(
        &with_operator,
        &mut v,
        ("filtersWithOperator", "Key", "Values"),
        40,
        |v, path, k| v.text_length(path, k, 1, 400),
    )?);
    v.finish()?;
    let cursor = wire::cursor(OP, input.str("NextToken")?)?;
    if let Some(op) = asked.iter().find(|o| o.as_str() != "Equal") {
        return Err(not_emulated(format!("the operator {op}")));
    }
    if raw.iter().any(|(k, _)| k == "DocumentName") {
        return Err(not_emulated("the DocumentName filter".into()));
    }
    let parsed = node_filters(ssm, raw, "InvalidInstancePropertyFilterValue")?;
    let listing = NodeListing {
        op: OP,
        list: "InstanceProperties",
        json: property_json,
    };
    Ok(listing.page(ssm, &parsed, cursor.as_ref(), max, at))
}
