//! Invitation mode in one Region: Security Hub on in the administrator and each member, the
//! administrator creates and invites the members that passed their own checks, each accepts.

use std::sync::Arc;
use std::time::Duration;

use super::api::{Sh, associated, ensure_hub};
use super::log::Log;
use super::{MAX_MEMBERS_PER_CALL, Step};
use crate::clients::AccountSession;
use crate::error::ApiError;
use crate::fanout::each;
use crate::targets::AccountTarget;

/// How often a member looks for an invitation just sent before giving up (it usually arrives at
/// once; AWS documents no delivery time).
const INVITATION_LOOKUPS: u32 = 4;

pub(super) struct InviteCtx {
    pub(super) admin: AccountSession,
    pub(super) members: Vec<(AccountTarget, AccountSession)>,
    pub(super) default_standards: bool,
    pub(super) width: usize,
    pub(super) log: Log,
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
pub(super) async fn invite_region(ctx: Arc<InviteCtx>, region: String) {
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
        let result = admin.create_members(&targets).await;
        let through = log.member_results(
            &region,
            Step::CreateMember,
            chunk.iter().map(|m| m.target.id.as_str()),
            &result,
            "CreateMembers did not add it",
            &format!("member record created at {}", admin.account),
        );
        for (m, _) in chunk.iter().zip(through).filter(|(_, ok)| *ok) {
            records.insert(m.target.id.clone(), "Created".into());
            alive.push(m.clone());
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
        let result = admin.invite_members(&ids).await;
        let through = log.member_results(
            &region,
            Step::InviteMember,
            ids.iter().map(String::as_str),
            &result,
            "InviteMembers did not invite it",
            &format!("invited by {}", admin.account),
        );
        for (m, _) in chunk.iter().zip(through).filter(|(_, ok)| *ok) {
            let mut m = m.clone();
            m.invitation = None;
            to_accept.push(m);
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
