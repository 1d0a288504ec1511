//! OCSF events to files and objects: JSON Lines for SIEMs, and Apache Parquet in the layout of an
//! Amazon Security Lake custom source (one source per OCSF class, partitioned by Region, account
//! and day). The events come from `patchhub-core`'s OCSF rendering; this module only encodes and
//! places them ([`schema`], [`encode`], [`layout`]) and writes them ([`store`]).

pub mod encode;
pub mod layout;
pub mod schema;
pub mod store;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use encode::{EncodeError, to_parquet};
pub use layout::{LakeLayout, LayoutError, Partition, partition};
pub use schema::OcsfClass;
pub use store::{Destination, ObjectWriter};

use crate::error::ApiError;

/// One object an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Written {
    /// Where it went (`s3://…` or a path).
    pub location: String,
    /// Events in it.
    pub events: usize,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An event has no place in the lake.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Events could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// An object could not be written.
    #[error(transparent)]
    Write(#[from] ApiError),
}

/// The name stem of a run's objects: its UTC start, to the second.
fn stamp(now: DateTime<Utc>) -> String {
    format!("patchhub-{}", now.format("%Y%m%dT%H%M%SZ"))
}

/// The name of a run's Parquet objects: `patchhub-YYYYMMDDTHHMMSSZ[-TAG].parquet`. One run
/// (an export) needs no tag; writers that may run several times a second or side by side (the
/// Lambda's invocations) add one of their own, so no object ever replaces another.
pub fn object_name(now: DateTime<Utc>, tag: Option<&str>) -> String {
    match tag {
        Some(t) => format!("{}-{t}.parquet", stamp(now)),
        None => format!("{}.parquet", stamp(now)),
    }
}

/// One object that could not be written.
#[derive(Debug)]
pub struct NotWritten {
    /// Where it was to go (`s3://…` or a path).
    pub location: String,
    /// Events it was to hold.
    pub events: usize,
    /// Why not.
    pub error: ExportError,
}

/// What [`write_parquet_each`] did: every partition is tried, so one refused object (a
/// provider role that may write one source only) does not keep the others out of the lake.
#[derive(Debug, Default)]
pub struct LakeWrite {
    /// Objects written, in key order.
    pub written: Vec<Written>,
    /// Objects not written, in key order.
    pub failed: Vec<NotWritten>,
}

/// Writes `events` in the Security Lake layout: one Parquet object per partition (class,
/// Region, account, day), named for the run's time so a later export adds objects rather than
/// replacing them. Returns the objects in key order, or the first failure.
pub async fn write_parquet(
    writer: &ObjectWriter,
    layout: &LakeLayout,
    events: Vec<Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Written>, ExportError> {
    let mut out = write_parquet_each(|_| writer, layout, events, &object_name(now, None)).await?;
    match out.failed.is_empty() {
        true => Ok(out.written),
        false => Err(out.failed.swap_remove(0).error),
    }
}

/// [`write_parquet`] with a writer per class (each custom source may have its own provider
/// role) and a given object name ([`object_name`]). Every partition is tried; `Err` only when
/// the events have no place in the lake at all (a class patchhub does not write, or no
/// account, Region or time), before anything is written.
pub async fn write_parquet_each<'w>(
    writer_for: impl Fn(OcsfClass) -> &'w ObjectWriter,
    layout: &LakeLayout,
    events: Vec<Value>,
    object: &str,
) -> Result<LakeWrite, ExportError> {
    let mut out = LakeWrite::default();
    for (part, events) in partition(events)? {
        let writer = writer_for(part.class);
        let key = part.key("", layout, object);
        let put = match to_parquet(part.class, &events) {
            Ok(bytes) => writer.put(&key, bytes).await.map_err(ExportError::from),
            Err(e) => Err(e.into()),
        };
        match put {
            Ok(location) => out.written.push(Written {
                location,
                events: events.len(),
            }),
            Err(error) => out.failed.push(NotWritten {
                location: writer.destination().display(&key),
                events: events.len(),
                error,
            }),
        }
    }
    Ok(out)
}

/// Writes `events` as JSON Lines (one event per line) in one object named for the run's time.
pub async fn write_jsonl(
    writer: &ObjectWriter,
    events: &[Value],
    now: DateTime<Utc>,
) -> Result<Written, ExportError> {
    let mut text = String::new();
    for e in events {
        text.push_str(&e.to_string());
        text.push('\n');
    }
    let location = writer
        .put(&format!("{}.ocsf.jsonl", stamp(now)), text.into_bytes())
        .await?;
    Ok(Written {
        location,
        events: events.len(),
    })
}
