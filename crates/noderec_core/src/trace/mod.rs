//! Trace format, writer and reader. `design-docs/trace-format.md` is the spec.

pub mod export;
pub mod query;
pub mod reader;
pub mod value;
pub mod walk;
pub mod writer;
