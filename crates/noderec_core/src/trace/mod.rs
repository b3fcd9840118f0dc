//! Trace format, writer and reader. `design-docs/trace-format.md` is the spec.

pub mod export;
pub mod format;
pub mod json;
pub mod query;
pub mod reader;
pub mod value;
pub mod walk;
pub mod writer;
