//! Hostile values for every flag of `patchhub sync`, as a user or a script might pass them:
//! the binary parses or refuses them with exit code 2 and a message, and never panics. No
//! credentials are given and the endpoint is a closed loopback port, so a run whose flags are all
//! valid stops at the credential check (exit 2) without any network call.

mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::process::Output;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Flags of `patchhub sync` that take a value (`--endpoint-url` is fixed, see above).
const VALUE_FLAGS: &[&str] = &[
    "--profile",
    "--region",
    "--timeout",
    "--max-attempts",
    "--min-severity",
    "--stale-after",
    "--exclude-patch",
    "--exclude-tag",
    "--refresh-after",
    "--instance",
    "--ou",
    "--role-name",
    "--external-id",
    "--regions",
    "--output",
    "--concurrency",
    "--ssm-rate",
];

/// Switches of `patchhub sync`.
const SWITCHES: &[&str] = &[
    "--no-rollup",
    "--no-stale-findings",
    "--organization",
    "--dry-run",
    "-q",
];

fn patchhub(args: &[OsString]) -> Output {
    support::patchhub()
        .arg("sync")
        .args(args)
        .arg("--endpoint-url=http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("patchhub runs")
}

/// A flag value: plausible, junk, huge, control characters, or not UTF-8 at all.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => select(vec![
            "us-east-1", "all-enabled", "i-0123456789abcdef0", "7d", "36h", "0", "-1", "1e309",
            "NaN", "inf", "999999999999", "critical", "all", "json", "jsonl", "30s", "KB50*",
            "Env=dev", "=x", "", " ", "--help", "-h", "--version", "ou-abcd-11111111",
            "18446744073709551615h", "99999999999999999999m",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        3 => "[a-zA-Z0-9 =*,._:/-]{0,30}".prop_map(String::into_bytes),
        1 => "\\PC{0,40}".prop_map(String::into_bytes),
        1 => "[\\x01-\\x1f\\x7f]{1,8}".prop_map(String::into_bytes),
        1 => (1usize..=8).prop_map(|k| "us-east-1,".repeat(k * 1000).into_bytes()),
        1 => vec(1u8..=255, 1..20),
    ]
}

/// `--accounts FILE`: a file of hostile text, a missing path, or a directory.
fn accounts(dir: &std::path::Path, case: usize, kind: u8, content: &[u8]) -> OsString {
    match kind % 3 {
        0 => {
            let p = dir.join(format!("accounts-{case}.csv"));
            std::fs::write(&p, content).unwrap();
            p.into_os_string()
        }
        1 => dir.join("missing.csv").into_os_string(),
        _ => dir.as_os_str().to_owned(),
    }
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchhub-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

proptest! {
    // Each case spawns the binary: a modest number.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_flag_values_exit_2_without_a_panic(
        flags in vec((select(VALUE_FLAGS.to_vec()), value()), 0..6),
        switches in proptest::sample::subsequence(SWITCHES.to_vec(), 0..=2),
        with_accounts in proptest::option::of((any::<u8>(), value())),
        case in any::<usize>(),
    ) {
        let dir = scratch();
        let mut args: Vec<OsString> = Vec::new();
        for (flag, v) in &flags {
            // `--flag=value`: a value starting with `-` is still a value.
            let mut a = format!("{flag}=").into_bytes();
            a.extend(v.iter().copied().filter(|b| *b != 0));
            args.push(OsString::from_vec(a));
        }
        args.extend(switches.iter().map(OsString::from));
        if let Some((kind, content)) = &with_accounts {
            let mut a = OsString::from("--accounts=");
            a.push(accounts(&dir, case, *kind, content));
            args.push(a);
        }
        let out = patchhub(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert!(!err.contains("panicked"), "{:?}\n{}", args, err);
        prop_assert_eq!(out.status.code(), Some(2), "{:?}\n{}", args, err);
        prop_assert!(!err.trim().is_empty(), "an error says why: {:?}", args);
    }
}

#[test]
fn a_non_utf8_value_is_a_usage_error() {
    let out = patchhub(&[OsString::from_vec(b"--region=us-\xff-1".to_vec())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn not_a_number_and_infinite_rates_are_refused() {
    for rate in ["NaN", "inf", "-inf", "1e309", "0"] {
        let out = patchhub(&[OsString::from(format!("--ssm-rate={rate}"))]);
        assert_eq!(out.status.code(), Some(2), "{rate}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--ssm-rate"), "{rate}: {err}");
    }
}

#[test]
fn a_huge_duration_is_refused_not_overflowed() {
    for t in ["99999999999999999999s", "18446744073709551615h"] {
        let out = patchhub(&[OsString::from(format!("--timeout={t}"))]);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{t}"
        );
    }
}
