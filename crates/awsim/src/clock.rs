//! Simulated wall clock: real time plus an offset that tests and the control API can advance, so
//! "stale for 7 days" can be exercised without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The emulator's notion of "now".
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves simulated time forward (never backward: AWS timestamps only grow).
    pub fn advance(&self, by: Duration) {
        let ms = by.num_milliseconds().max(0);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Returns to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}
