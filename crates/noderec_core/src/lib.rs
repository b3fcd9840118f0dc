//! noderec core: instrumentation, trace format, reader and writer.
//! Knows nothing of napi; the binding crate wires it to JavaScript.

pub mod error;
pub mod export;
pub mod filter;
pub mod fuzz;
pub mod host;
pub mod instrument;
pub mod io;
pub mod query;
pub mod session;
pub mod trace;
pub mod wire;
