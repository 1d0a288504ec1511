//! Where each object goes in a Security Lake custom source: one custom source per OCSF class
//! (Security Lake: "deliver each unique OCSF event class as a separate source"), and under its
//! location the partitions `region=REGION/accountId=ACCOUNT/eventDay=YYYYMMDD/` of the account
//! and Region the records pertain to and the UTC day of their time.
//!
//! Sources: Amazon Security Lake User Guide, "Collecting data from custom sources in Security
//! Lake" (the partition path `ext/{custom-source-name}/region=…/accountId=…/eventDay=…`);
//! Security Lake API Reference, `CreateCustomLogSource` (a source name of at most 20 characters
//! keeps the provider role's name under IAM's 64; `sourceVersion`) and `CustomLogSourceResource`
//! (name pattern `[\w\-_:.]*`, version pattern `[A-Za-z0-9\-._]*`, 1..32). A source created with a
//! version has it as the next segment of its location (`ext/NAME/VERSION/`), as the location
//! `CreateCustomLogSource` returns shows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::encode::event_time;
use super::schema::OcsfClass;

/// Security Lake's longest custom source name that keeps its provider role name valid.
pub const MAX_SOURCE_NAME: usize = 20;

/// How patchhub names its custom sources: `{prefix}-vuln` and `{prefix}-compliance`, with an
/// optional source version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeLayout {
    prefix: String,
    version: Option<String>,
}

impl Default for LakeLayout {
    fn default() -> Self {
        LakeLayout {
            prefix: "patchhub".into(),
            version: None,
        }
    }
}

impl LakeLayout {
    /// Checks the names Security Lake would take: every source name at most 20 characters of
    /// letters, digits and `_ - : .`; a version of 1..32 letters, digits and `- . _`.
    pub fn new(prefix: &str, version: Option<&str>) -> Result<Self, String> {
        let name_char = |c: char| c.is_ascii_alphanumeric() || "_-:.".contains(c);
        if prefix.is_empty() || !prefix.chars().all(name_char) {
            return Err(format!(
                "source prefix `{prefix}`: use letters, digits and _ - : . (Security Lake's custom source names)"
            ));
        }
        let layout = LakeLayout {
            prefix: prefix.to_string(),
            version: version.map(str::to_string),
        };
        for class in OcsfClass::ALL {
            let name = layout.source_name(class);
            if name.len() > MAX_SOURCE_NAME {
                return Err(format!(
                    "source name `{name}` is longer than Security Lake's {MAX_SOURCE_NAME} characters: shorten the source prefix"
                ));
            }
        }
        if let Some(v) = version {
            let ok = (1..=32).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
            if !ok {
                return Err(format!(
                    "source version `{v}`: 1 to 32 letters, digits and - . _"
                ));
            }
        }
        Ok(layout)
    }

    /// The custom source that receives `class`.
    pub fn source_name(&self, class: OcsfClass) -> String {
        format!("{}-{}", self.prefix, class.source_suffix())
    }

    /// The source's location under the lake's root: `ext/NAME/` or `ext/NAME/VERSION/`.
    pub fn source_location(&self, class: OcsfClass) -> String {
        match &self.version {
            Some(v) => format!("ext/{}/{v}/", self.source_name(class)),
            None => format!("ext/{}/", self.source_name(class)),
        }
    }
}

/// One partition of one source: the objects of a class for one account, Region and UTC day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// The OCSF class (and so the source).
    pub class: OcsfClass,
    /// Region the records pertain to.
    pub region: String,
    /// Account the records pertain to.
    pub account: String,
    /// `YYYYMMDD` of the records' time, in UTC.
    pub event_day: String,
}

impl Partition {
    /// The key of an object named `object` in this partition, under the lake root `root`
    /// (`""` or a prefix ending in `/`).
    pub fn key(&self, root: &str, layout: &LakeLayout, object: &str) -> String {
        format!(
            "{root}{}region={}/accountId={}/eventDay={}/{object}",
            layout.source_location(self.class),
            self.region,
            self.account,
            self.event_day
        )
    }
}

/// Why an event has no place in the lake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The event's class is not one patchhub writes.
    #[error("event {index}: class_uid {class_uid} is not a class patchhub writes to Security Lake")]
    Class {
        /// Position of the event.
        index: usize,
        /// Its `class_uid`.
        class_uid: i64,
    },
    /// The event lacks what its partition is made of.
    #[error("event {index} has no {what}: Security Lake partitions by it")]
    Missing {
        /// Position of the event.
        index: usize,
        /// The missing attribute.
        what: &'static str,
    },
}

/// Groups events by partition: class, `cloud.region`, `cloud.account.uid` and the UTC day of
/// `time`.
pub fn partition(events: Vec<Value>) -> Result<BTreeMap<Partition, Vec<Value>>, LayoutError> {
    let mut out: BTreeMap<Partition, Vec<Value>> = BTreeMap::new();
    for (index, e) in events.into_iter().enumerate() {
        let class_uid = e.get("class_uid").and_then(Value::as_i64).unwrap_or(-1);
        let class =
            OcsfClass::from_uid(class_uid).ok_or(LayoutError::Class { index, class_uid })?;
        let text = |pointer: &str, what: &'static str| {
            e.pointer(pointer)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or(LayoutError::Missing { index, what })
        };
        let region = text("/cloud/region", "cloud.region")?;
        let account = text("/cloud/account/uid", "cloud.account.uid")?;
        let time = event_time(&e);
        let event_day = DateTime::<Utc>::from_timestamp_millis(time)
            .filter(|_| time != i64::MIN)
            .ok_or(LayoutError::Missing {
                index,
                what: "time",
            })?
            .format("%Y%m%d")
            .to_string();
        let key = Partition {
            class,
            region,
            account,
            event_day,
        };
        out.entry(key).or_default().push(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(class: i64, account: &str, region: &str, time: i64) -> Value {
        json!({"class_uid": class, "time": time, "cloud": {"region": region, "account": {"uid": account}}})
    }

    #[test]
    fn events_split_by_class_account_region_and_utc_day() {
        // 2026-12-06T23:59:59.999Z and 2026-12-07T00:00:00Z fall on two days.
        let late = 1_796_601_599_999;
        let events = vec![
            event(2002, "111111111111", "us-east-1", late),
            event(2002, "111111111111", "us-east-1", late + 1),
            event(2003, "111111111111", "us-east-1", late),
            event(2002, "222222222222", "eu-west-1", late),
            event(2002, "111111111111", "us-east-1", late - 1000),
        ];
        let parts = partition(events).unwrap();
        let layout = LakeLayout::default();
        let keys: Vec<(String, usize)> = parts
            .iter()
            .map(|(p, e)| (p.key("", &layout, "x.parquet"), e.len()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("ext/patchhub-vuln/region=eu-west-1/accountId=222222222222/eventDay=20261206/x.parquet".to_string(), 1),
                ("ext/patchhub-vuln/region=us-east-1/accountId=111111111111/eventDay=20261206/x.parquet".to_string(), 2),
                ("ext/patchhub-vuln/region=us-east-1/accountId=111111111111/eventDay=20261207/x.parquet".to_string(), 1),
                ("ext/patchhub-compliance/region=us-east-1/accountId=111111111111/eventDay=20261206/x.parquet".to_string(), 1),
            ]
        );
    }

    #[test]
    fn a_versioned_source_and_a_root_prefix_go_before_the_partitions() {
        let layout = LakeLayout::new("ph", Some("1.0")).unwrap();
        let p = Partition {
            class: OcsfClass::ComplianceFinding,
            region: "eu-west-1".into(),
            account: "111111111111".into(),
            event_day: "20261207".into(),
        };
        assert_eq!(
            p.key("lake/", &layout, "o.parquet"),
            "lake/ext/ph-compliance/1.0/region=eu-west-1/accountId=111111111111/eventDay=20261207/o.parquet"
        );
    }

    #[test]
    fn source_names_keep_security_lakes_rules() {
        assert!(LakeLayout::new("patchhub", None).is_ok());
        // `{prefix}-compliance` must stay within 20 characters.
        assert!(
            LakeLayout::new("patchhub-prod", None)
                .unwrap_err()
                .contains("20 characters")
        );
        assert!(LakeLayout::new("bad/name", None).is_err());
        assert!(LakeLayout::new("", None).is_err());
        assert!(LakeLayout::new("ph", Some("")).is_err());
        assert!(LakeLayout::new("ph", Some("1/0")).is_err());
    }

    #[test]
    fn events_without_their_partition_are_refused() {
        let no_account = json!({"class_uid": 2002, "time": 1, "cloud": {"region": "us-east-1"}});
        assert_eq!(
            partition(vec![no_account]).unwrap_err(),
            LayoutError::Missing {
                index: 0,
                what: "cloud.account.uid"
            }
        );
        let other = event(4001, "1", "us-east-1", 1);
        assert!(matches!(
            partition(vec![other]),
            Err(LayoutError::Class {
                class_uid: 4001,
                ..
            })
        ));
        let no_time = json!({"class_uid": 2002, "cloud": {"region": "r", "account": {"uid": "a"}}});
        assert_eq!(
            partition(vec![no_time]).unwrap_err(),
            LayoutError::Missing {
                index: 0,
                what: "time"
            }
        );
    }
}
