//! The sync of one account and Region: read compliance, decide which nodes changed since the last
//! sync, read back and plan only those, import, and count everything.
//!
//! Cost model. `GetFindings` is limited to 3 calls/s while `BatchImportFindings` allows 10/s, so
//! reading back every finding of a large account would cost more than importing. Each node's
//! roll-up finding records the node's substance as SSM summarises it (every patch count,
//! baseline, group), the policy's fingerprint and the node's stale status; which scan confirmed
//! it is outside its fingerprint, so a rescan that finds the same state changes nothing. A sync
//! reads the roll-ups' digests (one `GetFindings` page per 100 nodes), and only for nodes whose
//! roll-up differs (or is due for its heartbeat) reads patches from SSM and the node's findings
//! back from Security Hub. An unchanged node costs a share of one roll-up page and nothing else.
//!
//! Crash safety. A node's roll-up is imported only after all of its other findings were
//! accepted; a run that dies midway leaves roll-ups that still differ, so the next run redoes
//! exactly those nodes. Ids are deterministic, so redoing never duplicates.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use patchhub_core::finding::{self, Digest, Finding, FindingKind};
use patchhub_core::mapping;
use patchhub_core::model::{ManagedNode, NodeCompliance};
use patchhub_core::policy::FindingPolicy;
use patchhub_core::reconcile::{self, Change, NodeSet, PlanInput, Scope};
use tokio::task::JoinSet;

use crate::deadlines::Deadlines;
use crate::error::{ApiError, ErrorKind};
use crate::listing;
use crate::node_reads;
use crate::sink::{FailedFinding, FindingQuery, FindingSink, MAX_FILTER_VALUES};
use crate::source::{ComplianceSource, needs_patch_read};
use crate::stored::StoredDigests;

/// Nodes planned and imported together: large enough that imports go out in full calls of 100
/// findings (a batch's findings are imported in two waves: everything but roll-ups, then
/// roll-ups), small enough to keep memory flat and work flowing. A changed node's findings,
/// read back and rebuilt, take 100-250 KB while its batch runs.
const BATCH_NODES: usize = 50;

/// Node batches in flight at once by default. Every batch of a Region shares its APIs' quotas
/// (`GetFindings` at 3/s, each SSM read at its own rate), so more batches do not sync faster
/// once the quotas are busy; four keep reading back, reading SSM and importing overlapped
/// (16 SSM reads in flight, see `node_reads`) while holding at most 200 changed nodes.
pub const BATCH_CONCURRENCY: usize = 4;

/// Receives each finding a run imports (or would import, with `dry_run`) and the part of the
/// plan it comes from, e.g. to write JSONL or OCSF events.
pub type FindingObserver = Arc<dyn Fn(&Finding, Change) + Send + Sync>;

/// How to run a sync.
#[derive(Clone)]
pub struct SyncOptions {
    /// What findings exist and what they say.
    pub policy: FindingPolicy,
    /// Single-node mode: read and touch only this node's findings.
    pub only_instance: Option<String>,
    /// Several-node mode (with `only_instance`, if set, counted among them): read and touch only
    /// these nodes' findings, read back together (at most [`MAX_FILTER_VALUES`] nodes, one
    /// `GetFindings` filter). A node whose SSM data cannot be read is left as it was and named in
    /// `nodes_failed`; the others are synced. Empty: `only_instance` alone decides.
    pub only_instances: BTreeSet<String>,
    /// Plan and report, import nothing.
    pub dry_run: bool,
    /// Node batches in flight at once within one account and Region.
    pub batch_concurrency: usize,
    /// Sees every finding imported (or planned, in a dry run).
    pub observer: Option<FindingObserver>,
    /// Patch deadlines (SLA, KEV) and the instant they are judged at; off by default.
    pub deadlines: Arc<Deadlines>,
    /// When to stop starting node batches (a Lambda's deadline less a margin): the batches under
    /// way finish, so every node is written whole or not at all; the changed nodes not started
    /// are left for the next sweep (which finds the finished ones unchanged) and nodes gone from
    /// SSM are not archived. `None`: no limit.
    pub stop_at: Option<std::time::Instant>,
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("policy", &self.policy)
            .field("only_instance", &self.only_instance)
            .field("only_instances", &self.only_instances)
            .field("dry_run", &self.dry_run)
            .field("batch_concurrency", &self.batch_concurrency)
            .field("deadlines", &self.deadlines.policy.key())
            .field("stop_at", &self.stop_at)
            .finish()
    }
}

impl SyncOptions {
    /// Defaults: the default policy, a sweep, importing, [`BATCH_CONCURRENCY`] batches in flight.
    pub fn new(policy: FindingPolicy) -> Self {
        SyncOptions {
            policy,
            only_instance: None,
            only_instances: BTreeSet::new(),
            dry_run: false,
            batch_concurrency: BATCH_CONCURRENCY,
            observer: None,
            deadlines: Arc::default(),
            stop_at: None,
        }
    }
}

/// What a sync of one account and Region did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TargetSummary {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Managed nodes read from SSM.
    pub nodes_read: usize,
    /// Of those, non-compliant.
    pub non_compliant: usize,
    /// Nodes whose findings were re-evaluated (changed, new, or due for refresh).
    pub nodes_changed: usize,
    /// Nodes gone from SSM whose findings were archived (sweeps only).
    pub nodes_gone: usize,
    /// Findings created.
    pub created: usize,
    /// Findings updated (content changed).
    pub updated: usize,
    /// Findings left as they are (no ingestion cost), counted where they were read back.
    pub unchanged: usize,
    /// Findings re-sent unchanged so they outlive Security Hub's 90-day retention.
    pub refreshed: usize,
    /// Findings resolved (PASSED, ARCHIVED).
    pub resolved: usize,
    /// Archived findings made active again.
    pub reopened: usize,
    /// Findings not resolved because SSM's data predates them.
    pub held_back: usize,
    /// Node tags Security Hub would refuse, kept with refused characters replaced.
    pub tags_rewritten: usize,
    /// Node tags Security Hub would refuse, left out of the findings.
    pub tags_dropped: usize,
    /// Findings that could not be imported.
    pub failed: usize,
    /// Which, and why.
    pub failures: Vec<FailedFinding>,
    /// Nodes left as they were because their SSM data or existing findings could not be read
    /// (the next run retries them).
    pub nodes_failed: Vec<String>,
    /// Calls made, by operation.
    pub api_calls: BTreeMap<String, u64>,
    /// A failure that stopped (part of) this target, if any.
    pub error: Option<String>,
    /// The class of that failure.
    pub error_kind: Option<ErrorKind>,
    /// Why there was nothing to do here, when the target was skipped without a failure (no
    /// managed node and no Security Hub: typical of the quiet Regions `all-enabled` lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The sweep stopped at `SyncOptions::stop_at` before every changed node was synced; the
    /// next sweep continues with the rest.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Changed nodes left for the next sweep when `partial`.
    #[serde(skip_serializing_if = "is_zero")]
    pub nodes_deferred: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl TargetSummary {
    /// Billable ingestion events this run caused (imports that Security Hub accepted).
    pub fn ingestion_events(&self) -> usize {
        self.created + self.updated + self.refreshed + self.resolved + self.reopened
    }

    /// Whether everything was written.
    pub fn is_ok(&self) -> bool {
        self.failed == 0 && self.error.is_none()
    }

    fn fail(&mut self, e: &ApiError) {
        if self.error.is_none() {
            self.error = Some(e.to_string());
            self.error_kind = Some(e.kind);
        }
    }
}

/// What we know of a node in this run.
struct NodeWork {
    node: ManagedNode,
    /// Whether its patches must be read (the counts say non-compliant).
    read_patches: bool,
}

/// Everything one batch needs, shared by the batch tasks.
struct Shared<S, K> {
    source: S,
    sink: K,
    opts: SyncOptions,
    account: String,
    region: String,
    now: DateTime<Utc>,
    /// Every existing finding by node, when read in one scan.
    patch_level: Option<HashMap<String, Vec<Finding>>>,
    summary: Mutex<TargetSummary>,
}

fn by_node(findings: Vec<Finding>) -> HashMap<String, Vec<Finding>> {
    let mut map: HashMap<String, Vec<Finding>> = HashMap::new();
    for f in findings {
        if let Some(n) = f.node_id() {
            map.entry(n.to_string()).or_default().push(f);
        }
    }
    map
}

/// Counts what the summary says of every node read, changed or not.
fn count_node(summary: &mut TargetSummary, node: &ManagedNode) {
    let (_, repairs) = mapping::resource_tags(&node.tags);
    summary.tags_rewritten += repairs.rewritten;
    summary.tags_dropped += repairs.dropped;
    if needs_patch_read(node) {
        summary.non_compliant += 1;
    }
}

/// Every generator patchhub writes: a changed node's findings are read back whole.
fn all_generators() -> Vec<String> {
    [
        finding::GENERATOR_PATCH,
        finding::GENERATOR_ROLLUP,
        finding::GENERATOR_STALE,
    ]
    .map(str::to_string)
    .to_vec()
}

/// Whether the node's findings can be left alone: its roll-up (and stale finding) would come out
/// identical and is not due for a refresh. A sweep's listing cannot tell whether the node's
/// baseline counts available security updates as compliant (its compliance items can, read when
/// the node changes): a node with such updates is unchanged if its stored findings match under
/// either reading, the stored one being the reading its items gave when it was last read.
fn unchanged(
    node: &ManagedNode,
    existing: Option<&[Digest]>,
    policy: &FindingPolicy,
    deadlines: &Deadlines,
    now: DateTime<Utc>,
) -> bool {
    if !policy.rollup {
        return false;
    }
    let existing: &[Digest] = existing.unwrap_or_default();
    let matches = |node: &ManagedNode| {
        // A never-scanned node wants no roll-up; with none stored it is as unchanged as any.
        let mut rollup = mapping::rollup_finding(node, policy, now);
        // Deadlines: a node judged under another policy, or whose next deadline has passed, is
        // judged again; otherwise its roll-up compares as the policy stored it.
        if let (Some(r), Some(stored)) = (
            rollup.as_mut(),
            existing
                .iter()
                .find(|f| f.kind == Some(FindingKind::Rollup) && f.active),
        ) {
            let (recorded, next_due) = (
                stored.deadline_policy.as_deref(),
                stored.next_due_at.as_deref(),
            );
            let as_of = deadlines.as_of.unwrap_or(now);
            if deadlines
                .policy
                .rollup_as_stored(r, recorded, next_due, as_of)
                .is_none()
            {
                return false;
            }
        }
        let same = |desired: Option<Finding>, kind: FindingKind| {
            let current = existing.iter().find(|f| f.kind == Some(kind) && f.active);
            match (desired, current) {
                (None, None) => true,
                (Some(d), Some(c)) => {
                    c.fingerprint.as_deref() == Some(d.compute_fingerprint().as_str())
                        && !reconcile::due(&c.key, c.updated_at, now, policy.refresh_after)
                }
                _ => false,
            }
        };
        same(rollup, FindingKind::Rollup)
            && same(
                mapping::stale_finding(node, policy, now),
                FindingKind::StaleScan,
            )
    };
    // The node as listed, and, only when that differs and it has available security updates,
    // under the other reading (the clone is paid by few nodes of a sweep, not by every one).
    matches(node)
        || (node.counts.available_security_update > 0 && {
            let mut other = node.clone();
            other.available_security_updates_compliant = !node.available_security_updates_compliant;
            matches(&other)
        })
}

/// Syncs one account and Region. Never panics on AWS data; failures are in the summary.
pub async fn sync_target<S, K>(
    source: S,
    sink: K,
    account: &str,
    region: &str,
    opts: SyncOptions,
    now: DateTime<Utc>,
) -> TargetSummary
where
    S: ComplianceSource + Clone + 'static,
    K: FindingSink + Clone + 'static,
{
    let mut summary = TargetSummary {
        account: account.to_string(),
        region: region.to_string(),
        ..Default::default()
    };
    let several: BTreeSet<String> = opts
        .only_instances
        .iter()
        .chain(opts.only_instance.iter())
        .cloned()
        .collect();
    let only = if several.len() > 1 {
        None
    } else {
        several.first().cloned()
    };
    let policy = opts.policy.clone();

    // The SSM listing and the roll-up read-back are independent: run them side by side (the
    // read-back is bound by GetFindings' 3/s, the listing by the SSM quotas).
    let node_query = FindingQuery {
        generators: vec![
            finding::GENERATOR_ROLLUP.to_string(),
            finding::GENERATOR_STALE.to_string(),
        ],
        nodes: (!several.is_empty()).then(|| several.iter().cloned().collect()),
    };
    let listing = async {
        if several.len() > 1 {
            list_several(&source, &several, &policy, account, region).await
        } else {
            source
                .list_nodes(only.as_deref(), &policy.exclude_tags)
                .await
                .map(|n| (n, Vec::new()))
        }
    };
    let (nodes, node_level) = tokio::join!(listing, sink.read_digests(&node_query));
    let mut nodes = match nodes {
        Ok((n, unread)) => {
            for (id, e) in unread {
                summary.fail(&e);
                summary.nodes_failed.push(id);
            }
            n
        }
        Err(e) => {
            summary.fail(&e);
            return summary;
        }
    };
    summary.nodes_read = nodes.len();
    let node_level = match node_level {
        Ok(d) => StoredDigests::new(d),
        // Nothing to write and nowhere to write it: not a failure.
        Err(e) if e.kind == ErrorKind::HubNotEnabled && nodes.is_empty() => {
            summary.skipped =
                Some("no managed nodes, and Security Hub is not enabled here".to_string());
            return summary;
        }
        Err(e) => {
            summary.fail(&e);
            return summary;
        }
    };

    // Stopped nodes are in no listing: Security Hub names those synced before.
    let sweep = several.is_empty();
    if sweep {
        match listing::stopped_nodes(&source, &nodes, &node_level).await {
            Ok(found) => nodes.extend(found),
            Err(e) => {
                summary.fail(&e);
                return summary;
            }
        }
    }
    listing::adopt_execution_ids(&mut nodes, &node_level);

    // Judge each node against its digests and keep whole only the changed ones: of an unchanged
    // node the rest of the sync needs its id alone, so what stays alive while batches run grows
    // with change, not with the fleet.
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut work: Vec<NodeWork> = Vec::new();
    for node in nodes {
        count_node(&mut summary, &node);
        let existing = node_level.get(&node.instance_id);
        if unchanged(&node, existing, &policy, &opts.deadlines, now) {
            summary.unchanged += existing
                .map(|e| e.iter().filter(|f| f.active).count())
                .unwrap_or(0);
            known.insert(node.instance_id);
        } else {
            known.insert(node.instance_id.clone());
            work.push(NodeWork {
                read_patches: needs_patch_read(&node),
                node,
            });
        }
    }
    if sweep {
        let open = work
            .iter()
            .filter(|w| !w.read_patches && listing::execution_open(&w.node))
            .count();
        let changed = work.iter_mut().map(|w| &mut w.node);
        match listing::confirm_in_bulk(&source, changed, open, &known).await {
            Ok(found) => {
                for node in found.into_iter().flatten() {
                    count_node(&mut summary, &node);
                    known.insert(node.instance_id.clone());
                    work.push(NodeWork {
                        read_patches: needs_patch_read(&node),
                        node,
                    });
                }
            }
            Err(e) => {
                summary.fail(&e);
                return summary;
            }
        }
    }
    summary.nodes_changed = work.len();
    summary.nodes_read = known.len();

    // Nodes Security Hub knows but SSM no longer does: only a sweep may archive them.
    let mut gone: BTreeSet<String> = BTreeSet::new();
    if sweep {
        for (node, findings) in node_level.nodes() {
            if !known.contains(node) && findings.iter().any(|f| f.active) {
                gone.insert(node.to_string());
            }
        }
    }

    // Read patch findings back in one scan when that is cheaper than per-node batches (first
    // sync, many changes, or no roll-ups to tell what changed). Not when many changed under a
    // deadline: the scan reads every finding of the Region before the first batch, so each
    // invocation of a Lambda sweep that continues a first sync would pay for all the findings
    // the earlier ones imported (1,000 pages, 415 s of 900, at 87,000); batches read back only
    // the nodes they get to, beside those nodes' SSM reads.
    let batched_calls = (work.len() + gone.len()).div_ceil(MAX_FILTER_VALUES);
    let rollups_seen = node_level
        .nodes()
        .filter(|(_, v)| v.iter().any(|f| f.kind == Some(FindingKind::Rollup)))
        .count();
    // The digests have told what they could: the batches need none of them.
    drop(node_level);
    let full_scan = sweep
        && (!policy.rollup
            || rollups_seen == 0
            || (opts.stop_at.is_none() && batched_calls > known.len().div_ceil(100).max(1)));
    let patch_level = if full_scan {
        let q = FindingQuery {
            generators: all_generators(),
            nodes: None,
        };
        // Keep the findings of the changed nodes and of nodes SSM no longer lists (gone, if
        // active), page by page: the unchanged nodes' findings are not needed, and when a scan
        // is chosen because thousands of nodes changed they are still most of the Region's.
        let changed: HashSet<&str> = work.iter().map(|w| w.node.instance_id.as_str()).collect();
        let keep = |n: &str| changed.contains(n) || !known.contains(n);
        match sink.read_nodes_where(&q, &keep).await {
            Ok(f) => {
                let map = by_node(f);
                for (node, findings) in &map {
                    if !known.contains(node.as_str()) && findings.iter().any(|f| f.is_active()) {
                        gone.insert(node.clone());
                    }
                }
                Some(map)
            }
            Err(e) => {
                summary.fail(&e);
                return summary;
            }
        }
    } else {
        None
    };
    drop(known);
    summary.nodes_gone = gone.len();

    let shared = Arc::new(Shared {
        source,
        sink,
        opts: opts.clone(),
        account: account.to_string(),
        region: region.to_string(),
        now,
        patch_level,
        summary: Mutex::new(summary),
    });

    // Batches of up to BATCH_NODES nodes, several in flight; the limiter keeps each API at its
    // quota while batches overlap SSM reads with Security Hub writes. Nodes gone from SSM come
    // last, in batches of their own, and only once every changed node was synced: a sweep cut
    // short at its deadline archives nothing.
    let mut work = work.into_iter().peekable();
    let mut batches = Vec::new();
    while work.peek().is_some() {
        batches.push((work.by_ref().take(BATCH_NODES).collect(), Vec::new()));
    }
    let gone: Vec<String> = gone.into_iter().collect();
    let gone_batches = gone
        .chunks(BATCH_NODES)
        .map(|g| (Vec::new(), g.to_vec()))
        .collect();
    let limit = opts.batch_concurrency.max(1);
    let deferred = run_batches(&shared, batches, limit, opts.stop_at).await;
    let cut = deferred > 0 || shared.summary.lock().expect("summary lock").partial;
    let deferred_gone = if !cut {
        run_batches(&shared, gone_batches, limit, opts.stop_at).await
    } else {
        gone.len()
    };
    let mut summary = shared.summary.lock().expect("summary lock").clone();
    if deferred + deferred_gone > 0 {
        summary.partial = true;
        summary.nodes_deferred += deferred + deferred_gone;
        summary.nodes_gone -= deferred_gone;
    }
    summary
}

/// Runs `batches`, `limit` at a time, starting none at or after `stop_at`; returns how many
/// nodes were not started.
async fn run_batches<S, K>(
    shared: &Arc<Shared<S, K>>,
    batches: Vec<(Vec<NodeWork>, Vec<String>)>,
    limit: usize,
    stop_at: Option<std::time::Instant>,
) -> usize
where
    S: ComplianceSource + Clone + 'static,
    K: FindingSink + Clone + 'static,
{
    let mut set = JoinSet::new();
    let mut queue = batches.into_iter();
    let mut left = 0;
    loop {
        while set.len() < limit {
            let Some((nodes, gone)) = queue.next() else {
                break;
            };
            if stop_at.is_some_and(|t| std::time::Instant::now() >= t) {
                left =
                    nodes.len() + gone.len() + queue.map(|(n, g)| n.len() + g.len()).sum::<usize>();
                queue = Vec::new().into_iter();
                break;
            }
            let shared = shared.clone();
            set.spawn(async move { run_batch(shared, nodes, gone).await });
        }
        match set.join_next().await {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                let err = ApiError::other(
                    &shared.account,
                    &shared.region,
                    "sync",
                    ErrorKind::Service,
                    format!("a batch task failed: {e}"),
                );
                shared.summary.lock().expect("summary lock").fail(&err);
            }
            None => break,
        }
    }
    left
}

/// Several nodes' SSM data, each listed as in single-node mode, side by side (the limiter paces
/// them). A node whose listing fails is returned with its error instead of failing the others.
async fn list_several<S>(
    source: &S,
    ids: &BTreeSet<String>,
    policy: &FindingPolicy,
    account: &str,
    region: &str,
) -> Result<(Vec<ManagedNode>, Vec<(String, ApiError)>), ApiError>
where
    S: ComplianceSource + Clone + 'static,
{
    let mut set = JoinSet::new();
    for id in ids {
        let (source, id, tags) = (source.clone(), id.clone(), policy.exclude_tags.clone());
        set.spawn(async move {
            let listed = source.list_nodes(Some(&id), &tags).await;
            (id, listed)
        });
    }
    let (mut nodes, mut unread) = (Vec::new(), Vec::new());
    while let Some(res) = set.join_next().await {
        match res {
            Ok((_, Ok(n))) => nodes.extend(n),
            Ok((id, Err(e))) => unread.push((id, e)),
            Err(e) => {
                return Err(ApiError::other(
                    account,
                    region,
                    "DescribeInstanceInformation",
                    ErrorKind::Service,
                    format!("a listing task failed: {e}"),
                ));
            }
        }
    }
    nodes.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    unread.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((nodes, unread))
}

async fn run_batch<S, K>(shared: Arc<Shared<S, K>>, nodes: Vec<NodeWork>, gone: Vec<String>)
where
    S: ComplianceSource + Clone + 'static,
    K: FindingSink + Clone + 'static,
{
    let opts = &shared.opts;
    let policy = &opts.policy;
    let mut ids: BTreeSet<String> = nodes.iter().map(|w| w.node.instance_id.clone()).collect();
    ids.extend(gone.iter().cloned());

    // Existing findings of these nodes: only digests of the roll-ups were kept, so everything
    // is read back here (the same calls that read the patch findings).
    let mut existing: Vec<Finding> = Vec::new();
    match &shared.patch_level {
        Some(map) => {
            for id in &ids {
                existing.extend(map.get(id).into_iter().flatten().cloned());
            }
        }
        None => {
            // At most 20 values per filter attribute: read back in chunks, side by side.
            let all: Vec<String> = ids.iter().cloned().collect();
            let mut reads = JoinSet::new();
            for chunk in all.chunks(MAX_FILTER_VALUES) {
                let (sink, chunk) = (shared.sink.clone(), chunk.to_vec());
                reads.spawn(async move {
                    sink.read(&FindingQuery {
                        generators: all_generators(),
                        nodes: Some(chunk),
                    })
                    .await
                });
            }
            while let Some(res) = reads.join_next().await {
                match res.map_err(|e| {
                    ApiError::other(
                        &shared.account,
                        &shared.region,
                        "GetFindings",
                        ErrorKind::Service,
                        e.to_string(),
                    )
                }) {
                    Ok(Ok(f)) => existing.extend(f),
                    Ok(Err(e)) | Err(e) => {
                        let mut s = shared.summary.lock().expect("summary lock");
                        s.fail(&e);
                        s.nodes_failed.extend(ids.iter().cloned());
                        return;
                    }
                }
            }
        }
    }

    // Desired findings. Patches are read (a few at a time per batch; the limiter paces them)
    // only where the counts say there is something to read; that read also confirms the node,
    // and the other nodes with a new scan are confirmed on their own. Nodes not read (a failure,
    // or the deadline) leave the batch's scope: nothing of theirs is written.
    let mut nodes: Vec<(ManagedNode, bool)> = nodes
        .into_iter()
        .map(|w| (w.node, w.read_patches))
        .collect();
    let reads = match node_reads::read_nodes(&shared.source, &mut nodes, opts.stop_at).await {
        Ok(r) => r,
        Err(e) => {
            let e = ApiError::other(
                &shared.account,
                &shared.region,
                "DescribeInstancePatches",
                ErrorKind::Service,
                e,
            );
            let mut s = shared.summary.lock().expect("summary lock");
            s.fail(&e);
            s.nodes_failed.extend(ids.iter().cloned());
            return;
        }
    };
    let mut patches_of: HashMap<usize, Vec<patchhub_core::model::PatchItem>> =
        reads.patches.into_iter().collect();
    let mut failed_nodes: BTreeSet<String> = BTreeSet::new();
    {
        let mut s = shared.summary.lock().expect("summary lock");
        for (i, e) in reads.failed {
            // Leave this node's findings as they are; the next run retries it.
            s.fail(&e);
            s.nodes_failed.push(nodes[i].0.instance_id.clone());
            failed_nodes.insert(nodes[i].0.instance_id.clone());
        }
        if !reads.deferred.is_empty() {
            s.partial = true;
            s.nodes_deferred += reads.deferred.len();
        }
        for i in reads.deferred {
            failed_nodes.insert(nodes[i].0.instance_id.clone());
        }
    }
    let mut desired = Vec::new();
    let mut node_scans = BTreeMap::new();
    for (i, (node, _)) in nodes.iter().enumerate() {
        if failed_nodes.contains(&node.instance_id) {
            continue;
        }
        node_scans.insert(
            node.instance_id.clone(),
            node.last_operation.as_ref().map(|o| o.end),
        );
        let nc = NodeCompliance {
            node: node.clone(),
            patches: patches_of.remove(&i).unwrap_or_default(),
        };
        desired.extend(mapping::findings_for_node(&nc, policy, shared.now));
    }
    for g in &gone {
        node_scans.insert(g.clone(), None);
    }
    let scope_nodes: BTreeSet<String> = ids
        .iter()
        .filter(|id| !failed_nodes.contains(*id))
        .cloned()
        .collect();
    let scope = Scope {
        account_id: shared.account.clone(),
        region: shared.region.clone(),
        nodes: NodeSet::Only(scope_nodes),
    };
    // Deadlines count from the first sighting the stored twin carries.
    let as_of = opts.deadlines.as_of.unwrap_or(shared.now);
    opts.deadlines
        .policy
        .decorate(&mut desired, &existing, as_of, shared.now);
    let plan = reconcile::plan(PlanInput {
        scope: &scope,
        desired,
        existing,
        node_scans,
        now: shared.now,
        refresh_after: policy.refresh_after,
    });

    // Which ids fall in which plan bucket, to count what was accepted.
    let bucket: HashMap<String, Change> = plan.changes().map(|(f, c)| (f.id.clone(), c)).collect();
    let (rollups, others): (Vec<Finding>, Vec<Finding>) = plan
        .to_import()
        .cloned()
        .partition(|f| f.kind() == Some(FindingKind::Rollup));

    {
        let mut s = shared.summary.lock().expect("summary lock");
        s.unchanged += plan.unchanged.len();
        s.held_back += plan.held_back.len();
    }

    if opts.dry_run {
        let mut s = shared.summary.lock().expect("summary lock");
        for f in others.iter().chain(rollups.iter()) {
            let change = bucket.get(&f.id).copied();
            if let (Some(obs), Some(c)) = (&opts.observer, change) {
                obs(f, c);
            }
            count(&mut s, change);
        }
        return;
    }

    let first = shared.sink.import(others.clone()).await;
    let failed_first: BTreeSet<String> = first.failed.iter().map(|f| f.id.clone()).collect();
    // A node's roll-up goes in only if everything else of that node went in.
    let mut blocked_nodes: BTreeSet<String> = BTreeSet::new();
    for f in &others {
        if failed_first.contains(&f.id)
            && let Some(n) = f.node_id()
        {
            blocked_nodes.insert(n.to_string());
        }
    }
    let (rollups_now, rollups_held): (Vec<Finding>, Vec<Finding>) = rollups
        .into_iter()
        .partition(|f| f.node_id().is_none_or(|n| !blocked_nodes.contains(n)));
    let second = shared.sink.import(rollups_now.clone()).await;

    let mut s = shared.summary.lock().expect("summary lock");
    for outcome in [&first, &second] {
        for id in &outcome.imported {
            count(&mut s, bucket.get(id).copied());
        }
        s.failed += outcome.failed.len();
        s.failures.extend(outcome.failed.iter().cloned());
        if let Some(e) = &outcome.call_error {
            s.fail(e);
        }
    }
    for f in &rollups_held {
        s.failed += 1;
        s.failures.push(FailedFinding {
            id: f.id.clone(),
            code: "HeldBack".into(),
            message: "roll-up not updated because other findings of this node failed; the next run retries".into(),
        });
    }
    if let Some(obs) = &opts.observer {
        let accepted: BTreeSet<&String> = first
            .imported
            .iter()
            .chain(second.imported.iter())
            .collect();
        for f in others.iter().chain(rollups_now.iter()) {
            if accepted.contains(&f.id)
                && let Some(c) = bucket.get(&f.id)
            {
                obs(f, *c);
            }
        }
    }
}

fn count(s: &mut TargetSummary, change: Option<Change>) {
    match change {
        Some(Change::Create) => s.created += 1,
        Some(Change::Update) => s.updated += 1,
        Some(Change::Refresh) => s.refreshed += 1,
        Some(Change::Resolve) => s.resolved += 1,
        Some(Change::Reopen) => s.reopened += 1,
        None => {}
    }
}
