//! `patchhub demo`: the whole job on an embedded AWS. It starts awsim in-process with a generated
//! organization and the published quotas, then runs exactly what a real deployment runs — only
//! the endpoint differs: the patch scan, Security Hub enablement, an organization-wide sync
//! through AssumeRole, patching part of the fleet, a second sync that resolves what was fixed,
//! and, twenty simulated days later, a sync that marks the patches past their deadlines.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use clap::Args;
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::deadlines::{Deadlines, deadlines_from_settings};
use patchhub_aws::fanout::{AccountSource, FanOut, RunReport, run_sync};
use patchhub_aws::quota::QuotaSettings;
use patchhub_aws::scan::{Operation, run_patch_baseline};
use patchhub_aws::settings::{PolicySettings, Setting};
use patchhub_aws::sink::{FindingQuery, FindingSink};
use patchhub_aws::sync::SyncOptions;
use patchhub_aws::target::Target;
use patchhub_aws::targets::RegionSelection;
use patchhub_core::policy::FindingPolicy;

use crate::error::Failure;
use crate::output::{self, Output};
use crate::report::{RenderOptions, ReportFormat, write_report};

/// `patchhub demo` flags.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Accounts in the generated organization.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub accounts: u16,
    /// Regions per account.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=8))]
    pub regions: u16,
    /// Managed nodes per account and Region.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub instances: u32,
    /// Seed of the generated fleet.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Where to write the findings (findings.jsonl) and the report (report.html).
    #[arg(long, default_value = "patchhub-demo")]
    pub out: PathBuf,
}

const ROLE: &str = "PatchhubRole";
/// The demo's deadlines per severity.
const DEMO_SLA: &str = "critical=15d,high=30d,medium=90d";
/// The demo's catalog entries are due this many days after the demo starts.
const KEV_DUE_DAYS: i64 = 10;
/// How far the demo moves its clock before the last sync.
const LATER_DAYS: i64 = 20;
const DEMO_KEY: &str = "AKIADEMOMANAGEMENT01";

async fn sdk(url: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(
            DEMO_KEY,
            "demo-secret",
            None,
            None,
            "patchhub-demo",
        ))
        .load()
        .await
}

fn say(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("{msg}");
    }
}

/// Runs the demo.
pub async fn run(args: DemoArgs, quiet: bool) -> Result<(), Failure> {
    let started = Instant::now();
    let spec: awsim::GenerateSpec = format!(
        "accounts={},regions={},instances={},patches=40,seed={}",
        args.accounts, args.regions, args.instances, args.seed
    )
    .parse()
    .map_err(Failure::usage)?;
    let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
    let mgmt = fleet.accounts[0].id.clone();
    let regions = fleet.accounts[0].regions.clone();
    let nodes: usize = fleet.accounts.iter().map(|a| a.instances.len()).sum();

    let mut config = awsim::Config {
        quotas: awsim::quota::QuotaConfig::aws(),
        seed: args.seed,
        ..awsim::Config::default()
    };
    config.static_keys.insert(DEMO_KEY.into(), mgmt.clone());
    let sim = awsim::Awsim::start(config)
        .await
        .map_err(|e| Failure::usage(format!("cannot start the embedded AWS: {e:#}")))?;
    sim.load_fleet(fleet.clone())
        .map_err(|e| Failure::usage(e.to_string()))?;
    let url = sim.url();
    say(
        quiet,
        &format!(
            "patchhub demo: embedded AWS at {url} (awsim, published Security Hub quotas): organization {} with {} accounts x {} Regions, {nodes} managed nodes",
            fleet
                .organization
                .as_ref()
                .map(|o| o.id.as_str())
                .unwrap_or("-"),
            fleet.accounts.len(),
            regions.len()
        ),
    );

    let base = sdk(&url, &regions[0]).await;
    let me = patchhub_aws::clients::base_session(&base)
        .await
        .map_err(|e| Failure::usage(e.to_string()))?;
    let role = RoleOptions {
        role_name: Some(ROLE.into()),
        external_id: None,
        session_name: "patchhub-demo".into(),
    };
    let targets = enter(&base, &me, &fleet, &regions, &role).await?;

    // 1. The maintenance window's first task: AWS-RunPatchBaseline Scan on every node.
    say(
        quiet,
        "\n1. Patch scan (AWS-RunPatchBaseline, Operation=Scan) on every node",
    );
    scan(&targets, &fleet, Operation::Scan, |_| true).await?;

    // 2. Security Hub on everywhere, one delegated administrator, findings aggregated to the
    //    home Region: `patchhub hub enable --mode organization`, from the management account.
    let admin = fleet
        .accounts
        .get(1)
        .unwrap_or(&fleet.accounts[0])
        .id
        .clone();
    say(
        quiet,
        &format!(
            "2. patchhub hub enable --mode organization --admin-account {admin} --home-region {}",
            regions[0]
        ),
    );
    let mut plan =
        patchhub_aws::hub::EnablePlan::new(patchhub_aws::hub::Mode::Organization, regions.clone());
    plan.admin_account = Some(admin.clone());
    plan.home_region = Some(regions[0].clone());
    plan.role = role.clone();
    let hub = patchhub_aws::hub::enable(&base, &plan)
        .await
        .map_err(|e| Failure::partial(e.to_string()))?;
    if !hub.is_ok() {
        let failed: Vec<String> = hub
            .with(patchhub_aws::hub::Outcome::Failed)
            .map(|a| format!("{} {}: {}", a.account, a.region, a.detail))
            .collect();
        return Err(Failure::partial(format!(
            "hub enable did not finish: {}",
            failed.join("; ")
        )));
    }
    say(
        quiet,
        &format!(
            "   {} changes made, {} already in place",
            hub.changed(),
            hub.count(patchhub_aws::hub::Outcome::Already)
        ),
    );

    let fan = FanOut {
        accounts: AccountSource::Organization { ou: None },
        regions: RegionSelection::List(regions.clone()),
        role: role.clone(),
        concurrency: 8,
        per_account_concurrency: 4,
        quotas: QuotaSettings::default(),
    };

    // 2b. `patchhub doctor` before the first sync, with one member's role not trusting the
    //     management account (a common first-run mistake), so the check shows what a ✗ looks like.
    if let Some(member) = fleet.accounts.get(1..).and_then(<[_]>::last) {
        let healthy = sim.export_fleet();
        let mut broken = healthy.clone();
        for a in broken.accounts.iter_mut().filter(|a| a.id == member.id) {
            for r in a.roles.iter_mut().filter(|r| r.name == ROLE) {
                r.trusted_accounts = vec![member.id.clone()];
            }
        }
        sim.load_fleet(broken)
            .map_err(|e| Failure::usage(e.to_string()))?;
        say(
            quiet,
            &format!(
                "2b. patchhub doctor --organization --role-name {ROLE} --regions {} (account {}'s role does not trust the management account yet, on purpose)",
                regions.join(","),
                member.id
            ),
        );
        let report = patchhub_aws::doctor::doctor(&base, &fan).await;
        if !quiet {
            output::print_doctor_report(&report, output::HubOutput::Table);
        }
        sim.load_fleet(healthy)
            .map_err(|e| Failure::usage(e.to_string()))?;
        say(
            quiet,
            "   (the demo now gives that role its trust back, as the fix says, and goes on)\n",
        );
    }

    // 3. The organization-wide sync, through AssumeRole, exactly as `patchhub sync --organization`,
    // with deadlines: an SLA per severity and a small KEV catalog of the fleet's own CVEs.
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::usage(format!("--out {}: {e}", args.out.display())))?;
    let mut opts = SyncOptions::new(FindingPolicy::default());
    opts.deadlines = Arc::new(demo_deadlines(&fleet, &args.out)?);
    let mut sync = DemoSync {
        base: &base,
        fan,
        opts,
        quiet,
    };
    let first = sync
        .run("3. patchhub sync --organization --role-name PatchhubRole (first sync)")
        .await?;
    print_report(&first, quiet);

    // 4. Patch a quarter of the non-compliant nodes, then the next scan.
    say(
        quiet,
        "\n4. Patching a quarter of the non-compliant nodes (Install, RebootIfNeeded), then scanning again",
    );
    let mut n = 0usize;
    scan(&targets, &fleet, Operation::Install, |i| {
        let pick = i.patches.iter().any(|p| p.state == "MISSING") && n.is_multiple_of(4);
        n += 1;
        pick
    })
    .await?;
    scan(&targets, &fleet, Operation::Scan, |_| true).await?;

    let second = sync
        .run("5. patchhub sync again: fixed patches are resolved, the rest is left alone")
        .await?;
    print_report(&second, quiet);

    let third = sync
        .run("6. patchhub sync once more: nothing changed, nothing is imported")
        .await?;
    let t = third.total();
    say(
        quiet,
        &format!(
            "   {} nodes read, {} findings imported (ingestion events)",
            t.nodes_read,
            t.ingestion_events()
        ),
    );

    // 7. Time passes: twenty days on, in the embedded AWS and for the deadlines alike. The
    // sessions entered at the start have expired by the emulated clock: enter again.
    let later = chrono::Utc::now() + chrono::Duration::days(LATER_DAYS);
    sim.advance_clock(chrono::Duration::days(LATER_DAYS));
    let targets = enter(&base, &me, &fleet, &regions, &role).await?;
    let mut deadlines = (*sync.opts.deadlines).clone();
    deadlines.as_of = Some(later);
    sync.opts.deadlines = Arc::new(deadlines);
    let fourth = sync
        .run(&format!(
            "\n7. {LATER_DAYS} days later: patchhub sync --sla {DEMO_SLA} --kev {} --as-of {}",
            args.out.join("kev.json").display(),
            later.format("%Y-%m-%dT%H:%M:%SZ")
        ))
        .await?;
    let t4 = fourth.total();
    say(
        quiet,
        &format!(
            "   {} nodes judged again: {} findings updated (patches past their deadline, and the nodes' roll-ups), {} ingestion events",
            t4.nodes_changed,
            t4.updated,
            t4.ingestion_events()
        ),
    );

    // Findings as Security Hub holds them, one JSON object per line.
    let path = args.out.join("findings.jsonl");
    let mut file = std::fs::File::create(&path)
        .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    let mut written = 0usize;
    let mut all = Vec::new();
    let query = FindingQuery::all_patchhub();
    for t in &targets {
        for f in t
            .hub()
            .read(&query)
            .await
            .map_err(|e| Failure::partial(e.to_string()))?
        {
            let line = serde_json::to_string(&f).unwrap_or_default();
            writeln!(file, "{line}")
                .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
            written += 1;
            all.push(f);
        }
    }
    let html = args.out.join("report.html");
    let mut page = std::fs::File::create(&html)
        .map_err(|e| Failure::usage(format!("{}: {e}", html.display())))?;
    let opts = RenderOptions::new(ReportFormat::Html);
    write_report(&all, &opts, &mut page, later)
        .map_err(|e| Failure::usage(format!("{}: {e}", html.display())))?;
    let stats = sim.stats();
    let mut throttled: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for row in stats.calls.iter().filter(|r| r.counts.throttled > 0) {
        *throttled.entry(row.operation.as_str()).or_default() += row.counts.throttled;
    }
    if !throttled.is_empty() {
        say(
            quiet,
            &format!("throttled by the emulated AWS quotas (retried): {throttled:?}"),
        );
    }
    say(
        quiet,
        &format!(
            "\nDone in {:.1} s: {} AWS calls, {} throttled, {} ingestion events in all.\n{written} findings written to {}; the report is {}",
            started.elapsed().as_secs_f64(),
            stats.total_calls(),
            stats.total_throttled(),
            stats.ingestion_events(),
            path.display(),
            html.display()
        ),
    );
    if !(first.is_ok() && second.is_ok() && third.is_ok() && fourth.is_ok()) {
        return Err(Failure::partial(
            "the demo's syncs did not write everything (see above)",
        ));
    }
    if t.ingestion_events() != 0 {
        return Err(Failure::partial(
            "the unchanged re-sync imported findings: incremental sync is broken",
        ));
    }
    Ok(())
}

/// Every account of the fleet entered through the role, as one target per Region.
async fn enter(
    base: &SdkConfig,
    me: &patchhub_aws::clients::AccountSession,
    fleet: &awsim::Fleet,
    regions: &[String],
    role: &RoleOptions,
) -> Result<Vec<Target>, Failure> {
    let mut targets = Vec::new();
    for a in &fleet.accounts {
        let s = patchhub_aws::clients::assume_into(base, me, &a.id, role)
            .await
            .map_err(|e| Failure::partial(e.to_string()))?;
        targets.extend(
            regions
                .iter()
                .map(|r| Target::new(&s, r, QuotaSettings::default())),
        );
    }
    Ok(targets)
}

/// The demo's deadlines: [`DEMO_SLA`], and a catalog in CISA's format at `out/kev.json` that
/// lists three CVEs of missing patches in the fleet, due in [`KEV_DUE_DAYS`] days.
fn demo_deadlines(fleet: &awsim::Fleet, out: &std::path::Path) -> Result<Deadlines, Failure> {
    let mut cves: Vec<&str> = fleet
        .accounts
        .iter()
        .flat_map(|a| &a.instances)
        .flat_map(|i| &i.patches)
        .filter(|p| p.state == "MISSING")
        .flat_map(|p| p.cve_ids.iter().map(String::as_str))
        .collect();
    cves.sort_unstable();
    cves.dedup();
    let now = chrono::Utc::now();
    let due = (now + chrono::Duration::days(KEV_DUE_DAYS)).format("%Y-%m-%d");
    let entries: Vec<serde_json::Value> = cves
        .iter()
        .take(3)
        .map(|c| {
            serde_json::json!({
                "cveID": c, "vendorProject": "demo", "product": "demo",
                "vulnerabilityName": format!("{c} (demo entry)"),
                "dateAdded": now.format("%Y-%m-%d").to_string(),
                "shortDescription": "An entry of the demo's own catalog.",
                "requiredAction": "Apply updates per vendor instructions.",
                "dueDate": due.to_string(), "knownRansomwareCampaignUse": "Unknown", "notes": ""
            })
        })
        .collect();
    let catalog = serde_json::json!({
        "title": "CISA Catalog of Known Exploited Vulnerabilities (patchhub demo subset)",
        "catalogVersion": now.format("%Y.%m.%d").to_string(),
        "dateReleased": now.to_rfc3339(),
        "count": entries.len(),
        "vulnerabilities": entries,
    });
    let path = out.join("kev.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&catalog).unwrap_or_default(),
    )
    .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    let settings = PolicySettings {
        sla: Some(DEMO_SLA.into()),
        kev: Some(path.display().to_string()),
        ..PolicySettings::default()
    };
    deadlines_from_settings(&settings, Setting::flag, now)
        .map_err(|errors| Failure::usage(errors.join("; ")))
}

/// The demo's organization-wide sync, as `patchhub sync --organization` runs it.
struct DemoSync<'a> {
    base: &'a SdkConfig,
    fan: FanOut,
    opts: SyncOptions,
    quiet: bool,
}

impl DemoSync<'_> {
    /// Says `step`, then syncs.
    async fn run(&self, step: &str) -> Result<RunReport, Failure> {
        say(self.quiet, step);
        run_sync(self.base, &self.fan, &self.opts, None)
            .await
            .map_err(|e| Failure::partial(e.to_string()))
    }
}

fn print_report(report: &RunReport, quiet: bool) {
    if !quiet {
        output::print_report(report, Output::Table, false);
    }
}

/// Runs `AWS-RunPatchBaseline` on the chosen online nodes of every target, as a maintenance
/// window's scan task would.
async fn scan(
    targets: &[Target],
    fleet: &awsim::Fleet,
    operation: Operation,
    mut choose: impl FnMut(&awsim::fleet::InstanceSpec) -> bool,
) -> Result<(), Failure> {
    for t in targets {
        let Some(account) = fleet.accounts.iter().find(|a| a.id == t.account()) else {
            continue;
        };
        let ids: Vec<String> = account
            .instances
            .iter()
            .filter(|i| i.region == t.region() && i.ping_status == "Online")
            .filter(|i| choose(i))
            .map(|i| i.id.clone())
            .collect();
        run_patch_baseline(t, &ids, operation)
            .await
            .map_err(|e| Failure::partial(e.to_string()))?;
    }
    Ok(())
}
