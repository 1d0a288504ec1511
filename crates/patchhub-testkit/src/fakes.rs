//! In-memory and failing implementations of the sync's two seams, `ComplianceSource` and
//! `FindingSink`, so `patchhub_aws::sync::sync_target` runs without HTTP and a test can assert on
//! the order of every call it made.
//!
//! - [`MemorySource`]: SSM as core model values ([`node`] builds a scanned node).
//! - [`MemorySink`]: Security Hub as a map of findings by id; it keeps Security Hub's one rule
//!   that matters to ordering (an import whose `UpdatedAt` is not later than the stored one
//!   changes nothing) and, unlike Security Hub, returns findings of any account and Region, so a
//!   test can plant another scope's findings and check the sync leaves them alone.
//! - [`Failing`]: wraps either and fails chosen calls or finding ids until [`Failing::heal`].
//!
//! Every fake records its calls in a [`CallLog`]; clones share it (the sync clones source and
//! sink per batch), and a source and a sink can share one with `with_log` for a single timeline.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use patchhub_aws::ApiError;
use patchhub_aws::ErrorKind;
use patchhub_aws::sink::{FailedFinding, FindingQuery, FindingSink, ImportOutcome};
use patchhub_aws::source::{ComplianceSource, Confirmation};
use patchhub_core::finding::Finding;
use patchhub_core::model::{
    ManagedNode, NodeCompliance, Operation, PatchCounts, PatchItem, PatchOperation, PatchState,
    PingStatus, Platform,
};
use patchhub_core::policy::TagFilter;

/// What `ComplianceSource::list_nodes` answers.
type Nodes = Result<Vec<ManagedNode>, ApiError>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock has failed already; keep reading for its report.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One call a fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `ComplianceSource::list_nodes`, with the single node asked for, if any.
    ListNodes {
        /// The `only` argument.
        only: Option<String>,
    },
    /// `ComplianceSource::node_patches` of a node.
    NodePatches {
        /// The node's id.
        node: String,
    },
    /// `FindingSink::read`.
    Read(FindingQuery),
    /// `FindingSink::import`: the finding ids, in the order given.
    Import(Vec<String>),
}

/// The calls fakes received, in order, shared by clones.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    fn push(&self, call: Call) {
        lock(&self.0).push(call);
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.0).clone()
    }

    /// The ids of every import call that carried findings, in order.
    pub fn imports(&self) -> Vec<Vec<String>> {
        lock(&self.0)
            .iter()
            .filter_map(|c| match c {
                Call::Import(ids) if !ids.is_empty() => Some(ids.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every finding id imported, in order (a flat [`CallLog::imports`]).
    pub fn imported(&self) -> Vec<String> {
        self.imports().into_iter().flatten().collect()
    }

    /// The nodes whose patches were read, in order.
    pub fn patch_reads(&self) -> Vec<String> {
        lock(&self.0)
            .iter()
            .filter_map(|c| match c {
                Call::NodePatches { node } => Some(node.clone()),
                _ => None,
            })
            .collect()
    }

    /// The queries read, in order.
    pub fn reads(&self) -> Vec<FindingQuery> {
        lock(&self.0)
            .iter()
            .filter_map(|c| match c {
                Call::Read(q) => Some(q.clone()),
                _ => None,
            })
            .collect()
    }

    /// Forgets the calls so far (between two runs).
    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

/// A node of `account` in `region` whose last patch operation, a Scan, ended at `scan_end`, with
/// `patches` and the counts they give (SSM's `DescribeInstancePatchStates`).
pub fn node(
    account: &str,
    region: &str,
    id: &str,
    scan_end: DateTime<Utc>,
    patches: Vec<PatchItem>,
) -> NodeCompliance {
    let mut node = ManagedNode::new(account, region, "aws", id);
    node.platform = Platform::Linux;
    node.platform_name = "Amazon Linux".into();
    node.ping_status = PingStatus::Online;
    node.baseline_id = Some("pb-0123456789abcdef0".into());
    node.last_operation = Some(PatchOperation {
        operation: Operation::Scan,
        start: scan_end - Duration::minutes(5),
        end: scan_end,
        execution_id: Some(format!("exec-{id}-{}", scan_end.timestamp())),
        reboot_option: Some("NoReboot".into()),
    });
    node.counts = counts_of(&patches);
    NodeCompliance { node, patches }
}

fn counts_of(patches: &[PatchItem]) -> PatchCounts {
    let mut c = PatchCounts::default();
    for p in patches {
        let n = match p.state {
            PatchState::Installed => &mut c.installed,
            PatchState::InstalledOther => &mut c.installed_other,
            PatchState::InstalledPendingReboot => &mut c.installed_pending_reboot,
            PatchState::InstalledRejected => &mut c.installed_rejected,
            PatchState::Missing => &mut c.missing,
            PatchState::NotApplicable => &mut c.not_applicable,
            PatchState::Failed => &mut c.failed,
            PatchState::AvailableSecurityUpdate => &mut c.available_security_update,
        };
        *n += 1;
    }
    c
}

/// SSM in memory: a list of nodes with their patches, replaceable between runs.
#[derive(Debug, Clone)]
pub struct MemorySource {
    nodes: Arc<Mutex<Vec<NodeCompliance>>>,
    log: CallLog,
}

impl MemorySource {
    /// SSM knowing these nodes.
    pub fn new(nodes: Vec<NodeCompliance>) -> Self {
        MemorySource {
            nodes: Arc::new(Mutex::new(nodes)),
            log: CallLog::default(),
        }
    }

    /// Records into `log` instead of a log of its own.
    pub fn with_log(mut self, log: CallLog) -> Self {
        self.log = log;
        self
    }

    /// What SSM reports from now on (for every clone).
    pub fn set_nodes(&self, nodes: Vec<NodeCompliance>) {
        *lock(&self.nodes) = nodes;
    }

    /// The calls received.
    pub fn log(&self) -> &CallLog {
        &self.log
    }
}

impl ComplianceSource for MemorySource {
    /// The nodes (or just `only`) with every tag they carry: the mapping applies the policy's
    /// tag filters itself, so more tags than SsmSource reads change nothing.
    async fn list_nodes(&self, only: Option<&str>, _: &[TagFilter]) -> Nodes {
        self.log.push(Call::ListNodes {
            only: only.map(str::to_string),
        });
        Ok(lock(&self.nodes)
            .iter()
            .filter(|nc| only.is_none_or(|id| nc.node.instance_id == id))
            .map(|nc| nc.node.clone())
            .collect())
    }

    async fn node_patches(&self, node: &mut ManagedNode) -> Result<Vec<PatchItem>, ApiError> {
        self.log.push(Call::NodePatches {
            node: node.instance_id.clone(),
        });
        Ok(lock(&self.nodes)
            .iter()
            .find(|nc| nc.node.instance_id == node.instance_id)
            .map(|nc| nc.patches.clone())
            .unwrap_or_default())
    }
}

/// Security Hub in memory: findings by id.
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    store: Arc<Mutex<BTreeMap<String, Finding>>>,
    log: CallLog,
}

impl MemorySink {
    /// An empty Security Hub.
    pub fn new() -> Self {
        MemorySink::default()
    }

    /// Security Hub already holding `findings` (e.g. another scope's, or an earlier run's).
    pub fn holding(findings: impl IntoIterator<Item = Finding>) -> Self {
        let sink = MemorySink::new();
        lock(&sink.store).extend(findings.into_iter().map(|f| (f.id.clone(), f)));
        sink
    }

    /// Records into `log` instead of a log of its own.
    pub fn with_log(mut self, log: CallLog) -> Self {
        self.log = log;
        self
    }

    /// The calls received.
    pub fn log(&self) -> &CallLog {
        &self.log
    }

    /// The stored finding with this id.
    pub fn get(&self, id: &str) -> Option<Finding> {
        lock(&self.store).get(id).cloned()
    }

    /// Every stored finding, by id.
    pub fn findings(&self) -> Vec<Finding> {
        lock(&self.store).values().cloned().collect()
    }

    /// Ids of the active findings.
    pub fn active_ids(&self) -> BTreeSet<String> {
        lock(&self.store)
            .values()
            .filter(|f| f.is_active())
            .map(|f| f.id.clone())
            .collect()
    }
}

impl FindingSink for MemorySink {
    async fn read(&self, query: &FindingQuery) -> Result<Vec<Finding>, ApiError> {
        self.log.push(Call::Read(query.clone()));
        let wanted = |f: &Finding| {
            query.generators.contains(&f.generator_id)
                && query
                    .nodes
                    .as_ref()
                    .is_none_or(|nodes| f.node_id().is_some_and(|n| nodes.iter().any(|x| x == n)))
        };
        Ok(lock(&self.store)
            .values()
            .filter(|f| wanted(f))
            .cloned()
            .collect())
    }

    async fn import(&self, findings: Vec<Finding>) -> ImportOutcome {
        self.log.push(Call::Import(
            findings.iter().map(|f| f.id.clone()).collect(),
        ));
        let mut store = lock(&self.store);
        let mut imported = Vec::new();
        for f in findings {
            imported.push(f.id.clone());
            // Security Hub accepts an update whose UpdatedAt is not later, and ignores it.
            if store
                .get(&f.id)
                .is_none_or(|stored| f.updated_at > stored.updated_at)
            {
                store.insert(f.id.clone(), f);
            }
        }
        ImportOutcome {
            imported,
            ..ImportOutcome::default()
        }
    }
}

/// What a [`Failing`] wrapper refuses.
#[derive(Debug, Clone, Default)]
struct Faults {
    list_nodes: bool,
    node_patches: BTreeSet<String>,
    reads_of: BTreeSet<String>,
    findings: BTreeSet<String>,
}

/// A source or sink that fails chosen calls and finding ids, as AWS does once the SDK's and the
/// sink's retries gave up, until [`Failing::heal`]. Clones share the faults.
#[derive(Debug, Clone)]
pub struct Failing<T> {
    inner: T,
    faults: Arc<Mutex<Faults>>,
}

/// The per-finding error code a [`Failing`] sink reports.
pub const INJECTED: &str = "InjectedFailure";

fn injected(api: &str) -> ApiError {
    ApiError::other("-", "-", api, ErrorKind::Service, "injected failure")
}

impl<T> Failing<T> {
    /// `inner`, failing nothing yet.
    pub fn new(inner: T) -> Self {
        Failing {
            inner,
            faults: Arc::new(Mutex::new(Faults::default())),
        }
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Fails `list_nodes`.
    pub fn fail_list_nodes(self) -> Self {
        self.faults().list_nodes = true;
        self
    }

    /// Fails `node_patches` of `node`.
    pub fn fail_node_patches(self, node: &str) -> Self {
        self.faults().node_patches.insert(node.to_string());
        self
    }

    /// Fails every `read` whose query names `generator`.
    pub fn fail_reads_of(self, generator: &str) -> Self {
        self.faults().reads_of.insert(generator.to_string());
        self
    }

    /// Refuses these finding ids at import (the rest of each call goes through).
    pub fn fail_findings<S: Into<String>>(self, ids: impl IntoIterator<Item = S>) -> Self {
        self.faults()
            .findings
            .extend(ids.into_iter().map(Into::into));
        self
    }

    /// Fails nothing from now on (for every clone).
    pub fn heal(&self) {
        *self.faults() = Faults::default();
    }

    /// The wrapped source or sink.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: ComplianceSource> ComplianceSource for Failing<T> {
    async fn list_nodes(&self, only: Option<&str>, tags: &[TagFilter]) -> Nodes {
        if self.faults().list_nodes {
            return Err(injected("DescribeInstanceInformation"));
        }
        self.inner.list_nodes(only, tags).await
    }

    async fn unlisted_nodes(&self, ids: &[String]) -> Nodes {
        self.inner.unlisted_nodes(ids).await
    }

    async fn confirmations(&self) -> Result<Option<HashMap<String, Confirmation>>, ApiError> {
        self.inner.confirmations().await
    }

    async fn confirm(&self, node: &mut ManagedNode) -> Result<(), ApiError> {
        self.inner.confirm(node).await
    }

    async fn node_patches(&self, node: &mut ManagedNode) -> Result<Vec<PatchItem>, ApiError> {
        if self.faults().node_patches.contains(&node.instance_id) {
            return Err(injected("DescribeInstancePatches"));
        }
        self.inner.node_patches(node).await
    }
}

impl<T: FindingSink> FindingSink for Failing<T> {
    async fn read(&self, query: &FindingQuery) -> Result<Vec<Finding>, ApiError> {
        let refused = {
            let f = self.faults();
            query.generators.iter().any(|g| f.reads_of.contains(g))
        };
        if refused {
            return Err(injected("GetFindings"));
        }
        self.inner.read(query).await
    }

    async fn import(&self, findings: Vec<Finding>) -> ImportOutcome {
        let (refused, passed): (Vec<Finding>, Vec<Finding>) = {
            let f = self.faults();
            findings
                .into_iter()
                .partition(|x| f.findings.contains(&x.id))
        };
        let mut outcome = self.inner.import(passed).await;
        outcome
            .failed
            .extend(refused.into_iter().map(|f| FailedFinding {
                id: f.id,
                code: INJECTED.into(),
                message: "injected failure".into(),
            }));
        outcome
    }
}
