//! Harness for the sync tests: a generated fleet in an in-process awsim, SDK configs acting as
//! its accounts, Security Hub enabled, and an oracle of what Security Hub should hold.
#![allow(dead_code)]

use std::collections::BTreeSet;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use awsim::fleet::Fleet;
use awsim::{Awsim, Config, GenerateSpec};
use patchhub_aws::clients::RoleOptions;
use patchhub_aws::fanout::{AccountSource, FanOut, RunReport, run_sync};
use patchhub_aws::quota::{QuotaSettings, Rate};
use patchhub_aws::sync::SyncOptions;
use patchhub_aws::targets::RegionSelection;
use patchhub_core::finding::FindingKind;
use patchhub_core::finding::{GENERATOR_PATCH, GENERATOR_ROLLUP};
use patchhub_core::mapping::finding_id;
use patchhub_core::policy::FindingPolicy;

/// Static key awsim maps to an account.
pub fn key_for(account: &str) -> String {
    format!("AKIATEST{account}")
}

/// Generates the fleet, then starts awsim acting for every account of it through static keys.
pub async fn start(spec: &str, mut config: Config) -> (Awsim, Fleet) {
    let spec: GenerateSpec = spec.parse().expect("spec");
    let fleet = awsim::generate::generate(&spec, chrono::Utc::now());
    for a in &fleet.accounts {
        config.static_keys.insert(key_for(&a.id), a.id.clone());
    }
    let sim = Awsim::start(config).await.expect("awsim starts");
    sim.load_fleet(fleet.clone()).expect("fleet loads");
    (sim, fleet)
}

/// An SDK config signing as `account` in `region`, from the standard loader as production
/// builds it (time source, sleep, retries), with static keys and awsim's endpoint.
pub async fn sdk(sim: &Awsim, account: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(sim.url())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key_for(account),
            "test-secret",
            None,
            None,
            "test",
        )))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5))
        .load()
        .await
}

/// Enables Security Hub in every account and Region of the fleet.
pub async fn enable_hubs(sim: &Awsim, fleet: &Fleet) {
    for a in &fleet.accounts {
        for r in &a.regions {
            aws_sdk_securityhub::Client::new(&sdk(sim, &a.id, r).await)
                .enable_security_hub()
                .send()
                .await
                .expect("enable hub");
        }
    }
}

/// Quotas high enough not to slow tests that are not about quotas.
pub fn fast_quotas() -> QuotaSettings {
    QuotaSettings {
        batch_import: Rate::new(1000.0, 1000.0),
        get_findings: Rate::new(1000.0, 1000.0),
        ssm: Rate::new(1000.0, 1000.0),
    }
}

/// Syncs the caller's account in the given Regions.
pub async fn sync(sim: &Awsim, account: &str, regions: &[&str], opts: SyncOptions) -> RunReport {
    sync_with(
        sim,
        account,
        regions,
        opts,
        AccountSource::Caller,
        None,
        fast_quotas(),
    )
    .await
}

/// Syncs with any fan-out.
pub async fn sync_with(
    sim: &Awsim,
    account: &str,
    regions: &[&str],
    opts: SyncOptions,
    accounts: AccountSource,
    role: Option<&str>,
    quotas: QuotaSettings,
) -> RunReport {
    let base = sdk(sim, account, regions[0]).await;
    let fan = FanOut {
        accounts,
        regions: RegionSelection::List(regions.iter().map(|r| r.to_string()).collect()),
        role: RoleOptions {
            role_name: role.map(str::to_string),
            external_id: None,
            session_name: "patchhub-test".into(),
        },
        concurrency: 8,
        per_account_concurrency: 4,
        quotas,
    };
    run_sync(&base, &fan, &opts, None)
        .await
        .expect("run starts")
}

/// Every patchhub finding in an account and Region, read through the real SDK.
pub async fn findings(
    sim: &Awsim,
    account: &str,
    region: &str,
) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let client = aws_sdk_securityhub::Client::new(&sdk(sim, account, region).await);
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_findings()
            .filters(
                aws_sdk_securityhub::types::AwsSecurityFindingFilters::builder()
                    .generator_id(
                        aws_sdk_securityhub::types::StringFilter::builder()
                            .value("patchhub/")
                            .comparison(aws_sdk_securityhub::types::StringFilterComparison::Prefix)
                            .build(),
                    )
                    .build(),
            )
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .expect("GetFindings");
        out.extend(page.findings().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return out;
        }
    }
}

/// Ids of active findings of a kind.
pub fn active_ids(
    findings: &[aws_sdk_securityhub::types::AwsSecurityFinding],
    generator: &str,
) -> BTreeSet<String> {
    findings
        .iter()
        .filter(|f| f.generator_id() == Some(generator))
        .filter(|f| f.record_state().map(|r| r.as_str()) == Some("ACTIVE"))
        .filter_map(|f| f.id().map(str::to_string))
        .collect()
}

const NON_COMPLIANT: &[&str] = &[
    "MISSING",
    "FAILED",
    "INSTALLED_PENDING_REBOOT",
    "INSTALLED_REJECTED",
];

/// The oracle: per-patch finding ids the default policy must produce for one account and Region,
/// computed from the fleet's patch states (not from patchhub's reader).
pub fn expected_patch_ids(fleet: &Fleet, account: &str, region: &str) -> BTreeSet<String> {
    let a = fleet
        .accounts
        .iter()
        .find(|a| a.id == account)
        .expect("account");
    let mut out = BTreeSet::new();
    for i in a
        .instances
        .iter()
        .filter(|i| i.region == region && i.operation.is_some())
    {
        for p in &i.patches {
            let nc = NON_COMPLIANT.contains(&p.state.as_str())
                || (p.state == "AVAILABLE_SECURITY_UPDATE"
                    && !i.available_security_updates_compliant);
            if nc {
                out.insert(finding_id(
                    "aws",
                    account,
                    region,
                    &i.id,
                    FindingKind::Patch,
                    Some(&p.id),
                ));
            }
        }
    }
    out
}

/// Roll-up ids expected: one per scanned node.
pub fn expected_rollup_ids(fleet: &Fleet, account: &str, region: &str) -> BTreeSet<String> {
    let a = fleet
        .accounts
        .iter()
        .find(|a| a.id == account)
        .expect("account");
    a.instances
        .iter()
        .filter(|i| i.region == region && i.operation.is_some())
        .map(|i| finding_id("aws", account, region, &i.id, FindingKind::Rollup, None))
        .collect()
}

/// Default options.
pub fn opts() -> SyncOptions {
    SyncOptions::new(FindingPolicy::default())
}

/// Active patch and roll-up finding ids, and whether any id is stored twice.
pub async fn active(sim: &Awsim, account: &str, region: &str) -> (BTreeSet<String>, bool) {
    let found = findings(sim, account, region).await;
    let ids: Vec<&str> = found.iter().filter_map(|f| f.id()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    let mut act = active_ids(&found, GENERATOR_PATCH);
    act.extend(active_ids(&found, GENERATOR_ROLLUP));
    (act, ids.len() != unique.len())
}

/// The oracle: every patch and roll-up finding id that should be active.
pub fn truth(fleet: &Fleet, account: &str, region: &str) -> BTreeSet<String> {
    let mut t = expected_patch_ids(fleet, account, region);
    t.extend(expected_rollup_ids(fleet, account, region));
    t
}

/// The node a finding id belongs to (`…/NODE/patch/…` or `…/NODE/rollup`).
pub fn node_of(id: &str) -> Option<&str> {
    id.split('/')
        .find(|p| p.starts_with("i-") || p.starts_with("mi-"))
}

/// Installs every missing patch on every third online non-compliant node of the account in the
/// Region and rescans them through SSM; terminates one other scanned node there.
/// Returns the fleet as it now stands (pass it to [`truth`]).
pub async fn change(sim: &Awsim, account: &str, region: &str) -> Fleet {
    let fleet = sim.export_fleet();
    let ix = fleet
        .accounts
        .iter()
        .position(|a| a.id == account)
        .expect("account");
    let a = &fleet.accounts[ix];
    let candidates: Vec<String> = a
        .instances
        .iter()
        .filter(|i| {
            i.region == region
                && i.operation.is_some()
                && i.ping_status == "Online"
                && i.patches.iter().any(|p| p.state == "MISSING")
        })
        .map(|i| i.id.clone())
        .collect();
    let patched: Vec<String> = candidates.iter().step_by(3).cloned().collect();
    let gone = a
        .instances
        .iter()
        .find(|i| i.region == region && i.operation.is_some() && !patched.contains(&i.id))
        .map(|i| i.id.clone())
        .expect("a node to terminate");
    let mut smaller = fleet.clone();
    smaller.accounts[ix].instances.retain(|i| i.id != gone);
    sim.load_fleet(smaller).unwrap();
    {
        let mut world = sim.sim().world();
        for node in &patched {
            let patches = world
                .region_mut(account, region)
                .ssm
                .true_patches_mut(node)
                .unwrap();
            for p in patches.iter_mut().filter(|p| p.state == "MISSING") {
                p.state = "INSTALLED".into();
                p.installed_time = Some(chrono::Utc::now());
            }
        }
    }
    let ssm = aws_sdk_ssm::Client::new(&sdk(sim, account, region).await);
    for chunk in patched.chunks(50) {
        ssm.send_command()
            .document_name("AWS-RunPatchBaseline")
            .set_instance_ids(Some(chunk.to_vec()))
            .parameters("Operation", vec!["Scan".to_string()])
            .send()
            .await
            .unwrap();
    }
    sim.export_fleet()
}
