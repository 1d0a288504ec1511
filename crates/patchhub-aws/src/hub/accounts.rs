//! The accounts a command covers and how it gets into them (the caller's own credentials, or the
//! role), the Regions it checks first, and the bounded concurrency it runs them with.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;

use super::log::Log;
use super::{MemberAccounts, Step};
use crate::clients::{self, AccountSession, RoleOptions};
use crate::error::{ApiError, ErrorKind};
use crate::fanout;
use crate::organization::organization_accounts;
use crate::targets::AccountTarget;

/// Checks the Regions of a plan: at least one, each a Region name, the home Region among them
/// (`targets::parse_regions` has already dropped duplicates).
pub(super) fn check_regions(regions: &[String], home: Option<&str>) -> Option<ApiError> {
    let bad =
        |api: &str, msg: String| Some(ApiError::other("-", "-", api, ErrorKind::InvalidInput, msg));
    if regions.is_empty() {
        return bad(
            "--regions",
            "no Regions given: list them with --regions".into(),
        );
    }
    if let Some(r) = regions.iter().find(|r| !crate::targets::is_region(r)) {
        return bad("--regions", format!("`{r}` is not a Region name"));
    }
    match home {
        Some(h) if !regions.iter().any(|r| r == h) => bad(
            "--home-region",
            format!(
                "the home Region {h} must be one of --regions ({})",
                regions.join(",")
            ),
        ),
        _ => None,
    }
}

/// What every `hub` command does first: checks the Regions (and the home Region among them),
/// asks STS who the caller is, and names the administrator (the caller's own account unless the
/// plan names one).
pub(super) async fn caller_and_admin(
    base: &SdkConfig,
    regions: &[String],
    home: Option<&str>,
    admin_account: Option<&String>,
) -> Result<(AccountSession, String), ApiError> {
    if let Some(e) = check_regions(regions, home) {
        return Err(e);
    }
    let me = clients::base_session(base).await?;
    let admin = admin_account
        .cloned()
        .unwrap_or_else(|| me.account_id.clone());
    Ok((me, admin))
}

/// The member accounts of a plan, without the administrator.
pub(super) async fn resolve_members(
    base: &SdkConfig,
    members: &MemberAccounts,
    organization_by_default: bool,
    admin: &str,
) -> Result<Option<Vec<AccountTarget>>, ApiError> {
    let list = match members {
        MemberAccounts::Current if organization_by_default => {
            organization_accounts(base, None).await?.active
        }
        MemberAccounts::Current => return Ok(None),
        MemberAccounts::List(l) => l.clone(),
        MemberAccounts::Organization { ou } => {
            organization_accounts(base, ou.as_deref()).await?.active
        }
    };
    Ok(Some(list.into_iter().filter(|t| t.id != admin).collect()))
}

/// Enters accounts: the caller's own with the base credentials, the others through the role.
/// Failures are logged (step `enter-account`) and left out.
pub(super) async fn enter(
    base: &SdkConfig,
    me: &AccountSession,
    ids: BTreeSet<String>,
    role: &RoleOptions,
    width: usize,
    log: &Log,
) -> BTreeMap<String, AccountSession> {
    let mut entered = BTreeMap::new();
    // The caller's own account is entered with its own credentials, role or not.
    let (own, ids): (Vec<String>, Vec<String>) =
        ids.into_iter().partition(|id| *id == me.account_id);
    if !own.is_empty() {
        entered.insert(me.account_id.clone(), me.clone());
    }
    for (id, res) in fanout::enter_accounts(base, me, ids, role, width).await {
        match res {
            Ok(s) => {
                entered.insert(id, s);
            }
            Err(e) => log_enter_failure(log, &id, role, &me.account_id, &e),
        }
    }
    entered
}

fn log_enter_failure(log: &Log, id: &str, role: &RoleOptions, me: &str, e: &ApiError) {
    let resume = match &role.role_name {
        None => format!(
            "pass --role-name ROLE (a role in account {id} that account {me} may assume), {}",
            log.rerun()
        ),
        Some(r) => format!(
            "make sure role {r} exists in account {id}, trusts account {me} and allows the actions in HUB_ACTIONS (docs/DEPLOY.md), {}",
            log.rerun()
        ),
    };
    log.fail(
        id,
        "-",
        Step::EnterAccount,
        super::log::describe(e),
        resume,
        Some(e.kind),
    );
}

/// The gist of an AssumeRole failure: the credential provider's error text carries the whole
/// response (`… message: "User: … is not authorized …" …`); keep what STS said.
pub(super) fn short_sts_error(text: &str) -> String {
    let quoted = |key: &str| {
        let start = text.find(key)? + key.len();
        let len = text[start..].find('"')?;
        Some(text[start..start + len].to_string())
    };
    let lead = text.split(": ").next().unwrap_or(text);
    match (quoted("code: \""), quoted("message: \"")) {
        (Some(code), Some(message)) if lead.starts_with("cannot assume") => {
            format!("{lead}: {code}: {message}")
        }
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ if text.chars().count() > 300 => {
            format!("{}…", text.chars().take(300).collect::<String>())
        }
        _ => text.to_string(),
    }
}

/// Enters the administrator; `None` (logged) when it cannot be entered.
pub(super) async fn enter_admin(
    base: &SdkConfig,
    me: &AccountSession,
    admin: &str,
    role: &RoleOptions,
    log: &Log,
) -> Option<AccountSession> {
    if admin == me.account_id {
        return Some(me.clone());
    }
    match clients::assume_into(base, me, admin, role).await {
        Ok(s) => Some(s),
        Err(e) => {
            log_enter_failure(log, admin, role, &me.account_id, &e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn regions_are_checked_before_anything_runs() {
        assert!(check_regions(&[], None).is_some());
        assert!(check_regions(&strings(&["us-east-1", "Mars"]), None).is_some());
        let e = check_regions(&strings(&["us-east-1"]), Some("eu-west-1")).unwrap();
        assert!(e.message.contains("eu-west-1"), "{e}");
        assert!(check_regions(&strings(&["us-east-1", "eu-west-1"]), Some("eu-west-1")).is_none());
    }

    #[test]
    fn assume_role_failures_keep_what_sts_said() {
        let long = r#"cannot assume arn:aws:iam::433754381374:role/PatchhubRole: an error occurred while loading credentials: service error: unhandled error (AccessDenied): Error { code: "AccessDenied", message: "User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole", aws_request_id: "0" } (ProviderError(...))"#;
        assert_eq!(
            short_sts_error(long),
            "cannot assume arn:aws:iam::433754381374:role/PatchhubRole: AccessDenied: User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole"
        );
        assert_eq!(
            short_sts_error("no --role-name given"),
            "no --role-name given"
        );
    }
}
