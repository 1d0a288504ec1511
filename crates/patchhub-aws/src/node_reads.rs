//! The SSM reads of one batch's changed nodes: the patches of those with something to read
//! (which also confirms them), a confirmation of the others with a new scan. A few at a time, so
//! that a sweep with a deadline stops starting reads when it passes and the reads under way
//! finish soon after; the nodes not read are left for the next sweep.

use std::time::Instant;

use patchhub_core::model::{ManagedNode, PatchItem};
use tokio::task::JoinSet;

use crate::error::ApiError;
use crate::listing;
use crate::source::ComplianceSource;

/// Node reads in flight per batch (each is one or two calls, paced by the limiter). With 4
/// batches in flight that is 16 reads: enough to keep every SSM quota busy at up to a second
/// and a half a call, few enough to finish within seconds of a deadline.
const READS_IN_FLIGHT: usize = 4;

/// What became of each node (by its index in the batch).
#[derive(Default)]
pub(crate) struct Reads {
    /// Nodes read: their patches (empty when only confirmed).
    pub(crate) patches: Vec<(usize, Vec<PatchItem>)>,
    /// Nodes whose read failed (the next run retries them).
    pub(crate) failed: Vec<(usize, ApiError)>,
    /// Nodes not read because the deadline passed first.
    pub(crate) deferred: Vec<usize>,
}

/// Reads what each node of `nodes` needs (`read_patches`: its patches; otherwise a
/// confirmation when its execution id is open), updating the node with what the read confirmed.
/// Starts no read at or after `stop_at`. `Err` when a read task itself failed.
pub(crate) async fn read_nodes<S>(
    source: &S,
    nodes: &mut [(ManagedNode, bool)],
    stop_at: Option<Instant>,
) -> Result<Reads, String>
where
    S: ComplianceSource + Clone + 'static,
{
    let mut pending = nodes
        .iter()
        .enumerate()
        .filter(|(_, (node, read))| *read || listing::execution_open(node))
        .map(|(i, _)| i)
        .collect::<Vec<_>>()
        .into_iter();
    let mut out = Reads::default();
    let mut set = JoinSet::new();
    loop {
        while set.len() < READS_IN_FLIGHT {
            let Some(i) = pending.next() else {
                break;
            };
            if stop_at.is_some_and(|t| Instant::now() >= t) {
                out.deferred.push(i);
                out.deferred.extend(pending.by_ref());
                break;
            }
            let (source, mut node, read) = (source.clone(), nodes[i].0.clone(), nodes[i].1);
            set.spawn(async move {
                let res = if read {
                    source.node_patches(&mut node).await
                } else {
                    source.confirm(&mut node).await.map(|()| Vec::new())
                };
                (i, res.map(|p| (node, p)))
            });
        }
        match set.join_next().await {
            Some(Ok((i, Ok((node, p))))) => {
                nodes[i].0 = node;
                out.patches.push((i, p));
            }
            Some(Ok((i, Err(e)))) => out.failed.push((i, e)),
            Some(Err(e)) => return Err(e.to_string()),
            None => break,
        }
    }
    Ok(out)
}
