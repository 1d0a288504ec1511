//! What a sync keeps of a stored finding whose node did not change: enough to tell that it did
//! not (kind, state, fingerprint) and when its heartbeat is due (key, `UpdatedAt`), a few
//! hundred bytes instead of the whole finding (a roll-up is about 9 KB).

use chrono::{DateTime, Utc};

use super::kind::{FindingKind, fields};
use super::record::Finding;

/// A stored finding reduced to what change detection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// `patchhub/NodeId`, or the finding's `Id` when it has none (the heartbeat's key).
    pub key: String,
    /// Whether the finding names its node (`key` is then the node id).
    pub has_node: bool,
    /// What it is about.
    pub kind: Option<FindingKind>,
    /// `RecordState` is `ACTIVE`.
    pub active: bool,
    /// The stored content fingerprint.
    pub fingerprint: Option<String>,
    /// `UpdatedAt`.
    pub updated_at: DateTime<Utc>,
    /// The deadline policy a roll-up was judged under (`patchhub/DeadlinePolicy`).
    pub deadline_policy: Option<String>,
    /// A roll-up's next due date (`patchhub/NextDueAt`).
    pub next_due_at: Option<String>,
    /// The end of the patch operation the finding was built from (`patchhub/ScanTime`).
    pub scan_time: Option<DateTime<Utc>>,
    /// That operation's execution id (`patchhub/ExecutionId`): a listing that leaves it open
    /// takes it from here when the node's last operation ended at `scan_time` (the same scan).
    pub execution_id: Option<String>,
}

impl Finding {
    /// The finding's [`Digest`].
    pub fn digest(&self) -> Digest {
        Digest {
            key: self.node_id().unwrap_or(&self.id).to_string(),
            has_node: self.node_id().is_some(),
            kind: self.kind(),
            active: self.is_active(),
            fingerprint: self.fingerprint().map(str::to_string),
            updated_at: self.updated_at,
            deadline_policy: self.product_fields.get(fields::DEADLINE_POLICY).cloned(),
            next_due_at: self.product_fields.get(fields::NEXT_DUE_AT).cloned(),
            scan_time: self
                .product_fields
                .get(fields::SCAN_TIME)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            execution_id: self.product_fields.get(fields::EXECUTION_ID).cloned(),
        }
    }
}
