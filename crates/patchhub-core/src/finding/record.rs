//! [`Finding`] itself: the fields patchhub reads and writes, and readers of its `patchhub/`
//! bookkeeping.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::kind::{
    FindingKind, GENERATOR_PATCH, GENERATOR_PREFIX, GENERATOR_ROLLUP, GENERATOR_STALE, fields,
};
use super::parts::{
    Compliance, FindingProviderFields, FindingSeverity, PatchSummary, RecordState, Remediation,
    Resource, Vulnerability,
};

/// RFC 3339 with millisecond precision and `Z` out; any RFC 3339 offset in.
mod ts {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::text::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| D::Error::custom(format!("invalid timestamp {s:?}: {e}")))
    }

    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            #[derive(serde::Deserialize)]
            struct W(#[serde(with = "super")] DateTime<Utc>);
            Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// One ASFF finding. Serialize it to get the JSON `BatchImportFindings` takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Finding {
    /// Always [`crate::limits::SCHEMA_VERSION`].
    pub schema_version: String,
    /// Deterministic id, see [`crate::mapping::finding_id`].
    pub id: String,
    /// `arn:P:securityhub:R:A:product/A/default`.
    pub product_arn: String,
    /// [`PRODUCT_NAME`](super::PRODUCT_NAME).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_name: Option<String>,
    /// [`COMPANY_NAME`](super::COMPANY_NAME).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Region of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// One of the `GENERATOR_*` constants.
    pub generator_id: String,
    /// 12 digits.
    pub aws_account_id: String,
    /// `namespace/category[/classifier]`.
    #[serde(default)]
    pub types: Vec<String>,
    /// When the problem was first seen; carried over on every update.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::opt")]
    pub first_observed_at: Option<DateTime<Utc>>,
    /// When the problem was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "ts::opt")]
    pub last_observed_at: Option<DateTime<Utc>>,
    /// When patchhub first imported it; carried over on every update.
    #[serde(with = "ts")]
    pub created_at: DateTime<Utc>,
    /// When patchhub last imported it; strictly increases with every import.
    #[serde(with = "ts")]
    pub updated_at: DateTime<Utc>,
    /// Severity.
    pub severity: FindingSeverity,
    /// 1..=256 chars.
    pub title: String,
    /// 1..=1024 chars.
    pub description: String,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// Link to the finding in the provider (unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// `patchhub/*` bookkeeping, see [`fields`](super::fields).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub product_fields: BTreeMap<String, String>,
    /// The node, 1..=32 entries (patchhub uses one).
    #[serde(default)]
    pub resources: Vec<Resource>,
    /// PASSED / FAILED / WARNING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    /// Roll-up only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_summary: Option<PatchSummary>,
    /// One per CVE, capped at [`crate::limits::MAX_VULNERABILITIES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerabilities: Vec<Vulnerability>,
    /// Severity and types as the provider sets them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_provider_fields: Option<FindingProviderFields>,
    /// ACTIVE or ARCHIVED.
    #[serde(default)]
    pub record_state: RecordState,
}

impl Finding {
    /// The kind, from `ProductFields` `patchhub/Kind`, else from the `GeneratorId`.
    pub fn kind(&self) -> Option<FindingKind> {
        let by_field = self.product_fields.get(fields::KIND).and_then(|k| {
            [
                FindingKind::Patch,
                FindingKind::Rollup,
                FindingKind::StaleScan,
            ]
            .into_iter()
            .find(|c| c.as_str() == k)
        });
        by_field.or(match self.generator_id.as_str() {
            GENERATOR_PATCH => Some(FindingKind::Patch),
            GENERATOR_ROLLUP => Some(FindingKind::Rollup),
            GENERATOR_STALE => Some(FindingKind::StaleScan),
            _ => None,
        })
    }

    /// Whether a patchhub generator made it.
    pub fn is_patchhub(&self) -> bool {
        self.generator_id.starts_with(GENERATOR_PREFIX)
    }

    /// The managed node id (`patchhub/NodeId`).
    pub fn node_id(&self) -> Option<&str> {
        self.product_fields.get(fields::NODE_ID).map(String::as_str)
    }

    /// The patch id (`patchhub/PatchId`), patch findings only.
    pub fn patch_id(&self) -> Option<&str> {
        self.product_fields
            .get(fields::PATCH_ID)
            .map(String::as_str)
    }

    /// End of the patch operation the content was built from (`patchhub/ScanTime`).
    pub fn scan_time(&self) -> Option<DateTime<Utc>> {
        self.product_fields
            .get(fields::SCAN_TIME)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    /// Execution id of that operation (`patchhub/ExecutionId`).
    pub fn execution_id(&self) -> Option<&str> {
        self.product_fields
            .get(fields::EXECUTION_ID)
            .map(String::as_str)
    }

    /// The stored content fingerprint (`patchhub/Fingerprint`), as written at import.
    pub fn fingerprint(&self) -> Option<&str> {
        self.product_fields
            .get(fields::FINGERPRINT)
            .map(String::as_str)
    }

    /// Record state is ACTIVE.
    pub fn is_active(&self) -> bool {
        self.record_state == RecordState::Active
    }
}
