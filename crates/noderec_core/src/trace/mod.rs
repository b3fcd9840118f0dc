//! Trace format, writer and reader.

pub mod value;
