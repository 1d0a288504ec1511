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

/// Writes `events` in the Security Lake layout: one Parquet object per partition (class,
/// Region, account, day), named for the run's time so a later export adds objects rather than
/// replacing them. Returns the objects in key order.
pub async fn write_parquet(
    writer: &ObjectWriter,
    layout: &LakeLayout,
    events: Vec<Value>,
    now: DateTime<Utc>,
) -> Result<Vec<Written>, ExportError> {
    let object = format!("{}.parquet", stamp(now));
    let mut written = Vec::new();
    for (part, events) in partition(events)? {
        let bytes = to_parquet(part.class, &events)?;
        let location = writer.put(&part.key("", layout, &object), bytes).await?;
        written.push(Written {
            location,
            events: events.len(),
        });
    }
    Ok(written)
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
