//! Patch states and what Patch Manager derives from them: compliance, the per-node counts of
//! `DescribeInstancePatchStates`, the severity summaries of the compliance APIs, and the
//! installation time and CVE ids a patch reports. Every view of a report goes through these
//! functions, so the views cannot disagree.

use chrono::{DateTime, Utc};

use crate::fleet::PatchSpec;

/// A patch's state on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Installed,
    InstalledOther,
    InstalledPendingReboot,
    InstalledRejected,
    Missing,
    NotApplicable,
    Failed,
    AvailableSecurityUpdate,
}

pub(crate) const ALL_STATES: [State; 8] = [
    State::Installed,
    State::InstalledOther,
    State::InstalledPendingReboot,
    State::InstalledRejected,
    State::Missing,
    State::NotApplicable,
    State::Failed,
    State::AvailableSecurityUpdate,
];

impl State {
    /// The fleet file's spelling (`MISSING`), which is also the SSM model's enum.
    pub(crate) fn parse(s: &str) -> Option<State> {
        ALL_STATES.into_iter().find(|st| st.fleet() == s)
    }

    /// The fleet spelling.
    pub(crate) fn fleet(self) -> &'static str {
        match self {
            State::Installed => "INSTALLED",
            State::InstalledOther => "INSTALLED_OTHER",
            State::InstalledPendingReboot => "INSTALLED_PENDING_REBOOT",
            State::InstalledRejected => "INSTALLED_REJECTED",
            State::Missing => "MISSING",
            State::NotApplicable => "NOT_APPLICABLE",
            State::Failed => "FAILED",
            State::AvailableSecurityUpdate => "AVAILABLE_SECURITY_UPDATE",
        }
    }

    /// The spelling SSM puts on the wire in `DescribeInstancePatches` `State`, in the
    /// `DescribeInstancePatches` `State` filter, and in the `PatchState` compliance detail.
    /// AWS sends `Missing`, `NotApplicable`, ... although the model's enum says `MISSING`,
    /// `NOT_APPLICABLE` (AWS CLI examples and user reports of real output), so an SDK sees an
    /// unknown enum variant here, and so does a client of awsim.
    pub(crate) fn wire(self) -> &'static str {
        match self {
            State::Installed => "Installed",
            State::InstalledOther => "InstalledOther",
            State::InstalledPendingReboot => "InstalledPendingReboot",
            State::InstalledRejected => "InstalledRejected",
            State::Missing => "Missing",
            State::NotApplicable => "NotApplicable",
            State::Failed => "Failed",
            State::AvailableSecurityUpdate => "AvailableSecurityUpdate",
        }
    }

    /// From the wire spelling.
    pub(crate) fn from_wire(s: &str) -> Option<State> {
        ALL_STATES.into_iter().find(|st| st.wire() == s)
    }
}

/// A fleet state string as a [`State`] (fleets are validated at load; anything else reads as
/// missing, the conservative choice).
pub(crate) fn state_of(p: &PatchSpec) -> State {
    State::parse(&p.state).unwrap_or(State::Missing)
}

/// What a state means for compliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compliance {
    Compliant,
    NonCompliant,
    /// Reported with an empty compliance status.
    NotApplicable,
}

impl Compliance {
    /// The `Status` of a compliance item (`""` for not applicable, as AWS reports it).
    pub(crate) fn status(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "",
        }
    }
}

/// Compliance of a state under a baseline whose `AvailableSecurityUpdatesComplianceStatus` is
/// `asu_compliant`.
pub(crate) fn compliance(state: State, asu_compliant: bool) -> Compliance {
    match state {
        State::Installed | State::InstalledOther => Compliance::Compliant,
        State::NotApplicable => Compliance::NotApplicable,
        State::AvailableSecurityUpdate if asu_compliant => Compliance::Compliant,
        State::AvailableSecurityUpdate
        | State::InstalledPendingReboot
        | State::InstalledRejected
        | State::Missing
        | State::Failed => Compliance::NonCompliant,
    }
}

/// Compliance severities, most severe first (the order `SeveritySummary` and `OverallSeverity`
/// use).
pub(crate) const SEVERITIES: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNSPECIFIED",
];

/// Index into [`SEVERITIES`]; unknown values count as `UNSPECIFIED`.
pub(crate) fn severity_rank(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(5)
}

/// Whether a classification marks a security update (Windows `SecurityUpdates`, Linux
/// `Security`), for `SecurityNonCompliantCount`.
pub(crate) fn is_security(classification: &str) -> bool {
    classification.eq_ignore_ascii_case("Security")
        || classification.eq_ignore_ascii_case("SecurityUpdates")
}

/// Counts per compliance status and severity (`CompliantSummary`, `NonCompliantSummary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SeverityCounts {
    pub compliant: [u32; 6],
    pub non_compliant: [u32; 6],
}

impl SeverityCounts {
    pub(crate) fn add(&mut self, c: Compliance, severity: &str) {
        let r = severity_rank(severity);
        match c {
            Compliance::Compliant => self.compliant[r] += 1,
            Compliance::NonCompliant => self.non_compliant[r] += 1,
            Compliance::NotApplicable => {}
        }
    }

    pub(crate) fn compliant_total(&self) -> u32 {
        self.compliant.iter().sum()
    }

    pub(crate) fn non_compliant_total(&self) -> u32 {
        self.non_compliant.iter().sum()
    }

    /// `COMPLIANT` unless any item is non-compliant.
    pub(crate) fn status(&self) -> &'static str {
        if self.non_compliant_total() > 0 {
            "NON_COMPLIANT"
        } else {
            "COMPLIANT"
        }
    }

    /// The most severe non-compliant severity; `UNSPECIFIED` when compliant.
    pub(crate) fn overall_severity(&self) -> &'static str {
        self.non_compliant
            .iter()
            .position(|n| *n > 0)
            .map_or("UNSPECIFIED", |i| SEVERITIES[i])
    }
}

/// Everything `DescribeInstancePatchStates` and the compliance summaries report about one
/// snapshot, computed once when the snapshot is taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub by_state: [u32; 8],
    pub critical_non_compliant: u32,
    pub security_non_compliant: u32,
    pub other_non_compliant: u32,
    pub severities: SeverityCounts,
}

impl Counts {
    pub(crate) fn of(patches: &[PatchSpec], asu_compliant: bool) -> Counts {
        let mut c = Counts::default();
        for p in patches {
            let st = state_of(p);
            c.by_state[st as usize] += 1;
            let comp = compliance(st, asu_compliant);
            c.severities.add(comp, &p.compliance_severity);
            if comp == Compliance::NonCompliant {
                let critical = p.compliance_severity == "CRITICAL";
                let security = is_security(&p.classification);
                if critical {
                    c.critical_non_compliant += 1;
                }
                if security {
                    c.security_non_compliant += 1;
                }
                if !critical && !security {
                    c.other_non_compliant += 1;
                }
            }
        }
        c
    }

    pub(crate) fn get(&self, s: State) -> u32 {
        self.by_state[s as usize]
    }
}

/// Installation time, reported only for patches that are installed in some form.
pub(crate) fn installed_time(p: &PatchSpec) -> Option<DateTime<Utc>> {
    match state_of(p) {
        State::Installed
        | State::InstalledOther
        | State::InstalledPendingReboot
        | State::InstalledRejected => p.installed_time,
        _ => None,
    }
}

/// CVE ids as AWS reports them: comma separated, and only for missing or failed patches.
pub(crate) fn reported_cves(p: &PatchSpec) -> Option<String> {
    let st = state_of(p);
    (matches!(st, State::Missing | State::Failed) && !p.cve_ids.is_empty())
        .then(|| p.cve_ids.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(id: &str, state: &str, class: &str, sev: &str) -> PatchSpec {
        PatchSpec {
            id: id.into(),
            title: id.into(),
            classification: class.into(),
            severity: String::new(),
            compliance_severity: sev.into(),
            state: state.into(),
            cve_ids: vec![],
            installed_time: None,
        }
    }

    #[test]
    fn counts_follow_compliance_rules() {
        let ps = vec![
            patch("a", "INSTALLED", "Security", "CRITICAL"),
            patch("b", "MISSING", "Security", "CRITICAL"),
            patch("c", "FAILED", "Bugfix", "MEDIUM"),
            patch("d", "INSTALLED_PENDING_REBOOT", "Security", "HIGH"),
            patch("e", "NOT_APPLICABLE", "Bugfix", "LOW"),
            patch("f", "AVAILABLE_SECURITY_UPDATE", "SecurityUpdates", "HIGH"),
        ];
        let c = Counts::of(&ps, false);
        assert_eq!(c.get(State::Missing), 1);
        assert_eq!(c.severities.non_compliant_total(), 4);
        assert_eq!(c.severities.compliant_total(), 1);
        assert_eq!(c.critical_non_compliant, 1);
        assert_eq!(c.security_non_compliant, 3);
        assert_eq!(c.other_non_compliant, 1);
        assert_eq!(c.severities.overall_severity(), "CRITICAL");
        let c = Counts::of(&ps, true);
        assert_eq!(c.severities.non_compliant_total(), 3);
        assert_eq!(c.severities.compliant_total(), 2);
    }

    #[test]
    fn wire_spellings_round_trip() {
        for s in ALL_STATES {
            assert_eq!(State::from_wire(s.wire()), Some(s));
            assert_eq!(State::parse(s.fleet()), Some(s));
        }
    }
}
