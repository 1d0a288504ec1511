//! Patch deadlines end to end: `patchhub sync --sla … --kev … --as-of …` against awsim, with
//! awsim's clock moved as far as `--as-of`.

mod support;

use aws_sdk_securityhub::types::AwsSecurityFinding;
use chrono::{DateTime, Duration, Utc};
use patchhub_core::finding::{GENERATOR_PATCH, fields};
use patchhub_testkit::{read, runtime, scenario};
use support::{exited, fleet_as, run as patchhub, scratch};

const KEY: &str = "AKIATESTDEADLINE";
const REGION: &str = "us-east-1";
const CREDS: &[(&str, &str)] = &support::creds(KEY);
const SPEC: &str = "accounts=1,regions=1,instances=8,patches=25,seed=5";

fn field<'a>(f: &'a AwsSecurityFinding, key: &str) -> Option<&'a str> {
    f.product_fields()
        .and_then(|p| p.get(key))
        .map(String::as_str)
}

fn time(s: Option<&str>) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s.expect("a time"))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

/// Active per-patch findings whose SSM severity is `severity`.
fn open_patches(all: &[AwsSecurityFinding], severity: &str) -> Vec<AwsSecurityFinding> {
    all.iter()
        .filter(|f| f.generator_id() == Some(GENERATOR_PATCH) && read::is_active(f))
        .filter(|f| field(f, fields::SEVERITY) == Some(severity))
        .cloned()
        .collect()
}

#[test]
fn critical_patches_breach_fifteen_days_after_first_seen_and_resolve_when_installed() {
    let rt = runtime();
    let (sim, account) = fleet_as(&rt, SPEC, KEY);
    let url = sim.url();
    let t = Utc::now();
    let sync = |extra: &[&str]| {
        let mut args = vec![
            "sync",
            "--endpoint-url",
            &url,
            "--output",
            "json",
            "--sla",
            "critical=15d",
        ];
        args.extend_from_slice(extra);
        exited(&patchhub(&args, CREDS), 0);
    };
    let check = |as_of: DateTime<Utc>| {
        let all = rt.block_on(read::findings(&sim, &account, REGION));
        let critical = open_patches(&all, "CRITICAL");
        assert!(
            !critical.is_empty(),
            "the fleet has missing critical patches"
        );
        for f in &critical {
            let first = time(f.first_observed_at());
            let due = time(field(f, fields::SLA_DUE_AT));
            assert_eq!(due, first + Duration::days(15), "{:?}", f.id());
            let breached = due <= as_of;
            assert_eq!(
                field(f, fields::SLA_BREACHED),
                Some(if breached { "true" } else { "false" }),
                "{:?} due {due}, judged at {as_of}",
                f.id()
            );
            let days = (as_of - first).num_days().max(0).to_string();
            assert_eq!(field(f, fields::DAYS_OPEN), Some(days.as_str()));
        }
        // Other severities have no deadline under this SLA.
        for f in open_patches(&all, "HIGH") {
            assert_eq!(field(&f, fields::SLA_DUE_AT), None);
        }
        critical
    };

    sync(&[]);
    check(t);

    // Twenty days on, in awsim and for the deadlines alike.
    sim.advance_clock(Duration::days(20));
    let as_of = t + Duration::days(20);
    let as_of_text = as_of.to_rfc3339();
    sync(&["--as-of", &as_of_text]);
    let critical = check(as_of);
    assert!(
        critical
            .iter()
            .all(|f| field(f, fields::SLA_BREACHED) == Some("true")),
        "every still-missing critical patch is past its 15 days"
    );

    // Installing one resolves its finding, and the breach with it.
    let fixed = &critical[0];
    let node = field(fixed, fields::NODE_ID).unwrap().to_string();
    let patch = field(fixed, fields::PATCH_ID).unwrap().to_string();
    rt.block_on(scenario::install(&sim, &account, REGION, &[node], |p| {
        p.id == patch
    }));
    sync(&["--as-of", &as_of_text]);
    let all = rt.block_on(read::findings(&sim, &account, REGION));
    let after = all.iter().find(|f| f.id() == fixed.id()).unwrap();
    assert!(!read::is_active(after), "resolved");
    assert_eq!(
        after
            .compliance()
            .and_then(|c| c.status())
            .map(|s| s.as_str()),
        Some("PASSED")
    );
    assert_eq!(open_patches(&all, "CRITICAL").len(), critical.len() - 1);
}

#[test]
fn kev_marks_exactly_the_findings_with_catalogued_cves_and_a_bad_catalog_exits_2() {
    let rt = runtime();
    let (sim, account) = fleet_as(&rt, SPEC, KEY);
    let url = sim.url();
    // One CVE of one missing patch of the fleet, as CISA would list it.
    let fleet = sim.export_fleet();
    let cve = fleet.accounts[0]
        .instances
        .iter()
        .flat_map(|i| i.patches.iter())
        .filter(|p| p.state == "MISSING")
        .flat_map(|p| p.cve_ids.iter())
        .next()
        .expect("a missing patch with a CVE")
        .clone();
    let dir = scratch("kev");
    let kev = dir.join("known_exploited_vulnerabilities.json");
    std::fs::write(
        &kev,
        format!(
            r#"{{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2026.12.01",
            "dateReleased":"{}","count":1,"vulnerabilities":[{{"cveID":"{cve}","vendorProject":"v",
            "product":"p","vulnerabilityName":"n","dateAdded":"2026-11-01","shortDescription":"s",
            "requiredAction":"r","dueDate":"2026-11-22","knownRansomwareCampaignUse":"Unknown","notes":""}}]}}"#,
            Utc::now().to_rfc3339()
        ),
    )
    .unwrap();
    let kev = kev.to_str().unwrap();
    exited(
        &patchhub(
            &[
                "sync",
                "--endpoint-url",
                &url,
                "--output",
                "json",
                "--kev",
                kev,
            ],
            CREDS,
        ),
        0,
    );
    let all = rt.block_on(read::findings(&sim, &account, REGION));
    let patches: Vec<&AwsSecurityFinding> = all
        .iter()
        .filter(|f| f.generator_id() == Some(GENERATOR_PATCH) && read::is_active(f))
        .collect();
    let lists = |f: &AwsSecurityFinding| {
        f.vulnerabilities()
            .iter()
            .any(|v| v.id() == Some(cve.as_str()))
    };
    let marked: Vec<_> = patches
        .iter()
        .filter(|f| field(f, fields::KNOWN_EXPLOITED) == Some("true"))
        .collect();
    assert!(!marked.is_empty());
    assert_eq!(marked.len(), patches.iter().filter(|f| lists(f)).count());
    for f in marked {
        assert!(lists(f), "{:?} is marked but does not list {cve}", f.id());
        assert_eq!(
            f.severity().and_then(|s| s.label()).map(|l| l.as_str()),
            Some("CRITICAL")
        );
        assert_eq!(
            field(f, fields::SLA_DUE_AT),
            Some("2026-11-22T23:59:59.999Z")
        );
        assert_eq!(field(f, fields::SLA_BREACHED), Some("true"));
    }

    // A malformed catalog: exit 2, one line naming the file and what is wrong.
    let bad = dir.join("truncated.json");
    std::fs::write(&bad, r#"{"title":"t","catalogVersion":"v","dateReleased":"2026-12-01T00:00:00Z","count":3,"vulnerabilities":[]}"#).unwrap();
    let bad = bad.to_str().unwrap();
    let out = patchhub(&["sync", "--endpoint-url", &url, "--kev", bad], CREDS);
    let err = exited(&out, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(bad) && err.contains("truncated"), "{err}");
    let out = patchhub(
        &[
            "sync",
            "--endpoint-url",
            &url,
            "--kev",
            "/nonexistent/kev.json",
        ],
        CREDS,
    );
    let err = exited(&out, 2);
    assert!(
        err.contains("/nonexistent/kev.json") && err.contains("cannot read"),
        "{err}"
    );
}
