//! Security Hub of one account in one Region ([`Sh`]): the calls `hub` makes, each mapped to an
//! [`ApiError`] that names the account, Region and call.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_securityhub::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_securityhub::types::{AccountDetails, AutoEnableStandards};
use patchhub_core::finding;

use super::log::{Blocked, Log};
use super::{AggregatorInfo, Step};
use crate::clients::AccountSession;
use crate::error::{ApiError, ErrorKind};
use crate::findings_query::{FindingFilter, Match, get_findings};
use crate::paging::all_pages;
use crate::quota::{Limiter, QuotaSettings};
use crate::targets::AccountTarget;

/// A member record's status as `ListMembers` spells it (`Created`, `Invited`, `Enabled`, ...).
pub(crate) type Records = BTreeMap<String, String>;

pub(crate) fn associated(status: &str) -> bool {
    status == "Enabled"
}

/// Security Hub of one account in one Region, with the calls `hub` makes.
#[derive(Clone)]
pub(crate) struct Sh {
    client: aws_sdk_securityhub::Client,
    /// Paces the one quota-bound read `hub` makes (`GetFindings`, for `status`).
    limiter: Limiter,
    pub(crate) account: String,
    pub(super) region: String,
}

impl Sh {
    pub(crate) fn new(session: &AccountSession, region: &str) -> Self {
        Sh {
            client: aws_sdk_securityhub::Client::new(&session.in_region(region)),
            limiter: Limiter::new(QuotaSettings::default()),
            account: session.account_id.clone(),
            region: region.to_string(),
        }
    }

    fn err<E, R>(&self, api: &str, e: &SdkError<E, R>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + 'static,
    {
        ApiError::from_sdk(&self.account, &self.region, api, e)
    }

    /// `DescribeHub`: whether Security Hub is enabled.
    pub(crate) async fn hub_enabled(&self) -> Result<bool, ApiError> {
        match self.client.describe_hub().send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = self.err("DescribeHub", &e);
                if e.kind == ErrorKind::HubNotEnabled {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// `EnableSecurityHub`; `false` when it was enabled meanwhile.
    async fn enable_hub(&self, default_standards: bool) -> Result<bool, ApiError> {
        match self
            .client
            .enable_security_hub()
            .enable_default_standards(default_standards)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = self.err("EnableSecurityHub", &e);
                if e.code.as_deref() == Some("ResourceConflictException") {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    pub(super) async fn disable_hub(&self) -> Result<(), ApiError> {
        self.client
            .disable_security_hub()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisableSecurityHub", &e))
    }

    /// `GetAdministratorAccount`: `(administrator, member status)`.
    pub(crate) async fn administrator(&self) -> Result<Option<(String, String)>, ApiError> {
        let out = self
            .client
            .get_administrator_account()
            .send()
            .await
            .map_err(|e| self.err("GetAdministratorAccount", &e))?;
        Ok(out.administrator().and_then(|i| {
            i.account_id().map(|a| {
                (
                    a.to_string(),
                    i.member_status().unwrap_or("Enabled").to_string(),
                )
            })
        }))
    }

    /// `ListInvitations`: `(administrator, invitation id, status)` of every invitation held.
    pub(super) async fn invitations(&self) -> Result<Vec<(String, String, String)>, ApiError> {
        all_pages(None, |token| async move {
            let page = self
                .client
                .list_invitations()
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("ListInvitations", &e))?;
            let items = page
                .invitations()
                .iter()
                .filter_map(|i| {
                    Some((
                        i.account_id()?.to_string(),
                        i.invitation_id()?.to_string(),
                        i.member_status().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await
    }

    /// The invitation from `admin` the account can accept, if it holds one.
    pub(super) async fn invitation_from(&self, admin: &str) -> Result<Option<String>, ApiError> {
        Ok(self
            .invitations()
            .await?
            .into_iter()
            .find(|(a, _, status)| a == admin && status != "Enabled")
            .map(|(_, id, _)| id))
    }

    pub(super) async fn accept(&self, admin: &str, invitation: &str) -> Result<(), ApiError> {
        self.client
            .accept_administrator_invitation()
            .administrator_id(admin)
            .invitation_id(invitation)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("AcceptAdministratorInvitation", &e))
    }

    pub(super) async fn leave(&self) -> Result<(), ApiError> {
        self.client
            .disassociate_from_administrator_account()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisassociateFromAdministratorAccount", &e))
    }

    /// `ListMembers`: every member record (`only_associated`: only `Enabled` ones).
    pub(crate) async fn members(&self, only_associated: bool) -> Result<Records, ApiError> {
        let members = all_pages(None, |token| async move {
            let page = self
                .client
                .list_members()
                .only_associated(only_associated)
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("ListMembers", &e))?;
            let items: Vec<(String, String)> = page
                .members()
                .iter()
                .filter_map(|m| {
                    Some((
                        m.account_id()?.to_string(),
                        m.member_status().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await?;
        Ok(members.into_iter().collect())
    }

    /// `CreateMembers` for at most [`MAX_MEMBERS_PER_CALL`] accounts: the unprocessed ones, why.
    ///
    /// [`MAX_MEMBERS_PER_CALL`]: super::MAX_MEMBERS_PER_CALL
    pub(super) async fn create_members(
        &self,
        accounts: &[AccountTarget],
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let details = accounts
            .iter()
            .map(|a| {
                AccountDetails::builder()
                    .account_id(&a.id)
                    .set_email(a.email.clone())
                    .build()
            })
            .collect();
        let out = self
            .client
            .create_members()
            .set_account_details(Some(details))
            .send()
            .await
            .map_err(|e| self.err("CreateMembers", &e))?;
        Ok(unprocessed(out.unprocessed_accounts()))
    }

    pub(super) async fn invite_members(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let out = self
            .client
            .invite_members()
            .set_account_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| self.err("InviteMembers", &e))?;
        Ok(unprocessed(out.unprocessed_accounts()))
    }

    pub(super) async fn disassociate_members(&self, ids: &[String]) -> Result<(), ApiError> {
        self.client
            .disassociate_members()
            .set_account_ids(Some(ids.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisassociateMembers", &e))
    }

    pub(super) async fn delete_members(
        &self,
        ids: &[String],
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let out = self
            .client
            .delete_members()
            .set_account_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| self.err("DeleteMembers", &e))?;
        Ok(unprocessed(out.unprocessed_accounts()))
    }

    /// `ListOrganizationAdminAccounts` (management account): the designated administrators.
    pub(super) async fn org_admins(&self) -> Result<Vec<String>, ApiError> {
        all_pages(None, |token| async move {
            let page = self
                .client
                .list_organization_admin_accounts()
                .max_results(10)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| self.err("ListOrganizationAdminAccounts", &e))?;
            let items = page
                .admin_accounts()
                .iter()
                .filter(|a| a.status().is_none_or(|s| s.as_str() == "ENABLED"))
                .filter_map(|a| a.account_id().map(str::to_string))
                .collect();
            Ok((items, page.next_token().map(str::to_string)))
        })
        .await
    }

    pub(super) async fn designate(&self, admin: &str) -> Result<(), ApiError> {
        self.client
            .enable_organization_admin_account()
            .admin_account_id(admin)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("EnableOrganizationAdminAccount", &e))
    }

    pub(super) async fn undesignate(&self, admin: &str) -> Result<(), ApiError> {
        self.client
            .disable_organization_admin_account()
            .admin_account_id(admin)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DisableOrganizationAdminAccount", &e))
    }

    pub(super) async fn auto_enable(&self) -> Result<bool, ApiError> {
        let out = self
            .client
            .describe_organization_configuration()
            .send()
            .await
            .map_err(|e| self.err("DescribeOrganizationConfiguration", &e))?;
        Ok(out.auto_enable().unwrap_or(false))
    }

    pub(super) async fn set_auto_enable(
        &self,
        on: bool,
        default_standards: bool,
    ) -> Result<(), ApiError> {
        let mut call = self
            .client
            .update_organization_configuration()
            .auto_enable(on);
        if on {
            call = call.auto_enable_standards(if default_standards {
                AutoEnableStandards::Default
            } else {
                AutoEnableStandards::None
            });
        }
        call.send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UpdateOrganizationConfiguration", &e))
    }

    /// The account's finding aggregator (`ListFindingAggregators` answers from any Region).
    pub(crate) async fn aggregator(&self) -> Result<Option<AggregatorInfo>, ApiError> {
        let list = self
            .client
            .list_finding_aggregators()
            .send()
            .await
            .map_err(|e| self.err("ListFindingAggregators", &e))?;
        let Some(arn) = list
            .finding_aggregators()
            .iter()
            .find_map(|a| a.finding_aggregator_arn())
        else {
            return Ok(None);
        };
        let got = self
            .client
            .get_finding_aggregator()
            .finding_aggregator_arn(arn)
            .send()
            .await
            .map_err(|e| self.err("GetFindingAggregator", &e))?;
        Ok(Some(AggregatorInfo {
            arn: arn.to_string(),
            home_region: got
                .finding_aggregation_region()
                .unwrap_or(&self.region)
                .to_string(),
            mode: got.region_linking_mode().unwrap_or_default().to_string(),
            regions: got.regions().to_vec(),
        }))
    }

    pub(super) async fn create_aggregator(
        &self,
        mode: &str,
        regions: &[String],
    ) -> Result<(), ApiError> {
        self.client
            .create_finding_aggregator()
            .region_linking_mode(mode)
            .set_regions((!regions.is_empty()).then(|| regions.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("CreateFindingAggregator", &e))
    }

    pub(super) async fn update_aggregator(
        &self,
        arn: &str,
        mode: &str,
        regions: &[String],
    ) -> Result<(), ApiError> {
        self.client
            .update_finding_aggregator()
            .finding_aggregator_arn(arn)
            .region_linking_mode(mode)
            .set_regions((!regions.is_empty()).then(|| regions.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("UpdateFindingAggregator", &e))
    }

    pub(super) async fn delete_aggregator(&self, arn: &str) -> Result<(), ApiError> {
        self.client
            .delete_finding_aggregator()
            .finding_aggregator_arn(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.err("DeleteFindingAggregator", &e))
    }

    /// `(account, Region)` of every active patchhub finding the account sees here; `own`: only
    /// the account's own findings of this Region. Read through the one `GetFindings` path, at the
    /// limiter's rate.
    pub(super) async fn active_findings(
        &self,
        own: bool,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let filter = FindingFilter {
            generators: vec![Match::Prefix(finding::GENERATOR_PREFIX.into())],
            record_state: Some("ACTIVE"),
            account: own.then(|| self.account.clone()),
            region: own.then(|| self.region.clone()),
            ..FindingFilter::default()
        };
        let found = get_findings(
            &self.client,
            &self.account,
            &self.region,
            &self.limiter,
            &filter,
        )
        .await?;
        Ok(found
            .into_iter()
            .map(|f| (f.aws_account_id, f.region.unwrap_or_default()))
            .collect())
    }
}

fn unprocessed(list: &[aws_sdk_securityhub::types::Result]) -> BTreeMap<String, String> {
    list.iter()
        .filter_map(|r| {
            r.account_id().map(|a| {
                (
                    a.to_string(),
                    r.processing_result().unwrap_or("unprocessed").to_string(),
                )
            })
        })
        .collect()
}

/// Security Hub on in one account and Region; `Err` says why the account cannot go on there.
pub(super) async fn ensure_hub(sh: &Sh, default_standards: bool, log: &Log) -> Result<(), Blocked> {
    let enabled = async {
        if sh.hub_enabled().await? {
            return Ok(false);
        }
        sh.enable_hub(default_standards).await
    }
    .await;
    match enabled {
        Ok(false) => {
            log.already(
                &sh.account,
                &sh.region,
                Step::EnableHub,
                "Security Hub is enabled",
            );
            Ok(())
        }
        Ok(true) => {
            let how = if default_standards {
                "Security Hub enabled, with the default standards"
            } else {
                "Security Hub enabled, without default standards"
            };
            log.done(&sh.account, &sh.region, Step::EnableHub, how);
            Ok(())
        }
        Err(e) => Err(log.error(&sh.account, &sh.region, Step::EnableHub, &e)),
    }
}
