//! A node's EC2 / SSM tags as Security Hub accepts them in `Resources[].Tags`.
//!
//! EC2 lets tag keys and values hold characters Security Hub refuses (`Owner=R&D (ops)`, an
//! empty value): one such tag would cost the whole finding (`InvalidInput`). So each tag is
//! made acceptable deterministically: control characters and runs of white space become one
//! space and the ends are trimmed ([`text::one_line`]), and each character outside the tag
//! character set becomes `_`. A tag is left out when nothing acceptable remains (an empty or
//! blank key or value, or one of refused characters only), when it is too long (tags are not
//! cut, a cut value would read as a different one), when its rewritten key repeats an earlier
//! one, or beyond the 50th. Counted in [`TagRepairs`] for the run report.
//!
//! Sources: the character set, Security Hub user guide, "Tagging Security Hub resources" ("letters,
//! numbers, spaces, or the following symbols: _ . : / = + - @", keys and values alike); the
//! non-blank rule, the model's `NonEmptyString` (pattern `.*\S.*`) for map values.

use std::collections::BTreeMap;

use crate::limits;
use crate::text;

/// What making a node's tags acceptable changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagRepairs {
    /// Tags kept with characters replaced.
    pub rewritten: usize,
    /// Tags left out.
    pub dropped: usize,
}

impl TagRepairs {
    /// Whether anything was changed.
    pub fn any(&self) -> bool {
        self.rewritten + self.dropped > 0
    }
}

/// `s` as a tag key or value Security Hub accepts, if anything acceptable remains.
fn acceptable(s: &str, max: usize) -> Option<String> {
    let line = text::one_line(s);
    if !line
        .chars()
        .any(|c| c != ' ' && limits::tag_char_allowed(c))
    {
        return None;
    }
    let out: String = line
        .chars()
        .map(|c| if limits::tag_char_allowed(c) { c } else { '_' })
        .collect();
    (text::len(&out) <= max).then_some(out)
}

/// The tags Security Hub accepts, made from `tags`, and what changed.
pub fn resource_tags(tags: &BTreeMap<String, String>) -> (BTreeMap<String, String>, TagRepairs) {
    let mut out = BTreeMap::new();
    let mut repairs = TagRepairs::default();
    for (k, v) in tags {
        let fixed = acceptable(k, limits::MAX_TAG_KEY)
            .zip(acceptable(v, limits::MAX_TAG_VALUE))
            .filter(|(key, _)| !out.contains_key(key))
            .filter(|_| out.len() < limits::MAX_RESOURCE_TAGS);
        match fixed {
            Some((key, value)) => {
                if key != *k || value != *v {
                    repairs.rewritten += 1;
                }
                out.insert(key, value);
            }
            None => repairs.dropped += 1,
        }
    }
    (out, repairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn refused_characters_become_underscores() {
        let (out, r) = resource_tags(&tags(&[
            ("Owner", "R&D (ops)"),
            ("Cost Center (EU)", "4711"),
            ("Name", "web-1 prod/eu @x+y=z_1.2"),
            ("Équipe", "café\n\tnoir"),
        ]));
        assert_eq!(
            out,
            tags(&[
                ("Owner", "R_D _ops_"),
                ("Cost Center _EU_", "4711"),
                ("Name", "web-1 prod/eu @x+y=z_1.2"),
                ("Équipe", "café noir"),
            ])
        );
        assert_eq!(
            r,
            TagRepairs {
                rewritten: 3,
                dropped: 0
            }
        );
    }

    #[test]
    fn tags_with_nothing_acceptable_or_too_long_are_left_out() {
        let long_value = "v".repeat(257);
        let long_key = "k".repeat(129);
        let (out, r) = resource_tags(&tags(&[
            ("Backup", ""),
            ("Blank", "  \t"),
            ("(*)", "x"),
            ("Symbols", "&&&"),
            ("Long", &long_value),
            (&long_key, "x"),
            ("a&b", "first"),
            ("a(b", "second"),
            ("Kept", "v"),
        ]));
        assert_eq!(out, tags(&[("Kept", "v"), ("a_b", "first")]));
        assert_eq!(r.dropped, 7);
        assert_eq!(r.rewritten, 1);
    }

    #[test]
    fn at_most_fifty_tags() {
        let many: BTreeMap<String, String> = (0..60)
            .map(|i| (format!("k{i:02}"), "v".to_string()))
            .collect();
        let (out, r) = resource_tags(&many);
        assert_eq!(out.len(), 50);
        assert_eq!(r.dropped, 10);
        assert_eq!(r.rewritten, 0);
        assert!(r.any());
    }
}
