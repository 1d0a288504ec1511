//! The SDK side of patchhub: reads patch compliance from SSM ([`source`]), writes findings to
//! Security Hub ([`sink`]), and runs the sync ([`sync`]) across accounts and Regions ([`fanout`])
//! within AWS's quotas ([`quota`]). `patchhub report` reads its findings through [`report_read`];
//! `patchhub export` writes OCSF events to files, S3 and Security Lake through [`lake`].
//!
//! The domain (what a finding says, when it changes) lives in `patchhub-core`; this crate only
//! moves data between the SDK clients and the core types.

pub mod actions;
pub mod clients;
pub mod convert;
pub mod deadlines;
pub mod doctor;
mod error;
pub mod fanout;
mod findings_query;
pub mod hub;
pub mod lake;
mod listing;
mod node_reads;
mod organization;
mod paging;
pub mod quota;
mod regions;
pub mod report_read;
pub mod runtime;
pub mod scan;
pub mod settings;
pub mod sink;
pub mod source;
mod stored;
pub mod sync;
pub mod target;
pub mod targets;

pub use error::{ApiError, ErrorKind};
pub use organization::SkippedAccount;
