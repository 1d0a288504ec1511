//! Organization mode in one Region: the management account designates the administrator, which
//! turns on auto-enable and adds the organization's existing accounts as members.

use std::sync::Arc;

use super::api::{Sh, associated, ensure_hub};
use super::log::{Blocked, Log, describe};
use super::{MAX_MEMBERS_PER_CALL, Outcome, Step};
use crate::clients::AccountSession;
use crate::error::{ApiError, ErrorKind};
use crate::targets::AccountTarget;

pub(super) struct OrgCtx {
    pub(super) management: AccountSession,
    pub(super) admin: AccountSession,
    pub(super) members: Vec<AccountTarget>,
    pub(super) default_standards: bool,
    pub(super) log: Log,
}

/// Organization mode in one Region.
pub(super) async fn org_region(ctx: Arc<OrgCtx>, region: String) {
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
        let result = admin.create_members(chunk).await;
        log.member_results(
            &region,
            Step::CreateMember,
            chunk.iter().map(|t| t.id.as_str()),
            &result,
            "CreateMembers did not add it",
            &format!("member of {admin_id} (organization; Security Hub enabled by it)"),
        );
    }
}
