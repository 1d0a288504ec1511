//! The fleet description: an organization, its accounts, and each account's managed nodes with
//! their patches. One fleet backs every API awsim serves (SSM compliance views, Organizations,
//! which roles `AssumeRole` accepts), so the views never disagree.
//!
//! JSON format (all times RFC 3339; optional fields may be left out):
//!
//! ```json
//! {
//!   "organization": {
//!     "id": "o-exampleorgid", "management_account": "111111111111", "root_id": "r-abcd",
//!     "organizational_units": [{"id": "ou-abcd-11111111", "name": "Prod", "parent": "r-abcd"}]
//!   },
//!   "accounts": [{
//!     "id": "111111111111", "name": "prod", "email": "prod@example.com", "status": "ACTIVE",
//!     "parent": "ou-abcd-11111111",
//!     "roles": [{"name": "PatchhubRole", "external_id": null,
//!                "trusted_accounts": ["111111111111"], "max_session_seconds": 3600}],
//!     "regions": ["us-east-1", "eu-west-1"], "disabled_regions": ["ap-east-1"],
//!     "instances": [{
//!       "id": "i-0123456789abcdef0", "region": "us-east-1",
//!       "platform_type": "Windows", "platform_name": "Microsoft Windows Server 2022 Datacenter",
//!       "platform_version": "10.0.20348", "tags": {"Name": "web-1", "Patch": "true"},
//!       "ping_status": "Online", "patch_group": "web", "baseline_id": "pb-0123456789abcdef0",
//!       "operation": "Scan", "reboot_option": "RebootIfNeeded",
//!       "operation_start_time": "2026-11-28T02:00:00Z", "operation_end_time": "2026-11-28T02:03:10Z",
//!       "execution_id": "5c9b2f1e-...", "available_security_updates_compliant": false,
//!       "patches": [{
//!         "id": "KB5031364", "title": "2023-10 Cumulative Update ...", "classification": "SecurityUpdates",
//!         "severity": "Critical", "compliance_severity": "CRITICAL", "state": "MISSING",
//!         "cve_ids": ["CVE-2023-36563"], "installed_time": null
//!       }]
//!     }]
//!   }]
//! }
//! ```
//!
//! `patches` holds the node's **true** current patch states. SSM reports what the last
//! `AWS-RunPatchBaseline` operation saw (a snapshot taken at load, at every Scan, and at every
//! Install), so a state changed behind SSM's back shows only after the next scan — as in AWS.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A whole emulated estate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fleet {
    /// The AWS Organization, if the accounts belong to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrgSpec>,
    /// Accounts, each with its nodes.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
}

/// An AWS Organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSpec {
    /// `o-` id.
    pub id: String,
    /// The management account id.
    pub management_account: String,
    /// The root (`r-`) id.
    #[serde(default = "default_root")]
    pub root_id: String,
    /// OUs; each names its parent (the root or another OU).
    #[serde(default)]
    pub organizational_units: Vec<OuSpec>,
}

fn default_root() -> String {
    "r-root".to_string()
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OuSpec {
    /// `ou-` id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Root or OU id.
    pub parent: String,
}

/// An IAM role that `AssumeRole` may assume in an account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoleSpec {
    /// Role name (the part after `role/`).
    pub name: String,
    /// If set, `AssumeRole` must pass this `ExternalId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The accounts the role's trust policy names as principals. Empty: the organization's
    /// management account, or awsim's default account in a fleet without an organization
    /// (see `services::sts::trust`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_accounts: Vec<String>,
    /// The role's maximum session duration in seconds (IAM's `MaxSessionDuration`, 3600 to
    /// 43200). `None`: IAM's default, one hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_seconds: Option<u32>,
}

impl RoleSpec {
    /// A role named `name` with IAM's defaults: no external id, trusted by the default
    /// principal, one hour of maximum session duration.
    pub fn named(name: &str) -> Self {
        RoleSpec {
            name: name.to_string(),
            ..RoleSpec::default()
        }
    }
}

/// One AWS account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountSpec {
    /// 12-digit id.
    pub id: String,
    /// Account name.
    #[serde(default)]
    pub name: String,
    /// Root email.
    #[serde(default)]
    pub email: String,
    /// Lifecycle state, served as Organizations' `Account.State`: `ACTIVE`, `SUSPENDED`,
    /// `PENDING_CLOSURE` or `CLOSED`.
    #[serde(default = "default_status", alias = "state")]
    pub status: String,
    /// Parent (root or OU) in the organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Roles other accounts may assume here.
    #[serde(default)]
    pub roles: Vec<RoleSpec>,
    /// Regions enabled for the account (the ones it has data in, at least).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Opt-in Regions not enabled: every call signed for them is refused as in AWS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_regions: Vec<String>,
    /// Managed nodes.
    #[serde(default)]
    pub instances: Vec<InstanceSpec>,
}

fn default_status() -> String {
    "ACTIVE".to_string()
}

/// One managed node (EC2 `i-` or hybrid `mi-`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// `i-…` or `mi-…`.
    pub id: String,
    /// Region it lives in.
    pub region: String,
    /// `Windows`, `Linux` or `MacOS`.
    pub platform_type: String,
    /// e.g. `Amazon Linux`, `Ubuntu`, `Microsoft Windows Server 2022 Datacenter`.
    #[serde(default)]
    pub platform_name: String,
    /// OS version.
    #[serde(default)]
    pub platform_version: String,
    /// Tags (`Name` gives the node's name).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `Online`, `ConnectionLost` or `Inactive`; or `Stopped` ([`STOPPED`]) for an EC2 instance
    /// that is stopped: absent from `DescribeInstanceInformation` while its compliance data and
    /// patch states stay readable.
    #[serde(default = "default_ping")]
    pub ping_status: String,
    /// Patch group tag value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_group: Option<String>,
    /// Patch baseline in force.
    pub baseline_id: String,
    /// Last patch operation: `Scan` or `Install`. `None`: never scanned (no compliance data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// `RebootIfNeeded` or `NoReboot`.
    #[serde(default = "default_reboot")]
    pub reboot_option: String,
    /// Start of the last patch operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_start_time: Option<DateTime<Utc>>,
    /// End of the last patch operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_end_time: Option<DateTime<Utc>>,
    /// Execution (command) id of the last operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Baseline setting for Windows `AVAILABLE_SECURITY_UPDATE`: `true` = compliant.
    #[serde(default = "default_true")]
    pub available_security_updates_compliant: bool,
    /// The node's true patch states.
    #[serde(default)]
    pub patches: Vec<PatchSpec>,
}

fn default_ping() -> String {
    "Online".to_string()
}
fn default_reboot() -> String {
    "RebootIfNeeded".to_string()
}
fn default_true() -> bool {
    true
}

/// One patch on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchSpec {
    /// KB id for Windows (`KB5031364`), package name for Linux (`openssl.x86_64`).
    pub id: String,
    /// Title.
    pub title: String,
    /// e.g. `SecurityUpdates`, `CriticalUpdates`, `Security`, `Bugfix`.
    #[serde(default)]
    pub classification: String,
    /// Vendor severity (`Critical`, `Important`, `Moderate`, `Low`, `Medium`, `High`...).
    #[serde(default)]
    pub severity: String,
    /// Compliance severity: `CRITICAL|HIGH|MEDIUM|LOW|INFORMATIONAL|UNSPECIFIED`.
    #[serde(default = "default_compliance_severity")]
    pub compliance_severity: String,
    /// `INSTALLED, INSTALLED_OTHER, INSTALLED_PENDING_REBOOT, INSTALLED_REJECTED, MISSING,
    /// NOT_APPLICABLE, FAILED, AVAILABLE_SECURITY_UPDATE`.
    pub state: String,
    /// CVE ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cve_ids: Vec<String>,
    /// When it was installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_time: Option<DateTime<Utc>>,
}

fn default_compliance_severity() -> String {
    "UNSPECIFIED".to_string()
}

/// A fleet that cannot be used, with what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The file could not be read.
    #[error("cannot read fleet file {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid fleet JSON.
    #[error("fleet JSON is invalid: {0} (see the format in awsim's `fleet` module docs)")]
    Json(#[from] serde_json::Error),
    /// Semantically wrong.
    #[error("fleet is invalid: {0}")]
    Invalid(String),
}

/// The `ping_status` of a node whose EC2 instance is stopped. AWS keeps a stopped node's
/// compliance data but leaves it out of `DescribeInstanceInformation`; a terminated node loses
/// both (in awsim: a fleet reloaded without it).
pub const STOPPED: &str = "Stopped";

/// Organizations' `Account.State` values.
pub const ACCOUNT_STATES: &[&str] = &["ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED"];

/// Patch states that count as compliant.
pub const COMPLIANT_STATES: &[&str] = &["INSTALLED", "INSTALLED_OTHER"];
/// All valid patch states.
pub const PATCH_STATES: &[&str] = &[
    "INSTALLED",
    "INSTALLED_OTHER",
    "INSTALLED_PENDING_REBOOT",
    "INSTALLED_REJECTED",
    "MISSING",
    "NOT_APPLICABLE",
    "FAILED",
    "AVAILABLE_SECURITY_UPDATE",
];

impl Fleet {
    /// Reads and validates a fleet file.
    pub fn from_file(path: &Path) -> Result<Self, FleetError> {
        let text = std::fs::read_to_string(path).map_err(|source| FleetError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Parses and validates fleet JSON.
    pub fn from_json(text: &str) -> Result<Self, FleetError> {
        let fleet: Fleet = serde_json::from_str(text)?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// Checks ids and enumerations so that a bad fleet fails at load, not mid-test.
    pub fn validate(&self) -> Result<(), FleetError> {
        let bad = |m: String| Err(FleetError::Invalid(m));
        let mut seen_accounts = std::collections::HashSet::new();
        for a in &self.accounts {
            if a.id.len() != 12 || !a.id.bytes().all(|b| b.is_ascii_digit()) {
                return bad(format!("account id `{}` is not 12 digits", a.id));
            }
            if !ACCOUNT_STATES.contains(&a.status.as_str()) {
                return bad(format!(
                    "account `{}`: status must be one of {}",
                    a.id,
                    ACCOUNT_STATES.join(", ")
                ));
            }
            if !seen_accounts.insert(&a.id) {
                return bad(format!("account `{}` appears twice", a.id));
            }
            for r in &a.roles {
                if let Some(max) = r.max_session_seconds
                    && !(3600..=43_200).contains(&max)
                {
                    return bad(format!(
                        "account `{}` role `{}`: max_session_seconds must be 3600 to 43200 (IAM's MaxSessionDuration)",
                        a.id, r.name
                    ));
                }
            }
            let mut seen = std::collections::HashSet::new();
            for i in &a.instances {
                if !valid_instance_id(&i.id) {
                    return bad(format!(
                        "instance id `{}` in account {} is not i-… or mi-…",
                        i.id, a.id
                    ));
                }
                if !seen.insert((&i.region, &i.id)) {
                    return bad(format!(
                        "instance `{}` appears twice in account {}",
                        i.id, a.id
                    ));
                }
                if !crate::identity::is_region_name(&i.region) {
                    return bad(format!(
                        "instance `{}` has invalid Region `{}`",
                        i.id, i.region
                    ));
                }
                if !["Windows", "Linux", "MacOS"].contains(&i.platform_type.as_str()) {
                    return bad(format!(
                        "instance `{}`: platform_type must be Windows, Linux or MacOS",
                        i.id
                    ));
                }
                if !["Online", "ConnectionLost", "Inactive", STOPPED]
                    .contains(&i.ping_status.as_str())
                {
                    return bad(format!(
                        "instance `{}`: ping_status must be Online, ConnectionLost, Inactive or Stopped",
                        i.id
                    ));
                }
                for p in &i.patches {
                    if !PATCH_STATES.contains(&p.state.as_str()) {
                        return bad(format!(
                            "instance `{}` patch `{}`: unknown state `{}`",
                            i.id, p.id, p.state
                        ));
                    }
                }
            }
        }
        if let Some(org) = &self.organization
            && !seen_accounts.contains(&org.management_account)
        {
            return bad(format!(
                "management account {} is not among the accounts",
                org.management_account
            ));
        }
        Ok(())
    }
}

/// `^i-(\w{8}|\w{17})$` or `^mi-\w{17}$`, as `DescribeInstancePatches` requires.
pub fn valid_instance_id(id: &str) -> bool {
    let word = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if let Some(rest) = id.strip_prefix("mi-") {
        rest.len() == 17 && word(rest)
    } else if let Some(rest) = id.strip_prefix("i-") {
        (rest.len() == 8 || rest.len() == 17) && word(rest)
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids() {
        // EC2 ids have 8 or 17 hex digits; managed (hybrid) node ids only 17.
        let cases = [
            ("i-0123456789abcdef0", true),
            ("i-01234567", true),
            ("mi-0123456789abcdef0", true),
            ("mi-01234567", false),
            ("i-0123", false),
            ("x-0123456789abcdef0", false),
        ];
        for (id, valid) in cases {
            assert_eq!(valid_instance_id(id), valid, "{id}");
        }
    }

    #[test]
    fn rejects_bad_fleets() {
        assert!(Fleet::from_json(r#"{"accounts":[{"id":"12"}]}"#).is_err());
        let dup = r#"{"accounts":[{"id":"111111111111"},{"id":"111111111111"}]}"#;
        assert!(Fleet::from_json(dup).is_err());
        let ok = r#"{"accounts":[{"id":"111111111111","instances":[{"id":"i-01234567","region":"us-east-1","platform_type":"Linux","baseline_id":"pb-1","patches":[{"id":"bash","title":"bash","state":"MISSING"}]}]}]}"#;
        let f = Fleet::from_json(ok).unwrap();
        assert_eq!(
            f.accounts[0].instances[0].patches[0].compliance_severity,
            "UNSPECIFIED"
        );
        let bad_state = ok.replace("MISSING", "GONE");
        assert!(Fleet::from_json(&bad_state).is_err());
    }
}
