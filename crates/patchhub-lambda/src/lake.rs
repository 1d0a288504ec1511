//! The optional Security Lake sink: after each sync, the OCSF events of the findings it
//! imported (created, updated, resolved, reopened) go to the Security Lake custom sources as
//! Parquet, in the layout `patchhub export --format ocsf-parquet` writes (`patchhub_aws::lake`).
//!
//! Security Lake is an append-only store of events: each invocation adds the changes it made,
//! while the CLI's export adds a snapshot of the whole fleet. Retention refreshes (the same
//! finding re-sent unchanged so it outlives Security Hub's 90 days) are not changes and are left
//! out, so an invocation that changed nothing writes nothing.
//!
//! Configuration: `PATCHHUB_LAKE_S3_URI` (the lake's root, `s3://BUCKET[/PREFIX]`) turns it on;
//! `PATCHHUB_LAKE_ROLE_ARN` names the custom sources' provider roles to write through (one for
//! both sources, or one per source), `PATCHHUB_LAKE_EXTERNAL_ID` the external id their trust
//! policy asks for; `PATCHHUB_LAKE_SOURCE_PREFIX` and `PATCHHUB_LAKE_SOURCE_VERSION` are the
//! CLI export's; `PATCHHUB_LAKE_REGION` is the bucket's Region when it is not the function's.
//! Security Lake creates a provider role per custom source and lets it write that
//! source's location ("Collecting data from custom sources in Security Lake",
//! <https://docs.aws.amazon.com/security-lake/latest/userguide/custom-sources.html>;
//! `CustomLogSourceProvider`,
//! <https://docs.aws.amazon.com/security-lake/latest/APIReference/API_CustomLogSourceProvider.html>).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::{Region, SdkConfig};
use chrono::{DateTime, Utc};
use patchhub_aws::clients;
use patchhub_aws::lake::{self, Destination, LakeLayout, ObjectWriter, OcsfClass};
use patchhub_aws::sync::FindingObserver;
use patchhub_aws::targets::{is_account_id, shown};
use patchhub_core::reconcile::Change;
use serde_json::Value;

/// The lake's root: `s3://BUCKET[/PREFIX]`; unset or empty, the sink is off.
pub const S3_URI_VAR: &str = "PATCHHUB_LAKE_S3_URI";
/// One provider role for both sources, or two (comma-separated), one per source.
pub const ROLE_ARN_VAR: &str = "PATCHHUB_LAKE_ROLE_ARN";
/// The external id of the provider roles' trust policy.
pub const EXTERNAL_ID_VAR: &str = "PATCHHUB_LAKE_EXTERNAL_ID";
/// The custom sources' name prefix, as the CLI's `--source-prefix`.
pub const SOURCE_PREFIX_VAR: &str = "PATCHHUB_LAKE_SOURCE_PREFIX";
/// The custom sources' version, as the CLI's `--source-version`.
pub const SOURCE_VERSION_VAR: &str = "PATCHHUB_LAKE_SOURCE_VERSION";
/// The Region of the lake's bucket, when it is not the function's (a rollup Region: the
/// partitions still name the Region each event pertains to).
pub const REGION_VAR: &str = "PATCHHUB_LAKE_REGION";

/// The session name the provider roles are assumed with (it shows in CloudTrail).
const SESSION_NAME: &str = "patchhub-lake";

/// Where and as whom the sink writes.
#[derive(Debug, Clone, PartialEq)]
pub struct LakeConfig {
    /// The lake's root (an S3 bucket and prefix).
    pub dest: Destination,
    /// Source names and version.
    pub layout: LakeLayout,
    /// The role each source is written through; empty: the function's own role.
    pub roles: BTreeMap<OcsfClass, String>,
    /// The provider roles' external id.
    pub external_id: Option<String>,
    /// The bucket's Region; `None`: the function's.
    pub region: Option<String>,
}

fn set(get: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    get(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// IAM role ARNs as `CustomLogSourceProvider.roleArn`'s pattern has them:
/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let mut parts = rest.splitn(5, ':');
    let (Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let name = resource.strip_prefix("role/").unwrap_or_default();
    partition.starts_with("aws")
        && is_account_id(account)
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_/".contains(c))
}

/// Which role writes which source: one role writes both; of two, each must be the provider role
/// Security Lake made for one source (`AmazonSecurityLake-Provider-{source}-{region}`).
fn route(arns: &[String], layout: &LakeLayout) -> Result<BTreeMap<OcsfClass, String>, String> {
    match arns {
        [] => Ok(BTreeMap::new()),
        [one] => Ok(OcsfClass::ALL.map(|c| (c, one.clone())).into()),
        [_, _] => {
            let mut out = BTreeMap::new();
            for class in OcsfClass::ALL {
                let marker = format!("Provider-{}-", layout.source_name(class));
                let mut of_source = arns.iter().filter(|a| a.contains(&marker));
                match (of_source.next(), of_source.next()) {
                    (Some(arn), None) => {
                        out.insert(class, arn.clone());
                    }
                    _ => {
                        return Err(format!(
                            "{ROLE_ARN_VAR}: of two roles, each must be the provider role of one source (AmazonSecurityLake-Provider-{}-REGION); none or both are",
                            layout.source_name(class)
                        ));
                    }
                }
            }
            Ok(out)
        }
        _ => Err(format!(
            "{ROLE_ARN_VAR}: at most two roles (one per source: {}, {})",
            layout.source_name(OcsfClass::VulnerabilityFinding),
            layout.source_name(OcsfClass::ComplianceFinding)
        )),
    }
}

impl LakeConfig {
    /// Reads the sink's variables through `get`; `None` when it is off or a value is bad (each
    /// bad value is added to `errors`, one line naming the variable and the fix).
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        errors: &mut Vec<String>,
    ) -> Option<Self> {
        let before = errors.len();
        let Some(uri) = set(&get, S3_URI_VAR) else {
            for var in [ROLE_ARN_VAR, EXTERNAL_ID_VAR] {
                if set(&get, var).is_some() {
                    errors.push(format!(
                        "{var} is set but {S3_URI_VAR} is not: set {S3_URI_VAR} to the Security Lake bucket (s3://aws-security-data-lake-REGION-ID) or clear {var}"
                    ));
                }
            }
            return None;
        };
        let dest = match uri.strip_prefix("s3://") {
            None => {
                errors.push(format!(
                    "{S3_URI_VAR}=`{}`: use s3://BUCKET[/PREFIX], the Security Lake bucket (s3://aws-security-data-lake-REGION-ID)",
                    shown(&uri)
                ));
                None
            }
            Some(rest) if rest.split('/').any(|seg| seg == "ext") => {
                errors.push(format!(
                    "{S3_URI_VAR}=`{}`: that is a custom source's location; give the lake's root s3://BUCKET (patchhub adds ext/SOURCE/ for each of its sources)",
                    shown(&uri)
                ));
                None
            }
            Some(_) => Destination::parse(&uri)
                .map_err(|e| errors.push(format!("{S3_URI_VAR}={e}")))
                .ok(),
        };
        let prefix = set(&get, SOURCE_PREFIX_VAR).unwrap_or_else(|| "patchhub".into());
        let version = set(&get, SOURCE_VERSION_VAR);
        let layout = LakeLayout::new(&prefix, version.as_deref())
            .map_err(|e| {
                errors.push(format!(
                    "{SOURCE_PREFIX_VAR}/{SOURCE_VERSION_VAR}: {e} (as the sources are registered in Security Lake)"
                ))
            })
            .ok();
        let arns: Vec<String> = set(&get, ROLE_ARN_VAR)
            .map(|v| {
                v.split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for a in arns.iter().filter(|a| !is_role_arn(a)) {
            errors.push(format!(
                "{ROLE_ARN_VAR}=`{}`: use the provider role's ARN, arn:aws:iam::ACCOUNT:role/AmazonSecurityLake-Provider-SOURCE-REGION (or clear it to write with the function's role)",
                shown(a)
            ));
        }
        let region = set(&get, REGION_VAR);
        if let Some(r) = region
            .as_deref()
            .filter(|r| !patchhub_aws::targets::is_region(r))
        {
            errors.push(format!(
                "{REGION_VAR}=`{}`: use the Region of the Security Lake bucket, e.g. us-east-1 (or clear it for the function's own)",
                shown(r)
            ));
        }
        let external_id = set(&get, EXTERNAL_ID_VAR);
        // STS's AssumeRole: ExternalId is 2..1224 characters of [\w+=,.@:/-].
        if let Some(x) = &external_id {
            let ok = (2..=1224).contains(&x.len())
                && x.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
            if !ok {
                errors.push(format!(
                    "{EXTERNAL_ID_VAR}: 2 to 1224 letters, digits and _+=,.@:/- (the external id given when the custom source was created)"
                ));
            }
        }
        let roles = match &layout {
            Some(l) if errors.len() == before => route(&arns, l)
                .map_err(|e| errors.push(e))
                .unwrap_or_default(),
            _ => BTreeMap::new(),
        };
        match (dest, layout) {
            (Some(dest), Some(layout)) if errors.len() == before => Some(LakeConfig {
                dest,
                layout,
                roles,
                external_id,
                region,
            }),
            _ => None,
        }
    }
}

/// What the sink did in one invocation, for its summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LakeOutcome {
    /// Objects written.
    pub objects: usize,
    /// Events in them.
    pub events: usize,
    /// Events not written, and why (one line).
    pub error: Option<String>,
}

/// The writers of each source, built once per cold start.
#[derive(Debug)]
pub struct LakeSink {
    layout: LakeLayout,
    writers: BTreeMap<OcsfClass, ObjectWriter>,
}

/// Objects written by this process, so two syncs of one invocation (an SQS batch) never name
/// an object alike.
static OBJECTS: AtomicU64 = AtomicU64::new(0);

impl LakeSink {
    /// The sink of `config`, its S3 clients from `sdk` (as the provider roles, when named).
    pub async fn new(sdk: &SdkConfig, config: &LakeConfig) -> Self {
        let sdk = &match &config.region {
            Some(r) => sdk.to_builder().region(Region::new(r.clone())).build(),
            None => sdk.clone(),
        };
        let mut as_role: BTreeMap<&str, SdkConfig> = BTreeMap::new();
        for arn in config.roles.values() {
            if !as_role.contains_key(arn.as_str()) {
                let c =
                    clients::as_role(sdk, arn, config.external_id.as_deref(), SESSION_NAME).await;
                as_role.insert(arn, c);
            }
        }
        let writers = OcsfClass::ALL
            .map(|class| {
                let base = config
                    .roles
                    .get(&class)
                    .and_then(|arn| as_role.get(arn.as_str()))
                    .unwrap_or(sdk);
                (class, ObjectWriter::new(base, config.dest.clone()))
            })
            .into();
        LakeSink {
            layout: config.layout.clone(),
            writers,
        }
    }

    /// An observer for a sync that keeps the OCSF event of every change it imports (a refresh
    /// is no change), and the events it keeps.
    pub fn collector() -> (FindingObserver, Arc<Mutex<Vec<Value>>>) {
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let into = events.clone();
        let observer: FindingObserver = Arc::new(move |f, change| {
            if change != Change::Refresh {
                let e = patchhub_core::ocsf::change_event(f, change);
                into.lock().unwrap_or_else(|p| p.into_inner()).push(e);
            }
        });
        (observer, events)
    }

    /// Writes `events` as Parquet objects named for `now` and `tag` (the invocation's request
    /// id), one per source, Region, account and day; nothing when there are none. Every object
    /// is tried; the ones that fail are named in the outcome's error.
    pub async fn write(&self, events: Vec<Value>, now: DateTime<Utc>, tag: &str) -> LakeOutcome {
        if events.is_empty() {
            return LakeOutcome::default();
        }
        let total = events.len();
        let seq = OBJECTS.fetch_add(1, Ordering::Relaxed);
        let tag = if tag.is_empty() {
            format!("{}-{seq}", std::process::id())
        } else {
            format!("{tag}-{seq}")
        };
        let object = lake::object_name(now, Some(&tag));
        let writer_for = |class: OcsfClass| &self.writers[&class];
        match lake::write_parquet_each(writer_for, &self.layout, events, &object).await {
            Err(e) => LakeOutcome {
                error: Some(format!(
                    "{total} OCSF event(s) not written to Security Lake: {e}"
                )),
                ..LakeOutcome::default()
            },
            Ok(w) => {
                let lost: usize = w.failed.iter().map(|f| f.events).sum();
                let error = w.failed.first().map(|first| {
                    format!(
                        "{lost} OCSF event(s) in {} object(s) not written to Security Lake (Security Hub has them; the next `patchhub export` carries their state): {}: {}",
                        w.failed.len(),
                        first.location,
                        first.error
                    )
                });
                LakeOutcome {
                    objects: w.written.len(),
                    events: w.written.iter().map(|x| x.events).sum(),
                    error,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VULN_ROLE: &str =
        "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-patchhub-vuln-us-east-1";
    const COMP_ROLE: &str =
        "arn:aws:iam::123456789012:role/AmazonSecurityLake-Provider-patchhub-compliance-us-east-1";

    fn from(pairs: &[(&str, &str)]) -> (Option<LakeConfig>, Vec<String>) {
        let mut errors = Vec::new();
        let c = LakeConfig::from_env(
            |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            },
            &mut errors,
        );
        (c, errors)
    }

    #[test]
    fn off_unless_the_uri_is_set() {
        assert_eq!(from(&[]), (None, vec![]));
        assert_eq!(from(&[(S3_URI_VAR, " ")]), (None, vec![]));
        let (c, e) = from(&[(ROLE_ARN_VAR, VULN_ROLE)]);
        assert!(c.is_none());
        assert!(
            e[0].starts_with("PATCHHUB_LAKE_ROLE_ARN is set but"),
            "{e:?}"
        );
    }

    #[test]
    fn one_role_writes_both_sources_two_are_routed_by_name() {
        let (c, e) = from(&[(S3_URI_VAR, "s3://aws-security-data-lake-us-east-1-abc")]);
        assert!(e.is_empty(), "{e:?}");
        let c = c.unwrap();
        assert!(c.roles.is_empty());
        assert_eq!(c.layout, LakeLayout::default());

        let (c, _) = from(&[
            (S3_URI_VAR, "s3://lake-bucket/root/"),
            (ROLE_ARN_VAR, VULN_ROLE),
            (EXTERNAL_ID_VAR, "patchhub-x1"),
        ]);
        let c = c.unwrap();
        assert_eq!(c.roles.values().collect::<Vec<_>>(), [VULN_ROLE, VULN_ROLE]);
        assert_eq!(c.external_id.as_deref(), Some("patchhub-x1"));

        let both = format!("{COMP_ROLE}, {VULN_ROLE}");
        let (c, e) = from(&[(S3_URI_VAR, "s3://lake-bucket"), (ROLE_ARN_VAR, &both)]);
        assert!(e.is_empty(), "{e:?}");
        let c = c.unwrap();
        assert_eq!(c.roles[&OcsfClass::VulnerabilityFinding], VULN_ROLE);
        assert_eq!(c.roles[&OcsfClass::ComplianceFinding], COMP_ROLE);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        let cases: [(&[(&str, &str)], &str); 8] = [
            (
                &[(S3_URI_VAR, "lake-bucket")],
                "PATCHHUB_LAKE_S3_URI=`lake-bucket`: use s3://",
            ),
            (
                &[(S3_URI_VAR, "s3://Bad_Bucket")],
                "PATCHHUB_LAKE_S3_URI=s3://Bad_Bucket: `Bad_Bucket` is not an S3 bucket name",
            ),
            (
                &[(S3_URI_VAR, "s3://lake-bucket/ext/patchhub-vuln/")],
                "custom source's location",
            ),
            (
                &[
                    (S3_URI_VAR, "s3://lake-bucket"),
                    (ROLE_ARN_VAR, "AmazonSecurityLake-Provider-x"),
                ],
                "PATCHHUB_LAKE_ROLE_ARN=`AmazonSecurityLake-Provider-x`: use the provider role's ARN",
            ),
            (
                &[
                    (S3_URI_VAR, "s3://lake-bucket"),
                    (
                        ROLE_ARN_VAR,
                        "arn:aws:iam::123456789012:role/A,arn:aws:iam::123456789012:role/B",
                    ),
                ],
                "of two roles, each must be the provider role of one source",
            ),
            (
                &[(S3_URI_VAR, "s3://lake-bucket"), (EXTERNAL_ID_VAR, "x")],
                "PATCHHUB_LAKE_EXTERNAL_ID: 2 to 1224",
            ),
            (
                &[(S3_URI_VAR, "s3://lake-bucket"), (REGION_VAR, "mars")],
                "PATCHHUB_LAKE_REGION=`mars`: use the Region",
            ),
            (
                &[
                    (S3_URI_VAR, "s3://lake-bucket"),
                    (SOURCE_PREFIX_VAR, "a-much-too-long-prefix"),
                ],
                "PATCHHUB_LAKE_SOURCE_PREFIX/PATCHHUB_LAKE_SOURCE_VERSION: source name",
            ),
        ];
        for (pairs, expected) in cases {
            let (c, e) = from(pairs);
            assert!(c.is_none(), "{pairs:?}");
            assert_eq!(e.len(), 1, "{pairs:?}: {e:?}");
            assert!(e[0].contains(expected), "{pairs:?}: {}", e[0]);
            assert!(!e[0].contains('\n'), "one line: {}", e[0]);
        }
    }
}
