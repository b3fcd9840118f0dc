//! Trace filters: TOML files that choose what is recorded (see
//! `design-docs/filters.md`). `model` holds the types, `loader` turns TOML
//! into them and composes the chain, `selector` parses and matches
//! selectors (globs with picomatch's semantics via `glob`, JavaScript regular
//! expressions via `jsregex`), `engine` makes the cached decisions for
//! files, functions and values, and `summary` reports the chain and its
//! statistics for `metadata.json`.

pub mod engine;
pub mod loader;
pub mod model;
pub mod selector;
pub mod summary;

pub use engine::Engine;
/// The matchers live in their own crate (crates/noderec_glob).
pub use noderec_glob::{glob, jsregex};
