//! Mapping and validation behaviour a Security Hub user would notice.

mod common;

use chrono::Duration;
use common::*;
use patchhub_core::finding::fields;
use patchhub_core::*;

fn ids(fs: &[Finding]) -> Vec<String> {
    fs.iter()
        .filter_map(|f| f.patch_id().map(str::to_string))
        .collect()
}

#[test]
fn only_non_compliant_states_get_patch_findings() {
    let mut nc = windows();
    nc.patches = PatchState::ALL
        .iter()
        .map(|s| PatchItem::new(format!("KB-{}", s.as_str()), *s, Severity::High))
        .collect();
    let got = ids(&patch_findings(&nc, &FindingPolicy::default(), now()));
    assert_eq!(
        got,
        [
            "KB-AVAILABLE_SECURITY_UPDATE",
            "KB-FAILED",
            "KB-INSTALLED_PENDING_REBOOT",
            "KB-INSTALLED_REJECTED",
            "KB-MISSING"
        ]
    );
    nc.node.available_security_updates_compliant = true;
    let got = ids(&patch_findings(&nc, &FindingPolicy::default(), now()));
    assert!(!got.contains(&"KB-AVAILABLE_SECURITY_UPDATE".to_string()));
    assert_eq!(got.len(), 4);
}

#[test]
fn min_severity_critical_reproduces_the_blog_and_uses_vendor_fallback() {
    let mut nc = linux();
    let mut vendor_critical = PatchItem::new("glibc", PatchState::Missing, Severity::Unspecified);
    vendor_critical.vendor_severity = "Critical".into();
    nc.patches.push(vendor_critical);
    let policy = FindingPolicy {
        min_severity: Severity::Critical,
        ..Default::default()
    };
    let fs = patch_findings(&nc, &policy, now());
    assert_eq!(ids(&fs), ["glibc"]);
    assert_eq!(fs[0].severity.label, Some(SeverityLabel::Critical));
    assert_eq!(fs[0].severity.original.as_deref(), Some("Critical"));
}

#[test]
fn exclusions_by_patch_and_by_tag() {
    let policy = FindingPolicy {
        exclude_patches: vec!["kb5031*".into()],
        ..Default::default()
    };
    assert_eq!(
        ids(&patch_findings(&windows(), &policy, now())),
        ["KB5032198"]
    );

    let policy = FindingPolicy {
        exclude_tags: vec!["Env=prod".parse().unwrap()],
        ..Default::default()
    };
    let all = findings_for_node(&windows(), &policy, now());
    assert_eq!(all.len(), 1, "only the roll-up remains");
    assert_eq!(all[0].kind(), Some(FindingKind::Rollup));
    assert_eq!(all[0].product_fields[fields::EXCLUDED], "tag:Env=prod");
    assert!(all[0].description.contains("excluded by tag Env=prod"));
}

#[test]
fn pending_reboot_is_its_own_state_not_missing() {
    let f = patch_findings(&linux(), &FindingPolicy::default(), now())
        .into_iter()
        .find(|f| f.patch_id() == Some("kernel.x86_64"))
        .unwrap();
    assert!(f.title.starts_with("Pending reboot: kernel.x86_64"));
    assert!(!f.title.contains("missing"));
    assert_eq!(
        f.product_fields[fields::PATCH_STATE],
        "INSTALLED_PENDING_REBOOT"
    );
    assert!(
        f.remediation
            .unwrap()
            .recommendation
            .text
            .unwrap()
            .starts_with("Reboot db-2")
    );
}

#[test]
fn rollup_passes_when_compliant_and_fails_when_not() {
    let policy = FindingPolicy::default();
    let failed = rollup_finding(&windows_node(), &policy, now()).unwrap();
    assert_eq!(failed.compliance.unwrap().status, ComplianceStatus::Failed);
    let ps = failed.patch_summary.as_ref().unwrap();
    assert_eq!(
        (ps.missing_count, ps.failed_count, ps.installed_count),
        (Some(2), Some(1), Some(42))
    );
    let summary = failed.resources[0]
        .details
        .as_ref()
        .unwrap()
        .aws_ssm_patch_compliance
        .as_ref()
        .unwrap()
        .patch
        .as_ref()
        .unwrap()
        .compliance_summary
        .as_ref()
        .unwrap();
    assert_eq!(summary.status.as_deref(), Some("NON_COMPLIANT"));
    assert_eq!(summary.non_compliant_critical_count, Some(1));

    let mut ok = windows_node();
    ok.counts = PatchCounts {
        installed: 45,
        ..Default::default()
    };
    let passed = rollup_finding(&ok, &policy, now()).unwrap();
    assert_eq!(passed.compliance.unwrap().status, ComplianceStatus::Passed);
    assert_eq!(passed.severity.label, Some(SeverityLabel::Informational));
    assert!(passed.title.ends_with("is compliant"));
}

#[test]
fn rollup_absent_when_disabled_or_never_scanned() {
    let off = FindingPolicy {
        rollup: false,
        ..Default::default()
    };
    assert!(rollup_finding(&windows_node(), &off, now()).is_none());
    let mut never = windows_node();
    never.last_operation = None;
    assert!(rollup_finding(&never, &FindingPolicy::default(), now()).is_none());
    // ... but a never-scanned node does not go quiet.
    let stale = stale_finding(&never, &FindingPolicy::default(), now()).unwrap();
    assert_eq!(stale.product_fields[fields::STALE_REASONS], "never-scanned");
}

#[test]
fn stale_scan_after_threshold_or_connection_loss() {
    let policy = FindingPolicy::default();
    let node = linux_node();
    assert!(stale_finding(&node, &policy, scan_end() + Duration::days(7)).is_none());
    let late = stale_finding(
        &node,
        &policy,
        scan_end() + Duration::days(7) + Duration::minutes(1),
    )
    .unwrap();
    assert_eq!(late.product_fields[fields::STALE_REASONS], "scan-too-old");
    assert_eq!(late.compliance.unwrap().status, ComplianceStatus::Warning);
    assert_eq!(late.first_observed_at, Some(scan_end() + Duration::days(7)));

    let mut lost = linux_node();
    lost.ping_status = PingStatus::ConnectionLost;
    let f = stale_finding(&lost, &policy, now()).unwrap();
    assert_eq!(f.product_fields[fields::STALE_REASONS], "connection-lost");
    assert!(f.title.starts_with("SSM Agent connection lost"));

    let off = FindingPolicy {
        stale_findings: false,
        ..Default::default()
    };
    assert!(stale_finding(&lost, &off, now()).is_none());
}

#[test]
fn now_changes_content_only_through_staleness() {
    let policy = FindingPolicy::default();
    let a = findings_for_node(&windows(), &policy, now());
    let b = findings_for_node(&windows(), &policy, now() + Duration::days(3));
    let fp = |fs: &[Finding]| {
        fs.iter()
            .map(|f| (f.id.clone(), f.fingerprint().unwrap().to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(fp(&a), fp(&b));
    assert_ne!(a[0].updated_at, b[0].updated_at);

    let stale = findings_for_node(&windows(), &policy, now() + Duration::days(30));
    let rollup_stale = &stale[0];
    assert_eq!(rollup_stale.product_fields[fields::STALE], "true");
    assert_ne!(rollup_stale.fingerprint(), a[0].fingerprint());
    // Patch findings do not churn just because the node went stale.
    let patch_fp = |fs: &[Finding]| {
        fs.iter()
            .filter(|f| f.kind() == Some(FindingKind::Patch))
            .map(|f| f.fingerprint().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(patch_fp(&a), patch_fp(&stale));
}

#[test]
fn rollup_content_moves_with_counts_and_policy_not_with_the_confirming_scan() {
    let policy = FindingPolicy::default();
    let base = rollup_finding(&windows_node(), &policy, now()).unwrap();
    // A later scan that reports the same state confirms it: same content.
    let mut n = windows_node();
    n.last_operation.as_mut().unwrap().execution_id = Some("another".into());
    n.last_operation.as_mut().unwrap().end += Duration::seconds(1);
    let confirmed = rollup_finding(&n, &policy, now()).unwrap();
    assert_eq!(confirmed.fingerprint(), base.fingerprint());
    assert_eq!(
        confirmed.execution_id(),
        Some("another"),
        "but it names the scan"
    );
    // Every count SSM reports is substance, not-applicable included.
    let mut n = windows_node();
    n.counts.not_applicable += 1;
    assert_ne!(
        rollup_finding(&n, &policy, now()).unwrap().fingerprint(),
        base.fingerprint()
    );
    let strict = FindingPolicy {
        min_severity: Severity::High,
        ..Default::default()
    };
    let other = rollup_finding(&windows_node(), &strict, now()).unwrap();
    assert_ne!(other.fingerprint(), base.fingerprint());
    assert_eq!(
        other.product_fields[fields::POLICY_HASH],
        strict.fingerprint()
    );
}

#[test]
fn ids_are_readable_deterministic_and_hashed_only_when_too_long() {
    let id = finding_id(
        "aws",
        ACCOUNT,
        REGION,
        "i-1",
        FindingKind::Patch,
        Some("KB1"),
    );
    assert_eq!(id, "patchhub/aws/123456789012/eu-west-1/i-1/patch/KB1");
    assert_eq!(
        finding_id("aws", ACCOUNT, REGION, "i-1", FindingKind::Rollup, None),
        "patchhub/aws/123456789012/eu-west-1/i-1/rollup"
    );
    let long_a = "p".repeat(600);
    let long_b = format!("{}q", "p".repeat(599));
    let patch_id = |p: &str| finding_id("aws", ACCOUNT, REGION, "i-1", FindingKind::Patch, Some(p));
    let (a, b) = (patch_id(&long_a), patch_id(&long_b));
    assert!(a.len() <= 512 && b.len() <= 512);
    assert!(a.starts_with("patchhub/aws/123456789012/eu-west-1/i-1/patch/sha256-"));
    assert_ne!(a, b);
    assert_eq!(a, patch_id(&long_a));
    // Exactly at the limit is kept readable.
    let base_len = "patchhub/aws/123456789012/eu-west-1/i-1/patch/".len();
    let fits = "x".repeat(512 - base_len);
    assert!(patch_id(&fits).ends_with(&fits));
    assert_eq!(
        product_arn("aws-cn", "cn-north-1", ACCOUNT),
        "arn:aws-cn:securityhub:cn-north-1:123456789012:product/123456789012/default"
    );
}

#[test]
fn ten_thousand_cves_stay_within_limits() {
    let mut nc = windows();
    nc.patches[0].cve_ids = (0..10_000).map(|i| format!("CVE-2023-{i:05}")).collect();
    let f = patch_findings(&nc, &FindingPolicy::default(), now())
        .into_iter()
        .find(|f| f.patch_id() == Some("KB5031364"))
        .unwrap();
    assert_eq!(f.validate(), Ok(()));
    assert_eq!(f.vulnerabilities.len(), limits::MAX_VULNERABILITIES);
    assert_eq!(f.product_fields[fields::CVE_COUNT], "10000");
    assert!(f.description.contains("CVEs (10000)"));
    assert!(f.description.contains("and 9995 more"));
    assert!(serde_json::to_vec(&f).unwrap().len() < limits::MAX_FINDING_BYTES);
}

#[test]
fn huge_cve_strings_and_unicode_are_trimmed_not_rejected() {
    let mut nc = windows();
    nc.node.name = Some("サーバー🚀".repeat(200));
    nc.node.platform_name = "\u{0}\u{7}ctrl\nname".into();
    for (i, v) in (0..60).map(|i| (i, "\u{1F600}".repeat(300))) {
        nc.node.tags.insert(format!("k{i}-{}", "ü".repeat(100)), v);
    }
    nc.patches[0].title = "長い".repeat(5000);
    nc.patches[0].cve_ids = vec!["CVE-".repeat(10_000), "cve-2024-1".into(), " , ,".into()];
    for f in findings_for_node(&nc, &FindingPolicy::default(), now()) {
        assert_eq!(f.validate(), Ok(()), "{}", f.id);
        assert!(f.title.chars().count() <= 256);
        assert!(!f.description.contains('\u{0}'));
        if f.kind() == Some(FindingKind::Patch) && f.patch_id() == Some("KB5031364") {
            let v: Vec<&str> = f.vulnerabilities.iter().map(|v| v.id.as_str()).collect();
            assert_eq!(
                v,
                ["CVE-2024-1"],
                "over-long ids are dropped, case normalised"
            );
        }
    }
}

#[test]
fn resources_for_ec2_and_hybrid_nodes() {
    let ec2 = rollup_finding(&windows_node(), &FindingPolicy::default(), now()).unwrap();
    assert_eq!(ec2.resources[0].r#type, "AwsEc2Instance");
    assert_eq!(
        ec2.resources[0].id,
        "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0"
    );
    let mi = rollup_finding(&hybrid_node(), &FindingPolicy::default(), now()).unwrap();
    assert_eq!(mi.resources[0].r#type, "Other");
    assert_eq!(
        mi.resources[0].id,
        "arn:aws:ssm:eu-west-1:123456789012:managed-instance/mi-0123456789abcdef0"
    );
    assert_eq!(mi.resources[0].partition.as_deref(), Some("aws"));
    assert_eq!(
        mi.resources[0].details.as_ref().unwrap().other["Name"],
        "onprem-build-01"
    );
}

#[test]
fn types_add_cve_only_when_cves_are_known() {
    let fs = patch_findings(&windows(), &FindingPolicy::default(), now());
    let with = fs
        .iter()
        .find(|f| f.patch_id() == Some("KB5031364"))
        .unwrap();
    let without = fs
        .iter()
        .find(|f| f.patch_id() == Some("KB5032198"))
        .unwrap();
    assert_eq!(with.types.len(), 2);
    assert_eq!(
        without.types,
        ["Software and Configuration Checks/Patch Management"]
    );
    assert_eq!(
        with.finding_provider_fields.as_ref().unwrap().types,
        with.types
    );
}

#[test]
fn invalid_identity_yields_nothing_rather_than_rejected_findings() {
    let mut nc = windows();
    nc.node.account_id = "12345".into();
    assert!(findings_for_node(&nc, &FindingPolicy::default(), now()).is_empty());
    let mut nc = windows();
    nc.node.region = "x".repeat(17);
    assert!(findings_for_node(&nc, &FindingPolicy::default(), now()).is_empty());
}

#[test]
fn duplicate_patch_ids_yield_one_finding_independent_of_order() {
    let mut nc = windows();
    let mut dup = kb_missing();
    dup.state = PatchState::Failed;
    nc.patches.push(dup);
    let a = patch_findings(&nc, &FindingPolicy::default(), now());
    nc.patches.reverse();
    let b = patch_findings(&nc, &FindingPolicy::default(), now());
    assert_eq!(
        a.iter()
            .filter(|f| f.patch_id() == Some("KB5031364"))
            .count(),
        1
    );
    assert_eq!(a, b);
}

#[test]
fn fingerprint_ignores_timestamps_and_security_hub_fields_only() {
    let f = rollup_finding(&windows_node(), &FindingPolicy::default(), now()).unwrap();
    let fp = f.compute_fingerprint();
    assert_eq!(f.fingerprint(), Some(fp.as_str()));
    let mut g = f.clone();
    g.updated_at += Duration::days(1);
    g.created_at -= Duration::days(1);
    g.first_observed_at = None;
    g.product_fields
        .insert("aws/securityhub/ProductName".into(), "Default".into());
    g.product_fields
        .insert(fields::FINGERPRINT.into(), "stale".into());
    assert_eq!(g.compute_fingerprint(), fp);
    g.title.push('!');
    assert_ne!(g.compute_fingerprint(), fp);
}

#[test]
fn json_round_trip_is_lossless() {
    for f in findings_for_node(
        &windows(),
        &FindingPolicy::default(),
        now() + Duration::nanoseconds(123_456),
    ) {
        let json = serde_json::to_string(&f).unwrap();
        let back: Finding = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert_eq!(back.compute_fingerprint(), f.fingerprint().unwrap());
    }
    // Offsets are accepted on the way in.
    let mut v = serde_json::to_value(
        rollup_finding(&windows_node(), &FindingPolicy::default(), now()).unwrap(),
    )
    .unwrap();
    v["UpdatedAt"] = "2024-03-01T14:00:00+02:00".into();
    let f: Finding = serde_json::from_value(v).unwrap();
    assert_eq!(f.updated_at, now());
}

fn violations(f: &Finding) -> Vec<String> {
    f.validate()
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.field)
        .collect()
}

#[test]
fn validate_names_each_broken_rule() {
    let good = rollup_finding(&windows_node(), &FindingPolicy::default(), now()).unwrap();
    assert_eq!(good.validate(), Ok(()));
    type Breaker = fn(&mut Finding);
    let cases: Vec<(&str, Breaker)> = vec![
        ("AwsAccountId", |f| f.aws_account_id = "12345678901a".into()),
        ("Title", |f| f.title.clear()),
        ("Title", |f| f.title = "x".repeat(257)),
        ("Description", |f| f.description = "é".repeat(1025)),
        ("Id", |f| f.id = "x".repeat(513)),
        ("SchemaVersion", |f| f.schema_version = "2020".into()),
        ("Region", |f| f.region = Some("x".repeat(17))),
        ("Severity.Normalized", |f| f.severity.normalized = Some(50)),
        ("Severity", |f| {
            f.severity.label = None;
            f.severity.normalized = None;
        }),
        ("Types[0]", |f| f.types = vec!["PATCH".into()]),
        ("Types[0]", |f| {
            f.types = vec!["Bogus/Patch Management".into()]
        }),
        ("Types", |f| f.types = vec!["TTPs/X".into(); 51]),
        ("ProductFields", |f| {
            for i in 0..50 {
                f.product_fields.insert(format!("k{i}"), "v".into());
            }
        }),
        ("ProductFields.k", |f| {
            f.product_fields.insert("k".into(), "v".repeat(2049));
        }),
        ("ProductFields.k", |f| {
            f.product_fields.insert("k".into(), String::new());
        }),
        ("Resources", |f| f.resources.clear()),
        ("Resources", |f| {
            let r = f.resources[0].clone();
            f.resources = vec![r; 33];
        }),
        ("Resources[0].Partition", |f| {
            f.resources[0].partition = Some("mars".into())
        }),
        ("Resources[0].Tags.k", |f| {
            f.resources[0].tags.insert("k".into(), "v".repeat(257));
        }),
        ("Remediation.Recommendation.Text", |f| {
            f.remediation.as_mut().unwrap().recommendation.text = Some("x".repeat(513));
        }),
        ("PatchSummary.Id", |f| {
            f.patch_summary.as_mut().unwrap().id.clear()
        }),
        ("PatchSummary.OperationEndTime", |f| {
            f.patch_summary.as_mut().unwrap().operation_end_time = Some("yesterday".into());
        }),
        ("CreatedAt", |f| {
            f.created_at = f.updated_at + Duration::seconds(1)
        }),
        ("FirstObservedAt", |f| {
            f.first_observed_at = Some(f.last_observed_at.unwrap() + Duration::seconds(1))
        }),
        ("(finding)", |f| {
            // Each field is within its own limit; together they pass 240 KB.
            for i in 0..35 {
                f.product_fields
                    .insert(format!("k{i}"), "\u{1F600}".repeat(2048));
            }
        }),
    ];
    for (field, breaker) in cases {
        let mut f = good.clone();
        breaker(&mut f);
        let got = violations(&f);
        assert!(
            got.iter().any(|g| g == field),
            "expected a violation of {field}, got {got:?}"
        );
    }
}
