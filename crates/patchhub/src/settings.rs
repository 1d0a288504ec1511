//! Turning raw flag values into validated settings, with every problem reported at once. The
//! rules are `patchhub_aws::settings`, shared with the Lambda's environment variables.

use patchhub_aws::settings::{PolicySettings, Setting, policy_from_settings_named};
use patchhub_core::policy::FindingPolicy;

use crate::Failure;
use crate::cli::PolicyArgs;

/// The finding policy from flags; all bad values listed together, exit 2.
pub fn policy(args: &PolicyArgs) -> Result<FindingPolicy, Failure> {
    let join = |v: &[String]| (!v.is_empty()).then(|| v.join(","));
    let settings = PolicySettings {
        min_severity: Some(args.min_severity.clone()),
        stale_after: Some(args.stale_after.clone()),
        exclude_patches: join(&args.exclude_patch),
        exclude_tags: join(&args.exclude_tag),
        rollup: Some((!args.no_rollup).to_string()),
        stale_findings: Some((!args.no_stale_findings).to_string()),
        refresh_after: Some(args.refresh_after.clone()),
    };
    policy_from_settings_named(&settings, Setting::flag)
        .map_err(|errors| Failure::usage(errors.join("; ")))
}
