//! Fuzz target `glob`: see `noderec_core::fuzz` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(m) = noderec_core::fuzz::check("glob", data) {
        panic!("glob: {m}");
    }
});
