//! Security Hub CSPM (restJson1): the hub of each account and Region, ASFF findings imported by
//! `BatchImportFindings`, read by `GetFindings` and triaged by `BatchUpdateFindings`, with AWS's
//! limits, validation and update rules (see `shared/aws-facts.md` and the notes in each module).
//!
//! Layout: [`validate`] checks ASFF and request shapes, [`findings`] stores findings with their
//! indexes and applies the create/update rules, [`filters`] parses and evaluates
//! `AwsSecurityFindingFilters`, sorts and pages.

mod filters;
mod findings;
mod validate;

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

/// One account's hub in one Region: whether Security Hub is enabled there and its findings.
///
/// Findings outlive `DisableSecurityHub` here (AWS deletes them only 90 days later); they are
/// unreachable while the hub is disabled and visible again after re-enabling.
#[derive(Debug, Default)]
pub struct Hub {
    settings: Option<HubSettings>,
    store: FindingStore,
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
        other => Err(AwsError::new(
            501,
            "NotImplemented",
            format!("awsim does not emulate Security Hub operation {other} yet"),
        )),
    }
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

/// The hubs whose findings a caller sees and may update, own hub first. Today that is only the
/// caller's own hub (which must be enabled); an administrator's view over members and linked
/// Regions extends this list, and everything downstream already works on a list of hubs.
pub(crate) fn visible_hubs<'w>(
    world: &'w World,
    caller: &Caller,
) -> Result<Vec<HubRef<'w>>, AwsError> {
    let own = world
        .region(&caller.account, &caller.region)
        .map(|r| &r.hub)
        .filter(|h| h.is_enabled())
        .ok_or_else(|| not_subscribed(&caller.account))?;
    Ok(vec![HubRef {
        account: caller.account.clone(),
        region: caller.region.clone(),
        hub: own,
    }])
}

/// A hub together with the account and Region it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct HubRef<'w> {
    pub account: String,
    pub region: String,
    pub hub: &'w Hub,
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
    // Hook for the administrator issue: "You can't disable Security Hub in an account that is
    // currently the Security Hub administrator" (DisableSecurityHub docs) -- refuse it here once
    // administrators and members exist.
    world
        .region_mut(&caller.account, &caller.region)
        .hub
        .settings = None;
    Ok(json!({}))
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
