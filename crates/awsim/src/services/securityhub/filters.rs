//! `AwsSecurityFindingFilters`: parsing and checking them with AWS's combination rules and
//! limits, matching findings, and choosing the most selective index of a store.
//!
//! Semantics, from the `StringFilter`/`MapFilter` documentation: on one attribute, `EQUALS`,
//! `PREFIX` and `CONTAINS` values are ORed and the `NOT_` forms are ANDed (positives first, then
//! negatives); different attributes are ANDed. `CONTAINS` (and `NOT_CONTAINS`) may only be combined
//! with themselves, and `EQUALS` not with `NOT_EQUALS`/`PREFIX_NOT_EQUALS`. A multi-valued
//! attribute (`ResourceId` of a finding with several resources) matches a positive comparison when
//! any value does and a negative one when no value matches its positive form. Map filters apply
//! these rules per `Key`; different keys are ANDed.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::fields::{
    Date, FIELDS, MapK, Num, Str, field_named, map_entry, map_values, numbers_of, strings_of,
    times_of,
};
use super::invalid_input;
use super::store::{FindingStore, Slot};
use super::validate::parse_time;
use crate::protocol::AwsError;

/// Filter attributes per request and values per attribute (`GetFindings` documentation).
const MAX_ATTRIBUTES: usize = 10;
const MAX_VALUES: usize = 20;

/// A string comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Equals,
    Prefix,
    Contains,
    NotEquals,
    PrefixNotEquals,
    NotContains,
}

impl Cmp {
    fn parse(s: &str, map: bool) -> Option<Cmp> {
        Some(match s {
            "EQUALS" => Cmp::Equals,
            "NOT_EQUALS" => Cmp::NotEquals,
            "CONTAINS" => Cmp::Contains,
            "NOT_CONTAINS" => Cmp::NotContains,
            "PREFIX" if !map => Cmp::Prefix,
            "PREFIX_NOT_EQUALS" if !map => Cmp::PrefixNotEquals,
            _ => return None,
        })
    }

    fn negative(self) -> bool {
        matches!(
            self,
            Cmp::NotEquals | Cmp::PrefixNotEquals | Cmp::NotContains
        )
    }

    /// Whether `value` satisfies the positive form of this comparison.
    fn hits(self, value: &str, pattern: &str) -> bool {
        match self {
            Cmp::Equals | Cmp::NotEquals => value == pattern,
            Cmp::Prefix | Cmp::PrefixNotEquals => value.starts_with(pattern),
            Cmp::Contains | Cmp::NotContains => value.contains(pattern),
        }
    }
}

/// The comparisons on one attribute (or one map key): positives ORed, negatives ANDed.
#[derive(Debug, Default, Clone)]
struct Comparisons {
    pos: Vec<(Cmp, String)>,
    neg: Vec<(Cmp, String)>,
}

impl Comparisons {
    fn add(&mut self, c: Cmp, v: String) {
        if c.negative() {
            self.neg.push((c, v));
        } else {
            self.pos.push((c, v));
        }
    }

    /// AWS's combination rules.
    fn check(&self, what: &str) -> Result<(), AwsError> {
        let all: Vec<Cmp> = self.pos.iter().chain(&self.neg).map(|(c, _)| *c).collect();
        let has = |c: Cmp| all.contains(&c);
        if has(Cmp::Contains) && all.iter().any(|c| *c != Cmp::Contains) {
            return Err(invalid_input(format!(
                "{what}: CONTAINS filters can only be used with other CONTAINS filters"
            )));
        }
        if has(Cmp::NotContains) && all.iter().any(|c| *c != Cmp::NotContains) {
            return Err(invalid_input(format!(
                "{what}: NOT_CONTAINS filters can only be used with other NOT_CONTAINS filters"
            )));
        }
        if has(Cmp::Equals) && (has(Cmp::NotEquals) || has(Cmp::PrefixNotEquals)) {
            return Err(invalid_input(format!(
                "{what}: an EQUALS filter can't be combined with NOT_EQUALS or PREFIX_NOT_EQUALS"
            )));
        }
        Ok(())
    }

    fn matches(&self, values: &[&str]) -> bool {
        let pos_ok = self.pos.is_empty()
            || values
                .iter()
                .any(|v| self.pos.iter().any(|(c, p)| c.hits(v, p)));
        pos_ok
            && self
                .neg
                .iter()
                .all(|(c, p)| !values.iter().any(|v| c.hits(v, p)))
    }

    /// Whether the index can answer the positives (EQUALS and PREFIX only).
    fn indexable(&self) -> bool {
        !self.pos.is_empty()
            && self
                .pos
                .iter()
                .all(|(c, _)| matches!(c, Cmp::Equals | Cmp::Prefix))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct NumRange {
    gte: Option<f64>,
    lte: Option<f64>,
    eq: Option<f64>,
    gt: Option<f64>,
    lt: Option<f64>,
}

impl NumRange {
    fn contains(&self, x: f64) -> bool {
        self.gte.is_none_or(|b| x >= b)
            && self.lte.is_none_or(|b| x <= b)
            && self.eq.is_none_or(|b| x == b)
            && self.gt.is_none_or(|b| x > b)
            && self.lt.is_none_or(|b| x < b)
    }
}

/// One filter attribute, parsed.
#[derive(Debug, Clone)]
enum Condition {
    Str(usize, Comparisons),
    Map(usize, Vec<(String, Comparisons)>),
    /// Inclusive `[start, end]` ranges in epoch microseconds, ORed.
    Date(usize, Vec<(Option<i64>, Option<i64>)>),
    Num(usize, Vec<NumRange>),
}

impl Condition {
    fn matches(&self, json: &Value) -> bool {
        match self {
            Condition::Str(i, c) => c.matches(&strings_of(json, &FIELDS[*i])),
            Condition::Map(i, keys) => keys
                .iter()
                .all(|(k, c)| c.matches(&map_values(json, &FIELDS[*i], k))),
            Condition::Date(i, ranges) => times_of(json, &FIELDS[*i]).iter().any(|t| {
                ranges
                    .iter()
                    .any(|(s, e)| s.is_none_or(|s| *t >= s) && e.is_none_or(|e| *t <= e))
            }),
            Condition::Num(i, ranges) => numbers_of(json, &FIELDS[*i])
                .iter()
                .any(|x| ranges.iter().any(|r| r.contains(*x))),
        }
    }

    /// Index keys whose union is a superset of the matches, when the index can answer this
    /// condition: `(field, exact keys, prefixes)`.
    fn index_probe(&self) -> Option<(usize, Vec<String>, Vec<String>)> {
        let split = |c: &Comparisons, wrap: &dyn Fn(&str) -> String| {
            let mut exact = Vec::new();
            let mut prefixes = Vec::new();
            for (cmp, v) in &c.pos {
                match cmp {
                    Cmp::Equals => exact.push(wrap(v)),
                    _ => prefixes.push(wrap(v)),
                }
            }
            (exact, prefixes)
        };
        match self {
            Condition::Str(i, c) if FIELDS[*i].indexed && c.indexable() => {
                let (e, p) = split(c, &|v| v.to_string());
                Some((*i, e, p))
            }
            Condition::Map(i, keys) if FIELDS[*i].indexed => {
                // Any one key group with only EQUALS positives will do; take the first.
                keys.iter()
                    .find(|(_, c)| {
                        !c.pos.is_empty() && c.pos.iter().all(|(x, _)| *x == Cmp::Equals)
                    })
                    .map(|(k, c)| {
                        let (e, _) = split(c, &|v| map_entry(k, v));
                        (*i, e, Vec::new())
                    })
            }
            _ => None,
        }
    }
}

/// A parsed `Filters` object.
#[derive(Debug, Clone, Default)]
pub(crate) struct Query {
    conditions: Vec<Condition>,
}

fn filter_list<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, AwsError> {
    v.as_array()
        .ok_or_else(|| invalid_input(format!("Filters.{name} must be a list")))
}

fn str_member<'a>(entry: &'a Value, name: &str, member: &str) -> Result<&'a str, AwsError> {
    entry
        .get(member)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_input(format!("Filters.{name}: each filter needs {member}")))
}

/// The comparison and value of one string (`map`: map) filter entry.
fn comparison<'a>(entry: &'a Value, name: &str, map: bool) -> Result<(Cmp, &'a str), AwsError> {
    let value = str_member(entry, name, "Value")?;
    let cmp = str_member(entry, name, "Comparison")?;
    let allowed = if map {
        "EQUALS, NOT_EQUALS, CONTAINS, NOT_CONTAINS"
    } else {
        "EQUALS, PREFIX, NOT_EQUALS, PREFIX_NOT_EQUALS, CONTAINS, NOT_CONTAINS"
    };
    let cmp = Cmp::parse(cmp, map).ok_or_else(|| {
        invalid_input(format!(
            "Filters.{name}: Comparison {cmp} is not one of {allowed}"
        ))
    })?;
    Ok((cmp, value))
}

impl Query {
    /// Parses and checks `Filters` (absent means everything).
    pub(crate) fn parse(filters: Option<&Value>, now: DateTime<Utc>) -> Result<Query, AwsError> {
        let obj = match filters {
            None | Some(Value::Null) => return Ok(Query::default()),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(invalid_input("Filters must be an object")),
        };
        let used: Vec<(&String, &Value)> = obj
            .iter()
            .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()) && !v.is_null())
            .collect();
        if used.len() > MAX_ATTRIBUTES {
            return Err(invalid_input(format!(
                "Filters: you can filter by up to {MAX_ATTRIBUTES} finding attributes; got {}",
                used.len()
            )));
        }
        let mut conditions = Vec::new();
        for (name, value) in used {
            let idx = field_named(name).ok_or_else(|| {
                invalid_input(format!(
                    "Filters.{name} is not a filter attribute awsim supports"
                ))
            })?;
            let list = filter_list(name, value)?;
            if list.len() > MAX_VALUES {
                return Err(invalid_input(format!(
                    "Filters.{name}: you can provide up to {MAX_VALUES} filter values per attribute; got {}",
                    list.len()
                )));
            }
            conditions.push(parse_condition(idx, name, list, now)?);
        }
        Ok(Query { conditions })
    }

    fn matches(&self, json: &Value) -> bool {
        self.conditions.iter().all(|c| c.matches(json))
    }

    /// The slots of one store matching the query, found through the most selective index when a
    /// condition can use one, by a full scan otherwise. Ascending slot order.
    pub(crate) fn select(&self, store: &FindingStore) -> Vec<Slot> {
        match self.candidates(store) {
            Some(c) => c
                .into_iter()
                .filter(|s| self.matches(&store.get(*s).json))
                .collect(),
            None => store
                .slots()
                .filter(|s| self.matches(&store.get(*s).json))
                .collect(),
        }
    }

    /// Candidate slots from the index probe with the fewest postings, or `None` to scan.
    pub(crate) fn candidates(&self, store: &FindingStore) -> Option<Vec<Slot>> {
        let probes: Vec<(usize, Vec<String>, Vec<String>)> = self
            .conditions
            .iter()
            .filter_map(Condition::index_probe)
            .collect();
        let cost = |(field, exact, prefixes): &(usize, Vec<String>, Vec<String>)| -> usize {
            exact
                .iter()
                .map(|k| store.postings(*field, k).len())
                .chain(
                    prefixes
                        .iter()
                        .flat_map(|p| store.prefix_postings(*field, p).map(<[Slot]>::len)),
                )
                .sum()
        };
        let best = probes.iter().min_by_key(|p| cost(p))?;
        let (field, exact, prefixes) = best;
        let mut slots: Vec<Slot> = exact
            .iter()
            .flat_map(|k| store.postings(*field, k).iter().copied())
            .chain(
                prefixes
                    .iter()
                    .flat_map(|p| store.prefix_postings(*field, p).flatten().copied()),
            )
            .collect();
        slots.sort_unstable();
        slots.dedup();
        Some(slots)
    }
}

fn parse_condition(
    idx: usize,
    name: &str,
    list: &[Value],
    now: DateTime<Utc>,
) -> Result<Condition, AwsError> {
    let field = &FIELDS[idx];
    match field.kind {
        Str => {
            let mut c = Comparisons::default();
            for entry in list {
                let (cmp, value) = comparison(entry, name, false)?;
                c.add(cmp, value.to_string());
            }
            c.check(&format!("Filters.{name}"))?;
            Ok(Condition::Str(idx, c))
        }
        MapK => {
            let mut keys: Vec<(String, Comparisons)> = Vec::new();
            for entry in list {
                let key = str_member(entry, name, "Key")?;
                let (cmp, value) = comparison(entry, name, true)?;
                match keys.iter_mut().find(|(k, _)| k == key) {
                    Some((_, c)) => c.add(cmp, value.to_string()),
                    None => {
                        let mut c = Comparisons::default();
                        c.add(cmp, value.to_string());
                        keys.push((key.to_string(), c));
                    }
                }
            }
            for (k, c) in &keys {
                c.check(&format!("Filters.{name}[{k}]"))?;
            }
            Ok(Condition::Map(idx, keys))
        }
        Date => {
            let mut ranges = Vec::new();
            for entry in list {
                let time = |member: &str| -> Result<Option<i64>, AwsError> {
                    match entry.get(member) {
                        None | Some(Value::Null) => Ok(None),
                        Some(v) => v
                            .as_str()
                            .and_then(parse_time)
                            .map(|t| Some(t.timestamp_micros()))
                            .ok_or_else(|| {
                                invalid_input(format!(
                                    "Filters.{name}: {member} must be an RFC 3339 timestamp"
                                ))
                            }),
                    }
                };
                let (start, end) = (time("Start")?, time("End")?);
                match entry.get("DateRange").filter(|v| !v.is_null()) {
                    Some(range) => {
                        if start.is_some() || end.is_some() {
                            return Err(invalid_input(format!(
                                "Filters.{name}: use either Start/End or DateRange"
                            )));
                        }
                        let days = range
                            .get("Value")
                            .and_then(Value::as_i64)
                            .filter(|d| *d >= 0)
                            .ok_or_else(|| {
                                invalid_input(format!(
                                    "Filters.{name}: DateRange.Value must be a non-negative number"
                                ))
                            })?;
                        if range.get("Unit").and_then(Value::as_str) != Some("DAYS") {
                            return Err(invalid_input(format!(
                                "Filters.{name}: DateRange.Unit must be DAYS"
                            )));
                        }
                        // The last `days` days up to now; findings stamped later still count.
                        let from = now - Duration::days(days);
                        ranges.push((Some(from.timestamp_micros()), None));
                    }
                    None if start.is_none() && end.is_none() => {
                        return Err(invalid_input(format!(
                            "Filters.{name}: a date filter needs Start and/or End, or DateRange"
                        )));
                    }
                    None => ranges.push((start, end)),
                }
            }
            Ok(Condition::Date(idx, ranges))
        }
        Num => {
            let mut ranges = Vec::new();
            for entry in list {
                let num = |m: &str| entry.get(m).and_then(Value::as_f64);
                let r = NumRange {
                    gte: num("Gte"),
                    lte: num("Lte"),
                    eq: num("Eq"),
                    gt: num("Gt"),
                    lt: num("Lt"),
                };
                if r == NumRange::default() {
                    return Err(invalid_input(format!(
                        "Filters.{name}: a number filter needs one of Gte, Lte, Eq, Gt, Lt"
                    )));
                }
                ranges.push(r);
            }
            Ok(Condition::Num(idx, ranges))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn finding(i: usize) -> Value {
        json!({
            "Id": format!("f-{i}"),
            "ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
            "Title": format!("Patch missing on i-{:04}", i % 100),
            "Types": ["Software and Configuration Checks/Patch Management"],
            "Resources": [{"Type": "AwsEc2Instance", "Id": format!("i-{:04}", i % 100)}],
            "RecordState": if i.is_multiple_of(2) { "ACTIVE" } else { "ARCHIVED" },
            "ProductFields": {"patchhub/Baseline": format!("pb-{}", i % 3)},
            "UpdatedAt": "2024-01-01T00:00:00Z",
        })
    }

    fn q(filters: Value) -> Query {
        Query::parse(Some(&filters), Utc::now()).unwrap()
    }

    #[test]
    fn string_semantics() {
        let json = finding(7);
        let m = |fl: Value| q(fl).matches(&json);
        assert!(m(
            json!({"ResourceId": [{"Value": "i-0007", "Comparison": "EQUALS"}]})
        ));
        assert!(m(json!({"ResourceId": [
            {"Value": "i-0001", "Comparison": "EQUALS"},
            {"Value": "i-0007", "Comparison": "EQUALS"}]})));
        assert!(!m(
            json!({"ResourceId": [{"Value": "i-000", "Comparison": "EQUALS"}]})
        ));
        assert!(m(
            json!({"ResourceId": [{"Value": "i-000", "Comparison": "PREFIX"}]})
        ));
        assert!(m(
            json!({"Title": [{"Value": "missing", "Comparison": "CONTAINS"}]})
        ));
        assert!(!m(
            json!({"Title": [{"Value": "missing", "Comparison": "NOT_CONTAINS"}]})
        ));
        // PREFIX first, then the NOT_ forms ANDed.
        assert!(!m(json!({"ResourceId": [
            {"Value": "i-", "Comparison": "PREFIX"},
            {"Value": "i-0007", "Comparison": "NOT_EQUALS"}]})));
        assert!(m(json!({"ResourceId": [
            {"Value": "i-", "Comparison": "PREFIX"},
            {"Value": "i-01", "Comparison": "PREFIX_NOT_EQUALS"}]})));
        assert!(m(json!({"ProductFields": [
            {"Key": "patchhub/Baseline", "Value": "pb-1", "Comparison": "EQUALS"}]})));
        assert!(!m(json!({"ProductFields": [
            {"Key": "patchhub/Baseline", "Value": "pb-1", "Comparison": "NOT_EQUALS"}]})));
    }

    #[test]
    fn combination_rules_and_limits() {
        let err = |fl: Value| Query::parse(Some(&fl), Utc::now()).unwrap_err().code;
        assert_eq!(
            err(json!({"Title": [
                {"Value": "a", "Comparison": "CONTAINS"},
                {"Value": "b", "Comparison": "NOT_CONTAINS"}]})),
            "InvalidInputException"
        );
        assert_eq!(
            err(json!({"Title": [
                {"Value": "a", "Comparison": "EQUALS"},
                {"Value": "b", "Comparison": "NOT_EQUALS"}]})),
            "InvalidInputException"
        );
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"Value": format!("v{i}"), "Comparison": "EQUALS"}))
            .collect();
        assert_eq!(err(json!({"Id": many})), "InvalidInputException");
        assert_eq!(
            err(json!({"Keyword": [{"Value": "x"}]})),
            "InvalidInputException"
        );
    }

    #[test]
    fn equals_on_an_indexed_field_reads_only_its_postings() {
        let mut store = FindingStore::default();
        for i in 0..20_000 {
            store.insert_for_test(finding(i));
        }
        let query = q(json!({
            "ResourceId": [{"Value": "i-0042", "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        }));
        // 200 findings carry i-0042; the RecordState index (10,000) is not the one chosen.
        let candidates = query.candidates(&store).expect("an index is used");
        assert_eq!(candidates.len(), 200);
        let hits = query.select(&store);
        assert_eq!(hits.len(), 200);
        assert!(hits.iter().all(|s| {
            let j = &store.get(*s).json;
            j["Resources"][0]["Id"] == "i-0042" && j["RecordState"] == "ACTIVE"
        }));
        // A map EQUALS uses the ProductFields index.
        let query = q(json!({"ProductFields": [
            {"Key": "patchhub/Baseline", "Value": "pb-2", "Comparison": "EQUALS"}]}));
        assert_eq!(query.candidates(&store).unwrap().len(), 6_666);
        // CONTAINS cannot use an index.
        let query = q(json!({"Title": [{"Value": "i-0042", "Comparison": "CONTAINS"}]}));
        assert!(query.candidates(&store).is_none());
        assert_eq!(query.select(&store).len(), 200);
    }
}
