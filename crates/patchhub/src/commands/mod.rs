//! One module per command. Commands import the shared parts (`args`, `error`, `output`, the
//! report renderers), never each other.

pub mod cleanup;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod hub;
pub mod report;
pub mod sync;
