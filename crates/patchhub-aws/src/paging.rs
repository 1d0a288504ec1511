//! One paging loop for every `NextToken` API: each page waits for the limiter (when there is
//! one), every page is read, and an empty token ends the listing as a missing one does. A page
//! still throttled after the SDK's own retries (the account's quota is shared with other
//! callers, or the SDK's retry budget ran dry) is asked again after a growing pause, so a busy
//! account slows a sync down instead of failing it.

use std::future::Future;

use std::time::Duration;

use crate::error::{ApiError, ErrorKind};
use crate::quota::{Api, Limiter};

/// Extra tries of a throttled page after the SDK's own retries, and the first pause.
const THROTTLE_RETRIES: u32 = 5;
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// A page as [`all_pages`] takes it: its items and the token of the next one.
pub(crate) fn page_of<T: Clone>(items: &[T], next: Option<&str>) -> (Vec<T>, Option<String>) {
    (items.to_vec(), next.map(str::to_string))
}

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
        let mut tries = 0;
        let (items, next) = loop {
            if let Some((limiter, api)) = limit {
                limiter.acquire(api).await;
            }
            match page(token.clone()).await {
                Err(e) if e.kind == ErrorKind::Throttled && tries < THROTTLE_RETRIES => {
                    tries += 1;
                    tokio::time::sleep(FIRST_PAUSE * 2u32.pow(tries - 1)).await;
                }
                other => break other?,
            }
        };
        out.extend(items);
        token = next.filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn throttled() -> ApiError {
        ApiError::other(
            "111111111111",
            "us-east-1",
            "DescribeInstancePatches",
            ErrorKind::Throttled,
            "Rate exceeded",
        )
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_pages_are_asked_again_and_nothing_is_lost() {
        let calls = Cell::new(0);
        let items = all_pages(None, |token| {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                match (n, token.as_deref()) {
                    (1 | 2, None) => Err(throttled()),
                    (3, None) => Ok((vec![1, 2], Some("p2".to_string()))),
                    (4, Some("p2")) => Err(throttled()),
                    (5, Some("p2")) => Ok((vec![3], Some(String::new()))),
                    other => panic!("unexpected call {other:?}"),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(items, vec![1, 2, 3], "every page read once, in order");
        assert_eq!(calls.get(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_and_endless_throttling_end_the_listing() {
        let denied = all_pages::<u8, _, _>(None, |_| async {
            Err(ApiError::other(
                "1",
                "r",
                "X",
                ErrorKind::AccessDenied,
                "no",
            ))
        })
        .await;
        assert_eq!(denied.unwrap_err().kind, ErrorKind::AccessDenied);
        let calls = Cell::new(0);
        let endless = all_pages::<u8, _, _>(None, |_| {
            calls.set(calls.get() + 1);
            async { Err(throttled()) }
        })
        .await;
        assert_eq!(endless.unwrap_err().kind, ErrorKind::Throttled);
        assert_eq!(calls.get(), 1 + THROTTLE_RETRIES);
    }
}
