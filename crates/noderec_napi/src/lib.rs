//! napi bindings of noderec: type conversion, error codes and wiring only.
//! All logic lives in `noderec_core`.

#![allow(clippy::needless_pass_by_value)]
// Under cfg(test) (`clippy --all-targets`) napi-derive does not register the
// exports, so every #[napi] item would be dead code. The binding has no Rust
// tests: it is tested from JavaScript.
#![cfg_attr(test, allow(dead_code))]

mod binding_errors;
mod binding_export;
mod binding_filter;
mod binding_io;
mod binding_logging;
mod binding_query;
mod binding_recorder;
mod binding_signals;
mod binding_stack;
mod binding_trace;

#[napi_derive::module_init]
fn init() {
    binding_logging::install_panic_hook();
}
