//! `hub enable`: enters the administrator and, in invitation mode, the members, runs the chosen
//! mode in every Region, then links the Regions to the home Region's finding aggregator.

use std::sync::Arc;

use aws_config::SdkConfig;

use super::accounts::{caller_and_admin, enter, enter_admin, resolve_members};
use super::aggregator::ensure_aggregator;
use super::invitation::{InviteCtx, invite_region};
use super::log::Log;
use super::organization::{OrgCtx, org_region};
use super::{EnablePlan, HubReport, Mode};
use crate::clients::AccountSession;
use crate::error::{ApiError, ErrorKind};
use crate::fanout::each_region;
use crate::targets::AccountTarget;

/// Joins the accounts to one administrator in every Region, and links the Regions to the home
/// Region's finding aggregator. `Err` only when nothing could start (no caller identity, a plan
/// that makes no sense, the organization's accounts cannot be listed); everything else is in the
/// report, one action per step.
pub async fn enable(base: &SdkConfig, plan: &EnablePlan) -> Result<HubReport, ApiError> {
    let (me, admin_id) = caller_and_admin(
        base,
        &plan.regions,
        plan.home_region.as_deref(),
        plan.admin_account.as_ref(),
    )
    .await?;
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
            each_region(&plan.regions, plan.concurrency, ctx, invite_region).await;
        }
        Mode::Organization => {
            let ctx = Arc::new(OrgCtx {
                management: me.clone(),
                admin: admin.clone(),
                members,
                default_standards: plan.enable_default_standards,
                log: log.clone(),
            });
            each_region(&plan.regions, plan.concurrency, ctx, org_region).await;
        }
    }
    if let Some(home) = &plan.home_region {
        ensure_aggregator(&admin, home, &plan.regions, &log).await;
    }
    Ok(log.report())
}
