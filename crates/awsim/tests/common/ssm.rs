//! SSM as the tests read it through the real SDK: compliance filters written as text, and the
//! counts of a node's patch state.

use std::collections::BTreeSet;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ComplianceQueryOperatorType, ComplianceStringFilter, InstancePatchState};

/// A compliance filter: `key`, one of `values`, compared by `ty` (`EQUAL`, `NOT_EQUAL`, …).
pub fn cfilter(key: &str, values: &[&str], ty: &str) -> ComplianceStringFilter {
    ComplianceStringFilter::builder()
        .key(key)
        .set_values(super::strings(values))
        .r#type(ComplianceQueryOperatorType::from(ty))
        .build()
}

/// Compliance filters written as text: `KEY TYPE VALUE,VALUE; KEY TYPE VALUE`.
pub fn cfilters(spec: &str) -> Vec<ComplianceStringFilter> {
    let filter = |text: &str| {
        let words: Vec<&str> = text.split_whitespace().collect();
        let [key, ty, values] = words[..] else {
            panic!("not KEY TYPE VALUES: {text:?}")
        };
        cfilter(key, &values.split(',').collect::<Vec<_>>(), ty)
    };
    spec.split(';').map(filter).collect()
}

/// Every count of a patch state, by name (`None`: left out of the answer).
fn counts(s: &InstancePatchState) -> [(&'static str, Option<i32>); 12] {
    [
        ("installed", Some(s.installed_count())),
        ("installed_other", Some(s.installed_other_count())),
        ("pending_reboot", s.installed_pending_reboot_count()),
        ("rejected", s.installed_rejected_count()),
        ("missing", Some(s.missing_count())),
        ("failed", Some(s.failed_count())),
        ("not_applicable", Some(s.not_applicable_count())),
        ("unreported", s.unreported_not_applicable_count()),
        ("available_security", s.available_security_update_count()),
        ("critical_non_compliant", s.critical_non_compliant_count()),
        ("security_non_compliant", s.security_non_compliant_count()),
        ("other_non_compliant", s.other_non_compliant_count()),
    ]
}

/// Asserts the counts `expected` names, `installed=3 missing=0 pending_reboot=none`, of a patch
/// state.
pub fn assert_counts(s: &InstancePatchState, expected: &str) {
    let all = counts(s);
    let named = expected.split_whitespace().map(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        let (_, count) = all.iter().find(|(n, _)| *n == name).expect("a count");
        let count = count.map_or_else(|| "none".to_string(), |c| c.to_string());
        format!("{name}={count}")
    });
    let got = named.collect::<Vec<_>>().join(" ");
    let expected = expected.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(got, expected, "patch counts of {}", s.instance_id());
}

/// The patch state of node `id`.
pub async fn state_of(ssm: &Client, id: &str) -> InstancePatchState {
    let out = ssm
        .describe_instance_patch_states()
        .instance_ids(id)
        .send()
        .await;
    out.unwrap().instance_patch_states()[0].clone()
}

/// The execution ids of the compliance items of node `id`.
pub async fn executions(ssm: &Client, id: &str) -> BTreeSet<String> {
    let out = ssm.list_compliance_items().resource_ids(id).send().await;
    let out = out.unwrap();
    let summaries = out.compliance_items().iter().map(|i| i.execution_summary());
    let ids = summaries.map(|s| s.and_then(|s| s.execution_id()).unwrap_or_default());
    ids.map(str::to_string).collect()
}
