//! The log queue through which Rust-side log records reach the one
//! JavaScript log sink (Rust never writes to stderr itself), and the count
//! of panics (each also queued as a record).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::lock;

/// A log record produced in Rust, drained by the JavaScript logger.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// error | warn | info | debug | trace.
    pub level: &'static str,
    /// Module that logged (`noderec_core::writer`, ...).
    pub target: String,
    /// Stable code, when the record reports an error.
    pub code: Option<String>,
    /// Message.
    pub message: String,
    /// Structured fields.
    pub fields: serde_json::Value,
    /// Unix time, ms.
    pub ts_ms: i64,
}

const LOG_CAP: usize = 1024;
static LOGS: Mutex<VecDeque<LogRecord>> = Mutex::new(VecDeque::new());
static LOGS_DROPPED: AtomicU64 = AtomicU64::new(0);
static PANICS: AtomicU64 = AtomicU64::new(0);

/// Queues a log record (the oldest is dropped, and counted, past 1024).
pub fn log(
    level: &'static str,
    target: &str,
    code: Option<&str>,
    message: impl Into<String>,
    fields: serde_json::Value,
) {
    let rec = LogRecord {
        level,
        target: target.to_string(),
        code: code.map(str::to_string),
        message: message.into(),
        fields,
        ts_ms: super::filesystem::now_ms(),
    };
    let mut q = lock(&LOGS);
    if q.len() >= LOG_CAP {
        q.pop_front();
        LOGS_DROPPED.fetch_add(1, Ordering::Relaxed);
    }
    q.push_back(rec);
}

/// Takes every queued record, oldest first.
pub fn drain_logs() -> Vec<LogRecord> {
    lock(&LOGS).drain(..).collect()
}

/// Log records dropped because nobody drained the queue.
pub fn logs_dropped() -> u64 {
    LOGS_DROPPED.load(Ordering::Relaxed)
}

/// Notes a panic (called from the panic hook).
pub fn note_panic(message: &str, location: &str) {
    PANICS.fetch_add(1, Ordering::Relaxed);
    // The hook may run while LOGS is locked by this thread; never block there.
    if let Ok(mut q) = LOGS.try_lock() {
        if q.len() >= LOG_CAP {
            q.pop_front();
        }
        q.push_back(LogRecord {
            level: "error",
            target: "noderec::panic".into(),
            code: Some("ERR_INTERNAL".into()),
            message: format!("internal panic (a bug in noderec): {message}"),
            fields: serde_json::json!({ "location": location }),
            ts_ms: super::filesystem::now_ms(),
        });
    }
}

/// Panics seen in this process.
pub fn panics() -> u64 {
    PANICS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_drain_in_order() {
        log("warn", "t", None, "a", serde_json::json!({}));
        log("info", "t", Some("ERR_IO"), "b", serde_json::json!({"k": 1}));
        let l = drain_logs();
        let msgs: Vec<&str> = l.iter().map(|r| r.message.as_str()).collect();
        assert!(msgs.ends_with(&["a", "b"]));
    }
}
