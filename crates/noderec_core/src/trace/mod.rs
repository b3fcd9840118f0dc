//! Trace format, writer and reader. `design-docs/trace-format.md` is the spec.

pub mod export;
pub mod query;
pub mod reader;
pub mod value;
pub mod walk;
pub mod writer;

// The format and JSON literals moved to `crate::wire`; their old paths stay
// until every user says `crate::wire`.
pub use crate::wire::{format, json};
