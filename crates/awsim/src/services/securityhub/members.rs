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

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::aggregation::tracked;
use super::{invalid_input, not_implemented, not_subscribed, timestamp};
use crate::identity::{Caller, partition_of};
use crate::protocol::AwsError;
use crate::server::Sim;
use crate::services::Request;
use crate::world::World;

/// `AccountDetails` per `CreateMembers` call (`AccountDetailsList`, min 1, max 50 in the model).
const MAX_CREATE: usize = 50;
/// Page size bounds of `ListMembers` and `ListInvitations` (`CrossAccountMaxResults`).
const MAX_CROSS_ACCOUNT_PAGE: i64 = 50;
/// Page size bounds of `ListOrganizationAdminAccounts` (`AdminsMaxResults`).
const MAX_ADMINS_PAGE: i64 = 10;
/// Members by invitation per administrator and Region (user guide, account restrictions).
const MAX_INVITED_MEMBERS: usize = 1_000;
/// Organization members per delegated administrator and Region.
const MAX_ORG_MEMBERS: usize = 10_000;
/// What AWS answers in `UnprocessedAccounts` for an account that is already a member (seen in
/// a real `CreateMembers` response quoted in aws-samples/aws-secure-environment-accelerator#814).
const ALREADY_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";

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
) -> Option<&'w std::collections::BTreeMap<String, MemberRecord>> {
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

fn query(req: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_str(&req.query).unwrap_or_default()
}

fn query_get<'q>(q: &'q [(String, String)], key: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `MaxResults` from the query string, within `1..=max` (default `max`).
pub(crate) fn page_size(q: &[(String, String)], max: i64) -> Result<usize, AwsError> {
    match query_get(q, "MaxResults") {
        None => Ok(max as usize),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| {
                invalid_input(format!("MaxResults must be between 1 and {max}; got {v}"))
            }),
    }
}

/// The key a `NextToken` resumes after (tokens are the hex of the last key returned).
pub(crate) fn resume_after(q: &[(String, String)]) -> Result<Option<String>, AwsError> {
    match query_get(q, "NextToken") {
        None | Some("") => Ok(None),
        Some(t) => hex::decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| invalid_input("The NextToken is invalid")),
    }
}

/// One page of `items` (sorted by key) after `after`, with the token for the next page.
pub(crate) fn page<T>(
    items: Vec<(String, T)>,
    after: Option<&str>,
    size: usize,
) -> (Vec<T>, Option<String>) {
    let rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
        .collect();
    let more = rest.len() > size;
    let mut last = None;
    let page = rest
        .into_iter()
        .take(size)
        .map(|(k, v)| {
            last = Some(k);
            v
        })
        .collect();
    (page, if more { last.map(hex::encode) } else { None })
}

fn invitation_id(
    admin: &str,
    member: &str,
    region: &str,
    now: DateTime<Utc>,
    prev: Option<&str>,
) -> String {
    let digest = Sha256::digest(format!(
        "{admin}/{member}/{region}/{}/{}",
        now.timestamp_nanos_opt().unwrap_or_default(),
        prev.unwrap_or_default()
    ));
    hex::encode(&digest[..16])
}

/// Serves `CreateMembers`.
pub(crate) fn create_members(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let list = input
        .get("AccountDetails")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid_input("AccountDetails is required"))?;
    if list.is_empty() || list.len() > MAX_CREATE {
        return Err(invalid_input(format!(
            "AccountDetails must contain between 1 and {MAX_CREATE} accounts; got {}",
            list.len()
        )));
    }
    let mut details = Vec::with_capacity(list.len());
    for d in list {
        let id = d
            .get("AccountId")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_input("Each AccountDetails entry needs an AccountId"))?;
        let email = match d.get("Email") {
            None | Some(Value::Null) => None,
            Some(Value::String(e)) if !e.trim().is_empty() => Some(e.clone()),
            Some(_) => return Err(invalid_input("Email must be a non-empty string")),
        };
        details.push((id.to_string(), email));
    }
    let now = sim.clock.now();
    let mut world = sim.world();
    tracked(&mut world, |world| {
        let (me, region) = (caller.account.as_str(), caller.region.as_str());
        require_enabled(world, caller)?;
        if let Some(admin) = administrator_of(world, me, region) {
            return Err(invalid_input(format!(
                "Account {me} is a member of administrator {admin} in {region} and cannot have member accounts"
            )));
        }
        let org_admin = is_designated(world, me, region);
        let mut failed = Vec::new();
        for (id, email) in details {
            if !is_account_id(&id) {
                failed.push(unprocessed(&id, "Invalid account ID"));
                continue;
            }
            if id == me {
                failed.push(unprocessed(&id, "An account cannot be its own member"));
                continue;
            }
            let existing = members_of(world, me, region)
                .and_then(|m| m.get(&id))
                .cloned();
            if org_admin && in_org(world, &id) {
                if let Some(why) = org_member_blocker(world, me, region, &id, existing.as_ref()) {
                    failed.push(unprocessed(&id, why));
                    continue;
                }
                let spec = &world.accounts[&id];
                let email = email.or_else(|| Some(spec.email.clone()).filter(|e| !e.is_empty()));
                let status = if spec.status == "SUSPENDED" {
                    MemberStatus::AccountSuspended
                } else {
                    world.region_mut(&id, region).hub.enable_on_behalf(now);
                    MemberStatus::Enabled
                };
                world.region_mut(me, region).hub.members.insert(
                    id,
                    MemberRecord {
                        email,
                        status,
                        org_managed: true,
                        invitation: None,
                        invited_at: existing.as_ref().and_then(|e| e.invited_at).or(Some(now)),
                        updated_at: now,
                    },
                );
                continue;
            }
            if existing.is_some() {
                failed.push(unprocessed(&id, ALREADY_MEMBER));
                continue;
            }
            let invited = members_of(world, me, region)
                .map_or(0, |m| m.values().filter(|r| !r.org_managed).count());
            if invited >= MAX_INVITED_MEMBERS {
                failed.push(unprocessed(
                    &id,
                    format!("The administrator account already has {MAX_INVITED_MEMBERS} member accounts by invitation in {region}"),
                ));
                continue;
            }
            world.region_mut(me, region).hub.members.insert(
                id,
                MemberRecord {
                    email,
                    status: MemberStatus::Created,
                    org_managed: false,
                    invitation: None,
                    invited_at: None,
                    updated_at: now,
                },
            );
        }
        Ok(json!({"UnprocessedAccounts": failed}))
    })
}

/// Why the organization's administrator cannot enable an organization account as a member.
fn org_member_blocker(
    world: &World,
    admin: &str,
    region: &str,
    id: &str,
    existing: Option<&MemberRecord>,
) -> Option<String> {
    if existing.is_some_and(|e| e.status == MemberStatus::Enabled) {
        return Some(ALREADY_MEMBER.to_string());
    }
    if let Some(other) = administrator_of(world, id, region).filter(|o| o != admin) {
        return Some(format!(
            "Account {id} is already associated with administrator {other} in {region}"
        ));
    }
    if has_associated_members(world, id, region) {
        return Some(format!(
            "Account {id} is a Security Hub administrator in {region} and cannot be a member"
        ));
    }
    if management_account(world) == Some(id) && !hub_enabled(world, id, region) {
        return Some(format!(
            "Security Hub cannot be enabled automatically for the organization management account {id}; it must enable Security Hub in {region} first"
        ));
    }
    let org_members = members_of(world, admin, region).map_or(0, |m| {
        m.values()
            .filter(|r| r.org_managed && r.status == MemberStatus::Enabled)
            .count()
    });
    if org_members >= MAX_ORG_MEMBERS {
        return Some(format!(
            "The administrator account already has {MAX_ORG_MEMBERS} organization member accounts in {region}"
        ));
    }
    None
}

/// Serves `InviteMembers`.
pub(crate) fn invite_members(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let ids = account_ids(&req.json()?, "AccountIds")?;
    let now = sim.clock.now();
    let mut world = sim.world();
    let (me, region) = (caller.account.as_str(), caller.region.as_str());
    require_enabled(&world, caller)?;
    if let Some(admin) = administrator_of(&world, me, region) {
        return Err(invalid_input(format!(
            "Account {me} is a member of administrator {admin} in {region} and cannot invite member accounts"
        )));
    }
    let mut failed = Vec::new();
    for id in ids {
        let Some(rec) = members_of(&world, me, region)
            .and_then(|m| m.get(&id))
            .cloned()
        else {
            failed.push(unprocessed(
                &id,
                format!("Account {id} is not a member of this administrator; add it with CreateMembers first"),
            ));
            continue;
        };
        if rec.org_managed {
            failed.push(unprocessed(
                &id,
                "Organization accounts don't receive invitations",
            ));
            continue;
        }
        if rec.status == MemberStatus::Enabled {
            failed.push(unprocessed(&id, ALREADY_MEMBER));
            continue;
        }
        if let Some(other) = administrator_of(&world, &id, region) {
            failed.push(unprocessed(
                &id,
                format!(
                    "Account {id} is already associated with administrator {other} in {region}"
                ),
            ));
            continue;
        }
        let invitation = invitation_id(me, &id, region, now, rec.invitation.as_deref());
        if let Some(r) = record_mut(&mut world, me, region, &id) {
            r.status = MemberStatus::Invited;
            r.invitation = Some(invitation);
            r.invited_at = Some(now);
            r.updated_at = now;
        }
    }
    Ok(json!({"UnprocessedAccounts": failed}))
}

/// Serves `ListMembers`.
pub(crate) fn list_members(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let q = query(req);
    let only_associated = match query_get(&q, "OnlyAssociated") {
        None | Some("true") => true,
        Some("false") => false,
        Some(v) => {
            return Err(invalid_input(format!(
                "OnlyAssociated must be true or false; got {v}"
            )));
        }
    };
    let size = page_size(&q, MAX_CROSS_ACCOUNT_PAGE)?;
    let after = resume_after(&q)?;
    let world = sim.world();
    require_enabled(&world, caller)?;
    let items: Vec<(String, Value)> = members_of(&world, &caller.account, &caller.region)
        .into_iter()
        .flatten()
        .filter(|(_, r)| !only_associated || r.status == MemberStatus::Enabled)
        .map(|(id, r)| (id.clone(), member_json(&caller.account, id, r)))
        .collect();
    let (members, next) = page(items, after.as_deref(), size);
    let mut out = json!({"Members": members});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

/// Serves `GetMembers`.
pub(crate) fn get_members(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let ids = account_ids(&req.json()?, "AccountIds")?;
    let world = sim.world();
    require_enabled(&world, caller)?;
    let (mut found, mut failed) = (Vec::new(), Vec::new());
    for id in ids {
        match members_of(&world, &caller.account, &caller.region).and_then(|m| m.get(&id)) {
            Some(r) => found.push(member_json(&caller.account, &id, r)),
            None => failed.push(unprocessed(
                &id,
                format!(
                    "Account {id} is not a member of administrator {}",
                    caller.account
                ),
            )),
        }
    }
    Ok(json!({"Members": found, "UnprocessedAccounts": failed}))
}

/// Serves `DisassociateMembers`: an associated member becomes `Removed`. The API has no
/// per-account result; an account that is not a member fails the whole call with
/// `ResourceNotFoundException` (which the Terraform AWS provider treats as "already gone").
pub(crate) fn disassociate_members(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let ids = account_ids(&req.json()?, "AccountIds")?;
    let now = sim.clock.now();
    let mut world = sim.world();
    tracked(&mut world, |world| {
        require_enabled(world, caller)?;
        let (me, region) = (caller.account.as_str(), caller.region.as_str());
        if let Some(id) = ids
            .iter()
            .find(|id| members_of(world, me, region).is_none_or(|m| !m.contains_key(*id)))
        {
            return Err(not_found(format!(
                "Account {id} is not a member of administrator {me} in {region}"
            )));
        }
        for id in &ids {
            if let Some(r) = record_mut(world, me, region, id)
                && r.status == MemberStatus::Enabled
            {
                r.status = MemberStatus::Removed;
                r.updated_at = now;
            }
        }
        Ok(json!({}))
    })
}

/// Serves `DeleteMembers`: only disassociated members by invitation can be deleted.
pub(crate) fn delete_members(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let ids = account_ids(&req.json()?, "AccountIds")?;
    let mut world = sim.world();
    require_enabled(&world, caller)?;
    let (me, region) = (caller.account.as_str(), caller.region.as_str());
    let mut failed = Vec::new();
    for id in ids {
        let members = &mut world.region_mut(me, region).hub.members;
        match members.get(&id) {
            None => failed.push(unprocessed(
                &id,
                format!("Account {id} is not a member of administrator {me}"),
            )),
            Some(r) if r.org_managed => failed.push(unprocessed(
                &id,
                "Accounts that are managed using Organizations can't be deleted; disassociate them instead",
            )),
            Some(r) if r.status == MemberStatus::Enabled => failed.push(unprocessed(
                &id,
                format!("Account {id} is still associated; disassociate it before deleting it"),
            )),
            Some(_) => {
                members.remove(&id);
            }
        }
    }
    Ok(json!({"UnprocessedAccounts": failed}))
}

/// Invitations held by `member` in `region`: `(administrator, record)`, ascending.
fn invitations_of<'w>(
    world: &'w World,
    member: &str,
    region: &str,
) -> Vec<(String, &'w MemberRecord)> {
    world
        .regions
        .iter()
        .filter(|((_, r), _)| r == region)
        .filter_map(|((admin, _), st)| {
            st.hub
                .members
                .get(member)
                .filter(|rec| rec.invitation.is_some())
                .map(|rec| (admin.clone(), rec))
        })
        .collect()
}

/// Serves `ListInvitations` (including an accepted invitation, as AWS does).
pub(crate) fn list_invitations(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let q = query(req);
    let size = page_size(&q, MAX_CROSS_ACCOUNT_PAGE)?;
    let after = resume_after(&q)?;
    let world = sim.world();
    if !hub_enabled(&world, &caller.account, &caller.region) {
        return Err(no_such_resource());
    }
    let items = invitations_of(&world, &caller.account, &caller.region)
        .into_iter()
        .map(|(admin, rec)| {
            let j = invitation_json(&admin, rec);
            (admin, j)
        })
        .collect();
    let (invitations, next) = page(items, after.as_deref(), size);
    let mut out = json!({"Invitations": invitations});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

/// Serves `GetInvitationsCount`: invitations held, not counting the accepted one.
pub(crate) fn invitations_count(sim: &Sim, caller: &Caller) -> Result<Value, AwsError> {
    let world = sim.world();
    require_enabled(&world, caller)?;
    let n = invitations_of(&world, &caller.account, &caller.region)
        .iter()
        .filter(|(_, r)| r.status != MemberStatus::Enabled)
        .count();
    Ok(json!({"InvitationsCount": n}))
}

/// Serves `AcceptAdministratorInvitation` (`admin_key` `AdministratorId`) and the deprecated
/// `AcceptInvitation` (`MasterId`).
pub(crate) fn accept(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
    admin_key: &str,
) -> Result<Value, AwsError> {
    let input = req.json()?;
    let admin = required_str(&input, admin_key)?;
    let invitation = required_str(&input, "InvitationId")?;
    let now = sim.clock.now();
    let mut world = sim.world();
    tracked(&mut world, |world| {
        let (me, region) = (caller.account.as_str(), caller.region.as_str());
        // "Before you can accept or decline an invitation, you must enable Security Hub."
        require_enabled(world, caller)?;
        if is_designated(world, me, region) || has_associated_members(world, me, region) {
            return Err(invalid_input(format!(
                "Account {me} is a Security Hub administrator in {region}; an administrator cannot be a member account"
            )));
        }
        if let Some(current) = administrator_of(world, me, region) {
            if current == admin {
                return Ok(json!({}));
            }
            return Err(invalid_input(format!(
                "Account {me} is already a member of administrator {current} in {region}; a member account can only be associated with one administrator"
            )));
        }
        let rec = record_mut(world, &admin, region, me)
            .filter(|r| {
                r.invitation.as_deref() == Some(invitation.as_str())
                    && matches!(r.status, MemberStatus::Invited | MemberStatus::Resigned)
            })
            .ok_or_else(|| {
                not_found(format!(
                    "No invitation {invitation} from account {admin} to account {me} in {region}"
                ))
            })?;
        rec.status = MemberStatus::Enabled;
        rec.updated_at = now;
        Ok(json!({}))
    })
}

/// Serves `DeclineInvitations` (`decline`) and `DeleteInvitations`: `AccountIds` are the
/// administrators whose invitations the caller declines or deletes.
pub(crate) fn decline_or_delete_invitations(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
    decline: bool,
) -> Result<Value, AwsError> {
    let admins = account_ids(&req.json()?, "AccountIds")?;
    let now = sim.clock.now();
    let mut world = sim.world();
    require_enabled(&world, caller)?;
    let (me, region) = (caller.account.as_str(), caller.region.as_str());
    let mut failed = Vec::new();
    for admin in admins {
        let Some(rec) =
            record_mut(&mut world, &admin, region, me).filter(|r| r.invitation.is_some())
        else {
            failed.push(unprocessed(
                &admin,
                format!("There is no invitation from account {admin} in {region}"),
            ));
            continue;
        };
        if rec.status == MemberStatus::Enabled {
            failed.push(unprocessed(
                &admin,
                "The invitation was accepted; disassociate from the administrator account first",
            ));
            continue;
        }
        rec.invitation = None;
        rec.updated_at = now;
        if decline {
            // User guide: a declined invitation shows the account as Resigned to the administrator.
            rec.status = MemberStatus::Resigned;
        }
    }
    Ok(json!({"UnprocessedAccounts": failed}))
}

/// Serves `GetAdministratorAccount` (`key` `Administrator`) and `GetMasterAccount` (`Master`).
pub(crate) fn get_administrator(sim: &Sim, caller: &Caller, key: &str) -> Result<Value, AwsError> {
    let world = sim.world();
    if !hub_enabled(&world, &caller.account, &caller.region) {
        return Err(no_such_resource());
    }
    let Some(admin) = administrator_of(&world, &caller.account, &caller.region) else {
        return Ok(json!({}));
    };
    let rec = &members_of(&world, &admin, &caller.region).expect("associated")[&caller.account];
    Ok(json!({ key: invitation_json(&admin, rec) }))
}

/// Serves `DisassociateFromAdministratorAccount` and `DisassociateFromMasterAccount`. The
/// invitation stays with the member, which can accept it again.
pub(crate) fn disassociate_from_administrator(
    sim: &Sim,
    caller: &Caller,
) -> Result<Value, AwsError> {
    let now = sim.clock.now();
    let mut world = sim.world();
    tracked(&mut world, |world| {
        let (me, region) = (caller.account.as_str(), caller.region.as_str());
        if !hub_enabled(world, me, region) {
            return Err(no_such_resource());
        }
        let admin = administrator_of(world, me, region).ok_or_else(|| {
            not_found(format!(
                "Account {me} is not associated with an administrator account in {region}"
            ))
        })?;
        let rec = record_mut(world, &admin, region, me).expect("associated");
        if rec.org_managed {
            return Err(invalid_input(format!(
                "Account {me} is managed by the organization's Security Hub administrator {admin}; only the administrator can disassociate it"
            )));
        }
        rec.status = MemberStatus::Resigned;
        rec.updated_at = now;
        Ok(json!({}))
    })
}

/// The organization and the caller's right to manage its Security Hub administrator: only the
/// management account may (`AccessDeniedException` otherwise, the text for accounts outside an
/// organization being the one the Terraform AWS provider matches).
fn require_management(world: &World, caller: &Caller) -> Result<String, AwsError> {
    let Some(mgmt) = management_account(world).filter(|_| in_org(world, &caller.account)) else {
        return Err(access_denied(
            "Your account is not a member of an organization.",
        ));
    };
    if caller.account != mgmt {
        return Err(access_denied(format!(
            "Account {} is not the management account of the organization; only the management account can manage the Security Hub administrator account",
            caller.account
        )));
    }
    Ok(mgmt.to_string())
}

fn feature(value: Option<&str>) -> Result<(), AwsError> {
    match value {
        None | Some("SecurityHub") => Ok(()),
        Some("SecurityHubV2") => Err(not_implemented(
            "feature SecurityHubV2 (the OCSF-based Security Hub)",
        )),
        Some(other) => Err(invalid_input(format!(
            "Feature must be SecurityHub or SecurityHubV2; got {other}"
        ))),
    }
}

/// Serves `EnableOrganizationAdminAccount`.
pub(crate) fn enable_org_admin(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let input = req.json()?;
    let admin = required_str(&input, "AdminAccountId")?;
    feature(input.get("Feature").and_then(Value::as_str))?;
    let now = sim.clock.now();
    let mut world = sim.world();
    tracked(&mut world, |world| {
        let mgmt = require_management(world, caller)?;
        let region = caller.region.as_str();
        let org_id = world
            .organization
            .as_ref()
            .map(|o| o.id.clone())
            .unwrap_or_default();
        if !is_account_id(&admin) || !in_org(world, &admin) {
            return Err(invalid_input(format!(
                "Account {admin} is not a member of organization {org_id}"
            )));
        }
        if let Some(current) = designation(world, region) {
            if current.account == admin {
                return Ok(json!({"AdminAccountId": admin, "Feature": "SecurityHub"}));
            }
            return Err(invalid_input(format!(
                "Account {} is already the Security Hub administrator account in {region}; remove it first",
                current.account
            )));
        }
        // One delegated administrator per organization: in every Region it is that account or
        // the management account itself.
        if admin != mgmt {
            let partition = partition_of(region);
            let other = world
                .regions
                .iter()
                .filter(|((a, r), _)| a == &mgmt && partition_of(r) == partition)
                .filter_map(|(_, st)| st.hub.org_admin.as_ref())
                .find(|d| d.account != admin && d.account != mgmt);
            if let Some(d) = other {
                return Err(invalid_input(format!(
                    "Account {} is the delegated Security Hub administrator of organization {org_id}; to choose a different account, remove it as administrator in all Regions first",
                    d.account
                )));
            }
        }
        if let Some(of) = administrator_of(world, &admin, region) {
            return Err(invalid_input(format!(
                "Account {admin} is a member of administrator {of} in {region}; a member account cannot be an administrator"
            )));
        }
        world.region_mut(&mgmt, region).hub.org_admin = Some(OrgAdmin {
            account: admin.clone(),
            auto_enable: false,
            auto_enable_standards: "DEFAULT".to_string(),
        });
        // "Security Hub is automatically enabled in the delegated administrator account in the
        // Region in which it was designated."
        world.region_mut(&admin, region).hub.enable_on_behalf(now);
        Ok(json!({"AdminAccountId": admin, "Feature": "SecurityHub"}))
    })
}

/// Serves `DisableOrganizationAdminAccount`: removes the designation in the caller's Region
/// only (as the Security Hub API does); the administrator's organization members are dropped.
pub(crate) fn disable_org_admin(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let input = req.json()?;
    let admin = required_str(&input, "AdminAccountId")?;
    feature(input.get("Feature").and_then(Value::as_str))?;
    let mut world = sim.world();
    tracked(&mut world, |world| {
        let mgmt = require_management(world, caller)?;
        let region = caller.region.as_str();
        if !is_designated(world, &admin, region) {
            return Err(invalid_input(format!(
                "Account {admin} is not the Security Hub administrator account in {region}"
            )));
        }
        world.region_mut(&mgmt, region).hub.org_admin = None;
        world
            .region_mut(&admin, region)
            .hub
            .members
            .retain(|_, r| !r.org_managed);
        Ok(json!({}))
    })
}

/// Serves `ListOrganizationAdminAccounts` (the caller's Region).
pub(crate) fn list_org_admins(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let q = query(req);
    let size = page_size(&q, MAX_ADMINS_PAGE)?;
    let after = resume_after(&q)?;
    feature(query_get(&q, "Feature"))?;
    let world = sim.world();
    require_management(&world, caller)?;
    let items = designation(&world, &caller.region)
        .map(|d| {
            (
                d.account.clone(),
                json!({"AccountId": d.account, "Status": "ENABLED"}),
            )
        })
        .into_iter()
        .collect();
    let (admins, next) = page(items, after.as_deref(), size);
    let mut out = json!({"AdminAccounts": admins, "Feature": "SecurityHub"});
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    Ok(out)
}

/// The caller's designation, or the error AWS gives an account that is not the organization's
/// administrator in this Region (`InvalidAccessException`, HTTP 401, seen in
/// hashicorp/terraform-provider-aws#23079).
fn require_org_admin<'w>(world: &'w World, caller: &Caller) -> Result<&'w OrgAdmin, AwsError> {
    designation(world, &caller.region)
        .filter(|d| d.account == caller.account)
        .ok_or_else(|| {
            AwsError::new(
                401,
                "InvalidAccessException",
                format!(
                    "Account {} is not an administrator for this organization",
                    caller.account
                ),
            )
        })
}

/// Serves `DescribeOrganizationConfiguration`.
pub(crate) fn describe_org_config(sim: &Sim, caller: &Caller) -> Result<Value, AwsError> {
    let world = sim.world();
    let d = require_org_admin(&world, caller)?;
    let org_members = members_of(&world, &caller.account, &caller.region).map_or(0, |m| {
        m.values()
            .filter(|r| r.org_managed && r.status == MemberStatus::Enabled)
            .count()
    });
    Ok(json!({
        "AutoEnable": d.auto_enable,
        "MemberAccountLimitReached": org_members >= MAX_ORG_MEMBERS,
        "AutoEnableStandards": d.auto_enable_standards,
        "OrganizationConfiguration": {"ConfigurationType": "LOCAL", "Status": "ENABLED"},
    }))
}

/// Serves `UpdateOrganizationConfiguration` (local configuration; central configuration is not
/// emulated).
pub(crate) fn update_org_config(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let input = req.json()?;
    let auto_enable = input
        .get("AutoEnable")
        .and_then(Value::as_bool)
        .ok_or_else(|| invalid_input("AutoEnable is required and must be a boolean"))?;
    let standards = match input.get("AutoEnableStandards") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "NONE" || s == "DEFAULT" => Some(s.clone()),
        Some(other) => {
            return Err(invalid_input(format!(
                "AutoEnableStandards must be NONE or DEFAULT; got {other}"
            )));
        }
    };
    match input
        .get("OrganizationConfiguration")
        .and_then(|c| c.get("ConfigurationType"))
        .and_then(Value::as_str)
    {
        None | Some("LOCAL") => {}
        Some("CENTRAL") => {
            return Err(not_implemented(
                "central configuration (ConfigurationType CENTRAL)",
            ));
        }
        Some(other) => {
            return Err(invalid_input(format!(
                "ConfigurationType must be CENTRAL or LOCAL; got {other}"
            )));
        }
    }
    let mut world = sim.world();
    require_org_admin(&world, caller)?;
    let mgmt = management_account(&world).expect("designated").to_string();
    let d = world
        .region_mut(&mgmt, &caller.region)
        .hub
        .org_admin
        .as_mut()
        .expect("designated");
    d.auto_enable = auto_enable;
    if let Some(s) = standards {
        d.auto_enable_standards = s;
    }
    Ok(json!({}))
}
