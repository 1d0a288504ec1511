//! Lambda's deadline (`Context::deadline`, epoch milliseconds): how much of it is left, and when
//! a sweep stops starting work so that it ends cleanly before Lambda stops the invocation.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest time a sweep keeps back from its deadline: the node batches under way when it stops
/// starting new ones must finish (their SSM reads and imports paced by the limiter), then the
/// summary is logged and returned.
const SWEEP_MARGIN: Duration = Duration::from_secs(60);

/// Time left until `deadline_ms`; `None` when there is no deadline (0: tests, manual calls).
pub(crate) fn time_left(deadline_ms: u64) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    Some(Duration::from_millis(deadline_ms.saturating_sub(now)))
}

/// When a sweep with this deadline stops starting node reads: half of the time left, at most
/// [`SWEEP_MARGIN`], before it. Of a 900 s invocation that keeps 60 s for what is under way
/// (the reads in flight and the imports of the batches in flight: seconds).
pub(crate) fn sweep_stop(deadline_ms: u64) -> Option<Instant> {
    let left = time_left(deadline_ms)?;
    Some(Instant::now() + left - (left / 2).min(SWEEP_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_ms(ms: u64) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
            + ms
    }

    #[test]
    fn sweeps_keep_a_margin_before_the_deadline() {
        assert_eq!(time_left(0), None);
        assert_eq!(sweep_stop(0), None);
        // 900 s: stop starting work 60 s before.
        let stop = sweep_stop(in_ms(900_000)).unwrap();
        let ahead = stop - Instant::now();
        assert!(
            ahead > Duration::from_secs(838) && ahead <= Duration::from_secs(840),
            "{ahead:?}"
        );
        // 4 s: half of it.
        let stop = sweep_stop(in_ms(4_000)).unwrap();
        let ahead = stop - Instant::now();
        assert!(
            ahead > Duration::from_millis(1_900) && ahead <= Duration::from_millis(2_000),
            "{ahead:?}"
        );
        // Past: now.
        assert!(sweep_stop(in_ms(0) - 1_000).unwrap() <= Instant::now());
    }
}
