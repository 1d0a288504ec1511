//! Hostile and malformed invocation payloads: whatever bytes or JSON arrive, `event::classify`
//! never panics; what it accepts names a valid node; what it rejects is an `InvalidEvent` on one
//! bounded line that quotes the payload and names the field at fault.

use patchhub_aws::targets::parse_instance_id;
use patchhub_lambda::error::{ErrorType, LambdaError};
use patchhub_lambda::event::{Request, classify};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

const ACCT: &str = "123456789012";
const REG: &str = "us-east-1";

/// Longest error message a rejected payload may produce, however large the payload.
const MAX_MESSAGE: usize = 2048;

/// The committed fixtures: the shapes AWS really sends.
const FIXTURES: &[&str] = &[
    include_str!("fixtures/events/maintenance-window.json"),
    include_str!("fixtures/events/maintenance-window-unsubstituted.json"),
    include_str!("fixtures/events/compliance-change-non-compliant.json"),
    include_str!("fixtures/events/compliance-change-compliant.json"),
    include_str!("fixtures/events/compliance-change-association.json"),
    include_str!("fixtures/events/scheduled-event.json"),
    include_str!("fixtures/events/sweep-action.json"),
    include_str!("fixtures/events/garbage.json"),
];

/// Strings an attacker or a broken producer might put anywhere.
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 ._:/{}-]{0,40}",
        2 => "(i|mi)-[0-9a-f_]{0,20}",
        1 => Just(String::new()),
        1 => "[\\x00-\\x1f\\x7f\u{202e}\u{2028}\u{feff}]{1,12}",
        1 => "i-[0-9a-f]{17}[\\x00-\\x1f]{1,3}[0-9a-f]{0,3}",
        1 => "\\PC{0,60}",
        1 => "[長🚀é\u{0301}]{1,40}",
        1 => (1usize..=120).prop_map(|k| "i-0123456789abcdef0".repeat(k * 50)),
        1 => "arn:aws[a-z-]{0,8}:(ssm|ec2|s3):[a-z0-9-]{0,12}:[0-9]{0,12}:(managed-instance|instance|bucket)?/?[a-z0-9\\n-]{0,20}",
        1 => Just("{{RESOURCE_ID}}".to_string()),
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::from),
            btree_map(
                prop_oneof![
                    select(vec![
                        "instanceid",
                        "InstanceId",
                        "instance_id",
                        "resource-id",
                        "targetId",
                        "action",
                        "detail-type",
                        "source",
                        "detail",
                        "resources",
                        "account",
                        "region",
                        "compliance-type",
                    ])
                    .prop_map(String::from),
                    hostile_string(),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A replacement for one field: a wrong type, a hostile string, or nothing at all.
#[derive(Debug, Clone)]
enum Mutation {
    Remove,
    Set(Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => Just(Mutation::Remove),
        4 => hostile_string().prop_map(|s| Mutation::Set(Value::from(s))),
        2 => any_json().prop_map(Mutation::Set),
    ]
}

/// Where in an event a mutation lands: a top-level key or a `detail` key.
fn field() -> impl Strategy<Value = (bool, String)> {
    (
        any::<bool>(),
        select(vec![
            "instanceid",
            "InstanceId",
            "action",
            "detail-type",
            "source",
            "account",
            "region",
            "resources",
            "detail",
            "resource-id",
            "compliance-type",
            "compliance-status",
        ]),
    )
        .prop_map(|(in_detail, k)| (in_detail, k.to_string()))
}

fn apply(mut event: Value, (in_detail, key): &(bool, String), m: &Mutation) -> Value {
    let target = if *in_detail {
        match event.get_mut("detail").and_then(Value::as_object_mut) {
            Some(d) => d,
            None => return event,
        }
    } else {
        match event.as_object_mut() {
            Some(o) => o,
            None => return event,
        }
    };
    match m {
        Mutation::Remove => {
            target.remove(key);
        }
        Mutation::Set(v) => {
            target.insert(key.clone(), v.clone());
        }
    }
    event
}

/// What every answer must satisfy, whatever the payload.
fn check(payload: &Value) -> Result<Result<Request, LambdaError>, TestCaseError> {
    let got = classify(payload, ACCT, REG);
    match &got {
        Ok(Request::Node { instance_id, .. }) => {
            prop_assert_eq!(
                parse_instance_id(instance_id),
                Ok(instance_id.clone()),
                "an accepted event names a valid node id"
            );
        }
        Ok(_) => {}
        Err(e) => {
            prop_assert_eq!(e.error_type, ErrorType::InvalidEvent);
            let m = &e.message;
            prop_assert!(
                !m.chars().any(char::is_control),
                "one line, no control characters: {:?}",
                m
            );
            prop_assert!(
                m.len() <= MAX_MESSAGE,
                "bounded: {} bytes: {}…",
                m.len(),
                &m[..m.floor_char_boundary(200)]
            );
            prop_assert!(m.contains("; received "), "quotes the payload: {}", m);
            prop_assert!(m.contains("accepted: "), "says what is accepted: {}", m);
        }
    }
    Ok(got)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes that parse as JSON are classified without a panic, with the invariants above.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop_oneof![
        vec(any::<u8>(), 0..200),
        "\\PC{0,200}".prop_map(String::into_bytes),
    ]) {
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            let _ = check(&v)?;
        }
    }

    /// Any JSON value, including objects with the keys patchhub looks for holding anything.
    #[test]
    fn arbitrary_json_never_panics(v in any_json()) {
        let _ = check(&v)?;
    }

    /// Real events with one field removed or replaced by a wrong type or a hostile string.
    #[test]
    fn mutated_real_events_are_classified_or_rejected_clearly(
        fixture in select(FIXTURES.to_vec()),
        mutations in vec((field(), mutation()), 1..3),
    ) {
        let mut event: Value = serde_json::from_str(fixture).unwrap();
        for (f, m) in &mutations {
            event = apply(event, f, m);
        }
        let _ = check(&event)?;
    }

    /// A maintenance-window payload whose node value is bad is rejected naming its key.
    #[test]
    fn bad_node_values_name_their_key(
        key in select(vec!["instanceid", "instanceId", "InstanceId", "resourceId", "targetId"]),
        value in prop_oneof![
            hostile_string().prop_map(Value::from),
            any_json(),
        ],
    ) {
        let payload = json!({ key: value.clone() });
        if let Err(e) = check(&payload)? {
            prop_assert!(e.message.contains(&format!("`{key}`")), "names `{}`: {}", key, e.message);
        }
    }

    /// Every valid id, in every spelling a task author may use, is accepted as itself.
    #[test]
    fn valid_ids_round_trip(
        id in prop_oneof!["i-[0-9a-f]{17}", "i-[0-9a-f]{8}", "mi-[0-9a-f]{17}"],
        key in select(vec!["instanceid", "instanceId", "InstanceId", "instance_id", "resourceId", "TargetId"]),
        arn in any::<bool>(),
        pad in "[ \t]{0,2}",
    ) {
        let raw = if arn {
            format!("{pad}arn:aws:ssm:{REG}:{ACCT}:managed-instance/{id}{pad}")
        } else {
            format!("{pad}{id}{pad}")
        };
        let got = check(&json!({ key: raw }))?;
        prop_assert!(
            matches!(&got, Ok(Request::Node { instance_id, .. }) if *instance_id == id),
            "{:?}",
            got
        );
    }
}

fn rejected(payload: Value) -> String {
    let message = classify(&payload, ACCT, REG).expect_err("rejected").message;
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(message.len() <= MAX_MESSAGE, "{} bytes", message.len());
    message
}

#[test]
fn a_newline_inside_a_node_id_stays_on_one_line() {
    let m = rejected(json!({"instanceid": "i-0123456789abcdef0\nFAKE LOG LINE"}));
    assert!(m.contains("`instanceid`"), "{m}");
    assert!(m.contains(r"\n"), "the newline is shown escaped: {m}");
}

#[test]
fn control_characters_in_event_fields_stay_escaped() {
    let m = rejected(json!({"source": "aws.ssm\r\nx", "detail-type": "Scheduled\u{7}Event"}));
    assert!(m.contains("is not one patchhub handles"), "{m}");
    let m = rejected(json!({"action": "sweep\u{0}now"}));
    assert!(m.contains("unknown action"), "{m}");
}

#[test]
fn a_huge_node_id_gives_a_short_error() {
    let huge = "i-0123456789abcdef0".repeat(6000);
    let m = rejected(json!({ "instanceid": huge }));
    assert!(m.contains("`instanceid`"), "{m}");
    let m = rejected(json!({ "instanceid": format!("{{{{{huge}}}}}") }));
    assert!(m.contains("did not substitute"), "{m}");
    let m = rejected(
        json!({ "instanceid": format!("arn:aws:ssm:{REG}:{ACCT}:managed-instance/{huge}") }),
    );
    assert!(m.contains("`instanceid`"), "{m}");
}

#[test]
fn wrong_types_in_a_compliance_change_name_the_field() {
    let mut e: Value = serde_json::from_str(include_str!(
        "fixtures/events/compliance-change-compliant.json"
    ))
    .unwrap();
    e["detail"]["compliance-type"] = json!(["Patch"]);
    assert!(rejected(e.clone()).contains("detail.compliance-type"));
    e["detail"] = json!("Patch");
    assert!(rejected(e).contains("`detail`"));
}
