//! The CloudFormation templates in `deploy/cloudformation` keep their contract: the original
//! template's five parameters, its maintenance-window tasks, the Lambda runtime, an execution role
//! and a CLI role that grant exactly the IAM actions the code declares in
//! [`patchhub_aws::actions`] (with the actions Security Hub needs the caller to hold), the failure
//! paths and alarms operations rely on, and no IAM policy in any template that grants an action by
//! wildcard.

use std::collections::BTreeSet;
use std::path::PathBuf;

use patchhub_aws::actions::{
    ALL_REGIONS_ACTIONS, DEPENDENT_ACTIONS, HUB_ACTIONS, LAKE_DIRECT_ACTIONS, LAKE_ROLE_ACTIONS,
    SYNC_ACTIONS, dependents_of,
};
use serde_json::{Map, Value, json};

/// What the execution role grants besides `SYNC_ACTIONS`: writing to the function's own log
/// group (the stack creates that group, so `logs:CreateLogGroup` is not among them), sending
/// failed asynchronous invocations to their queue, and polling the compliance-event queue.
const PLATFORM_ACTIONS: &[&str] = &[
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

/// The parameters of the original (2020) template, which deployments upgrading from it pass.
const ORIGINAL_PARAMETERS: &[&str] = &[
    "ExistingLambdaExecutionRole",
    "S3BucketParam",
    "S3KeyParam",
    "TargetTagKey",
    "TargetTagValue",
];

const ACCOUNT: &str = "patchhub-account.yaml";
const ORG: &str = "patchhub-org.yaml";
const ADMIN: &str = "patchhub-admin.yaml";
const CLI_ROLE: &str = "patchhub-cli-role.yaml";
const CLI_ROLE_STACKSET: &str = "patchhub-cli-role-stackset.yaml";
const ALL: [&str; 5] = [ACCOUNT, ORG, ADMIN, CLI_ROLE, CLI_ROLE_STACKSET];

fn template_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/cloudformation")
}

fn read(name: &str) -> String {
    let path = template_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses a template. Short-form tags (`!Ref`) fail here on purpose: the templates use the long
/// form so that any YAML parser, this one included, reads them.
fn load(name: &str) -> Value {
    serde_norway::from_str(&read(name)).unwrap_or_else(|e| {
        panic!("{name} is not plain YAML (use long-form intrinsics, `Ref:` not `!Ref`): {e}")
    })
}

fn obj<'a>(v: &'a Value, what: &str) -> &'a Map<String, Value> {
    v.as_object()
        .unwrap_or_else(|| panic!("{what} is not a mapping: {v}"))
}

fn resources(t: &Value) -> &Map<String, Value> {
    obj(&t["Resources"], "Resources")
}

fn parameters(t: &Value) -> &Map<String, Value> {
    obj(&t["Parameters"], "Parameters")
}

/// `(logical id, resource)` for every resource of type `ty`.
fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(k, r)| (k.as_str(), r))
        .collect()
}

fn only_of_type<'a>(t: &'a Value, ty: &str) -> (&'a str, &'a Value) {
    let all = of_type(t, ty);
    assert_eq!(
        all.len(),
        1,
        "expected exactly one {ty}, found {:?}",
        all.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    all[0]
}

/// `Ref: NAME`.
fn is_ref(v: &Value, name: &str) -> bool {
    v.get("Ref").and_then(Value::as_str) == Some(name)
}

/// The logical id of a `Fn::GetAtt: [ID, Arn]` (or `Fn::GetAtt: ID.Arn`).
fn getatt_arn(v: &Value) -> Option<&str> {
    match v.get("Fn::GetAtt")? {
        Value::Array(a) if a.len() == 2 && a[1] == "Arn" => a[0].as_str(),
        Value::String(s) => s.strip_suffix(".Arn"),
        _ => None,
    }
}

/// Every logical id named by a `Fn::GetAtt: [ID, Arn]` anywhere inside `v`.
fn getatt_arns(v: &Value, out: &mut Vec<String>) {
    if let Some(id) = getatt_arn(v) {
        out.push(id.to_string());
    }
    match v {
        Value::Array(a) => a.iter().for_each(|x| getatt_arns(x, out)),
        Value::Object(m) => m.values().for_each(|x| getatt_arns(x, out)),
        _ => {}
    }
}

/// A YAML scalar as a string (`Priority: 1` and `Priority: '1'` both give "1").
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other}"),
    }
}

/// `Action` (or `Resource`) of a statement: a string or a list of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        v @ Value::Object(_) => vec![v],
        other => panic!("policy Statement is neither a list nor a mapping: {other}"),
    }
}

/// The actions a set of policy documents allows, checking on the way that every statement is a
/// plain Allow (Deny, NotAction and NotResource would make a set comparison meaningless).
fn allowed_actions<'a>(docs: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for doc in docs {
        for st in statements(doc) {
            assert_eq!(
                st["Effect"], "Allow",
                "only Allow statements expected: {st}"
            );
            assert!(
                st.get("NotAction").is_none() && st.get("NotResource").is_none(),
                "NotAction/NotResource: {st}"
            );
            out.extend(strings(&st["Action"]));
        }
    }
    out
}

/// Fails with both directions of the difference, so a drift names the action to add or remove.
fn assert_same_actions(granted: &BTreeSet<String>, expected: &BTreeSet<String>, what: &str) {
    if granted == expected {
        return;
    }
    let missing: Vec<_> = expected.difference(granted).collect();
    let extra: Vec<_> = granted.difference(expected).collect();
    panic!(
        "{what}: the role's actions differ from the code's (patchhub_aws::actions)\n  \
         called by the code but not granted: {missing:?}\n  \
         granted but not called by the code: {extra:?}\n\
         Change the code's list and the template together."
    );
}

fn function(t: &Value) -> (&str, &Value) {
    only_of_type(t, "AWS::Lambda::Function")
}

/// The execution role the function runs as when the stack creates it.
fn execution_role(t: &Value) -> (&str, &Value) {
    let (_, f) = function(t);
    let role = &f["Properties"]["Role"];
    let branches = role["Fn::If"]
        .as_array()
        .unwrap_or_else(|| panic!("Function Role should be Fn::If on the optional role: {role}"));
    assert_eq!(
        branches.len(),
        3,
        "Fn::If takes [condition, then, else]: {role}"
    );
    assert!(
        is_ref(&branches[2], "ExistingLambdaExecutionRole"),
        "without a created role the function must use ExistingLambdaExecutionRole: {role}"
    );
    let id = getatt_arn(&branches[1])
        .unwrap_or_else(|| panic!("the created role should be Fn::GetAtt [ROLE, Arn]: {role}"));
    let r = &resources(t)[id];
    assert_eq!(r["Type"], "AWS::IAM::Role", "{id} is not an IAM role");
    (id, r)
}

#[test]
fn templates_are_plain_yaml_with_resources() {
    for name in ALL {
        let t = load(name);
        assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09", "{name}");
        assert!(!resources(&t).is_empty(), "{name} has no resources");
    }
}

#[test]
fn account_template_keeps_the_original_parameters() {
    let t = load(ACCOUNT);
    let params = parameters(&t);
    for name in ORIGINAL_PARAMETERS {
        let p = params
            .get(*name)
            .unwrap_or_else(|| panic!("parameter {name} of the original template is gone"));
        assert_eq!(p["Type"], "String", "{name} keeps its type");
    }
    // Optional, as in the original: empty means "create the role".
    assert_eq!(params["ExistingLambdaExecutionRole"]["Default"], "");
    for name in [
        "S3BucketParam",
        "S3KeyParam",
        "TargetTagKey",
        "TargetTagValue",
    ] {
        assert!(
            params[name].get("Default").is_none(),
            "{name} has no default: every deployment names its own"
        );
    }
}

#[test]
fn account_template_has_the_new_parameters() {
    let t = load(ACCOUNT);
    let params = parameters(&t);
    let allowed = |name: &str| -> BTreeSet<String> {
        strings(&params[name]["AllowedValues"])
            .into_iter()
            .collect()
    };
    for name in [
        "Schedule",
        "MinSeverity",
        "Architecture",
        "EventDriven",
        "SweepSchedule",
        "LogRetentionDays",
    ] {
        assert!(params.contains_key(name), "parameter {name} missing");
    }
    assert_eq!(
        allowed("Architecture"),
        BTreeSet::from(["arm64".to_string(), "x86_64".to_string()])
    );
    assert_eq!(
        allowed("MinSeverity"),
        ["critical", "high", "medium", "low", "informational", "all"]
            .map(String::from)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        "MinSeverity takes what the CLI's --min-severity takes"
    );
    assert_eq!(
        params["EventDriven"]["Default"], "true",
        "event-driven sync is on by default"
    );
    assert!(
        !scalar(&params["Schedule"]["Default"]).contains("hour"),
        "no more hourly full rescans"
    );
    assert_eq!(
        params["Architecture"]["Default"], "arm64",
        "arm64 by default"
    );
    for name in [
        "ScanInWindow",
        "ScanMaxConcurrency",
        "ScanMaxErrors",
        "ScanDeliveryTimeoutSeconds",
        "SyncMaxConcurrency",
        "SyncMaxErrors",
        "WindowDuration",
        "WindowCutoff",
        "EventMaxConcurrency",
        "AlarmTopicArn",
        "LogLevel",
        "ArchiveFindingsOnDelete",
    ] {
        assert!(params.contains_key(name), "parameter {name} missing");
    }
    assert_eq!(params["ScanInWindow"]["Default"], "true");
    for name in ["ScanMaxConcurrency", "ScanMaxErrors"] {
        assert!(
            scalar(&params[name]["Default"]).ends_with('%'),
            "{name} scales with the fleet: a percentage by default"
        );
    }

    // The sweep runs daily at a fixed time after the default window has closed.
    let hour_of = |cron: &str| -> u32 {
        let fields: Vec<&str> = cron
            .strip_prefix("cron(")
            .and_then(|c| c.strip_suffix(')'))
            .unwrap_or_else(|| panic!("not a cron expression: {cron}"))
            .split_whitespace()
            .collect();
        assert_eq!(fields.len(), 6, "{cron}");
        assert_eq!(fields[2..], ["?", "*", "*", "*"], "every day: {cron}");
        fields[1]
            .parse()
            .unwrap_or_else(|_| panic!("a fixed hour: {cron}"))
    };
    let window_opens = hour_of(&scalar(&params["Schedule"]["Default"]));
    let window_hours: u32 = scalar(&params["WindowDuration"]["Default"])
        .parse()
        .unwrap();
    let sweep = hour_of(&scalar(&params["SweepSchedule"]["Default"]));
    assert!(
        sweep >= window_opens + window_hours,
        "the sweep ({sweep}:00) runs after the window ({window_opens}:00 + {window_hours} h)"
    );
}

#[test]
fn schedule_and_list_parameters_have_patterns() {
    for name in [ACCOUNT, ORG] {
        let t = load(name);
        let params = parameters(&t);
        for p in [
            "Schedule",
            "SweepSchedule",
            "ExcludePatches",
            "ExcludeTags",
            "ScanMaxConcurrency",
            "ScanMaxErrors",
            "SyncMaxConcurrency",
            "SyncMaxErrors",
            "AlarmTopicArn",
        ] {
            assert!(
                params[p]["AllowedPattern"].is_string(),
                "{name}: {p} has no AllowedPattern"
            );
        }
    }
}

#[test]
fn function_runs_bootstrap_on_provided_al2023() {
    let t = load(ACCOUNT);
    let (_, f) = function(&t);
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["Architectures"], json!([{"Ref": "Architecture"}]));
    assert!(
        is_ref(&p["Code"]["S3Key"], "S3KeyParam"),
        "code key comes from S3KeyParam"
    );
    assert!(
        p["Code"]["S3Bucket"]
            .to_string()
            .contains("\"S3BucketParam\""),
        "code bucket comes from S3BucketParam"
    );
    let env = obj(&p["Environment"]["Variables"], "Environment.Variables");
    assert!(
        is_ref(&env["PATCHHUB_MIN_SEVERITY"], "MinSeverity"),
        "MinSeverity reaches the function"
    );
    assert_eq!(
        env["PATCHHUB_SLA"],
        json!({"Fn::If": ["HasPatchDeadlines", {"Ref": "PatchDeadlines"}, {"Ref": "AWS::NoValue"}]}),
        "PatchDeadlines reaches the function when set"
    );
    for key in env.keys() {
        assert!(
            key.starts_with("PATCHHUB_"),
            "unexpected environment variable {key}"
        );
    }
    // Each instance's share of the quotas: every source of concurrent invocations counted.
    assert_eq!(
        env["PATCHHUB_CONCURRENCY"],
        json!({"Fn::Join": ["+", [{"Ref": "SyncMaxConcurrency"}, {"Ref": "EventMaxConcurrency"}, "1"]]})
    );
    assert!(
        is_ref(&p["LoggingConfig"]["ApplicationLogLevel"], "LogLevel"),
        "the log level is a parameter"
    );
    assert_eq!(
        p["LoggingConfig"]["LogFormat"], "JSON",
        "metric filters read JSON"
    );
}

#[test]
fn log_group_has_retention_and_matches_the_function() {
    let t = load(ACCOUNT);
    let (id, lg) = only_of_type(&t, "AWS::Logs::LogGroup");
    assert!(is_ref(
        &lg["Properties"]["RetentionInDays"],
        "LogRetentionDays"
    ));
    let (_, f) = function(&t);
    assert!(
        is_ref(&f["Properties"]["LoggingConfig"]["LogGroup"], id),
        "the function logs to the stack's log group"
    );
}

#[test]
fn execution_role_grants_exactly_what_the_code_calls() {
    let t = load(ACCOUNT);
    let (id, role) = execution_role(&t);
    let p = &role["Properties"];

    let trust = statements(&p["AssumeRolePolicyDocument"]);
    assert!(
        trust
            .iter()
            .all(|s| s["Principal"]["Service"] == "lambda.amazonaws.com"),
        "{id} is assumed by Lambda only: {trust:?}"
    );
    assert!(
        p.get("ManagedPolicyArns").is_none(),
        "{id}: managed policies would grant actions the test cannot see"
    );

    // Inline policies, plus any stand-alone policy attached to the role (the optional
    // Security Lake sink's conditional ones are checked by their own test).
    let mut docs: Vec<&Value> = p["Policies"]
        .as_array()
        .map(|a| a.iter().map(|x| &x["PolicyDocument"]).collect())
        .unwrap_or_default();
    for ty in ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"] {
        for (_, pol) in of_type(&t, ty) {
            if pol.get("Condition").is_none()
                && pol["Properties"]["Roles"]
                    .as_array()
                    .is_some_and(|rs| rs.iter().any(|r| is_ref(r, id)))
            {
                docs.push(&pol["Properties"]["PolicyDocument"]);
            }
        }
    }

    let granted = allowed_actions(docs.iter().copied());
    let expected: BTreeSet<String> = SYNC_ACTIONS
        .iter()
        .chain(PLATFORM_ACTIONS)
        .map(|s| s.to_string())
        .collect();
    assert_same_actions(&granted, &expected, id);

    // The log and queue actions reach only the stack's own log group and queues.
    for doc in &docs {
        for st in statements(doc) {
            if strings(&st["Action"])
                .iter()
                .any(|a| a.starts_with("logs:") || a.starts_with("sqs:"))
            {
                let mut named = Vec::new();
                getatt_arns(&st["Resource"], &mut named);
                assert_eq!(named.len(), 1, "{id}: name one resource of the stack: {st}");
                let ty = &resources(&t)[&named[0]]["Type"];
                assert!(
                    ty == "AWS::Logs::LogGroup" || ty == "AWS::SQS::Queue",
                    "{id}: {st}"
                );
            }
        }
    }
}

/// The Security Lake sink is off by default and then changes nothing; when on, the function
/// gets its variables, and the role it runs as exactly the actions the sink calls: through the
/// provider roles, `sts:AssumeRole` on them; otherwise `s3:PutObject` under the sources.
#[test]
fn security_lake_sink_is_off_by_default_and_grants_only_what_it_calls() {
    let t = load(ACCOUNT);
    let params = parameters(&t);
    // Every lake parameter but the source prefix (which names the sources) is empty by default.
    let lake_params: Vec<&String> = params
        .keys()
        .filter(|k| k.starts_with("SecurityLake") && *k != "SecurityLakeSourcePrefix")
        .collect();
    assert_eq!(lake_params.len(), 5, "{lake_params:?}");
    for name in lake_params {
        assert_eq!(params[name]["Default"], "", "{name} is off by default");
    }
    let conditions = obj(&t["Conditions"], "Conditions");
    assert_eq!(
        conditions["LakeOn"],
        json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "SecurityLakeS3Uri"}, ""]}]})
    );
    let (_, f) = function(&t);
    let env = obj(
        &f["Properties"]["Environment"]["Variables"],
        "Environment.Variables",
    );
    let lake_vars: Vec<(&String, &Value)> = env
        .iter()
        .filter(|(k, _)| k.starts_with("PATCHHUB_LAKE_"))
        .collect();
    assert_eq!(lake_vars.len(), 6, "{lake_vars:?}");
    for (k, v) in lake_vars {
        let branches = v["Fn::If"].as_array().unwrap_or_else(|| panic!("{k}: {v}"));
        let cond = branches[0].as_str().unwrap();
        assert!(
            cond.starts_with("Lake"),
            "{k} only while the sink is on: {cond}"
        );
        assert_eq!(
            branches[2],
            json!({"Ref": "AWS::NoValue"}),
            "{k}: no variable when off"
        );
    }
    assert_eq!(
        env["PATCHHUB_LAKE_S3_URI"]["Fn::If"][0], "LakeOn",
        "the URI turns it on"
    );

    let (role_id, _) = execution_role(&t);
    let mut by_condition: Vec<(String, BTreeSet<String>)> = Vec::new();
    for (id, pol) in of_type(&t, "AWS::IAM::Policy") {
        let Some(cond) = pol.get("Condition").and_then(Value::as_str) else {
            continue;
        };
        let roles = pol["Properties"]["Roles"].as_array().unwrap();
        assert!(roles.iter().all(|r| is_ref(r, role_id)), "{id}");
        let c = &conditions[cond]["Fn::And"];
        assert!(
            c.to_string().contains("\"CreateRole\"") && c.to_string().contains("Lake"),
            "{id}: only when the stack makes the role and the sink is on: {c}"
        );
        let doc = &pol["Properties"]["PolicyDocument"];
        by_condition.push((cond.to_string(), allowed_actions([doc])));
        let res = statements(doc)
            .iter()
            .map(|s| s["Resource"].to_string())
            .collect::<String>();
        assert!(!res.contains("\"*\""), "{id}: no wildcard resource: {res}");
    }
    by_condition.sort();
    let set = |a: &[&str]| {
        a.iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<String>>()
    };
    assert_eq!(
        by_condition,
        vec![
            ("LakeDirectPolicy".to_string(), set(LAKE_DIRECT_ACTIONS)),
            ("LakeRolePolicy".to_string(), set(LAKE_ROLE_ACTIONS)),
        ]
    );
    let direct =
        resources(&t)["LakeWriteObjectsPolicy"]["Properties"]["PolicyDocument"].to_string();
    assert!(
        direct.contains("/ext/${SecurityLakeSourcePrefix}-*"),
        "PutObject only under the sources' locations: {direct}"
    );
    let assume = &resources(&t)["LakeProviderRolePolicy"]["Properties"]["PolicyDocument"];
    assert_eq!(
        statements(assume)[0]["Resource"],
        json!({"Fn::Split": [",", {"Ref": "SecurityLakeRoleArn"}]}),
        "AssumeRole on the given roles only"
    );
}

#[test]
fn execution_role_scopes_what_aws_lets_it_scope() {
    let t = load(ACCOUNT);
    let (id, role) = execution_role(&t);
    let docs: Vec<&Value> = role["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["PolicyDocument"])
        .collect();
    // Actions with resource-level permissions (Service Authorization Reference) and the resource
    // ARN fragment their statement must be limited to.
    let scoped = [
        (
            "securityhub:BatchImportFindings",
            ":product/${AWS::AccountId}/default",
        ),
        ("securityhub:GetFindings", ":hub/default"),
        ("ssm:DescribeInstancePatches", ":instance/*"),
        ("ssm:DescribeInstancePatchStates", ":instance/*"),
    ];
    for (action, fragment) in scoped {
        let sts: Vec<&Value> = docs
            .iter()
            .flat_map(|d| statements(d))
            .filter(|s| strings(&s["Action"]).iter().any(|a| a == action))
            .collect();
        assert!(!sts.is_empty(), "{id}: no statement grants {action}");
        for st in sts {
            let res = st["Resource"].to_string();
            assert!(
                res.contains(fragment) && res != "\"*\"",
                "{id}: {action} should be limited to {fragment}: {res}"
            );
        }
    }
}

/// A value, or the default of the parameter it refers to (`Ref: NAME`).
fn resolved(t: &Value, v: &Value) -> String {
    match v.get("Ref").and_then(Value::as_str) {
        Some(name) => scalar(
            parameters(t)
                .get(name)
                .and_then(|p| p.get("Default"))
                .unwrap_or_else(|| panic!("{name} has no default")),
        ),
        None => scalar(v),
    }
}

/// The properties of the one task at `priority`.
fn task_at<'a>(tasks: &[(&'a str, &'a Value)], priority: &str) -> &'a Value {
    let found: Vec<_> = tasks
        .iter()
        .filter(|(_, r)| scalar(&r["Properties"]["Priority"]) == priority)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one maintenance window task at priority {priority}"
    );
    &found[0].1["Properties"]
}

#[test]
fn maintenance_window_tasks_keep_the_original_settings() {
    let t = load(ACCOUNT);
    let tasks = of_type(&t, "AWS::SSM::MaintenanceWindowTask");

    let scan = task_at(&tasks, "1");
    assert_eq!(scan["TaskType"], "RUN_COMMAND");
    let (_, scan_task) = tasks
        .iter()
        .find(|(_, r)| scalar(&r["Properties"]["Priority"]) == "1")
        .unwrap();
    assert_eq!(
        scan_task["Condition"], "ScanInWindowOn",
        "ScanInWindow=false leaves the sync task alone"
    );
    for key in ["MaxConcurrency", "MaxErrors"] {
        assert!(
            resolved(&t, &scan[key]).ends_with('%'),
            "scan {key} defaults to a percentage"
        );
    }
    assert!(
        is_ref(
            &scan["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]["TimeoutSeconds"],
            "ScanDeliveryTimeoutSeconds"
        ),
        "stopped nodes give up their slot after the delivery timeout"
    );
    assert_eq!(scan["TaskArn"], "AWS-RunPatchBaseline");
    assert_eq!(
        scan["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]["Parameters"]["Operation"],
        json!(["Scan"]),
        "the window scans; it never installs"
    );

    let sync = task_at(&tasks, "10");
    assert_eq!(sync["TaskType"], "LAMBDA");
    let (fid, _) = function(&t);
    assert_eq!(
        getatt_arn(&sync["TaskArn"]),
        Some(fid),
        "the Lambda task invokes the patchhub function"
    );
    assert_eq!(resolved(&t, &sync["MaxConcurrency"]), "10");
    assert_eq!(resolved(&t, &sync["MaxErrors"]), "10");
    let (_, window) = only_of_type(&t, "AWS::SSM::MaintenanceWindow");
    assert!(is_ref(&window["Properties"]["Duration"], "WindowDuration"));
    assert!(is_ref(&window["Properties"]["Cutoff"], "WindowCutoff"));
    // CloudFormation wants the payload base64-encoded, hence Fn::Base64 around the JSON text.
    let payload = &sync["TaskInvocationParameters"]["MaintenanceWindowLambdaParameters"]["Payload"];
    let text = payload["Fn::Base64"]
        .as_str()
        .unwrap_or_else(|| panic!("Payload should be Fn::Base64 of the JSON text: {payload}"));
    assert!(
        text.len() <= 4096,
        "a maintenance-window payload is at most 4096 bytes"
    );
    let parsed: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("payload is not JSON: {e}: {text}"));
    assert_eq!(parsed, json!({"instanceid": "{{RESOURCE_ID}}"}));

    // Both tasks run on the tag-selected target, and the scan runs first.
    let (target_id, target) = only_of_type(&t, "AWS::SSM::MaintenanceWindowTarget");
    for task in [scan, sync] {
        assert_eq!(
            task["Targets"],
            json!([{"Key": "WindowTargetIds", "Values": [{"Ref": target_id}]}])
        );
        assert!(
            getatt_arn(&task["ServiceRoleArn"]).is_some(),
            "tasks run under the stack's window role"
        );
    }
    assert_eq!(target["Properties"]["ResourceType"], "INSTANCE");
    assert_eq!(
        target["Properties"]["Targets"],
        json!([{"Key": {"Fn::Sub": "tag:${TargetTagKey}"}, "Values": [{"Ref": "TargetTagValue"}]}])
    );
}

#[test]
fn compliance_changes_reach_the_function_through_a_queue_within_the_quotas() {
    let t = load(ACCOUNT);
    let (fid, _) = function(&t);
    let rules = of_type(&t, "AWS::Events::Rule");
    let compliance: Vec<_> = rules
        .iter()
        .filter(|(_, r)| r["Properties"].get("EventPattern").is_some())
        .collect();
    assert_eq!(compliance.len(), 1, "one rule on compliance changes");
    let (cid, rule) = compliance[0];
    let pattern = &rule["Properties"]["EventPattern"];
    assert_eq!(pattern["source"], json!(["aws.ssm"]));
    assert_eq!(
        pattern["detail-type"],
        json!(["Configuration Compliance State Change"])
    );
    assert_eq!(pattern["detail"]["compliance-type"], json!(["Patch"]));
    assert_eq!(
        rule["Condition"], "EventDrivenOn",
        "EventDriven=false removes the rule"
    );

    // The rule feeds a queue; only the rule may send to it.
    let mut targets = Vec::new();
    getatt_arns(&rule["Properties"]["Targets"], &mut targets);
    assert_eq!(targets.len(), 1, "{cid} has one target");
    let queue = targets[0].clone();
    assert_eq!(resources(&t)[&queue]["Type"], "AWS::SQS::Queue");
    let policies: Vec<_> = of_type(&t, "AWS::SQS::QueuePolicy")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["Queues"] == json!([{"Ref": queue}]))
        .collect();
    assert_eq!(policies.len(), 1, "{queue} has one queue policy");
    for st in statements(&policies[0].1["Properties"]["PolicyDocument"]) {
        assert_eq!(st["Principal"]["Service"], "events.amazonaws.com", "{st}");
        assert_eq!(strings(&st["Action"]), ["sqs:SendMessage"]);
        assert_eq!(
            getatt_arn(&st["Condition"]["ArnEquals"]["aws:SourceArn"]),
            Some(*cid),
            "only the compliance rule sends: {st}"
        );
    }
    // Its failures end in a dead-letter queue.
    let q = &resources(&t)[&queue]["Properties"];
    let dlq = getatt_arn(&q["RedrivePolicy"]["deadLetterTargetArn"]).expect("a dead-letter queue");
    assert_eq!(resources(&t)[dlq]["Type"], "AWS::SQS::Queue");
    assert!(scalar(&q["VisibilityTimeout"]).parse::<u32>().unwrap() >= 6 * 900);

    // A mapping polls it in batches, at a bounded concurrency, reporting failed records alone.
    let (_, mapping) = only_of_type(&t, "AWS::Lambda::EventSourceMapping");
    let m = &mapping["Properties"];
    assert_eq!(getatt_arn(&m["EventSourceArn"]), Some(queue.as_str()));
    assert!(is_ref(&m["FunctionName"], fid));
    assert_eq!(
        m["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert!(is_ref(
        &m["ScalingConfig"]["MaximumConcurrency"],
        "EventMaxConcurrency"
    ));
    let params = parameters(&t);
    let batch = &params[m["BatchSize"]["Ref"]
        .as_str()
        .expect("BatchSize is a parameter")];
    assert!(
        batch["MaxValue"].as_u64().unwrap() <= 20,
        "a batch's nodes fit one GetFindings filter (20 values)"
    );
    assert!(params["EventMaxConcurrency"]["MinValue"].as_u64().unwrap() >= 2);

    // The sweep invokes the function directly, with one permission limited to its rule.
    let sweep: Vec<_> = rules
        .iter()
        .filter(|(_, r)| r["Properties"].get("ScheduleExpression").is_some())
        .collect();
    assert_eq!(sweep.len(), 1, "one scheduled sweep rule");
    let (sid, srule) = sweep[0];
    assert!(is_ref(
        &srule["Properties"]["ScheduleExpression"],
        "SweepSchedule"
    ));
    let mut targets = Vec::new();
    getatt_arns(&srule["Properties"]["Targets"], &mut targets);
    assert_eq!(targets, vec![fid.to_string()], "{sid} targets the function");
    let perms = of_type(&t, "AWS::Lambda::Permission");
    assert_eq!(
        perms.len(),
        1,
        "only the sweep rule invokes the function directly"
    );
    assert_eq!(
        getatt_arn(&perms[0].1["Properties"]["SourceArn"]),
        Some(*sid)
    );
    assert_eq!(
        perms[0].1["Properties"]["Principal"],
        "events.amazonaws.com"
    );
}

#[test]
fn failures_have_bounded_retries_queues_and_alarms() {
    let t = load(ACCOUNT);
    let (fid, _) = function(&t);
    let params = parameters(&t);

    // Asynchronous invocations: bounded retries, then a queue.
    let (_, cfg) = only_of_type(&t, "AWS::Lambda::EventInvokeConfig");
    let c = &cfg["Properties"];
    assert!(is_ref(&c["FunctionName"], fid));
    let retries = &params[c["MaximumRetryAttempts"]["Ref"]
        .as_str()
        .expect("a parameter")];
    assert!(retries["MaxValue"].as_u64().unwrap() <= 2);
    let failed_q = getatt_arn(&c["DestinationConfig"]["OnFailure"]["Destination"])
        .expect("an on-failure destination");
    assert_eq!(resources(&t)[failed_q]["Type"], "AWS::SQS::Queue");

    // The function's error_type is counted from its JSON log lines.
    let filters = of_type(&t, "AWS::Logs::MetricFilter");
    assert!(
        filters.iter().any(|(_, f)| {
            let pat = scalar(&f["Properties"]["FilterPattern"]);
            pat.contains("$.error_type") && pat.contains("$.level = \"ERROR\"")
        }),
        "a metric filter on error_type"
    );
    assert!(
        filters
            .iter()
            .any(
                |(_, f)| scalar(&f["Properties"]["FilterPattern"]).contains("$.failed > 0")
                    && f["Properties"]["MetricTransformations"][0]["MetricValue"] == "$.failed"
            ),
        "a metric filter on findings that failed to import"
    );

    // The alarms, each notifying the optional topic.
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    let text = |r: &Value| r["Properties"].to_string();
    let has = |what: &str, f: &dyn Fn(&Value) -> bool| {
        assert!(alarms.iter().any(|(_, a)| f(a)), "no alarm on {what}");
    };
    has("errors", &|a| {
        text(a).contains("\"Errors\"") && text(a).contains("AWS/Lambda")
    });
    has("throttles", &|a| {
        a["Properties"]["MetricName"] == "Throttles"
    });
    has("duration near the timeout", &|a| {
        a["Properties"]["MetricName"] == "Duration"
            && a["Properties"]["Statistic"] == "Maximum"
            && (720_000..900_000).contains(&a["Properties"]["Threshold"].as_u64().unwrap_or(0))
    });
    has("failed findings", &|a| {
        a["Properties"]["MetricName"] == "FailedFindings"
    });
    for queue in [failed_q.to_string(), dlq_of(&t)] {
        has(&format!("the age of {queue}"), &|a| {
            a["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
                && getatt_names(&a["Properties"]["Dimensions"]).contains(&queue)
        });
    }
    for (id, a) in &alarms {
        for key in ["AlarmActions", "OKActions"] {
            assert!(
                a["Properties"][key]
                    .to_string()
                    .contains("\"AlarmTopicArn\""),
                "{id} {key} goes to AlarmTopicArn"
            );
        }
    }
}

/// The dead-letter queue of the compliance-event queue.
fn dlq_of(t: &Value) -> String {
    of_type(t, "AWS::SQS::Queue")
        .into_iter()
        .find_map(|(_, q)| getatt_arn(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]))
        .expect("a queue with a dead-letter queue")
        .to_string()
}

/// Logical ids named by `Fn::GetAtt: [ID, ANY]` inside `v`.
fn getatt_names(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        if let Some(Value::Array(a)) = v.get("Fn::GetAtt")
            && let Some(id) = a.first().and_then(Value::as_str)
        {
            out.push(id.to_string());
        }
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

#[test]
fn deleting_the_stack_archives_after_everything_that_imports_is_gone() {
    let t = load(ACCOUNT);
    let (fid, _) = function(&t);
    let custom: Vec<_> = resources(&t)
        .iter()
        .filter(|(_, r)| {
            r["Type"]
                .as_str()
                .is_some_and(|ty| ty.starts_with("Custom::"))
        })
        .collect();
    assert_eq!(custom.len(), 1, "one custom resource");
    let (cid, cr) = custom[0];
    assert_eq!(
        getatt_arn(&cr["Properties"]["ServiceToken"]),
        Some(fid),
        "served by the function itself"
    );
    assert!(is_ref(
        &cr["Properties"]["ArchiveFindingsOnDelete"],
        "ArchiveFindingsOnDelete"
    ));
    assert!(
        cr.get("Condition").is_none(),
        "always there, so always asked"
    );
    // Whatever could re-import depends on it: CloudFormation deletes those first.
    let depends = |r: &Value| match &r["DependsOn"] {
        Value::String(s) => vec![s.clone()],
        v => strings(v),
    };
    for ty in [
        "AWS::SSM::MaintenanceWindow",
        "AWS::Events::Rule",
        "AWS::Lambda::EventSourceMapping",
    ] {
        for (id, r) in of_type(&t, ty) {
            assert!(
                depends(r).iter().any(|d| d == cid),
                "{id} must depend on {cid}, so it is deleted before the archive"
            );
        }
    }
}

#[test]
fn cli_role_grants_what_the_cli_calls_and_trusts_one_account() {
    let t = load(CLI_ROLE);
    let (rid, role) = only_of_type(&t, "AWS::IAM::Role");
    let p = &role["Properties"];
    let trust = statements(&p["AssumeRolePolicyDocument"]);
    assert_eq!(trust.len(), 1);
    assert_eq!(
        trust[0]["Principal"],
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${TrustedAccountId}:root"}}),
        "{rid} trusts only the account the user names"
    );
    assert!(p.get("ManagedPolicyArns").is_none() && p.get("Policies").is_none());

    // Every policy attached to the role, with its condition.
    let policies: Vec<(&str, Option<&str>, &Value)> = of_type(&t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, pol)| {
            pol["Properties"]["Roles"]
                .as_array()
                .is_some_and(|rs| rs.iter().any(|r| is_ref(r, rid)))
        })
        .map(|(id, pol)| {
            (
                id,
                pol["Condition"].as_str(),
                &pol["Properties"]["PolicyDocument"],
            )
        })
        .collect();
    assert_eq!(policies.len(), of_type(&t, "AWS::IAM::Policy").len());

    let granted = allowed_actions(policies.iter().map(|(_, _, d)| *d));
    let expected: BTreeSet<String> = SYNC_ACTIONS
        .iter()
        .chain(ALL_REGIONS_ACTIONS)
        .chain(HUB_ACTIONS)
        .copied()
        .chain(dependents_of(HUB_ACTIONS.iter().copied()))
        .map(str::to_string)
        .collect();
    assert_same_actions(&granted, &expected, rid);

    // A call and the actions Security Hub performs for it are granted together.
    for (id, _, doc) in &policies {
        let here = allowed_actions([*doc]);
        for (action, deps) in DEPENDENT_ACTIONS {
            if here.contains(*action) {
                for d in *deps {
                    assert!(here.contains(*d), "{id} grants {action} but not {d}");
                }
            }
        }
    }
    // The everyday policy is the only unconditional one, and it writes nothing but findings.
    let where_granted = |action: &str| -> Vec<Option<&str>> {
        policies
            .iter()
            .filter(|(_, _, d)| allowed_actions([*d]).contains(action))
            .map(|(_, c, _)| *c)
            .collect()
    };
    for a in SYNC_ACTIONS.iter().chain(ALL_REGIONS_ACTIONS) {
        assert!(where_granted(a).contains(&None), "{a} is always granted");
    }
    let gated = [
        ("securityhub:DisableSecurityHub", "DisableSecurityHubOn"),
        (
            "securityhub:EnableOrganizationAdminAccount",
            "OrganizationManagementOn",
        ),
        (
            "organizations:EnableAWSServiceAccess",
            "OrganizationManagementOn",
        ),
        (
            "organizations:RegisterDelegatedAdministrator",
            "OrganizationManagementOn",
        ),
        ("sts:AssumeRole", "OrganizationManagementOn"),
        ("securityhub:CreateMembers", "HubAdministratorOn"),
        ("securityhub:CreateFindingAggregator", "HubAdministratorOn"),
        ("securityhub:EnableSecurityHub", "HubMemberOn"),
    ];
    for (action, condition) in gated {
        assert_eq!(
            where_granted(action),
            [Some(condition)],
            "{action} only with {condition}"
        );
    }
    let params = parameters(&t);
    assert_eq!(params["AllowDisableSecurityHub"]["Default"], "false");
    assert_eq!(params["OrganizationManagement"]["Default"], "false");
    assert!(params["TrustedAccountId"].get("Default").is_none());
}

#[test]
fn cli_role_stackset_deploys_the_role_template() {
    let role = load(CLI_ROLE);
    let t = load(CLI_ROLE_STACKSET);
    let (_, ss) = only_of_type(&t, "AWS::CloudFormation::StackSet");
    let p = &ss["Properties"];
    assert_eq!(p["PermissionModel"], "SERVICE_MANAGED");
    assert_eq!(p["Capabilities"], json!(["CAPABILITY_NAMED_IAM"]));
    let role_params = parameters(&role);
    let passed: BTreeSet<String> = p["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["ParameterKey"].as_str().unwrap().to_string())
        .collect();
    for key in &passed {
        assert!(
            role_params.contains_key(key),
            "{key} is not a role parameter"
        );
    }
    for (name, param) in role_params {
        if param.get("Default").is_none() {
            assert!(passed.contains(name), "{name} is required but not passed");
        }
    }
    // One Region: the role is global.
    assert_eq!(
        p["StackInstancesGroup"][0]["Regions"],
        json!([{"Ref": "DeploymentRegion"}])
    );
}

#[test]
fn no_hard_coded_partition() {
    for name in ALL {
        for (n, line) in read(name).lines().enumerate() {
            assert!(
                !line.contains("arn:aws:"),
                "{name}:{}: use arn:${{AWS::Partition}}: {line}",
                n + 1
            );
        }
    }
}

#[test]
fn every_checkov_skip_gives_its_reason() {
    for name in ALL {
        let t = load(name);
        for (id, r) in resources(&t) {
            let skips = r["Metadata"]["checkov"]["skip"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for s in skips {
                let reason = s["comment"].as_str().unwrap_or("").trim();
                assert!(
                    reason.len() >= 20,
                    "{name}: {id}: checkov skip {} needs a reason",
                    s["id"]
                );
            }
        }
    }
}

#[test]
fn org_stackset_deploys_the_account_template_everywhere() {
    let account = load(ACCOUNT);
    let t = load(ORG);
    let (_, ss) = only_of_type(&t, "AWS::CloudFormation::StackSet");
    let p = &ss["Properties"];
    assert_eq!(p["PermissionModel"], "SERVICE_MANAGED");
    assert_eq!(
        p["AutoDeployment"]["Enabled"], true,
        "accounts joining the OUs get patchhub"
    );
    let group = &p["StackInstancesGroup"][0];
    assert!(is_ref(
        &group["DeploymentTargets"]["OrganizationalUnitIds"],
        "OrganizationalUnitIds"
    ));
    assert!(is_ref(&group["Regions"], "DeploymentRegions"));

    let account_params = parameters(&account);
    let passed: BTreeSet<String> = p["Parameters"]
        .as_array()
        .expect("StackSet Parameters")
        .iter()
        .map(|x| {
            x["ParameterKey"]
                .as_str()
                .expect("ParameterKey")
                .to_string()
        })
        .collect();
    for key in &passed {
        assert!(
            account_params.contains_key(key),
            "the StackSet passes {key}, which {ACCOUNT} does not declare"
        );
    }
    for (name, param) in account_params {
        if param.get("Default").is_none() {
            assert!(
                passed.contains(name),
                "{ACCOUNT} requires {name}, which the StackSet does not pass"
            );
        }
    }
    let suffix = p["Parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["ParameterKey"] == "S3BucketRegionSuffix");
    assert_eq!(
        suffix.map(|x| &x["ParameterValue"]),
        Some(&json!("true")),
        "member stacks read the zip from the bucket of their own Region"
    );
}

#[test]
fn admin_template_enables_security_hub_and_aggregates() {
    let t = load(ADMIN);
    let (_, hub) = only_of_type(&t, "AWS::SecurityHub::Hub");
    assert_eq!(
        hub["Condition"], "CreateHub",
        "an already enabled hub can be left alone"
    );
    let (_, agg) = only_of_type(&t, "AWS::SecurityHub::FindingAggregator");
    assert!(is_ref(
        &agg["Properties"]["RegionLinkingMode"],
        "RegionLinkingMode"
    ));
    assert!(
        agg["Properties"]["Regions"]
            .to_string()
            .contains("\"LinkedRegions\"")
    );
    let (_, org) = only_of_type(&t, "AWS::SecurityHub::OrganizationConfiguration");
    assert_eq!(org["Properties"]["AutoEnable"], true);
    let cond = org["Condition"].as_str().expect("a condition");
    assert!(
        t["Conditions"][cond]
            .to_string()
            .contains("\"AutoEnableOn\""),
        "auto-enable is optional: {cond}"
    );
    assert!(
        parameters(&t).contains_key("HomeRegion") && parameters(&t).contains_key("LinkedRegions")
    );
}

/// Every `Action`/`NotAction` entry of every IAM policy document (and Lambda permission) inside
/// `v` that holds a `*`, as `(where, action)`.
fn wildcard_actions(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let here = format!("{at}.{k}");
                if k == "Action" || k == "NotAction" {
                    out.extend(
                        strings(x)
                            .into_iter()
                            .filter(|a| a.contains('*'))
                            .map(|a| (here.clone(), a)),
                    );
                }
                wildcard_actions(x, &here, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                wildcard_actions(x, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_template_grants_a_wildcard_action() {
    let mut names: Vec<String> = std::fs::read_dir(template_dir())
        .expect("deploy/cloudformation")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() >= ALL.len(), "templates found: {names:?}");
    let mut policies = 0;
    for name in &names {
        let t = load(name);
        policies += read(name).matches("PolicyDocument").count();
        let mut found = Vec::new();
        wildcard_actions(&t, name, &mut found);
        assert!(
            found.is_empty(),
            "IAM actions must be named one by one, never with `*`: {found:?}"
        );
    }
    assert!(policies > 0, "no policy document was checked");
    assert!(
        SYNC_ACTIONS
            .iter()
            .chain(PLATFORM_ACTIONS)
            .all(|a| !a.contains('*')),
        "the code's own action list names every action"
    );

    // The check can fail: a document with a wildcard, in either spelling, is caught.
    let bad = json!({"Resources": {"Role": {"Properties": {"Policies": [{"PolicyDocument": {
        "Statement": [
            {"Effect": "Allow", "Action": ["ssm:ListComplianceItems", "securityhub:*"], "Resource": "*"},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Allow", "Action": "*", "Resource": "*"}
        ]
    }}]}}}});
    let mut found = Vec::new();
    wildcard_actions(&bad, "bad", &mut found);
    let actions: Vec<&str> = found.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(actions, ["securityhub:*", "iam:*", "*"], "{found:?}");
}

/// The Regions a condition or rule names through `Fn::Equals`/`Fn::Contains` on `AWS::Region`.
fn regions_named(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s)
            if s.contains('-') && s.chars().last().is_some_and(|c| c.is_ascii_digit()) =>
        {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| regions_named(x, out)),
        Value::Object(m) => m.values().for_each(|x| regions_named(x, out)),
        _ => {}
    }
}

#[test]
fn admin_template_refuses_regions_without_a_finding_aggregator() {
    let t = load(ADMIN);
    let mut refused = BTreeSet::new();
    regions_named(&t["Rules"]["FindingAggregatorAvailable"], &mut refused);
    assert!(refused.len() >= 10, "{refused:?}");
    assert!(refused.contains("af-south-1") && !refused.contains("us-east-1"));
    // The condition the linter evaluates Region by Region names the same Regions.
    let mut skipped = BTreeSet::new();
    regions_named(&t["Conditions"]["AggregatorRegion"], &mut skipped);
    assert_eq!(refused, skipped);
    let (_, agg) = only_of_type(&t, "AWS::SecurityHub::FindingAggregator");
    assert_eq!(agg["Condition"], "AggregatorRegion");
}
