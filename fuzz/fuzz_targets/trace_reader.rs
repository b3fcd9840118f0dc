//! Fuzz target `trace_reader`: see `noderec_core::fuzz` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(m) = noderec_core::fuzz::check("trace_reader", data) {
        panic!("trace_reader: {m}");
    }
});
