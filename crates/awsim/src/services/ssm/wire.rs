//! The awsJson side of SSM: reading request members with the types the model gives them,
//! collecting constraint violations into the `ValidationException` message AWS builds, opaque
//! paging tokens, and timestamps as epoch seconds.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::protocol::AwsError;

/// Map members of string to list of strings, in request order.
pub(crate) type StringListMap<'a> = Vec<(&'a str, Vec<&'a str>)>;

/// A JSON object from the request body, read member by member.
#[derive(Clone, Copy)]
pub(crate) struct Input<'a> {
    obj: &'a Map<String, Value>,
}

fn serialization(member: &str, expected: &str) -> AwsError {
    AwsError::client(
        "SerializationException",
        format!("Member `{member}` must be {expected}"),
    )
}

impl<'a> Input<'a> {
    /// The request body, which must be a JSON object.
    pub(crate) fn new(v: &'a Value) -> Result<Self, AwsError> {
        v.as_object()
            .map(|obj| Input { obj })
            .ok_or_else(|| serialization("(body)", "a JSON object"))
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    /// The member `name` as `read` takes it, or a serialization error saying what it must be.
    fn typed<T>(
        &self,
        name: &str,
        expected: &str,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, AwsError> {
        self.get(name)
            .map(|v| read(v).ok_or_else(|| serialization(name, expected)))
            .transpose()
    }

    /// The list `name`, each item as `read` takes it.
    fn each<T>(
        &self,
        name: &str,
        expected: &str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<Vec<T>>, AwsError> {
        self.list(name)?
            .map(|items| {
                items
                    .iter()
                    .map(|v| read(v).ok_or_else(|| serialization(name, expected)))
                    .collect()
            })
            .transpose()
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<&'a str>, AwsError> {
        self.typed(name, "a string", Value::as_str)
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, AwsError> {
        self.typed(name, "an integer", Value::as_i64)
    }

    /// `MaxResults`, its range (`min..=max`, the operation's bounds) checked into `v`.
    pub(crate) fn max_results(
        &self,
        v: &mut Violations,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, AwsError> {
        let m = self.int("MaxResults")?;
        if let Some(m) = m {
            v.range("maxResults", m, min, max);
        }
        Ok(m)
    }

    pub(crate) fn list(&self, name: &str) -> Result<Option<&'a Vec<Value>>, AwsError> {
        self.typed(name, "a list", Value::as_array)
    }

    pub(crate) fn object(&self, name: &str) -> Result<Option<Input<'a>>, AwsError> {
        self.typed(name, "a structure", |v| {
            v.as_object().map(|obj| Input { obj })
        })
    }

    /// A list of strings.
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<&'a str>>, AwsError> {
        self.each(name, "a list of strings", Value::as_str)
    }

    /// A list of structures.
    pub(crate) fn objects(&self, name: &str) -> Result<Option<Vec<Input<'a>>>, AwsError> {
        self.each(name, "a list of structures", |v| {
            v.as_object().map(|obj| Input { obj })
        })
    }

    /// A map of string to string.
    pub(crate) fn string_map(
        &self,
        name: &str,
    ) -> Result<Option<Vec<(&'a str, &'a str)>>, AwsError> {
        self.map_of(name, "a map of strings", Value::as_str)
    }

    /// A map of string to list of strings (SendCommand `Parameters`).
    pub(crate) fn string_list_map(
        &self,
        name: &str,
    ) -> Result<Option<StringListMap<'a>>, AwsError> {
        self.map_of(name, "a map of string lists", |v| {
            v.as_array()?.iter().map(Value::as_str).collect()
        })
    }

    /// The map `name`, each value as `read` takes it.
    fn map_of<T>(
        &self,
        name: &str,
        expected: &str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<Vec<(&'a str, T)>>, AwsError> {
        let bad = || serialization(name, expected);
        self.typed(name, expected, Value::as_object)?
            .map(|obj| {
                obj.iter()
                    .map(|(k, v)| read(v).map(|t| (k.as_str(), t)).ok_or_else(bad))
                    .collect()
            })
            .transpose()
    }

    /// An awsJson timestamp: epoch seconds as a JSON number (fractions allowed).
    pub(crate) fn timestamp(&self, name: &str) -> Result<Option<DateTime<Utc>>, AwsError> {
        self.typed(name, "a timestamp (epoch seconds)", Value::as_f64)?
            .map(|secs| {
                from_epoch(secs).ok_or_else(|| serialization(name, "a timestamp within range"))
            })
            .transpose()
    }
}

fn from_epoch(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() {
        return None;
    }
    let millis = (secs * 1000.0).round() as i64;
    Utc.timestamp_millis_opt(millis).single()
}

/// A timestamp as awsJson sends it: epoch seconds, with milliseconds as a fraction.
pub(crate) fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

/// `yyyy-MM-dd'T'HH:mm:ss'Z'`, the format compliance item details use for times.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Constraint violations of one request, reported together as AWS does:
/// `2 validation errors detected: Value '51' at 'maxResults' failed to satisfy constraint: ...; ...`.
#[derive(Default)]
pub(crate) struct Violations(Vec<String>);

impl Violations {
    fn push(&mut self, value: &str, path: &str, constraint: &str) {
        self.0.push(format!(
            "Value {value} at '{path}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member is absent.
    pub(crate) fn null(&mut self, path: &str) {
        self.push("null", path, "Member must not be null");
    }

    /// A required member: absent is a violation, present is checked by `check` (with its path).
    pub(crate) fn required<T>(
        &mut self,
        path: &str,
        value: Option<T>,
        check: impl FnOnce(&mut Self, &str, T),
    ) {
        match value {
            None => self.null(path),
            Some(x) => check(self, path, x),
        }
    }

    /// An integer outside `min..=max`.
    pub(crate) fn range(&mut self, path: &str, value: i64, min: i64, max: i64) {
        self.bounds(path, &value.to_string(), "value", value, min, max);
    }

    /// A string or list whose length is outside `min..=max`; `shown` is how AWS prints it.
    pub(crate) fn length(&mut self, path: &str, shown: &str, len: usize, min: usize, max: usize) {
        self.bounds(path, shown, "length", len, min, max);
    }

    /// `n` (a value or a length, `what`) outside `min..=max`.
    fn bounds<T: PartialOrd + std::fmt::Display>(
        &mut self,
        path: &str,
        shown: &str,
        what: &str,
        n: T,
        min: T,
        max: T,
    ) {
        let limit = if n < min {
            format!("greater than or equal to {min}")
        } else if n > max {
            format!("less than or equal to {max}")
        } else {
            return;
        };
        self.push(
            &format!("'{shown}'"),
            path,
            &format!("Member must have {what} {limit}"),
        );
    }

    /// A string whose length is outside `min..=max`, shown as it is.
    pub(crate) fn text_length(&mut self, path: &str, value: &str, min: usize, max: usize) {
        self.length(path, value, value.len(), min, max);
    }

    /// A list of `len` structures outside `min..=max`, shown as AWS shows it (`[3 filters]`).
    pub(crate) fn count(&mut self, path: &str, len: usize, min: usize, max: usize) {
        self.length(path, &format!("[{len} {path}]"), len, min, max);
    }

    /// A string list's length.
    pub(crate) fn list_length(&mut self, path: &str, items: &[&str], min: usize, max: usize) {
        let shown = format!("[{}]", items.join(", "));
        self.length(path, &shown, items.len(), min, max);
    }

    /// A string that does not match the model's pattern.
    pub(crate) fn pattern(&mut self, path: &str, value: &str, ok: bool, pattern: &str) {
        if !ok {
            self.push(
                &format!("'{value}'"),
                path,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// List members that do not match the model's pattern.
    pub(crate) fn member_pattern(&mut self, path: &str, items: &[&str], ok: bool, pattern: &str) {
        if !ok {
            self.push(
                &format!("'[{}]'", items.join(", ")),
                path,
                &format!(
                    "Member must satisfy constraint: [Member must satisfy regular expression pattern: {pattern}]"
                ),
            );
        }
    }

    /// A string outside the model's enum.
    pub(crate) fn one_of(&mut self, path: &str, value: &str, allowed: &[&str]) {
        if !allowed.contains(&value) {
            self.push(
                &format!("'{value}'"),
                path,
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    allowed.join(", ")
                ),
            );
        }
    }

    /// `ValidationException` if anything was collected.
    pub(crate) fn finish(self) -> Result<(), AwsError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(AwsError::client(
                "ValidationException",
                format!(
                    "{n} validation error{} detected: {}",
                    if n == 1 { "" } else { "s" },
                    self.0.join("; ")
                ),
            )),
        }
    }
}

/// Where the next page starts: after `skip` items whose sort key is `key` (keys need not be
/// unique, so the count keeps duplicates apart). Tokens name a position in a sorted order, never
/// an offset, so a page boundary stays put when items come or go in between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub key: String,
    pub skip: usize,
}

fn checksum(payload: &str) -> String {
    hex::encode(&Sha256::digest(payload.as_bytes())[..4])
}

/// An opaque token for `op` resuming at `cursor`.
pub(crate) fn token(op: &str, cursor: &Cursor) -> String {
    let payload = format!("{op}\n{}\n{}", cursor.skip, cursor.key);
    format!("AAE{}{}", checksum(&payload), hex::encode(payload))
}

/// Decodes a `NextToken` minted by [`token`] for the same operation, or `InvalidNextToken`.
pub(crate) fn cursor(op: &str, token: Option<&str>) -> Result<Option<Cursor>, AwsError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let invalid = || AwsError::client("InvalidNextToken", "The specified token isn't valid.");
    let rest = token.strip_prefix("AAE").ok_or_else(invalid)?;
    if rest.len() < 8 || !rest.is_char_boundary(8) {
        return Err(invalid());
    }
    let (sum, body) = rest.split_at(8);
    let payload = hex::decode(body)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    if checksum(&payload) != sum {
        return Err(invalid());
    }
    let mut parts = payload.splitn(3, '\n');
    let (Some(tok_op), Some(skip), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if tok_op != op {
        return Err(invalid());
    }
    let skip = skip.parse().map_err(|_| invalid())?;
    Ok(Some(Cursor {
        key: key.to_string(),
        skip,
    }))
}

/// One page of `items` (sorted by `key`) starting at `cursor`: the page and the next cursor.
pub(crate) fn page<'t, T>(
    items: &'t [T],
    key: impl Fn(&T) -> &str,
    cursor: Option<&Cursor>,
    max: usize,
) -> (&'t [T], Option<Cursor>) {
    let start = match cursor {
        None => 0,
        Some(c) => {
            let first = items.partition_point(|t| key(t) < c.key.as_str());
            let same = items[first..]
                .iter()
                .take_while(|t| key(t) == c.key.as_str())
                .count();
            first + c.skip.min(same)
        }
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len() && end > start).then(|| {
        let last = key(&items[end - 1]);
        let first = items.partition_point(|t| key(t) < last);
        Cursor {
            key: last.to_string(),
            skip: end - first,
        }
    });
    (&items[start..end], next)
}

/// A UUID-shaped id (version 4 layout) derived from `seed`, so runs are reproducible.
pub(crate) fn uuid_from(seed: &str) -> String {
    let d = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A stable 64-bit hash of a string, for per-node details that must not change between calls.
pub(crate) fn hash64(s: &str) -> u64 {
    let d = Sha256::digest(s.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_tampering() {
        let c = Cursor {
            key: "i-0123\u{1}Patch".into(),
            skip: 2,
        };
        let t = token("ListX", &c);
        assert_eq!(cursor("ListX", Some(&t)).unwrap(), Some(c));
        assert!(cursor("ListY", Some(&t)).is_err());
        let mut bad = t.clone();
        bad.push('0');
        assert!(cursor("ListX", Some(&bad)).is_err());
        assert!(cursor("ListX", Some("garbage")).is_err());
        assert!(cursor("ListX", Some("AAEzzzzzzzzé")).is_err());
    }

    #[test]
    fn pages_keep_duplicates_apart() {
        let items = ["a", "b", "b", "b", "c"];
        fn k<'b>(s: &'b &str) -> &'b str {
            s
        }
        let (p1, c1) = page(&items, k, None, 2);
        assert_eq!(p1, ["a", "b"]);
        let (p2, c2) = page(&items, k, c1.as_ref(), 2);
        assert_eq!(p2, ["b", "b"]);
        let (p3, c3) = page(&items, k, c2.as_ref(), 2);
        assert_eq!(p3, ["c"]);
        assert!(c3.is_none());
    }

    #[test]
    fn violation_messages_match_aws() {
        let mut v = Violations::default();
        v.range("maxResults", 51, 5, 50);
        let e = v.finish().unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert_eq!(
            e.message,
            "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"
        );
    }

    #[test]
    fn uuids_have_the_v4_shape() {
        let u = uuid_from("x");
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(uuid_from("x"), u);
    }
}
