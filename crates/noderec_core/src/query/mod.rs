//! The query layer: an index built once per trace (stored next to it, see
//! `design-docs/index-format.md`) and the queries the JS API, the CLI and the
//! viewer answer from it.

pub mod build;
pub mod calls;
pub mod chunks;
pub mod diff;
pub mod index;
pub mod queries;
pub mod summary;

pub use build::IndexBuilder;
pub use index::{Act, Index};

#[cfg(test)]
mod tests;
