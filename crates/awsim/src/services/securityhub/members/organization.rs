//! The Organizations integration: the management account designates the Security Hub
//! administrator (`EnableOrganizationAdminAccount`, `DisableOrganizationAdminAccount`,
//! `ListOrganizationAdminAccounts`), which manages the organization configuration
//! (`DescribeOrganizationConfiguration`, `UpdateOrganizationConfiguration`).

use serde_json::{Value, json};

use super::super::aggregation::tracked;
use super::super::paging::{page_params, paged, query, query_get};
use super::super::{OrgAdmin, invalid_input, not_implemented};
use super::{
    MAX_ORG_MEMBERS, access_denied, administrator_of, designation, in_org, is_account_id,
    is_designated, management_account, org_member_count, required_str,
};
use crate::identity::{Caller, partition_of};
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;
use crate::world::World;

/// Page size bounds of `ListOrganizationAdminAccounts` (`AdminsMaxResults`).
const MAX_ADMINS_PAGE: i64 = 10;

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

/// The `AdminAccountId` of an enable or disable request, whose `Feature` must be Security Hub.
fn admin_account(req: &Request) -> Result<String, AwsError> {
    let input = req.json()?;
    let admin = required_str(&input, "AdminAccountId")?;
    feature(input.get("Feature").and_then(Value::as_str))?;
    Ok(admin)
}

/// Serves `EnableOrganizationAdminAccount`.
pub(crate) fn enable_org_admin(
    sim: &Sim,
    caller: &Caller,
    req: &Request,
) -> Result<Value, AwsError> {
    let admin = admin_account(req)?;
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
    let admin = admin_account(req)?;
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
    let (size, after) = page_params(&q, MAX_ADMINS_PAGE)?;
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
    let mut out = paged("AdminAccounts", items, after.as_deref(), size);
    out["Feature"] = json!("SecurityHub");
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
    let org_members = org_member_count(&world, &caller.account, &caller.region);
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
