//! Fuzz target `selector`: see `noderec_core::fuzz` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(m) = noderec_core::fuzz::check("selector", data) {
        panic!("selector: {m}");
    }
});
