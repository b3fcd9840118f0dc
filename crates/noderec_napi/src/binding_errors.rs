//! Maps core errors to JavaScript errors carrying a stable code. The code
//! travels as a `ERR_*: ` prefix of the message; `js/native.ts` moves it to
//! `error.code`.

use noderec_core::error::Error;

/// napi result whose error carries a stable `ERR_*` code.
pub type JsResult<T> = napi::Result<T>;

/// Converts a core error.
pub fn to_js(e: Error) -> napi::Error {
    coded(e.code(), &e.to_string())
}

/// An error with an explicit code.
pub fn coded(code: &str, message: &str) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("{code}: {message}"))
}

/// Runs `f`, turning a panic into `ERR_INTERNAL` instead of unwinding into V8.
pub fn guard<T>(what: &str, f: impl FnOnce() -> JsResult<T>) -> JsResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(coded("ERR_INTERNAL", &format!("{what}: panic: {msg} (a bug in noderec)")))
        }
    }
}
