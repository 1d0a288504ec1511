//! Administrator and member accounts, kept per Region as in AWS: a relationship made in one
//! Region says nothing about another.
//!
//! Invitation path (Security Hub API reference and user guide, "Managing member accounts by
//! invitation"): the administrator's `CreateMembers` records an account as `Created`,
//! `InviteMembers` makes it `Invited` and hands the account an invitation, the member (with
//! Security Hub enabled) accepts and becomes `Enabled`. Declining marks it `Resigned` and drops
//! the invitation; the member's `DisassociateFromAdministratorAccount` marks it `Resigned` but
//! keeps the invitation, which can be accepted again; the administrator's `DisassociateMembers`
//! marks it `Removed` (a new invitation restores it); `DeleteMembers` removes the record and
//! needs it disassociated first. An account has one administrator per Region, an administrator
//! with members cannot become a member, and a member cannot administer.
//!
//! Organizations path: the organization management account designates one Security Hub
//! administrator (the same account in every Region, or itself) with
//! `EnableOrganizationAdminAccount`, which also enables Security Hub in that account and Region.
//! That administrator's `CreateMembers` makes organization accounts `Enabled` members at once,
//! enabling Security Hub in them (never in the management account, which must enable it
//! itself); they get no invitation and cannot leave on their own, and `DeleteMembers` does not
//! apply to them. `UpdateOrganizationConfiguration(AutoEnable)` is recorded and reported but,
//! as in AWS, only concerns accounts that join the organization later; awsim has no such event,
//! so it never adds members by itself.
//!
//! Choices where AWS documents no answer: `DeleteInvitations` leaves the administrator's record
//! as it was; `DisassociateMembers` of a record that is not `Enabled` changes nothing;
//! re-designating the current administrator is accepted; disabling the organization
//! administrator drops its organization members (they become standalone).
//!
//! Layout: this module answers who administers whom (and the checks and JSON shapes the member
//! APIs share); [`admin`] serves the administrator's side (`CreateMembers` to `DeleteMembers`),
//! [`invitations`] the member's side (invitations and leaving an administrator), and
//! [`organization`] the Organizations integration (designating the administrator and its
//! organization configuration).

pub(super) mod admin;
pub(super) mod invitations;
pub(super) mod organization;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::{MemberRecord, MemberStatus, OrgAdmin, invalid_input, not_subscribed, timestamp};
use crate::identity::{Caller, partition_of};
use crate::protocol::AwsError;
use crate::world::World;

/// Page size bounds of `ListMembers` and `ListInvitations` (`CrossAccountMaxResults`).
const MAX_CROSS_ACCOUNT_PAGE: i64 = 50;
/// Organization members per delegated administrator and Region.
const MAX_ORG_MEMBERS: usize = 10_000;

fn access_denied(msg: impl Into<String>) -> AwsError {
    AwsError::new(403, "AccessDeniedException", msg)
}

fn not_found(msg: impl Into<String>) -> AwsError {
    AwsError::new(404, "ResourceNotFoundException", msg)
}

/// What the member-side reads answer when the caller's hub is not enabled (seen from
/// `GetMasterAccount`, `ListInvitations` and `DisassociateFromMasterAccount`; the Terraform AWS
/// provider matches on it).
fn no_such_resource() -> AwsError {
    access_denied("The request is rejected since no such resource found.")
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn hub_enabled(world: &World, account: &str, region: &str) -> bool {
    world
        .region(account, region)
        .is_some_and(|r| r.hub.is_enabled())
}

fn require_enabled(world: &World, caller: &Caller) -> Result<(), AwsError> {
    if hub_enabled(world, &caller.account, &caller.region) {
        Ok(())
    } else {
        Err(not_subscribed(&caller.account))
    }
}

fn members_of<'w>(
    world: &'w World,
    account: &str,
    region: &str,
) -> Option<&'w BTreeMap<String, MemberRecord>> {
    world.region(account, region).map(|r| &r.hub.members)
}

fn record_mut<'w>(
    world: &'w mut World,
    admin: &str,
    region: &str,
    member: &str,
) -> Option<&'w mut MemberRecord> {
    world.region_mut(admin, region).hub.members.get_mut(member)
}

/// The administrator `account` is associated with (`Enabled`) in `region`, if any.
pub(crate) fn administrator_of(world: &World, account: &str, region: &str) -> Option<String> {
    world
        .regions
        .iter()
        .filter(|((_, r), _)| r == region)
        .find(|(_, st)| {
            st.hub
                .members
                .get(account)
                .is_some_and(|m| m.status == MemberStatus::Enabled)
        })
        .map(|((admin, _), _)| admin.clone())
}

/// Whether `account` is associated as a member with any administrator in any Region of the
/// partition of `region`.
pub(crate) fn is_member_anywhere(world: &World, account: &str, region: &str) -> bool {
    let partition = partition_of(region);
    world.regions.iter().any(|((_, r), st)| {
        partition_of(r) == partition
            && st
                .hub
                .members
                .get(account)
                .is_some_and(|m| m.status == MemberStatus::Enabled)
    })
}

/// `(member, Region) -> administrator` for every association.
pub(crate) fn associations(world: &World) -> HashMap<(String, String), String> {
    let mut out = HashMap::new();
    for ((admin, region), st) in &world.regions {
        for (member, rec) in &st.hub.members {
            if rec.status == MemberStatus::Enabled {
                out.insert((member.clone(), region.clone()), admin.clone());
            }
        }
    }
    out
}

/// The accounts associated with `admin` as members in `region`, ascending.
pub(crate) fn associated_members(world: &World, admin: &str, region: &str) -> Vec<String> {
    members_of(world, admin, region)
        .map(|m| {
            m.iter()
                .filter(|(_, rec)| rec.status == MemberStatus::Enabled)
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn has_associated_members(world: &World, account: &str, region: &str) -> bool {
    !associated_members(world, account, region).is_empty()
}

/// Whether an account belongs to the fleet's organization (every fleet account does when the
/// fleet has one, as in the Organizations module).
fn in_org(world: &World, account: &str) -> bool {
    world.organization.is_some() && world.accounts.contains_key(account)
}

fn management_account(world: &World) -> Option<&str> {
    world
        .organization
        .as_ref()
        .map(|o| o.management_account.as_str())
}

/// The designation in `region`, kept on the management account's hub there.
fn designation<'w>(world: &'w World, region: &str) -> Option<&'w OrgAdmin> {
    let mgmt = management_account(world)?;
    world.region(mgmt, region)?.hub.org_admin.as_ref()
}

/// Whether `account` is the organization's Security Hub administrator in `region`.
fn is_designated(world: &World, account: &str, region: &str) -> bool {
    designation(world, region).is_some_and(|d| d.account == account)
}

/// `DisableSecurityHub` preconditions: not the organization's administrator, no associated
/// members, not an associated member. AWS answers `InvalidInputException` "Cannot disable
/// Security Hub on the Security Hub administrator" (the Terraform AWS provider retries on that
/// exact text).
pub(crate) fn check_can_disable(world: &World, caller: &Caller) -> Result<(), AwsError> {
    let (acct, region) = (&caller.account, &caller.region);
    if is_designated(world, acct, region) || has_associated_members(world, acct, region) {
        return Err(invalid_input(format!(
            "Cannot disable Security Hub on the Security Hub administrator. Account {acct} \
             administers member accounts in {region}; disassociate them first (and, for the \
             organization administrator, have the management account remove the designation)."
        )));
    }
    if let Some(admin) = administrator_of(world, acct, region) {
        return Err(invalid_input(format!(
            "Cannot disable Security Hub on a member account. Account {acct} is associated with \
             administrator {admin} in {region}; it must be disassociated first."
        )));
    }
    Ok(())
}

fn member_json(admin: &str, id: &str, rec: &MemberRecord) -> Value {
    let mut m = json!({
        "AccountId": id,
        "MasterId": admin,
        "AdministratorId": admin,
        "MemberStatus": rec.status.as_str(),
        "UpdatedAt": timestamp(rec.updated_at),
    });
    if let Some(e) = &rec.email {
        m["Email"] = json!(e);
    }
    if let Some(t) = rec.invited_at {
        m["InvitedAt"] = json!(timestamp(t));
    }
    m
}

fn invitation_json(admin: &str, rec: &MemberRecord) -> Value {
    let mut i = json!({"AccountId": admin, "MemberStatus": rec.status.as_str()});
    if let Some(id) = &rec.invitation {
        i["InvitationId"] = json!(id);
    }
    if let Some(t) = rec.invited_at {
        i["InvitedAt"] = json!(timestamp(t));
    }
    i
}

fn unprocessed(account: &str, why: impl Into<String>) -> Value {
    json!({"AccountId": account, "ProcessingResult": why.into()})
}

/// A required, non-empty list of account ids.
fn account_ids(input: &Value, key: &str) -> Result<Vec<String>, AwsError> {
    let list = input
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_input(format!("{key} is required")))?;
    if list.is_empty() {
        return Err(invalid_input(format!("{key} must not be empty")));
    }
    list.iter()
        .map(|v| {
            v.as_str()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
                .ok_or_else(|| invalid_input(format!("{key} must be a list of account ids")))
        })
        .collect()
}

fn required_str(input: &Value, key: &str) -> Result<String, AwsError> {
    input
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .ok_or_else(|| invalid_input(format!("{key} is required")))
}

/// The organization members `admin` has enabled in `region`.
fn org_member_count(world: &World, admin: &str, region: &str) -> usize {
    members_of(world, admin, region).map_or(0, |m| {
        m.values()
            .filter(|r| r.org_managed && r.status == MemberStatus::Enabled)
            .count()
    })
}
