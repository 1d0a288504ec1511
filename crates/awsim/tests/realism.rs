//! awsim as unkind as AWS by default: each test names the AWS behaviour it holds awsim to and
//! where that behaviour is documented.

mod common;

use awsim::fleet::{Fleet, STOPPED};
use awsim::{Awsim, Config};
use common::{all_items, all_pages, start_generated};
use patchhub_testkit::{sdk, start};

fn management(fleet: &Fleet) -> String {
    fleet
        .organization
        .as_ref()
        .unwrap()
        .management_account
        .clone()
}

/// An Organizations client acting as the fleet's management account.
async fn management_org(sim: &Awsim, fleet: &Fleet) -> aws_sdk_organizations::Client {
    aws_sdk_organizations::Client::new(&sdk(sim, &management(fleet), "us-east-1").await)
}

/// Source: the doc comment of `Account::status` in aws-sdk-organizations ("This field is
/// deprecated … after September 9, 2026 … use State"), model path
/// `aws-sdk-organizations/src/types/_account.rs`; `AccountState` is
/// `ACTIVE | SUSPENDED | PENDING_CLOSURE | CLOSED`.
#[tokio::test]
async fn organizations_sends_state_only_and_generates_suspended_and_closed_accounts() {
    let (sim, fleet) =
        start_generated("accounts=3,regions=1,instances=2,patches=3,suspended=1,closed=2").await;
    assert_eq!(fleet.accounts.len(), 6, "3 active + 1 suspended + 2 closed");
    for a in fleet.accounts.iter().filter(|a| a.status != "ACTIVE") {
        assert!(a.roles.is_empty(), "no role to assume in {}", a.status);
        assert!(a.instances.is_empty());
    }
    let org = management_org(&sim, &fleet).await;
    let accounts: Vec<_> = all_pages!(org.list_accounts())
        .into_iter()
        .flat_map(|p| p.accounts.unwrap_or_default())
        .collect();
    assert_eq!(accounts.len(), 6);
    assert!(
        accounts.iter().all(|a| a.status().is_none()),
        "Status is retired"
    );
    let count = |s: &str| {
        accounts
            .iter()
            .filter(|a| a.state().map(|x| x.as_str()) == Some(s))
            .count()
    };
    assert_eq!(
        (count("ACTIVE"), count("SUSPENDED"), count("CLOSED")),
        (3, 1, 2)
    );
}

/// Source: Organizations API reference, ListAccounts, `NextToken`: "you should check NextToken
/// after every operation to ensure that you receive all of the results", and the same for every
/// Organizations list call (empty pages with a token are allowed).
#[tokio::test]
async fn the_first_account_page_is_empty_but_carries_a_token() {
    let (sim, fleet) = start_generated("accounts=2,regions=1,instances=1,patches=1").await;
    let org = management_org(&sim, &fleet).await;
    let first = org.list_accounts().send().await.unwrap();
    assert!(first.accounts().is_empty());
    let token = first.next_token().expect("a token on the empty page");
    let second = org.list_accounts().next_token(token).send().await.unwrap();
    assert_eq!(second.accounts().len(), 2);
    assert!(second.next_token().is_none());

    // Named leniency: a test that wants the old, kinder paging says so.
    let mut config = Config::default();
    config.leniency.no_empty_org_pages = true;
    config.leniency.org_account_status = true;
    let (sim, fleet) = start("accounts=2,regions=1,instances=1,patches=1", config).await;
    let org = management_org(&sim, &fleet).await;
    let first = org.list_accounts().send().await.unwrap();
    assert_eq!(first.accounts().len(), 2);
    assert!(first.accounts().iter().all(|a| a.status().is_some()));
}

/// Source: Security Hub user guide, "Designating a Security Hub delegated administrator": the
/// delegated administrator is an Organizations delegated administrator for Security Hub, and
/// Organizations lets delegated administrators call its read-only `List*`/`Describe*` actions
/// (Organizations user guide, "Delegated administrator for AWS Organizations").
#[tokio::test]
async fn the_security_hub_delegated_administrator_may_list_accounts() {
    let (sim, fleet) = start_generated("accounts=3,regions=1,instances=1,patches=1").await;
    let mgmt = management(&fleet);
    let admin = fleet.accounts[1].id.clone();
    let other = fleet.accounts[2].id.clone();
    let list = |account: String| {
        let sim = &sim;
        async move {
            aws_sdk_organizations::Client::new(&sdk(sim, &account, "us-east-1").await)
                .list_accounts()
                .into_paginator()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map(|pages| {
                    pages
                        .into_iter()
                        .flat_map(|p| p.accounts.unwrap_or_default())
                        .collect::<Vec<_>>()
                })
        }
    };
    // Before the designation, a member may not list.
    let err = list(admin.clone()).await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDeniedException")
    );
    for account in [&mgmt, &admin] {
        aws_sdk_securityhub::Client::new(&sdk(&sim, account, "us-east-1").await)
            .enable_security_hub()
            .send()
            .await
            .unwrap();
    }
    aws_sdk_securityhub::Client::new(&sdk(&sim, &mgmt, "us-east-1").await)
        .enable_organization_admin_account()
        .admin_account_id(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(list(admin).await.unwrap().len(), 3);
    let err = list(other).await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("AccessDeniedException")
    );
}

/// Source: SSM API reference, DescribeInstanceInformation ("… stopped or terminated instances
/// are not returned" in the instance information list), and the Patch Manager user guide: a
/// node's compliance data stays until the next scan overwrites it. The generator's `stopped=PCT`
/// stops that percentage of each account's nodes per Region.
#[tokio::test]
async fn stopped_nodes_leave_instance_information_but_keep_their_compliance() {
    let (sim, fleet) =
        start_generated("accounts=1,regions=1,instances=20,patches=5,stopped=25").await;
    let account = &fleet.accounts[0];
    let stopped: Vec<&str> = account
        .instances
        .iter()
        .filter(|i| i.ping_status == STOPPED)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(stopped.len(), 5, "25% of 20");
    let ssm = aws_sdk_ssm::Client::new(&sdk(&sim, &account.id, "us-east-1").await);
    let listed: Vec<String> = all_items!(ssm.describe_instance_information())
        .into_iter()
        .filter_map(|i| i.instance_id)
        .collect();
    assert_eq!(listed.len(), 15);
    assert!(stopped.iter().all(|s| !listed.iter().any(|l| l == s)));
    // DescribeInstanceProperties lists the same nodes (SSM API reference; unverified for
    // stopped EC2 instances, see docs/FIDELITY.md).
    let properties: Vec<String> = all_items!(ssm.describe_instance_properties())
        .into_iter()
        .filter_map(|i| i.instance_id)
        .collect();
    assert_eq!(properties, listed);
    let summaries: Vec<String> = all_items!(ssm.list_resource_compliance_summaries())
        .into_iter()
        .filter_map(|s| s.resource_id)
        .collect();
    let scanned_stopped: Vec<&&str> = stopped
        .iter()
        .filter(|s| {
            account
                .instances
                .iter()
                .any(|i| i.id == **s && i.operation.is_some())
        })
        .collect();
    assert!(!scanned_stopped.is_empty());
    for s in &scanned_stopped {
        assert!(summaries.iter().any(|x| x == **s), "{s} keeps its summary");
    }
    let states = ssm
        .describe_instance_patch_states()
        .set_instance_ids(Some(
            scanned_stopped.iter().map(|s| s.to_string()).collect(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(states.instance_patch_states().len(), scanned_stopped.len());

    // Terminated (the fleet reloaded without the node): both views lose it.
    let mut fleet2 = sim.export_fleet();
    let gone = scanned_stopped[0].to_string();
    fleet2.accounts[0].instances.retain(|i| i.id != gone);
    sim.load_fleet(fleet2).unwrap();
    let summaries = all_items!(ssm.list_resource_compliance_summaries());
    assert!(
        summaries
            .iter()
            .all(|s| s.resource_id.as_deref() != Some(&gone))
    );
}

/// A minimal finding of `account`'s default product in us-east-1, as a third party writes it.
fn third_party_finding(
    account: &str,
    id: &str,
    types: &str,
) -> aws_sdk_securityhub::types::builders::AwsSecurityFindingBuilder {
    use aws_sdk_securityhub::types::{AwsSecurityFinding, Severity, SeverityLabel};
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(format!(
            "arn:aws:securityhub:us-east-1:{account}:product/{account}/default"
        ))
        .generator_id("blog-sample")
        .aws_account_id(account)
        .types(types)
        .created_at(&now)
        .updated_at(&now)
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .title("Missing patch")
        .description("A patch is missing")
}

/// An account of a one-account generated fleet, with Security Hub on, and its client.
async fn hub_of(spec: &str) -> (awsim::Awsim, Fleet, String, aws_sdk_securityhub::Client) {
    let (sim, fleet) = start_generated(spec).await;
    let account = fleet.accounts[0].id.clone();
    let hub = aws_sdk_securityhub::Client::new(&sdk(&sim, &account, "us-east-1").await);
    hub.enable_security_hub().send().await.unwrap();
    (sim, fleet, account, hub)
}

/// Source: the service's InvalidInput message for `Types`, quoted in prowler issue #2519
/// ("should match pattern ^([^/]+)(/[^/]+){0,2}$"), and the 2020 Patch Manager blog sample that
/// sends `Types: ["PATCH"]`: a type outside the documented namespaces lands; four parts do not.
#[tokio::test]
async fn a_third_party_patch_type_imports() {
    use aws_sdk_securityhub::types::Resource;
    let (_sim, _, account, hub) = hub_of("accounts=1,regions=1,instances=1,patches=1").await;
    let finding = |id: &str, types: &str| {
        third_party_finding(&account, id, types)
            .resources(Resource::builder().r#type("Other").id("i-01234567").build())
            .build()
    };
    let out = hub
        .batch_import_findings()
        .findings(finding("patch", "PATCH"))
        .findings(finding("four-parts", "a/b/c/d"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.success_count(), Some(1));
    assert_eq!(out.failed_findings().len(), 1);
    assert_eq!(out.failed_findings()[0].id(), Some("four-parts"));
}

/// Sources: EC2 user guide, "Tag restrictions" ("Although EC2 allows for any character in its
/// tags, other AWS services are more restrictive"); Security Hub user guide, "Tagging Security Hub
/// resources" (keys and values: "letters, numbers, spaces, or the following symbols: _ . : / = +
/// - @"); the model's `NonEmptyString` (`.*\S.*`) for map values. Generated fleets carry such
/// tags by default, and a finding that copies them as they are fails (per finding,
/// `InvalidInput`) while the same finding without them lands.
#[tokio::test]
async fn generated_fleets_carry_tags_security_hub_refuses() {
    use aws_sdk_securityhub::types::Resource;
    use awsim::hostile_tags::REFUSED_BY_SECURITY_HUB;
    let spec = "accounts=1,regions=1,instances=40,patches=1";
    let (_sim, fleet, account, hub) = hub_of(spec).await;
    let hostile = |f: &Fleet| -> Vec<awsim::fleet::InstanceSpec> {
        f.accounts
            .iter()
            .flat_map(|a| a.instances.iter())
            .filter(|i| {
                REFUSED_BY_SECURITY_HUB
                    .iter()
                    .any(|(k, v)| i.tags.get(*k).map(String::as_str) == Some(*v))
            })
            .cloned()
            .collect()
    };
    let tagged = hostile(&fleet);
    assert!(
        !tagged.is_empty(),
        "some generated nodes carry refused tags"
    );
    // `hostile_tags=0` turns them off and leaves the rest of the fleet as it was.
    let off = patchhub_testkit::generate(&format!("{spec},hostile_tags=0"));
    assert!(hostile(&off).is_empty());
    let ids = |f: &Fleet| -> Vec<String> {
        f.accounts[0]
            .instances
            .iter()
            .map(|i| i.id.clone())
            .collect()
    };
    assert_eq!(ids(&off), ids(&fleet));

    let mut batch = Vec::new();
    for (i, (k, v)) in REFUSED_BY_SECURITY_HUB.iter().enumerate() {
        let resource = Resource::builder()
            .r#type("AwsEc2Instance")
            .id("i-01234567")
            .tags(*k, *v)
            .build();
        batch.push(
            third_party_finding(&account, &format!("tag-{i}"), "PATCH")
                .resources(resource)
                .build(),
        );
    }
    let clean = Resource::builder()
        .r#type("AwsEc2Instance")
        .id("i-01234567")
        .tags("Owner", "R_D _ops_")
        .build();
    batch.push(
        third_party_finding(&account, "clean", "PATCH")
            .resources(clean)
            .build(),
    );
    let out = hub
        .batch_import_findings()
        .set_findings(Some(batch))
        .send()
        .await
        .unwrap();
    assert_eq!(out.success_count(), Some(1), "{:?}", out.failed_findings());
    assert_eq!(out.failed_findings().len(), REFUSED_BY_SECURITY_HUB.len());
    for f in out.failed_findings() {
        assert_eq!(f.error_code(), Some("InvalidInput"));
        let message = f.error_message().unwrap_or_default();
        assert!(message.contains("Resources[0].Tags"), "{message}");
    }
}
