//! Errors across the boundary as data: every failure becomes a JavaScript
//! `Error` whose `code` is the stable `ERR_*` code and which carries where it
//! happened as fields (`path`, and for a filter file `line` and `column`,
//! 1-based), as oxc's and lightningcss's bindings do. The message is the
//! core's text, without the code.

use napi::bindgen_prelude::{JsObjectValue, JsValue, Unknown};
use napi::{Env, Status};
use noderec_core::error::Error;

/// A failure inside a binding call, turned into a JavaScript error by
/// [`guard`] (or [`Failure::into_napi`]) where the call has its `Env`.
#[derive(Debug)]
pub enum Failure {
    /// A core error: its code, message and location.
    Core(Error),
    /// A failure of the binding itself with an explicit code.
    Coded {
        /// Stable `ERR_*` code.
        code: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<napi::Error> for Failure {
    fn from(e: napi::Error) -> Self {
        Failure::Coded { code: "ERR_INTERNAL", message: e.reason }
    }
}

/// Result of the work inside a binding call.
pub type BindResult<T> = std::result::Result<T, Failure>;

/// Converts a core error.
pub fn to_js(e: Error) -> Failure {
    Failure::Core(e)
}

/// A failure with an explicit code.
pub fn coded(code: &'static str, message: &str) -> Failure {
    Failure::Coded { code, message: message.to_string() }
}

impl Failure {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Core(e) => e.code(),
            Failure::Coded { code, .. } => code,
        }
    }

    /// The JavaScript error: `message`, `code`, and the location fields.
    /// Falls back to a plain error (code in `code` still) when the object
    /// cannot be decorated.
    pub fn into_napi(self, env: &Env) -> napi::Error {
        let code = self.code();
        let message = match &self {
            Failure::Core(e) => e.to_string(),
            Failure::Coded { message, .. } => message.clone(),
        };
        match self.decorate(env, code, &message) {
            Ok(value) => napi::Error::from(value),
            Err(_) => napi::Error::new(Status::GenericFailure, format!("{code}: {message}")),
        }
    }

    fn decorate<'e>(&self, env: &'e Env, code: &str, message: &str) -> napi::Result<Unknown<'e>> {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
        obj.set_named_property("code", code)?;
        if let Failure::Core(e) = self {
            let at = e.location();
            if let Some(p) = at.path {
                obj.set_named_property("path", p)?;
            }
            if let Some(l) = at.line {
                obj.set_named_property("line", l)?;
            }
            if let Some(c) = at.column {
                obj.set_named_property("column", c)?;
            }
        }
        Ok(obj.to_unknown())
    }
}

/// Runs `f`, turning a panic into `ERR_INTERNAL` instead of unwinding.
pub fn catch<T>(what: &str, f: impl FnOnce() -> BindResult<T>) -> BindResult<T> {
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

/// Runs `f`, turning its failure into a JavaScript error (with `code` and
/// location fields) and a panic into `ERR_INTERNAL` instead of unwinding
/// into V8.
pub fn guard<T>(env: &Env, what: &str, f: impl FnOnce() -> BindResult<T>) -> napi::Result<T> {
    catch(what, f).map_err(|f| f.into_napi(env))
}
