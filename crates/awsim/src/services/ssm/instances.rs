//! `DescribeInstanceInformation`, `DescribeInstancePatchStates`, `DescribeInstancePatches`, and
//! the node filters and paging `DescribeInstanceProperties` (`properties.rs`) shares.

use std::collections::BTreeSet;
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::patches::{State, installed_time, reported_cves, state_of};
use super::wire::{self, Cursor, Input, Violations, epoch};
use super::{Node, SsmRegion};
use crate::fleet::{PatchSpec, valid_instance_id};
use crate::protocol::AwsError;

pub(crate) const INSTANCE_ID_PATTERN: &str = r"(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)";

const AGENT_VERSIONS: [&str; 5] = [
    "3.2.2303.0",
    "3.3.40.0",
    "3.3.131.0",
    "3.3.484.0",
    "3.3.987.0",
];

fn invalid_instance(id: &str) -> AwsError {
    AwsError::client(
        "InvalidInstanceId",
        format!(
            "Instance Id {id} is not valid or the instance is not registered with this account and Region."
        ),
    )
}

/// Per-node details that the fleet does not carry, derived from the node id so they are stable.
struct Details {
    agent_version: &'static str,
    ip: String,
    computer_name: String,
    association_status: &'static str,
    last_ping: DateTime<Utc>,
    last_association: DateTime<Utc>,
    activation_id: Option<String>,
    iam_role: Option<&'static str>,
}

fn resource_type(id: &str) -> &'static str {
    if id.starts_with("mi-") {
        "ManagedInstance"
    } else {
        "EC2Instance"
    }
}

fn source_type(id: &str) -> &'static str {
    if id.starts_with("mi-") {
        "AWS::SSM::ManagedInstance"
    } else {
        "AWS::EC2::Instance"
    }
}

fn details(node: &Node, region: &str, now: DateTime<Utc>) -> Details {
    let id = &node.spec.id;
    let h = wire::hash64(id);
    let b = h.to_be_bytes();
    let hybrid = id.starts_with("mi-");
    let ip = if hybrid {
        format!("192.168.{}.{}", b[1], b[2].max(2))
    } else {
        format!("10.{}.{}.{}", b[0] % 64, b[1], b[2].max(4))
    };
    let computer_name = if let Some(name) = node.spec.tags.get("Name").filter(|_| hybrid) {
        name.clone()
    } else if node.spec.platform_type == "Windows" {
        let chars: String = hex::encode(&b[3..7])
            .to_uppercase()
            .chars()
            .take(7)
            .collect();
        format!("EC2AMAZ-{chars}")
    } else {
        let domain = if region == "us-east-1" {
            "ec2.internal".to_string()
        } else {
            format!("{region}.compute.internal")
        };
        format!("ip-{}.{domain}", ip.replace('.', "-"))
    };
    let online = node.is_online();
    let last_ping = if online {
        now - Duration::seconds((h % 300) as i64)
    } else {
        node.offline_since
    };
    Details {
        agent_version: AGENT_VERSIONS[(h % AGENT_VERSIONS.len() as u64) as usize],
        ip,
        computer_name,
        association_status: if online { "Success" } else { "Failed" },
        last_ping,
        last_association: last_ping - Duration::seconds(((h >> 16) % 1800) as i64),
        activation_id: hybrid.then(|| wire::uuid_from(&format!("activation/{id}"))),
        iam_role: hybrid.then_some("SSMServiceRole"),
    }
}

pub(super) fn information_json(node: &Node, region: &str, now: DateTime<Utc>) -> Value {
    let s = &node.spec;
    let d = details(node, region, now);
    let mut v = json!({
        "InstanceId": s.id,
        "PingStatus": s.ping_status,
        "LastPingDateTime": epoch(d.last_ping),
        "AgentVersion": d.agent_version,
        "IsLatestVersion": d.agent_version == AGENT_VERSIONS[AGENT_VERSIONS.len() - 1],
        "PlatformType": s.platform_type,
        "PlatformName": s.platform_name,
        "PlatformVersion": s.platform_version,
        "ResourceType": resource_type(&s.id),
        "IPAddress": d.ip,
        "ComputerName": d.computer_name,
        "AssociationStatus": d.association_status,
        "LastAssociationExecutionDate": epoch(d.last_association),
        "AssociationOverview": {
            "DetailedStatus": d.association_status,
            "InstanceAssociationStatusAggregatedCount": { d.association_status: 1 },
        },
        "SourceId": s.id,
        "SourceType": source_type(&s.id),
    });
    if d.association_status == "Success" {
        v["LastSuccessfulAssociationExecutionDate"] = epoch(d.last_association);
    }
    if s.id.starts_with("mi-") {
        v["Name"] = json!(
            s.tags
                .get("Name")
                .cloned()
                .unwrap_or_else(|| d.computer_name.clone())
        );
        v["RegistrationDate"] = epoch(node.registered);
        v["ActivationId"] = json!(d.activation_id);
        v["IamRole"] = json!(d.iam_role);
    }
    v
}

/// What a node filter tests.
pub(super) enum Attr {
    InstanceIds,
    AgentVersion,
    PingStatus,
    PlatformTypes,
    ActivationIds,
    IamRole,
    ResourceType,
    AssociationStatus,
    SourceIds,
    SourceTypes,
    TagKey,
    Tag(String),
}

pub(super) struct InfoFilter {
    pub(super) attr: Attr,
    pub(super) values: Vec<String>,
}

const LEGACY_KEYS: [&str; 8] = [
    "InstanceIds",
    "AgentVersion",
    "PingStatus",
    "PlatformTypes",
    "ActivationIds",
    "IamRole",
    "ResourceType",
    "AssociationStatus",
];

pub(super) fn attr_for(key: &str) -> Option<Attr> {
    Some(match key {
        "InstanceIds" => Attr::InstanceIds,
        "AgentVersion" => Attr::AgentVersion,
        "PingStatus" => Attr::PingStatus,
        "PlatformTypes" => Attr::PlatformTypes,
        "ActivationIds" => Attr::ActivationIds,
        "IamRole" => Attr::IamRole,
        "ResourceType" => Attr::ResourceType,
        "AssociationStatus" => Attr::AssociationStatus,
        "SourceIds" => Attr::SourceIds,
        "SourceTypes" => Attr::SourceTypes,
        "tag-key" => Attr::TagKey,
        k => match k.strip_prefix("tag:") {
            Some(tag) if !tag.is_empty() => Attr::Tag(tag.to_string()),
            _ => return None,
        },
    })
}

fn check_values(
    code: &str,
    key: &str,
    values: &[String],
    allowed: &[&str],
) -> Result<(), AwsError> {
    match values.iter().find(|v| !allowed.contains(&v.as_str())) {
        None => Ok(()),
        Some(bad) => Err(AwsError::client(
            code,
            format!(
                "{bad} is not a valid value for filter key {key}. Valid values: {}",
                allowed.join(" | ")
            ),
        )),
    }
}

impl InfoFilter {
    fn matches(&self, node: &Node, region: &str, now: DateTime<Utc>) -> bool {
        let s = &node.spec;
        let any = |v: &str| self.values.iter().any(|x| x == v);
        match &self.attr {
            Attr::InstanceIds | Attr::SourceIds => any(&s.id),
            Attr::PingStatus => any(&s.ping_status),
            Attr::PlatformTypes => any(&s.platform_type),
            Attr::ResourceType => any(resource_type(&s.id)),
            Attr::SourceTypes => any(source_type(&s.id)),
            Attr::AgentVersion => any(details(node, region, now).agent_version),
            Attr::AssociationStatus => any(details(node, region, now).association_status),
            Attr::ActivationIds => details(node, region, now)
                .activation_id
                .is_some_and(|a| any(&a)),
            Attr::IamRole => details(node, region, now).iam_role.is_some_and(any),
            Attr::TagKey => s.tags.keys().any(|k| any(k)),
            Attr::Tag(k) => s.tags.get(k).is_some_and(|v| any(v)),
        }
    }
}

/// The key and values of each filter of a list (`path`, with its key and values members
/// named as the model names them), checked: the key by `check_key`, one to `max_values` values.
pub(super) fn key_values(
    list: &[Input<'_>],
    v: &mut Violations,
    (path, key_name, values_name): (&str, &str, &str),
    max_values: usize,
    check_key: impl Fn(&mut Violations, &str, &str),
) -> Result<Vec<(String, Vec<String>)>, AwsError> {
    let mut out = Vec::new();
    for (i, f) in list.iter().enumerate() {
        let member = format!("{path}.{}.member", i + 1);
        let key = f.str(key_name)?;
        let values = f.strings(values_name)?;
        let key_path = format!("{member}.{}", lower_first(key_name));
        v.required(&key_path, key, &check_key);
        let values_path = format!("{member}.{}", lower_first(values_name));
        v.required(&values_path, values.as_deref(), |v, path, vals| {
            v.list_length(path, vals, 1, max_values)
        });
        if let (Some(k), Some(vals)) = (key, values) {
            out.push((k.to_string(), vals.iter().map(|s| s.to_string()).collect()));
        }
    }
    Ok(out)
}

/// `Values` -> `values` (`valueSet` stays): a member's name as AWS's messages print it.
fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

const INFO_OP: &str = "DescribeInstanceInformation";

pub(crate) fn describe_information(
    ssm: &SsmRegion,
    input: Input<'_>,
    region: &str,
    now: DateTime<Utc>,
) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let max = input.max_results(&mut v, 5, 50)?;
    let filters = input.objects("Filters")?.unwrap_or_default();
    let mut raw = key_values(
        &filters,
        &mut v,
        ("filters", "Key", "Values"),
        100,
        |v, path, k| v.text_length(path, k, 1, usize::MAX),
    )?;
    let legacy = input
        .objects("InstanceInformationFilterList")?
        .unwrap_or_default();
    raw.extend(key_values(
        &legacy,
        &mut v,
        ("instanceInformationFilterList", "key", "valueSet"),
        100,
        |v, path, k| v.one_of(path, k, &LEGACY_KEYS),
    )?);
    v.finish()?;
    let cursor = wire::cursor(INFO_OP, input.str("NextToken")?)?;
    if !filters.is_empty() && !legacy.is_empty() {
        return Err(AwsError::client(
            "InvalidFilterKey",
            "InstanceInformationFilterList and Filters can't be used in the same request. Use Filters.",
        ));
    }
    let parsed = node_filters(ssm, raw, "InvalidInstanceInformationFilterValue")?;
    let listing = NodeListing {
        op: INFO_OP,
        list: "InstanceInformationList",
        json: information_json,
    };
    Ok(listing.page(ssm, &parsed, cursor.as_ref(), max, (region, now)))
}

/// A node listing's answer: the operation (for its tokens), the list member, and one node's
/// JSON.
pub(super) struct NodeListing {
    pub(super) op: &'static str,
    pub(super) list: &'static str,
    pub(super) json: fn(&Node, &str, DateTime<Utc>) -> Value,
}

impl NodeListing {
    /// One page (`max` nodes, 10 by default) of the nodes that pass `parsed`, with the next
    /// page's token.
    pub(super) fn page(
        &self,
        ssm: &SsmRegion,
        parsed: &[InfoFilter],
        cursor: Option<&Cursor>,
        max: Option<i64>,
        (region, now): (&str, DateTime<Utc>),
    ) -> Value {
        let (page, next) = listed_page(ssm, parsed, cursor, max.unwrap_or(10), region, now);
        let nodes: Vec<Value> = page.iter().map(|n| (self.json)(n, region, now)).collect();
        let mut out = json!({ self.list: nodes });
        if let Some(c) = next {
            out["NextToken"] = json!(wire::token(self.op, &c));
        }
        out
    }
}

/// Parses node filters (key and values), refusing an unknown key (`InvalidFilterKey`), a value
/// outside a key's enumeration (`value_code`), an unknown node id, and tag filters mixed with
/// others, as `DescribeInstanceInformation` does.
pub(super) fn node_filters(
    ssm: &SsmRegion,
    raw: Vec<(String, Vec<String>)>,
    value_code: &str,
) -> Result<Vec<InfoFilter>, AwsError> {
    let check = |key: &str, values: &[String], allowed: &[&str]| {
        check_values(value_code, key, values, allowed)
    };
    let mut parsed = Vec::new();
    for (key, values) in raw {
        let attr = attr_for(&key).ok_or_else(|| {
            AwsError::client(
                "InvalidFilterKey",
                format!("The filter key {key} isn't valid."),
            )
        })?;
        match attr {
            Attr::PingStatus => check(&key, &values, &["Online", "ConnectionLost", "Inactive"])?,
            Attr::PlatformTypes => check(&key, &values, &["Windows", "Linux", "MacOS"])?,
            Attr::ResourceType => check(&key, &values, &["EC2Instance", "ManagedInstance"])?,
            Attr::AssociationStatus => check(&key, &values, &["Success", "Pending", "Failed"])?,
            Attr::SourceTypes => check(
                &key,
                &values,
                &[
                    "AWS::EC2::Instance",
                    "AWS::SSM::ManagedInstance",
                    "AWS::IoT::Thing",
                    "Microsoft.Compute/virtualMachines",
                ],
            )?,
            Attr::InstanceIds => {
                if let Some(bad) = values
                    .iter()
                    .find(|id| !valid_instance_id(id) || !ssm.nodes.contains_key(id.as_str()))
                {
                    return Err(invalid_instance(bad));
                }
            }
            _ => {}
        }
        parsed.push(InfoFilter { attr, values });
    }
    let tags = parsed
        .iter()
        .filter(|f| matches!(f.attr, Attr::TagKey | Attr::Tag(_)))
        .count();
    if tags > 0 && tags < parsed.len() {
        return Err(AwsError::client(
            "InvalidFilterKey",
            "Tag filters can't be combined with other filter types.",
        ));
    }
    Ok(parsed)
}

/// One page of the registered nodes that pass every filter, in id order from the cursor, and the
/// cursor of the next page. Stopped (and terminated) nodes are not returned; their compliance
/// data stays.
pub(super) fn listed_page<'s>(
    ssm: &'s SsmRegion,
    parsed: &[InfoFilter],
    cursor: Option<&Cursor>,
    max: i64,
    region: &str,
    now: DateTime<Utc>,
) -> (Vec<&'s Node>, Option<Cursor>) {
    let max = max.max(0) as usize;
    let lower = match cursor {
        Some(c) => Bound::Excluded(c.key.clone()),
        None => Bound::Unbounded,
    };
    // With an id filter, visit only those ids; otherwise scan in id order from the token.
    let ids: Option<BTreeSet<&str>> = parsed
        .iter()
        .find(|f| matches!(f.attr, Attr::InstanceIds))
        .map(|f| f.values.iter().map(String::as_str).collect());
    let candidates: Box<dyn Iterator<Item = &Node>> = match &ids {
        Some(ids) => Box::new(
            ids.iter()
                .filter(|id| match &lower {
                    Bound::Excluded(k) => **id > k.as_str(),
                    _ => true,
                })
                .filter_map(|id| ssm.nodes.get(*id)),
        ),
        None => Box::new(
            ssm.nodes
                .range::<String, _>((lower.clone(), Bound::Unbounded))
                .map(|(_, n)| n),
        ),
    };
    let mut page: Vec<&Node> = candidates
        .filter(|n| !n.is_stopped())
        .filter(|n| parsed.iter().all(|f| f.matches(n, region, now)))
        .take(max + 1)
        .collect();
    let more = page.len() > max;
    page.truncate(max);
    let next = page.last().filter(|_| more).map(|last| Cursor {
        key: last.spec.id.clone(),
        skip: 1,
    });
    (page, next)
}

fn validate_ids(v: &mut Violations, path: &str, ids: &[&str], max: usize) {
    v.list_length(path, ids, 0, max);
    v.member_pattern(
        path,
        ids,
        ids.iter().all(|id| valid_instance_id(id)),
        INSTANCE_ID_PATTERN,
    );
}

const STATES_OP: &str = "DescribeInstancePatchStates";

pub(crate) fn describe_patch_states(ssm: &SsmRegion, input: Input<'_>) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let ids = input.strings("InstanceIds")?;
    v.required("instanceIds", ids.as_deref(), |v, path, ids| {
        validate_ids(v, path, ids, 50)
    });
    let max = input.max_results(&mut v, 10, 100)?;
    v.finish()?;
    let cursor = wire::cursor(STATES_OP, input.str("NextToken")?)?;
    let ids: BTreeSet<&str> = ids.unwrap_or_default().into_iter().collect();
    let reported: Vec<&Node> = ids
        .iter()
        .filter_map(|id| ssm.nodes.get(*id))
        .filter(|n| n.report.is_some())
        .collect();
    let (page, next) = wire::page(
        &reported,
        |n| n.spec.id.as_str(),
        cursor.as_ref(),
        max.unwrap_or(10) as usize,
    );
    let states: Vec<Value> = page.iter().filter_map(|n| patch_state_json(n)).collect();
    let mut out = json!({ "InstancePatchStates": states });
    if let Some(c) = next {
        out["NextToken"] = json!(wire::token(STATES_OP, &c));
    }
    Ok(out)
}

fn patch_state_json(node: &Node) -> Option<Value> {
    let r = node.report.as_ref()?;
    let c = &r.counts;
    let mut v = json!({
        "InstanceId": node.spec.id,
        "PatchGroup": r.patch_group.clone().unwrap_or_default(),
        "BaselineId": r.baseline_id,
        "SnapshotId": r.snapshot_id,
        "InstalledCount": c.get(State::Installed),
        "InstalledOtherCount": c.get(State::InstalledOther),
        "InstalledPendingRebootCount": c.get(State::InstalledPendingReboot),
        "InstalledRejectedCount": c.get(State::InstalledRejected),
        "MissingCount": c.get(State::Missing),
        "FailedCount": c.get(State::Failed),
        "UnreportedNotApplicableCount": 0,
        "NotApplicableCount": c.get(State::NotApplicable),
        "AvailableSecurityUpdateCount": c.get(State::AvailableSecurityUpdate),
        "OperationStartTime": epoch(r.start),
        "OperationEndTime": epoch(r.end),
        "Operation": r.operation,
        "RebootOption": r.reboot_option,
        "CriticalNonCompliantCount": c.critical_non_compliant,
        "SecurityNonCompliantCount": c.security_non_compliant,
        "OtherNonCompliantCount": c.other_non_compliant,
    });
    if let Some(t) = r.last_no_reboot_install {
        v["LastNoRebootInstallOperationTime"] = epoch(t);
    }
    Some(v)
}

const PATCHES_OP: &str = "DescribeInstancePatches";

enum PatchKey {
    Classification,
    KbId,
    Severity,
    State,
}

pub(crate) fn describe_patches(ssm: &SsmRegion, input: Input<'_>) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let id = input.str("InstanceId")?;
    v.required("instanceId", id, |v, path, id| {
        v.pattern(path, id, valid_instance_id(id), INSTANCE_ID_PATTERN)
    });
    let filters = input.objects("Filters")?.unwrap_or_default();
    v.count("filters", filters.len(), 0, 5);
    let mut raw = Vec::new();
    for (i, f) in filters.iter().enumerate() {
        let key = f.str("Key")?;
        if let Some(k) = key {
            v.text_length(&format!("filters.{}.member.key", i + 1), k, 1, 128);
        }
        raw.push((key, f.strings("Values")?));
    }
    let max = input.max_results(&mut v, 10, 100)?;
    v.finish()?;
    let cursor = wire::cursor(PATCHES_OP, input.str("NextToken")?)?;
    let id = id.unwrap_or_default();
    let node = ssm.nodes.get(id).ok_or_else(|| invalid_instance(id))?;

    let mut parsed = Vec::new();
    for (key, values) in raw {
        let invalid = |m: String| AwsError::client("InvalidFilter", m);
        let key = key.ok_or_else(|| invalid("A filter must have a Key.".into()))?;
        let values = values
            .filter(|v| !v.is_empty())
            .ok_or_else(|| invalid(format!("Filter {key} must have at least one value.")))?;
        let pk = match key {
            "Classification" => PatchKey::Classification,
            "KBId" => PatchKey::KbId,
            "Severity" => PatchKey::Severity,
            "State" => PatchKey::State,
            other => {
                return Err(invalid(format!(
                    "The filter key {other} isn't valid. Valid keys: Classification | KBId | Severity | State."
                )));
            }
        };
        if matches!(pk, PatchKey::State)
            && let Some(bad) = values.iter().find(|s| State::from_wire(s).is_none())
        {
            return Err(invalid(format!(
                "The State filter value {bad} isn't valid. Valid values: Installed | InstalledOther | InstalledPendingReboot | InstalledRejected | Missing | NotApplicable | Failed | AvailableSecurityUpdate."
            )));
        }
        parsed.push((pk, values));
    }

    let mut patches: Vec<&PatchSpec> = match &node.report {
        Some(r) => r
            .patches
            .iter()
            .filter(|p| {
                parsed.iter().all(|(k, vals)| {
                    let attr = match k {
                        PatchKey::Classification => p.classification.as_str(),
                        PatchKey::KbId => p.id.as_str(),
                        PatchKey::Severity => p.severity.as_str(),
                        PatchKey::State => state_of(p).wire(),
                    };
                    vals.contains(&attr)
                })
            })
            .collect(),
        None => Vec::new(),
    };
    patches.sort_by(|a, b| a.id.cmp(&b.id));
    let (page, next) = wire::page(
        &patches,
        |p| p.id.as_str(),
        cursor.as_ref(),
        max.unwrap_or(10) as usize,
    );
    let mut out = json!({ "Patches": page.iter().map(|p| patch_json(p)).collect::<Vec<_>>() });
    if let Some(c) = next {
        out["NextToken"] = json!(wire::token(PATCHES_OP, &c));
    }
    Ok(out)
}

fn patch_json(p: &PatchSpec) -> Value {
    let mut v = json!({
        "Title": p.title,
        "KBId": p.id,
        "Classification": p.classification,
        "Severity": p.severity,
        "State": state_of(p).wire(),
        // Required by the model; AWS sends 0 for patches that are not installed.
        "InstalledTime": installed_time(p).map_or(json!(0.0), epoch),
    });
    if let Some(cves) = reported_cves(p) {
        v["CVEIds"] = json!(cves);
    }
    v
}
