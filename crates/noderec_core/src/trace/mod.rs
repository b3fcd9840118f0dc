//! Trace format, writer and reader. `design-docs/trace-format.md` is the spec.

#[cfg(noderec_assembled)]
pub mod export;
pub mod format;
#[cfg(noderec_assembled)]
pub mod reader;
#[cfg(noderec_assembled)]
pub mod summary;
pub mod value;
#[cfg(noderec_assembled)]
pub mod walk;
#[cfg(noderec_assembled)]
pub mod writer;
