//! The one way patchhub reads its findings back from Security Hub: a [`FindingFilter`] turned
//! into `GetFindings` filters, and [`get_findings`], which pages through the answer at the
//! limiter's `GetFindings` rate (published quota: 3/s, burst 6 per account and Region) with the
//! crate's paging loop. The sync's read-back ([`crate::sink`]) and the report's read
//! ([`crate::report_read`]) both go through here.

use aws_sdk_securityhub::types::{
    AwsSecurityFindingFilters, DateFilter, DateRange, DateRangeUnit, MapFilter,
    MapFilterComparison, StringFilter, StringFilterComparison,
};
use patchhub_core::finding::{self, Finding};

use crate::convert;
use crate::error::ApiError;
use crate::paging::all_pages;
use crate::quota::{Api, Limiter};

/// Findings per `GetFindings` page (AWS maximum).
const PAGE_SIZE: i32 = 100;

/// How a string attribute is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Match {
    /// The whole value.
    Equals(String),
    /// The value's start.
    Prefix(String),
}

/// Which findings to read. Attributes are ANDed; the values of one attribute are ORed (as
/// `GetFindings` combines them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FindingFilter {
    /// `ProductArn` equals.
    pub product_arn: Option<String>,
    /// `AwsAccountId` equals.
    pub account: Option<String>,
    /// `Region` equals.
    pub region: Option<String>,
    /// `GeneratorId`.
    pub generators: Vec<Match>,
    /// `RecordState` equals (`ACTIVE` or `ARCHIVED`).
    pub record_state: Option<&'static str>,
    /// patchhub's node id product field equals.
    pub nodes: Vec<String>,
    /// `UpdatedAt` within the last this many days.
    pub updated_within_days: Option<i32>,
}

fn string(m: &Match) -> StringFilter {
    let (value, comparison) = match m {
        Match::Equals(v) => (v, StringFilterComparison::Equals),
        Match::Prefix(v) => (v, StringFilterComparison::Prefix),
    };
    StringFilter::builder()
        .value(value)
        .comparison(comparison)
        .build()
}

fn equals(value: &str) -> StringFilter {
    string(&Match::Equals(value.to_string()))
}

impl FindingFilter {
    /// The filter as `GetFindings` takes it.
    pub(crate) fn to_sdk(&self) -> AwsSecurityFindingFilters {
        let mut f = AwsSecurityFindingFilters::builder()
            .set_product_arn(self.product_arn.as_deref().map(|v| vec![equals(v)]))
            .set_aws_account_id(self.account.as_deref().map(|v| vec![equals(v)]))
            .set_region(self.region.as_deref().map(|v| vec![equals(v)]))
            .set_record_state(self.record_state.map(|v| vec![equals(v)]));
        for g in &self.generators {
            f = f.generator_id(string(g));
        }
        for n in &self.nodes {
            f = f.product_fields(
                MapFilter::builder()
                    .key(finding::fields::NODE_ID)
                    .value(n)
                    .comparison(MapFilterComparison::Equals)
                    .build(),
            );
        }
        if let Some(days) = self.updated_within_days {
            f = f.updated_at(
                DateFilter::builder()
                    .date_range(
                        DateRange::builder()
                            .value(days)
                            .unit(DateRangeUnit::Days)
                            .build(),
                    )
                    .build(),
            );
        }
        f.build()
    }
}

/// Every finding matching `filter` in one account and Region as the client's caller sees it.
pub(crate) async fn get_findings(
    client: &aws_sdk_securityhub::Client,
    account: &str,
    region: &str,
    limiter: &Limiter,
    filter: &FindingFilter,
) -> Result<Vec<Finding>, ApiError> {
    get_findings_as(client, account, region, limiter, filter, &Some).await
}

/// [`get_findings`], each finding passed through `keep` as its page arrives (`None`: left out),
/// so that a caller who needs only part of the findings, or part of each, never holds the
/// whole set.
pub(crate) async fn get_findings_as<T: Send>(
    client: &aws_sdk_securityhub::Client,
    account: &str,
    region: &str,
    limiter: &Limiter,
    filter: &FindingFilter,
    keep: &(dyn Fn(Finding) -> Option<T> + Sync),
) -> Result<Vec<T>, ApiError> {
    let filters = filter.to_sdk();
    all_pages(Some((limiter, Api::GetFindings)), |token| {
        let filters = filters.clone();
        async move {
            let page = client
                .get_findings()
                .filters(filters)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ApiError::from_sdk(account, region, "GetFindings", &e))?;
            // Convert page by page: the SDK's finding type carries every ASFF field inline (tens
            // of KB each), ours only what patchhub writes, so holding SDK findings until the last
            // page would cost ~35 KB per finding read back.
            let findings = page
                .findings()
                .iter()
                .filter_map(|f| match convert::from_sdk(f) {
                    Ok(f) => keep(f),
                    Err(e) => {
                        tracing::warn!(
                            id = f.id(),
                            "ignoring a finding patchhub cannot read back: {e}"
                        );
                        None
                    }
                })
                .collect::<Vec<T>>();
            Ok((findings, page.next_token().map(str::to_string)))
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(f: &[StringFilter]) -> Vec<(String, String)> {
        f.iter()
            .map(|s| {
                (
                    s.value().unwrap_or_default().to_string(),
                    s.comparison()
                        .map(|c| c.as_str())
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn only_the_attributes_set_are_filtered_on() {
        let f = FindingFilter {
            generators: vec![Match::Prefix("patchhub/".into())],
            record_state: Some("ACTIVE"),
            ..Default::default()
        }
        .to_sdk();
        assert_eq!(
            values(f.generator_id()),
            [("patchhub/".to_string(), "PREFIX".to_string())]
        );
        assert_eq!(
            values(f.record_state()),
            [("ACTIVE".to_string(), "EQUALS".to_string())]
        );
        assert!(f.aws_account_id().is_empty() && f.region().is_empty());
        assert!(f.product_fields().is_empty() && f.updated_at().is_empty());

        let f = FindingFilter {
            account: Some("111111111111".into()),
            generators: vec![
                Match::Equals("patchhub/node-rollup".into()),
                Match::Equals("patchhub/stale-scan".into()),
            ],
            nodes: vec!["i-1".into(), "i-2".into()],
            updated_within_days: Some(30),
            ..Default::default()
        }
        .to_sdk();
        assert_eq!(
            f.generator_id().len(),
            2,
            "values of one attribute are ORed"
        );
        assert_eq!(f.product_fields().len(), 2);
        assert_eq!(
            values(f.aws_account_id()),
            [("111111111111".to_string(), "EQUALS".to_string())]
        );
        let range = f.updated_at()[0].date_range().unwrap();
        assert_eq!(
            (range.value(), range.unit()),
            (Some(30), Some(&DateRangeUnit::Days))
        );
    }
}
