//! Reading patch compliance from SSM: the nodes of an account and Region (or one node), and the
//! non-compliant patches of a node. Every call is bounded by its `MaxResults` maximum, every page
//! is read, and every call waits for the client-side limiter first.
//!
//! Which API gives what:
//! - `DescribeInstanceProperties` (1,000/page; sweeps): which nodes exist, platform, ping
//!   status, name; `DescribeInstanceInformation` (50/page) gives the same for one node;
//! - `DescribeInstancePatchStates` (50 ids/call): counts per state, baseline, patch group,
//!   operation times — also of stopped nodes, which the listings omit (asked by id: the nodes
//!   Security Hub holds findings of);
//! - `ListResourceComplianceSummaries` (50/page, ComplianceType Patch; only when many nodes
//!   changed, e.g. a first sync): per node the execution id of its last patch operation and its
//!   count of NON_COMPLIANT items, and the stopped nodes no finding names yet;
//! - per non-compliant node, `DescribeInstancePatches` (100/page) for KB/package, classification,
//!   state, vendor severity and CVE ids, and `ListComplianceItems` (50/page, NON_COMPLIANT) for
//!   the compliance severity the baseline assigned, which the first lacks, and (like the
//!   summaries, for the one node) the execution id and NON_COMPLIANT count.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// What SSM's compliance data says of a node beyond its patch states: the execution id of its
/// last patch operation and how many of its patch items are NON_COMPLIANT (which tells whether
/// its baseline counts available security updates as compliant).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confirmation {
    /// `ExecutionSummary.ExecutionId`.
    pub execution_id: Option<String>,
    /// NON_COMPLIANT patch items.
    pub non_compliant_items: u32,
}

impl Confirmation {
    /// Writes what it says into `node`.
    pub fn apply(&self, node: &mut ManagedNode) {
        if let Some(op) = node.last_operation.as_mut() {
            op.execution_id = self.execution_id.clone();
        }
        node.available_security_updates_compliant =
            asu_compliant(&node.counts, self.non_compliant_items);
    }
}

/// Where compliance comes from. The SSM implementation is [`SsmSource`]; tests may substitute.
///
/// A sweep's listing may leave two things open, to stay at a few calls per thousand nodes: the
/// execution id of each node's last patch operation (`None`) and whether its baseline counts
/// available security updates as compliant. The sync asks for them only for the nodes it
/// re-evaluates ([`ComplianceSource::node_patches`], [`ComplianceSource::confirm`], or
/// [`ComplianceSource::confirmations`] when that is cheaper). The defaults suit a source whose
/// listing says everything.
pub trait ComplianceSource: Send + Sync {
    /// All managed nodes with their patch state (or just `only`). Nodes tagged per
    /// `tags_of_interest` carry those tags in `ManagedNode::tags`.
    fn list_nodes(
        &self,
        only: Option<&str>,
        tags_of_interest: &[TagFilter],
    ) -> impl Future<Output = Result<Vec<ManagedNode>, ApiError>> + Send;

    /// Of these nodes, which the listing left out, those that still hold patch state (stopped
    /// nodes keep it; terminated ones lose it).
    fn unlisted_nodes(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<Vec<ManagedNode>, ApiError>> + Send {
        let _ = ids;
        async { Ok(Vec::new()) }
    }

    /// Every node's [`Confirmation`] in one listing, by node id, including nodes the node
    /// listing leaves out; `None` when the node listing said everything already.
    fn confirmations(
        &self,
    ) -> impl Future<Output = Result<Option<HashMap<String, Confirmation>>, ApiError>> + Send {
        async { Ok(None) }
    }

    /// Completes what the listing left open of one node (see the trait's note).
    fn confirm(&self, node: &mut ManagedNode) -> impl Future<Output = Result<(), ApiError>> + Send {
        let _ = node;
        async { Ok(()) }
    }

    /// The node's non-compliant patches as of its last patch operation; completes what the
    /// listing left open of the node on the way.
    fn node_patches(
        &self,
        node: &mut ManagedNode,
    ) -> impl Future<Output = Result<Vec<PatchItem>, ApiError>> + Send;
}

/// `DescribeInstancePatchStates` calls (50 nodes each) a sweep keeps in flight.
const STATE_READS_IN_FLIGHT: usize = 8;

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

    /// Every node's listing, converted page by page (the SDK's `InstanceProperty` is large).
    async fn instance_properties(&self) -> Result<Vec<(String, Listed)>, ApiError> {
        all_pages(
            Some((&self.limiter, Api::DescribeInstanceProperties)),
            |token| async move {
                let page = self
                    .client
                    .describe_instance_properties()
                    .max_results(1000)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| self.err(Api::DescribeInstanceProperties, &e))?;
                let listed = page.instance_properties().iter().filter_map(|p| {
                    let id = p.instance_id()?;
                    Some((id.to_string(), Listed::from_property(p, id)))
                });
                Ok((listed.collect(), page.next_token().map(str::to_string)))
            },
        )
        .await
    }

    /// Per node with Patch compliance: the execution id of its last patch operation and how many
    /// patch items are NON_COMPLIANT, from the compliance summaries.
    async fn patch_summaries(&self) -> Result<HashMap<String, Confirmation>, ApiError> {
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
                out.insert(
                    id.to_string(),
                    Confirmation {
                        execution_id: exec,
                        non_compliant_items: nc,
                    },
                );
            }
        }
        Ok(out)
    }

    async fn patch_states(&self, ids: Vec<String>) -> Result<Vec<PatchStateRow>, ApiError> {
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
                    let rows = page.instance_patch_states().iter().map(PatchStateRow::of);
                    Ok((rows.collect(), page.next_token().map(str::to_string)))
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

/// What `DescribeInstancePatchStates` says of one node, kept small: a sweep holds one per node
/// until the nodes are built.
struct PatchStateRow {
    id: String,
    counts: PatchCounts,
    patch_group: Option<String>,
    baseline_id: Option<String>,
    last_operation: PatchOperation,
}

impl PatchStateRow {
    fn of(s: &aws_sdk_ssm::types::InstancePatchState) -> Self {
        PatchStateRow {
            id: s.instance_id().to_string(),
            counts: counts_of(s),
            patch_group: non_empty(s.patch_group()),
            baseline_id: non_empty(s.baseline_id()),
            last_operation: PatchOperation {
                operation: if s.operation().as_str() == "Install" {
                    Operation::Install
                } else {
                    Operation::Scan
                },
                start: to_chrono(s.operation_start_time()),
                end: to_chrono(s.operation_end_time()),
                execution_id: None,
                reboot_option: s.reboot_option().map(|r| r.as_str().to_string()),
            },
        }
    }
}

/// What a node listing says of one node, from either listing API.
struct Listed {
    ping: PingStatus,
    platform: Platform,
    platform_name: String,
    name: Option<String>,
    last_ping: Option<DateTime<Utc>>,
    registered: Option<DateTime<Utc>>,
}

impl Listed {
    fn from_information(i: &aws_sdk_ssm::types::InstanceInformation) -> Listed {
        Listed {
            ping: ping(i.ping_status()),
            platform: platform(i.platform_type()),
            platform_name: i.platform_name().unwrap_or_default().to_string(),
            name: i.name().or(i.computer_name()).and_then(non_empty),
            last_ping: i.last_ping_date_time().map(to_chrono),
            registered: i.registration_date().map(to_chrono),
        }
    }

    fn from_property(p: &aws_sdk_ssm::types::InstanceProperty, id: &str) -> Listed {
        // DescribeInstanceInformation names only hybrid nodes (`Name`: "the name assigned to an
        // on-premises server … when it is activated"); DescribeInstanceProperties also gives an
        // EC2 instance its Name tag. A node's label must not depend on which listing read it
        // (a sweep and a single-node sync would rewrite each other's roll-up), so an EC2
        // instance keeps its computer name here too.
        let name = if id.starts_with("mi-") {
            p.name().or(p.computer_name())
        } else {
            p.computer_name()
        };
        Listed {
            ping: ping(p.ping_status()),
            platform: platform(p.platform_type()),
            platform_name: p.platform_name().unwrap_or_default().to_string(),
            name: name.and_then(non_empty),
            last_ping: p.last_ping_date_time().map(to_chrono),
            registered: p.registration_date().map(to_chrono),
        }
    }
}

impl SsmSource {
    /// The patch states of these nodes, 50 ids per call, the calls side by side.
    async fn states_of(&self, ids: &[String]) -> Result<HashMap<String, PatchStateRow>, ApiError> {
        let mut states = HashMap::with_capacity(ids.len());
        let mut batches = tokio::task::JoinSet::new();
        let mut chunks = ids.chunks(50);
        loop {
            // A few calls in flight: the limiter paces them anyway, and each waiting call holds
            // a request future (a 50,000-node sweep would otherwise hold a thousand at once).
            while batches.len() < STATE_READS_IN_FLIGHT {
                let Some(chunk) = chunks.next() else { break };
                let this = self.clone();
                let chunk = chunk.to_vec();
                batches.spawn(async move { this.patch_states(chunk).await });
            }
            let Some(res) = batches.join_next().await else {
                break;
            };
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
                states.insert(s.id.clone(), s);
            }
        }
        Ok(states)
    }

    /// The tags of interest, by node.
    async fn tags_by_node(
        &self,
        tags_of_interest: &[TagFilter],
    ) -> Result<HashMap<String, BTreeMap<String, String>>, ApiError> {
        let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        for t in tags_of_interest {
            for id in self.tagged(t).await? {
                tags.entry(id)
                    .or_default()
                    .insert(t.key.clone(), t.value.clone().unwrap_or_default());
            }
        }
        Ok(tags)
    }

    /// One node from what the listing and the patch states say. The execution id is left open
    /// and available security updates are taken as compliant until a [`Confirmation`] says.
    fn node(
        &self,
        id: String,
        listed: Option<&Listed>,
        state: Option<PatchStateRow>,
        tags: BTreeMap<String, String>,
    ) -> ManagedNode {
        let (counts, patch_group, baseline_id, last_operation) = match state {
            Some(s) => (
                s.counts,
                s.patch_group,
                s.baseline_id,
                Some(s.last_operation),
            ),
            None => Default::default(),
        };
        ManagedNode {
            account_id: self.account.clone(),
            region: self.region.clone(),
            partition: self.partition.clone(),
            platform: listed.map_or_else(|| platform(None), |l| l.platform.clone()),
            platform_name: listed.map(|l| l.platform_name.clone()).unwrap_or_default(),
            name: listed.and_then(|l| l.name.clone()),
            ping_status: listed.map_or(PingStatus::Unknown, |l| l.ping),
            patch_group,
            baseline_id,
            counts,
            last_operation,
            tags,
            available_security_updates_compliant: true,
            last_ping: listed.and_then(|l| l.last_ping),
            registered: listed.and_then(|l| l.registered),
            instance_id: id,
        }
    }

    /// Every node with everything SSM says of it: the sweep's listing, every node's
    /// [`Confirmation`] and the stopped nodes (which only the compliance summaries name). What
    /// `patchhub report --source ssm` and `doctor` read; a sync reads less (see
    /// [`ComplianceSource`]).
    pub async fn list_all_nodes(
        &self,
        tags_of_interest: &[TagFilter],
    ) -> Result<Vec<ManagedNode>, ApiError> {
        let (mut nodes, summaries) = tokio::try_join!(
            self.list_nodes(None, tags_of_interest),
            self.patch_summaries()
        )?;
        let listed: BTreeSet<&str> = nodes.iter().map(|n| n.instance_id.as_str()).collect();
        let mut stopped: Vec<String> = summaries
            .keys()
            .filter(|id| !listed.contains(id.as_str()))
            .cloned()
            .collect();
        stopped.sort();
        nodes.extend(self.unlisted_nodes(&stopped).await?);
        for node in &mut nodes {
            if let Some(c) = summaries.get(&node.instance_id) {
                c.apply(node);
            }
        }
        nodes.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(nodes)
    }

    /// Confirms `node` from its NON_COMPLIANT items (`items`), which carry the execution id
    /// unless there are none.
    async fn confirm_from(
        &self,
        node: &mut ManagedNode,
        items: &[aws_sdk_ssm::types::ComplianceItem],
    ) -> Result<(), ApiError> {
        let execution_id = match execution_id(items.first()) {
            Some(e) => Some(e),
            None => self.execution_of(node).await?,
        };
        Confirmation {
            execution_id,
            non_compliant_items: items.len() as u32,
        }
        .apply(node);
        Ok(())
    }

    /// The execution id the node's compliance items carry, when the listing left it open.
    async fn execution_of(&self, node: &ManagedNode) -> Result<Option<String>, ApiError> {
        let known = node
            .last_operation
            .as_ref()
            .and_then(|o| o.execution_id.clone());
        if known.is_some() || node.last_operation.is_none() {
            return Ok(known);
        }
        let any = self
            .non_compliant_items(&node.instance_id, None, Some(1))
            .await?;
        Ok(execution_id(any.first()))
    }
}

/// Whether a scanned node has patches worth reading (missing, failed, pending a reboot, rejected,
/// or an available security update).
pub(crate) fn needs_patch_read(node: &ManagedNode) -> bool {
    let c = &node.counts;
    node.last_operation.is_some()
        && c.missing
            + c.failed
            + c.installed_pending_reboot
            + c.installed_rejected
            + c.available_security_update
            > 0
}

fn execution_id(item: Option<&aws_sdk_ssm::types::ComplianceItem>) -> Option<String> {
    item.and_then(|i| i.execution_summary())
        .and_then(|e| e.execution_id())
        .map(str::to_string)
}

impl ComplianceSource for SsmSource {
    async fn list_nodes(
        &self,
        only: Option<&str>,
        tags_of_interest: &[TagFilter],
    ) -> Result<Vec<ManagedNode>, ApiError> {
        let Some(id) = only else {
            // A sweep: 1,000 nodes a page. Stopped nodes are not listed; the sync asks for
            // the ones Security Hub knows (`unlisted_nodes`).
            let listed: BTreeMap<String, Listed> =
                self.instance_properties().await?.into_iter().collect();
            let ids: Vec<String> = listed.keys().cloned().collect();
            let (mut states, mut tags) =
                tokio::try_join!(self.states_of(&ids), self.tags_by_node(tags_of_interest))?;
            return Ok(listed
                .into_iter()
                .map(|(id, l)| {
                    let tags = tags.remove(&id).unwrap_or_default();
                    let state = states.remove(&id);
                    self.node(id, Some(&l), state, tags)
                })
                .collect());
        };
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .values(id)
            .build()
            .expect("key and values are set");
        let info = self.instance_information(Some(filter)).await?;
        let listed = info
            .iter()
            .find(|i| i.instance_id() == Some(id))
            .map(Listed::from_information);
        // Stopped nodes are not in DescribeInstanceInformation but keep their compliance.
        let state = self.states_of(&[id.to_string()]).await?.remove(id);
        if listed.is_none() && state.is_none() {
            return Ok(Vec::new()); // neither registered nor carrying patch compliance: gone
        }
        let mut tags = self.tags_by_node(tags_of_interest).await?;
        let tags = tags.remove(id).unwrap_or_default();
        let mut node = self.node(id.to_string(), listed.as_ref(), state, tags);
        self.confirm(&mut node).await?;
        Ok(vec![node])
    }

    async fn unlisted_nodes(&self, ids: &[String]) -> Result<Vec<ManagedNode>, ApiError> {
        let mut states = self.states_of(ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                let state = states.remove(id)?;
                Some(self.node(id.clone(), None, Some(state), BTreeMap::new()))
            })
            .collect())
    }

    async fn confirmations(&self) -> Result<Option<HashMap<String, Confirmation>>, ApiError> {
        self.patch_summaries().await.map(Some)
    }

    async fn confirm(&self, node: &mut ManagedNode) -> Result<(), ApiError> {
        if node.last_operation.is_none() {
            return Ok(());
        }
        // A node whose counts show nothing non-compliant has no NON_COMPLIANT item: one item
        // of any status gives the execution id.
        let items = if needs_patch_read(node) {
            self.non_compliant_items(&node.instance_id, Some("NON_COMPLIANT"), None)
                .await?
        } else {
            Vec::new()
        };
        self.confirm_from(node, &items).await
    }

    async fn node_patches(&self, node: &mut ManagedNode) -> Result<Vec<PatchItem>, ApiError> {
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
        self.confirm_from(node, &items).await?;
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
