//! Security Hub CSPM (restJson1): the hub of each account and Region, ASFF findings imported by
//! `BatchImportFindings`, read by `GetFindings` and triaged by `BatchUpdateFindings`, with AWS's
//! limits, validation and update rules (see `shared/aws-facts.md` and the notes in each module).
//!
//! Layout: [`validate`] checks ASFF and request shapes, [`findings`] stores findings with their
//! indexes and applies the create/update rules, [`filters`] parses and evaluates
//! `AwsSecurityFindingFilters`, sorts and pages, [`members`] keeps administrator-member
//! relationships (invitations and the Organizations integration), [`aggregation`] keeps finding
//! aggregators and decides which hubs a caller's reads reach.

mod aggregation;
mod filters;
mod findings;
mod members;
mod validate;

use std::collections::BTreeMap;

use axum::http::Method;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::server::Sim;
use crate::services::Request;
use crate::world::World;

pub(crate) use findings::FindingStore;

/// Largest `BatchImportFindings` request body AWS accepts (6 MB).
const MAX_IMPORT_REQUEST_BYTES: usize = 6 * 1024 * 1024;
/// Findings per `BatchImportFindings` / identifiers per `BatchUpdateFindings`.
const MAX_BATCH: usize = 100;

/// One account's hub in one Region: whether Security Hub is enabled there, its findings, the
/// member accounts it administers there, and its cross-Region aggregation settings.
///
/// Findings outlive `DisableSecurityHub` here (AWS deletes them only 90 days later); they are
/// unreachable while the hub is disabled and visible again after re-enabling.
#[derive(Debug, Default)]
pub struct Hub {
    settings: Option<HubSettings>,
    store: FindingStore,
    /// This account's member accounts in this Region (it is their administrator), by account id.
    members: BTreeMap<String, members::MemberRecord>,
    /// On the organization management account's hub only: the Security Hub administrator it
    /// designated in this Region and that administrator's organization configuration.
    org_admin: Option<members::OrgAdmin>,
    /// The finding aggregator, on the hub of the account's home Region.
    aggregator: Option<aggregation::Aggregator>,
    /// Findings that cross-Region aggregation had replicated here from a linked Region that is no
    /// longer linked (AWS keeps them in the home Region), by source Region.
    replicas: BTreeMap<String, FindingStore>,
}

/// What `EnableSecurityHub` recorded.
#[derive(Debug, Clone)]
struct HubSettings {
    subscribed_at: DateTime<Utc>,
    auto_enable_controls: bool,
    control_finding_generator: String,
    #[expect(dead_code, reason = "read once the standards APIs are emulated")]
    enable_default_standards: bool,
    #[expect(dead_code, reason = "read once ListTagsForResource is emulated")]
    tags: Map<String, Value>,
}

impl Hub {
    /// Whether Security Hub is enabled in this account and Region.
    pub fn is_enabled(&self) -> bool {
        self.settings.is_some()
    }

    /// Number of findings stored (including archived ones).
    pub fn finding_count(&self) -> usize {
        self.store.len()
    }

    /// Enables Security Hub the way AWS does on an account's behalf (Organizations designation
    /// and organization members): default standards on, default settings. No-op when enabled.
    fn enable_on_behalf(&mut self, now: DateTime<Utc>) {
        if self.settings.is_none() {
            self.settings = Some(HubSettings {
                subscribed_at: now,
                auto_enable_controls: true,
                control_finding_generator: "SECURITY_CONTROL".to_string(),
                enable_default_standards: true,
                tags: Map::new(),
            });
        }
    }
}

/// `(METHOD, path, operation)` for fixed paths, from the service model's `http` traits.
/// Operations listed here but not served yet answer `NotImplemented`, so quotas and call
/// counters already know their names.
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
    (
        "POST",
        "/administrator/disassociate",
        "DisassociateFromAdministratorAccount",
    ),
    ("POST", "/master", "AcceptInvitation"),
    ("GET", "/master", "GetMasterAccount"),
    (
        "POST",
        "/master/disassociate",
        "DisassociateFromMasterAccount",
    ),
    (
        "POST",
        "/organization/admin/enable",
        "EnableOrganizationAdminAccount",
    ),
    (
        "POST",
        "/organization/admin/disable",
        "DisableOrganizationAdminAccount",
    ),
    (
        "GET",
        "/organization/admin",
        "ListOrganizationAdminAccounts",
    ),
    (
        "POST",
        "/organization/configuration",
        "UpdateOrganizationConfiguration",
    ),
    (
        "GET",
        "/organization/configuration",
        "DescribeOrganizationConfiguration",
    ),
    // Cross-Region aggregation.
    (
        "POST",
        "/findingAggregator/create",
        "CreateFindingAggregator",
    ),
    ("GET", "/findingAggregator/list", "ListFindingAggregators"),
    (
        "PATCH",
        "/findingAggregator/update",
        "UpdateFindingAggregator",
    ),
    // Standards and products.
    ("POST", "/standards/register", "BatchEnableStandards"),
    ("POST", "/standards/deregister", "BatchDisableStandards"),
    ("POST", "/standards/get", "GetEnabledStandards"),
    ("GET", "/standards", "DescribeStandards"),
    ("GET", "/products", "DescribeProducts"),
    (
        "POST",
        "/productSubscriptions",
        "EnableImportFindingsForProduct",
    ),
    (
        "GET",
        "/productSubscriptions",
        "ListEnabledProductsForImport",
    ),
];

/// `(METHOD, path prefix, operation)` for paths that end in a label (`/tags/{ResourceArn}`).
const LABELLED_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/findingAggregator/get/", "GetFindingAggregator"),
    (
        "DELETE",
        "/findingAggregator/delete/",
        "DeleteFindingAggregator",
    ),
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
        "GetFindings" => filters::get_findings(sim, caller, req),
        "BatchUpdateFindings" => findings::batch_update(sim, caller, req),
        "CreateMembers" => members::create_members(sim, caller, req),
        "InviteMembers" => members::invite_members(sim, caller, req),
        "ListMembers" => members::list_members(sim, caller, req),
        "GetMembers" => members::get_members(sim, caller, req),
        "DisassociateMembers" => members::disassociate_members(sim, caller, req),
        "DeleteMembers" => members::delete_members(sim, caller, req),
        "ListInvitations" => members::list_invitations(sim, caller, req),
        "GetInvitationsCount" => members::invitations_count(sim, caller),
        "AcceptAdministratorInvitation" => members::accept(sim, caller, req, "AdministratorId"),
        "AcceptInvitation" => members::accept(sim, caller, req, "MasterId"),
        "DeclineInvitations" => members::decline_or_delete_invitations(sim, caller, req, true),
        "DeleteInvitations" => members::decline_or_delete_invitations(sim, caller, req, false),
        "GetAdministratorAccount" => members::get_administrator(sim, caller, "Administrator"),
        "GetMasterAccount" => members::get_administrator(sim, caller, "Master"),
        "DisassociateFromAdministratorAccount" | "DisassociateFromMasterAccount" => {
            members::disassociate_from_administrator(sim, caller)
        }
        "EnableOrganizationAdminAccount" => members::enable_org_admin(sim, caller, req),
        "DisableOrganizationAdminAccount" => members::disable_org_admin(sim, caller, req),
        "ListOrganizationAdminAccounts" => members::list_org_admins(sim, caller, req),
        "DescribeOrganizationConfiguration" => members::describe_org_config(sim, caller),
        "UpdateOrganizationConfiguration" => members::update_org_config(sim, caller, req),
        "CreateFindingAggregator" => aggregation::create(sim, caller, req),
        "UpdateFindingAggregator" => aggregation::update(sim, caller, req),
        "GetFindingAggregator" => aggregation::get(sim, caller, req),
        "ListFindingAggregators" => aggregation::list(sim, caller, req),
        "DeleteFindingAggregator" => aggregation::delete(sim, caller, req),
        other => Err(not_implemented(other)),
    }
}

/// What awsim answers for a Security Hub operation (or variant of one) it does not emulate.
pub(crate) fn not_implemented(what: &str) -> AwsError {
    AwsError::new(
        501,
        "NotImplemented",
        format!("awsim does not emulate Security Hub {what} yet"),
    )
}

/// `InvalidInputException`, the error for a malformed request.
pub(crate) fn invalid_input(msg: impl Into<String>) -> AwsError {
    AwsError::client("InvalidInputException", msg)
}

/// `InvalidAccessException`, what AWS answers when the caller's hub is not enabled.
pub(crate) fn not_subscribed(account: &str) -> AwsError {
    AwsError::new(
        401,
        "InvalidAccessException",
        format!("Account {account} is not subscribed to AWS Security Hub"),
    )
}

/// ASFF timestamp text as Security Hub writes it (`2024-01-02T03:04:05.678Z`).
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
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

/// The finding stores a caller sees and may update, own hub first: its own hub (which must be
/// enabled), its associated members' hubs in the Region, and in a home Region what cross-Region
/// aggregation brings in (see [`aggregation::visible_hubs`]).
pub(crate) fn visible_hubs<'w>(
    world: &'w World,
    caller: &Caller,
) -> Result<Vec<HubRef<'w>>, AwsError> {
    aggregation::visible_hubs(world, caller)
}

/// Where a finding store lives: the account and the Region its findings were imported in, and
/// for findings kept after a Region stopped being linked, the home Region holding the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreLoc {
    pub account: String,
    pub region: String,
    pub replica_in: Option<String>,
}

/// A finding store and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct HubRef<'w> {
    pub loc: StoreLoc,
    pub store: &'w FindingStore,
}

/// The store at a location, if it exists.
pub(crate) fn store_at<'w>(world: &'w World, loc: &StoreLoc) -> Option<&'w FindingStore> {
    match &loc.replica_in {
        None => world
            .region(&loc.account, &loc.region)
            .map(|r| &r.hub.store),
        Some(home) => world
            .region(&loc.account, home)
            .and_then(|r| r.hub.replicas.get(&loc.region)),
    }
}

/// The store at a location, mutably, if it exists.
pub(crate) fn store_at_mut<'w>(
    world: &'w mut World,
    loc: &StoreLoc,
) -> Option<&'w mut FindingStore> {
    match &loc.replica_in {
        None => Some(&mut world.region_mut(&loc.account, &loc.region).hub.store),
        Some(home) => world
            .region_mut(&loc.account, home)
            .hub
            .replicas
            .get_mut(&loc.region),
    }
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
    let query: Vec<(String, String)> = serde_urlencoded::from_str(&req.query).unwrap_or_default();
    if let Some((_, asked)) = query.iter().find(|(k, _)| k == "HubArn")
        && asked != &arn
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
