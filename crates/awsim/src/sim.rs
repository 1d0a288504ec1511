//! The emulator's shared state: the emulated world, the simulated clock, quota buckets, the
//! fault injector and counters. Service handlers work on it; the HTTP front (`server`) and the
//! control plane (`control`) sit on top and hand requests down to them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::clock::Clock;
use crate::config::Config;
use crate::faults::Faults;
use crate::fleet::{Fleet, FleetError};
use crate::protocol::AwsError;
use crate::quota::Quotas;
use crate::services::s3::S3Store;
use crate::stats::Stats;
use crate::world::World;

/// Shared emulator state.
#[derive(Debug)]
pub struct Sim {
    /// Configuration it was started with.
    pub config: Config,
    /// Everything emulated.
    pub world: Mutex<World>,
    /// Simulated time.
    pub clock: Clock,
    /// Token buckets.
    pub quotas: Quotas,
    /// Fault injector.
    pub faults: Faults,
    /// Counters.
    pub stats: Stats,
    requests: AtomicU64,
    /// `GetFindings` read-after-write lag in milliseconds (see [`Config::read_lag_ms`]).
    read_lag_ms: AtomicU64,
    /// S3, made on first use (its temporary directory is removed with the emulator).
    s3: OnceLock<Result<S3Store, String>>,
}

impl Sim {
    /// A fresh emulator state.
    pub fn new(config: Config) -> Self {
        let quotas = Quotas::suspended(config.leniency.quotas_after_seeding);
        Sim {
            read_lag_ms: AtomicU64::new(config.read_lag_ms),
            faults: Faults::new(config.faults.clone(), config.seed),
            config,
            world: Mutex::new(World::default()),
            clock: Clock::default(),
            quotas,
            stats: Stats::default(),
            requests: AtomicU64::new(0),
            s3: OnceLock::new(),
        }
    }

    /// How long an import stays invisible to `GetFindings`.
    pub fn read_lag(&self) -> chrono::Duration {
        let ms = self.read_lag_ms.load(Ordering::Relaxed);
        chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// Sets the read-after-write lag for imports from now on.
    pub fn set_read_lag_ms(&self, ms: u64) {
        self.read_lag_ms.store(ms, Ordering::Relaxed);
    }

    /// Locks the world. A panic while holding it is a bug in awsim; recover the data anyway so
    /// one bad request does not take every later test down with it.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    /// Loads a fleet, replacing all data.
    pub fn load_fleet(&self, fleet: Fleet) -> Result<(), FleetError> {
        fleet.validate()?;
        let now = self.clock.now();
        self.world().load(fleet, now);
        Ok(())
    }

    /// The emulator's S3, or the error of making its temporary directory.
    pub fn s3(&self) -> Result<&S3Store, AwsError> {
        self.s3
            .get_or_init(|| S3Store::new().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| {
                AwsError::new(
                    500,
                    "InternalError",
                    format!("awsim cannot keep S3 objects: {e}"),
                )
            })
    }

    /// Empties the world, counters, quota buckets and S3.
    pub fn reset(&self) {
        *self.world() = World::default();
        if let Some(Ok(s3)) = self.s3.get()
            && let Err(e) = s3.reset()
        {
            tracing::error!("awsim could not empty S3: {e}");
        }
        self.stats.reset();
        self.quotas.reset();
        self.clock.reset();
    }
}
