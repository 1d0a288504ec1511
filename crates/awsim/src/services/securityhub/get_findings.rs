//! `GetFindings`: the query over every store the caller reaches, sorted by `SortCriteria` and
//! paged with tokens that seek past the last position returned.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::aggregation::{HubRef, visible_hubs};
use super::fields::{
    Date, FIELDS, Field, MapK, Num, Str, field_named, numbers_of, strings_of, times_of,
};
use super::filters::Query;
use super::invalid_input;
use crate::identity::Caller;
use crate::protocol::AwsError;
use crate::services::Request;
use crate::sim::Sim;

/// A sort key value. Missing sorts before any value (ascending).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum SortVal {
    Missing,
    Num(f64),
    Time(i64),
    Str(String),
}

impl SortVal {
    fn rank(&self) -> u8 {
        match self {
            SortVal::Missing => 0,
            SortVal::Num(_) => 1,
            SortVal::Time(_) => 2,
            SortVal::Str(_) => 3,
        }
    }

    fn cmp(&self, other: &SortVal) -> Ordering {
        match (self, other) {
            (SortVal::Num(a), SortVal::Num(b)) => a.total_cmp(b),
            (SortVal::Time(a), SortVal::Time(b)) => a.cmp(b),
            (SortVal::Str(a), SortVal::Str(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }

    fn of(json: &Value, field: &Field) -> SortVal {
        match field.kind {
            Str => strings_of(json, field)
                .first()
                .map_or(SortVal::Missing, |s| SortVal::Str((*s).to_string())),
            Date => times_of(json, field)
                .first()
                .map_or(SortVal::Missing, |t| SortVal::Time(*t)),
            Num => numbers_of(json, field)
                .first()
                .map_or(SortVal::Missing, |n| SortVal::Num(*n)),
            MapK => SortVal::Missing,
        }
    }
}

/// `SortCriteria`: fields with descending flags. Without criteria: `UpdatedAt` descending.
#[derive(Debug, Clone)]
pub(crate) struct SortSpec {
    keys: Vec<(usize, bool)>,
}

impl SortSpec {
    pub(crate) fn parse(v: Option<&Value>) -> Result<SortSpec, AwsError> {
        let list = match v {
            None | Some(Value::Null) => &Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(invalid_input("SortCriteria must be a list")),
        };
        let mut keys = Vec::new();
        for c in list {
            let name = c
                .get("Field")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_input("SortCriteria: each criterion needs Field"))?;
            let idx = field_named(name)
                .filter(|i| FIELDS[*i].kind != MapK)
                .ok_or_else(|| {
                    invalid_input(format!(
                        "SortCriteria: {name} is not a field awsim can sort on"
                    ))
                })?;
            let desc = match c.get("SortOrder").and_then(Value::as_str) {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(o) => {
                    return Err(invalid_input(format!(
                        "SortCriteria: SortOrder {o} is not asc or desc"
                    )));
                }
            };
            keys.push((idx, desc));
        }
        if keys.is_empty() {
            let updated = field_named("UpdatedAt").expect("UpdatedAt is a field");
            keys.push((updated, true));
        }
        Ok(SortSpec { keys })
    }
}

/// A position in the sorted result: the sort values plus a unique tie-breaker
/// (ProductArn, Id, hub account, hub Region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Position {
    k: Vec<SortVal>,
    t: [String; 4],
}

impl Position {
    fn of(json: &Value, hub: &HubRef<'_>, sort: &SortSpec) -> Position {
        let s = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Position {
            k: sort
                .keys
                .iter()
                .map(|(i, _)| SortVal::of(json, &FIELDS[*i]))
                .collect(),
            t: [
                s("ProductArn"),
                s("Id"),
                hub.loc.account.clone(),
                hub.loc.region.clone(),
            ],
        }
    }

    fn cmp(&self, other: &Position, sort: &SortSpec) -> Ordering {
        for (i, (_, desc)) in sort.keys.iter().enumerate() {
            let (a, b) = (&self.k[i], &other.k[i]);
            let o = if *desc { b.cmp(a) } else { a.cmp(b) };
            if o != Ordering::Equal {
                return o;
            }
        }
        self.t.cmp(&other.t)
    }
}

/// `NextToken`: the last position returned and a fingerprint of the query it belongs to.
/// Seeking past a position (rather than an offset) keeps paging stable when findings are added
/// between pages.
#[derive(Debug, Serialize, Deserialize)]
struct Token {
    q: String,
    p: Position,
}

fn fingerprint(input: &Value) -> String {
    let basis = json!({"f": input.get("Filters"), "s": input.get("SortCriteria")});
    let digest = Sha256::digest(basis.to_string().as_bytes());
    hex::encode(&digest[..8])
}

fn encode_token(t: &Token) -> String {
    hex::encode(serde_json::to_vec(t).expect("token serializes"))
}

fn decode_token(s: &str, fp: &str) -> Result<Position, AwsError> {
    let bad = || invalid_input("NextToken is not valid for this request");
    let bytes = hex::decode(s).map_err(|_| bad())?;
    let t: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if t.q != fp {
        return Err(bad());
    }
    Ok(t.p)
}

/// Serves `GetFindings`.
pub(crate) fn get_findings(sim: &Sim, caller: &Caller, req: &Request) -> Result<Value, AwsError> {
    let input = req.json()?;
    let max = match input.get("MaxResults") {
        None | Some(Value::Null) => 100,
        Some(v) => v
            .as_i64()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                invalid_input(format!("MaxResults must be between 1 and 100; got {v}"))
            })? as usize,
    };
    let now = sim.clock.now();
    let query = Query::parse(input.get("Filters"), now)?;
    let sort = SortSpec::parse(input.get("SortCriteria"))?;
    let fp = fingerprint(&input);
    let after = match input.get("NextToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(decode_token(s, &fp)?),
        Some(_) => return Err(invalid_input("NextToken must be a string")),
    };

    let world = sim.world();
    let hubs = visible_hubs(&world, caller)?;
    let mut hits: Vec<(Position, &Value)> = Vec::new();
    for hub in &hubs {
        let store = hub.store;
        for slot in query.select(store) {
            // Filters match the latest version; reads return what is visible yet (the
            // read-after-write lag), and a linked Region shows only what was written after its
            // aggregator was created.
            let stored = store.get(slot);
            if hub.since.is_some_and(|t| stored.written_at < t) {
                continue;
            }
            if let Some(json) = stored.visible(now) {
                hits.push((Position::of(json, hub, &sort), json));
            }
        }
    }
    // The page is the `max` smallest positions after the token: select them, sort only them
    // (a full sort per page made paging through a large hub quadratic in the emulator).
    if let Some(p) = &after {
        hits.retain(|(h, _)| h.cmp(p, &sort) == Ordering::Greater);
    }
    let more = hits.len() > max;
    if more {
        hits.select_nth_unstable_by(max, |a, b| a.0.cmp(&b.0, &sort));
        hits.truncate(max);
    }
    hits.sort_by(|a, b| a.0.cmp(&b.0, &sort));
    let page = &hits[..];
    let mut out = Map::new();
    out.insert(
        "Findings".into(),
        Value::Array(page.iter().map(|(_, j)| (*j).clone()).collect()),
    );
    if more && let Some((last, _)) = page.last() {
        let token = Token {
            q: fp,
            p: last.clone(),
        };
        out.insert("NextToken".into(), Value::String(encode_token(&token)));
    }
    Ok(Value::Object(out))
}
