//! What a sweep adds to SSM's node listing, at a cost that grows with change rather than with
//! the fleet: the stopped nodes Security Hub already knows (the listings omit them, SSM keeps
//! their patch state), the execution ids stored findings already carry, and — when many nodes
//! changed, as in a first sync — every node's confirmation in one listing of SSM's compliance
//! summaries, which also names the stopped nodes no finding names yet.

use std::collections::BTreeSet;

use patchhub_core::finding::Digest;
use patchhub_core::model::ManagedNode;

use crate::error::ApiError;
use crate::source::ComplianceSource;
use crate::stored::StoredDigests;

/// Nodes per page of `ListResourceComplianceSummaries`.
const SUMMARIES_PER_PAGE: usize = 50;

/// The nodes Security Hub holds active findings of that the listing left out, which still have
/// patch state in SSM (stopped nodes). Those without are gone, for the caller to archive.
pub(crate) async fn stopped_nodes<S: ComplianceSource>(
    source: &S,
    listed: &[ManagedNode],
    stored: &StoredDigests,
) -> Result<Vec<ManagedNode>, ApiError> {
    let listed: BTreeSet<&str> = listed.iter().map(|n| n.instance_id.as_str()).collect();
    let ids: Vec<String> = stored
        .nodes()
        .filter(|(id, d)| !listed.contains(id) && d.iter().any(|f| f.active))
        .map(|(id, _)| id.to_string())
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    source.unlisted_nodes(&ids).await
}

/// Whether the node's last operation is known but not its execution id.
pub(crate) fn execution_open(node: &ManagedNode) -> bool {
    node.last_operation
        .as_ref()
        .is_some_and(|o| o.execution_id.is_none())
}

/// Takes each open execution id from a stored finding of the node built from the same
/// operation (same end time): which scan confirmed a state is bookkeeping, outside the
/// fingerprint, but the stale-scan finding's text names it.
pub(crate) fn adopt_execution_ids(nodes: &mut [ManagedNode], stored: &StoredDigests) {
    for node in nodes.iter_mut().filter(|n| execution_open(n)) {
        let Some(digests) = stored.get(&node.instance_id) else {
            continue;
        };
        let Some(op) = node.last_operation.as_mut() else {
            continue;
        };
        // Stored times keep milliseconds.
        let same_scan = |d: &&Digest| {
            d.scan_time
                .is_some_and(|t| (t - op.end).num_milliseconds() == 0)
        };
        if let Some(e) = digests
            .iter()
            .filter(same_scan)
            .find_map(|d| d.execution_id.clone())
        {
            op.execution_id = Some(e);
        }
    }
}

/// Confirms the changed nodes in one listing of the Region's compliance summaries when that
/// takes fewer calls than confirming those that need it one by one (`open` of them; the nodes
/// whose patches are read are confirmed by that read). Returns the nodes the summaries name
/// that are not among `known` and still have patch state: stopped before Security Hub ever
/// heard of them. `None` when one by one is cheaper or the source's listing said everything.
pub(crate) async fn confirm_in_bulk<'n, S: ComplianceSource>(
    source: &S,
    changed: impl Iterator<Item = &'n mut ManagedNode>,
    open: usize,
    known: &BTreeSet<String>,
) -> Result<Option<Vec<ManagedNode>>, ApiError> {
    if open <= known.len().div_ceil(SUMMARIES_PER_PAGE).max(1) {
        return Ok(None);
    }
    let Some(confirmations) = source.confirmations().await? else {
        return Ok(None);
    };
    for node in changed {
        if let Some(c) = confirmations.get(&node.instance_id) {
            c.apply(node);
        }
    }
    let mut unknown: Vec<String> = confirmations
        .keys()
        .filter(|id| !known.contains(*id))
        .cloned()
        .collect();
    unknown.sort();
    let mut found = if unknown.is_empty() {
        Vec::new()
    } else {
        source.unlisted_nodes(&unknown).await?
    };
    for node in &mut found {
        if let Some(c) = confirmations.get(&node.instance_id) {
            c.apply(node);
        }
    }
    Ok(Some(found))
}
