//! Accounting: calls per account, Region and operation, throttles, injected faults, and finding
//! ingestion events (creates plus updates that were not ignored) — the figure AWS bills for.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Counters for one (account, Region, service, operation).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CallCounts {
    /// Requests received (including throttled and faulted ones).
    pub calls: u64,
    /// Requests refused by the quota token bucket.
    pub throttled: u64,
    /// Requests answered with an injected fault (throttle or 500).
    pub faulted: u64,
}

/// Ingestion counters for one account and Region.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Ingestion {
    /// Findings created.
    pub creates: u64,
    /// Findings updated (an update whose `UpdatedAt` was not later is ignored and not counted).
    pub updates: u64,
}

impl Ingestion {
    /// Billable ingestion events.
    pub fn events(&self) -> u64 {
        self.creates + self.updates
    }
}

/// One row of [`Snapshot::calls`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CallRow {
    /// Calling account.
    pub account: String,
    /// Region of the call.
    pub region: String,
    /// SigV4 service name (`ssm`, `securityhub`, `sts`, `organizations`).
    pub service: String,
    /// Operation name as in the service model.
    pub operation: String,
    /// Counters.
    #[serde(flatten)]
    pub counts: CallCounts,
}

/// One row of [`Snapshot::ingestion`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IngestionRow {
    /// Account owning the findings.
    pub account: String,
    /// Region of the hub.
    pub region: String,
    /// Counters.
    #[serde(flatten)]
    pub counts: Ingestion,
    /// `creates + updates`.
    pub events: u64,
}

/// A copy of all counters at one moment.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// Calls, sorted by account, Region, service, operation.
    pub calls: Vec<CallRow>,
    /// Ingestion, sorted by account, Region.
    pub ingestion: Vec<IngestionRow>,
}

impl Snapshot {
    /// Calls of one operation summed over accounts and Regions.
    pub fn calls_of(&self, operation: &str) -> u64 {
        self.calls
            .iter()
            .filter(|r| r.operation == operation)
            .map(|r| r.counts.calls)
            .sum()
    }

    /// All calls.
    pub fn total_calls(&self) -> u64 {
        self.calls.iter().map(|r| r.counts.calls).sum()
    }

    /// Throttled calls of all operations.
    pub fn total_throttled(&self) -> u64 {
        self.calls.iter().map(|r| r.counts.throttled).sum()
    }

    /// Billable ingestion events over all accounts and Regions.
    pub fn ingestion_events(&self) -> u64 {
        self.ingestion.iter().map(|r| r.events).sum()
    }
}

type CallKey = (String, String, String, String);

/// Live counters.
#[derive(Debug, Default)]
pub struct Stats {
    calls: Mutex<BTreeMap<CallKey, CallCounts>>,
    ingestion: Mutex<BTreeMap<(String, String), Ingestion>>,
}

impl Stats {
    fn with_call(
        &self,
        account: &str,
        region: &str,
        service: &str,
        op: &str,
        f: impl FnOnce(&mut CallCounts),
    ) {
        let mut calls = self.calls.lock().expect("stats lock");
        let key = (
            account.to_string(),
            region.to_string(),
            service.to_string(),
            op.to_string(),
        );
        f(calls.entry(key).or_default());
    }

    /// Counts a received request.
    pub fn call(&self, account: &str, region: &str, service: &str, op: &str) {
        self.with_call(account, region, service, op, |c| c.calls += 1);
    }

    /// Counts a quota throttle.
    pub fn throttled(&self, account: &str, region: &str, service: &str, op: &str) {
        self.with_call(account, region, service, op, |c| c.throttled += 1);
    }

    /// Counts an injected fault.
    pub fn faulted(&self, account: &str, region: &str, service: &str, op: &str) {
        self.with_call(account, region, service, op, |c| c.faulted += 1);
    }

    /// Counts finding creates and updates in one account and Region.
    pub fn ingested(&self, account: &str, region: &str, creates: u64, updates: u64) {
        let mut ing = self.ingestion.lock().expect("stats lock");
        let e = ing
            .entry((account.to_string(), region.to_string()))
            .or_default();
        e.creates += creates;
        e.updates += updates;
    }

    /// Copies all counters.
    pub fn snapshot(&self) -> Snapshot {
        let calls = self
            .calls
            .lock()
            .expect("stats lock")
            .iter()
            .map(|((account, region, service, operation), counts)| CallRow {
                account: account.clone(),
                region: region.clone(),
                service: service.clone(),
                operation: operation.clone(),
                counts: counts.clone(),
            })
            .collect();
        let ingestion = self
            .ingestion
            .lock()
            .expect("stats lock")
            .iter()
            .map(|((account, region), counts)| IngestionRow {
                account: account.clone(),
                region: region.clone(),
                events: counts.events(),
                counts: counts.clone(),
            })
            .collect();
        Snapshot { calls, ingestion }
    }

    /// Zeroes all counters.
    pub fn reset(&self) {
        self.calls.lock().expect("stats lock").clear();
        self.ingestion.lock().expect("stats lock").clear();
    }
}
