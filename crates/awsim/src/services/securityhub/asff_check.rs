//! The field checks every ASFF object shares: a string's presence and length, a timestamp, an
//! enum value, a bounded integer, each error naming the field by its JSON path the way the
//! service's JSON-schema messages do (`data.Resources[0].Id should NOT be longer than 512
//! characters`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Parses an ASFF timestamp (RFC 3339 with `Z` or an offset, optional fraction).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    // AWS requires the `T` separator; chrono also accepts a space.
    if s.len() < 20 || s.as_bytes().get(10) != Some(&b'T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Field checks on one JSON object, naming fields by their path for messages.
pub(crate) struct Ctx<'a> {
    pub(crate) obj: &'a Map<String, Value>,
    pub(crate) at: &'a str,
}

impl<'a> Ctx<'a> {
    pub(crate) fn path(&self, key: &str) -> String {
        if self.at.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.at)
        }
    }

    pub(crate) fn required_str(
        &self,
        key: &str,
        min: usize,
        max: usize,
    ) -> Result<&'a str, String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Err(format!(
                "{} should have required property '{key}'",
                if self.at.is_empty() { "data" } else { self.at }
            )),
            Some(v) => self.check_str(key, v, min, max),
        }
    }

    pub(crate) fn optional_str(&self, key: &str, min: usize, max: usize) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => self.check_str(key, v, min, max).map(|_| ()),
        }
    }

    pub(crate) fn check_str(
        &self,
        key: &str,
        v: &'a Value,
        min: usize,
        max: usize,
    ) -> Result<&'a str, String> {
        let s = v
            .as_str()
            .ok_or_else(|| format!("{} should be string", self.path(key)))?;
        let n = s.chars().count();
        if n < min {
            return Err(format!(
                "{} should NOT be shorter than {min} characters",
                self.path(key)
            ));
        }
        if n > max {
            return Err(format!(
                "{} should NOT be longer than {max} characters",
                self.path(key)
            ));
        }
        Ok(s)
    }

    pub(crate) fn required_time(&self, key: &str) -> Result<(), String> {
        let s = self.required_str(key, 1, 64)?;
        parse_time(s).map(|_| ()).ok_or_else(|| {
            format!(
                "{} should match format \"date-time\" (RFC 3339, e.g. 2024-01-02T03:04:05.000Z): got \"{s}\"",
                self.path(key)
            )
        })
    }

    pub(crate) fn optional_time(&self, key: &str) -> Result<(), String> {
        if self.obj.get(key).is_none_or(Value::is_null) {
            return Ok(());
        }
        self.required_time(key)
    }

    pub(crate) fn optional_enum(&self, key: &str, allowed: &[&str]) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
            Some(_) => Err(format!(
                "{} should be equal to one of the allowed values: {}",
                self.path(key),
                allowed.join(", ")
            )),
        }
    }

    /// An integer from 0 to 100 (`Confidence`, `Criticality`, `Severity.Normalized`).
    pub(crate) fn optional_ratio(&self, key: &str) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => match v.as_i64() {
                Some(n) if (0..=100).contains(&n) => Ok(()),
                Some(_) => Err(format!("{} should be <= 100 and >= 0", self.path(key))),
                None => Err(format!("{} should be integer", self.path(key))),
            },
        }
    }

    /// An integer from `min` to `max` (`PatchSummary` counts: 0 to 100000).
    pub(crate) fn optional_int(&self, key: &str, min: i64, max: i64) -> Result<(), String> {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(v) => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                Some(_) => Err(format!(
                    "{} should be <= {max} and >= {min}",
                    self.path(key)
                )),
                None => Err(format!("{} should be integer", self.path(key))),
            },
        }
    }

    /// The object under `key`, if present, as a context for its own fields.
    pub(crate) fn child<'b>(&self, key: &str, at: &'b str) -> Result<Option<Ctx<'b>>, String>
    where
        'a: 'b,
    {
        match self.obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(obj)) => Ok(Some(Ctx { obj, at })),
            Some(_) => Err(format!("{at} should be object")),
        }
    }
}

/// Runs `check` on each object of `items` (the array at JSON path `at`), as `at[i]`.
pub(crate) fn each_object(
    items: &[Value],
    at: &str,
    mut check: impl FnMut(&Ctx) -> Result<(), String>,
) -> Result<(), String> {
    for (i, item) in items.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| format!("{here} should be object"))?;
        check(&Ctx { obj, at: &here })?;
    }
    Ok(())
}
