//! One Security Hub administrator for every account and Region: join the accounts to it
//! ([`enable`]), show where each account stands ([`status`]), undo it ([`disable`]), and archive
//! every patchhub finding before uninstalling ([`cleanup`]).
//!
//! Findings roll up to the administrator only when every member account has Security Hub enabled
//! and is associated with that one administrator in every Region, and a finding aggregator in the
//! administrator's home Region links the other Regions. Two ways to get there:
//!
//! * [`Mode::Invitation`] (no AWS Organizations needed): in each Region, Security Hub is enabled
//!   in the administrator and in each member (entered through a role), the administrator creates
//!   and invites the members, and each member accepts;
//! * [`Mode::Organization`] (run from the management account): the management account designates
//!   the administrator in each Region; the administrator turns on auto-enable for accounts that
//!   join later and adds the existing ones, which enables Security Hub in them.
//!
//! Every step reads the state first and acts only where needed, so running a command again is
//! always safe and a second run reports `already` everywhere. Each step's outcome is one
//! [`HubAction`]; a failure names the account, Region and call, what AWS answered, and how to
//! resume. Nothing is left half-joined on purpose: a member that cannot be entered, or fails its
//! own checks, is neither created nor invited. Opt-in Regions that are not enabled for an account
//! are skipped for that account.
//!
//! [`enable`]: fn@enable
//! [`status`]: fn@status
//! [`disable`]: fn@disable
//! [`cleanup`]: fn@cleanup

mod accounts;
mod admin_view;
mod aggregator;
pub(crate) mod api;
mod cleanup;
mod disable;
mod enable;
mod invitation;
mod log;
mod organization;
mod status;

use std::fmt;

use crate::clients::RoleOptions;
use crate::error::ErrorKind;
use crate::targets::AccountTarget;

pub use cleanup::{archived, cleanup};
pub use disable::disable;
pub use enable::enable;
pub use status::status;

/// Accounts per `CreateMembers` call (AWS maximum); the other member calls are chunked alike.
pub(crate) const MAX_MEMBERS_PER_CALL: usize = 50;
/// `patchhub/Resolution` of the findings [`cleanup`] archives.
///
/// [`cleanup`]: fn@cleanup
pub const RESOLUTION_UNINSTALLED: &str = "uninstalled";

/// How member accounts join the administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Create, invite, accept: works without AWS Organizations; every member is entered.
    Invitation,
    /// Designation by the management account and organization members: no member is entered.
    Organization,
}

/// Which member accounts a command covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberAccounts {
    /// [`enable`] in organization mode: every ACTIVE account of the organization; [`status`] and
    /// [`disable`]: whatever members the administrator has now. Invitation mode needs a list.
    ///
    /// [`enable`]: fn@enable
    /// [`status`]: fn@status
    /// [`disable`]: fn@disable
    Current,
    /// These accounts (a CSV of `AccountId,Email`).
    List(Vec<AccountTarget>),
    /// The ACTIVE accounts of the organization (or of one OU and its children), listed with the
    /// base credentials (the management account).
    Organization {
        /// Restrict to this OU (recursively).
        ou: Option<String>,
    },
}

/// What [`enable`] sets up.
///
/// [`enable`]: fn@enable
#[derive(Debug, Clone)]
pub struct EnablePlan {
    /// Invitation or organization.
    pub mode: Mode,
    /// The Security Hub administrator; `None`: the caller's account.
    pub admin_account: Option<String>,
    /// The members (the administrator is never its own member and is left out of any list).
    pub members: MemberAccounts,
    /// Regions to cover (all of them, the home Region included).
    pub regions: Vec<String>,
    /// Where the finding aggregator lives; `None`: leave aggregation alone.
    pub home_region: Option<String>,
    /// Role assumed in accounts other than the caller's (the administrator, and in invitation
    /// mode every member).
    pub role: RoleOptions,
    /// Enable Security Hub's default standards where patchhub enables Security Hub (and, in
    /// organization mode, in accounts auto-enabled later).
    pub enable_default_standards: bool,
    /// Accounts (or Regions) worked on at once.
    pub concurrency: usize,
}

impl EnablePlan {
    /// A plan with the defaults: the caller is the administrator, no members listed (organization
    /// mode takes the whole organization), no aggregator, no role, no default standards, 8 at once.
    pub fn new(mode: Mode, regions: Vec<String>) -> Self {
        EnablePlan {
            mode,
            admin_account: None,
            members: MemberAccounts::Current,
            regions,
            home_region: None,
            role: default_role(),
            enable_default_standards: false,
            concurrency: 8,
        }
    }
}

/// What [`status`] looks at.
///
/// [`status`]: fn@status
#[derive(Debug, Clone)]
pub struct StatusPlan {
    /// The administrator; `None`: the caller's account.
    pub admin_account: Option<String>,
    /// Accounts to show besides the administrator.
    pub members: MemberAccounts,
    /// Regions.
    pub regions: Vec<String>,
    /// Role to enter the other accounts (without it they show only what the administrator knows).
    pub role: RoleOptions,
    /// Count each account's active patchhub findings (one `GetFindings` page per 100).
    pub count_findings: bool,
    /// Accounts worked on at once.
    pub concurrency: usize,
}

impl StatusPlan {
    /// The caller as administrator, its current members, findings counted, 8 at once.
    pub fn new(regions: Vec<String>) -> Self {
        StatusPlan {
            admin_account: None,
            members: MemberAccounts::Current,
            regions,
            role: default_role(),
            count_findings: true,
            concurrency: 8,
        }
    }
}

/// What [`disable`] undoes.
///
/// [`disable`]: fn@disable
#[derive(Debug, Clone)]
pub struct DisablePlan {
    /// Organization mode also turns auto-enable off and removes the designation (from the
    /// management account, the caller).
    pub mode: Mode,
    /// The administrator; `None`: the caller's account.
    pub admin_account: Option<String>,
    /// Members to let go: [`MemberAccounts::Current`] is all of them.
    pub members: MemberAccounts,
    /// Regions.
    pub regions: Vec<String>,
    /// Role to enter accounts other than the caller's (the administrator; members only when
    /// their side is undone too).
    pub role: RoleOptions,
    /// Also disable Security Hub in the members and the administrator. Destructive: Security
    /// Hub then deletes the account's findings.
    pub disable_hub: bool,
    /// Accounts (or Regions) worked on at once.
    pub concurrency: usize,
}

impl DisablePlan {
    /// The caller as administrator, all its members, hubs left enabled, 8 at once.
    pub fn new(mode: Mode, regions: Vec<String>) -> Self {
        DisablePlan {
            mode,
            admin_account: None,
            members: MemberAccounts::Current,
            regions,
            role: default_role(),
            disable_hub: false,
            concurrency: 8,
        }
    }
}

fn default_role() -> RoleOptions {
    RoleOptions {
        role_name: None,
        external_id: None,
        session_name: "patchhub-hub".into(),
    }
}

/// One step of a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Getting into the account (its own credentials, or the role).
    EnterAccount,
    /// The management account designates the organization's administrator.
    Designate,
    /// Security Hub enabled in the account.
    EnableHub,
    /// The administrator's organization configuration auto-enables new accounts.
    AutoEnable,
    /// The administrator records the account as a member.
    CreateMember,
    /// The administrator invites the member.
    InviteMember,
    /// The member accepts the invitation.
    AcceptInvitation,
    /// The administrator's finding aggregator links the Regions.
    Aggregator,
    /// The administrator disassociates the member.
    DisassociateMember,
    /// The member leaves the administrator.
    LeaveAdministrator,
    /// Auto-enable turned off.
    DisableAutoEnable,
    /// The management account removes the designation.
    RemoveDesignation,
    /// The administrator deletes the member record.
    DeleteMember,
    /// The administrator's finding aggregator deleted.
    DeleteAggregator,
    /// Security Hub disabled in the account.
    DisableHub,
    /// patchhub's active findings archived.
    Archive,
}

impl Step {
    /// Spelling in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::EnterAccount => "enter-account",
            Step::Designate => "designate",
            Step::EnableHub => "enable-hub",
            Step::AutoEnable => "auto-enable",
            Step::CreateMember => "create-member",
            Step::InviteMember => "invite-member",
            Step::AcceptInvitation => "accept-invitation",
            Step::Aggregator => "aggregator",
            Step::DisassociateMember => "disassociate-member",
            Step::LeaveAdministrator => "leave-administrator",
            Step::DisableAutoEnable => "disable-auto-enable",
            Step::RemoveDesignation => "remove-designation",
            Step::DeleteMember => "delete-member",
            Step::DeleteAggregator => "delete-aggregator",
            Step::DisableHub => "disable-hub",
            Step::Archive => "archive",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Changed now.
    Done,
    /// Was in place; nothing sent.
    Already,
    /// Not applicable here (e.g. an opt-in Region not enabled); the detail says why.
    Skipped,
    /// Not done; the detail says why and `resume` how to finish.
    Failed,
}

impl Outcome {
    /// Spelling in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Already => "already",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step for one account and Region (`-` for account-wide steps).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HubAction {
    /// The account the step is about.
    pub account: String,
    /// Region, or `-`.
    pub region: String,
    /// What.
    pub step: Step,
    /// How it ended.
    pub outcome: Outcome,
    /// What is in place now, or why it was skipped or failed.
    pub detail: String,
    /// For failures: what to fix and how to finish.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// For failures from AWS: the class of the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
}

/// Everything a command did, one action per step, sorted by account, Region and step.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct HubReport {
    /// The actions.
    pub actions: Vec<HubAction>,
}

impl HubReport {
    /// Whether nothing failed (skipped steps are warnings, not failures).
    pub fn is_ok(&self) -> bool {
        self.actions.iter().all(|a| a.outcome != Outcome::Failed)
    }

    /// Number of steps that ended so.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.actions.iter().filter(|a| a.outcome == outcome).count()
    }

    /// Steps that changed something.
    pub fn changed(&self) -> usize {
        self.count(Outcome::Done)
    }

    /// The actions that ended so.
    pub fn with(&self, outcome: Outcome) -> impl Iterator<Item = &HubAction> {
        self.actions.iter().filter(move |a| a.outcome == outcome)
    }

    /// The action for one account, Region and step, if the command took it.
    pub fn find(&self, account: &str, region: &str, step: Step) -> Option<&HubAction> {
        self.actions
            .iter()
            .find(|a| a.account == account && a.region == region && a.step == step)
    }
}

/// Whether an account has Security Hub in a Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HubState {
    /// Enabled.
    Enabled,
    /// Not enabled.
    Disabled,
    /// The Region is an opt-in Region not enabled for the account.
    RegionDisabled,
    /// Not known (the account could not be entered, or the call failed).
    Unknown,
}

impl HubState {
    /// Spelling in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            HubState::Enabled => "enabled",
            HubState::Disabled => "disabled",
            HubState::RegionDisabled => "region not enabled",
            HubState::Unknown => "?",
        }
    }
}

/// An account's place in a Region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum Relationship {
    /// It administers this many associated members.
    Administrator {
        /// Associated members.
        members: usize,
    },
    /// Associated with this administrator.
    Member {
        /// Administrator.
        administrator: String,
    },
    /// Holds an invitation from this administrator, not accepted.
    Invited {
        /// Administrator.
        administrator: String,
    },
    /// Standalone.
    None,
    /// Not known.
    Unknown,
}

impl fmt::Display for Relationship {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relationship::Administrator { members } => {
                write!(f, "administrator ({members} members)")
            }
            Relationship::Member { administrator } => write!(f, "member of {administrator}"),
            Relationship::Invited { administrator } => write!(f, "invited by {administrator}"),
            Relationship::None => f.write_str("none"),
            Relationship::Unknown => f.write_str("?"),
        }
    }
}

/// The administrator's finding aggregator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AggregatorInfo {
    /// ARN.
    pub arn: String,
    /// Home Region (where it is managed and the data is gathered).
    pub home_region: String,
    /// `ALL_REGIONS`, `ALL_REGIONS_EXCEPT_SPECIFIED`, `SPECIFIED_REGIONS` or `NO_REGIONS`.
    pub mode: String,
    /// The Regions the mode includes or excludes.
    pub regions: Vec<String>,
}

impl AggregatorInfo {
    /// Whether data of `region` is gathered in the home Region.
    pub fn covers(&self, region: &str) -> bool {
        region == self.home_region
            || match self.mode.as_str() {
                "ALL_REGIONS" => true,
                "ALL_REGIONS_EXCEPT_SPECIFIED" => !self.regions.iter().any(|r| r == region),
                "SPECIFIED_REGIONS" => self.regions.iter().any(|r| r == region),
                _ => false,
            }
    }
}

/// One account in one Region, as [`status`] sees it.
///
/// [`status`]: fn@status
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusRow {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Security Hub there.
    pub hub: HubState,
    /// Its relationship there.
    pub relationship: Relationship,
    /// `home`, `linked to HOME`, `not linked`, `none` (no aggregator) or `-` (not associated).
    pub aggregation: String,
    /// Active patchhub findings of this account in this Region, when counted.
    pub active_findings: Option<usize>,
    /// What could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the administrator sees from its home Region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AggregatedView {
    /// The home Region.
    pub region: String,
    /// Active patchhub findings visible there (its own, its members', from linked Regions).
    pub active_findings: usize,
    /// Accounts they belong to.
    pub accounts: usize,
    /// Regions they come from.
    pub regions: usize,
}

/// What [`status`] found.
///
/// [`status`]: fn@status
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusReport {
    /// The administrator looked at.
    pub administrator: String,
    /// Its finding aggregator.
    pub aggregator: Option<AggregatorInfo>,
    /// What it sees from the aggregator's home Region (when findings are counted).
    pub aggregated: Option<AggregatedView>,
    /// One row per account and Region.
    pub rows: Vec<StatusRow>,
}

impl StatusReport {
    /// Whether every row could be read.
    pub fn is_ok(&self) -> bool {
        self.rows.iter().all(|r| r.error.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_follows_the_linking_mode() {
        let agg = |mode: &str, regions: &[&str]| AggregatorInfo {
            arn: "arn".into(),
            home_region: "us-east-1".into(),
            mode: mode.into(),
            regions: regions.iter().map(|s| s.to_string()).collect(),
        };
        assert!(agg("NO_REGIONS", &[]).covers("us-east-1"));
        assert!(!agg("NO_REGIONS", &[]).covers("eu-west-1"));
        assert!(agg("ALL_REGIONS", &[]).covers("eu-west-1"));
        assert!(agg("SPECIFIED_REGIONS", &["eu-west-1"]).covers("eu-west-1"));
        assert!(!agg("SPECIFIED_REGIONS", &["eu-west-1"]).covers("us-west-2"));
        assert!(!agg("ALL_REGIONS_EXCEPT_SPECIFIED", &["eu-west-1"]).covers("eu-west-1"));
        assert!(agg("ALL_REGIONS_EXCEPT_SPECIFIED", &["eu-west-1"]).covers("us-west-2"));
    }
}
