//! The IAM actions patchhub's code calls. The deployment templates grant exactly these (a test
//! in `deploy/` compares them), so code and policy cannot drift.

/// Actions the sync (CLI and Lambda) calls inside a member account.
pub const SYNC_ACTIONS: &[&str] = &[
    "ssm:DescribeInstanceInformation",
    "ssm:DescribeInstanceProperties",
    "ssm:DescribeInstancePatchStates",
    "ssm:DescribeInstancePatches",
    "ssm:ListComplianceItems",
    "ssm:ListResourceComplianceSummaries",
    "securityhub:BatchImportFindings",
    "securityhub:GetFindings",
    "sts:GetCallerIdentity",
];

/// Actions the Lambda's Security Lake sink calls when it writes through the custom sources'
/// provider roles (`PATCHHUB_LAKE_ROLE_ARN`): the roles themselves hold `s3:PutObject`.
pub const LAKE_ROLE_ACTIONS: &[&str] = &["sts:AssumeRole"];

/// Actions the Lambda's Security Lake sink calls when it writes with its own role (no
/// `PATCHHUB_LAKE_ROLE_ARN`): `PutObject` only, under the sources' locations (no `HeadBucket`,
/// so no `s3:ListBucket`).
pub const LAKE_DIRECT_ACTIONS: &[&str] = &["s3:PutObject"];

/// Actions the fan-out calls from the account it starts in.
pub const FANOUT_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
];

/// Actions `--regions all-enabled` adds in every account it enters (opt-in status is per
/// account, so each account is asked for its own Regions).
pub const ALL_REGIONS_ACTIONS: &[&str] = &["account:ListRegions"];

/// Actions `patchhub hub enable|status|disable` and `patchhub cleanup` call, wherever they run
/// (the caller's account and the accounts entered through `--role-name`). Grant each principal
/// the part its account needs: the management account the `Organization*Admin*` ones, the
/// administrator the member, organization-configuration and aggregator ones, members their own
/// hub and invitation ones. Some of these calls also need the actions in
/// [`DEPENDENT_ACTIONS`], which Security Hub performs with the caller's permissions.
/// `deploy/cloudformation/patchhub-cli-role.yaml` grants them by account kind.
pub const HUB_ACTIONS: &[&str] = &[
    "securityhub:DescribeHub",
    "securityhub:EnableSecurityHub",
    "securityhub:DisableSecurityHub",
    "securityhub:GetAdministratorAccount",
    "securityhub:ListInvitations",
    "securityhub:AcceptAdministratorInvitation",
    "securityhub:DisassociateFromAdministratorAccount",
    "securityhub:ListMembers",
    "securityhub:CreateMembers",
    "securityhub:InviteMembers",
    "securityhub:DisassociateMembers",
    "securityhub:DeleteMembers",
    "securityhub:EnableOrganizationAdminAccount",
    "securityhub:DisableOrganizationAdminAccount",
    "securityhub:ListOrganizationAdminAccounts",
    "securityhub:DescribeOrganizationConfiguration",
    "securityhub:UpdateOrganizationConfiguration",
    "securityhub:ListFindingAggregators",
    "securityhub:GetFindingAggregator",
    "securityhub:CreateFindingAggregator",
    "securityhub:UpdateFindingAggregator",
    "securityhub:DeleteFindingAggregator",
    "securityhub:GetFindings",
    "securityhub:BatchImportFindings",
    "sts:GetCallerIdentity",
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
];

/// Actions Security Hub performs with the caller's permissions when the code calls the first
/// action of each pair, so the caller needs them too although the code never calls them. The
/// Organizations ones are the "dependent actions" the Service Authorization Reference lists for
/// `EnableOrganizationAdminAccount`, `DisableOrganizationAdminAccount` and
/// `ListOrganizationAdminAccounts`; `EnableSecurityHub` creates Security Hub's service-linked
/// role (`iam:CreateServiceLinkedRole`, Security Hub user guide, "service-linked roles").
pub const DEPENDENT_ACTIONS: &[(&str, &[&str])] = &[
    (
        "securityhub:EnableOrganizationAdminAccount",
        &[
            "organizations:DescribeOrganization",
            "organizations:EnableAWSServiceAccess",
            "organizations:ListAWSServiceAccessForOrganization",
            "organizations:ListDelegatedAdministrators",
            "organizations:RegisterDelegatedAdministrator",
        ],
    ),
    (
        "securityhub:DisableOrganizationAdminAccount",
        &[
            "organizations:DeregisterDelegatedAdministrator",
            "organizations:DescribeOrganization",
            "organizations:ListDelegatedAdministrators",
        ],
    ),
    (
        "securityhub:ListOrganizationAdminAccounts",
        &[
            "organizations:DescribeOrganization",
            "organizations:ListDelegatedAdministrators",
        ],
    ),
    (
        "securityhub:EnableSecurityHub",
        &["iam:CreateServiceLinkedRole"],
    ),
];

/// What the code's calls need besides themselves: the actions of [`DEPENDENT_ACTIONS`] for the
/// given actions, each once.
pub fn dependents_of<'a>(actions: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for a in actions {
        for (action, deps) in DEPENDENT_ACTIONS {
            if *action == a {
                for d in *deps {
                    if !out.contains(d) {
                        out.push(d);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependent_actions_belong_to_calls_the_code_makes() {
        for (action, deps) in DEPENDENT_ACTIONS {
            assert!(HUB_ACTIONS.contains(action), "{action} is not called");
            assert!(!deps.is_empty());
            assert!(deps.iter().all(|d| !d.contains('*')));
        }
        let deps = dependents_of(HUB_ACTIONS.iter().copied());
        assert!(deps.contains(&"organizations:RegisterDelegatedAdministrator"));
        assert!(deps.contains(&"iam:CreateServiceLinkedRole"));
        assert_eq!(
            deps.iter()
                .filter(|d| **d == "organizations:DescribeOrganization")
                .count(),
            1,
            "each once"
        );
        assert!(dependents_of(SYNC_ACTIONS.iter().copied()).is_empty());
    }
}
