//! The OCSF names patchhub writes: the schema version and profiles, the category and classes,
//! the finding activities, and which class a finding is.

use crate::finding::{Finding, FindingKind, RecordState};
use crate::reconcile::Change;

/// The OCSF schema version every event is written in: the version Amazon Security Lake
/// takes from custom sources (Security Lake user guide, "Collecting data from custom
/// sources"), and one every OCSF reader of 2026 accepts.
pub const OCSF_VERSION: &str = "1.1.0";
/// OCSF category "Findings".
pub const CATEGORY_FINDINGS: u32 = 2;
/// OCSF class "Vulnerability Finding".
pub const CLASS_VULNERABILITY_FINDING: u32 = 2002;
/// OCSF class "Compliance Finding".
pub const CLASS_COMPLIANCE_FINDING: u32 = 2003;
/// The profiles every event applies (`metadata.profiles`): "cloud" adds `cloud` and `api`.
pub const PROFILES: &[&str] = &["cloud"];

/// A finding event's `activity_id` (OCSF 1.1.0, both finding classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// The finding is new.
    Create,
    /// Its content changed, it was re-sent, or it was reopened.
    Update,
    /// It was resolved.
    Close,
}

impl Activity {
    /// `activity_id`.
    pub fn id(self) -> u32 {
        match self {
            Activity::Create => 1,
            Activity::Update => 2,
            Activity::Close => 3,
        }
    }

    /// `activity_name`.
    pub fn name(self) -> &'static str {
        match self {
            Activity::Create => "Create",
            Activity::Update => "Update",
            Activity::Close => "Close",
        }
    }

    /// The activity of a planned import.
    pub fn of(change: Change) -> Self {
        match change {
            Change::Create => Activity::Create,
            Change::Update | Change::Refresh | Change::Reopen => Activity::Update,
            Change::Resolve => Activity::Close,
        }
    }

    /// The activity a finding read on its own stands for (no plan at hand, e.g. the current
    /// state of a fleet): Close when it is archived, else Create.
    pub fn of_finding(f: &Finding) -> Self {
        match f.record_state {
            RecordState::Archived => Activity::Close,
            RecordState::Active => Activity::Create,
        }
    }
}

/// The OCSF class a finding is rendered as: 2002 for a per-patch finding that lists CVEs,
/// else 2003.
pub fn class_uid(f: &Finding) -> u32 {
    if f.kind() == Some(FindingKind::Patch) && !f.vulnerabilities.is_empty() {
        CLASS_VULNERABILITY_FINDING
    } else {
        CLASS_COMPLIANCE_FINDING
    }
}
