//! The administrator's side of membership: `CreateMembers` (invitation or Organizations),
//! `InviteMembers`, `ListMembers`, `GetMembers`, `DisassociateMembers` and `DeleteMembers`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::aggregation::tracked;
use super::super::paging::{page_params, paged, query, query_get};
use super::super::validate::bounded_list;
use super::super::{MemberRecord, MemberStatus, invalid_input};
use super::{
    MAX_CROSS_ACCOUNT_PAGE, MAX_ORG_MEMBERS, account_ids, administrator_of, has_associated_members,
    hub_enabled, in_org, is_account_id, is_designated, management_account, member_json, members_of,
    not_found, org_member_count, record_mut, require_enabled, unprocessed,
};
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;
use crate::world::World;

/// `AccountDetails` per `CreateMembers` call (`AccountDetailsList`, min 1, max 50 in the model).
const MAX_CREATE: usize = 50;
/// Members by invitation per administrator and Region (user guide, account restrictions).
const MAX_INVITED_MEMBERS: usize = 1_000;
/// What AWS answers in `UnprocessedAccounts` for an account that is already a member (seen in
/// a real `CreateMembers` response quoted in aws-samples/aws-secure-environment-accelerator#814).
const ALREADY_MEMBER: &str = "The request is rejected because the given account ID is already a member or associated member of the current account.";

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
    let list = bounded_list(&input, "AccountDetails", MAX_CREATE, "accounts")?;
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
    if org_member_count(world, admin, region) >= MAX_ORG_MEMBERS {
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
    let (size, after) = page_params(&q, MAX_CROSS_ACCOUNT_PAGE)?;
    let world = sim.world();
    require_enabled(&world, caller)?;
    let items: Vec<(String, Value)> = members_of(&world, &caller.account, &caller.region)
        .into_iter()
        .flatten()
        .filter(|(_, r)| !only_associated || r.status == MemberStatus::Enabled)
        .map(|(id, r)| (id.clone(), member_json(&caller.account, id, r)))
        .collect();
    Ok(paged("Members", items, after.as_deref(), size))
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
