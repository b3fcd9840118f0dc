//! The wire: the bytes the TypeScript probes and encoder write and every Rust
//! reader and writer agrees on — the trace file's framing, record types,
//! event kinds and header flags (`format`, with the varint both directions
//! use), the value tags (`tag`), and JSON string literals for the exports
//! (`json`). The bottom of the core: it depends on nothing else in it, and
//! `trace`, `io`, `query` and `export` all depend on it. The TypeScript side's
//! copies of these numbers are checked against `wireConstants()` by
//! test/unit/wire-constants.test.ts. `design-docs/trace-format.md` and
//! `design-docs/values.md` are the spec.

pub mod format;
pub mod json;
pub mod tag;
