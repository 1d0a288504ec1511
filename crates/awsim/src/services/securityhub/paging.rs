//! Paging of the Security Hub list APIs that take `MaxResults` and `NextToken` in the query
//! string (`ListMembers`, `ListInvitations`, `ListOrganizationAdminAccounts`,
//! `ListFindingAggregators`): tokens are the hex of the last key returned.

use serde_json::{Value, json};

use super::invalid_input;
use crate::protocol::AwsError;
use crate::services::Request;

/// The query string's parameters.
pub(super) fn query(req: &Request) -> Vec<(String, String)> {
    serde_urlencoded::from_str(&req.query).unwrap_or_default()
}

pub(super) fn query_get<'q>(q: &'q [(String, String)], key: &str) -> Option<&'q str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `MaxResults` (within `1..=max`, default `max`) and where `NextToken` resumes.
pub(super) fn page_params(
    q: &[(String, String)],
    max: i64,
) -> Result<(usize, Option<String>), AwsError> {
    Ok((page_size(q, max)?, resume_after(q)?))
}

/// `MaxResults` from the query string, within `1..=max` (default `max`).
fn page_size(q: &[(String, String)], max: i64) -> Result<usize, AwsError> {
    match query_get(q, "MaxResults") {
        None => Ok(max as usize),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| {
                invalid_input(format!("MaxResults must be between 1 and {max}; got {v}"))
            }),
    }
}

/// The key a `NextToken` resumes after (tokens are the hex of the last key returned).
fn resume_after(q: &[(String, String)]) -> Result<Option<String>, AwsError> {
    match query_get(q, "NextToken") {
        None | Some("") => Ok(None),
        Some(t) => hex::decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| invalid_input("The NextToken is invalid")),
    }
}

/// One page of `items` (sorted by key) after `after`, with the token for the next page.
fn page<T>(items: Vec<(String, T)>, after: Option<&str>, size: usize) -> (Vec<T>, Option<String>) {
    let rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| after.is_none_or(|a| k.as_str() > a))
        .collect();
    let more = rest.len() > size;
    let mut last = None;
    let page = rest
        .into_iter()
        .take(size)
        .map(|(k, v)| {
            last = Some(k);
            v
        })
        .collect();
    (page, if more { last.map(hex::encode) } else { None })
}

/// A list response: the page of `items` (sorted by key) after `after` under `key`, and
/// `NextToken` when there is a next page.
pub(super) fn paged(
    key: &str,
    items: Vec<(String, Value)>,
    after: Option<&str>,
    size: usize,
) -> Value {
    let (page, next) = page(items, after, size);
    let mut out = json!({ key: page });
    if let Some(t) = next {
        out["NextToken"] = json!(t);
    }
    out
}
