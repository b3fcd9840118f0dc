//! A recording session: the trace directory, its metadata, the shared clock
//! the probes read, the registry of paths and functions, and the writer.

pub mod activation;
pub mod clock;
pub mod lifecycle;
pub mod metadata;
pub mod modules;
pub mod signals;

/// Kept at their old paths for the binding and the tests.
pub use crate::host::{failure, faults, filesystem, handover, log};
