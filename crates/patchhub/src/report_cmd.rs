//! `patchhub report` (being built).
#![allow(dead_code)]
