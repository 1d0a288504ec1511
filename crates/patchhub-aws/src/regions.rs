//! `--regions all-enabled`: the Regions an account can use, from Account Management's
//! `ListRegions` (`ENABLED` and `ENABLED_BY_DEFAULT`; opt-in Regions the account has not enabled
//! are left out, so a sweep never trips over them). Asked per account, in the account, because
//! opt-in status is per account.

use aws_sdk_account::types::RegionOptStatus;

use crate::clients::AccountSession;
use crate::error::{ApiError, ErrorKind};
use crate::paging::all_pages;
use crate::targets::RegionSelection;

/// Largest page `ListRegions` allows.
const MAX_RESULTS: i32 = 50;

/// The Regions `selection` names for one account: the list as given, or the account's enabled
/// Regions, sorted.
pub(crate) async fn regions_for(
    session: &AccountSession,
    selection: &RegionSelection,
) -> Result<Vec<String>, ApiError> {
    match selection {
        RegionSelection::List(l) => Ok(l.clone()),
        RegionSelection::AllEnabled => enabled_regions(session).await,
    }
}

/// The account's enabled Regions, sorted, read with `account:ListRegions` in the session's home
/// Region.
pub(crate) async fn enabled_regions(session: &AccountSession) -> Result<Vec<String>, ApiError> {
    let home = session
        .config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let client = aws_sdk_account::Client::new(&session.config);
    let (account, home) = (session.account_id.as_str(), home.as_str());
    let mut regions: Vec<String> = all_pages(None, |token| {
        let req = client
            .list_regions()
            .max_results(MAX_RESULTS)
            .region_opt_status_contains(RegionOptStatus::Enabled)
            .region_opt_status_contains(RegionOptStatus::EnabledByDefault)
            .set_next_token(token);
        async move {
            let out = req.send().await.map_err(|e| {
                let mut err = ApiError::from_sdk(account, home, "account:ListRegions", &e);
                if err.kind == ErrorKind::AccessDenied {
                    err.message = format!(
                        "{}; --regions all-enabled needs account:ListRegions in every account (or list the Regions instead)",
                        err.message
                    );
                }
                err
            })?;
            let names = out
                .regions()
                .iter()
                .filter_map(|r| r.region_name().map(str::to_string))
                .collect();
            Ok((names, out.next_token().map(str::to_string)))
        }
    })
    .await?;
    regions.sort();
    regions.dedup();
    if regions.is_empty() {
        return Err(ApiError::other(
            account,
            home,
            "account:ListRegions",
            ErrorKind::Service,
            "ListRegions reported no enabled Region; list the Regions with --regions instead",
        ));
    }
    Ok(regions)
}
