//! Who may assume a role, and for how long: the principals its trust policy names (the accounts
//! the fleet lists) and its maximum session duration. `AssumeRole` checks both, as STS does
//! (STS API reference, `AssumeRole`: "the role's trust policy" must allow the caller, and
//! `DurationSeconds` may not exceed "the maximum session duration setting for the role").

use crate::fleet::RoleSpec;
use crate::world::World;

/// IAM's default `MaxSessionDuration` (IAM API reference, `CreateRole`: 3600 seconds).
pub(crate) const DEFAULT_MAX_SESSION_SECONDS: u32 = 3600;

/// The accounts whose principals may assume `role`: the ones the fleet names, or by default the
/// organization's management account (where an organization-wide tool starts), or
/// `default_account` (the account of unmapped static keys) in a fleet without an organization.
pub(crate) fn trusted_accounts<'a>(
    world: &'a World,
    default_account: &'a str,
    role: &'a RoleSpec,
) -> Vec<&'a str> {
    if !role.trusted_accounts.is_empty() {
        return role.trusted_accounts.iter().map(String::as_str).collect();
    }
    match &world.organization {
        Some(org) => vec![org.management_account.as_str()],
        None => vec![default_account],
    }
}

/// Whether `role`'s trust policy lets a principal of `caller_account` assume it.
pub(crate) fn trusts(
    world: &World,
    default_account: &str,
    role: &RoleSpec,
    caller_account: &str,
) -> bool {
    trusted_accounts(world, default_account, role).contains(&caller_account)
}

/// The longest session `role` grants, in seconds.
pub(crate) fn max_session_seconds(role: &RoleSpec) -> i64 {
    i64::from(
        role.max_session_seconds
            .unwrap_or(DEFAULT_MAX_SESSION_SECONDS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::OrgSpec;

    fn org(management: &str) -> World {
        World {
            organization: Some(OrgSpec {
                id: "o-example".into(),
                management_account: management.into(),
                root_id: "r-root".into(),
                organizational_units: vec![],
            }),
            ..World::default()
        }
    }

    #[test]
    fn the_management_account_by_default_and_the_named_accounts_otherwise() {
        let role = RoleSpec::named("PatchhubRole");
        let world = org("111111111111");
        assert!(trusts(&world, "123456789012", &role, "111111111111"));
        assert!(!trusts(&world, "123456789012", &role, "222222222222"));
        assert!(!trusts(&world, "123456789012", &role, "123456789012"));
        // Without an organization: the account static keys default to.
        let standalone = World::default();
        assert!(trusts(&standalone, "123456789012", &role, "123456789012"));
        assert!(!trusts(&standalone, "123456789012", &role, "111111111111"));
        let named = RoleSpec {
            trusted_accounts: vec!["222222222222".into()],
            ..role
        };
        assert!(trusts(&world, "123456789012", &named, "222222222222"));
        assert!(!trusts(&world, "123456789012", &named, "111111111111"));
    }

    #[test]
    fn one_hour_unless_the_role_says_otherwise() {
        let mut role = RoleSpec::named("R");
        assert_eq!(max_session_seconds(&role), 3600);
        role.max_session_seconds = Some(7200);
        assert_eq!(max_session_seconds(&role), 7200);
    }
}
