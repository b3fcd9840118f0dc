//! Rust-side log records reach JavaScript here: the core queues them
//! (`noderec_core::session::log::log`), the JavaScript logger drains the
//! queue and writes them through its one sink, in its one format. Rust
//! writes nothing to stderr itself; the panic hook only queues a record.

use napi_derive::napi;
use noderec_core::session::log;

/// One log record produced in Rust.
#[napi(object)]
pub struct BindingLogRecord {
    /// Unix time, ms.
    pub ts: f64,
    /// error | warn | info | debug | trace.
    pub level: String,
    /// Where it was logged.
    pub target: String,
    /// Stable code, for errors.
    pub code: Option<String>,
    /// Message.
    pub message: String,
    /// Structured fields, JSON text.
    pub fields: String,
}

/// Takes every queued Rust log record, oldest first.
#[napi]
pub fn drain_logs() -> Vec<BindingLogRecord> {
    log::drain_logs()
        .into_iter()
        .map(|r| BindingLogRecord {
            ts: r.ts_ms as f64,
            level: r.level.to_string(),
            target: r.target,
            code: r.code,
            message: r.message,
            fields: r.fields.to_string(),
        })
        .collect()
}

/// Installs the panic hook: a panic becomes a queued log record (and is
/// counted); nothing is printed. The binding's `guard` turns it into an
/// `ERR_INTERNAL` error at the napi boundary.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        log::note_panic(&message, &location);
    }));
}
