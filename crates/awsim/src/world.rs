//! All emulated state: accounts and the organization from the fleet, issued sessions, and per
//! account and Region the SSM and Security Hub state. Isolation is structural: a request only
//! ever reaches the [`RegionState`] of its own (account, Region) unless an API crosses accounts on
//! purpose (Security Hub administrators reading members' findings).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::fleet::{AccountSpec, Fleet, OrgSpec};
use crate::identity::{Caller, CredentialScope, Session, partition_of};
use crate::protocol::AwsError;
use crate::services::{securityhub, ssm};

/// What one account owns in one Region.
#[derive(Debug, Default)]
pub struct RegionState {
    /// Managed nodes, their patches and compliance.
    pub ssm: ssm::SsmRegion,
    /// The Security Hub of this account and Region.
    pub hub: securityhub::Hub,
}

/// The whole emulated estate.
#[derive(Debug, Default)]
pub struct World {
    /// The organization, if any.
    pub organization: Option<OrgSpec>,
    /// Accounts by id (their `instances` are moved into [`RegionState`]s at load).
    pub accounts: BTreeMap<String, AccountSpec>,
    /// Per (account, Region) state, created on first use.
    pub regions: BTreeMap<(String, String), RegionState>,
    /// Temporary credentials issued by `AssumeRole`, by access key id.
    pub sessions: HashMap<String, Session>,
}

impl World {
    /// Replaces the fleet: organization, accounts and managed nodes. Security Hub state is not
    /// part of a fleet and is kept (reloading a fleet without a node is how a test terminates
    /// it), as are sessions: credentials already handed out stay valid, as they would in AWS.
    pub fn load(&mut self, fleet: Fleet, now: DateTime<Utc>) {
        self.organization = fleet.organization;
        self.accounts.clear();
        let hubs: Vec<_> = std::mem::take(&mut self.regions)
            .into_iter()
            .map(|(key, state)| (key, state.hub))
            .collect();
        for (key, hub) in hubs {
            self.regions.entry(key).or_default().hub = hub;
        }
        for mut account in fleet.accounts {
            for instance in std::mem::take(&mut account.instances) {
                let key = (account.id.clone(), instance.region.clone());
                self.regions
                    .entry(key)
                    .or_default()
                    .ssm
                    .add_instance(instance, now);
            }
            self.accounts.insert(account.id.clone(), account);
        }
    }

    /// The fleet as it stands now (true patch states and last operations).
    pub fn export(&self) -> Fleet {
        let mut accounts: Vec<AccountSpec> = self.accounts.values().cloned().collect();
        for a in &mut accounts {
            for ((acct, _), state) in self.regions.range((a.id.clone(), String::new())..) {
                if acct != &a.id {
                    break;
                }
                a.instances.extend(state.ssm.export());
            }
        }
        Fleet {
            organization: self.organization.clone(),
            accounts,
        }
    }

    /// State of one account and Region, created on first use.
    pub fn region_mut(&mut self, account: &str, region: &str) -> &mut RegionState {
        self.regions
            .entry((account.to_string(), region.to_string()))
            .or_default()
    }

    /// State of one account and Region, if anything was ever put there.
    pub fn region(&self, account: &str, region: &str) -> Option<&RegionState> {
        self.regions.get(&(account.to_string(), region.to_string()))
    }

    /// Whether the account may use the Region (opt-in Regions listed as disabled may not).
    pub fn region_enabled(&self, account: &str, region: &str) -> bool {
        self.accounts
            .get(account)
            .is_none_or(|a| !a.disabled_regions.iter().any(|r| r == region))
    }

    /// Resolves the credential scope of a request to a caller, or the error AWS gives for an
    /// unknown or expired token or a Region not enabled for the account.
    pub fn resolve(
        &self,
        scope: &CredentialScope,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Result<Caller, AwsError> {
        let invalid_token = || match scope.service.as_str() {
            "sts" => AwsError::new(
                403,
                "InvalidClientTokenId",
                "The security token included in the request is invalid.",
            ),
            // Amazon S3 API Reference, "List of error codes".
            "s3" => AwsError::new(
                403,
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
            _ => AwsError::client(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
        };
        let partition = partition_of(&scope.region);
        let (account, arn, user_id) = if let Some(s) = self.sessions.get(&scope.access_key) {
            if s.expires <= now {
                return Err(expired_token(&scope.service));
            }
            (s.account.clone(), s.arn.clone(), s.user_id.clone())
        } else if scope.access_key.starts_with("ASIA") {
            // Looks temporary but was never issued here.
            return Err(invalid_token());
        } else {
            let account = config
                .static_keys
                .get(&scope.access_key)
                .cloned()
                .unwrap_or_else(|| config.default_account.clone());
            let arn = format!("arn:{partition}:iam::{account}:user/awsim");
            (
                account,
                arn,
                format!(
                    "AIDA{}",
                    &scope.access_key.chars().take(16).collect::<String>()
                ),
            )
        };
        if !self.region_enabled(&account, &scope.region) {
            return Err(invalid_token());
        }
        Ok(Caller {
            account,
            region: scope.region.clone(),
            service: scope.service.clone(),
            arn,
            user_id,
            access_key: scope.access_key.clone(),
        })
    }
}

/// The answer to a request signed with an expired session. The JSON services answer
/// `ExpiredTokenException` with HTTP 400 (observed on SSM, DynamoDB and other JSON services:
/// salesforce/multicloudj pull request #608; the STS model codes the exception as 400, see
/// aws/aws-sdk-java-v2 issue #1649); STS's query protocol answers `ExpiredToken` with 403 (same
/// issue).
pub(crate) fn expired_token(service: &str) -> AwsError {
    let message = "The security token included in the request is expired";
    match service {
        "sts" => AwsError::new(403, "ExpiredToken", message),
        // Amazon S3 API Reference, "List of error codes" (ExpiredToken, 400).
        "s3" => AwsError::client("ExpiredToken", "The provided token has expired."),
        _ => AwsError::new(400, "ExpiredTokenException", message),
    }
}
