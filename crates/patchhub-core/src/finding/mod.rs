//! The ASFF finding as patchhub writes and reads it.
//!
//! [`Finding`]'s serde JSON *is* the ASFF JSON for the fields patchhub uses (PascalCase,
//! absent options omitted), so the AWS crate can convert through JSON and awsim can store
//! it verbatim. Identity and bookkeeping live in `ProductFields` under `patchhub/` keys.
//!
//! Layout: `kind` names patchhub's generators, types and ProductFields keys; `parts` holds the
//! ASFF objects a finding is made of; `record` holds [`Finding`] itself and its readers;
//! `fingerprint` hashes its content, keeps it inside the size budget, seals it, and picks
//! between two findings of one `Id`; `digest` is what a sync keeps of an unchanged node's
//! findings; `validate` checks it against every rule in [`crate::limits`].

mod digest;
mod fingerprint;
mod kind;
mod parts;
mod record;
mod validate;

pub use digest::Digest;
pub(crate) use fingerprint::{fit_and_seal, keep_by_id, prefer};
pub use kind::{
    COMPANY_NAME, FindingKind, GENERATOR_PATCH, GENERATOR_PREFIX, GENERATOR_ROLLUP,
    GENERATOR_STALE, PRODUCT_NAME, TYPE_CVE, TYPE_PATCH_MANAGEMENT, fields,
};
pub use parts::{
    AwsEc2InstanceDetails, AwsSsmComplianceSummary, AwsSsmPatch, AwsSsmPatchCompliance, Compliance,
    ComplianceStatus, FindingProviderFields, FindingProviderSeverity, FindingSeverity,
    FixAvailable, PatchSummary, Recommendation, RecordState, Remediation, Resource,
    ResourceDetails, SeverityLabel, Vulnerability, VulnerabilityVendor,
};
pub use record::Finding;
pub use validate::LimitViolation;
