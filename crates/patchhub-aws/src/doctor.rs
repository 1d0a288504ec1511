//! `patchhub doctor`: checks, without writing anything, that everything `sync` needs is in place
//! for the accounts and Regions it would cover, and says how to fix what is not.
//!
//! Per run: the credentials and who they are (STS `GetCallerIdentity`), and the organization's
//! accounts when asked. Per account: the role. Per account and Region: the Region is enabled,
//! Security Hub is on and who administers it, which managed nodes SSM shows and how many carry
//! patch data, whether a finding aggregator links the Region, and that every read `sync` makes
//! is allowed. `BatchImportFindings` has no dry run (Security Hub API Reference: it has no
//! `DryRun` parameter, unlike EC2's), so it cannot be checked without writing: the report says so.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use patchhub_core::model::ManagedNode;

use crate::clients::AccountSession;
use crate::error::{ApiError, ErrorKind};
use crate::fanout::{AccountSource, FanOut, each_target, reach, with_home_region};
use crate::hub::AggregatorInfo;
use crate::hub::api::Sh;
use crate::regions::regions_for;
use crate::source::ComplianceSource;
use crate::target::Target;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In place.
    Ok,
    /// Worth knowing, but `sync` works.
    Warn,
    /// `sync` fails here until it is fixed.
    Fail,
    /// Not checked (something it depends on failed, or it does not apply).
    Skip,
}

impl Status {
    /// ✓, !, ✗ or –.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warn => "!",
            Status::Fail => "✗",
            Status::Skip => "–",
        }
    }
}

/// What is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// Credentials and caller identity.
    Credentials,
    /// The organization's accounts (with `--organization`).
    Organization,
    /// The account can be entered (through the role).
    Role,
    /// The account's Regions (with `--regions all-enabled`).
    Regions,
    /// The Region is enabled for the account.
    Region,
    /// Security Hub is enabled.
    SecurityHub,
    /// Who administers this account's Security Hub.
    Administrator,
    /// Managed nodes SSM shows, and how many have patch data.
    Nodes,
    /// Whether a finding aggregator links the Region.
    Aggregation,
    /// The reads `sync` makes are allowed.
    Permissions,
}

impl Item {
    /// Every per account-and-Region item, in table order.
    pub const PER_TARGET: [Item; 6] = [
        Item::Region,
        Item::SecurityHub,
        Item::Administrator,
        Item::Nodes,
        Item::Aggregation,
        Item::Permissions,
    ];

    /// Its name in the table.
    pub fn label(self) -> &'static str {
        match self {
            Item::Credentials => "credentials",
            Item::Organization => "organization",
            Item::Role => "role",
            Item::Regions => "regions",
            Item::Region => "region",
            Item::SecurityHub => "security hub",
            Item::Administrator => "administrator",
            Item::Nodes => "managed nodes",
            Item::Aggregation => "aggregation",
            Item::Permissions => "permissions",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Account id (empty for the caller-wide checks).
    pub account: String,
    /// Region (empty for account-wide checks).
    pub region: String,
    /// What was checked.
    pub item: Item,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it (for a failure or a warning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything `doctor` found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DoctorReport {
    /// The caller's account, when the credentials work.
    pub caller: Option<String>,
    /// Every check, caller-wide first, then by account, Region and item.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// Whether everything `sync` needs is in place (no check failed).
    pub fn is_ok(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// The checks that came out `status`.
    pub fn with(&self, status: Status) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.status == status)
    }

    fn push(&mut self, account: &str, region: &str, item: Item, found: Found) {
        self.checks.push(found.at(account, region, item));
    }
}

/// A check's outcome before it is placed.
#[derive(Debug, Clone)]
struct Found {
    status: Status,
    detail: String,
    fix: Option<String>,
}

impl Found {
    fn ok(detail: impl Into<String>) -> Self {
        Found {
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn warn(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Found {
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Found {
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    fn skip(detail: impl Into<String>) -> Self {
        Found {
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A failed call: what AWS said, and the fix of its kind (or the one given).
    fn failed(e: &ApiError) -> Self {
        let detail = match &e.action {
            Some(action) => format!("{action}: {}", e.what()),
            None => format!("{}: {}", e.api, e.what()),
        };
        let fix = e
            .fix
            .clone()
            .or_else(|| crate::error::hint(e.kind).map(str::to_string))
            .unwrap_or_else(|| {
                "run `patchhub doctor` again; if it persists, see the detail".into()
            });
        Found::fail(detail, fix)
    }

    fn at(self, account: &str, region: &str, item: Item) -> Check {
        Check {
            account: account.to_string(),
            region: region.to_string(),
            item,
            status: self.status,
            detail: self.detail,
            fix: self.fix,
        }
    }
}

/// Runs every check for the accounts and Regions of `fan`, reading only.
pub async fn doctor(base: &SdkConfig, fan: &FanOut) -> DoctorReport {
    let fan = &with_home_region(base, fan);
    let mut report = DoctorReport::default();
    let reached = match reach(base, fan).await {
        Ok(r) => r,
        Err(e) => {
            // Either the caller or the organization could not be read.
            let item = if e.api.starts_with("organizations:") {
                report.push("", "", Item::Credentials, Found::ok("credentials work"));
                Item::Organization
            } else {
                Item::Credentials
            };
            report.push("", "", item, Found::failed(&e));
            return report;
        }
    };
    let me = reached.me.clone();
    report.caller = Some(me.account_id.clone());
    report.push(
        "",
        "",
        Item::Credentials,
        Found::ok(format!("account {} ({})", me.account_id, me.partition)),
    );
    if matches!(fan.accounts, AccountSource::Organization { .. }) {
        let skipped: Vec<String> = reached
            .skipped
            .iter()
            .map(|s| format!("{} {}", s.account, s.state))
            .collect();
        let mut detail = format!("{} ACTIVE account(s)", reached.accounts.len());
        if !skipped.is_empty() {
            detail.push_str(&format!(", left alone: {}", skipped.join(", ")));
        }
        report.push("", "", Item::Organization, Found::ok(detail));
    }
    let mut targets = Vec::new();
    for (account, entered) in reached.accounts {
        let session = match entered {
            Ok(s) => s,
            Err(e) => {
                report.push(&account, "", Item::Role, Found::failed(&e));
                continue;
            }
        };
        let how = match (&fan.role.role_name, &fan.accounts) {
            (Some(r), AccountSource::List(_) | AccountSource::Organization { .. }) => {
                format!("entered through {r}")
            }
            _ => "the caller's own credentials".to_string(),
        };
        report.push(&account, "", Item::Role, Found::ok(how));
        match regions_for(&session, &fan.regions).await {
            Ok(regions) => targets.extend(
                regions
                    .iter()
                    .map(|r| Target::new(&session, r, fan.quotas.clone())),
            ),
            Err(e) => report.push(&account, "", Item::Regions, Found::failed(&e)),
        }
    }
    let sessions: BTreeMap<String, AccountSession> = targets
        .iter()
        .map(|t| (t.account().to_string(), t.session().clone()))
        .collect();
    let seen = each_target(
        targets,
        fan.concurrency,
        fan.per_account_concurrency,
        |t| async move { check_target(&t).await },
    )
    .await;
    let aggregators = aggregators(&seen, &sessions).await;
    for s in seen {
        let aggregation = aggregation(&s, &aggregators);
        for (item, found) in s.found {
            report.push(&s.account, &s.region, item, found);
        }
        report.push(&s.account, &s.region, Item::Aggregation, aggregation);
    }
    report.checks.sort_by(|a, b| {
        (a.account.as_str(), a.region.as_str(), a.item).cmp(&(
            b.account.as_str(),
            b.region.as_str(),
            b.item,
        ))
    });
    report
}

/// One account and Region as checked, before its aggregation is known.
#[derive(Debug)]
struct Seen {
    account: String,
    region: String,
    found: Vec<(Item, Found)>,
    /// Security Hub is on here.
    hub_on: bool,
    /// The administrator whose aggregator would gather this Region (the account itself when it
    /// administers members), when there is one.
    admin: Option<String>,
}

/// The checks of one account and Region.
async fn check_target(t: &Target) -> Seen {
    let mut seen = Seen {
        account: t.account().to_string(),
        region: t.region().to_string(),
        found: Vec::new(),
        hub_on: false,
        admin: None,
    };
    let sh = Sh::new(t.session(), t.region());
    let hub = sh.hub_enabled().await;
    if let Err(e) = &hub
        && e.kind == ErrorKind::RegionDisabled
    {
        seen.found.push((Item::Region, Found::failed(e)));
        for item in [
            Item::SecurityHub,
            Item::Administrator,
            Item::Nodes,
            Item::Permissions,
        ] {
            seen.found
                .push((item, Found::skip("the Region is not enabled")));
        }
        return seen;
    }
    seen.found.push((Item::Region, Found::ok("enabled")));
    match hub {
        Ok(true) => {
            seen.hub_on = true;
            seen.found.push((Item::SecurityHub, Found::ok("enabled")));
            let (found, admin) = administrator(&sh).await;
            seen.found.push((Item::Administrator, found));
            seen.admin = admin;
        }
        Ok(false) => {
            seen.found.push((
                Item::SecurityHub,
                Found::fail(
                    "not enabled",
                    format!(
                        "enable it: `patchhub hub enable --regions {}` (or aws securityhub enable-security-hub --region {})",
                        t.region(),
                        t.region()
                    ),
                ),
            ));
            seen.found.push((
                Item::Administrator,
                Found::skip("Security Hub is not enabled"),
            ));
        }
        Err(e) => {
            // DescribeHub is not one of sync's calls: a refusal only leaves the state unknown.
            seen.found.push((
                Item::SecurityHub,
                Found::warn(
                    format!("cannot tell: {}", Found::failed(&e).detail),
                    "allow securityhub:DescribeHub to see this (sync itself does not need it)",
                ),
            ));
            seen.found.push((
                Item::Administrator,
                Found::skip("Security Hub state unknown"),
            ));
        }
    }
    let (nodes, permissions) = reads(t, seen.hub_on).await;
    seen.found.push((Item::Nodes, nodes));
    seen.found.push((Item::Permissions, permissions));
    seen
}

/// Who administers this account's Security Hub here, and the account whose aggregator counts.
async fn administrator(sh: &Sh) -> (Found, Option<String>) {
    match sh.administrator().await {
        Ok(Some((admin, status))) if crate::hub::api::associated(&status) => {
            (Found::ok(format!("member of {admin}")), Some(admin))
        }
        Ok(Some((admin, status))) => (
            Found::warn(
                format!("invited by {admin} ({status}), not a member yet"),
                "accept it: `patchhub hub enable` (findings stay in this account until then)",
            ),
            None,
        ),
        Ok(None) => match sh.members(true).await {
            Ok(m) if !m.is_empty() => (
                Found::ok(format!("administrator of {} member(s)", m.len())),
                Some(sh.account.clone()),
            ),
            Ok(_) => (
                Found::ok("none: standalone (findings stay in this account)"),
                Some(sh.account.clone()),
            ),
            Err(e) => (
                Found::ok(format!("none ({})", Found::failed(&e).detail)),
                None,
            ),
        },
        Err(e) => (
            Found::warn(
                format!("cannot tell: {}", Found::failed(&e).detail),
                "allow securityhub:GetAdministratorAccount to see this (sync itself does not need it)",
            ),
            None,
        ),
    }
}

/// The reads `sync` makes, tried once each: the SSM listing (which gives the node counts), one
/// node's patches and compliance items, and one page of `GetFindings`.
async fn reads(t: &Target, hub_on: bool) -> (Found, Found) {
    let ssm = t.ssm();
    let nodes: Vec<ManagedNode> = match ssm.list_all_nodes(&[]).await {
        Ok(n) => n,
        Err(e) => {
            let found = Found::failed(&e);
            return (found.clone(), found);
        }
    };
    let with_data = nodes.iter().filter(|n| n.last_operation.is_some()).count();
    let node_found = if !nodes.is_empty() && with_data == 0 {
        Found::warn(
            format!("{} node(s), none with patch data", nodes.len()),
            "run AWS-RunPatchBaseline (Operation=Scan) on them, e.g. from a maintenance window",
        )
    } else {
        Found::ok(format!(
            "{} node(s), {with_data} with patch data",
            nodes.len()
        ))
    };
    let mut read = vec![
        "DescribeInstanceProperties",
        "ListResourceComplianceSummaries",
        "DescribeInstancePatchStates",
    ];
    let mut unchecked = Vec::new();
    match nodes.iter().find(|n| n.last_operation.is_some()) {
        // The single-node listing (a maintenance-window task's), then the node's patches.
        Some(node) => match ssm.list_nodes(Some(&node.instance_id), &[]).await {
            Ok(_) => match ssm.node_patches(&mut node.clone()).await {
                Ok(_) => read.extend([
                    "DescribeInstanceInformation",
                    "DescribeInstancePatches",
                    "ListComplianceItems",
                ]),
                Err(e) => return (node_found, Found::failed(&e)),
            },
            Err(e) => return (node_found, Found::failed(&e)),
        },
        None => unchecked
            .push("DescribeInstancePatches and ListComplianceItems (no node with patch data)"),
    }
    if hub_on {
        let page = t
            .securityhub_client()
            .get_findings()
            .max_results(1)
            .send()
            .await;
        match page {
            Ok(_) => read.push("GetFindings"),
            Err(e) => {
                let e = ApiError::from_sdk(t.account(), t.region(), "GetFindings", &e);
                return (node_found, Found::failed(&e));
            }
        }
    } else {
        unchecked.push("GetFindings (Security Hub is off)");
    }
    unchecked.push("BatchImportFindings (no dry run: it cannot be checked without writing)");
    let detail = format!(
        "allowed: {}; not checked: {}",
        read.join(", "),
        unchecked.join(", ")
    );
    (node_found, Found::ok(detail))
}

/// The finding aggregator of every administrator that was entered, asked once each.
async fn aggregators(
    seen: &[Seen],
    sessions: &BTreeMap<String, AccountSession>,
) -> BTreeMap<String, Result<Option<AggregatorInfo>, ApiError>> {
    let mut out = BTreeMap::new();
    let admins: BTreeSet<&String> = seen.iter().filter_map(|s| s.admin.as_ref()).collect();
    for admin in admins {
        let Some(session) = sessions.get(admin) else {
            continue;
        };
        // ListFindingAggregators answers from any Region where the hub is on.
        let Some(region) = seen
            .iter()
            .find(|s| &s.account == admin && s.hub_on)
            .map(|s| s.region.clone())
        else {
            continue;
        };
        out.insert(admin.clone(), Sh::new(session, &region).aggregator().await);
    }
    out
}

/// Whether this account and Region's findings reach the administrator's aggregation Region.
fn aggregation(
    s: &Seen,
    aggregators: &BTreeMap<String, Result<Option<AggregatorInfo>, ApiError>>,
) -> Found {
    if !s.hub_on {
        return Found::skip("Security Hub is not enabled");
    }
    let Some(admin) = &s.admin else {
        return Found::skip("no administrator");
    };
    match aggregators.get(admin) {
        None => Found::skip(format!("administrator {admin} not checked")),
        Some(Err(e)) => Found::warn(
            format!("cannot tell: {}", Found::failed(e).detail),
            "allow securityhub:ListFindingAggregators and GetFindingAggregator to see this",
        ),
        Some(Ok(None)) if admin == &s.account => Found::ok("no finding aggregator"),
        Some(Ok(None)) => Found::warn(
            format!("administrator {admin} has no finding aggregator"),
            "link the Regions: `patchhub hub enable --home-region REGION` (findings stay per Region until then)",
        ),
        Some(Ok(Some(a))) if a.home_region == s.region => Found::ok("aggregation Region"),
        Some(Ok(Some(a))) if a.covers(&s.region) => {
            Found::ok(format!("linked to {}", a.home_region))
        }
        Some(Ok(Some(a))) => Found::warn(
            format!("not linked to {}", a.home_region),
            format!(
                "add {} to the aggregator: `patchhub hub enable` with it in --regions",
                s.region
            ),
        ),
    }
}
