//! CISA's Known Exploited Vulnerabilities catalog (KEV), read from its published JSON feed.
//!
//! The feed (`known_exploited_vulnerabilities.json`, schema
//! `known_exploited_vulnerabilities_schema.json`, both at
//! <https://www.cisa.gov/known-exploited-vulnerabilities-catalog>) is one object:
//! `title`, `catalogVersion`, `dateReleased` (RFC 3339), `count`, and `vulnerabilities[]`
//! whose entries carry `cveID`, `dateAdded` and `dueDate` (`YYYY-MM-DD`) among descriptive
//! fields patchhub does not need. A file that is not that shape is refused whole, with the
//! reason: silently skipping the catalog would hide exactly the findings it exists to raise.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;

/// CISA adds entries several times a week; a catalog older than this is worth a warning.
pub const KEV_STALE_AFTER_DAYS: i64 = 14;

/// One catalog entry, as much of it as deadlines need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevEntry {
    /// When CISA added the CVE to the catalog.
    pub date_added: NaiveDate,
    /// CISA's remediation due date (for US federal agencies under BOD 22-01; widely adopted).
    pub due_date: NaiveDate,
}

/// The catalog, indexed by upper-case CVE id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KevCatalog {
    /// `catalogVersion`, e.g. `2026.12.04`.
    pub version: String,
    /// `dateReleased`.
    pub released: DateTime<Utc>,
    entries: HashMap<String, KevEntry>,
}

/// Why a catalog file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct KevError {
    /// What is wrong, in one line.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    catalog_version: String,
    date_released: String,
    count: usize,
    vulnerabilities: Vec<FeedEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    date_added: String,
    due_date: String,
}

impl KevCatalog {
    /// Reads the published JSON. Refuses anything else: not JSON, missing fields, a `count`
    /// that disagrees with the entries (a truncated download), a malformed CVE id or date.
    pub fn from_json(text: &str) -> Result<Self, KevError> {
        let err = |reason: String| KevError { reason };
        let feed: Feed = serde_json::from_str(text).map_err(|e| {
            err(format!(
                "not a KEV catalog (expected CISA's known_exploited_vulnerabilities.json): {e}"
            ))
        })?;
        let released = DateTime::parse_from_rfc3339(feed.date_released.trim())
            .map_err(|e| err(format!("dateReleased {:?}: {e}", feed.date_released)))?
            .with_timezone(&Utc);
        if feed.count != feed.vulnerabilities.len() {
            return Err(err(format!(
                "count says {} entries but the file holds {} (truncated download?)",
                feed.count,
                feed.vulnerabilities.len()
            )));
        }
        let mut entries = HashMap::with_capacity(feed.vulnerabilities.len());
        for (i, v) in feed.vulnerabilities.into_iter().enumerate() {
            let cve = v.cve_id.trim().to_ascii_uppercase();
            if !is_cve_id(&cve) {
                return Err(err(format!(
                    "vulnerabilities[{i}].cveID {:?} is not a CVE id",
                    v.cve_id
                )));
            }
            let date = |field: &str, s: &str| {
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|e| {
                    err(format!(
                        "vulnerabilities[{i}].{field} {s:?} ({cve}): {e}, expected YYYY-MM-DD"
                    ))
                })
            };
            let entry = KevEntry {
                date_added: date("dateAdded", &v.date_added)?,
                due_date: date("dueDate", &v.due_date)?,
            };
            entries.insert(cve, entry);
        }
        Ok(KevCatalog {
            version: feed.catalog_version,
            released,
            entries,
        })
    }

    /// The entry for `cve` (any case), if the catalog lists it.
    pub fn get(&self, cve: &str) -> Option<&KevEntry> {
        self.entries.get(&cve.trim().to_ascii_uppercase())
    }

    /// Of `cves`, the listed ones with their entries, in the given order.
    pub fn listed<'a>(
        &'a self,
        cves: &'a [String],
    ) -> impl Iterator<Item = (&'a str, &'a KevEntry)> {
        cves.iter()
            .filter_map(|c| self.get(c).map(|e| (c.as_str(), e)))
    }

    /// How many CVEs the catalog lists.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog lists nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A one-line warning when the catalog was released more than
    /// [`KEV_STALE_AFTER_DAYS`] before `as_of`.
    pub fn staleness_warning(&self, as_of: DateTime<Utc>) -> Option<String> {
        let age = as_of - self.released;
        (age > Duration::days(KEV_STALE_AFTER_DAYS)).then(|| {
            format!(
                "KEV catalog {} was released {} days ago ({}); download a current one so newly exploited CVEs are flagged",
                self.version,
                age.num_days(),
                self.released.format("%Y-%m-%d")
            )
        })
    }
}

/// `CVE-YYYY-NNNN…` (four or more digits in the sequence part), upper case.
fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, seq)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && seq.len() >= 4
        && seq.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Two entries in the published shape (descriptive fields included, as CISA sends them).
    pub(crate) const SAMPLE: &str = r#"{
      "title": "CISA Catalog of Known Exploited Vulnerabilities",
      "catalogVersion": "2026.12.01",
      "dateReleased": "2026-12-01T15:02:11.1234Z",
      "count": 2,
      "vulnerabilities": [
        {"cveID": "CVE-2023-36563", "vendorProject": "Microsoft", "product": "WordPad",
         "vulnerabilityName": "Microsoft WordPad Information Disclosure Vulnerability",
         "dateAdded": "2023-10-10", "shortDescription": "…", "requiredAction": "Apply mitigations per vendor instructions.",
         "dueDate": "2023-10-31", "knownRansomwareCampaignUse": "Unknown", "notes": "", "cwes": ["CWE-200"]},
        {"cveID": "cve-2024-3094", "vendorProject": "Tukaani", "product": "xz",
         "vulnerabilityName": "xz backdoor", "dateAdded": "2024-04-01", "shortDescription": "…",
         "requiredAction": "…", "dueDate": "2024-04-22", "knownRansomwareCampaignUse": "Unknown", "notes": ""}
      ]
    }"#;

    #[test]
    fn reads_the_published_shape() {
        let k = KevCatalog::from_json(SAMPLE).unwrap();
        assert_eq!(k.len(), 2);
        assert_eq!(k.version, "2026.12.01");
        let e = k.get("CVE-2024-3094").unwrap();
        assert_eq!(e.due_date, NaiveDate::from_ymd_opt(2024, 4, 22).unwrap());
        assert_eq!(
            k.get("cve-2023-36563").unwrap().date_added,
            NaiveDate::from_ymd_opt(2023, 10, 10).unwrap()
        );
        assert!(k.get("CVE-2023-41763").is_none());
        let cves = vec!["CVE-2023-41763".to_string(), "CVE-2023-36563".to_string()];
        let listed: Vec<_> = k.listed(&cves).map(|(c, _)| c).collect();
        assert_eq!(listed, ["CVE-2023-36563"]);
    }

    #[test]
    fn malformed_catalogs_are_refused_with_the_reason() {
        let cases = [
            ("[]", "not a KEV catalog"),
            ("{\"catalogVersion\":\"x\"}", "not a KEV catalog"),
            (&SAMPLE.replace("\"count\": 2", "\"count\": 3"), "truncated"),
            (
                &SAMPLE.replace("cve-2024-3094", "XZ-1"),
                "\"XZ-1\" is not a CVE id",
            ),
            (
                &SAMPLE.replace("2024-04-22", "22/04/2024"),
                "dueDate \"22/04/2024\"",
            ),
            (
                &SAMPLE.replace("2026-12-01T15:02:11.1234Z", "yesterday"),
                "dateReleased",
            ),
        ];
        for (text, want) in cases {
            let e = KevCatalog::from_json(text).unwrap_err().to_string();
            assert!(e.contains(want), "{want}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn warns_when_the_catalog_is_old() {
        let k = KevCatalog::from_json(SAMPLE).unwrap();
        let fresh = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
        assert_eq!(k.staleness_warning(fresh), None);
        let late = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let w = k.staleness_warning(late).unwrap();
        assert!(w.contains("2026.12.01") && w.contains("30 days ago"), "{w}");
    }
}
