//! Security Hub findings as the tests import, read and triage them through the real SDK.

use std::collections::BTreeSet;

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::operation::batch_import_findings::builders::BatchImportFindingsFluentBuilder;
use aws_sdk_securityhub::operation::get_findings::builders::GetFindingsFluentBuilder;
use aws_sdk_securityhub::types::builders::AwsSecurityFindingBuilder;
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, AwsSecurityFindingIdentifier, Resource,
    Severity, SeverityLabel, WorkflowStatus, WorkflowUpdate,
};

/// The default product of `account` in `region`, the one its own findings are imported into.
pub fn product_arn(account: &str, region: &str) -> String {
    format!("arn:aws:securityhub:{region}:{account}:product/{account}/default")
}

/// `2024-05-01THH:MM:00Z` timestamps, `minute` minutes after a fixed start.
pub fn at(minute: u32) -> String {
    format!("2024-05-01T{:02}:{:02}:00Z", minute / 60, minute % 60)
}

/// A valid finding for `account` in `region`, `Id = id`, on instance `resource`, created and
/// updated at `at(0)`.
pub fn finding(account: &str, region: &str, id: &str, resource: &str) -> AwsSecurityFindingBuilder {
    AwsSecurityFinding::builder()
        .schema_version("2018-10-08")
        .id(id)
        .product_arn(product_arn(account, region))
        .generator_id("patchhub/missing-patches")
        .aws_account_id(account)
        .types("Software and Configuration Checks/Patch Management")
        .created_at(at(0))
        .updated_at(at(0))
        .severity(Severity::builder().label(SeverityLabel::High).build())
        .title(format!("Missing patches on {resource}"))
        .description("The instance is missing security patches.")
        .resources(
            Resource::builder()
                .r#type("AwsEc2Instance")
                .id(resource)
                .build(),
        )
}

/// Names finding `id` of `account`'s default product in `region`.
pub fn identifier(account: &str, region: &str, id: &str) -> AwsSecurityFindingIdentifier {
    AwsSecurityFindingIdentifier::builder()
        .id(id)
        .product_arn(product_arn(account, region))
        .build()
}

/// A `BatchImportFindings` call of `findings`.
pub fn batch_import(
    c: &Client,
    findings: Vec<AwsSecurityFinding>,
) -> BatchImportFindingsFluentBuilder {
    c.batch_import_findings().set_findings(Some(findings))
}

/// Imports `findings`: the success and failure counts, and `(Id, ErrorCode)` of each failed one.
pub async fn import(
    c: &Client,
    findings: Vec<AwsSecurityFinding>,
) -> (i32, i32, Vec<(String, String)>) {
    let out = batch_import(c, findings).send().await.unwrap();
    let failed = out.failed_findings().iter();
    let failed = failed.map(|f| (f.id(), f.error_code()));
    let failed = failed.map(|(id, code)| (owned(id), owned(code))).collect();
    (
        out.success_count().unwrap(),
        out.failed_count().unwrap(),
        failed,
    )
}

fn owned(text: Option<&str>) -> String {
    text.unwrap_or_default().to_string()
}

/// Imports `findings`, every one of which must be accepted.
pub async fn import_ok(c: &Client, findings: Vec<AwsSecurityFinding>) {
    let n = findings.len() as i32;
    let (ok, failed, list) = import(c, findings).await;
    assert_eq!((ok, failed), (n, 0), "unexpected failures: {list:?}");
}

/// Every finding `c` reads, through the paginator.
pub async fn findings(c: &Client) -> Vec<AwsSecurityFinding> {
    findings_matching(c, None).await
}

/// Every finding `c` reads that matches `filters`, through the paginator.
pub async fn findings_matching(
    c: &Client,
    filters: Option<AwsSecurityFindingFilters>,
) -> Vec<AwsSecurityFinding> {
    all_pages(c.get_findings().set_filters(filters)).await
}

/// Every finding a `GetFindings` call reads, through the paginator.
pub async fn all_pages(call: GetFindingsFluentBuilder) -> Vec<AwsSecurityFinding> {
    call.into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .unwrap()
}

/// The ids of `findings`.
pub fn ids(findings: &[AwsSecurityFinding]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f.id().unwrap().to_string())
        .collect()
}

/// The ids of the findings `c` reads.
pub async fn seen(c: &Client) -> BTreeSet<String> {
    ids(&findings(c).await)
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}

/// A workflow update to `status`.
pub fn workflow(status: WorkflowStatus) -> WorkflowUpdate {
    WorkflowUpdate::builder().status(status).build()
}

/// Sets the workflow status of one finding: how many were processed, and the error codes of the
/// unprocessed.
pub async fn set_workflow(
    c: &Client,
    finding: AwsSecurityFindingIdentifier,
    status: WorkflowStatus,
) -> (usize, Vec<String>) {
    let out = c
        .batch_update_findings()
        .finding_identifiers(finding)
        .workflow(workflow(status))
        .send()
        .await
        .unwrap();
    (
        out.processed_findings().len(),
        out.unprocessed_findings()
            .iter()
            .map(|u| u.error_code().unwrap_or_default().to_string())
            .collect(),
    )
}

/// The workflow status of a finding.
pub fn workflow_of(f: &AwsSecurityFinding) -> Option<WorkflowStatus> {
    f.workflow().and_then(|w| w.status()).cloned()
}
