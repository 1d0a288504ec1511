//! OCSF rendering of patchhub's findings: the findings the mapping makes and the planner
//! imports, as OCSF 1.1.0 events, beside their ASFF form (the [`Finding`]'s own JSON).
//!
//! One finding, one event, with the same identity and dates: `finding_info.uid` is the ASFF
//! `Id`, `created_time`/`first_seen_time`/`last_seen_time`/`modified_time` are `CreatedAt`,
//! `FirstObservedAt`, `LastObservedAt` and `UpdatedAt`, and `time` (the event's own time) is
//! `UpdatedAt`. A fixed patch is not a missing row: the planner resolves its finding, and
//! the event closes it (activity Close, status Resolved; a compliance result turns Pass).
//! A reopened finding is an Update back to New.
//!
//! Classes (OCSF 1.1.0, category 2 "Findings", <https://schema.ocsf.io/1.1.0/categories/findings>):
//! a per-patch finding that lists CVEs is a Vulnerability Finding (2002) with one
//! `vulnerabilities[]` entry per CVE; everything else is a Compliance Finding (2003): the
//! node's roll-up, its stale-scan finding, and a missing patch without CVE (1.1.0's
//! `vulnerability` object must hold a `cve` or a `cwe`, so a patch no CVE names is reported
//! as the patch baseline's failed control, its KB article in `remediation`).
//!
//! Layout: `schema` holds the version, the classes and activities; `base` the attributes every
//! event has (metadata, finding_info, cloud, resource, severity, status, unmapped); `classes`
//! the class-specific objects; this file the entry points.

mod base;
mod classes;
mod schema;

use serde_json::{Map, Value};

pub use schema::{
    Activity, CATEGORY_FINDINGS, CLASS_COMPLIANCE_FINDING, CLASS_VULNERABILITY_FINDING,
    OCSF_VERSION, PROFILES, class_uid,
};

use crate::finding::Finding;
use crate::reconcile::{Change, Plan};

/// The OCSF event of one finding, its activity taken from the finding itself
/// ([`Activity::of_finding`]). The entry point for renderers that have no plan, such as an
/// export of a fleet's current state.
pub fn event(f: &Finding) -> Value {
    event_with(f, Activity::of_finding(f))
}

/// The OCSF event of one planned import.
pub fn change_event(f: &Finding, change: Change) -> Value {
    event_with(f, Activity::of(change))
}

/// The OCSF events of everything a plan imports, in [`Plan::to_import`]'s order.
pub fn plan_events(plan: &Plan) -> Vec<Value> {
    plan.changes().map(|(f, c)| change_event(f, c)).collect()
}

/// The OCSF events of a set of findings (e.g. a JSONL file of ASFF findings), each with its
/// own activity ([`event`]).
pub fn events<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<Value> {
    findings.into_iter().map(event).collect()
}

/// The OCSF event of one finding with the given activity.
pub fn event_with(f: &Finding, activity: Activity) -> Value {
    let class = class_uid(f);
    let mut e = Map::new();
    base::put_classification(&mut e, class, activity);
    base::put_common(&mut e, f);
    if class == CLASS_VULNERABILITY_FINDING {
        e.insert(
            "vulnerabilities".into(),
            Value::Array(classes::vulnerabilities(f)),
        );
    } else {
        e.insert("compliance".into(), classes::compliance(f));
        if let Some(r) = classes::remediation(f) {
            e.insert("remediation".into(), r);
        }
    }
    Value::Object(e)
}
