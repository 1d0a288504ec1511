//! One paging loop for every `NextToken` API: each page waits for the limiter (when there is
//! one), every page is read, and an empty token ends the listing as a missing one does.

use std::future::Future;

use crate::error::ApiError;
use crate::quota::{Api, Limiter};

/// Calls `page(token)` until it returns no next token, collecting the items.
pub(crate) async fn all_pages<T, F, Fut>(
    limit: Option<(&Limiter, Api)>,
    mut page: F,
) -> Result<Vec<T>, ApiError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ApiError>>,
{
    let mut out = Vec::new();
    let mut token = None;
    loop {
        if let Some((limiter, api)) = limit {
            limiter.acquire(api).await;
        }
        let (items, next) = page(token).await?;
        out.extend(items);
        token = next.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}
