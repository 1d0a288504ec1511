//! Hostile finding-policy values, as flags, `PATCHHUB_*` variables or the core parsers see them:
//! any string is read without a panic; a value that is accepted gives a policy that validates;
//! every rejected value gives one line that names its setting and quotes the value.

use chrono::Duration;
use patchhub_aws::settings::{PolicySettings, Setting, policy_from_settings_named};
use patchhub_core::model::Severity;
use patchhub_core::policy::{TagFilter, parse_days};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

/// Values a typo, a template engine or an attacker might produce.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-zA-Z0-9 =*,._-]{0,20}",
        2 => "[0-9]{0,25}[dhwDHW]?",
        1 => "(critical|HIGH|all|true|FALSE|KB5*|Env=dev)[\\x00-\\x1f\\x7f]{1,3}[a-z]{0,3}",
        1 => "\\PC{0,40}",
        1 => "[\\x00-\\x1f\u{85}\u{2028}=*,]{1,12}",
        1 => "[長🚀é\u{0301}=*,]{1,20}",
        1 => (1usize..=20).prop_map(|k| "KB50*,".repeat(k * 500)),
        1 => Just("99999999999999999999999d".to_string()),
    ]
}

/// Every setting unset or hostile, as the Lambda's environment would carry them.
fn settings() -> impl Strategy<Value = PolicySettings> {
    vec(option::of(hostile_value()), SETTINGS.len()).prop_map(|values| {
        PolicySettings::from_env(|var| {
            let i = SETTINGS.iter().position(|s| s.env_var() == var)?;
            values[i].clone()
        })
    })
}

const SETTINGS: [Setting; 7] = [
    Setting::MinSeverity,
    Setting::StaleAfter,
    Setting::ExcludePatches,
    Setting::ExcludeTags,
    Setting::Rollup,
    Setting::StaleFindings,
    Setting::RefreshAfter,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any values, named as environment variables or as flags.
    #[test]
    fn any_policy_values_give_a_valid_policy_or_named_one_line_errors(
        s in settings(),
        as_flags in any::<bool>(),
    ) {
        let name = if as_flags { Setting::flag } else { Setting::env_var };
        match policy_from_settings_named(&s, name) {
            Ok(p) => prop_assert_eq!(p.validate(), Ok(())),
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert!(!e.chars().any(char::is_control), "one line: {:?}", e);
                    prop_assert!(
                        SETTINGS.iter().any(|st| e.starts_with(&format!("{}=`", name(*st)))),
                        "names its setting: {}",
                        e
                    );
                }
            }
        }
    }

    /// The core parsers on their own: durations are in range or rejected quoting the input;
    /// tag filters round-trip through their text; severities parse or are refused.
    #[test]
    fn core_parsers_never_panic(s in hostile_value()) {
        match parse_days(&s) {
            Ok(d) => prop_assert!(d >= Duration::hours(1) && d <= Duration::days(3650), "{}", s),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(!msg.chars().any(char::is_control), "{:?}", msg);
                prop_assert!(msg.starts_with("invalid duration \""), "{}", msg);
            }
        }
        match s.parse::<TagFilter>() {
            Ok(f) => {
                prop_assert!(!f.key.is_empty() && !f.key.contains('='));
                prop_assert_eq!(f.to_string().parse::<TagFilter>(), Ok(f));
            }
            Err(e) => prop_assert!(!e.to_string().chars().any(char::is_control), "{:?}", e.to_string()),
        }
        if let Ok(sev) = s.parse::<Severity>() {
            prop_assert_eq!(sev.as_str().parse::<Severity>(), Ok(sev));
        }
    }
}

#[test]
fn a_newline_in_a_value_stays_on_one_line() {
    let s = PolicySettings {
        min_severity: Some("high\nPATCHHUB_ROLLUP=`x`: forged".into()),
        exclude_tags: Some("=a\rb".into()),
        exclude_patches: Some("KB*\u{1b}[31m*".into()),
        ..PolicySettings::default()
    };
    let errors = policy_from_settings_named(&s, Setting::env_var).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].starts_with(r"PATCHHUB_MIN_SEVERITY=`high\nPATCHHUB_ROLLUP"),
        "{errors:?}"
    );
    assert!(
        errors.iter().all(|e| !e.chars().any(char::is_control)),
        "{errors:?}"
    );
}

#[test]
fn absurd_durations_are_refused_not_overflowed() {
    for v in [
        "99999999999999999999999d",
        "9223372036854775807w",
        "3651d",
        "0h",
    ] {
        assert!(parse_days(v).is_err(), "{v}");
    }
    assert_eq!(parse_days("87600h"), Ok(Duration::days(3650)));
}
