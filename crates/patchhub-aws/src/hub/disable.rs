//! `hub disable`: undoes `hub enable` Region by Region (members let go, designation removed,
//! member records deleted), then the aggregator, and with `disable_hub` Security Hub itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_config::SdkConfig;

use super::accounts::{caller_and_admin, enter, enter_admin, resolve_members};
use super::admin_view::{AdminView, admin_views, find_aggregator};
use super::api::{Records, Sh, associated};
use super::log::Log;
use super::{DisablePlan, HubReport, HubState, MAX_MEMBERS_PER_CALL, MemberAccounts, Mode, Step};
use crate::clients::AccountSession;
use crate::error::ApiError;
use crate::fanout::each;

/// Undoes [`enable`]: the administrator disassociates and deletes its members (members entered
/// through the role also leave it), organization mode turns auto-enable off and removes the
/// designation, the finding aggregator is deleted once the administrator has no member left, and
/// with `disable_hub` Security Hub is disabled in the members and the administrator. Run
/// [`cleanup`] first: once a Region stops being linked, what was aggregated stays in the home
/// Region as it was.
///
/// [`enable`]: fn@super::enable
/// [`cleanup`]: fn@super::cleanup
pub async fn disable(base: &SdkConfig, plan: &DisablePlan) -> Result<HubReport, ApiError> {
    let (me, admin_id) =
        caller_and_admin(base, &plan.regions, None, plan.admin_account.as_ref()).await?;
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
    let entered: Vec<(String, AccountSession)> = ctx
        .sessions
        .iter()
        .filter(|(id, _)| in_scope.contains(id) || ctx.listed.contains(*id))
        .map(|(id, s)| (id.clone(), s.clone()))
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
                    Err(e) => log.errors(chunk, &region, Step::DisassociateMember, &e),
                }
            }
        }
    }

    // Members entered through the role leave on their side too (for a member the
    // administrator could not let go).
    if ctx.mode == Mode::Invitation {
        each(entered.clone(), ctx.width, |(id, s)| {
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
            Err(e) => log.errors(&in_scope, &region, Step::DeleteMember, &e),
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
                        Err(e) => log.errors(chunk, &region, Step::DeleteMember, &e),
                    }
                }
            }
        }
    }

    if ctx.disable_hub {
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
