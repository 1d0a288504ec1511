//! Run Command for `AWS-RunPatchBaseline`: `SendCommand` runs the patch operation on every
//! targeted node that is online, at once; `ListCommands` and `GetCommandInvocation` show the
//! outcome. Nodes that are not online never receive the command and time out on delivery.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::instances::INSTANCE_ID_PATTERN;
use super::patches::{State, state_of};
use super::wire::{self, Input, Violations, epoch};
use super::{Node, PATCH_DOCUMENT, SsmRegion};
use crate::fleet::valid_instance_id;
use crate::identity::Caller;
use crate::protocol::AwsError;

/// Parameters `AWS-RunPatchBaseline` declares.
const DOCUMENT_PARAMETERS: [&str; 6] = [
    "Operation",
    "SnapshotId",
    "InstallOverrideList",
    "RebootOption",
    "BaselineOverride",
    "AssociationId",
];

/// One node's run of a command.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    instance_id: String,
    plugin: &'static str,
    /// `Success`, or `TimedOut` for a node that never received the command.
    status: &'static str,
    status_details: &'static str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    output: String,
}

/// A command as sent, with its invocations.
#[derive(Debug, Clone)]
pub(crate) struct CommandRecord {
    seq: u64,
    id: String,
    comment: Option<String>,
    parameters: BTreeMap<String, Vec<String>>,
    instance_ids: Vec<String>,
    targets: Value,
    requested: DateTime<Utc>,
    timeout_seconds: i64,
    max_concurrency: String,
    max_errors: String,
    region: String,
    invocations: Vec<Invocation>,
}

impl CommandRecord {
    fn status(&self) -> (&'static str, &'static str) {
        if self.invocations.iter().all(|i| i.status == "Success") {
            ("Success", "Success")
        } else {
            ("Failed", "Failed")
        }
    }

    fn to_json(&self) -> Value {
        let (status, details) = self.status();
        let timed_out = self
            .invocations
            .iter()
            .filter(|i| i.status_details == "DeliveryTimedOut")
            .count();
        json!({
            "CommandId": self.id,
            "DocumentName": PATCH_DOCUMENT,
            "DocumentVersion": "$DEFAULT",
            "Comment": self.comment.clone().unwrap_or_default(),
            "ExpiresAfter": epoch(self.requested + Duration::seconds(self.timeout_seconds)),
            "Parameters": self.parameters,
            "InstanceIds": self.instance_ids,
            "Targets": self.targets,
            "RequestedDateTime": epoch(self.requested),
            "Status": status,
            "StatusDetails": details,
            "OutputS3Region": self.region,
            "OutputS3BucketName": "",
            "OutputS3KeyPrefix": "",
            "MaxConcurrency": self.max_concurrency,
            "MaxErrors": self.max_errors,
            "TargetCount": self.invocations.len(),
            "CompletedCount": self.invocations.len(),
            "ErrorCount": self.invocations.len() - timed_out - self.invocations.iter().filter(|i| i.status == "Success").count(),
            "DeliveryTimedOutCount": timed_out,
            "ServiceRole": "",
            "NotificationConfig": {"NotificationArn": "", "NotificationEvents": [], "NotificationType": ""},
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
            "TimeoutSeconds": self.timeout_seconds,
        })
    }
}

fn invalid_parameters(msg: impl Into<String>) -> AwsError {
    AwsError::client("InvalidParameters", msg)
}

/// `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`
fn valid_concurrency(s: &str) -> bool {
    let digits =
        |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0');
    match s.strip_suffix('%') {
        Some(p) => p == "100" || (digits(p) && p.len() <= 2),
        None => digits(s),
    }
}

/// `^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`
fn valid_errors(s: &str) -> bool {
    s == "0" || s == "0%" || valid_concurrency(s)
}

pub(crate) fn send(
    ssm: &mut SsmRegion,
    input: Input<'_>,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let document = input.str("DocumentName")?;
    v.required("documentName", document, |v, path, d| {
        let ok = (3..=128).contains(&d.len())
            && d.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c));
        v.pattern(path, d, ok, r"^[a-zA-Z0-9_\-.:/]{3,128}$")
    });
    let ids = input.strings("InstanceIds")?;
    if let Some(ids) = &ids {
        v.list_length("instanceIds", ids, 0, 50);
        v.member_pattern(
            "instanceIds",
            ids,
            ids.iter().all(|i| valid_instance_id(i)),
            INSTANCE_ID_PATTERN,
        );
    }
    let targets = input.objects("Targets")?;
    let mut target_specs = Vec::new();
    if let Some(ts) = &targets {
        v.count("targets", ts.len(), 0, 5);
        for (i, t) in ts.iter().enumerate() {
            let key = t.str("Key")?.unwrap_or_default();
            let values = t.strings("Values")?.unwrap_or_default();
            v.text_length(&format!("targets.{}.member.key", i + 1), key, 1, 163);
            v.list_length(&format!("targets.{}.member.values", i + 1), &values, 0, 50);
            target_specs.push((key, values));
        }
    }
    let version = input.str("DocumentVersion")?;
    if let Some(ver) = version {
        let ok = ver == "$LATEST"
            || ver == "$DEFAULT"
            || (!ver.starts_with('0')
                && !ver.is_empty()
                && ver.bytes().all(|b| b.is_ascii_digit()));
        v.pattern(
            "documentVersion",
            ver,
            ok,
            "([$]LATEST|[$]DEFAULT|^[1-9][0-9]*$)",
        );
    }
    let timeout = input.int("TimeoutSeconds")?;
    if let Some(t) = timeout {
        v.range("timeoutSeconds", t, 30, 2_592_000);
    }
    let comment = input.str("Comment")?;
    if let Some(c) = comment {
        v.text_length("comment", c, 0, 100);
    }
    let concurrency = input.str("MaxConcurrency")?;
    if let Some(c) = concurrency {
        v.pattern(
            "maxConcurrency",
            c,
            c.len() <= 7 && valid_concurrency(c),
            "^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$",
        );
    }
    let errors = input.str("MaxErrors")?;
    if let Some(e) = errors {
        v.pattern(
            "maxErrors",
            e,
            e.len() <= 7 && valid_errors(e),
            "^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$",
        );
    }
    let parameters = input.string_list_map("Parameters")?.unwrap_or_default();
    let has_ids = ids.as_ref().is_some_and(|i| !i.is_empty());
    let has_targets = targets.as_ref().is_some_and(|t| !t.is_empty());
    v.finish()?;

    let document = document.unwrap_or_default();
    let name = document.rsplit("document/").next().unwrap_or(document);
    if name != PATCH_DOCUMENT {
        return Err(AwsError::client(
            "InvalidDocument",
            format!(
                "Document with name {document} does not exist. (awsim runs only {PATCH_DOCUMENT}.)"
            ),
        ));
    }
    if let Some(ver) = version
        && !matches!(ver, "$LATEST" | "$DEFAULT" | "1")
    {
        return Err(AwsError::client(
            "InvalidDocumentVersion",
            format!("Document {PATCH_DOCUMENT} has no version {ver}."),
        ));
    }
    let mut operation = None;
    let mut reboot = "RebootIfNeeded";
    for (name, values) in &parameters {
        if !DOCUMENT_PARAMETERS.contains(name) {
            return Err(invalid_parameters(format!(
                "Parameter {name} isn't defined in {PATCH_DOCUMENT}."
            )));
        }
        match *name {
            "Operation" => match values.as_slice() {
                ["Scan"] => operation = Some("Scan"),
                ["Install"] => operation = Some("Install"),
                _ => {
                    return Err(invalid_parameters(format!(
                        "Parameter Operation must be one of Scan, Install (got {values:?})."
                    )));
                }
            },
            "RebootOption" => match values.as_slice() {
                ["RebootIfNeeded"] => reboot = "RebootIfNeeded",
                ["NoReboot"] => reboot = "NoReboot",
                _ => {
                    return Err(invalid_parameters(format!(
                        "Parameter RebootOption must be one of RebootIfNeeded, NoReboot (got {values:?})."
                    )));
                }
            },
            _ => {}
        }
    }
    let operation = operation.ok_or_else(|| {
        invalid_parameters(format!(
            "Parameter Operation is required by {PATCH_DOCUMENT}."
        ))
    })?;
    if has_ids == has_targets {
        return Err(AwsError::client(
            "ValidationException",
            "Specify either InstanceIds or Targets, but not both.",
        ));
    }

    // Resolve the nodes the command reaches.
    let mut chosen: Vec<String> = Vec::new();
    if let Some(ids) = &ids {
        for id in ids {
            if chosen.iter().any(|c| c == id) {
                return Err(AwsError::client(
                    "DuplicateInstanceId",
                    format!("Instance {id} is listed more than once."),
                ));
            }
            if !ssm.nodes.contains_key(*id) {
                return Err(AwsError::client(
                    "InvalidInstanceId",
                    format!(
                        "Instances [[{id}]] not in a valid state for account {}",
                        caller.account
                    ),
                ));
            }
            chosen.push(id.to_string());
        }
    } else {
        for (key, values) in &target_specs {
            let test: Box<dyn Fn(&Node) -> bool> = if *key == "InstanceIds" {
                Box::new(|n: &Node| values.contains(&n.spec.id.as_str()))
            } else if *key == "tag-key" {
                Box::new(|n: &Node| n.spec.tags.keys().any(|k| values.contains(&k.as_str())))
            } else if let Some(tag) = key.strip_prefix("tag:") {
                Box::new(move |n: &Node| {
                    n.spec
                        .tags
                        .get(tag)
                        .is_some_and(|v| values.contains(&v.as_str()))
                })
            } else {
                return Err(AwsError::client(
                    "ValidationException",
                    format!(
                        "awsim supports Targets keys InstanceIds, tag-key and tag:<key>, not {key}."
                    ),
                ));
            };
            for n in ssm.nodes.values().filter(|n| test(n)) {
                if !chosen.contains(&n.spec.id) {
                    chosen.push(n.spec.id.clone());
                }
            }
        }
        chosen.sort();
    }

    ssm.command_seq += 1;
    let seq = ssm.command_seq;
    let command_id = wire::uuid_from(&format!(
        "command/{}/{}/{seq}/{}",
        caller.account,
        caller.region,
        now.timestamp_millis()
    ));
    let mut invocations = Vec::with_capacity(chosen.len());
    for id in &chosen {
        let node = ssm.nodes.get_mut(id).expect("chosen from the map");
        let plugin = match node.spec.platform_type.as_str() {
            "Windows" => "PatchWindows",
            "MacOS" => "PatchMacOS",
            _ => "PatchLinux",
        };
        if !node.is_online() {
            invocations.push(Invocation {
                instance_id: id.clone(),
                plugin,
                status: "TimedOut",
                status_details: "DeliveryTimedOut",
                start: now,
                end: now,
                output: String::new(),
            });
            continue;
        }
        let changed = if operation == "Install" {
            install(node, reboot, now)
        } else {
            0
        };
        node.snapshot(operation, reboot, command_id.clone(), now);
        let counts = node.report.as_ref().map(|r| r.counts).unwrap_or_default();
        invocations.push(Invocation {
            instance_id: id.clone(),
            plugin,
            status: "Success",
            status_details: "Success",
            start: now,
            end: now,
            output: format!(
                "Patch operation {operation} finished. Installed: {}, InstalledPendingReboot: {}, Missing: {}, Failed: {}, changed: {changed}.",
                counts.get(State::Installed),
                counts.get(State::InstalledPendingReboot),
                counts.get(State::Missing),
                counts.get(State::Failed),
            ),
        });
    }
    let record = CommandRecord {
        seq,
        id: command_id,
        comment: comment.map(str::to_string),
        parameters: parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        instance_ids: ids
            .unwrap_or_default()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        targets: json!(
            target_specs
                .iter()
                .map(|(k, v)| json!({"Key": k, "Values": v}))
                .collect::<Vec<_>>()
        ),
        requested: now,
        timeout_seconds: timeout.unwrap_or(3600),
        max_concurrency: concurrency.unwrap_or("50").to_string(),
        max_errors: errors.unwrap_or("0").to_string(),
        region: caller.region.clone(),
        invocations,
    };
    let out = json!({ "Command": record.to_json() });
    ssm.commands.push(record);
    Ok(out)
}

/// Installs what the baseline wants on a node's true state; returns how many patches changed.
fn install(node: &mut Node, reboot: &str, now: DateTime<Utc>) -> usize {
    let reboots = reboot == "RebootIfNeeded";
    let needs_change = node.truth.iter().any(|p| {
        matches!(
            state_of(p),
            State::Missing
                | State::Failed
                | State::AvailableSecurityUpdate
                | State::InstalledPendingReboot
        )
    });
    if !needs_change {
        return 0;
    }
    let mut changed = 0;
    for p in Arc::make_mut(&mut node.truth) {
        let new = match state_of(p) {
            State::Missing | State::Failed | State::AvailableSecurityUpdate => {
                p.installed_time = Some(now);
                if reboots {
                    State::Installed
                } else {
                    State::InstalledPendingReboot
                }
            }
            // A reboot completes installations that were waiting for one.
            State::InstalledPendingReboot if reboots => {
                p.installed_time.get_or_insert(now);
                State::Installed
            }
            _ => continue,
        };
        p.state = new.fleet().to_string();
        changed += 1;
    }
    changed
}

const LIST_OP: &str = "ListCommands";

/// A `ListCommands` filter.
type CommandTest<'a> = Box<dyn Fn(&CommandRecord) -> bool + 'a>;

fn command_id_check(v: &mut Violations, path: &str, id: &str) {
    v.text_length(path, id, 36, 36);
}

pub(crate) fn list(ssm: &SsmRegion, input: Input<'_>) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let command_id = input.str("CommandId")?;
    if let Some(c) = command_id {
        command_id_check(&mut v, "commandId", c);
    }
    let instance_id = input.str("InstanceId")?;
    if let Some(i) = instance_id {
        v.pattern("instanceId", i, valid_instance_id(i), INSTANCE_ID_PATTERN);
    }
    let max = input.max_results(&mut v, 1, 50)?;
    let filters = input.objects("Filters")?;
    let mut parsed = Vec::new();
    if let Some(fs) = &filters {
        v.count("filters", fs.len(), 1, 5);
        for (i, f) in fs.iter().enumerate() {
            let n = i + 1;
            let key = f.str("key")?;
            let value = f.str("value")?;
            match key {
                None => v.null(&format!("filters.{n}.member.key")),
                Some(k) => v.one_of(
                    &format!("filters.{n}.member.key"),
                    k,
                    &[
                        "InvokedAfter",
                        "InvokedBefore",
                        "Status",
                        "ExecutionStage",
                        "DocumentName",
                    ],
                ),
            }
            match value {
                None => v.null(&format!("filters.{n}.member.value")),
                Some(val) => v.text_length(&format!("filters.{n}.member.value"), val, 1, 128),
            }
            parsed.push((key.unwrap_or_default(), value.unwrap_or_default()));
        }
    }
    v.finish()?;
    let cursor = wire::cursor(LIST_OP, input.str("NextToken")?)?;
    if let Some(c) = command_id
        && !ssm.commands.iter().any(|r| r.id == c)
    {
        return Err(AwsError::client(
            "InvalidCommandId",
            format!("Command {c} doesn't exist."),
        ));
    }
    let mut tests: Vec<CommandTest<'_>> = Vec::new();
    for (key, value) in parsed {
        let bad = || {
            AwsError::client(
                "InvalidFilterKey",
                format!("Filter {key}={value} isn't valid."),
            )
        };
        match key {
            "InvokedAfter" | "InvokedBefore" => {
                let t = DateTime::parse_from_rfc3339(value)
                    .map_err(|_| bad())?
                    .with_timezone(&Utc);
                let after = key == "InvokedAfter";
                tests.push(Box::new(move |r| {
                    if after {
                        r.requested >= t
                    } else {
                        r.requested <= t
                    }
                }));
            }
            "Status" => tests.push(Box::new(move |r| r.status().0 == value)),
            "DocumentName" => tests.push(Box::new(move |r| {
                value == PATCH_DOCUMENT && !r.id.is_empty()
            })),
            // Every awsim command has finished.
            _ => tests.push(Box::new(move |_| value == "Complete")),
        }
    }
    let mut matching: Vec<(String, &CommandRecord)> = ssm
        .commands
        .iter()
        .filter(|r| command_id.is_none_or(|c| r.id == c))
        .filter(|r| {
            instance_id.is_none_or(|i| r.invocations.iter().any(|inv| inv.instance_id == i))
        })
        .filter(|r| tests.iter().all(|t| t(r)))
        // Newest first.
        .map(|r| (format!("{:020}", u64::MAX - r.seq), r))
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, next) = wire::page(
        &matching,
        |m| m.0.as_str(),
        cursor.as_ref(),
        max.unwrap_or(50) as usize,
    );
    let mut out = json!({ "Commands": page.iter().map(|(_, r)| r.to_json()).collect::<Vec<_>>() });
    if let Some(c) = next {
        out["NextToken"] = json!(wire::token(LIST_OP, &c));
    }
    Ok(out)
}

pub(crate) fn get_invocation(ssm: &SsmRegion, input: Input<'_>) -> Result<Value, AwsError> {
    let mut v = Violations::default();
    let command_id = input.str("CommandId")?;
    v.required("commandId", command_id, command_id_check);
    let instance_id = input.str("InstanceId")?;
    v.required("instanceId", instance_id, |v, path, i| {
        v.pattern(path, i, valid_instance_id(i), INSTANCE_ID_PATTERN)
    });
    let plugin = input.str("PluginName")?;
    if let Some(p) = plugin {
        v.text_length("pluginName", p, 4, usize::MAX);
    }
    v.finish()?;
    let (command_id, instance_id) = (
        command_id.unwrap_or_default(),
        instance_id.unwrap_or_default(),
    );
    let record = ssm
        .commands
        .iter()
        .find(|r| r.id == command_id)
        .ok_or_else(|| {
            AwsError::client(
                "InvalidCommandId",
                format!("Command {command_id} doesn't exist."),
            )
        })?;
    let inv = record
        .invocations
        .iter()
        .find(|i| i.instance_id == instance_id)
        .ok_or_else(|| {
            AwsError::client(
                "InvocationDoesNotExist",
                format!("Command {command_id} has no invocation on {instance_id}."),
            )
        })?;
    if let Some(p) = plugin
        && p != inv.plugin
    {
        return Err(AwsError::client(
            "InvalidPluginName",
            format!(
                "Plugin {p} isn't part of this invocation (it ran {}).",
                inv.plugin
            ),
        ));
    }
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    Ok(json!({
        "CommandId": record.id,
        "InstanceId": inv.instance_id,
        "Comment": record.comment.clone().unwrap_or_default(),
        "DocumentName": PATCH_DOCUMENT,
        "DocumentVersion": "$DEFAULT",
        "PluginName": inv.plugin,
        "ResponseCode": if inv.status == "Success" { 0 } else { -1 },
        "ExecutionStartDateTime": iso(inv.start),
        "ExecutionElapsedTime": format!("PT{}S", (inv.end - inv.start).num_seconds()),
        "ExecutionEndDateTime": iso(inv.end),
        "Status": inv.status,
        "StatusDetails": inv.status_details,
        "StandardOutputContent": inv.output,
        "StandardOutputUrl": "",
        "StandardErrorContent": "",
        "StandardErrorUrl": "",
        "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_patterns() {
        for ok in ["1", "50", "10%", "100%", "9%"] {
            assert!(valid_concurrency(ok), "{ok}");
        }
        for bad in ["0", "0%", "101%", "01", "", "%"] {
            assert!(!valid_concurrency(bad), "{bad}");
        }
        assert!(valid_errors("0"));
        assert!(valid_errors("0%"));
    }
}
