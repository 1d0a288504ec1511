//! The finding policy from raw strings, as they come from the CLI's flags, the Lambda's
//! environment or a config file, with every bad value reported at once, each naming where it came
//! from and how to fix it.
//!
//! The rules are the CLI's: `min_severity` is a severity or `all`; durations are read by
//! [`parse_days`]; patch and tag exclusions are comma-separated, blanks ignored; `rollup` and
//! `stale_findings` are `true` or `false`. A value that is unset or blank keeps the default.

use patchhub_core::model::Severity;
use patchhub_core::policy::{FindingPolicy, TagFilter, parse_days};

use crate::targets::shown;

/// One setting of the finding policy, for naming it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Lowest severity that gets a per-patch finding.
    MinSeverity,
    /// Age of the last patch operation that makes a node stale.
    StaleAfter,
    /// Patch ids that never get a finding.
    ExcludePatches,
    /// Tags that exclude a node from per-patch findings.
    ExcludeTags,
    /// Whether to emit the per-node roll-up.
    Rollup,
    /// Whether to emit stale-scan findings.
    StaleFindings,
    /// Age after which an unchanged finding is re-sent.
    RefreshAfter,
    /// Per-severity patch deadlines (see [`crate::deadlines`]).
    Sla,
    /// The KEV catalog file.
    Kev,
    /// Raise breached findings one severity step.
    EscalateBreached,
    /// The instant deadlines are judged at.
    AsOf,
}

impl Setting {
    /// The environment variable that carries it (Lambda, and the CLI's `env` fallbacks).
    pub fn env_var(self) -> &'static str {
        match self {
            Setting::MinSeverity => "PATCHHUB_MIN_SEVERITY",
            Setting::StaleAfter => "PATCHHUB_STALE_AFTER",
            Setting::ExcludePatches => "PATCHHUB_EXCLUDE_PATCHES",
            Setting::ExcludeTags => "PATCHHUB_EXCLUDE_TAGS",
            Setting::Rollup => "PATCHHUB_ROLLUP",
            Setting::StaleFindings => "PATCHHUB_STALE_FINDINGS",
            Setting::RefreshAfter => "PATCHHUB_REFRESH_AFTER",
            Setting::Sla => "PATCHHUB_SLA",
            Setting::Kev => "PATCHHUB_KEV",
            Setting::EscalateBreached => "PATCHHUB_ESCALATE_BREACHED",
            Setting::AsOf => "PATCHHUB_AS_OF",
        }
    }

    /// The CLI flag that carries it.
    pub fn flag(self) -> &'static str {
        match self {
            Setting::MinSeverity => "--min-severity",
            Setting::StaleAfter => "--stale-after",
            Setting::ExcludePatches => "--exclude-patch",
            Setting::ExcludeTags => "--exclude-tag",
            Setting::Rollup => "--no-rollup",
            Setting::StaleFindings => "--no-stale-findings",
            Setting::RefreshAfter => "--refresh-after",
            Setting::Sla => "--sla",
            Setting::Kev => "--kev",
            Setting::EscalateBreached => "--escalate-breached",
            Setting::AsOf => "--as-of",
        }
    }
}

/// The policy as raw strings; `None` (or blank) keeps the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySettings {
    /// `critical`, `high`, `medium`, `low`, `informational` or `all` (any case).
    pub min_severity: Option<String>,
    /// A duration: `7d`, `7`, `36h`, `2w`.
    pub stale_after: Option<String>,
    /// Comma-separated patch ids; a trailing `*` matches a prefix.
    pub exclude_patches: Option<String>,
    /// Comma-separated `KEY` or `KEY=VALUE` tag filters.
    pub exclude_tags: Option<String>,
    /// `true` or `false`.
    pub rollup: Option<String>,
    /// `true` or `false`.
    pub stale_findings: Option<String>,
    /// A duration under 90 days.
    pub refresh_after: Option<String>,
    /// Per-severity deadlines, `critical=15d,high=30d,…` (see [`crate::deadlines`]).
    pub sla: Option<String>,
    /// Path of CISA's `known_exploited_vulnerabilities.json`.
    pub kev: Option<String>,
    /// `true` or `false`.
    pub escalate_breached: Option<String>,
    /// RFC 3339 instant deadlines are judged at.
    pub as_of: Option<String>,
}

impl PolicySettings {
    /// Reads the `PATCHHUB_*` variables through `get` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Self {
        PolicySettings {
            min_severity: get(Setting::MinSeverity.env_var()),
            stale_after: get(Setting::StaleAfter.env_var()),
            exclude_patches: get(Setting::ExcludePatches.env_var()),
            exclude_tags: get(Setting::ExcludeTags.env_var()),
            rollup: get(Setting::Rollup.env_var()),
            stale_findings: get(Setting::StaleFindings.env_var()),
            refresh_after: get(Setting::RefreshAfter.env_var()),
            sla: get(Setting::Sla.env_var()),
            kev: get(Setting::Kev.env_var()),
            escalate_breached: get(Setting::EscalateBreached.env_var()),
            as_of: get(Setting::AsOf.env_var()),
        }
    }
}

/// The bad values found so far, each naming its setting as `name` spells it (a flag or an
/// environment variable), the value, and why.
pub(crate) struct Problems<N> {
    name: N,
    /// One line each.
    pub(crate) errors: Vec<String>,
}

impl<N: Fn(Setting) -> &'static str> Problems<N> {
    pub(crate) fn new(name: N) -> Self {
        Problems {
            name,
            errors: Vec::new(),
        }
    }

    /// `setting` has the bad `value`, because `why`.
    pub(crate) fn bad(&mut self, setting: Setting, value: &str, why: String) {
        let name = (self.name)(setting);
        self.errors
            .push(format!("{name}=`{}`: {why}", shown(value)));
    }

    /// `value` when nothing was bad, else every problem.
    pub(crate) fn result<T>(self, value: T) -> Result<T, Vec<String>> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.errors)
        }
    }
}

/// A value that was given: set and not blank.
pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

/// The policy, with errors naming the environment variables.
pub fn policy_from_settings(s: &PolicySettings) -> Result<FindingPolicy, Vec<String>> {
    policy_from_settings_named(s, Setting::env_var)
}

/// The policy, with errors naming each setting as `name` spells it (e.g. [`Setting::flag`]).
/// Every bad value is reported, in field order.
pub fn policy_from_settings_named(
    s: &PolicySettings,
    name: impl Fn(Setting) -> &'static str,
) -> Result<FindingPolicy, Vec<String>> {
    let mut problems = Problems::new(name);
    let mut p = FindingPolicy::default();

    if let Some(v) = given(&s.min_severity) {
        match v.to_ascii_lowercase().as_str() {
            "all" => p.min_severity = Severity::Unspecified,
            other => match other.parse::<Severity>() {
                Ok(sev) => p.min_severity = sev,
                Err(_) => problems.bad(
                    Setting::MinSeverity,
                    v,
                    "use critical, high, medium, low, informational or all".into(),
                ),
            },
        }
    }
    if let Some(v) = given(&s.stale_after) {
        match parse_days(v) {
            Ok(d) => p.stale_after = d,
            Err(e) => problems.bad(Setting::StaleAfter, v, e.to_string()),
        }
    }
    if let Some(v) = given(&s.exclude_patches) {
        for pattern in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            // Each pattern alone against the core's rules, so every bad one is named.
            let alone = FindingPolicy {
                exclude_patches: vec![pattern.to_string()],
                ..FindingPolicy::default()
            };
            match alone.validate() {
                Ok(()) => p.exclude_patches.push(pattern.to_string()),
                Err(e) => problems.bad(
                    Setting::ExcludePatches,
                    pattern,
                    format!("{e} (write exact ids like KB5031364, or a prefix like KB50*)"),
                ),
            }
        }
    }
    if let Some(v) = given(&s.exclude_tags) {
        for t in v.split(',').filter(|t| !t.trim().is_empty()) {
            match t.parse::<TagFilter>() {
                Ok(f) => p.exclude_tags.push(f),
                Err(e) => problems.bad(Setting::ExcludeTags, t.trim(), e.to_string()),
            }
        }
    }
    for (setting, value, field) in [
        (Setting::Rollup, &s.rollup, &mut p.rollup),
        (
            Setting::StaleFindings,
            &s.stale_findings,
            &mut p.stale_findings,
        ),
    ] {
        if let Some(v) = given(value) {
            match v.to_ascii_lowercase().as_str() {
                "true" => *field = true,
                "false" => *field = false,
                _ => problems.bad(setting, v, "use true or false".into()),
            }
        }
    }
    if let Some(v) = given(&s.refresh_after) {
        match parse_days(v) {
            Ok(d) => {
                let alone = FindingPolicy {
                    refresh_after: d,
                    ..FindingPolicy::default()
                };
                match alone.validate() {
                    Ok(()) => p.refresh_after = d,
                    Err(e) => problems.bad(
                        Setting::RefreshAfter,
                        v,
                        format!("{e} (e.g. 30d, the default)"),
                    ),
                }
            }
            Err(e) => problems.bad(Setting::RefreshAfter, v, e.to_string()),
        }
    }

    if problems.errors.is_empty()
        && let Err(e) = p.validate()
    {
        problems.errors.push(e.to_string());
    }
    problems.result(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use chrono::Duration;

    use super::*;

    /// Settings as the environment `pairs` would give them (shared with the deadline tests).
    pub(crate) fn env(pairs: &[(&str, &str)]) -> PolicySettings {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PolicySettings::from_env(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_gives_the_default_policy() {
        assert_eq!(
            policy_from_settings(&env(&[])).unwrap(),
            FindingPolicy::default()
        );
        let blanks = env(&[
            ("PATCHHUB_MIN_SEVERITY", ""),
            ("PATCHHUB_STALE_AFTER", "  "),
            ("PATCHHUB_EXCLUDE_PATCHES", ""),
            ("PATCHHUB_ROLLUP", ""),
        ]);
        assert_eq!(
            policy_from_settings(&blanks).unwrap(),
            FindingPolicy::default(),
            "blank values keep the defaults"
        );
    }

    #[test]
    fn every_variable_is_read() {
        let p = policy_from_settings(&env(&[
            ("PATCHHUB_MIN_SEVERITY", "High"),
            ("PATCHHUB_STALE_AFTER", "36h"),
            ("PATCHHUB_EXCLUDE_PATCHES", "KB50*, openssl ,,"),
            ("PATCHHUB_EXCLUDE_TAGS", "NoPatch,Env=dev=x"),
            ("PATCHHUB_ROLLUP", "FALSE"),
            ("PATCHHUB_STALE_FINDINGS", "false"),
            ("PATCHHUB_REFRESH_AFTER", "2w"),
        ]))
        .unwrap();
        assert_eq!(p.min_severity, Severity::High);
        assert_eq!(p.stale_after, Duration::hours(36));
        assert_eq!(p.exclude_patches, vec!["KB50*", "openssl"]);
        assert_eq!(
            p.exclude_tags,
            vec![
                "NoPatch".parse::<TagFilter>().unwrap(),
                "Env=dev=x".parse().unwrap()
            ]
        );
        assert!(!p.rollup && !p.stale_findings);
        assert_eq!(p.refresh_after, Duration::days(14));
        let all = policy_from_settings(&env(&[("PATCHHUB_MIN_SEVERITY", "ALL")])).unwrap();
        assert_eq!(all.min_severity, Severity::Unspecified);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_variable_and_fix() {
        let errs = policy_from_settings(&env(&[
            ("PATCHHUB_MIN_SEVERITY", "urgent"),
            ("PATCHHUB_STALE_AFTER", "7 days"),
            ("PATCHHUB_EXCLUDE_PATCHES", "KB*5,ok,a**"),
            ("PATCHHUB_EXCLUDE_TAGS", "=prod,Fine"),
            ("PATCHHUB_ROLLUP", "yes"),
            ("PATCHHUB_STALE_FINDINGS", "0"),
            ("PATCHHUB_REFRESH_AFTER", "90d"),
        ]))
        .unwrap_err();
        assert_eq!(errs.len(), 8, "{errs:#?}");
        let expect = [
            ("PATCHHUB_MIN_SEVERITY=`urgent`", "critical, high, medium"),
            ("PATCHHUB_STALE_AFTER=`7 days`", "write e.g. \"7d\""),
            ("PATCHHUB_EXCLUDE_PATCHES=`KB*5`", "prefix like KB50*"),
            ("PATCHHUB_EXCLUDE_PATCHES=`a**`", "trailing *"),
            ("PATCHHUB_EXCLUDE_TAGS=`=prod`", "KEY or KEY=VALUE"),
            ("PATCHHUB_ROLLUP=`yes`", "use true or false"),
            ("PATCHHUB_STALE_FINDINGS=`0`", "use true or false"),
            ("PATCHHUB_REFRESH_AFTER=`90d`", "90-day retention"),
        ];
        for ((prefix, fix), e) in expect.iter().zip(&errs) {
            assert!(e.starts_with(prefix), "{e}");
            assert!(e.contains(fix), "{e}");
        }
    }

    #[test]
    fn errors_can_name_the_cli_flags() {
        let s = PolicySettings {
            min_severity: Some("x".into()),
            ..Default::default()
        };
        let errs = policy_from_settings_named(&s, Setting::flag).unwrap_err();
        assert!(errs[0].starts_with("--min-severity=`x`"), "{errs:?}");
    }

    #[test]
    fn bad_durations_name_the_variable() {
        let errs = policy_from_settings(&env(&[
            ("PATCHHUB_REFRESH_AFTER", "0d"),
            ("PATCHHUB_STALE_AFTER", "4000d"),
        ]))
        .unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].starts_with("PATCHHUB_STALE_AFTER=`4000d`: invalid duration"));
        assert!(errs[1].starts_with("PATCHHUB_REFRESH_AFTER=`0d`: invalid duration"));
    }
}
