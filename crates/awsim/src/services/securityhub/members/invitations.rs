//! The member's side of membership: its invitations (`ListInvitations`, `GetInvitationsCount`,
//! accepting, declining and deleting them), its administrator (`GetAdministratorAccount`), and
//! leaving it (`DisassociateFromAdministratorAccount`).

use serde_json::{Value, json};

use super::super::aggregation::tracked;
use super::super::paging::{page_params, paged, query};
use super::super::{MemberRecord, MemberStatus, invalid_input};
use super::{
    MAX_CROSS_ACCOUNT_PAGE, account_ids, administrator_of, has_associated_members, hub_enabled,
    invitation_json, is_designated, members_of, no_such_resource, not_found, record_mut,
    require_enabled, required_str, unprocessed,
};
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;
use crate::world::World;

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
    let (size, after) = page_params(&q, MAX_CROSS_ACCOUNT_PAGE)?;
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
    Ok(paged("Invitations", items, after.as_deref(), size))
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
