//! Text shaping for console-facing ASFF strings: one-line sanitising and UTF-8 safe truncation,
//! and the timestamp forms findings carry (millisecond RFC 3339 for machines, minutes for people).
//!
//! ASFF limits are counted in Unicode scalar values (Smithy's string length), so every cut
//! here is made on a `char` boundary and counted in `char`s.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Marks a string cut short so a reader knows there was more.
const ELLIPSIS: char = '…';

/// Bidirectional embedding/override/isolate controls: they can make console text read
/// differently from what it contains, so they are dropped.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Collapses whitespace and control characters into single spaces, drops bidi controls,
/// and trims the ends.
///
/// SSM titles and tags are free text; control characters would render as garbage in the
/// console and cost 6 bytes each once JSON-escaped.
pub(crate) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if is_bidi_control(c) {
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Cuts `s` to at most `max` chars, ending with `…` when something was cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some(_) => {
            // Keep max-1 chars and spend the last one on the ellipsis.
            let cut = s.char_indices().nth(max - 1).map_or(s.len(), |(i, _)| i);
            let mut out = s[..cut].trim_end().to_string();
            out.push(ELLIPSIS);
            out
        }
    }
}

/// `one_line` then `truncate`: the usual treatment for a value shown in the console.
pub(crate) fn clip(s: &str, max: usize) -> String {
    truncate(&one_line(s), max)
}

/// Length as ASFF counts it.
pub(crate) fn len(s: &str) -> usize {
    s.chars().count()
}

/// Machine timestamp: RFC 3339, millisecond precision, `Z`.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Drops sub-millisecond precision so a timestamp survives a JSON round trip unchanged.
pub(crate) fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis())
        .single()
        .unwrap_or(t)
}

/// Human timestamp for titles and descriptions: absolute, so the text does not age.
pub(crate) fn human(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The first `show` items joined with `, `, and how many items are left out.
pub fn join_shown(items: &[String], show: usize) -> (String, usize) {
    let shown = items.iter().take(show).cloned().collect::<Vec<_>>();
    (shown.join(", "), items.len() - shown.len())
}

/// Joins up to `show` items and says how many more there are.
pub(crate) fn list_some(items: &[String], show: usize) -> String {
    match join_shown(items, show) {
        (shown, 0) => shown,
        (shown, more) => format!("{shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries_and_marks_the_cut() {
        let s = "ééééé";
        assert_eq!(truncate(s, 5), s);
        let t = truncate(s, 3);
        assert_eq!(t, "éé…");
        assert_eq!(len(&t), 3);
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn one_line_collapses_controls_and_whitespace() {
        assert_eq!(one_line("  a\n\tb\u{0}\u{7}c  "), "a b c");
        assert_eq!(one_line("\n\n"), "");
        assert_eq!(one_line("web\u{202E}1-bew"), "web1-bew");
    }

    #[test]
    fn list_some_counts_the_rest() {
        let v: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(list_some(&v, 2), "a, b and 1 more");
        assert_eq!(list_some(&v, 3), "a, b, c");
    }
}
