//! Security Hub CSPM (restJson1): the hub of each account and Region, ASFF findings imported by
//! `BatchImportFindings`, read by `GetFindings` and triaged by `BatchUpdateFindings`, with AWS's
//! limits, validation and update rules (the service model, botocore's
//! `data/securityhub/2018-10-26/service-2.json`; the API reference,
//! <https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html>; and the notes in each
//! module).
//!
//! This module holds what a hub keeps ([`Hub`]) and the errors and timestamps every part shares;
//! it knows nothing of the world around it. Layout, from the bottom up: `validate` checks ASFF
//! and request shapes, `fields` names the filterable attributes, `store` keeps findings with
//! their indexes and applies the create/update rules, `filters` parses and evaluates
//! `AwsSecurityFindingFilters`; above the world, `members` keeps administrator-member
//! relationships (invitations and the Organizations integration), `aggregation` keeps finding
//! aggregators and decides which hubs a caller's reads reach, `findings` and `get_findings`
//! serve the finding APIs, and [`serve`] routes each call.

mod aggregation;
mod asff_check;
mod asff_objects;
mod fields;
mod filters;
mod findings;
mod get_findings;
mod members;
mod paging;
pub mod serve;
mod store;
mod validate;

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::protocol::AwsError;

pub(crate) use store::FindingStore;

/// One account's hub in one Region: whether Security Hub is enabled there, its findings, the
/// member accounts it administers there, and its cross-Region aggregation settings.
///
/// Findings outlive `DisableSecurityHub` here (AWS deletes them only 90 days later); they are
/// unreachable while the hub is disabled and visible again after re-enabling.
#[derive(Debug, Default)]
pub struct Hub {
    settings: Option<HubSettings>,
    store: FindingStore,
    /// This account's member accounts in this Region (it is their administrator), by account id.
    members: BTreeMap<String, MemberRecord>,
    /// On the organization management account's hub only: the Security Hub administrator it
    /// designated in this Region and that administrator's organization configuration.
    org_admin: Option<OrgAdmin>,
    /// The finding aggregator, on the hub of the account's home Region.
    aggregator: Option<Aggregator>,
    /// Findings that cross-Region aggregation had replicated here from a linked Region that is no
    /// longer linked (AWS keeps them in the home Region), by source Region.
    replicas: BTreeMap<String, FindingStore>,
}

/// What `EnableSecurityHub` recorded.
#[derive(Debug, Clone)]
struct HubSettings {
    subscribed_at: DateTime<Utc>,
    auto_enable_controls: bool,
    control_finding_generator: String,
    #[expect(dead_code, reason = "read once the standards APIs are emulated")]
    enable_default_standards: bool,
    #[expect(dead_code, reason = "read once ListTagsForResource is emulated")]
    tags: Map<String, Value>,
}

impl Hub {
    /// Whether Security Hub is enabled in this account and Region.
    pub fn is_enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// Number of findings stored (including archived ones).
    pub fn finding_count(&self) -> usize {
        self.store.len()
    }

    /// Enables Security Hub the way AWS does on an account's behalf (Organizations designation
    /// and organization members): default standards on, default settings. No-op when enabled.
    fn enable_on_behalf(&mut self, now: DateTime<Utc>) {
        if self.settings.is_none() {
            self.settings = Some(HubSettings {
                subscribed_at: now,
                auto_enable_controls: true,
                control_finding_generator: "SECURITY_CONTROL".to_string(),
                enable_default_standards: true,
                tags: Map::new(),
            });
        }
    }
}

/// The relationship status as `Member.MemberStatus` and `Invitation.MemberStatus` spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemberStatus {
    Created,
    Invited,
    Enabled,
    Removed,
    Resigned,
    AccountSuspended,
}

impl MemberStatus {
    fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Created => "Created",
            MemberStatus::Invited => "Invited",
            MemberStatus::Enabled => "Enabled",
            MemberStatus::Removed => "Removed",
            MemberStatus::Resigned => "Resigned",
            MemberStatus::AccountSuspended => "AccountSuspended",
        }
    }
}

/// One member account as its administrator's hub records it.
#[derive(Debug, Clone)]
pub(crate) struct MemberRecord {
    email: Option<String>,
    status: MemberStatus,
    /// Added through the Organizations integration: no invitation, cannot resign or be deleted.
    org_managed: bool,
    /// The invitation the member holds, while it holds one.
    invitation: Option<String>,
    invited_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

/// The Security Hub administrator the management account designated in a Region, with the
/// organization configuration that administrator manages there.
#[derive(Debug, Clone)]
pub(crate) struct OrgAdmin {
    account: String,
    auto_enable: bool,
    auto_enable_standards: String,
}

/// How an aggregator chooses its linked Regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    AllRegions,
    AllRegionsExceptSpecified,
    SpecifiedRegions,
    NoRegions,
}

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "ALL_REGIONS" => Mode::AllRegions,
            "ALL_REGIONS_EXCEPT_SPECIFIED" => Mode::AllRegionsExceptSpecified,
            "SPECIFIED_REGIONS" => Mode::SpecifiedRegions,
            "NO_REGIONS" => Mode::NoRegions,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::AllRegions => "ALL_REGIONS",
            Mode::AllRegionsExceptSpecified => "ALL_REGIONS_EXCEPT_SPECIFIED",
            Mode::SpecifiedRegions => "SPECIFIED_REGIONS",
            Mode::NoRegions => "NO_REGIONS",
        }
    }
}

/// A finding aggregator, kept on the hub of its home Region.
#[derive(Debug, Clone)]
pub(crate) struct Aggregator {
    /// The UUID at the end of the ARN.
    id: String,
    mode: Mode,
    /// Included (`SPECIFIED_REGIONS`) or excluded (`ALL_REGIONS_EXCEPT_SPECIFIED`) Regions.
    regions: Vec<String>,
    /// When it was created: linked Regions replicate only what is written after.
    created_at: DateTime<Utc>,
}

/// What awsim answers for a Security Hub operation (or variant of one) it does not emulate.
pub(crate) fn not_implemented(what: &str) -> AwsError {
    AwsError::new(
        501,
        "NotImplemented",
        format!("awsim does not emulate Security Hub {what} yet"),
    )
}

/// `InvalidInputException`, the error for a malformed request.
pub(crate) fn invalid_input(msg: impl Into<String>) -> AwsError {
    AwsError::client("InvalidInputException", msg)
}

/// `InvalidAccessException`, what AWS answers when the caller's hub is not enabled.
pub(crate) fn not_subscribed(account: &str) -> AwsError {
    AwsError::new(
        401,
        "InvalidAccessException",
        format!("Account {account} is not subscribed to AWS Security Hub"),
    )
}

/// ASFF timestamp text as Security Hub writes it (`2024-01-02T03:04:05.678Z`).
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Hub {
    /// The account this (management account's) hub designated as the organization's Security
    /// Hub administrator in its Region, if any.
    pub(crate) fn designated_admin(&self) -> Option<&str> {
        self.org_admin.as_ref().map(|a| a.account.as_str())
    }
}
