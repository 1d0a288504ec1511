//! Hostile and malformed `--accounts` files and `--regions` values: any text is parsed without a
//! panic; every error is one bounded line that names the line number or the value at fault; and
//! every well-formed file round-trips to the accounts it lists.

use std::collections::BTreeMap;

use patchhub_aws::targets::{
    AccountTarget, RegionSelection, TargetError, is_region, parse_accounts_csv, parse_regions,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// Longest single error a hostile input may produce (the file name aside).
const MAX_ERROR: usize = 400;

/// Lines as people and tools write them, and as they should never be written.
fn hostile_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[0-9]{10,14}(,[a-z@.]{0,12})?",
        2 => "[0-9, \"#@a-z.\\t]{0,30}",
        1 => "[\\x00-\\x1f\\x7f\u{85}\u{2028}\u{feff},0-9]{1,20}",
        1 => "\\PC{0,40}",
        1 => "[0-9]{12},[^,\\n]{0,20}@[^,\\n]{0,20}",
        1 => (1usize..=40).prop_map(|k| format!("{},x@y.z", "123456789012".repeat(k * 100))),
        1 => Just("AccountId,Email".to_string()),
    ]
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        vec(hostile_line(), 0..12).prop_map(|l| l.join("\n")),
        vec(hostile_line(), 0..6).prop_map(|l| l.join("\r\n")),
        "\\PC{0,300}",
        vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn assert_one_bounded_line(msg: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !msg.chars().any(char::is_control),
        "one line, no control characters: {:?}",
        msg
    );
    prop_assert!(msg.len() <= MAX_ERROR, "{} bytes: {:?}", msg.len(), msg);
    Ok(())
}

/// A file of these accounts, each listed 1-3 times (its email on at least one line), with
/// comments, blank lines, an optional header, padding, quotes, CRLF and a BOM mixed in.
fn well_formed_file() -> impl Strategy<Value = (BTreeMap<String, Option<String>>, String)> {
    (
        btree_map(
            "[0-9]{12}",
            option::of("[a-z0-9._+-]{1,10}@[a-z0-9-]{1,10}\\.[a-z]{2,4}"),
            1..8,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        vec((1usize..=3, any::<bool>(), "[ \t]{0,2}", any::<bool>()), 8),
        select(vec!["\n", "\r\n"]),
    )
        .prop_map(|(accounts, header, bom, comments, style, eol)| {
            let mut lines = Vec::new();
            if comments {
                lines.push("# accounts patchhub covers".to_string());
                lines.push(String::new());
            }
            if header {
                lines.push("AccountId,Email".to_string());
            }
            for ((id, email), (times, quoted, pad, bare_first)) in accounts.iter().zip(style) {
                let q = |s: &str| {
                    if quoted {
                        format!("\"{s}\"")
                    } else {
                        s.to_string()
                    }
                };
                for n in 0..times {
                    let with_email = email.is_some() && !(bare_first && n == 0 && times > 1);
                    lines.push(match (with_email, email) {
                        (true, Some(e)) => format!("{pad}{}{pad},{pad}{}", q(id), q(e)),
                        _ => format!("{pad}{}", q(id)),
                    });
                    if comments {
                        lines.push(format!("# after {id}"));
                    }
                }
            }
            let text = format!(
                "{}{}{eol}",
                if bom { "\u{feff}" } else { "" },
                lines.join(eol)
            );
            (accounts, text)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any text: no panic; an error for each bad line, each naming a line that exists.
    #[test]
    fn any_accounts_text_parses_or_names_its_lines(text in hostile_text()) {
        let lines = text.lines().count();
        match parse_accounts_csv("a.csv", &text) {
            Ok(accounts) => {
                prop_assert!(!accounts.is_empty());
                for a in &accounts {
                    prop_assert!(a.id.len() == 12 && a.id.bytes().all(|b| b.is_ascii_digit()), "{:?}", a);
                    prop_assert!(
                        a.email.as_deref().is_none_or(|e| e.contains('@') && !e.contains(|c: char| c.is_control() || c.is_whitespace())),
                        "{:?}",
                        a
                    );
                }
                prop_assert!(accounts.windows(2).all(|w| w[0].id < w[1].id), "merged and sorted");
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    let TargetError::Csv { line, source_name, .. } = e else {
                        return Err(TestCaseError::fail(format!("not a CSV error: {e:?}")));
                    };
                    prop_assert_eq!(source_name, "a.csv");
                    let msg = e.to_string();
                    prop_assert!(msg.starts_with(&format!("a.csv line {line}: ")), "{}", msg);
                    assert_one_bounded_line(&msg)?;
                    if *line == 0 {
                        prop_assert_eq!(errors.len(), 1, "line 0 is only the no-accounts error");
                        prop_assert!(msg.contains("no accounts found"), "{}", msg);
                    } else {
                        prop_assert!(*line <= lines, "line {} of {}", line, lines);
                    }
                }
            }
        }
    }

    /// A well-formed file gives exactly its accounts, each with its email.
    #[test]
    fn well_formed_files_round_trip((accounts, text) in well_formed_file()) {
        let got = parse_accounts_csv("a.csv", &text)
            .map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        let want: Vec<AccountTarget> = accounts
            .into_iter()
            .map(|(id, email)| AccountTarget { id, email })
            .collect();
        prop_assert_eq!(got, want, "{}", text);
    }

    /// Any `--regions` value: no panic; a list of distinct Region names, or an error naming the
    /// value at fault.
    #[test]
    fn any_regions_value_parses_or_names_the_junk(s in prop_oneof![
        "[a-z0-9, -]{0,40}",
        "\\PC{0,60}",
        "[\\x00-\\x1f,a-z0-9-]{0,30}",
        (1usize..=50).prop_map(|k| "us-east-1x".repeat(k * 100)),
    ]) {
        match parse_regions(&s) {
            Ok(RegionSelection::AllEnabled) => prop_assert_eq!(s.trim(), "all-enabled"),
            Ok(RegionSelection::List(list)) => {
                prop_assert!(!list.is_empty());
                for (i, r) in list.iter().enumerate() {
                    prop_assert!(is_region(r), "{}", r);
                    prop_assert!(!list[..i].contains(r), "duplicate {}", r);
                }
            }
            Err(e) => {
                prop_assert!(matches!(e, TargetError::Region(_)), "{:?}", e);
                let msg = e.to_string();
                prop_assert!(msg.starts_with("Region `"), "{}", msg);
                prop_assert!(msg.contains("expected e.g. us-east-1"), "{}", msg);
                assert_one_bounded_line(&msg)?;
            }
        }
    }

    /// Valid Regions, padded and repeated, give the list in first-seen order.
    #[test]
    fn valid_regions_round_trip(regions in vec(select(vec![
        "us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "eu-central-2",
    ]), 1..8), pad in "[ ]{0,2}") {
        let text = regions.iter().map(|r| format!("{pad}{r}{pad}")).collect::<Vec<_>>().join(",");
        let mut want: Vec<String> = Vec::new();
        for r in &regions {
            if !want.iter().any(|w| w == r) {
                want.push(r.to_string());
            }
        }
        prop_assert_eq!(parse_regions(&text), Ok(RegionSelection::List(want)));
    }
}

fn csv_errors(text: &str) -> Vec<String> {
    parse_accounts_csv("a.csv", text)
        .expect_err("rejected")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_control_character_in_a_line_stays_on_one_line() {
    let e = csv_errors("111111111111\n12345\rFAKE,x@y.z\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("a.csv line 2: `12345\\rFAKE`"), "{e:?}");
    let e = csv_errors("111111111111,a\u{7}b@c.d\u{1b}[2J\n");
    assert!(e[0].contains("line 1") && !e[0].contains('\u{1b}'), "{e:?}");
}

#[test]
fn a_huge_line_gives_a_short_error() {
    let e = csv_errors(&format!("{}\n", "1".repeat(200_000)));
    assert!(e[0].starts_with("a.csv line 1: `1111"), "{e:?}");
    assert!(e[0].len() < MAX_ERROR, "{} bytes", e[0].len());
    let r = parse_regions(&"x-y-1z".repeat(10_000))
        .unwrap_err()
        .to_string();
    assert!(r.len() < MAX_ERROR, "{} bytes", r.len());
}

#[test]
fn a_region_with_a_newline_is_rejected_on_one_line() {
    let e = parse_regions("us-east-1,eu-west-1\nus-west-2").unwrap_err();
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
    assert!(e.to_string().contains(r"eu-west-1\nus-west-2"), "{e}");
}

#[test]
fn header_comments_bom_and_crlf_are_accepted() {
    let got = parse_accounts_csv(
        "a.csv",
        "\u{feff}AccountId,Email\r\n# c\r\n\r\n \"111111111111\" , \"a@b.c\" \r\n",
    )
    .unwrap();
    assert_eq!(
        got,
        vec![AccountTarget {
            id: "111111111111".into(),
            email: Some("a@b.c".into())
        }]
    );
}
