//! The same scenarios as `tests/sync.rs`, against a real AWS account. Not run in CI; see
//! docs/REAL-AWS.md. Compiled only with `--features real-aws-tests`:
//!
//! ```text
//! PATCHHUB_REAL_ACCOUNT=111111111111 PATCHHUB_REAL_REGION=eu-west-1 AWS_PROFILE=sandbox \
//!   cargo test -p patchhub-aws --features real-aws-tests --test real_aws -- --test-threads 1
//! ```
//!
//! It needs an account where Security Hub is enabled and at least one managed node has been
//! scanned by AWS-RunPatchBaseline. It writes patchhub findings there and, at the end, archives
//! every patchhub finding of that account and Region: use a sandbox account.
#![cfg(feature = "real-aws-tests")]

use std::collections::BTreeSet;

use patchhub_aws::clients::{self, AwsOptions, RoleOptions};
use patchhub_aws::fanout::{AccountSource, FanOut, run_sync};
use patchhub_aws::quota::QuotaSettings;
use patchhub_aws::sink::{FindingQuery, FindingSink, SecurityHubSink};
use patchhub_aws::source::ComplianceSource;
use patchhub_aws::sync::SyncOptions;
use patchhub_aws::target::Target;
use patchhub_aws::targets::RegionSelection;
use patchhub_core::finding::{self, FindingKind};
use patchhub_core::policy::FindingPolicy;

struct Real {
    base: aws_config::SdkConfig,
    account: String,
    region: String,
    session: patchhub_aws::clients::AccountSession,
}

async fn real() -> Real {
    let need =
        |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("set {k} (see docs/REAL-AWS.md)"));
    let (account, region) = (need("PATCHHUB_REAL_ACCOUNT"), need("PATCHHUB_REAL_REGION"));
    let opts = AwsOptions {
        region: Some(region.clone()),
        max_attempts: 5,
        ..AwsOptions::default()
    };
    let base = clients::load_base(&opts)
        .await
        .expect("credentials from the standard chain");
    let me = clients::base_session(&base)
        .await
        .expect("GetCallerIdentity");
    let session = match std::env::var("PATCHHUB_REAL_ROLE") {
        Ok(role) => clients::assume_into(
            &base,
            &me,
            &account,
            &RoleOptions {
                role_name: Some(role),
                external_id: std::env::var("PATCHHUB_REAL_EXTERNAL_ID").ok(),
                session_name: "patchhub-real-test".into(),
            },
        )
        .await
        .expect("assume the test role"),
        Err(_) => me,
    };
    // Guard: never write into an account other than the one named.
    assert_eq!(
        session.account_id, account,
        "credentials are for another account than PATCHHUB_REAL_ACCOUNT"
    );
    Real {
        base: session.config.clone(),
        account,
        region,
        session,
    }
}

fn fan(r: &Real) -> FanOut {
    FanOut {
        accounts: AccountSource::Caller,
        regions: RegionSelection::List(vec![r.region.clone()]),
        role: RoleOptions {
            session_name: "patchhub-real-test".into(),
            ..RoleOptions::default()
        },
        concurrency: 1,
        per_account_concurrency: 1,
        quotas: QuotaSettings::default(),
    }
}

fn target(r: &Real) -> Target {
    Target::new(&r.session, &r.region, QuotaSettings::default())
}

fn sink(r: &Real) -> SecurityHubSink {
    target(r).hub()
}

#[tokio::test]
async fn sweep_matches_ssm_then_resync_is_free_then_cleanup() {
    let r = real().await;
    let opts = SyncOptions::new(FindingPolicy::default());
    let first = run_sync(&r.base, &fan(&r), &opts, None)
        .await
        .expect("sync runs");
    assert!(first.is_ok(), "{first:#?}");

    // Oracle: SSM's own view of non-compliant patches, read node by node.
    let ssm = target(r).ssm();
    let mut expected = BTreeSet::new();
    for mut node in ssm.list_all_nodes(&[]).await.expect("list nodes") {
        if node.last_operation.is_none() {
            continue;
        }
        for p in ssm.node_patches(&mut node).await.expect("node patches") {
            if p.state
                .is_non_compliant(node.available_security_updates_compliant)
            {
                expected.insert(patchhub_core::mapping::finding_id(
                    &r.session.partition,
                    &r.account,
                    &r.region,
                    &node.instance_id,
                    FindingKind::Patch,
                    Some(&p.id),
                ));
            }
        }
    }
    let all = sink(&r)
        .read(&FindingQuery {
            generators: vec![finding::GENERATOR_PATCH.into()],
            nodes: None,
        })
        .await
        .expect("read back");
    let active: BTreeSet<String> = all
        .iter()
        .filter(|f| f.is_active())
        .map(|f| f.id.clone())
        .collect();
    assert_eq!(
        active, expected,
        "Security Hub holds exactly SSM's non-compliant patches"
    );

    // Nothing changed: nothing imported.
    let second = run_sync(&r.base, &fan(&r), &opts, None)
        .await
        .expect("sync runs");
    let t = &second.targets[0];
    assert!(second.is_ok());
    assert_eq!((t.created, t.updated, t.resolved), (0, 0, 0), "{t:#?}");

    // Clean up with patchhub's own uninstall step: archive every patchhub finding of this
    // account and Region, from inside the account.
    let cleaned = patchhub_aws::hub::cleanup(&r.base, &fan(&r))
        .await
        .expect("cleanup runs");
    assert!(cleaned.is_ok(), "{:#?}", cleaned.actions);
}
