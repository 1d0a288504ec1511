//! Per-severity patch deadlines (`--sla critical=15d,high=30d,medium=90d`).
//!
//! Programmes such as PCI DSS v4 requirement 6.3.3 ("critical or high-security patches …
//! installed within one month of release") set a deadline per severity. patchhub counts it
//! from when it first saw the patch missing on a node (the finding's `FirstObservedAt`),
//! because SSM does not say when a vendor released a patch for every platform.

use std::fmt;
use std::str::FromStr;

use chrono::Duration;

use crate::model::Severity;
use crate::policy::{PolicyError, parse_days};

/// A deadline per severity; severities without one have no deadline. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaPolicy {
    /// `(severity, time allowed)`, at most one entry per severity, highest severity first.
    deadlines: Vec<(Severity, Duration)>,
}

/// A `--sla` value that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SLA {input:?}: {reason} (write e.g. \"critical=15d,high=30d,medium=90d\")")]
pub struct SlaError {
    /// The whole rejected value.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl SlaPolicy {
    /// No deadline for any severity.
    pub fn none() -> Self {
        SlaPolicy::default()
    }

    /// Whether no severity has a deadline.
    pub fn is_empty(&self) -> bool {
        self.deadlines.is_empty()
    }

    /// The time allowed for a patch of `severity`, if that severity has a deadline.
    pub fn allowed(&self, severity: Severity) -> Option<Duration> {
        self.deadlines
            .iter()
            .find(|(s, _)| *s == severity)
            .map(|(_, d)| *d)
    }

    /// The severity's deadline as written, e.g. `critical=15d`, if it has one.
    pub fn describe(&self, severity: Severity) -> Option<String> {
        self.allowed(severity).map(|d| entry(severity, d))
    }

    /// Every `(severity, time allowed)`, highest severity first.
    pub fn deadlines(&self) -> &[(Severity, Duration)] {
        &self.deadlines
    }
}

impl FromStr for SlaPolicy {
    type Err = SlaError;

    /// `SEVERITY=DURATION` pairs separated by commas; severities are the SSM names
    /// (case-insensitive), durations as [`parse_days`] reads them. An empty string is no SLA.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| SlaError {
            input: s.to_string(),
            reason,
        };
        let mut deadlines: Vec<(Severity, Duration)> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (sev, dur) = part
                .split_once('=')
                .ok_or_else(|| err(format!("{part:?} has no '='")))?;
            let severity: Severity = sev.parse().map_err(|e| err(format!("{e}")))?;
            let allowed = parse_days(dur).map_err(|e| match e {
                PolicyError::Duration { reason, .. } => err(format!("{dur:?}: {reason}")),
                other => err(other.to_string()),
            })?;
            if deadlines.iter().any(|(s, _)| *s == severity) {
                return Err(err(format!("{severity} is given twice")));
            }
            deadlines.push((severity, allowed));
        }
        deadlines.sort_by_key(|d| std::cmp::Reverse(d.0));
        Ok(SlaPolicy { deadlines })
    }
}

impl fmt::Display for SlaPolicy {
    /// The canonical spelling, e.g. `critical=15d,high=30d` (hours when not whole days).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<String> = self.deadlines.iter().map(|(s, d)| entry(*s, *d)).collect();
        f.write_str(&entries.join(","))
    }
}

/// `critical=15d`, or hours when the deadline is not whole days.
fn entry(severity: Severity, allowed: Duration) -> String {
    let name = severity.as_str().to_ascii_lowercase();
    let hours = allowed.num_hours();
    if hours % 24 == 0 {
        format!("{name}={}d", hours / 24)
    } else {
        format!("{name}={hours}h")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_severity_deadlines_highest_first() {
        let p: SlaPolicy = "medium=90d, CRITICAL=15d,high=30".parse().unwrap();
        assert_eq!(p.allowed(Severity::Critical), Some(Duration::days(15)));
        assert_eq!(p.allowed(Severity::High), Some(Duration::days(30)));
        assert_eq!(p.allowed(Severity::Medium), Some(Duration::days(90)));
        assert_eq!(p.allowed(Severity::Low), None);
        assert_eq!(p.to_string(), "critical=15d,high=30d,medium=90d");
        assert_eq!(p.to_string().parse::<SlaPolicy>().unwrap(), p);
    }

    #[test]
    fn empty_is_no_deadline() {
        assert!("".parse::<SlaPolicy>().unwrap().is_empty());
        assert!(SlaPolicy::none().is_empty());
    }

    #[test]
    fn bad_values_name_the_input_and_the_fix() {
        for (input, want) in [
            ("critical", "has no '='"),
            ("urgent=15d", "severity"),
            ("critical=soon", "\"soon\""),
            ("critical=0d", "greater than zero"),
            ("critical=15d,critical=20d", "CRITICAL is given twice"),
        ] {
            let e = input.parse::<SlaPolicy>().unwrap_err().to_string();
            assert!(e.contains(want), "{input}: {e}");
            assert!(e.contains(&format!("{input:?}")), "{input}: {e}");
            assert!(e.contains("critical=15d,high=30d"), "{input}: {e}");
        }
    }
}
