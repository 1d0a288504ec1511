//! Finding policy: which findings exist, for which patches and nodes, and when they refresh.
//!
//! One struct, [`FindingPolicy`], whose defaults are documented field by field. The CLI,
//! the Lambda environment and a config file all fill the same struct; [`parse_days`] and
//! [`TagFilter`]'s `FromStr` turn their strings into values with clear errors.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::model::{ManagedNode, PatchItem, PingStatus, Severity};

/// Longest duration [`parse_days`] accepts (ten years): more is a typo, and it keeps
/// date arithmetic far from overflow.
const MAX_DAYS: i64 = 3650;
/// Security Hub deletes a finding 90 days after its last update.
const RETENTION_DAYS: i64 = 90;

/// A policy value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A duration string that [`parse_days`] cannot read.
    #[error(
        "invalid duration {input:?}: {reason} (write e.g. \"7d\", \"7\" (days), \"36h\" or \"2w\")"
    )]
    Duration {
        /// The rejected input.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A duration that must be positive and is not, or is absurdly long.
    #[error("{field} must be between 1 hour and {MAX_DAYS} days, got {value}")]
    OutOfRange {
        /// The policy field.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// `refresh_after` would let findings expire before they are refreshed.
    #[error(
        "refresh_after must be shorter than Security Hub's {RETENTION_DAYS}-day retention, got {days} days"
    )]
    RefreshTooLong {
        /// The value given, in whole days.
        days: i64,
    },
    /// A patch exclusion that is empty or has `*` other than at the end.
    #[error("invalid patch exclusion {pattern:?}: {reason}")]
    PatchPattern {
        /// The rejected pattern.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A tag filter with an empty key.
    #[error("invalid tag filter {input:?}: {reason} (write KEY or KEY=VALUE)")]
    TagFilter {
        /// The rejected input.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Excludes nodes by tag: `KEY` matches any value, `KEY=VALUE` an exact value.
/// Keys and values are case-sensitive, like AWS tags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagFilter {
    /// Tag key (non-empty).
    pub key: String,
    /// Required value; `None` matches any value, including empty.
    pub value: Option<String>,
}

impl TagFilter {
    /// Whether `node` carries a matching tag.
    pub fn matches(&self, node: &ManagedNode) -> bool {
        match (node.tags.get(&self.key), &self.value) {
            (Some(_), None) => true,
            (Some(v), Some(want)) => v == want,
            (None, _) => false,
        }
    }
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.key, v),
            None => f.write_str(&self.key),
        }
    }
}

impl FromStr for TagFilter {
    type Err = PolicyError;

    /// `KEY` or `KEY=VALUE`, split at the first `=` (values may contain `=`; `KEY=` means an
    /// empty value). Surrounding whitespace of the whole string is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (key, value) = match t.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (t, None),
        };
        if key.is_empty() {
            return Err(PolicyError::TagFilter {
                input: s.to_string(),
                reason: "the tag key is empty",
            });
        }
        Ok(TagFilter {
            key: key.to_string(),
            value,
        })
    }
}

/// Parses a duration: `7d`, `7` (days), `36h`, `2w`. Whole, positive numbers only,
/// at most ten years.
pub fn parse_days(s: &str) -> Result<Duration, PolicyError> {
    let err = |reason: &str| PolicyError::Duration {
        input: s.to_string(),
        reason: reason.to_string(),
    };
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err(err("it is empty"));
    }
    let (digits, hours_per_unit) = if let Some(d) = t.strip_suffix('d') {
        (d, 24)
    } else if let Some(h) = t.strip_suffix('h') {
        (h, 1)
    } else if let Some(w) = t.strip_suffix('w') {
        (w, 24 * 7)
    } else {
        (t.as_str(), 24)
    };
    let digits = digits.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("expected a whole number followed by d, h or w"));
    }
    let n: i64 = digits.parse().map_err(|_| err("number too large"))?;
    if n == 0 {
        return Err(err("must be greater than zero"));
    }
    let hours = n
        .checked_mul(hours_per_unit)
        .filter(|h| *h <= MAX_DAYS * 24)
        .ok_or_else(|| err("longer than ten years"))?;
    Ok(Duration::hours(hours))
}

/// Renders a duration for prose: "7 days", "36 hours".
pub(crate) fn describe_duration(d: Duration) -> String {
    let hours = d.num_hours();
    if hours % 24 == 0 {
        let days = hours / 24;
        if days == 1 {
            "1 day".into()
        } else {
            format!("{days} days")
        }
    } else if hours == 1 {
        "1 hour".into()
    } else {
        format!("{hours} hours")
    }
}

/// What patchhub reports, and how eagerly it refreshes.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingPolicy {
    /// Lowest patch severity that gets a per-patch finding. Default `Unspecified` = every
    /// non-compliant patch; `Critical` reproduces the 2020 blog's behaviour. A patch's
    /// severity is its SSM compliance severity, or, when that is `Unspecified`, its vendor
    /// severity mapped by [`Severity::from_vendor`]; the same value rates the finding.
    pub min_severity: Severity,
    /// A node whose last patch operation ended longer ago than this gets a stale-scan
    /// finding. Default 7 days.
    pub stale_after: Duration,
    /// Patch ids (KB or package) that never get a finding: exact ids or prefix globs ending
    /// in `*` (`KB50*`), case-insensitive. Default none.
    pub exclude_patches: Vec<String>,
    /// Nodes carrying a matching tag get no per-patch findings (their roll-up still says
    /// why). Default none.
    pub exclude_tags: Vec<TagFilter>,
    /// Emit a per-node roll-up finding. Default `true`.
    pub rollup: bool,
    /// Emit stale-scan findings. Default `true`.
    pub stale_findings: bool,
    /// Re-send an unchanged finding when its last update is older than this, so it outlives
    /// Security Hub's 90-day retention. Default 30 days; must be under 90 days.
    pub refresh_after: Duration,
}

impl Default for FindingPolicy {
    fn default() -> Self {
        FindingPolicy {
            min_severity: Severity::Unspecified,
            stale_after: Duration::days(7),
            exclude_patches: Vec::new(),
            exclude_tags: Vec::new(),
            rollup: true,
            stale_findings: true,
            refresh_after: Duration::days(30),
        }
    }
}

impl FindingPolicy {
    /// Checks that the policy can work: positive, bounded durations, a refresh interval
    /// inside the retention period, well-formed exclusions.
    pub fn validate(&self) -> Result<(), PolicyError> {
        for (field, d) in [
            ("stale_after", self.stale_after),
            ("refresh_after", self.refresh_after),
        ] {
            if d < Duration::hours(1) || d > Duration::days(MAX_DAYS) {
                return Err(PolicyError::OutOfRange {
                    field,
                    value: describe_duration(d),
                });
            }
        }
        if self.refresh_after >= Duration::days(RETENTION_DAYS) {
            return Err(PolicyError::RefreshTooLong {
                days: self.refresh_after.num_days(),
            });
        }
        for p in &self.exclude_patches {
            let t = p.trim();
            if t.is_empty() {
                return Err(PolicyError::PatchPattern {
                    pattern: p.clone(),
                    reason: "it is empty",
                });
            }
            if t.trim_end_matches('*').contains('*') || t.ends_with("**") {
                return Err(PolicyError::PatchPattern {
                    pattern: p.clone(),
                    reason: "only one trailing * is supported",
                });
            }
        }
        for f in &self.exclude_tags {
            if f.key.is_empty() {
                return Err(PolicyError::TagFilter {
                    input: f.to_string(),
                    reason: "the tag key is empty",
                });
            }
        }
        Ok(())
    }

    /// A stable 16-hex-digit hash of everything that shapes finding content (severity
    /// filter, stale threshold, exclusions, roll-up and stale switches; not `refresh_after`).
    /// Order and case of exclusions do not matter. The roll-up carries it, so changing the
    /// policy changes every roll-up and forces the node's patch findings to be re-evaluated.
    pub fn fingerprint(&self) -> String {
        let mut patches: Vec<String> = self
            .exclude_patches
            .iter()
            .map(|p| p.trim().to_lowercase())
            .collect();
        patches.sort();
        patches.dedup();
        let mut tags: Vec<&TagFilter> = self.exclude_tags.iter().collect();
        tags.sort();
        tags.dedup();
        // Length-prefixed fields so no two different policies serialise alike.
        let mut canon = String::from("patchhub-policy-v1\n");
        let mut put = |k: &str, v: &str| {
            canon.push_str(&format!("{k}:{}:{v}\n", v.len()));
        };
        put("min_severity", self.min_severity.as_str());
        put("stale_after_s", &self.stale_after.num_seconds().to_string());
        put("rollup", &self.rollup.to_string());
        put("stale_findings", &self.stale_findings.to_string());
        for p in &patches {
            put("exclude_patch", p);
        }
        for t in &tags {
            put("exclude_tag_key", &t.key);
            put(
                "exclude_tag_value",
                t.value.as_deref().unwrap_or("\u{0}any"),
            );
        }
        let digest = Sha256::digest(canon.as_bytes());
        hex::encode(&digest[..8])
    }

    /// Whether `patch_id` matches an exclusion (exact or trailing-`*` prefix, case-insensitive).
    pub fn excludes_patch(&self, patch_id: &str) -> bool {
        let id = patch_id.trim().to_lowercase();
        self.exclude_patches.iter().any(|p| {
            let p = p.trim().to_lowercase();
            match p.strip_suffix('*') {
                Some(prefix) => id.starts_with(prefix),
                None => id == p,
            }
        })
    }

    /// The first tag filter that excludes `node`, if any.
    pub fn excluding_tag(&self, node: &ManagedNode) -> Option<&TagFilter> {
        self.exclude_tags.iter().find(|f| f.matches(node))
    }

    /// Whether `patch` is severe enough for a per-patch finding.
    pub fn admits_severity(&self, patch: &PatchItem) -> bool {
        patch.effective_severity() >= self.min_severity
    }

    /// Why `node` counts as stale at `now`, if it does: no patch operation ever, the last one
    /// ended more than `stale_after` ago, or the agent lost its connection (`ConnectionLost`
    /// or `Inactive`).
    pub fn stale_reasons(&self, node: &ManagedNode, now: DateTime<Utc>) -> Vec<StaleReason> {
        let mut out = Vec::new();
        match node.last_scan_end() {
            None => out.push(StaleReason::NeverScanned),
            Some(end) => {
                if now.signed_duration_since(end) > self.stale_after {
                    out.push(StaleReason::ScanTooOld);
                }
            }
        }
        if matches!(
            node.ping_status,
            PingStatus::ConnectionLost | PingStatus::Inactive
        ) {
            out.push(StaleReason::ConnectionLost);
        }
        out
    }
}

/// Why a node's patch data cannot be trusted to be current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StaleReason {
    /// The node never reported a patch operation.
    NeverScanned,
    /// The last patch operation ended longer ago than `stale_after`.
    ScanTooOld,
    /// The agent's ping status is `ConnectionLost` or `Inactive`.
    ConnectionLost,
}

impl StaleReason {
    /// Stable spelling for ProductFields.
    pub fn as_str(self) -> &'static str {
        match self {
            StaleReason::NeverScanned => "never-scanned",
            StaleReason::ScanTooOld => "scan-too-old",
            StaleReason::ConnectionLost => "connection-lost",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PatchState;

    #[test]
    fn defaults_are_as_documented() {
        let p = FindingPolicy::default();
        assert_eq!(p.min_severity, Severity::Unspecified);
        assert_eq!(p.stale_after, Duration::days(7));
        assert_eq!(p.refresh_after, Duration::days(30));
        assert!(p.rollup && p.stale_findings);
        assert!(p.exclude_patches.is_empty() && p.exclude_tags.is_empty());
        assert_eq!(p.validate(), Ok(()));
    }

    #[test]
    fn parse_days_accepts_the_documented_forms() {
        assert_eq!(parse_days("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_days(" 7 ").unwrap(), Duration::days(7));
        assert_eq!(parse_days("36h").unwrap(), Duration::hours(36));
        assert_eq!(parse_days("2W").unwrap(), Duration::days(14));
        for bad in [
            "",
            "d",
            "-1d",
            "1.5d",
            "0",
            "7 days",
            "99999999999999999999",
            "4000d",
        ] {
            let e = parse_days(bad).unwrap_err();
            assert!(e.to_string().contains("invalid duration"), "{bad}: {e}");
        }
    }

    #[test]
    fn tag_filters_parse_and_match() {
        let mut n = crate::model::ManagedNode::new("123456789012", "eu-west-1", "aws", "i-1");
        n.tags.insert("Env".into(), "dev".into());
        n.tags.insert("NoPatch".into(), String::new());
        let f: TagFilter = "Env=dev".parse().unwrap();
        assert!(f.matches(&n));
        assert!(!"Env=prod".parse::<TagFilter>().unwrap().matches(&n));
        assert!("NoPatch".parse::<TagFilter>().unwrap().matches(&n));
        assert!("NoPatch=".parse::<TagFilter>().unwrap().matches(&n));
        assert!(
            !"env".parse::<TagFilter>().unwrap().matches(&n),
            "keys are case-sensitive"
        );
        assert_eq!(
            "a=b=c".parse::<TagFilter>().unwrap().value.as_deref(),
            Some("b=c")
        );
        assert!("=x".parse::<TagFilter>().is_err());
        assert_eq!(
            "Env=dev".parse::<TagFilter>().unwrap().to_string(),
            "Env=dev"
        );
    }

    #[test]
    fn patch_exclusions_are_case_insensitive_with_prefix_globs() {
        let p = FindingPolicy {
            exclude_patches: vec!["KB50*".into(), "openssl".into()],
            ..Default::default()
        };
        assert!(p.excludes_patch("kb5031364"));
        assert!(p.excludes_patch("OpenSSL"));
        assert!(!p.excludes_patch("openssl-libs"));
        assert!(!p.excludes_patch("KB4012345"));
    }

    #[test]
    fn validate_rejects_unworkable_values() {
        let bad = [
            FindingPolicy {
                refresh_after: Duration::days(90),
                ..Default::default()
            },
            FindingPolicy {
                stale_after: Duration::zero(),
                ..Default::default()
            },
            FindingPolicy {
                exclude_patches: vec!["KB*5".into()],
                ..Default::default()
            },
            FindingPolicy {
                exclude_patches: vec![" ".into()],
                ..Default::default()
            },
            FindingPolicy {
                exclude_tags: vec![TagFilter {
                    key: String::new(),
                    value: None,
                }],
                ..Default::default()
            },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
        }
    }

    #[test]
    fn fingerprint_tracks_content_affecting_fields_only() {
        let base = FindingPolicy::default();
        let fp = base.fingerprint();
        assert_eq!(fp.len(), 16);
        assert_eq!(fp, FindingPolicy::default().fingerprint());
        let refresh = FindingPolicy {
            refresh_after: Duration::days(10),
            ..Default::default()
        };
        assert_eq!(
            refresh.fingerprint(),
            fp,
            "refresh interval does not shape content"
        );
        let changed = [
            FindingPolicy {
                min_severity: Severity::Critical,
                ..Default::default()
            },
            FindingPolicy {
                stale_after: Duration::days(8),
                ..Default::default()
            },
            FindingPolicy {
                exclude_patches: vec!["kb1".into()],
                ..Default::default()
            },
            FindingPolicy {
                exclude_tags: vec!["A".parse().unwrap()],
                ..Default::default()
            },
            FindingPolicy {
                rollup: false,
                ..Default::default()
            },
            FindingPolicy {
                stale_findings: false,
                ..Default::default()
            },
        ];
        for p in changed {
            assert_ne!(p.fingerprint(), fp, "{p:?}");
        }
        let a = FindingPolicy {
            exclude_patches: vec!["KB1".into(), "b".into()],
            ..Default::default()
        };
        let b = FindingPolicy {
            exclude_patches: vec!["b".into(), "kb1".into()],
            ..Default::default()
        };
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn severity_filter_uses_vendor_fallback() {
        let p = FindingPolicy {
            min_severity: Severity::High,
            ..Default::default()
        };
        let mut patch = PatchItem::new("x", PatchState::Missing, Severity::Unspecified);
        patch.vendor_severity = "Important".into();
        assert!(p.admits_severity(&patch));
        patch.vendor_severity = "Low".into();
        assert!(!p.admits_severity(&patch));
    }
}
