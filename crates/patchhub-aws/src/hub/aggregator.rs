//! The administrator's finding aggregator in the home Region: created, or widened to link the
//! plan's other Regions; never narrowed.

use std::collections::BTreeSet;

use super::api::Sh;
use super::log::Log;
use super::{AggregatorInfo, Step};
use crate::clients::AccountSession;
use crate::error::ApiError;

/// What the aggregator must become to link `want` too; `None` when it already does. Never
/// narrows what it links: Regions someone else linked stay linked.
fn widened_linking(
    mode: &str,
    current: &[String],
    want: &BTreeSet<String>,
) -> Option<(String, Vec<String>)> {
    let current: BTreeSet<String> = current.iter().cloned().collect();
    match mode {
        "ALL_REGIONS" => None,
        "SPECIFIED_REGIONS" => {
            if want.is_subset(&current) {
                None
            } else {
                let all = current.union(want).cloned().collect();
                Some(("SPECIFIED_REGIONS".into(), all))
            }
        }
        "ALL_REGIONS_EXCEPT_SPECIFIED" => {
            if current.is_disjoint(want) {
                None
            } else {
                let rest: Vec<String> = current.difference(want).cloned().collect();
                if rest.is_empty() {
                    Some(("ALL_REGIONS".into(), Vec::new()))
                } else {
                    Some(("ALL_REGIONS_EXCEPT_SPECIFIED".into(), rest))
                }
            }
        }
        _ if want.is_empty() => None,
        _ => Some(("SPECIFIED_REGIONS".into(), want.iter().cloned().collect())),
    }
}

/// The administrator's finding aggregator in `home`, linking the other Regions of the plan
/// (except those skipped for the administrator).
pub(super) async fn ensure_aggregator(
    admin: &AccountSession,
    home: &str,
    regions: &[String],
    log: &Log,
) {
    let sh = Sh::new(admin, home);
    let skipped = log.regions_skipped_for(&admin.account_id);
    if skipped.contains(home) {
        log.skipped(
            &admin.account_id,
            home,
            Step::Aggregator,
            format!("the home Region {home} is not enabled for the administrator"),
        );
        return;
    }
    let want: BTreeSet<String> = regions
        .iter()
        .filter(|r| r.as_str() != home && !skipped.contains(*r))
        .cloned()
        .collect();
    let linked = |v: &[String]| {
        if v.is_empty() {
            "no other Region".to_string()
        } else {
            v.join(", ")
        }
    };
    let result: Result<Result<(bool, String), AggregatorInfo>, ApiError> = async {
        match sh.aggregator().await? {
            None => {
                let list: Vec<String> = want.iter().cloned().collect();
                let mode = if list.is_empty() {
                    "NO_REGIONS"
                } else {
                    "SPECIFIED_REGIONS"
                };
                sh.create_aggregator(mode, &list).await?;
                Ok(Ok((
                    true,
                    format!("created in {home}, linking {}", linked(&list)),
                )))
            }
            Some(agg) if agg.home_region != home => Ok(Err(agg)),
            Some(agg) => match widened_linking(&agg.mode, &agg.regions, &want) {
                None => Ok(Ok((
                    false,
                    format!("in {home}, {} {}", agg.mode, linked(&agg.regions)),
                ))),
                Some((mode, list)) => {
                    sh.update_aggregator(&agg.arn, &mode, &list).await?;
                    Ok(Ok((
                        true,
                        format!("updated in {home}: {mode} {}", linked(&list)),
                    )))
                }
            },
        }
    }
    .await;
    match result {
        Ok(Ok((true, d))) => log.done(&admin.account_id, home, Step::Aggregator, d),
        Ok(Ok((false, d))) => log.already(&admin.account_id, home, Step::Aggregator, d),
        Ok(Err(agg)) => log.failed(
            &admin.account_id,
            home,
            Step::Aggregator,
            format!(
                "the administrator's finding aggregator lives in {}, not {home} (an account has one)",
                agg.home_region
            ),
            format!(
                "keep it (pass --home-region {}) or delete it (`aws securityhub delete-finding-aggregator --finding-aggregator-arn {} --region {}`), {}",
                agg.home_region,
                agg.arn,
                agg.home_region,
                log.rerun()
            ),
        ),
        Err(e) => {
            log.error(&admin.account_id, home, Step::Aggregator, &e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn linking_only_ever_widens() {
        let want = set(&["eu-west-1", "us-west-2"]);
        assert_eq!(widened_linking("ALL_REGIONS", &[], &want), None);
        assert_eq!(
            widened_linking(
                "SPECIFIED_REGIONS",
                &strings(&["eu-west-1", "us-west-2", "ap-south-1"]),
                &want
            ),
            None
        );
        assert_eq!(
            widened_linking(
                "SPECIFIED_REGIONS",
                &strings(&["ap-south-1", "eu-west-1"]),
                &want
            ),
            Some((
                "SPECIFIED_REGIONS".into(),
                strings(&["ap-south-1", "eu-west-1", "us-west-2"])
            ))
        );
        assert_eq!(
            widened_linking(
                "ALL_REGIONS_EXCEPT_SPECIFIED",
                &strings(&["ap-south-1"]),
                &want
            ),
            None
        );
        assert_eq!(
            widened_linking(
                "ALL_REGIONS_EXCEPT_SPECIFIED",
                &strings(&["ap-south-1", "us-west-2"]),
                &want
            ),
            Some((
                "ALL_REGIONS_EXCEPT_SPECIFIED".into(),
                strings(&["ap-south-1"])
            ))
        );
        assert_eq!(
            widened_linking(
                "ALL_REGIONS_EXCEPT_SPECIFIED",
                &strings(&["us-west-2"]),
                &want
            ),
            Some(("ALL_REGIONS".into(), vec![]))
        );
        assert_eq!(
            widened_linking("NO_REGIONS", &[], &want),
            Some((
                "SPECIFIED_REGIONS".into(),
                strings(&["eu-west-1", "us-west-2"])
            ))
        );
        assert_eq!(widened_linking("NO_REGIONS", &[], &BTreeSet::new()), None);
    }
}
