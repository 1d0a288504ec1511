//! The deadline policy of a run from raw strings (the deadline fields of [`PolicySettings`]) (CLI flags or the Lambda's `PATCHHUB_*`
//! environment), with the KEV catalog read from a file. Every bad value is reported at once,
//! naming the flag or variable, the value and the fix; a catalog that cannot be used is an
//! error, never a silent skip, and an old one is a warning.

use std::path::Path;

use chrono::{DateTime, Utc};
use patchhub_core::deadline::{DeadlinePolicy, KevCatalog, SlaPolicy};

use crate::settings::{PolicySettings, Problems, Setting, given};

/// A run's deadline policy and the instant it is judged at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deadlines {
    /// The policy (off by default).
    pub policy: DeadlinePolicy,
    /// `--as-of`; `None` judges at the run's clock.
    pub as_of: Option<DateTime<Utc>>,
    /// Things worth saying that do not stop the run (an old catalog).
    pub warnings: Vec<String>,
}

/// The deadlines, with errors naming each setting as `name` spells it; `now` dates the
/// catalog's staleness warning. Reads the catalog file.
pub fn deadlines_from_settings(
    s: &PolicySettings,
    name: impl Fn(Setting) -> &'static str,
    now: DateTime<Utc>,
) -> Result<Deadlines, Vec<String>> {
    let mut problems = Problems::new(name);
    let mut d = Deadlines::default();
    if let Some(v) = given(&s.sla) {
        match v.parse::<SlaPolicy>() {
            Ok(p) => d.policy.sla = p,
            Err(e) => problems.bad(Setting::Sla, v, e.reason),
        }
    }
    if let Some(v) = given(&s.escalate_breached) {
        match v.to_ascii_lowercase().as_str() {
            "true" => d.policy.escalate_breached = true,
            "false" => d.policy.escalate_breached = false,
            _ => problems.bad(Setting::EscalateBreached, v, "use true or false".into()),
        }
    }
    if let Some(v) = given(&s.as_of) {
        match DateTime::parse_from_rfc3339(v) {
            Ok(t) => d.as_of = Some(t.with_timezone(&Utc)),
            Err(e) => problems.bad(
                Setting::AsOf,
                v,
                format!("{e} (write an RFC 3339 time, e.g. 2026-12-07T00:00:00Z)"),
            ),
        }
    }
    if let Some(v) = given(&s.kev) {
        match read_kev(Path::new(v)) {
            Ok(k) => {
                let at = d.as_of.unwrap_or(now);
                if let Some(w) = k.staleness_warning(at) {
                    d.warnings.push(format!("{v}: {w}"));
                }
                d.policy.kev = Some(k);
            }
            Err(why) => problems.bad(Setting::Kev, v, why),
        }
    }
    problems.result(d)
}

/// The catalog at `path`, or why not (one line).
fn read_kev(path: &Path) -> Result<KevCatalog, String> {
    if path.to_str().is_some_and(|p| p.starts_with("s3://")) {
        return Err(
            "reading the catalog from S3 is not supported yet; download it to a file \
             (https://www.cisa.gov/known-exploited-vulnerabilities-catalog)"
                .into(),
        );
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("cannot read it: {e} (download CISA's known_exploited_vulnerabilities.json)")
    })?;
    KevCatalog::from_json(&text).map_err(|e| e.reason)
}

#[cfg(test)]
mod tests {

    use chrono::TimeZone;

    use super::*;
    use crate::settings::tests::env;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap()
    }

    /// A scratch directory of this test process.
    fn scratch(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("patchhub-kev-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn catalog(dir: &Path, released: &str, body: &str) -> String {
        let path = dir.join(format!("kev-{released}.json"));
        std::fs::write(
            &path,
            format!(
                r#"{{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"v",
                "dateReleased":"{released}T00:00:00Z",{body}}}"#
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    }

    #[test]
    fn nothing_set_is_off() {
        let d = deadlines_from_settings(&env(&[]), Setting::env_var, now()).unwrap();
        assert!(d.policy.is_off() && d.as_of.is_none() && d.warnings.is_empty());
    }

    #[test]
    fn every_variable_is_read_and_an_old_catalog_warns() {
        let dir = scratch("read");
        let kev = catalog(
            &dir,
            "2026-10-01",
            r#""count":1,"vulnerabilities":[{"cveID":"CVE-2026-0001","dateAdded":"2026-09-01","dueDate":"2026-09-22"}]"#,
        );
        let d = deadlines_from_settings(
            &env(&[
                ("PATCHHUB_SLA", "critical=15d"),
                ("PATCHHUB_KEV", &kev),
                ("PATCHHUB_ESCALATE_BREACHED", "TRUE"),
                ("PATCHHUB_AS_OF", "2026-12-01T00:00:00Z"),
            ]),
            Setting::env_var,
            now(),
        )
        .unwrap();
        assert_eq!(d.policy.sla.to_string(), "critical=15d");
        assert!(d.policy.escalate_breached);
        assert_eq!(d.policy.kev.as_ref().unwrap().len(), 1);
        assert_eq!(
            d.as_of,
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap())
        );
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("61 days ago"), "{:?}", d.warnings);
    }

    #[test]
    fn bad_values_are_all_named_with_their_fix() {
        let dir = scratch("bad");
        let truncated = catalog(&dir, "2026-12-01", r#""count":5,"vulnerabilities":[]"#);
        let errors = deadlines_from_settings(
            &env(&[
                ("PATCHHUB_SLA", "urgent=1d"),
                ("PATCHHUB_KEV", &truncated),
                ("PATCHHUB_ESCALATE_BREACHED", "yes"),
                ("PATCHHUB_AS_OF", "tomorrow"),
            ]),
            Setting::flag,
            now(),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("--sla=`urgent=1d`"), "{errors:?}");
        assert!(
            errors[1].starts_with("--escalate-breached=`yes`"),
            "{errors:?}"
        );
        assert!(errors[2].contains("--as-of=`tomorrow`") && errors[2].contains("RFC 3339"));
        assert!(errors[3].contains("--kev=") && errors[3].contains("truncated"));
        let missing = deadlines_from_settings(
            &env(&[("PATCHHUB_KEV", "/nonexistent/kev.json")]),
            Setting::flag,
            now(),
        )
        .unwrap_err();
        assert!(missing[0].contains("cannot read it"), "{missing:?}");
        assert!(errors.iter().chain(&missing).all(|e| !e.contains('\n')));
    }
}
