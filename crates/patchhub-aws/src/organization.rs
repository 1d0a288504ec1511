//! The organization's accounts, from AWS Organizations (`ListAccounts`, or an OU's accounts and
//! its child OUs' recursively), split by lifecycle state: patchhub works in ACTIVE accounts and
//! names the suspended, closing and closed ones as skipped rather than failing on them.

use aws_config::SdkConfig;
use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};

use crate::error::ApiError;
use crate::paging::{all_pages, page_of};
use crate::targets::AccountTarget;

/// An account of the organization that patchhub leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct SkippedAccount {
    /// Account id.
    pub account: String,
    /// Its state (`SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`).
    pub state: String,
}

/// The organization's accounts, split by state.
#[derive(Debug, Clone, Default)]
pub(crate) struct OrgAccounts {
    /// ACTIVE accounts.
    pub active: Vec<AccountTarget>,
    /// The others.
    pub skipped: Vec<SkippedAccount>,
}

/// Turns an Organizations call's error into an [`ApiError`] (no account is known yet).
fn failed<'a, E, R>(region: &'a str, api: &'static str) -> impl Fn(SdkError<E, R>) -> ApiError + 'a
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |e| ApiError::from_sdk("", region, api, &e)
}

/// The accounts of the organization, or of one OU and its descendants: the ACTIVE ones, and the
/// others with their state.
pub(crate) async fn organization_accounts(
    base: &SdkConfig,
    ou: Option<&str>,
) -> Result<OrgAccounts, ApiError> {
    let region = base.region().map(|r| r.to_string()).unwrap_or_default();
    let region = region.as_str();
    let org = aws_sdk_organizations::Client::new(base);
    let mut found: Vec<aws_sdk_organizations::types::Account> = Vec::new();
    match ou {
        None => {
            found = all_pages(None, |token| {
                let org = org.clone();
                async move {
                    let page = org
                        .list_accounts()
                        .set_next_token(token)
                        .send()
                        .await
                        .map_err(failed(region, "organizations:ListAccounts"))?;
                    Ok(page_of(page.accounts(), page.next_token()))
                }
            })
            .await?;
        }
        Some(ou) => {
            let mut parents = vec![ou.to_string()];
            while let Some(parent) = parents.pop() {
                let accounts = all_pages(None, |token| {
                    let (org, parent) = (org.clone(), parent.clone());
                    async move {
                        let page = org
                            .list_accounts_for_parent()
                            .parent_id(parent)
                            .set_next_token(token)
                            .send()
                            .await
                            .map_err(failed(region, "organizations:ListAccountsForParent"))?;
                        Ok(page_of(page.accounts(), page.next_token()))
                    }
                })
                .await?;
                found.extend(accounts);
                let children = all_pages(None, |token| {
                    let (org, parent) = (org.clone(), parent.clone());
                    async move {
                        let page = org
                            .list_organizational_units_for_parent()
                            .parent_id(parent)
                            .set_next_token(token)
                            .send()
                            .await
                            .map_err(failed(
                                region,
                                "organizations:ListOrganizationalUnitsForParent",
                            ))?;
                        Ok(page_of(page.organizational_units(), page.next_token()))
                    }
                })
                .await?;
                parents.extend(children.iter().filter_map(|o| o.id().map(str::to_string)));
            }
        }
    }
    let mut listed = OrgAccounts::default();
    for a in &found {
        let Some(id) = a.id() else { continue };
        match lifecycle(a) {
            None => listed.active.push(AccountTarget {
                id: id.to_string(),
                email: a.email().map(str::to_string),
            }),
            Some(state) => listed.skipped.push(SkippedAccount {
                account: id.to_string(),
                state,
            }),
        }
    }
    listed.active.sort();
    listed.active.dedup_by(|a, b| a.id == b.id);
    listed.skipped.sort();
    listed.skipped.dedup();
    Ok(listed)
}

/// `None` for an account patchhub can work in; else the state that keeps it out. Organizations
/// retired `Account.Status` on September 9, 2026 in favour of `Account.State` (`ACTIVE`,
/// `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`; see the doc comment of `Account::status` in
/// aws-sdk-organizations and the Organizations User Guide, "Monitor the state of your AWS
/// accounts"): `State` decides, `Status` only when an older endpoint sends no `State`, and an
/// account that says neither is tried (a failure to enter it is then reported, not hidden).
fn lifecycle(a: &aws_sdk_organizations::types::Account) -> Option<String> {
    let said = a
        .state()
        .map(|s| s.as_str().to_string())
        .or_else(|| a.status().map(|s| s.as_str().to_string()))?;
    (said != "ACTIVE").then_some(said)
}

#[cfg(test)]
mod tests {
    use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};

    use super::lifecycle;

    fn account(state: Option<&str>, status: Option<&str>) -> Account {
        Account::builder()
            .id("111111111111")
            .set_state(state.map(AccountState::from))
            .set_status(status.map(AccountStatus::from))
            .build()
    }

    #[test]
    fn state_decides_and_the_retired_status_is_only_a_fallback() {
        // After September 9, 2026 Organizations sends State only.
        assert_eq!(lifecycle(&account(Some("ACTIVE"), None)), None);
        for s in ["SUSPENDED", "PENDING_CLOSURE", "CLOSED"] {
            assert_eq!(lifecycle(&account(Some(s), None)), Some(s.to_string()));
        }
        // State wins over a stale Status.
        assert_eq!(
            lifecycle(&account(Some("SUSPENDED"), Some("ACTIVE"))),
            Some("SUSPENDED".into())
        );
        // An older answer with Status only still works.
        assert_eq!(lifecycle(&account(None, Some("ACTIVE"))), None);
        assert_eq!(
            lifecycle(&account(None, Some("PENDING_CLOSURE"))),
            Some("PENDING_CLOSURE".into())
        );
        // Neither: tried, so a failure to enter it is reported rather than hidden.
        assert_eq!(lifecycle(&account(None, None)), None);
    }
}
