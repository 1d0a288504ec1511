//! Reading patch compliance from SSM: the nodes of an account and Region (or one node), and the
//! non-compliant patches of a node. Every call is bounded by its `MaxResults` maximum, every page
//! is read, and every call waits for the client-side limiter first.
//!
//! Which API gives what:
//! - `DescribeInstanceInformation` (50/page): which nodes exist, platform, ping status, name;
//! - `ListResourceComplianceSummaries` (50/page, ComplianceType Patch): nodes with patch
//!   compliance — also stopped nodes, which DescribeInstanceInformation omits — and the
//!   execution id of their last patch operation;
//! - `DescribeInstancePatchStates` (50 ids/call): counts per state, baseline, patch group,
//!   operation times;
//! - per non-compliant node, `DescribeInstancePatches` (100/page) for KB/package, classification,
//!   state, vendor severity and CVE ids, and `ListComplianceItems` (50/page, NON_COMPLIANT) for
//!   the compliance severity the baseline assigned, which the first lacks.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use aws_sdk_ssm::types::{
    ComplianceQueryOperatorType, ComplianceStringFilter, InstanceInformationStringFilter,
};
use chrono::{DateTime, Utc};
use patchhub_core::model::{
    ManagedNode, Operation, PatchCounts, PatchItem, PatchOperation, PatchState, PingStatus,
    Platform, Severity,
};
use patchhub_core::policy::TagFilter;

use crate::error::ApiError;
use crate::paging::{all_pages, page_of};
use crate::quota::{Api, Limiter};

/// Where compliance comes from. The SSM implementation is [`SsmSource`]; tests may substitute.
pub trait ComplianceSource: Send + Sync {
    /// All managed nodes with their patch state (or just `only`). Nodes tagged per
    /// `tags_of_interest` carry those tags in `ManagedNode::tags`.
    fn list_nodes(
        &self,
        only: Option<&str>,
        tags_of_interest: &[TagFilter],
    ) -> impl Future<Output = Result<Vec<ManagedNode>, ApiError>> + Send;

    /// The node's non-compliant patches as of its last patch operation.
    fn node_patches(
        &self,
        node: &ManagedNode,
    ) -> impl Future<Output = Result<Vec<PatchItem>, ApiError>> + Send;
}

/// SSM in one account and Region.
#[derive(Debug, Clone)]
pub struct SsmSource {
    client: aws_sdk_ssm::Client,
    account: String,
    region: String,
    partition: String,
    limiter: Limiter,
}

/// Converts an SDK timestamp.
pub(crate) fn to_chrono(t: &aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_default()
}

impl SsmSource {
    /// SSM reads for one account and Region.
    pub(crate) fn new(
        client: aws_sdk_ssm::Client,
        account: &str,
        region: &str,
        partition: &str,
        limiter: Limiter,
    ) -> Self {
        SsmSource {
            client,
            account: account.to_string(),
            region: region.to_string(),
            partition: partition.to_string(),
            limiter,
        }
    }

    fn err<E, R>(&self, api: Api, e: &aws_sdk_ssm::error::SdkError<E, R>) -> ApiError
    where
        E: aws_sdk_ssm::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        ApiError::from_sdk(&self.account, &self.region, api.name(), e)
    }

    async fn instance_information(
        &self,
        filter: Option<InstanceInformationStringFilter>,
    ) -> Result<Vec<aws_sdk_ssm::types::InstanceInformation>, ApiError> {
        all_pages(
            Some((&self.limiter, Api::DescribeInstanceInformation)),
            |token| {
                let filter = filter.clone();
                async move {
                    let page = self
                        .client
                        .describe_instance_information()
                        .set_filters(filter.map(|f| vec![f]))
                        .max_results(50)
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| self.err(Api::DescribeInstanceInformation, &e))?;
                    Ok(page_of(page.instance_information_list(), page.next_token()))
                }
            },
        )
        .await
    }

    /// Per node with Patch compliance: the execution id of its last patch operation and how many
    /// patch items are NON_COMPLIANT, from the compliance summaries.
    async fn patch_summaries(&self) -> Result<HashMap<String, (Option<String>, u32)>, ApiError> {
        let filter = ComplianceStringFilter::builder()
            .key("ComplianceType")
            .values("Patch")
            .r#type(ComplianceQueryOperatorType::Equal)
            .build();
        let items = all_pages(
            Some((&self.limiter, Api::ListResourceComplianceSummaries)),
            |token| {
                let filter = filter.clone();
                async move {
                    let page = self
                        .client
                        .list_resource_compliance_summaries()
                        .filters(filter)
                        .max_results(50)
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| self.err(Api::ListResourceComplianceSummaries, &e))?;
                    Ok(page_of(
                        page.resource_compliance_summary_items(),
                        page.next_token(),
                    ))
                }
            },
        )
        .await?;
        let mut out = HashMap::new();
        for item in items
            .iter()
            .filter(|i| i.compliance_type() == Some("Patch"))
        {
            if let Some(id) = item.resource_id() {
                let exec = item
                    .execution_summary()
                    .and_then(|e| e.execution_id())
                    .map(str::to_string);
                let nc = count(
                    item.non_compliant_summary()
                        .map(|n| n.non_compliant_count()),
                );
                out.insert(id.to_string(), (exec, nc));
            }
        }
        Ok(out)
    }

    async fn patch_states(
        &self,
        ids: Vec<String>,
    ) -> Result<Vec<aws_sdk_ssm::types::InstancePatchState>, ApiError> {
        all_pages(
            Some((&self.limiter, Api::DescribeInstancePatchStates)),
            |token| {
                let ids = ids.clone();
                async move {
                    let page = self
                        .client
                        .describe_instance_patch_states()
                        .set_instance_ids(Some(ids))
                        .max_results(100)
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(|e| self.err(Api::DescribeInstancePatchStates, &e))?;
                    Ok(page_of(page.instance_patch_states(), page.next_token()))
                }
            },
        )
        .await
    }

    /// Node ids carrying a tag (`KEY` or `KEY=VALUE`), asked of SSM with a tag filter, so tags
    /// never need reading node by node.
    async fn tagged(&self, tag: &TagFilter) -> Result<Vec<String>, ApiError> {
        let filter = match &tag.value {
            Some(v) => InstanceInformationStringFilter::builder()
                .key(format!("tag:{}", tag.key))
                .values(v),
            None => InstanceInformationStringFilter::builder()
                .key("tag-key")
                .values(&tag.key),
        }
        .build()
        .map_err(|e| {
            ApiError::other(
                &self.account,
                &self.region,
                "DescribeInstanceInformation",
                crate::error::ErrorKind::InvalidInput,
                e.to_string(),
            )
        })?;
        Ok(self
            .instance_information(Some(filter))
            .await?
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect())
    }

    /// The compliance items of one node in NON_COMPLIANT status (compliance severity by id, and
    /// the execution id the items carry).
    async fn non_compliant_items(
        &self,
        node: &str,
        status: Option<&str>,
        max_items: Option<i32>,
    ) -> Result<Vec<aws_sdk_ssm::types::ComplianceItem>, ApiError> {
        let mut filters = vec![
            ComplianceStringFilter::builder()
                .key("ComplianceType")
                .values("Patch")
                .r#type(ComplianceQueryOperatorType::Equal)
                .build(),
        ];
        if let Some(s) = status {
            filters.push(
                ComplianceStringFilter::builder()
                    .key("Status")
                    .values(s)
                    .r#type(ComplianceQueryOperatorType::Equal)
                    .build(),
            );
        }
        all_pages(Some((&self.limiter, Api::ListComplianceItems)), |token| {
            let filters = filters.clone();
            async move {
                let page = self
                    .client
                    .list_compliance_items()
                    .resource_ids(node)
                    .resource_types("ManagedInstance")
                    .set_filters(Some(filters))
                    .max_results(max_items.unwrap_or(50))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| self.err(Api::ListComplianceItems, &e))?;
                // With a cap, one page is all that is wanted.
                let next = if max_items.is_some() {
                    None
                } else {
                    page.next_token().map(str::to_string)
                };
                Ok((page.compliance_items().to_vec(), next))
            }
        })
        .await
    }
}

fn ping(p: Option<&aws_sdk_ssm::types::PingStatus>) -> PingStatus {
    match p.map(|p| p.as_str()) {
        Some("Online") => PingStatus::Online,
        Some("ConnectionLost") => PingStatus::ConnectionLost,
        Some("Inactive") => PingStatus::Inactive,
        _ => PingStatus::Unknown,
    }
}

fn platform(p: Option<&aws_sdk_ssm::types::PlatformType>) -> Platform {
    match p.map(|p| p.as_str()) {
        Some("Windows") => Platform::Windows,
        Some("Linux") => Platform::Linux,
        Some("MacOS") => Platform::MacOS,
        Some(other) => Platform::Other(other.to_string()),
        None => Platform::Other("Unknown".to_string()),
    }
}

fn count(n: Option<i32>) -> u32 {
    n.unwrap_or(0).max(0) as u32
}

fn counts_of(s: &aws_sdk_ssm::types::InstancePatchState) -> PatchCounts {
    PatchCounts {
        installed: count(Some(s.installed_count())),
        installed_other: count(Some(s.installed_other_count())),
        installed_pending_reboot: count(s.installed_pending_reboot_count()),
        installed_rejected: count(s.installed_rejected_count()),
        missing: count(Some(s.missing_count())),
        failed: count(Some(s.failed_count())),
        not_applicable: count(Some(s.not_applicable_count())),
        available_security_update: count(s.available_security_update_count()),
        critical_non_compliant: count(s.critical_non_compliant_count()),
        security_non_compliant: count(s.security_non_compliant_count()),
        other_non_compliant: count(s.other_non_compliant_count()),
    }
}

/// Whether the baseline treats AVAILABLE_SECURITY_UPDATE as compliant. The patch-state counts
/// do not say; SSM's count of NON_COMPLIANT items does: if it exceeds the other non-compliant
/// states, the available security updates are counted as non-compliant.
fn asu_compliant(c: &PatchCounts, non_compliant_items: u32) -> bool {
    let others = c.missing + c.failed + c.installed_pending_reboot + c.installed_rejected;
    !(c.available_security_update > 0 && non_compliant_items > others)
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

impl ComplianceSource for SsmSource {
    async fn list_nodes(
        &self,
        only: Option<&str>,
        tags_of_interest: &[TagFilter],
    ) -> Result<Vec<ManagedNode>, ApiError> {
        let info_filter = only.map(|id| {
            InstanceInformationStringFilter::builder()
                .key("InstanceIds")
                .values(id)
                .build()
                .expect("key and values are set")
        });
        // The three listings are independent: run them side by side, each at its own quota.
        let (info, summaries) = if only.is_some() {
            (
                self.instance_information(info_filter).await?,
                HashMap::new(),
            )
        } else {
            tokio::try_join!(
                self.instance_information(info_filter),
                self.patch_summaries()
            )?
        };

        let mut ids: Vec<String> = info
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_string))
            .collect();
        if let Some(id) = only
            && !ids.iter().any(|x| x == id)
        {
            // Stopped nodes are not in DescribeInstanceInformation but keep their compliance.
            ids.push(id.to_string());
        }
        for id in summaries.keys() {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids.sort();
        ids.dedup();

        let mut states = HashMap::new();
        let mut batches = tokio::task::JoinSet::new();
        for chunk in ids.chunks(50) {
            let this = self.clone();
            let chunk = chunk.to_vec();
            batches.spawn(async move { this.patch_states(chunk).await });
        }
        while let Some(res) = batches.join_next().await {
            let list = res.map_err(|e| {
                ApiError::other(
                    &self.account,
                    &self.region,
                    "DescribeInstancePatchStates",
                    crate::error::ErrorKind::Service,
                    e.to_string(),
                )
            })??;
            for s in list {
                states.insert(s.instance_id().to_string(), s);
            }
        }

        let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        for t in tags_of_interest {
            for id in self.tagged(t).await? {
                tags.entry(id)
                    .or_default()
                    .insert(t.key.clone(), t.value.clone().unwrap_or_default());
            }
        }

        let info_by_id: HashMap<&str, &aws_sdk_ssm::types::InstanceInformation> = info
            .iter()
            .filter_map(|i| i.instance_id().map(|id| (id, i)))
            .collect();
        let mut nodes = Vec::with_capacity(ids.len());
        for id in ids {
            let info = info_by_id.get(id.as_str());
            let state = states.get(&id);
            if info.is_none() && state.is_none() {
                continue; // neither registered nor carrying patch compliance: gone
            }
            let last_operation = state.map(|s| PatchOperation {
                operation: if s.operation().as_str() == "Install" {
                    Operation::Install
                } else {
                    Operation::Scan
                },
                start: to_chrono(s.operation_start_time()),
                end: to_chrono(s.operation_end_time()),
                execution_id: summaries.get(&id).and_then(|(e, _)| e.clone()),
                reboot_option: s.reboot_option().map(|r| r.as_str().to_string()),
            });
            let name = info
                .and_then(|i| i.name().or(i.computer_name()))
                .and_then(non_empty);
            nodes.push(ManagedNode {
                account_id: self.account.clone(),
                region: self.region.clone(),
                partition: self.partition.clone(),
                platform: platform(info.and_then(|i| i.platform_type())),
                platform_name: info
                    .and_then(|i| i.platform_name())
                    .unwrap_or_default()
                    .to_string(),
                name,
                ping_status: ping(info.and_then(|i| i.ping_status())),
                patch_group: state.and_then(|s| non_empty(s.patch_group())),
                baseline_id: state.and_then(|s| non_empty(s.baseline_id())),
                counts: state.map(counts_of).unwrap_or_default(),
                last_operation,
                tags: tags.remove(&id).unwrap_or_default(),
                available_security_updates_compliant: match (state, summaries.get(&id)) {
                    (Some(s), Some((_, nc))) => asu_compliant(&counts_of(s), *nc),
                    _ => true,
                },
                last_ping: info.and_then(|i| i.last_ping_date_time()).map(to_chrono),
                registered: info.and_then(|i| i.registration_date()).map(to_chrono),
                instance_id: id,
            });
        }
        if let Some(id) = only
            && let Some(node) = nodes.iter_mut().find(|n| n.instance_id == id)
            && node.last_operation.is_some()
        {
            // Single-node mode skips the summaries scan; the compliance items carry the same
            // execution id and non-compliant count.
            let nc_items = self
                .non_compliant_items(id, Some("NON_COMPLIANT"), None)
                .await?;
            let any = match nc_items.first() {
                Some(i) => Some(i.clone()),
                None => self
                    .non_compliant_items(id, None, Some(1))
                    .await?
                    .into_iter()
                    .next(),
            };
            let exec = any
                .as_ref()
                .and_then(|i| i.execution_summary())
                .and_then(|e| e.execution_id())
                .map(str::to_string);
            if let Some(op) = node.last_operation.as_mut() {
                op.execution_id = exec;
            }
            node.available_security_updates_compliant =
                asu_compliant(&node.counts, nc_items.len() as u32);
        }
        Ok(nodes)
    }

    async fn node_patches(&self, node: &ManagedNode) -> Result<Vec<PatchItem>, ApiError> {
        let id = node.instance_id.as_str();
        let patches_fut = all_pages(
            Some((&self.limiter, Api::DescribeInstancePatches)),
            |token| async move {
                let page = self
                    .client
                    .describe_instance_patches()
                    .instance_id(id)
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| self.err(Api::DescribeInstancePatches, &e))?;
                Ok(page_of(page.patches(), page.next_token()))
            },
        );
        let (patches, items) = tokio::try_join!(
            patches_fut,
            self.non_compliant_items(id, Some("NON_COMPLIANT"), None)
        )?;
        let severity_by_id: HashMap<&str, Severity> = items
            .iter()
            .filter_map(|i| {
                let sev = i.severity()?.as_str().parse().ok()?;
                Some((i.id()?, sev))
            })
            .collect();
        let mut out = Vec::new();
        for p in patches {
            let Ok(state) = p.state().as_str().parse::<PatchState>() else {
                continue;
            };
            let listed_non_compliant = severity_by_id.contains_key(p.kb_id());
            // AVAILABLE_SECURITY_UPDATE is non-compliant only if the baseline says so; the
            // compliance items say what the baseline decided.
            let keep = match state {
                PatchState::AvailableSecurityUpdate => listed_non_compliant,
                s => s.is_non_compliant(true),
            };
            if !keep {
                continue;
            }
            let installed = to_chrono(p.installed_time());
            out.push(PatchItem {
                id: p.kb_id().to_string(),
                title: p.title().to_string(),
                classification: p.classification().to_string(),
                vendor_severity: p.severity().to_string(),
                severity: severity_by_id
                    .get(p.kb_id())
                    .copied()
                    .unwrap_or(Severity::Unspecified),
                state,
                cve_ids: p
                    .cve_ids()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                installed_time: (installed.timestamp() > 0).then_some(installed),
            });
        }
        Ok(out)
    }
}
