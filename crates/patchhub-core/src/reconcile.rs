//! Reconciliation planner: desired findings + what Security Hub holds = what to import.
//!
//! The plan decides per `Id`: create, update (content changed), refresh (unchanged but
//! close to Security Hub's 90-day retention), unchanged (skipped: no ingestion cost),
//! resolve (active but no longer desired) and reopen (desired again after being archived).
//! It never touches a finding outside its [`Scope`], and never resolves or overwrites a
//! finding with data older than the data the finding was built from.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};

use crate::finding::{
    Compliance, ComplianceStatus, Finding, RecordState, fields, fit_and_seal, keep_by_id, prefer,
};
use crate::text::{rfc3339, to_millis};

/// Which nodes a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeSet {
    /// Every node of the account and Region: a full sweep. Findings of nodes that were
    /// not read (deleted, deregistered) are resolved.
    All,
    /// Only these node ids (event-driven or partial runs). Nothing else is touched.
    Only(BTreeSet<String>),
}

/// The part of Security Hub a run owns: one account and Region, all or some nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// 12-digit account id.
    pub account_id: String,
    /// Region code.
    pub region: String,
    /// Nodes covered.
    pub nodes: NodeSet,
}

impl Scope {
    /// A full sweep of one account and Region.
    pub fn all(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        Scope {
            account_id: account_id.into(),
            region: region.into(),
            nodes: NodeSet::All,
        }
    }

    /// A run over the given nodes only.
    pub fn nodes<I, S>(account_id: impl Into<String>, region: impl Into<String>, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Scope {
            account_id: account_id.into(),
            region: region.into(),
            nodes: NodeSet::Only(ids.into_iter().map(Into::into).collect()),
        }
    }

    /// Whether the run owns `f`: a patchhub `GeneratorId`, the same account and `Region`,
    /// and, for [`NodeSet::Only`], a `patchhub/NodeId` in the set. A finding without a node
    /// id belongs only to a full sweep. Requiring the patchhub generator for every finding
    /// (not only node-less ones) keeps other products' findings that share the default
    /// product ARN out of reach.
    pub fn contains(&self, f: &Finding) -> bool {
        if !f.is_patchhub()
            || f.aws_account_id != self.account_id
            || f.region.as_deref() != Some(self.region.as_str())
        {
            return false;
        }
        match (&self.nodes, f.node_id()) {
            (NodeSet::All, _) => true,
            (NodeSet::Only(set), Some(n)) => set.contains(n),
            (NodeSet::Only(_), None) => false,
        }
    }
}

/// Everything the planner needs.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// What this run owns.
    pub scope: &'a Scope,
    /// Findings the mapping produced for the nodes read in this run.
    pub desired: Vec<Finding>,
    /// Findings of the scope as read back from Security Hub (any record state).
    pub existing: Vec<Finding>,
    /// Nodes read in this run and the end of their last patch operation (`None`: read,
    /// but SSM reports no patch operation). A node must be listed only if it was read
    /// successfully: in a full sweep an unlisted node counts as gone.
    pub node_scans: BTreeMap<String, Option<DateTime<Utc>>>,
    /// The run's clock.
    pub now: DateTime<Utc>,
    /// Heartbeat period (policy `refresh_after`): an unchanged finding is re-sent once its age
    /// reaches its [`refresh_interval`], between half of this and all of it.
    pub refresh_after: Duration,
}

/// What to import and what was skipped. Every finding in the import sets carries
/// `UpdatedAt` later than the stored one, the stored `CreatedAt`/`FirstObservedAt`, and a
/// fresh fingerprint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// New findings.
    pub create: Vec<Finding>,
    /// Content changed.
    pub update: Vec<Finding>,
    /// Unchanged, re-sent so retention does not delete them.
    pub refresh: Vec<Finding>,
    /// Active but no longer desired: sent back with Compliance PASSED, RecordState ARCHIVED.
    pub resolve: Vec<Finding>,
    /// Desired again while archived: sent ACTIVE.
    pub reopen: Vec<Finding>,
    /// Ids left as they are (same content, or archived and not desired).
    pub unchanged: Vec<String>,
    /// Input findings (desired or existing) ignored because they are outside the scope.
    pub out_of_scope: usize,
    /// Ids not resolved or overwritten because this run's data is older than theirs.
    pub held_back: Vec<String>,
}

/// Sizes of a [`Plan`]'s parts, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct PlanCounts {
    pub create: usize,
    pub update: usize,
    pub refresh: usize,
    pub resolve: usize,
    pub reopen: usize,
    pub unchanged: usize,
    pub out_of_scope: usize,
    pub held_back: usize,
}

impl PlanCounts {
    /// Findings the plan imports (each one an ingestion event).
    pub fn imports(&self) -> usize {
        self.create + self.update + self.refresh + self.resolve + self.reopen
    }
}

/// What the plan does to one finding it imports: the part of the [`Plan`] it sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Change {
    /// New finding.
    Create,
    /// Content changed.
    Update,
    /// Unchanged, re-sent for retention.
    Refresh,
    /// No longer desired: PASSED and ARCHIVED.
    Resolve,
    /// Desired again after being archived: ACTIVE.
    Reopen,
}

impl Plan {
    /// Everything to send to `BatchImportFindings`: create, update, refresh, resolve, reopen.
    pub fn to_import(&self) -> impl Iterator<Item = &Finding> {
        self.changes().map(|(f, _)| f)
    }

    /// [`Plan::to_import`] with the part each finding comes from, in the same order.
    pub fn changes(&self) -> impl Iterator<Item = (&Finding, Change)> {
        fn part(set: &[Finding], c: Change) -> impl Iterator<Item = (&Finding, Change)> {
            set.iter().map(move |f| (f, c))
        }
        part(&self.create, Change::Create)
            .chain(part(&self.update, Change::Update))
            .chain(part(&self.refresh, Change::Refresh))
            .chain(part(&self.resolve, Change::Resolve))
            .chain(part(&self.reopen, Change::Reopen))
    }

    /// Sizes of each part.
    pub fn counts(&self) -> PlanCounts {
        PlanCounts {
            create: self.create.len(),
            update: self.update.len(),
            refresh: self.refresh.len(),
            resolve: self.resolve.len(),
            reopen: self.reopen.len(),
            unchanged: self.unchanged.len(),
            out_of_scope: self.out_of_scope,
            held_back: self.held_back.len(),
        }
    }
}

/// Plans the import for one scope.
///
/// * Desired findings with the same `Id`: the one built from the newest scan
///   (`patchhub/ScanTime`) wins; ties go to the smaller content fingerprint, so the choice
///   does not depend on input order.
/// * Existing findings with the same `Id` (e.g. repeated across pages): the most recently
///   updated one counts, once.
/// * Desired finding with a stored twin: held back if built from an older scan than the
///   twin; reopen if the twin is archived; unchanged if the stored fingerprint matches
///   (refresh when the twin is due for its heartbeat, see [`refresh_interval`]); update
///   otherwise.
/// * Active existing finding not desired: resolved unless the node's scan in `node_scans`
///   is older than the finding's `patchhub/ScanTime` (held back), or, in a
///   [`NodeSet::Only`] run, the node was not read at all (held back). In a full sweep a
///   node missing from `node_scans` is gone, and its findings are resolved.
/// * Archived existing finding not desired: left alone.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let PlanInput {
        scope,
        desired,
        existing,
        node_scans,
        now,
        refresh_after,
    } = input;
    let now = to_millis(now);
    let mut plan = Plan::default();

    let want = in_scope(desired, scope, prefer, &mut plan.out_of_scope);
    let mut have = in_scope(existing, scope, newer, &mut plan.out_of_scope);

    for (id, mut d) in want {
        // Timestamps are outside the fingerprint, so one hash serves the comparison and
        // the value stored with the import.
        let fp = d.compute_fingerprint();
        let Some(e) = have.remove(&id) else {
            stamp_new(&mut d, now);
            set_fingerprint(&mut d, fp);
            plan.create.push(d);
            continue;
        };
        if let (Some(ds), Some(es)) = (d.scan_time(), e.scan_time())
            && ds < es
        {
            plan.held_back.push(id);
            continue;
        }
        let same = e.fingerprint() == Some(fp.as_str());
        if !e.is_active() {
            stamp_carried(&mut d, &e, now);
            set_fingerprint(&mut d, fp);
            plan.reopen.push(d);
        } else if !same {
            stamp_carried(&mut d, &e, now);
            set_fingerprint(&mut d, fp);
            plan.update.push(d);
        } else if refresh_due(&e, now, refresh_after) {
            stamp_carried(&mut d, &e, now);
            set_fingerprint(&mut d, fp);
            plan.refresh.push(d);
        } else {
            plan.unchanged.push(id);
        }
    }

    for (id, e) in have {
        if !e.is_active() {
            plan.unchanged.push(id);
            continue;
        }
        match resolution(&e, scope, &node_scans) {
            Some(reason) => plan.resolve.push(resolved(e, &reason, now)),
            None => plan.held_back.push(id),
        }
    }
    plan
}

/// The findings of `scope` by `Id`, the one `wins` keeps where an `Id` repeats; the others are
/// counted in `out_of_scope`.
fn in_scope(
    findings: Vec<Finding>,
    scope: &Scope,
    wins: fn(&Finding, &Finding) -> bool,
    out_of_scope: &mut usize,
) -> BTreeMap<String, Finding> {
    let mut by_id = BTreeMap::new();
    for f in findings {
        if scope.contains(&f) {
            keep_by_id(&mut by_id, f, wins);
        } else {
            *out_of_scope += 1;
        }
    }
    by_id
}

/// Whether existing `a` is a later record than existing `b` of the same `Id`.
fn newer(a: &Finding, b: &Finding) -> bool {
    (a.updated_at, a.is_active(), a.fingerprint()) > (b.updated_at, b.is_active(), b.fingerprint())
}

/// Why an active, undesired finding may be resolved; `None` to hold it back.
fn resolution(
    e: &Finding,
    scope: &Scope,
    node_scans: &BTreeMap<String, Option<DateTime<Utc>>>,
) -> Option<String> {
    let Some(node) = e.node_id() else {
        return Some("not produced by the full sweep".to_string());
    };
    match node_scans.get(node) {
        None => match scope.nodes {
            NodeSet::All => {
                Some("node no longer managed by Systems Manager in this Region".to_string())
            }
            NodeSet::Only(_) => None,
        },
        Some(None) => Some("node reports no patch operation".to_string()),
        Some(Some(scan)) => match e.scan_time() {
            Some(built_from) if *scan < built_from => None,
            _ => Some(format!(
                "not present in the node's patch data of {}",
                rfc3339(*scan)
            )),
        },
    }
}

/// Security Hub deletes a finding 90 days after its last update; the heartbeat must land
/// before that even when a node's findings were last updated up to one heartbeat apart.
const RETENTION: Duration = Duration::days(90);
/// Room for missed runs between the latest heartbeat and the deletion.
const RETENTION_MARGIN: Duration = Duration::days(1);

/// The age at which an unchanged finding of `key` (its node id, or its own id for findings
/// without a node) is re-sent: between half of `refresh_after` and all of it, by a hash of
/// the key. Findings created together (a first sync of a fleet) so refresh over many days
/// instead of all on one day, and a node's findings share one heartbeat. A node's findings
/// are read whenever its roll-up is due, so one unchanged finding can be at most one interval
/// older than its roll-up: for long `refresh_after`, the interval shrinks so that twice it
/// stays inside the retention.
pub fn refresh_interval(refresh_after: Duration, key: &str) -> Duration {
    // The period is capped first and then spread, so a long `refresh_after` keeps its spread
    // (capping each interval instead would turn long intervals into short ones).
    let full = refresh_after
        .min((RETENTION - RETENTION_MARGIN) / 2)
        .num_milliseconds()
        .max(2);
    let half = full / 2;
    let spread =
        i64::try_from(fnv1a(key.as_bytes()) % u64::try_from(half).unwrap_or(1)).unwrap_or(0);
    Duration::milliseconds(full - spread)
}

/// Whether stored `e` is due for its retention heartbeat at `now`.
pub fn refresh_due(e: &Finding, now: DateTime<Utc>, refresh_after: Duration) -> bool {
    let key = e.node_id().unwrap_or(&e.id);
    due(key, e.updated_at, now, refresh_after)
}

/// Whether a finding of heartbeat key `key` (its node id, or its `Id`) last updated at
/// `updated_at` is due for its heartbeat at `now`.
pub fn due(
    key: &str,
    updated_at: DateTime<Utc>,
    now: DateTime<Utc>,
    refresh_after: Duration,
) -> bool {
    now.signed_duration_since(updated_at) >= refresh_interval(refresh_after, key)
}

/// FNV-1a, 64-bit: stable across builds and platforms (the standard hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The `UpdatedAt` for a re-import: `now`, or 1 ms past the stored one when that is not
/// earlier than `now` (Security Hub ignores updates that do not move `UpdatedAt` forward).
fn next_update(prev: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    if prev >= now {
        prev + Duration::milliseconds(1)
    } else {
        now
    }
}

fn set_fingerprint(d: &mut Finding, fp: String) {
    d.product_fields.insert(fields::FINGERPRINT.to_string(), fp);
}

/// A new finding's dates. `CreatedAt` is its `FirstObservedAt`, which the mapping derives from
/// SSM data that does not move between runs (the end of the patch operation that reported the
/// state), not the run's clock: a run that cannot see a finding imported moments before
/// (Security Hub's reads are eventually consistent) plans it as new, and must then write the
/// same dates the first import did rather than make the finding younger.
fn stamp_new(d: &mut Finding, now: DateTime<Utc>) {
    let first = d.first_observed_at.map_or(now, |t| t.min(now));
    d.created_at = first;
    d.updated_at = now;
    d.first_observed_at = Some(first);
    d.last_observed_at = Some(now);
}

fn stamp_carried(d: &mut Finding, e: &Finding, now: DateTime<Utc>) {
    let updated = next_update(e.updated_at, now);
    d.updated_at = updated;
    d.created_at = e.created_at.min(updated);
    let first = e.first_observed_at.or(d.first_observed_at);
    d.first_observed_at = first;
    d.last_observed_at = Some(first.map_or(now, |f| f.max(now)));
}

/// The existing finding, archived and PASSED. Security Hub wants a complete finding on
/// every import, so the stored one is re-sent; its `aws/` product fields are Security
/// Hub's own and are dropped (it re-adds them).
fn resolved(mut e: Finding, reason: &str, now: DateTime<Utc>) -> Finding {
    e.updated_at = next_update(e.updated_at, now);
    e.created_at = e.created_at.min(e.updated_at);
    // The requirements it was held to stay on record; only the status changes.
    let mut compliance = e.compliance.take().unwrap_or(Compliance {
        status: ComplianceStatus::Passed,
        related_requirements: Vec::new(),
    });
    compliance.status = ComplianceStatus::Passed;
    e.compliance = Some(compliance);
    e.record_state = RecordState::Archived;
    e.product_fields.retain(|k, _| !k.starts_with("aws/"));
    e.product_fields
        .insert(fields::RESOLUTION.to_string(), reason.to_string());
    fit_and_seal(&mut e);
    e
}
