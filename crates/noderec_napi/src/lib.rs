//! napi bindings of noderec: type conversion, error codes and wiring only.
//! All logic lives in `noderec_core`.

#![allow(clippy::needless_pass_by_value)]

mod binding_errors;
mod binding_filter;
mod binding_io;
mod binding_recorder;
mod binding_trace;

#[napi_derive::module_init]
fn init() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("noderec: internal panic (this is a bug in noderec, please report it)");
        prev(info);
    }));
}
