//! IO capture: the output chunk model (what an OUTPUT event carries) and the
//! fd mirror of `NODEREC_CAPTURE_IO=proxies+fd` (see design-docs/io-capture.md).

pub mod chunk;
pub mod dedup;
pub mod idle;
#[cfg(unix)]
pub mod mirror;
