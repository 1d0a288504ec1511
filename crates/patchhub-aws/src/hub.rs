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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_securityhub::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_securityhub::types::{
    AccountDetails, AutoEnableStandards, AwsSecurityFindingFilters, StringFilter,
    StringFilterComparison,
};
use chrono::{DateTime, Duration as TimeDelta, Utc};
use patchhub_core::finding::{self, Finding, RecordState};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clients::{self, AccountSession, RoleOptions};
use crate::error::{ApiError, ErrorKind};
use crate::fanout::{self, FanOut};
use crate::paging::all_pages;
use crate::quota::Limiter;
use crate::sink::{FindingQuery, FindingSink, SecurityHubSink};
use crate::targets::{AccountTarget, RegionSelection};

/// Accounts per `CreateMembers` call (AWS maximum); the other member calls are chunked alike.
pub const MAX_MEMBERS_PER_CALL: usize = 50;
/// `patchhub/Resolution` of the findings [`cleanup`] archives.
pub const RESOLUTION_UNINSTALLED: &str = "uninstalled";
/// How often a member looks for an invitation just sent before giving up (it usually arrives at
/// once; AWS documents no delivery time).
const INVITATION_LOOKUPS: u32 = 4;

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

/// The actions of a command, collected from concurrent tasks.
#[derive(Clone)]
struct Log {
    command: &'static str,
    actions: Arc<Mutex<Vec<HubAction>>>,
}

/// Why a step could not go on, for the steps that depend on it.
#[derive(Debug, Clone)]
struct Blocked {
    outcome: Outcome,
    why: String,
}

impl Log {
    fn new(command: &'static str) -> Self {
        Log {
            command,
            actions: Arc::default(),
        }
    }

    fn push(&self, action: HubAction) {
        // Callers print skipped and failed steps themselves; the log has every step.
        tracing::info!(
            account = action.account,
            region = action.region,
            step = action.step.as_str(),
            outcome = action.outcome.as_str(),
            "{}",
            action.detail
        );
        self.actions.lock().expect("action log").push(action);
    }

    fn record(&self, account: &str, region: &str, step: Step, outcome: Outcome, detail: String) {
        self.push(HubAction {
            account: account.to_string(),
            region: region.to_string(),
            step,
            outcome,
            detail,
            resume: None,
            error_kind: None,
        });
    }

    fn fail(
        &self,
        account: &str,
        region: &str,
        step: Step,
        detail: String,
        resume: String,
        error_kind: Option<ErrorKind>,
    ) {
        self.push(HubAction {
            account: account.to_string(),
            region: region.to_string(),
            step,
            outcome: Outcome::Failed,
            detail,
            resume: Some(resume),
            error_kind,
        });
    }

    fn done(&self, account: &str, region: &str, step: Step, detail: impl Into<String>) {
        self.record(account, region, step, Outcome::Done, detail.into());
    }

    fn already(&self, account: &str, region: &str, step: Step, detail: impl Into<String>) {
        self.record(account, region, step, Outcome::Already, detail.into());
    }

    fn skipped(&self, account: &str, region: &str, step: Step, why: impl Into<String>) {
        self.record(account, region, step, Outcome::Skipped, why.into());
    }

    fn failed(
        &self,
        account: &str,
        region: &str,
        step: Step,
        why: impl Into<String>,
        resume: impl Into<String>,
    ) {
        self.fail(account, region, step, why.into(), resume.into(), None);
    }

    /// The rerun sentence every resume hint ends with.
    fn rerun(&self) -> String {
        format!(
            "then run the same `patchhub {}` again (steps already in place are skipped)",
            self.command
        )
    }

    /// Logs an AWS error: a Region not enabled for the account is skipped, anything else fails
    /// with a resume hint.
    fn error(&self, account: &str, region: &str, step: Step, e: &ApiError) -> Blocked {
        if e.kind == ErrorKind::RegionDisabled {
            let why = format!(
                "{region} is not enabled for account {} (opt-in Region)",
                e.account
            );
            self.skipped(account, region, step, &why);
            return Blocked {
                outcome: Outcome::Skipped,
                why,
            };
        }
        let why = describe(e);
        self.fail(
            account,
            region,
            step,
            why.clone(),
            self.resume_for(e),
            Some(e.kind),
        );
        Blocked {
            outcome: Outcome::Failed,
            why,
        }
    }

    fn resume_for(&self, e: &ApiError) -> String {
        let rerun = self.rerun();
        let action = if e.api.contains(':') {
            e.api.clone()
        } else {
            format!("securityhub:{}", e.api)
        };
        match e.kind {
            ErrorKind::AccessDenied => format!(
                "allow {action} to the principal patchhub uses in account {} (HUB_ACTIONS in docs/DEPLOY.md), {rerun}",
                e.account
            ),
            ErrorKind::Credentials => format!("refresh the credentials, {rerun}"),
            ErrorKind::HubNotEnabled => format!(
                "enable Security Hub in account {} in {}, {rerun}",
                e.account, e.region
            ),
            ErrorKind::InvalidInput => format!("resolve what AWS answered, {rerun}"),
            ErrorKind::Throttled | ErrorKind::Service | ErrorKind::RegionDisabled => {
                format!("nothing to fix on your side: {rerun}")
            }
        }
    }

    /// A step not attempted because a step it depends on did not go through.
    fn blocked(&self, account: &str, region: &str, step: Step, b: &Blocked, by: &str) {
        let detail = format!("not attempted: {by}: {}", b.why);
        match b.outcome {
            Outcome::Skipped => self.skipped(account, region, step, detail),
            _ => {
                let resume = format!("fix {by} (see its own line), {}", self.rerun());
                self.fail(account, region, step, detail, resume, None);
            }
        }
    }

    fn regions_skipped_for(&self, account: &str) -> BTreeSet<String> {
        self.actions
            .lock()
            .expect("action log")
            .iter()
            .filter(|a| a.account == account && a.outcome == Outcome::Skipped)
            .map(|a| a.region.clone())
            .collect()
    }

    fn report(&self) -> HubReport {
        let mut actions = self.actions.lock().expect("action log").clone();
        actions.sort_by(|a, b| {
            (&a.account, &a.region, a.step, &a.detail)
                .cmp(&(&b.account, &b.region, b.step, &b.detail))
        });
        HubReport { actions }
    }
}

/// `API failed: message` (the account and Region are the row's).
fn describe(e: &ApiError) -> String {
    match &e.code {
        Some(code) => format!("{} failed: {code}: {}", e.api, e.message),
        None => format!("{} failed: {}", e.api, e.message),
    }
}

/// A member record's status as `ListMembers` spells it (`Created`, `Invited`, `Enabled`, ...).
type Records = BTreeMap<String, String>;

fn associated(status: &str) -> bool {
    status == "Enabled"
}

/// Security Hub of one account in one Region, with the calls `hub` makes.
#[derive(Clone)]
struct Sh {
    client: aws_sdk_securityhub::Client,
    account: String,
    region: String,
}

impl Sh {
    fn new(session: &AccountSession, region: &str) -> Self {
        Sh {
            client: aws_sdk_securityhub::Client::new(&session.in_region(region)),
            account: session.account_id.clone(),
            region: region.to_string(),
        }
    }

    fn err<E, R>(&self, api: &str, e: &SdkError<E, R>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        ApiError::from_sdk(&self.account, &self.region, api, e)
    }

    /// `DescribeHub`: whether Security Hub is enabled.
    async fn hub_enabled(&self) -> Result<bool, ApiError> {
        match self.client.describe_hub().send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = self.err("DescribeHub", &e);
                if e.kind == ErrorKind::HubNotEnabled {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// `EnableSecurityHub`; `false` when it was enabled meanwhile.
    async fn enable_hub(&self, default_standards: bool) -> Result<bool, ApiError> {
        match self
            .client
            .enable_security_hub()
            .enable_default_standards(default_standards)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = self.err("EnableSecurityHub", &e);
                if e.code.as_deref() == Some("ResourceConflictException") {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn disable_hub(&self) -> Result<(), ApiError> {
        self.client
            .disable_security_hub()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisableSecurityHub", &e))
    }

    /// `GetAdministratorAccount`: `(administrator, member status)`.
    async fn administrator(&self) -> Result<Option<(String, String)>, ApiError> {
        let out = self
            .client
            .get_administrator_account()
            .send()
            .await
            .map_err(|e| self.err("GetAdministratorAccount", &e))?;
        Ok(out.administrator().and_then(|i| {
            i.account_id().map(|a| {
                (
                    a.to_string(),
                    i.member_status().unwrap_or("Enabled").to_string(),
                )
            })
        }))
    }

    /// `ListInvitations`: `(administrator, invitation id, status)` of every invitation held.
    async fn invitations(&self) -> Result<Vec<(String, String, String)>, ApiError> {
        all_pages(None, |token| async move {
            let page = self
                .client
                .list_invitations()
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("ListInvitations", &e))?;
            let items = page
                .invitations()
                .iter()
                .filter_map(|i| {
                    Some((
                        i.account_id()?.to_string(),
                        i.invitation_id()?.to_string(),
                        i.member_status().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await
    }

    /// The invitation from `admin` the account can accept, if it holds one.
    async fn invitation_from(&self, admin: &str) -> Result<Option<String>, ApiError> {
        Ok(self
            .invitations()
            .await?
            .into_iter()
            .find(|(a, _, status)| a == admin && status != "Enabled")
            .map(|(_, id, _)| id))
    }

    async fn accept(&self, admin: &str, invitation: &str) -> Result<(), ApiError> {
        self.client
            .accept_administrator_invitation()
            .administrator_id(admin)
            .invitation_id(invitation)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("AcceptAdministratorInvitation", &e))
    }

    async fn leave(&self) -> Result<(), ApiError> {
        self.client
            .disassociate_from_administrator_account()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisassociateFromAdministratorAccount", &e))
    }

    /// `ListMembers`: every member record (`only_associated`: only `Enabled` ones).
    async fn members(&self, only_associated: bool) -> Result<Records, ApiError> {
        let members = all_pages(None, |token| async move {
            let page = self
                .client
                .list_members()
                .only_associated(only_associated)
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("ListMembers", &e))?;
            let items: Vec<(String, String)> = page
                .members()
                .iter()
                .filter_map(|m| {
                    Some((
                        m.account_id()?.to_string(),
                        m.member_status().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await?;
        Ok(members.into_iter().collect())
    }

    /// `CreateMembers` for at most [`MAX_MEMBERS_PER_CALL`] accounts: the unprocessed ones, why.
    async fn create_members(
        &self,
        accounts: &[AccountTarget],
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let details = accounts
            .iter()
            .map(|a| {
                AccountDetails::builder()
                    .account_id(&a.id)
                    .set_email(a.email.clone())
                    .build()
            })
            .collect();
        let out = self
            .client
            .create_members()
            .set_account_details(Some(details))
            .send()
            .await
            .map_err(|e| self.err("CreateMembers", &e))?;
        Ok(unprocessed(out.unprocessed_accounts()))
    }

    async fn invite_members(&self, ids: &[String]) -> Result<BTreeMap<String, String>, ApiError> {
        let out = self
            .client
            .invite_members()
            .set_account_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| self.err("InviteMembers", &e))?;
        Ok(unprocessed(out.unprocessed_accounts()))
    }

    async fn disassociate_members(&self, ids: &[String]) -> Result<(), ApiError> {
        self.client
            .disassociate_members()
            .set_account_ids(Some(ids.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisassociateMembers", &e))
    }

    async fn delete_members(&self, ids: &[String]) -> Result<BTreeMap<String, String>, ApiError> {
        let out = self
            .client
            .delete_members()
            .set_account_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| self.err("DeleteMembers", &e))?;
        Ok(unprocessed(out.unprocessed_accounts()))
    }

    /// `ListOrganizationAdminAccounts` (management account): the designated administrators.
    async fn org_admins(&self) -> Result<Vec<String>, ApiError> {
        all_pages(None, |token| async move {
            let page = self
                .client
                .list_organization_admin_accounts()
                .max_results(10)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("ListOrganizationAdminAccounts", &e))?;
            let items = page
                .admin_accounts()
                .iter()
                .filter(|a| a.status().is_none_or(|s| s.as_str() == "ENABLED"))
                .filter_map(|a| a.account_id().map(str::to_string))
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await
    }

    async fn designate(&self, admin: &str) -> Result<(), ApiError> {
        self.client
            .enable_organization_admin_account()
            .admin_account_id(admin)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("EnableOrganizationAdminAccount", &e))
    }

    async fn undesignate(&self, admin: &str) -> Result<(), ApiError> {
        self.client
            .disable_organization_admin_account()
            .admin_account_id(admin)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisableOrganizationAdminAccount", &e))
    }

    async fn auto_enable(&self) -> Result<bool, ApiError> {
        let out = self
            .client
            .describe_organization_configuration()
            .send()
            .await
            .map_err(|e| self.err("DescribeOrganizationConfiguration", &e))?;
        Ok(out.auto_enable().unwrap_or(false))
    }

    async fn set_auto_enable(&self, on: bool, default_standards: bool) -> Result<(), ApiError> {
        let mut call = self
            .client
            .update_organization_configuration()
            .auto_enable(on);
        if on {
            call = call.auto_enable_standards(if default_standards {
                AutoEnableStandards::Default
            } else {
                AutoEnableStandards::None
            });
        }
        call.send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UpdateOrganizationConfiguration", &e))
    }

    /// The account's finding aggregator (`ListFindingAggregators` answers from any Region).
    async fn aggregator(&self) -> Result<Option<AggregatorInfo>, ApiError> {
        let list = self
            .client
            .list_finding_aggregators()
            .send()
            .await
            .map_err(|e| self.err("ListFindingAggregators", &e))?;
        let Some(arn) = list
            .finding_aggregators()
            .iter()
            .find_map(|a| a.finding_aggregator_arn())
        else {
            return Ok(None);
        };
        let got = self
            .client
            .get_finding_aggregator()
            .finding_aggregator_arn(arn)
            .send()
            .await
            .map_err(|e| self.err("GetFindingAggregator", &e))?;
        Ok(Some(AggregatorInfo {
            arn: arn.to_string(),
            home_region: got
                .finding_aggregation_region()
                .unwrap_or(&self.region)
                .to_string(),
            mode: got.region_linking_mode().unwrap_or_default().to_string(),
            regions: got.regions().to_vec(),
        }))
    }

    async fn create_aggregator(&self, mode: &str, regions: &[String]) -> Result<(), ApiError> {
        self.client
            .create_finding_aggregator()
            .region_linking_mode(mode)
            .set_regions((!regions.is_empty()).then(|| regions.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("CreateFindingAggregator", &e))
    }

    async fn update_aggregator(
        &self,
        arn: &str,
        mode: &str,
        regions: &[String],
    ) -> Result<(), ApiError> {
        self.client
            .update_finding_aggregator()
            .finding_aggregator_arn(arn)
            .region_linking_mode(mode)
            .set_regions((!regions.is_empty()).then(|| regions.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UpdateFindingAggregator", &e))
    }

    async fn delete_aggregator(&self, arn: &str) -> Result<(), ApiError> {
        self.client
            .delete_finding_aggregator()
            .finding_aggregator_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DeleteFindingAggregator", &e))
    }

    /// `(account, Region)` of every active patchhub finding the account sees here; `own`: only
    /// the account's own findings of this Region.
    async fn active_findings(&self, own: bool) -> Result<Vec<(String, String)>, ApiError> {
        let eq = |v: &str| {
            StringFilter::builder()
                .value(v)
                .comparison(StringFilterComparison::Equals)
                .build()
        };
        let mut filters = AwsSecurityFindingFilters::builder()
            .generator_id(
                StringFilter::builder()
                    .value(finding::GENERATOR_PREFIX)
                    .comparison(StringFilterComparison::Prefix)
                    .build(),
            )
            .record_state(eq("ACTIVE"));
        if own {
            filters = filters
                .aws_account_id(eq(&self.account))
                .region(eq(&self.region));
        }
        let filters = filters.build();
        all_pages(None, |token| {
            let filters = filters.clone();
            async move {
                let page = self
                    .client
                    .get_findings()
                    .filters(filters)
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| self.err("GetFindings", &e))?;
                let items = page
                    .findings()
                    .iter()
                    .map(|f| {
                        (
                            f.aws_account_id().unwrap_or_default().to_string(),
                            f.region().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                Ok((items, page.next_token().map(str::to_string)))
            }
        })
        .await
    }
}

fn unprocessed(list: &[aws_sdk_securityhub::types::Result]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|r| {
            r.account_id().map(|a| {
                (
                    a.to_string(),
                    r.processing_result().unwrap_or("unprocessed").to_string(),
                )
            })
        })
        .collect()
}

/// Security Hub on in one account and Region; `Err` says why the account cannot go on there.
async fn ensure_hub(sh: &Sh, default_standards: bool, log: &Log) -> Result<(), Blocked> {
    let enabled = async {
        if sh.hub_enabled().await? {
            return Ok(false);
        }
        sh.enable_hub(default_standards).await
    }
    .await;
    match enabled {
        Ok(false) => {
            log.already(
                &sh.account,
                &sh.region,
                Step::EnableHub,
                "Security Hub is enabled",
            );
            Ok(())
        }
        Ok(true) => {
            let how = if default_standards {
                "Security Hub enabled, with the default standards"
            } else {
                "Security Hub enabled, without default standards"
            };
            log.done(&sh.account, &sh.region, Step::EnableHub, how);
            Ok(())
        }
        Err(e) => Err(log.error(&sh.account, &sh.region, Step::EnableHub, &e)),
    }
}

/// Checks the Regions of a plan: at least one, no duplicates, the home Region among them.
fn check_regions(regions: &[String], home: Option<&str>) -> Option<ApiError> {
    let bad =
        |api: &str, msg: String| Some(ApiError::other("-", "-", api, ErrorKind::InvalidInput, msg));
    if regions.is_empty() {
        return bad(
            "--regions",
            "no Regions given: list them with --regions".into(),
        );
    }
    if let Some(r) = regions.iter().find(|r| !crate::targets::is_region(r)) {
        return bad("--regions", format!("`{r}` is not a Region name"));
    }
    match home {
        Some(h) if !regions.iter().any(|r| r == h) => bad(
            "--home-region",
            format!(
                "the home Region {h} must be one of --regions ({})",
                regions.join(",")
            ),
        ),
        _ => None,
    }
}

/// The member accounts of a plan, without the administrator.
async fn resolve_members(
    base: &SdkConfig,
    members: &MemberAccounts,
    organization_by_default: bool,
    admin: &str,
) -> Result<Option<Vec<AccountTarget>>, ApiError> {
    let list = match members {
        MemberAccounts::Current if organization_by_default => {
            fanout::organization_accounts(base, None).await?
        }
        MemberAccounts::Current => return Ok(None),
        MemberAccounts::List(l) => l.clone(),
        MemberAccounts::Organization { ou } => {
            fanout::organization_accounts(base, ou.as_deref()).await?
        }
    };
    Ok(Some(list.into_iter().filter(|t| t.id != admin).collect()))
}

/// Enters accounts: the caller's own with the base credentials, the others through the role.
/// Failures are logged (step `enter-account`) and left out.
async fn enter(
    base: &SdkConfig,
    me: &AccountSession,
    ids: BTreeSet<String>,
    role: &RoleOptions,
    width: usize,
    log: &Log,
) -> BTreeMap<String, AccountSession> {
    let mut entered = BTreeMap::new();
    let sem = Arc::new(Semaphore::new(width.max(1)));
    let mut set = JoinSet::new();
    for id in ids {
        if id == me.account_id {
            entered.insert(id, me.clone());
            continue;
        }
        let (base, partition, role, sem) = (
            base.clone(),
            me.partition.clone(),
            role.clone(),
            sem.clone(),
        );
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let res = clients::assume_into(&base, &partition, &id, &role).await;
            (id, res)
        });
    }
    while let Some(res) = set.join_next().await {
        match res {
            Ok((id, Ok(s))) => {
                entered.insert(id, s);
            }
            Ok((id, Err(e))) => log_enter_failure(log, &id, role, &me.account_id, &e),
            Err(e) => log.failed("?", "-", Step::EnterAccount, e.to_string(), log.rerun()),
        }
    }
    entered
}

fn log_enter_failure(log: &Log, id: &str, role: &RoleOptions, me: &str, e: &ApiError) {
    let resume = match &role.role_name {
        None => format!(
            "pass --role-name ROLE (a role in account {id} that account {me} may assume), {}",
            log.rerun()
        ),
        Some(r) => format!(
            "make sure role {r} exists in account {id}, trusts account {me} and allows the actions in HUB_ACTIONS (docs/DEPLOY.md), {}",
            log.rerun()
        ),
    };
    log.fail(
        id,
        "-",
        Step::EnterAccount,
        format!("{} failed: {}", e.api, short_sts_error(&e.message)),
        resume,
        Some(e.kind),
    );
}

/// The gist of an AssumeRole failure: the credential provider's error text carries the whole
/// response (`… message: "User: … is not authorized …" …`); keep what STS said.
fn short_sts_error(text: &str) -> String {
    let quoted = |key: &str| {
        let start = text.find(key)? + key.len();
        let len = text[start..].find('"')?;
        Some(text[start..start + len].to_string())
    };
    let lead = text.split(": ").next().unwrap_or(text);
    match (quoted("code: \""), quoted("message: \"")) {
        (Some(code), Some(message)) if lead.starts_with("cannot assume") => {
            format!("{lead}: {code}: {message}")
        }
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ if text.chars().count() > 300 => {
            format!("{}…", text.chars().take(300).collect::<String>())
        }
        _ => text.to_string(),
    }
}

/// Enters the administrator; `None` (logged) when it cannot be entered.
async fn enter_admin(
    base: &SdkConfig,
    me: &AccountSession,
    admin: &str,
    role: &RoleOptions,
    log: &Log,
) -> Option<AccountSession> {
    if admin == me.account_id {
        return Some(me.clone());
    }
    match clients::assume_into(base, &me.partition, admin, role).await {
        Ok(s) => Some(s),
        Err(e) => {
            log_enter_failure(log, admin, role, &me.account_id, &e);
            None
        }
    }
}

/// Runs `f` for each item with at most `width` at once; results in input order.
async fn each<T, R, F, Fut>(items: Vec<T>, width: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let sem = Arc::new(Semaphore::new(width.max(1)));
    let mut set = JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let fut = f(item);
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (i, fut.await)
        });
    }
    let mut out = Vec::new();
    while let Some(res) = set.join_next().await {
        match res {
            Ok(r) => out.push(r),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Joins the accounts to one administrator in every Region, and links the Regions to the home
/// Region's finding aggregator. `Err` only when nothing could start (no caller identity, a plan
/// that makes no sense, the organization's accounts cannot be listed); everything else is in the
/// report, one action per step.
pub async fn enable(base: &SdkConfig, plan: &EnablePlan) -> Result<HubReport, ApiError> {
    if let Some(e) = check_regions(&plan.regions, plan.home_region.as_deref()) {
        return Err(e);
    }
    let me = clients::base_session(base).await?;
    let admin_id = plan
        .admin_account
        .clone()
        .unwrap_or_else(|| me.account_id.clone());
    let org = plan.mode == Mode::Organization;
    let members = resolve_members(base, &plan.members, org, &admin_id)
        .await?
        .ok_or_else(|| {
            ApiError::other(
                "-",
                "-",
                "--accounts",
                ErrorKind::InvalidInput,
                "invitation mode needs the member accounts (--accounts FILE of AccountId,Email lines)",
            )
        })?;
    let log = Log::new("hub enable");
    let Some(admin) = enter_admin(base, &me, &admin_id, &plan.role, &log).await else {
        return Ok(log.report());
    };
    match plan.mode {
        Mode::Invitation => {
            let ids = members.iter().map(|m| m.id.clone()).collect();
            let sessions = enter(base, &me, ids, &plan.role, plan.concurrency, &log).await;
            let members: Vec<(AccountTarget, AccountSession)> = members
                .into_iter()
                .filter_map(|t| sessions.get(&t.id).cloned().map(|s| (t, s)))
                .collect();
            let ctx = Arc::new(InviteCtx {
                admin: admin.clone(),
                members,
                default_standards: plan.enable_default_standards,
                width: plan.concurrency,
                log: log.clone(),
            });
            each(plan.regions.clone(), plan.concurrency, |region| {
                let ctx = ctx.clone();
                async move { invite_region(ctx, region).await }
            })
            .await;
        }
        Mode::Organization => {
            let ctx = Arc::new(OrgCtx {
                management: me.clone(),
                admin: admin.clone(),
                members,
                default_standards: plan.enable_default_standards,
                log: log.clone(),
            });
            each(plan.regions.clone(), plan.concurrency, |region| {
                let ctx = ctx.clone();
                async move { org_region(ctx, region).await }
            })
            .await;
        }
    }
    if let Some(home) = &plan.home_region {
        ensure_aggregator(&admin, home, &plan.regions, &log).await;
    }
    Ok(log.report())
}

struct InviteCtx {
    admin: AccountSession,
    members: Vec<(AccountTarget, AccountSession)>,
    default_standards: bool,
    width: usize,
    log: Log,
}

/// A member that passed its own checks in a Region.
#[derive(Clone)]
struct ReadyMember {
    target: AccountTarget,
    sh: Sh,
    /// Already associated with the administrator.
    associated: bool,
    /// An invitation from the administrator it can accept.
    invitation: Option<String>,
}

/// Invitation mode in one Region.
async fn invite_region(ctx: Arc<InviteCtx>, region: String) {
    let log = &ctx.log;
    let admin = Sh::new(&ctx.admin, &region);
    let by = format!("administrator {}", admin.account);
    if let Err(b) = ensure_hub(&admin, ctx.default_standards, log).await {
        for (t, _) in &ctx.members {
            log.blocked(&t.id, &region, Step::CreateMember, &b, &by);
        }
        return;
    }

    // The members' side first: Security Hub on, and no other administrator in the way.
    let ready: Vec<ReadyMember> = each(ctx.members.clone(), ctx.width, |(t, s)| {
        let (sh, admin, standards, log) = (
            Sh::new(&s, &region),
            admin.account.clone(),
            ctx.default_standards,
            log.clone(),
        );
        async move { prepare_member(t, sh, &admin, standards, &log).await }
    })
    .await
    .into_iter()
    .flatten()
    .collect();
    if ready.is_empty() {
        return;
    }

    let mut records = match admin.members(false).await {
        Ok(r) => r,
        Err(e) => {
            for m in &ready {
                log.error(&m.target.id, &region, Step::CreateMember, &e);
            }
            return;
        }
    };
    let (present, missing): (Vec<ReadyMember>, Vec<ReadyMember>) = ready
        .into_iter()
        .partition(|m| records.contains_key(&m.target.id));
    for m in &present {
        log.already(
            &m.target.id,
            &region,
            Step::CreateMember,
            format!(
                "member record at {} ({})",
                admin.account, records[&m.target.id]
            ),
        );
    }
    let mut alive = present;
    for chunk in missing.chunks(MAX_MEMBERS_PER_CALL) {
        let targets: Vec<AccountTarget> = chunk.iter().map(|m| m.target.clone()).collect();
        match admin.create_members(&targets).await {
            Ok(refused) => {
                for m in chunk {
                    if let Some(why) = refused.get(&m.target.id) {
                        log.failed(
                            &m.target.id,
                            &region,
                            Step::CreateMember,
                            format!("CreateMembers did not add it: {why}"),
                            format!("resolve that, {}", log.rerun()),
                        );
                    } else {
                        log.done(
                            &m.target.id,
                            &region,
                            Step::CreateMember,
                            format!("member record created at {}", admin.account),
                        );
                        records.insert(m.target.id.clone(), "Created".into());
                        alive.push(m.clone());
                    }
                }
            }
            Err(e) => {
                for m in chunk {
                    log.error(&m.target.id, &region, Step::CreateMember, &e);
                }
            }
        }
    }

    let mut to_accept = Vec::new();
    let mut to_invite = Vec::new();
    for m in alive {
        let status = records.get(&m.target.id).map(String::as_str).unwrap_or("");
        if m.associated {
            log.already(&m.target.id, &region, Step::InviteMember, "associated");
            log.already(
                &m.target.id,
                &region,
                Step::AcceptInvitation,
                format!("member of {}", admin.account),
            );
        } else if m.invitation.is_some() && matches!(status, "Invited" | "Resigned") {
            log.already(
                &m.target.id,
                &region,
                Step::InviteMember,
                format!("holds an invitation from {}", admin.account),
            );
            to_accept.push(m);
        } else {
            to_invite.push(m);
        }
    }
    for chunk in to_invite.chunks(MAX_MEMBERS_PER_CALL) {
        let ids: Vec<String> = chunk.iter().map(|m| m.target.id.clone()).collect();
        match admin.invite_members(&ids).await {
            Ok(refused) => {
                for m in chunk {
                    if let Some(why) = refused.get(&m.target.id) {
                        log.failed(
                            &m.target.id,
                            &region,
                            Step::InviteMember,
                            format!("InviteMembers did not invite it: {why}"),
                            format!("resolve that, {}", log.rerun()),
                        );
                    } else {
                        log.done(
                            &m.target.id,
                            &region,
                            Step::InviteMember,
                            format!("invited by {}", admin.account),
                        );
                        let mut m = m.clone();
                        m.invitation = None;
                        to_accept.push(m);
                    }
                }
            }
            Err(e) => {
                for m in chunk {
                    log.error(&m.target.id, &region, Step::InviteMember, &e);
                }
            }
        }
    }

    each(to_accept, ctx.width, |m| {
        let (admin, log) = (admin.account.clone(), log.clone());
        async move { accept_member(m, &admin, &log).await }
    })
    .await;
}

/// A member's own checks in a Region: Security Hub on, not associated with another
/// administrator, not an administrator itself; and the invitation it holds, if any.
async fn prepare_member(
    target: AccountTarget,
    sh: Sh,
    admin: &str,
    default_standards: bool,
    log: &Log,
) -> Option<ReadyMember> {
    ensure_hub(&sh, default_standards, log).await.ok()?;
    let state = async {
        let current = sh.administrator().await?;
        if let Some((a, status)) = &current
            && associated(status)
        {
            return Ok((Some(a.clone()), 0, None));
        }
        let own = sh.members(true).await?.len();
        let invitation = sh.invitation_from(admin).await?;
        Ok::<_, ApiError>((None, own, invitation))
    }
    .await;
    let region = sh.region.clone();
    match state {
        Err(e) => {
            log.error(&target.id, &region, Step::AcceptInvitation, &e);
            None
        }
        Ok((Some(other), _, _)) if other != admin => {
            log.failed(
                &target.id,
                &region,
                Step::AcceptInvitation,
                format!("already a member of administrator {other} in {region}; an account has one administrator"),
                format!(
                    "let it go first (from {other}: `patchhub hub disable --admin-account {other}`, or in account {}: `aws securityhub disassociate-from-administrator-account --region {region}`), {}",
                    target.id,
                    log.rerun()
                ),
            );
            None
        }
        Ok((Some(_), _, _)) => Some(ReadyMember {
            target,
            sh,
            associated: true,
            invitation: None,
        }),
        Ok((None, own, _)) if own > 0 => {
            log.failed(
                &target.id,
                &region,
                Step::AcceptInvitation,
                format!("it is itself a Security Hub administrator with {own} members in {region}; an administrator cannot be a member"),
                format!(
                    "disassociate its members (`patchhub hub disable --admin-account {}`), or leave it out of --accounts, {}",
                    target.id,
                    log.rerun()
                ),
            );
            None
        }
        Ok((None, _, invitation)) => Some(ReadyMember {
            target,
            sh,
            associated: false,
            invitation,
        }),
    }
}

/// The member accepts the administrator's invitation (looking it up when just sent).
async fn accept_member(m: ReadyMember, admin: &str, log: &Log) {
    let (id, region) = (m.target.id.as_str(), m.sh.region.as_str());
    let invitation = match m.invitation.clone() {
        Some(i) => Ok(Some(i)),
        None => {
            let mut found = Ok(None);
            for attempt in 0..INVITATION_LOOKUPS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                found = m.sh.invitation_from(admin).await;
                if !matches!(found, Ok(None)) {
                    break;
                }
            }
            found
        }
    };
    match invitation {
        Ok(Some(inv)) => match m.sh.accept(admin, &inv).await {
            Ok(()) => log.done(
                id,
                region,
                Step::AcceptInvitation,
                format!("member of {admin}"),
            ),
            Err(e) => {
                log.error(id, region, Step::AcceptInvitation, &e);
            }
        },
        Ok(None) => log.failed(
            id,
            region,
            Step::AcceptInvitation,
            format!("no invitation from {admin} arrived in account {id}"),
            format!("wait a minute, {}", log.rerun()),
        ),
        Err(e) => {
            log.error(id, region, Step::AcceptInvitation, &e);
        }
    }
}

struct OrgCtx {
    management: AccountSession,
    admin: AccountSession,
    members: Vec<AccountTarget>,
    default_standards: bool,
    log: Log,
}

/// Organization mode in one Region.
async fn org_region(ctx: Arc<OrgCtx>, region: String) {
    let log = &ctx.log;
    let mgmt = Sh::new(&ctx.management, &region);
    let admin = Sh::new(&ctx.admin, &region);
    let admin_id = admin.account.clone();
    let by = format!("administrator {admin_id}");

    let designation = async {
        let admins = mgmt.org_admins().await?;
        if admins.iter().any(|a| a == &admin_id) {
            return Ok(Ok(false));
        }
        if let Some(other) = admins.into_iter().next() {
            return Ok(Err(other));
        }
        mgmt.designate(&admin_id).await?;
        Ok::<_, ApiError>(Ok(true))
    }
    .await;
    let blocked = match designation {
        Ok(Ok(changed)) => {
            let detail = format!(
                "Security Hub administrator of the organization (designated by {})",
                mgmt.account
            );
            if changed {
                log.done(&admin_id, &region, Step::Designate, detail);
            } else {
                log.already(&admin_id, &region, Step::Designate, detail);
            }
            None
        }
        Ok(Err(other)) => {
            let why = format!(
                "account {other} is already the organization's Security Hub administrator in {region}"
            );
            log.failed(
                &admin_id,
                &region,
                Step::Designate,
                &why,
                format!(
                    "keep it (pass --admin-account {other}) or, from the management account, remove it (`aws securityhub disable-organization-admin-account --admin-account-id {other} --region {region}`), {}",
                    log.rerun()
                ),
            );
            Some(Blocked {
                outcome: Outcome::Failed,
                why,
            })
        }
        Err(e) if e.kind == ErrorKind::AccessDenied => {
            // Most often: not run from the management account, which alone may designate.
            let why = describe(&e);
            log.fail(
                &admin_id,
                &region,
                Step::Designate,
                why.clone(),
                format!(
                    "organization mode runs with the management account's credentials, which must allow {}; {}",
                    e.api,
                    log.rerun()
                ),
                Some(e.kind),
            );
            Some(Blocked {
                outcome: Outcome::Failed,
                why,
            })
        }
        Err(e) => Some(log.error(&admin_id, &region, Step::Designate, &e)),
    };
    if let Some(b) = blocked {
        for t in &ctx.members {
            log.blocked(&t.id, &region, Step::CreateMember, &b, &by);
        }
        return;
    }

    // Security Hub is never enabled on the management account's behalf: it enables its own.
    let mut members = ctx.members.clone();
    if mgmt.account != admin_id
        && members.iter().any(|t| t.id == mgmt.account)
        && ensure_hub(&mgmt, ctx.default_standards, log).await.is_err()
    {
        members.retain(|t| t.id != mgmt.account);
    }

    match admin.auto_enable().await {
        Ok(true) => log.already(
            &admin_id,
            &region,
            Step::AutoEnable,
            "new organization accounts are enabled automatically",
        ),
        Ok(false) => match admin.set_auto_enable(true, ctx.default_standards).await {
            Ok(()) => log.done(
                &admin_id,
                &region,
                Step::AutoEnable,
                "new organization accounts are enabled automatically",
            ),
            Err(e) => {
                log.error(&admin_id, &region, Step::AutoEnable, &e);
            }
        },
        Err(e) => {
            log.error(&admin_id, &region, Step::AutoEnable, &e);
        }
    }

    let records = match admin.members(false).await {
        Ok(r) => r,
        Err(e) => {
            for t in &members {
                log.error(&t.id, &region, Step::CreateMember, &e);
            }
            return;
        }
    };
    let (present, missing): (Vec<AccountTarget>, Vec<AccountTarget>) = members
        .into_iter()
        .partition(|t| records.get(&t.id).is_some_and(|s| associated(s)));
    for t in &present {
        log.already(
            &t.id,
            &region,
            Step::CreateMember,
            format!("member of {admin_id}"),
        );
    }
    for chunk in missing.chunks(MAX_MEMBERS_PER_CALL) {
        match admin.create_members(chunk).await {
            Ok(refused) => {
                for t in chunk {
                    match refused.get(&t.id) {
                        Some(why) => log.failed(
                            &t.id,
                            &region,
                            Step::CreateMember,
                            format!("CreateMembers did not add it: {why}"),
                            format!("resolve that, {}", log.rerun()),
                        ),
                        None => log.done(
                            &t.id,
                            &region,
                            Step::CreateMember,
                            format!(
                                "member of {admin_id} (organization; Security Hub enabled by it)"
                            ),
                        ),
                    }
                }
            }
            Err(e) => {
                for t in chunk {
                    log.error(&t.id, &region, Step::CreateMember, &e);
                }
            }
        }
    }
}

/// What the aggregator must become to link `want` too; `None` when it already does. Never
/// narrows what it links: Regions someone else linked stay linked.
fn widened_linking(
    mode: &str,
    current: &[String],
    want: &BTreeSet<String>,
) -> Option<(String, Vec<String>)> {
    let current: BTreeSet<String> = current.iter().cloned().collect();
    match mode {
        "ALL_REGIONS" => None,
        "SPECIFIED_REGIONS" => {
            if want.is_subset(&current) {
                None
            } else {
                let all = current.union(want).cloned().collect();
                Some(("SPECIFIED_REGIONS".into(), all))
            }
        }
        "ALL_REGIONS_EXCEPT_SPECIFIED" => {
            if current.is_disjoint(want) {
                None
            } else {
                let rest: Vec<String> = current.difference(want).cloned().collect();
                if rest.is_empty() {
                    Some(("ALL_REGIONS".into(), Vec::new()))
                } else {
                    Some(("ALL_REGIONS_EXCEPT_SPECIFIED".into(), rest))
                }
            }
        }
        _ if want.is_empty() => None,
        _ => Some(("SPECIFIED_REGIONS".into(), want.iter().cloned().collect())),
    }
}

/// The administrator's finding aggregator in `home`, linking the other Regions of the plan
/// (except those skipped for the administrator).
async fn ensure_aggregator(admin: &AccountSession, home: &str, regions: &[String], log: &Log) {
    let sh = Sh::new(admin, home);
    let skipped = log.regions_skipped_for(&admin.account_id);
    if skipped.contains(home) {
        log.skipped(
            &admin.account_id,
            home,
            Step::Aggregator,
            format!("the home Region {home} is not enabled for the administrator"),
        );
        return;
    }
    let want: BTreeSet<String> = regions
        .iter()
        .filter(|r| r.as_str() != home && !skipped.contains(*r))
        .cloned()
        .collect();
    let linked = |v: &[String]| {
        if v.is_empty() {
            "no other Region".to_string()
        } else {
            v.join(", ")
        }
    };
    let result: Result<Result<(bool, String), AggregatorInfo>, ApiError> = async {
        match sh.aggregator().await? {
            None => {
                let list: Vec<String> = want.iter().cloned().collect();
                let mode = if list.is_empty() {
                    "NO_REGIONS"
                } else {
                    "SPECIFIED_REGIONS"
                };
                sh.create_aggregator(mode, &list).await?;
                Ok(Ok((
                    true,
                    format!("created in {home}, linking {}", linked(&list)),
                )))
            }
            Some(agg) if agg.home_region != home => Ok(Err(agg)),
            Some(agg) => match widened_linking(&agg.mode, &agg.regions, &want) {
                None => Ok(Ok((
                    false,
                    format!("in {home}, {} {}", agg.mode, linked(&agg.regions)),
                ))),
                Some((mode, list)) => {
                    sh.update_aggregator(&agg.arn, &mode, &list).await?;
                    Ok(Ok((
                        true,
                        format!("updated in {home}: {mode} {}", linked(&list)),
                    )))
                }
            },
        }
    }
    .await;
    match result {
        Ok(Ok((true, d))) => log.done(&admin.account_id, home, Step::Aggregator, d),
        Ok(Ok((false, d))) => log.already(&admin.account_id, home, Step::Aggregator, d),
        Ok(Err(agg)) => log.failed(
            &admin.account_id,
            home,
            Step::Aggregator,
            format!(
                "the administrator's finding aggregator lives in {}, not {home} (an account has one)",
                agg.home_region
            ),
            format!(
                "keep it (pass --home-region {}) or delete it (`aws securityhub delete-finding-aggregator --finding-aggregator-arn {} --region {}`), {}",
                agg.home_region,
                agg.arn,
                agg.home_region,
                log.rerun()
            ),
        ),
        Err(e) => {
            log.error(&admin.account_id, home, Step::Aggregator, &e);
        }
    }
}

/// The administrator's side of each Region, as `status` and `disable` first read it.
#[derive(Debug, Clone)]
struct AdminView {
    region: String,
    hub: HubState,
    records: Records,
    error: Option<ApiError>,
}

async fn admin_views(admin: &AccountSession, regions: &[String], width: usize) -> Vec<AdminView> {
    each(regions.to_vec(), width, |region| {
        let sh = Sh::new(admin, &region);
        async move {
            let mut v = AdminView {
                region,
                hub: HubState::Unknown,
                records: Records::new(),
                error: None,
            };
            match sh.hub_enabled().await {
                Ok(true) => {
                    v.hub = HubState::Enabled;
                    match sh.members(false).await {
                        Ok(r) => v.records = r,
                        Err(e) => v.error = Some(e),
                    }
                }
                Ok(false) => v.hub = HubState::Disabled,
                Err(e) if e.kind == ErrorKind::RegionDisabled => v.hub = HubState::RegionDisabled,
                Err(e) => v.error = Some(e),
            }
            v
        }
    })
    .await
}

/// The administrator's aggregator, asked in the first Region where its hub is enabled.
async fn find_aggregator(
    admin: &AccountSession,
    views: &[AdminView],
) -> Result<Option<AggregatorInfo>, ApiError> {
    match views.iter().find(|v| v.hub == HubState::Enabled) {
        Some(v) => Sh::new(admin, &v.region).aggregator().await,
        None => Ok(None),
    }
}

/// Where each account stands in each Region: Security Hub, relationship, aggregation, and its
/// active patchhub findings; plus what the administrator sees from the aggregator's home Region.
/// `Err` when the caller or the administrator cannot be entered.
pub async fn status(base: &SdkConfig, plan: &StatusPlan) -> Result<StatusReport, ApiError> {
    if let Some(e) = check_regions(&plan.regions, None) {
        return Err(e);
    }
    let me = clients::base_session(base).await?;
    let admin_id = plan
        .admin_account
        .clone()
        .unwrap_or_else(|| me.account_id.clone());
    let admin = if admin_id == me.account_id {
        me.clone()
    } else {
        clients::assume_into(base, &me.partition, &admin_id, &plan.role).await?
    };
    let views = admin_views(&admin, &plan.regions, plan.concurrency).await;
    let aggregator = find_aggregator(&admin, &views).await.ok().flatten();
    let listed = resolve_members(base, &plan.members, false, &admin_id).await?;
    let mut ids: BTreeSet<String> = match listed {
        Some(l) => l.into_iter().map(|t| t.id).collect(),
        None => views
            .iter()
            .flat_map(|v| v.records.keys().cloned())
            .collect(),
    };
    ids.remove(&admin_id);
    let log = Log::new("hub status");
    let mut sessions = if plan.role.role_name.is_some() {
        enter(base, &me, ids.clone(), &plan.role, plan.concurrency, &log).await
    } else {
        ids.iter()
            .filter(|id| **id == me.account_id)
            .map(|id| (id.clone(), me.clone()))
            .collect()
    };
    sessions.insert(admin_id.clone(), admin.clone());
    let not_entered: BTreeMap<String, String> = log
        .report()
        .actions
        .into_iter()
        .map(|a| (a.account, a.detail))
        .collect();
    let views: BTreeMap<String, AdminView> =
        views.into_iter().map(|v| (v.region.clone(), v)).collect();
    let ctx = Arc::new(StatusCtx {
        admin: admin_id.clone(),
        views,
        aggregator: aggregator.clone(),
        count: plan.count_findings,
    });
    let mut cells = Vec::new();
    for id in std::iter::once(admin_id.clone()).chain(ids) {
        for region in &plan.regions {
            cells.push((id.clone(), region.clone(), sessions.get(&id).cloned()));
        }
    }
    let rows = each(cells, plan.concurrency, |(id, region, session)| {
        let (ctx, missing) = (ctx.clone(), not_entered.get(&id).cloned());
        async move { status_row(&ctx, id, region, session, missing).await }
    })
    .await;
    let aggregated = match (&aggregator, plan.count_findings) {
        (Some(agg), true) => Sh::new(&admin, &agg.home_region)
            .active_findings(false)
            .await
            .ok()
            .map(|found| AggregatedView {
                region: agg.home_region.clone(),
                active_findings: found.len(),
                accounts: found.iter().map(|(a, _)| a).collect::<BTreeSet<_>>().len(),
                regions: found.iter().map(|(_, r)| r).collect::<BTreeSet<_>>().len(),
            }),
        _ => None,
    };
    Ok(StatusReport {
        administrator: admin_id,
        aggregator,
        aggregated,
        rows,
    })
}

struct StatusCtx {
    admin: String,
    views: BTreeMap<String, AdminView>,
    aggregator: Option<AggregatorInfo>,
    count: bool,
}

async fn status_row(
    ctx: &StatusCtx,
    account: String,
    region: String,
    session: Option<AccountSession>,
    not_entered: Option<String>,
) -> StatusRow {
    let view = &ctx.views[&region];
    let record = view.records.get(&account).cloned();
    let mut row = StatusRow {
        account: account.clone(),
        region: region.clone(),
        hub: HubState::Unknown,
        relationship: Relationship::Unknown,
        aggregation: String::new(),
        active_findings: None,
        error: None,
    };
    let is_admin = account == ctx.admin;
    let members_of_admin = view.records.values().filter(|s| associated(s)).count();
    match session {
        None => {
            // What the administrator's records say; the account itself was not asked.
            row.relationship = match record.as_deref() {
                Some(s) if associated(s) => Relationship::Member {
                    administrator: ctx.admin.clone(),
                },
                Some("Invited") => Relationship::Invited {
                    administrator: ctx.admin.clone(),
                },
                Some(_) | None => Relationship::None,
            };
            if row.relationship
                == (Relationship::Member {
                    administrator: ctx.admin.clone(),
                })
            {
                row.hub = HubState::Enabled;
            }
            // Without a role the account is simply not asked; a role that failed is an error.
            row.error = not_entered.map(|e| format!("not entered: {e}"));
        }
        Some(s) => {
            let sh = Sh::new(&s, &region);
            let read = async {
                if !sh.hub_enabled().await? {
                    return Ok::<_, ApiError>((HubState::Disabled, Relationship::None, None));
                }
                let relationship = match sh.administrator().await? {
                    Some((a, st)) if associated(&st) => Relationship::Member { administrator: a },
                    _ if is_admin && members_of_admin > 0 => Relationship::Administrator {
                        members: members_of_admin,
                    },
                    _ if is_admin => Relationship::None,
                    _ => match sh
                        .invitations()
                        .await?
                        .into_iter()
                        .find(|(_, _, st)| st == "Invited")
                    {
                        Some((a, _, _)) => Relationship::Invited { administrator: a },
                        None => Relationship::None,
                    },
                };
                let count = if ctx.count {
                    Some(sh.active_findings(true).await?.len())
                } else {
                    None
                };
                Ok((HubState::Enabled, relationship, count))
            }
            .await;
            match read {
                Ok((hub, relationship, count)) => {
                    row.hub = hub;
                    row.relationship = relationship;
                    row.active_findings = count;
                }
                Err(e) if e.kind == ErrorKind::RegionDisabled => {
                    row.hub = HubState::RegionDisabled;
                    row.relationship = Relationship::None;
                }
                Err(e) => row.error = Some(describe(&e)),
            }
        }
    }
    let aggregated_here = is_admin
        || matches!(&row.relationship, Relationship::Member { administrator } if *administrator == ctx.admin);
    row.aggregation = match &ctx.aggregator {
        None => "none".into(),
        Some(_) if !aggregated_here || row.hub != HubState::Enabled => "-".into(),
        Some(a) if a.home_region == region => "home".into(),
        Some(a) if a.covers(&region) => format!("linked to {}", a.home_region),
        Some(_) => "not linked".into(),
    };
    row
}

/// Undoes [`enable`]: the administrator disassociates and deletes its members (members entered
/// through the role also leave it), organization mode turns auto-enable off and removes the
/// designation, the finding aggregator is deleted once the administrator has no member left, and
/// with `disable_hub` Security Hub is disabled in the members and the administrator. Run
/// [`cleanup`] first: once a Region stops being linked, what was aggregated stays in the home
/// Region as it was.
pub async fn disable(base: &SdkConfig, plan: &DisablePlan) -> Result<HubReport, ApiError> {
    if let Some(e) = check_regions(&plan.regions, None) {
        return Err(e);
    }
    let me = clients::base_session(base).await?;
    let admin_id = plan
        .admin_account
        .clone()
        .unwrap_or_else(|| me.account_id.clone());
    let scope: Option<BTreeSet<String>> = resolve_members(base, &plan.members, false, &admin_id)
        .await?
        .map(|l| l.into_iter().map(|t| t.id).collect());
    let log = Log::new("hub disable");
    let Some(admin) = enter_admin(base, &me, &admin_id, &plan.role, &log).await else {
        return Ok(log.report());
    };
    let views = admin_views(&admin, &plan.regions, plan.concurrency).await;

    // Members are entered only to undo their own side: leaving (invitation mode, with a role)
    // and disabling Security Hub.
    let in_scope = |records: &Records| -> Vec<String> {
        records
            .keys()
            .filter(|id| scope.as_ref().is_none_or(|s| s.contains(*id)))
            .cloned()
            .collect()
    };
    let mut member_ids: BTreeSet<String> =
        views.iter().flat_map(|v| in_scope(&v.records)).collect();
    if let (MemberAccounts::List(l), Some(s)) = (&plan.members, &scope) {
        member_ids.extend(l.iter().map(|t| t.id.clone()).filter(|id| s.contains(id)));
    }
    member_ids.remove(&admin_id);
    let enter_members =
        plan.disable_hub || (plan.mode == Mode::Invitation && plan.role.role_name.is_some());
    let sessions = if enter_members {
        enter(
            base,
            &me,
            member_ids.clone(),
            &plan.role,
            plan.concurrency,
            &log,
        )
        .await
    } else {
        BTreeMap::new()
    };

    let ctx = Arc::new(DisableCtx {
        management: me.clone(),
        admin: admin.clone(),
        mode: plan.mode,
        scope,
        listed: match &plan.members {
            MemberAccounts::List(l) => l.iter().map(|t| t.id.clone()).collect(),
            _ => BTreeSet::new(),
        },
        sessions,
        disable_hub: plan.disable_hub,
        width: plan.concurrency,
        log: log.clone(),
    });
    let remaining: Vec<usize> = each(views.clone(), plan.concurrency, |view| {
        let ctx = ctx.clone();
        async move { disable_region(ctx, view).await }
    })
    .await;

    // The aggregator goes when nothing is aggregated through it any more.
    match find_aggregator(&admin, &views).await {
        Ok(None) => {
            if let Some(v) = views.iter().find(|v| v.hub == HubState::Enabled) {
                log.already(
                    &admin_id,
                    &v.region,
                    Step::DeleteAggregator,
                    "no finding aggregator",
                );
            }
        }
        Ok(Some(agg)) => {
            let left: usize = remaining.iter().sum();
            if left > 0 {
                log.skipped(
                    &admin_id,
                    &agg.home_region,
                    Step::DeleteAggregator,
                    format!("kept: the administrator still has {left} associated member(s) outside this scope"),
                );
            } else {
                match Sh::new(&admin, &agg.home_region)
                    .delete_aggregator(&agg.arn)
                    .await
                {
                    Ok(()) => log.done(
                        &admin_id,
                        &agg.home_region,
                        Step::DeleteAggregator,
                        format!("deleted ({} {})", agg.mode, agg.regions.join(", ")),
                    ),
                    Err(e) => {
                        log.error(&admin_id, &agg.home_region, Step::DeleteAggregator, &e);
                    }
                }
            }
        }
        Err(e) => {
            log.error(&admin_id, &e.region.clone(), Step::DeleteAggregator, &e);
        }
    }

    if plan.disable_hub {
        each(plan.regions.clone(), plan.concurrency, |region| {
            let (sh, log) = (Sh::new(&admin, &region), log.clone());
            async move { disable_own_hub(&sh, &log).await }
        })
        .await;
    }
    Ok(log.report())
}

struct DisableCtx {
    management: AccountSession,
    admin: AccountSession,
    mode: Mode,
    scope: Option<BTreeSet<String>>,
    listed: BTreeSet<String>,
    sessions: BTreeMap<String, AccountSession>,
    disable_hub: bool,
    width: usize,
    log: Log,
}

/// One Region of `disable`; returns how many associated members the administrator keeps there.
async fn disable_region(ctx: Arc<DisableCtx>, view: AdminView) -> usize {
    let log = &ctx.log;
    let region = view.region.clone();
    let admin = Sh::new(&ctx.admin, &region);
    let admin_id = admin.account.clone();
    let in_scope: Vec<String> = view
        .records
        .keys()
        .filter(|id| ctx.scope.as_ref().is_none_or(|s| s.contains(*id)))
        .cloned()
        .collect();
    let mut remaining = 0;

    // The administrator lets its members go.
    match (&view.hub, &view.error) {
        (_, Some(e)) => {
            log.error(&admin_id, &region, Step::DisassociateMember, e);
        }
        (HubState::RegionDisabled, _) => log.skipped(
            &admin_id,
            &region,
            Step::DisassociateMember,
            format!("{region} is not enabled for the administrator (opt-in Region)"),
        ),
        (HubState::Disabled, _) => log.already(
            &admin_id,
            &region,
            Step::DisassociateMember,
            "Security Hub is not enabled for the administrator: no members",
        ),
        _ => {
            let (enabled, other): (Vec<String>, Vec<String>) = in_scope
                .iter()
                .cloned()
                .partition(|id| associated(&view.records[id]));
            for id in &other {
                log.already(
                    id,
                    &region,
                    Step::DisassociateMember,
                    format!("not associated ({})", view.records[id]),
                );
            }
            for chunk in enabled.chunks(MAX_MEMBERS_PER_CALL) {
                match admin.disassociate_members(chunk).await {
                    Ok(()) => {
                        for id in chunk {
                            log.done(
                                id,
                                &region,
                                Step::DisassociateMember,
                                format!("disassociated from {admin_id}"),
                            );
                        }
                    }
                    Err(e) => {
                        for id in chunk {
                            log.error(id, &region, Step::DisassociateMember, &e);
                        }
                    }
                }
            }
        }
    }

    // Members entered through the role leave on their side too (for a member the
    // administrator could not let go).
    if ctx.mode == Mode::Invitation {
        let entered: Vec<(String, AccountSession)> = ctx
            .sessions
            .iter()
            .filter(|(id, _)| in_scope.contains(id) || ctx.listed.contains(*id))
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        each(entered, ctx.width, |(id, s)| {
            let (sh, admin_id, log) = (Sh::new(&s, &region), admin_id.clone(), log.clone());
            async move { leave_administrator(&id, &sh, &admin_id, &log).await }
        })
        .await;
    }

    if ctx.mode == Mode::Organization {
        undo_designation(&ctx, &admin, &region).await;
    }

    // Member records go (organization members went with the designation).
    if view.hub == HubState::Enabled && view.error.is_none() {
        match admin.members(false).await {
            Err(e) => {
                for id in &in_scope {
                    log.error(id, &region, Step::DeleteMember, &e);
                }
            }
            Ok(now) => {
                remaining = now.values().filter(|s| associated(s)).count();
                let (present, gone): (Vec<String>, Vec<String>) = in_scope
                    .iter()
                    .cloned()
                    .partition(|id| now.contains_key(id));
                for id in &gone {
                    log.already(id, &region, Step::DeleteMember, "no member record");
                }
                for id in ctx
                    .listed
                    .iter()
                    .filter(|id| !view.records.contains_key(*id))
                {
                    if **id != admin_id {
                        log.already(id, &region, Step::DeleteMember, "no member record");
                    }
                }
                for chunk in present.chunks(MAX_MEMBERS_PER_CALL) {
                    match admin.delete_members(chunk).await {
                        Ok(refused) => {
                            for id in chunk {
                                match refused.get(id) {
                                    Some(why) if why.contains("Organizations") => log.skipped(
                                        id,
                                        &region,
                                        Step::DeleteMember,
                                        format!("organization member ({why}); its record goes when the management account removes the designation (`patchhub hub disable --organization`)"),
                                    ),
                                    Some(why) => log.failed(
                                        id,
                                        &region,
                                        Step::DeleteMember,
                                        format!("DeleteMembers did not delete it: {why}"),
                                        format!("resolve that, {}", log.rerun()),
                                    ),
                                    None => log.done(
                                        id,
                                        &region,
                                        Step::DeleteMember,
                                        format!("member record deleted at {admin_id}"),
                                    ),
                                }
                            }
                        }
                        Err(e) => {
                            for id in chunk {
                                log.error(id, &region, Step::DeleteMember, &e);
                            }
                        }
                    }
                }
            }
        }
    }

    if ctx.disable_hub {
        let entered: Vec<(String, AccountSession)> = ctx
            .sessions
            .iter()
            .filter(|(id, _)| in_scope.contains(id) || ctx.listed.contains(*id))
            .map(|(id, s)| (id.clone(), s.clone()))
            .collect();
        each(entered, ctx.width, |(_, s)| {
            let (sh, log) = (Sh::new(&s, &region), log.clone());
            async move { disable_own_hub(&sh, &log).await }
        })
        .await;
    }
    remaining
}

/// A member leaves the administrator, if it is still associated with it.
async fn leave_administrator(id: &str, sh: &Sh, admin: &str, log: &Log) {
    let r = async {
        if !sh.hub_enabled().await? {
            return Ok(None);
        }
        match sh.administrator().await? {
            Some((a, st)) if a == admin && associated(&st) => {
                sh.leave().await?;
                Ok(Some(true))
            }
            _ => Ok::<_, ApiError>(Some(false)),
        }
    }
    .await;
    let region = sh.region.as_str();
    match r {
        Ok(None) => log.already(
            id,
            region,
            Step::LeaveAdministrator,
            "Security Hub is not enabled: no administrator",
        ),
        Ok(Some(false)) => log.already(
            id,
            region,
            Step::LeaveAdministrator,
            format!("not a member of {admin}"),
        ),
        Ok(Some(true)) => log.done(
            id,
            region,
            Step::LeaveAdministrator,
            format!("left {admin}"),
        ),
        Err(e) => {
            log.error(id, region, Step::LeaveAdministrator, &e);
        }
    }
}

/// Organization mode: auto-enable off, then the management account removes the designation.
async fn undo_designation(ctx: &DisableCtx, admin: &Sh, region: &str) {
    let log = &ctx.log;
    let mgmt = Sh::new(&ctx.management, region);
    let admin_id = admin.account.as_str();
    let designated = match mgmt.org_admins().await {
        Ok(a) => a.iter().any(|a| a == admin_id),
        Err(e) => {
            let b = log.error(admin_id, region, Step::RemoveDesignation, &e);
            log.blocked(
                admin_id,
                region,
                Step::DisableAutoEnable,
                &b,
                &format!("management account {}", mgmt.account),
            );
            return;
        }
    };
    if !designated {
        let why = format!("not the organization's Security Hub administrator in {region}");
        log.already(admin_id, region, Step::DisableAutoEnable, &why);
        log.already(admin_id, region, Step::RemoveDesignation, why);
        return;
    }
    let off = async {
        if admin.auto_enable().await? {
            admin.set_auto_enable(false, false).await?;
            return Ok(true);
        }
        Ok::<_, ApiError>(false)
    }
    .await;
    match off {
        Ok(true) => log.done(
            admin_id,
            region,
            Step::DisableAutoEnable,
            "new organization accounts are no longer enabled automatically",
        ),
        Ok(false) => log.already(
            admin_id,
            region,
            Step::DisableAutoEnable,
            "auto-enable is off",
        ),
        Err(e) => {
            log.error(admin_id, region, Step::DisableAutoEnable, &e);
        }
    }
    match mgmt.undesignate(admin_id).await {
        Ok(()) => log.done(
            admin_id,
            region,
            Step::RemoveDesignation,
            format!(
                "no longer the organization's administrator (removed by {})",
                mgmt.account
            ),
        ),
        Err(e) => {
            log.error(admin_id, region, Step::RemoveDesignation, &e);
        }
    }
}

/// Security Hub disabled in one account and Region.
async fn disable_own_hub(sh: &Sh, log: &Log) {
    let r = async {
        if !sh.hub_enabled().await? {
            return Ok(false);
        }
        sh.disable_hub().await?;
        Ok::<_, ApiError>(true)
    }
    .await;
    match r {
        Ok(true) => log.done(
            &sh.account,
            &sh.region,
            Step::DisableHub,
            "Security Hub disabled",
        ),
        Ok(false) => log.already(
            &sh.account,
            &sh.region,
            Step::DisableHub,
            "Security Hub is not enabled",
        ),
        Err(e) => {
            log.error(&sh.account, &sh.region, Step::DisableHub, &e);
        }
    }
}

/// A patchhub finding as `cleanup` re-imports it: archived, with `UpdatedAt` strictly after the
/// stored one (Security Hub ignores updates that do not move it forward), Security Hub's own
/// `aws/` product fields left out, `patchhub/Resolution` `uninstalled`, and the fingerprint
/// sealed again. Compliance is left as it was: the finding is withdrawn, not resolved.
pub fn archived(mut f: Finding, now: DateTime<Utc>) -> Finding {
    f.updated_at = if f.updated_at >= now {
        f.updated_at + TimeDelta::milliseconds(1)
    } else {
        now
    };
    f.created_at = f.created_at.min(f.updated_at);
    f.record_state = RecordState::Archived;
    f.product_fields.retain(|k, _| !k.starts_with("aws/"));
    f.product_fields.insert(
        finding::fields::RESOLUTION.to_string(),
        RESOLUTION_UNINSTALLED.to_string(),
    );
    f.seal();
    f
}

/// Archives every active patchhub finding in the scope of `fan` (accounts entered as `sync`
/// enters them; findings are archived from inside the account that owns them, the only one
/// Security Hub lets change them). One `archive` action per account and Region. `Err` only when
/// nothing could start.
pub async fn cleanup(base: &SdkConfig, fan: &FanOut) -> Result<HubReport, ApiError> {
    let regions = match &fan.regions {
        RegionSelection::List(l) => l.clone(),
        RegionSelection::AllEnabled => {
            return Err(ApiError::other(
                "-",
                "-",
                "--regions",
                ErrorKind::InvalidInput,
                "--regions all-enabled is not supported: list the Regions",
            ));
        }
    };
    if let Some(e) = check_regions(&regions, None) {
        return Err(e);
    }
    let (sessions, failures) = fanout::sessions(base, fan).await?;
    let log = Log::new("cleanup");
    for f in failures {
        let resume = match &fan.role.role_name {
            Some(r) => format!(
                "make sure role {r} exists in account {} and may be assumed, {}",
                f.account,
                log.rerun()
            ),
            None => format!("pass --role-name, {}", log.rerun()),
        };
        log.fail(
            &f.account,
            "-",
            Step::EnterAccount,
            short_sts_error(&f.error),
            resume,
            Some(f.kind),
        );
    }
    let now = Utc::now();
    let mut targets = Vec::new();
    for s in sessions {
        for r in &regions {
            targets.push((s.clone(), r.clone()));
        }
    }
    each(targets, fan.concurrency, |(s, region)| {
        let (log, quotas) = (log.clone(), fan.quotas.clone());
        async move {
            let sink = SecurityHubSink::new(
                aws_sdk_securityhub::Client::new(&s.in_region(&region)),
                &s.account_id,
                &region,
                &s.partition,
                Limiter::new(quotas),
            );
            archive_target(&sink, &s.account_id, &region, now, &log).await
        }
    })
    .await;
    Ok(log.report())
}

async fn archive_target(
    sink: &SecurityHubSink,
    account: &str,
    region: &str,
    now: DateTime<Utc>,
    log: &Log,
) {
    let query = FindingQuery {
        generators: vec![
            finding::GENERATOR_PATCH.to_string(),
            finding::GENERATOR_ROLLUP.to_string(),
            finding::GENERATOR_STALE.to_string(),
        ],
        nodes: None,
    };
    let found = match sink.read(&query).await {
        Ok(f) => f,
        Err(e) if e.kind == ErrorKind::HubNotEnabled => {
            log.skipped(
                account,
                region,
                Step::Archive,
                "Security Hub is not enabled: its findings are out of reach",
            );
            return;
        }
        Err(e) => {
            log.error(account, region, Step::Archive, &e);
            return;
        }
    };
    let active: Vec<Finding> = found
        .into_iter()
        .filter(Finding::is_active)
        .map(|f| archived(f, now))
        .collect();
    if active.is_empty() {
        log.already(account, region, Step::Archive, "no active patchhub finding");
        return;
    }
    let total = active.len();
    let outcome = sink.import(active).await;
    if outcome.failed.is_empty() {
        log.done(
            account,
            region,
            Step::Archive,
            format!("archived {total} patchhub findings"),
        );
        return;
    }
    let first = &outcome.failed[0];
    let why = format!(
        "archived {} of {total}; {} not accepted (first: {} {}: {})",
        outcome.imported.len(),
        outcome.failed.len(),
        first.id,
        first.code,
        first.message
    );
    match &outcome.call_error {
        Some(e) => log.fail(
            account,
            region,
            Step::Archive,
            why,
            log.resume_for(e),
            Some(e.kind),
        ),
        None => log.failed(
            account,
            region,
            Step::Archive,
            why,
            format!("nothing to fix on your side: {}", log.rerun()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn linking_only_ever_widens() {
        let want = set(&["eu-west-1", "us-west-2"]);
        assert_eq!(widened_linking("ALL_REGIONS", &[], &want), None);
        assert_eq!(
            widened_linking(
                "SPECIFIED_REGIONS",
                &strings(&["eu-west-1", "us-west-2", "ap-south-1"]),
                &want
            ),
            None
        );
        assert_eq!(
            widened_linking(
                "SPECIFIED_REGIONS",
                &strings(&["ap-south-1", "eu-west-1"]),
                &want
            ),
            Some((
                "SPECIFIED_REGIONS".into(),
                strings(&["ap-south-1", "eu-west-1", "us-west-2"])
            ))
        );
        assert_eq!(
            widened_linking(
                "ALL_REGIONS_EXCEPT_SPECIFIED",
                &strings(&["ap-south-1"]),
                &want
            ),
            None
        );
        assert_eq!(
            widened_linking(
                "ALL_REGIONS_EXCEPT_SPECIFIED",
                &strings(&["ap-south-1", "us-west-2"]),
                &want
            ),
            Some((
                "ALL_REGIONS_EXCEPT_SPECIFIED".into(),
                strings(&["ap-south-1"])
            ))
        );
        assert_eq!(
            widened_linking(
                "ALL_REGIONS_EXCEPT_SPECIFIED",
                &strings(&["us-west-2"]),
                &want
            ),
            Some(("ALL_REGIONS".into(), vec![]))
        );
        assert_eq!(
            widened_linking("NO_REGIONS", &[], &want),
            Some((
                "SPECIFIED_REGIONS".into(),
                strings(&["eu-west-1", "us-west-2"])
            ))
        );
        assert_eq!(widened_linking("NO_REGIONS", &[], &BTreeSet::new()), None);
    }

    #[test]
    fn coverage_follows_the_linking_mode() {
        let agg = |mode: &str, regions: &[&str]| AggregatorInfo {
            arn: "arn".into(),
            home_region: "us-east-1".into(),
            mode: mode.into(),
            regions: strings(regions),
        };
        assert!(agg("NO_REGIONS", &[]).covers("us-east-1"));
        assert!(!agg("NO_REGIONS", &[]).covers("eu-west-1"));
        assert!(agg("ALL_REGIONS", &[]).covers("eu-west-1"));
        assert!(agg("SPECIFIED_REGIONS", &["eu-west-1"]).covers("eu-west-1"));
        assert!(!agg("SPECIFIED_REGIONS", &["eu-west-1"]).covers("us-west-2"));
        assert!(!agg("ALL_REGIONS_EXCEPT_SPECIFIED", &["eu-west-1"]).covers("eu-west-1"));
        assert!(agg("ALL_REGIONS_EXCEPT_SPECIFIED", &["eu-west-1"]).covers("us-west-2"));
    }

    #[test]
    fn regions_are_checked_before_anything_runs() {
        assert!(check_regions(&[], None).is_some());
        assert!(check_regions(&strings(&["us-east-1", "Mars"]), None).is_some());
        let e = check_regions(&strings(&["us-east-1"]), Some("eu-west-1")).unwrap();
        assert!(e.message.contains("eu-west-1"), "{e}");
        assert!(check_regions(&strings(&["us-east-1", "eu-west-1"]), Some("eu-west-1")).is_none());
    }

    #[test]
    fn archiving_moves_updated_at_forward_and_marks_the_resolution() {
        let stored: Finding = serde_json::from_value(serde_json::json!({
            "SchemaVersion": "2018-10-08",
            "Id": "patchhub/aws/111111111111/us-east-1/i-0123456789abcdef0/rollup",
            "ProductArn": "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default",
            "GeneratorId": finding::GENERATOR_ROLLUP,
            "AwsAccountId": "111111111111",
            "Region": "us-east-1",
            "Types": [finding::TYPE_PATCH_MANAGEMENT],
            "CreatedAt": "2024-05-01T00:00:00Z",
            "UpdatedAt": "2024-05-02T00:00:00Z",
            "Severity": {"Label": "HIGH"},
            "Title": "t",
            "Description": "d",
            "Compliance": {"Status": "FAILED"},
            "ProductFields": {"patchhub/Kind": "rollup", "aws/securityhub/FindingId": "x"},
            "Resources": [{"Type": "AwsEc2Instance", "Id": "i-0123456789abcdef0"}]
        }))
        .unwrap();
        // A clock behind the stored UpdatedAt still moves it forward.
        let behind = "2024-05-01T12:00:00Z".parse().unwrap();
        let a = archived(stored.clone(), behind);
        assert!(a.updated_at > stored.updated_at);
        assert_eq!(a.record_state, RecordState::Archived);
        assert_eq!(
            a.product_fields
                .get(finding::fields::RESOLUTION)
                .map(String::as_str),
            Some(RESOLUTION_UNINSTALLED)
        );
        assert!(!a.product_fields.keys().any(|k| k.starts_with("aws/")));
        assert_eq!(a.compliance, stored.compliance, "withdrawn, not resolved");
        assert_eq!(a.fingerprint(), Some(a.compute_fingerprint().as_str()));
        let later = "2024-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(archived(stored, later).updated_at, later);
    }

    #[test]
    fn assume_role_failures_keep_what_sts_said() {
        let long = r#"cannot assume arn:aws:iam::433754381374:role/PatchhubRole: an error occurred while loading credentials: service error: unhandled error (AccessDenied): Error { code: "AccessDenied", message: "User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole", aws_request_id: "0" } (ProviderError(...))"#;
        assert_eq!(
            short_sts_error(long),
            "cannot assume arn:aws:iam::433754381374:role/PatchhubRole: AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole"
        );
        assert_eq!(
            short_sts_error("no --role-name given"),
            "no --role-name given"
        );
    }

    #[test]
    fn report_sorts_and_counts() {
        let log = Log::new("hub enable");
        log.done(
            "222222222222",
            "us-east-1",
            Step::AcceptInvitation,
            "member",
        );
        log.already("111111111111", "us-east-1", Step::EnableHub, "on");
        log.skipped("222222222222", "ap-east-1", Step::EnableHub, "opt-in");
        let e = ApiError::other(
            "222222222222",
            "eu-west-1",
            "CreateMembers",
            ErrorKind::AccessDenied,
            "no",
        );
        let b = log.error("222222222222", "eu-west-1", Step::CreateMember, &e);
        assert_eq!(b.outcome, Outcome::Failed);
        let r = log.report();
        assert!(!r.is_ok());
        assert_eq!(
            (
                r.changed(),
                r.count(Outcome::Already),
                r.count(Outcome::Skipped),
                r.count(Outcome::Failed)
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(r.actions[0].account, "111111111111");
        let failed = r
            .find("222222222222", "eu-west-1", Step::CreateMember)
            .unwrap();
        let resume = failed.resume.as_deref().unwrap();
        assert!(
            resume.contains("securityhub:CreateMembers") && resume.contains("patchhub hub enable"),
            "{resume}"
        );
        let region_off = ApiError::other(
            "1",
            "ap-east-1",
            "DescribeHub",
            ErrorKind::RegionDisabled,
            "x",
        );
        assert_eq!(
            log.error("1", "ap-east-1", Step::EnableHub, &region_off)
                .outcome,
            Outcome::Skipped
        );
        assert_eq!(log.regions_skipped_for("1"), set(&["ap-east-1"]));
    }
}
