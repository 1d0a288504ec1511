//! The digests of what Security Hub holds, grouped by node, that a sync judges SSM's listing
//! against. One vector sorted by node id, looked up by binary search: a map of per-node
//! vectors costs a key copy, a table slot and a four-digest allocation per node (about 700
//! bytes), which at 50,000 nodes is most of a re-sync's memory.

use patchhub_core::finding::Digest;

/// The node-level digests of one account and Region (findings naming no node are left out).
#[derive(Debug, Default)]
pub(crate) struct StoredDigests {
    /// Sorted by `key` (the node id).
    sorted: Vec<Digest>,
}

impl StoredDigests {
    /// Groups `digests` by node.
    pub(crate) fn new(mut digests: Vec<Digest>) -> Self {
        digests.retain(|d| d.has_node);
        digests.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        digests.shrink_to_fit();
        StoredDigests { sorted: digests }
    }

    /// The node's digests, if Security Hub holds any.
    pub(crate) fn get(&self, node: &str) -> Option<&[Digest]> {
        let start = self.sorted.partition_point(|d| d.key.as_str() < node);
        let len = self.sorted[start..].partition_point(|d| d.key == node);
        (len > 0).then(|| &self.sorted[start..start + len])
    }

    /// Each node with its digests, in node order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = (&str, &[Digest])> {
        self.sorted
            .chunk_by(|a, b| a.key == b.key)
            .map(|g| (g[0].key.as_str(), g))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn digest(key: &str, has_node: bool, active: bool) -> Digest {
        Digest {
            key: key.to_string(),
            has_node,
            kind: None,
            active,
            fingerprint: None,
            updated_at: Utc.timestamp_opt(0, 0).unwrap(),
            deadline_policy: None,
            next_due_at: None,
            scan_time: None,
            execution_id: None,
        }
    }

    #[test]
    fn groups_by_node_and_leaves_out_findings_without_one() {
        let stored = StoredDigests::new(vec![
            digest("i-2", true, true),
            digest("arn:finding/x", false, true),
            digest("i-1", true, false),
            digest("i-2", true, false),
            digest("i-3", true, true),
        ]);
        assert_eq!(stored.get("i-2").map(<[Digest]>::len), Some(2));
        assert_eq!(stored.get("i-1").map(<[Digest]>::len), Some(1));
        assert!(stored.get("i-0").is_none() && stored.get("i-4").is_none());
        assert!(stored.get("arn:finding/x").is_none());
        let nodes: Vec<(&str, usize)> = stored.nodes().map(|(n, d)| (n, d.len())).collect();
        assert_eq!(nodes, [("i-1", 1), ("i-2", 2), ("i-3", 1)]);
        assert!(StoredDigests::default().get("i-1").is_none());
    }
}
