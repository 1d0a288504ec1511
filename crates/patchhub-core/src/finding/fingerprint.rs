//! The content fingerprint: what it covers, how it is computed and stored, how a finding is
//! kept inside the size budget before it is sealed, and which of two findings of one `Id` wins.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::kind::{TYPE_CVE, fields};
use super::parts::{
    Compliance, FindingProviderFields, FindingSeverity, PatchSummary, RecordState, Remediation,
    Resource, Vulnerability,
};
use super::record::Finding;
use crate::limits;
use crate::text::truncate;

/// The content a fingerprint covers: the finding minus its four timestamps, the stored
/// fingerprint and Security Hub's `aws/` product fields.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FingerprintView<'a> {
    schema_version: &'a str,
    id: &'a str,
    product_arn: &'a str,
    product_name: &'a Option<String>,
    company_name: &'a Option<String>,
    region: &'a Option<String>,
    generator_id: &'a str,
    aws_account_id: &'a str,
    types: &'a [String],
    severity: &'a FindingSeverity,
    title: &'a str,
    description: &'a str,
    remediation: &'a Option<Remediation>,
    source_url: &'a Option<String>,
    product_fields: ContentFields<'a>,
    resources: &'a [Resource],
    compliance: &'a Option<Compliance>,
    patch_summary: Option<PatchSummary>,
    vulnerabilities: &'a [Vulnerability],
    finding_provider_fields: &'a Option<FindingProviderFields>,
    record_state: RecordState,
}

impl<'a> FingerprintView<'a> {
    fn of(f: &'a Finding) -> Self {
        // Destructured without `..`: a new Finding field fails to compile until it is
        // either hashed here or deliberately ignored.
        let Finding {
            schema_version,
            id,
            product_arn,
            product_name,
            company_name,
            region,
            generator_id,
            aws_account_id,
            types,
            first_observed_at: _,
            last_observed_at: _,
            created_at: _,
            updated_at: _,
            severity,
            title,
            description,
            remediation,
            source_url,
            product_fields,
            resources,
            compliance,
            patch_summary,
            vulnerabilities,
            finding_provider_fields,
            record_state,
        } = f;
        FingerprintView {
            schema_version,
            id,
            product_arn,
            product_name,
            company_name,
            region,
            generator_id,
            aws_account_id,
            types,
            severity,
            title,
            description,
            remediation,
            source_url,
            product_fields: ContentFields(product_fields),
            resources,
            compliance,
            patch_summary: patch_summary.as_ref().map(summary_content),
            vulnerabilities,
            finding_provider_fields,
            record_state: *record_state,
        }
    }
}

/// `PatchSummary` without the operation that last confirmed it: a scan that finds the same
/// counts says nothing new, so its times, its kind (`SCAN`/`INSTALL`) and its reboot option are
/// bookkeeping, carried to Security Hub only when the finding is imported for another reason
/// (a change of substance or the retention heartbeat). A copy (only roll-ups have one).
fn summary_content(p: &PatchSummary) -> PatchSummary {
    PatchSummary {
        operation_start_time: None,
        operation_end_time: None,
        reboot_option: None,
        operation: None,
        ..p.clone()
    }
}

/// ProductFields without the fingerprint, the scan bookkeeping and Security Hub's `aws/` keys.
struct ContentFields<'a>(&'a BTreeMap<String, String>);

impl Serialize for ContentFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                // Which scan last confirmed a finding is bookkeeping, not content: a rescan
                // that changes nothing must not cost an update, of a patch finding or of the
                // roll-up (whose PatchSummary operation fields are left out too). Days open
                // follow from FirstObservedAt and would otherwise change every finding every day.
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        fields::FINGERPRINT
                            | fields::SCAN_TIME
                            | fields::EXECUTION_ID
                            | fields::OPERATION
                            | fields::DAYS_OPEN
                    ) && !k.starts_with("aws/")
                }),
        )
    }
}

impl Finding {
    /// SHA-256 (hex) of the finding's content: everything except `CreatedAt`, `UpdatedAt`,
    /// `FirstObservedAt`, `LastObservedAt`, the fingerprint itself, the scan bookkeeping
    /// fields (`patchhub/ScanTime`, `patchhub/ExecutionId`, `patchhub/Operation`, and
    /// `PatchSummary`'s operation times, operation and reboot option) and the
    /// `aws/` product fields Security Hub adds on its side. Two findings with the same
    /// fingerprint say the same thing, so re-importing one would only cost an ingestion
    /// event; in particular a rescan that finds the same patch missing does not update it.
    pub fn compute_fingerprint(&self) -> String {
        self.fingerprint_and_size().0
    }

    /// The fingerprint plus an upper bound of the serialized size, from one serialization
    /// of a borrowed view (no copy of the finding).
    pub(crate) fn fingerprint_and_size(&self) -> (String, usize) {
        // One buffer and one hash update beat hundreds of tiny writes into the hasher.
        // Serializing plain data into a Vec cannot fail.
        let bytes = serde_json::to_vec(&FingerprintView::of(self)).unwrap_or_default();
        let mut h = Sha256::new();
        h.update(b"patchhub-finding-v1\n");
        h.update(&bytes);
        // The real finding adds the fingerprint entry (~100 bytes) and the four timestamps
        // (~40 bytes each, unless a year has more than four digits).
        (hex::encode(h.finalize()), bytes.len() + 512)
    }

    /// Stores [`Finding::compute_fingerprint`] in `patchhub/Fingerprint`.
    pub fn seal(&mut self) {
        let fp = self.compute_fingerprint();
        self.product_fields
            .insert(fields::FINGERPRINT.to_string(), fp);
    }
}

/// Seals the fingerprint after shedding optional detail until the finding is below the
/// soft size budget. The caps make shedding practically unreachable; this is the proof
/// that no input can push a finding past 240 KB.
pub(crate) fn fit_and_seal(f: &mut Finding) {
    let mut trimmed_fields = false;
    loop {
        let (fp, size) = f.fingerprint_and_size();
        if size <= limits::SOFT_FINDING_BYTES || trimmed_fields {
            f.product_fields.insert(fields::FINGERPRINT.to_string(), fp);
            return;
        }
        if !f.vulnerabilities.is_empty() {
            let keep = f.vulnerabilities.len() / 2;
            f.vulnerabilities.truncate(keep);
            let total = f
                .product_fields
                .get(fields::CVE_COUNT)
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(0);
            f.product_fields.insert(
                fields::CVE_OVERFLOW.to_string(),
                total.saturating_sub(keep).to_string(),
            );
            if keep == 0 {
                f.types.retain(|t| t != TYPE_CVE);
                if let Some(fpf) = &mut f.finding_provider_fields {
                    fpf.types.retain(|t| t != TYPE_CVE);
                }
            }
        } else if f.resources.iter().any(|r| !r.tags.is_empty()) {
            f.resources.iter_mut().for_each(|r| r.tags.clear());
        } else if f
            .resources
            .iter()
            .any(|r| r.details.as_ref().is_some_and(|d| !d.other.is_empty()))
        {
            for r in &mut f.resources {
                if let Some(d) = &mut r.details {
                    d.other.clear();
                }
            }
        } else {
            for v in f.product_fields.values_mut() {
                *v = truncate(v, 64);
            }
            trimmed_fields = true;
        }
    }
}

/// Whether desired `a` should replace desired `b` with the same `Id`.
pub(crate) fn prefer(a: &Finding, b: &Finding) -> bool {
    match a.scan_time().cmp(&b.scan_time()) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => a.compute_fingerprint() < b.compute_fingerprint(),
    }
}

/// Puts `f` into `by_id` unless the finding already there under its `Id` is the one `wins`
/// keeps (`wins(a, b)`: whether `a` replaces `b`).
pub(crate) fn keep_by_id(
    by_id: &mut BTreeMap<String, Finding>,
    f: Finding,
    wins: fn(&Finding, &Finding) -> bool,
) {
    match by_id.get(&f.id) {
        Some(kept) if !wins(&f, kept) => {}
        _ => {
            by_id.insert(f.id.clone(), f);
        }
    }
}
