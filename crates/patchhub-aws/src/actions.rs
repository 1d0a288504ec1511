//! The IAM actions patchhub's code calls. The deployment templates grant exactly these (a test
//! in `deploy/` compares them), so code and policy cannot drift.

/// Actions the sync (CLI and Lambda) calls inside a member account.
pub const SYNC_ACTIONS: &[&str] = &[
    "ssm:DescribeInstanceInformation",
    "ssm:DescribeInstancePatchStates",
    "ssm:DescribeInstancePatches",
    "ssm:ListComplianceItems",
    "ssm:ListResourceComplianceSummaries",
    "securityhub:BatchImportFindings",
    "securityhub:GetFindings",
    "sts:GetCallerIdentity",
];

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
/// hub and invitation ones. Enabling Security Hub and designating an administrator also need the
/// permissions Security Hub uses on the caller's behalf (`iam:CreateServiceLinkedRole` for its
/// service-linked role; `organizations:EnableAWSServiceAccess`,
/// `organizations:RegisterDelegatedAdministrator`, `organizations:DescribeOrganization` for the
/// designation), which the code does not call itself.
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
