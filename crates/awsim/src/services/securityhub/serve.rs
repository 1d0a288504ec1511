//! The Security Hub API surface: which operation a method and path name, each call dispatched
//! to the module that serves it, and the hub's own lifecycle (`EnableSecurityHub`,
//! `DisableSecurityHub`, `DescribeHub`).

use axum::http::Method;
use serde_json::{Map, Value, json};

use super::members::{self, admin, invitations, organization};
use super::paging::{query, query_get};
use super::{
    HubSettings, aggregation, findings, get_findings, invalid_input, not_implemented,
    not_subscribed, timestamp, validate,
};
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;

/// `(METHOD, path, operation)` for fixed paths, from the service model's `http` traits.
/// Operations listed here but not served yet answer `NotImplemented`, so quotas and call
/// counters already know their names.
#[rustfmt::skip]
const ROUTES: &[(&str, &str, &str)] = &[
    ("POST", "/accounts", "EnableSecurityHub"),
    ("DELETE", "/accounts", "DisableSecurityHub"),
    ("GET", "/accounts", "DescribeHub"),
    ("PATCH", "/accounts", "UpdateSecurityHubConfiguration"),
    ("POST", "/findings/import", "BatchImportFindings"),
    ("POST", "/findings", "GetFindings"),
    ("PATCH", "/findings", "UpdateFindings"),
    ("PATCH", "/findings/batchupdate", "BatchUpdateFindings"),
    ("POST", "/findingHistory/get", "GetFindingHistory"),
    // Membership (invitations and Organizations).
    ("POST", "/members", "CreateMembers"),
    ("GET", "/members", "ListMembers"),
    ("POST", "/members/get", "GetMembers"),
    ("POST", "/members/invite", "InviteMembers"),
    ("POST", "/members/disassociate", "DisassociateMembers"),
    ("POST", "/members/delete", "DeleteMembers"),
    ("GET", "/invitations", "ListInvitations"),
    ("GET", "/invitations/count", "GetInvitationsCount"),
    ("POST", "/invitations/decline", "DeclineInvitations"),
    ("POST", "/invitations/delete", "DeleteInvitations"),
    ("POST", "/administrator", "AcceptAdministratorInvitation"),
    ("GET", "/administrator", "GetAdministratorAccount"),
    ("POST", "/administrator/disassociate", "DisassociateFromAdministratorAccount"),
    ("POST", "/master", "AcceptInvitation"),
    ("GET", "/master", "GetMasterAccount"),
    ("POST", "/master/disassociate", "DisassociateFromMasterAccount"),
    ("POST", "/organization/admin/enable", "EnableOrganizationAdminAccount"),
    ("POST", "/organization/admin/disable", "DisableOrganizationAdminAccount"),
    ("GET", "/organization/admin", "ListOrganizationAdminAccounts"),
    ("POST", "/organization/configuration", "UpdateOrganizationConfiguration"),
    ("GET", "/organization/configuration", "DescribeOrganizationConfiguration"),
    // Cross-Region aggregation.
    ("POST", "/findingAggregator/create", "CreateFindingAggregator"),
    ("GET", "/findingAggregator/list", "ListFindingAggregators"),
    ("PATCH", "/findingAggregator/update", "UpdateFindingAggregator"),
    // Standards and products.
    ("POST", "/standards/register", "BatchEnableStandards"),
    ("POST", "/standards/deregister", "BatchDisableStandards"),
    ("POST", "/standards/get", "GetEnabledStandards"),
    ("GET", "/standards", "DescribeStandards"),
    ("GET", "/products", "DescribeProducts"),
    ("POST", "/productSubscriptions", "EnableImportFindingsForProduct"),
    ("GET", "/productSubscriptions", "ListEnabledProductsForImport"),
];

/// `(METHOD, path prefix, operation)` for paths that end in a label (`/tags/{ResourceArn}`).
#[rustfmt::skip]
const LABELLED_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/findingAggregator/get/", "GetFindingAggregator"),
    ("DELETE", "/findingAggregator/delete/", "DeleteFindingAggregator"),
    ("GET", "/tags/", "ListTagsForResource"),
    ("POST", "/tags/", "TagResource"),
    ("DELETE", "/tags/", "UntagResource"),
];

/// The operation a method and path name, as in the Security Hub service model.
pub fn operation_for(method: &Method, path: &str) -> Option<String> {
    let m = method.as_str();
    ROUTES
        .iter()
        .find(|(rm, rp, _)| *rm == m && *rp == path)
        .or_else(|| {
            LABELLED_ROUTES.iter().find(|(rm, prefix, _)| {
                *rm == m && path.len() > prefix.len() && path.starts_with(prefix)
            })
        })
        .map(|(_, _, op)| (*op).to_string())
}

/// Serves one Security Hub call.
pub fn handle(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    match req.operation.as_str() {
        "EnableSecurityHub" => enable(sim, caller, req),
        "DisableSecurityHub" => disable(sim, caller),
        "DescribeHub" => describe(sim, caller, req),
        "BatchImportFindings" => findings::batch_import(sim, caller, req),
        "GetFindings" => get_findings::get_findings(sim, caller, req),
        "BatchUpdateFindings" => findings::batch_update(sim, caller, req),
        "CreateMembers" => admin::create_members(sim, caller, req),
        "InviteMembers" => admin::invite_members(sim, caller, req),
        "ListMembers" => admin::list_members(sim, caller, req),
        "GetMembers" => admin::get_members(sim, caller, req),
        "DisassociateMembers" => admin::disassociate_members(sim, caller, req),
        "DeleteMembers" => admin::delete_members(sim, caller, req),
        "ListInvitations" => invitations::list_invitations(sim, caller, req),
        "GetInvitationsCount" => invitations::invitations_count(sim, caller),
        "AcceptAdministratorInvitation" => invitations::accept(sim, caller, req, "AdministratorId"),
        "AcceptInvitation" => invitations::accept(sim, caller, req, "MasterId"),
        "DeclineInvitations" => invitations::decline_or_delete_invitations(sim, caller, req, true),
        "DeleteInvitations" => invitations::decline_or_delete_invitations(sim, caller, req, false),
        "GetAdministratorAccount" => invitations::get_administrator(sim, caller, "Administrator"),
        "GetMasterAccount" => invitations::get_administrator(sim, caller, "Master"),
        "DisassociateFromAdministratorAccount" | "DisassociateFromMasterAccount" => {
            invitations::disassociate_from_administrator(sim, caller)
        }
        "EnableOrganizationAdminAccount" => organization::enable_org_admin(sim, caller, req),
        "DisableOrganizationAdminAccount" => organization::disable_org_admin(sim, caller, req),
        "ListOrganizationAdminAccounts" => organization::list_org_admins(sim, caller, req),
        "DescribeOrganizationConfiguration" => organization::describe_org_config(sim, caller),
        "UpdateOrganizationConfiguration" => organization::update_org_config(sim, caller, req),
        "CreateFindingAggregator" => aggregation::create(sim, caller, req),
        "UpdateFindingAggregator" => aggregation::update(sim, caller, req),
        "GetFindingAggregator" => aggregation::get(sim, caller, req),
        "ListFindingAggregators" => aggregation::list(sim, caller, req),
        "DeleteFindingAggregator" => aggregation::delete(sim, caller, req),
        other => Err(not_implemented(other)),
    }
}

/// `arn:PARTITION:securityhub:REGION:ACCOUNT:hub/default`.
fn hub_arn(caller: &Caller) -> String {
    format!(
        "arn:{}:securityhub:{}:{}:hub/default",
        caller.partition(),
        caller.region,
        caller.account
    )
}

fn enable(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let enable_default_standards = match input.get("EnableDefaultStandards") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid_input("EnableDefaultStandards must be a boolean")),
    };
    let control_finding_generator = match input.get("ControlFindingGenerator") {
        None | Some(Value::Null) => "SECURITY_CONTROL".to_string(),
        Some(Value::String(s)) if s == "SECURITY_CONTROL" || s == "STANDARD_CONTROL" => s.clone(),
        Some(other) => {
            return Err(invalid_input(format!(
                "ControlFindingGenerator {other} is not SECURITY_CONTROL or STANDARD_CONTROL"
            )));
        }
    };
    let tags = match input.get("Tags") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            validate::tags(m).map_err(invalid_input)?;
            m.clone()
        }
        Some(_) => return Err(invalid_input("Tags must be a map of strings")),
    };
    let now = sim.clock.now();
    let mut world = sim.world();
    let hub = &mut world.region_mut(&caller.account, &caller.region).hub;
    if hub.settings.is_some() {
        return Err(AwsError::new(
            409,
            "ResourceConflictException",
            format!(
                "Account {} is already subscribed to Security Hub",
                caller.account
            ),
        ));
    }
    hub.settings = Some(HubSettings {
        subscribed_at: now,
        auto_enable_controls: true,
        control_finding_generator,
        enable_default_standards,
        tags,
    });
    Ok(json!({}))
}

fn disable(sim: &Sim, caller: &Caller) -> Result<Value, AwsError> {
    let mut world = sim.world();
    aggregation::tracked(&mut world, |world| {
        let enabled = world
            .region(&caller.account, &caller.region)
            .is_some_and(|r| r.hub.is_enabled());
        if !enabled {
            return Err(AwsError::new(
                404,
                "ResourceNotFoundException",
                format!(
                    "Security Hub is not enabled for account {} in {}",
                    caller.account, caller.region
                ),
            ));
        }
        // Refused for the organization's administrator, an administrator with associated
        // members, and an associated member (user guide, "Disabling Security Hub").
        members::check_can_disable(world, caller)?;
        let hub = &mut world.region_mut(&caller.account, &caller.region).hub;
        hub.settings = None;
        // "Your administrator and member account associations are removed": what is left here
        // is never associated (that would have refused above).
        hub.members.clear();
        Ok(json!({}))
    })
}

fn describe(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let world = sim.world();
    let settings = world
        .region(&caller.account, &caller.region)
        .and_then(|r| r.hub.settings.as_ref())
        .ok_or_else(|| not_subscribed(&caller.account))?;
    let arn = hub_arn(caller);
    let query = query(req);
    if let Some(asked) = query_get(&query, "HubArn")
        && asked != arn
    {
        return Err(invalid_input(format!(
            "HubArn {asked} is not the hub of account {} in {}",
            caller.account, caller.region
        )));
    }
    Ok(json!({
        "HubArn": arn,
        "SubscribedAt": timestamp(settings.subscribed_at),
        "AutoEnableControls": settings.auto_enable_controls,
        "ControlFindingGenerator": settings.control_finding_generator,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_model() {
        let op = |m: Method, p: &str| operation_for(&m, p);
        assert_eq!(
            op(Method::POST, "/accounts").as_deref(),
            Some("EnableSecurityHub")
        );
        assert_eq!(
            op(Method::DELETE, "/accounts").as_deref(),
            Some("DisableSecurityHub")
        );
        assert_eq!(op(Method::GET, "/accounts").as_deref(), Some("DescribeHub"));
        assert_eq!(
            op(Method::POST, "/findings/import").as_deref(),
            Some("BatchImportFindings")
        );
        assert_eq!(
            op(Method::POST, "/findings").as_deref(),
            Some("GetFindings")
        );
        assert_eq!(
            op(Method::PATCH, "/findings/batchupdate").as_deref(),
            Some("BatchUpdateFindings")
        );
        assert_eq!(
            op(Method::GET, "/findingAggregator/get/arn:aws:x").as_deref(),
            Some("GetFindingAggregator")
        );
        assert_eq!(op(Method::GET, "/findings"), None);
        assert_eq!(op(Method::GET, "/tags/"), None);
        assert_eq!(op(Method::PUT, "/accounts"), None);
    }
}
