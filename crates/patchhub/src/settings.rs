//! Turning raw flag values into validated settings, with every problem reported at once.

use patchhub_core::model::Severity;
use patchhub_core::policy::{FindingPolicy, TagFilter, parse_days};

use crate::Failure;
use crate::cli::PolicyArgs;

/// The finding policy from flags; all bad values listed together, exit 2.
pub fn policy(args: &PolicyArgs) -> Result<FindingPolicy, Failure> {
    let mut errors = Vec::new();
    let mut p = FindingPolicy::default();
    match args.min_severity.to_ascii_lowercase().as_str() {
        "all" => p.min_severity = Severity::Unspecified,
        other => match other.parse::<Severity>() {
            Ok(s) => p.min_severity = s,
            Err(_) => errors.push(format!(
                "--min-severity `{}`: use critical, high, medium, low, informational or all",
                args.min_severity
            )),
        },
    }
    match parse_days(&args.stale_after) {
        Ok(d) => p.stale_after = d,
        Err(e) => errors.push(format!("--stale-after `{}`: {e}", args.stale_after)),
    }
    match parse_days(&args.refresh_after) {
        Ok(d) => p.refresh_after = d,
        Err(e) => errors.push(format!("--refresh-after `{}`: {e}", args.refresh_after)),
    }
    p.exclude_patches = args
        .exclude_patch
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for t in args.exclude_tag.iter().filter(|t| !t.trim().is_empty()) {
        match t.parse::<TagFilter>() {
            Ok(f) => p.exclude_tags.push(f),
            Err(e) => errors.push(format!("--exclude-tag `{t}`: {e}")),
        }
    }
    p.rollup = !args.no_rollup;
    p.stale_findings = !args.no_stale_findings;
    if errors.is_empty()
        && let Err(e) = p.validate()
    {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(Failure::usage(errors.join("; ")))
    }
}
