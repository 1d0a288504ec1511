//! Finding ids and the product ARN findings are imported under.

use sha2::{Digest, Sha256};

use crate::finding::FindingKind;
use crate::limits;

/// The default-product ARN findings are imported under:
/// `arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`.
pub fn product_arn(partition: &str, region: &str, account_id: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default")
}

/// The deterministic finding `Id`:
/// `patchhub/PARTITION/ACCOUNT/REGION/NODE/patch/PATCH`, `.../NODE/rollup`,
/// `.../NODE/stale-scan`. Readable and identical on every machine and run. Only when it
/// would exceed 512 chars or contain control characters is the patch part replaced by
/// `sha256-HEX` of the patch id (and, if still too long, the whole id by
/// `patchhub/sha256-HEX` of the readable form).
pub fn finding_id(
    partition: &str,
    account_id: &str,
    region: &str,
    node_id: &str,
    kind: FindingKind,
    patch_id: Option<&str>,
) -> String {
    let base = format!("patchhub/{partition}/{account_id}/{region}/{node_id}");
    let full = match kind {
        FindingKind::Patch => format!("{base}/patch/{}", patch_id.unwrap_or_default()),
        FindingKind::Rollup => format!("{base}/rollup"),
        FindingKind::StaleScan => format!("{base}/stale-scan"),
    };
    let usable =
        |s: &str| crate::text::len(s) <= limits::MAX_ID && !s.chars().any(char::is_control);
    if usable(&full) {
        return full;
    }
    if kind == FindingKind::Patch {
        let hashed = format!(
            "{base}/patch/sha256-{}",
            sha256_hex(patch_id.unwrap_or_default())
        );
        if usable(&hashed) {
            return hashed;
        }
    }
    format!("patchhub/sha256-{}", sha256_hex(&full))
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}
