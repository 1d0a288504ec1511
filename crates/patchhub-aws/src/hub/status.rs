//! `hub status`: where each account stands in each Region, and what the administrator sees from
//! its aggregator's home Region.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_config::SdkConfig;

use super::accounts::{caller_and_admin, enter, resolve_members};
use super::admin_view::{AdminView, admin_views, find_aggregator};
use super::api::{Sh, associated};
use super::log::{Log, describe};
use super::{
    AggregatedView, AggregatorInfo, HubState, Relationship, StatusPlan, StatusReport, StatusRow,
};
use crate::clients::{self, AccountSession};
use crate::error::{ApiError, ErrorKind};
use crate::fanout::each;

/// Where each account stands in each Region: Security Hub, relationship, aggregation, and its
/// active patchhub findings; plus what the administrator sees from the aggregator's home Region.
/// `Err` when the caller or the administrator cannot be entered.
pub async fn status(base: &SdkConfig, plan: &StatusPlan) -> Result<StatusReport, ApiError> {
    let (me, admin_id) =
        caller_and_admin(base, &plan.regions, None, plan.admin_account.as_ref()).await?;
    let admin = if admin_id == me.account_id {
        me.clone()
    } else {
        clients::assume_into(base, &me, &admin_id, &plan.role).await?
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
