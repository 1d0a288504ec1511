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
