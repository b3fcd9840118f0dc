//! The trace file: its writer, its reader, the value codec and the walk that
//! replays a whole trace. `design-docs/trace-format.md` is the spec (the
//! bytes themselves are `crate::wire`).

pub mod hold;
pub mod pool;
pub mod reader;
pub mod value;
pub mod walk;
pub mod writer;
