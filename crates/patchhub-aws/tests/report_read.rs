//! `patchhub report`'s read side against awsim: a fleet whose answers are known, read from
//! Security Hub after a sync, from SSM directly, and from the Security Hub administrator's
//! aggregated view; each gives the same figures.

use aws_config::SdkConfig;
use chrono::{DateTime, Duration, Utc};
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::fanout::{AccountSource, FanOut};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::report_read::{Collected, ReadSource, collect};
use patchhub_aws::targets::RegionSelection;
use patchhub_core::finding::SeverityLabel;
use patchhub_core::policy::FindingPolicy;
use patchhub_core::report::{self, Report, ReportOptions, ReportSource};
use patchhub_testkit::{loader_at, with_keys};

const A: &str = "111111111111";
const B: &str = "222222222222";
const EU: &str = "eu-west-1";
const US: &str = "us-east-1";
const KB: &str = "KB5031364";

/// | node | where | state |
/// |---|---|---|
/// | a1 | A eu-west-1, Windows | KB5031364 missing (CRITICAL, 2 CVEs) |
/// | a2 | A eu-west-1, Windows | compliant |
/// | a3 | A us-east-1, Ubuntu | openssl missing (HIGH, 1 CVE), kernel pending reboot (MEDIUM) |
/// | b1 | B eu-west-1, Windows | KB5031364 missing (CRITICAL), last scan 10 days ago |
/// | b2 | B eu-west-1, Amazon Linux | compliant, agent ConnectionLost |
/// | b3 | B us-east-1, RHEL | never scanned |
fn fleet(now: DateTime<Utc>) -> awsim::Fleet {
    let recent = now - Duration::hours(1);
    let old = now - Duration::days(10);
    let win = |id: &str, region: &str, name: &str, end: DateTime<Utc>, missing: bool| {
        serde_json::json!({
            "id": id, "region": region, "platform_type": "Windows",
            "platform_name": "Microsoft Windows Server 2022 Datacenter",
            "tags": {"Name": name}, "baseline_id": "pb-0123456789abcdef0",
            "operation": "Scan", "operation_start_time": end - Duration::minutes(5),
            "operation_end_time": end, "execution_id": format!("exec-{id}"),
            "patches": [
                {"id": KB, "title": "2023-10 Cumulative Update", "classification": "SecurityUpdates",
                 "severity": "Critical", "compliance_severity": "CRITICAL",
                 "state": if missing { "MISSING" } else { "INSTALLED" },
                 "cve_ids": ["CVE-2023-36563", "CVE-2023-41763"]},
                {"id": "KB5030000", "title": "Servicing stack", "classification": "Updates",
                 "compliance_severity": "LOW", "state": "INSTALLED"}
            ]
        })
    };
    let json = serde_json::json!({"accounts": [
        {"id": A, "roles": [{"name": "PatchhubRole", "trusted_accounts": [A]}], "regions": [EU, US], "instances": [
            win("i-0a000000000000001", EU, "web-1", recent, true),
            win("i-0a000000000000002", EU, "web-2", recent, false),
            {"id": "i-0a000000000000003", "region": US, "platform_type": "Linux",
             "platform_name": "Ubuntu", "tags": {"Name": "app-1"},
             "baseline_id": "pb-0123456789abcdef1", "operation": "Scan",
             "operation_start_time": recent - Duration::minutes(5),
             "operation_end_time": recent, "execution_id": "exec-a3",
             "patches": [
                {"id": "openssl", "title": "openssl", "classification": "Security",
                 "severity": "Important", "compliance_severity": "HIGH", "state": "MISSING",
                 "cve_ids": ["CVE-2024-0727"]},
                {"id": "linux-image", "title": "kernel", "classification": "Security",
                 "compliance_severity": "MEDIUM", "state": "INSTALLED_PENDING_REBOOT"}
             ]}
        ]},
        {"id": B, "roles": [{"name": "PatchhubRole", "trusted_accounts": [A]}], "regions": [EU, US], "instances": [
            win("i-0b000000000000001", EU, "db-1", old, true),
            {"id": "i-0b000000000000002", "region": EU, "platform_type": "Linux",
             "platform_name": "Amazon Linux", "tags": {"Name": "db-2"},
             "ping_status": "ConnectionLost", "baseline_id": "pb-0123456789abcdef2",
             "operation": "Scan", "operation_start_time": recent - Duration::minutes(5),
             "operation_end_time": recent, "execution_id": "exec-b2",
             "patches": [{"id": "bash", "title": "bash", "classification": "Bugfix",
                          "compliance_severity": "LOW", "state": "INSTALLED"}]},
            {"id": "i-0b000000000000003", "region": US, "platform_type": "Linux",
             "platform_name": "Red Hat Enterprise Linux", "tags": {"Name": "batch-1"},
             "baseline_id": "pb-0123456789abcdef3"}
        ]}
    ]});
    serde_json::from_value(json).expect("fleet")
}

fn fan(accounts: AccountSource, role: Option<&str>, regions: &[&str]) -> FanOut {
    let fast = Rate::new(1000.0, 1000.0);
    FanOut {
        accounts,
        regions: RegionSelection::List(regions.iter().map(|r| r.to_string()).collect()),
        role: RoleOptions {
            role_name: role.map(str::to_string),
            external_id: None,
            session_name: "patchhub-report-test".into(),
        },
        concurrency: 4,
        per_account_concurrency: 4,
        quotas: QuotaSettings {
            batch_import: fast,
            get_findings: fast,
            ssm: fast,
        },
    }
}

/// Runs `body` on worker threads with big stacks (the SDK's finding deserializer needs
/// them in debug builds, as in main).
fn run_big<F: Future<Output = ()> + Send + 'static>(body: F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(32 << 20)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        if let Err(e) = tokio::spawn(body).await {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}

fn both() -> AccountSource {
    AccountSource::List(
        [A, B]
            .map(|id| patchhub_aws::targets::AccountTarget {
                id: id.into(),
                email: None,
            })
            .to_vec(),
    )
}

/// One sync over `everywhere` that must succeed in every account and Region.
async fn sync_all(base: &SdkConfig, everywhere: &FanOut, policy: &FindingPolicy) {
    let sync = patchhub_aws::fanout::run_sync(
        base,
        everywhere,
        &patchhub_aws::sync::SyncOptions::new(policy.clone()),
        None,
    )
    .await
    .unwrap();
    assert!(sync.is_ok(), "{sync:#?}");
}

/// The figures a security lead reads, as one comparable line each.
fn figures(r: &Report) -> Vec<String> {
    let mut out = vec![format!("{:?}", r.totals)];
    out.extend(r.accounts.iter().map(|a| format!("{a:?}")));
    out.extend(r.regions.iter().map(|a| format!("{a:?}")));
    out.extend(r.severities.iter().map(|a| format!("{a:?}")));
    out.extend(
        r.top_patches
            .iter()
            .map(|p| format!("{} {} {}", p.patch_id, p.nodes, p.cves.join(","))),
    );
    out.extend(
        r.stale_nodes
            .iter()
            .map(|s| format!("{} {}", s.node_id, s.reasons.join(","))),
    );
    out.extend(
        r.pending_reboots
            .iter()
            .map(|s| format!("{} {}", s.node_id, s.patches)),
    );
    out.extend(r.platforms.iter().map(|p| format!("{p:?}")));
    out
}

#[test]
fn awsim_fleet_figures_from_security_hub_ssm_and_the_administrator_view() {
    run_big(async {
        let start = Utc::now();
        let sim = awsim::Awsim::start(with_keys(awsim::Config::default(), [A, B]))
            .await
            .unwrap();
        sim.load_fleet(fleet(start)).unwrap();
        let url = sim.url();
        for a in [A, B] {
            for r in [EU, US] {
                aws_sdk_securityhub::Client::new(&loader_at(&url, a, r).load().await)
                    .enable_security_hub()
                    .send()
                    .await
                    .unwrap();
            }
        }
        let base = loader_at(&url, A, EU).load().await;
        // The aggregator comes first, as `patchhub hub` sets it up before any sync: Security Hub
        // aggregates only findings written after it exists.
        aws_sdk_securityhub::Client::new(&base)
            .create_finding_aggregator()
            .region_linking_mode("ALL_REGIONS")
            .send()
            .await
            .unwrap();
        let policy = FindingPolicy::default();
        let everywhere = fan(both(), Some("PatchhubRole"), &[EU, US]);
        sync_all(&base, &everywhere, &policy).await;

        let now = Utc::now();
        let report_of = |c: Collected, source| {
            assert!(c.gaps.is_empty(), "{:?}", c.gaps);
            report::build(&c.findings, &ReportOptions::new(now, source))
        };
        let hub = report_of(
            collect(&base, &everywhere, ReadSource::SecurityHub, &policy, now)
                .await
                .unwrap(),
            ReportSource::SecurityHub,
        );

        // The known answers.
        let t = &hub.totals;
        let c = &t.compliance;
        assert_eq!((t.accounts, t.regions), (2, 2));
        assert_eq!(
            (c.nodes, c.scanned, c.compliant, c.non_compliant),
            (6, 5, 2, 3)
        );
        assert_eq!(c.compliance_rate, Some(0.4));
        assert_eq!(
            (
                c.non_compliant_by_severity.critical,
                c.non_compliant_by_severity.high
            ),
            (2, 1)
        );
        assert_eq!(c.open_findings, 4);
        assert_eq!((c.stale, t.connection_lost, t.pending_reboot), (3, 1, 1));
        assert_eq!((t.missing_patches, t.open_cves), (2, 3));
        assert_eq!(t.resolved_recently, Some(0));
        let per_account: Vec<_> = hub
            .accounts
            .iter()
            .map(|a| {
                (
                    a.account.as_str(),
                    a.compliance.scanned,
                    a.compliance.compliant,
                )
            })
            .collect();
        assert_eq!(per_account, [(A, 3, 1), (B, 2, 1)]);
        let per_region: Vec<_> = hub
            .regions
            .iter()
            .map(|r| (r.region.as_str(), r.compliance.compliance_rate))
            .collect();
        assert_eq!(per_region, [(EU, Some(0.5)), (US, Some(0.0))]);
        let top = &hub.top_patches[0];
        assert_eq!((top.patch_id.as_str(), top.nodes, top.accounts), (KB, 2, 2));
        assert_eq!(top.severity, SeverityLabel::Critical);
        assert_eq!(top.cves, ["CVE-2023-36563", "CVE-2023-41763"]);
        let cves: Vec<_> = hub.cves.iter().map(|c| (c.cve.as_str(), c.nodes)).collect();
        assert_eq!(
            cves,
            [
                ("CVE-2023-36563", 2),
                ("CVE-2023-41763", 2),
                ("CVE-2024-0727", 1)
            ]
        );
        let stale: Vec<_> = hub
            .stale_nodes
            .iter()
            .map(|s| (s.node_id.as_str(), s.reasons.join(",")))
            .collect();
        assert_eq!(
            stale,
            [
                ("i-0b000000000000003", "never-scanned".to_string()),
                ("i-0b000000000000001", "scan-too-old".to_string()),
                ("i-0b000000000000002", "connection-lost".to_string()),
            ]
        );
        assert_eq!(hub.stale_nodes[1].days_since_scan, Some(10));
        assert_eq!(hub.pending_reboots[0].node_id, "i-0a000000000000003");
        assert!(hub.pending_reboots[0].node_name.is_some());
        let oldest = &hub.oldest_findings[0];
        assert_eq!(
            (oldest.node_id.as_str(), oldest.age_days),
            ("i-0b000000000000001", 10)
        );

        // SSM read directly gives the same figures (it keeps no resolved history).
        let ssm = report_of(
            collect(&base, &everywhere, ReadSource::Ssm, &policy, now)
                .await
                .unwrap(),
            ReportSource::Ssm,
        );
        assert_eq!(ssm.totals.resolved_recently, None);
        let mut ssm_totals = ssm.totals.clone();
        ssm_totals.resolved_recently = Some(0);
        assert_eq!(ssm_totals, hub.totals);
        assert_eq!(figures(&ssm)[1..], figures(&hub)[1..]);

        // A becomes B's Security Hub administrator in both Regions and aggregates us-east-1
        // into eu-west-1: one read, in one Region, with A's own credentials, sees it all.
        for r in [EU, US] {
            let admin = aws_sdk_securityhub::Client::new(&loader_at(&url, A, r).load().await);
            let member = aws_sdk_securityhub::Client::new(&loader_at(&url, B, r).load().await);
            admin
                .create_members()
                .account_details(
                    aws_sdk_securityhub::types::AccountDetails::builder()
                        .account_id(B)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            admin.invite_members().account_ids(B).send().await.unwrap();
            let inv = member.list_invitations().send().await.unwrap();
            let id = inv.invitations()[0].invitation_id().unwrap().to_string();
            member
                .accept_administrator_invitation()
                .administrator_id(A)
                .invitation_id(id)
                .send()
                .await
                .unwrap();
        }
        // The administrator's own view: its account, the aggregation Region.
        let admin_view = fan(AccountSource::Caller, None, &[EU]);
        let admin = report_of(
            collect(&base, &admin_view, ReadSource::SecurityHub, &policy, now)
                .await
                .unwrap(),
            ReportSource::SecurityHub,
        );
        assert_eq!(
            admin, hub,
            "the administrator's one read sees the whole fleet"
        );
        // Entering every account as well reads findings twice; each counts once.
        let twice = report_of(
            collect(&base, &everywhere, ReadSource::SecurityHub, &policy, now)
                .await
                .unwrap(),
            ReportSource::SecurityHub,
        );
        assert_eq!(twice, hub);

        // b1 gets patched and rescanned; the next sync resolves its KB finding, and the
        // report shows it as resolved and the KB on one node only.
        let ssm_b = aws_sdk_ssm::Client::new(&loader_at(&url, B, EU).load().await);
        for op in ["Install", "Scan"] {
            ssm_b
                .send_command()
                .document_name("AWS-RunPatchBaseline")
                .instance_ids("i-0b000000000000001")
                .parameters("Operation", vec![op.to_string()])
                .send()
                .await
                .unwrap();
        }
        sync_all(&base, &everywhere, &policy).await;
        let later = Utc::now();
        let after = report::build(
            &collect(&base, &admin_view, ReadSource::SecurityHub, &policy, later)
                .await
                .unwrap()
                .findings,
            &ReportOptions::new(later, ReportSource::SecurityHub),
        );
        assert_eq!(after.totals.resolved_recently, Some(1));
        assert_eq!(after.top_patches[0].nodes, 1);
        assert_eq!(after.totals.compliance.compliant, 3);
        assert_eq!(after.totals.compliance.compliance_rate, Some(0.6));
        // Per account: A has 1 of 3 scanned nodes compliant, B both of its 2 (rates to 4 places).
        let rates: Vec<_> = after
            .accounts
            .iter()
            .map(|a| {
                (
                    a.compliance.compliant,
                    a.compliance.scanned,
                    a.compliance.compliance_rate,
                )
            })
            .collect();
        assert_eq!(rates, [(1, 3, Some(0.3333)), (2, 2, Some(1.0))]);
    });
}
