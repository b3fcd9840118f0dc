//! Recorder failures: test-only failure injection, the failure reported from
//! a thread that cannot act on it, and the log queue through which Rust-side
//! log records reach the one JavaScript log sink (Rust never writes to
//! stderr itself).
//!
//! ## Failure injection (tests only)
//!
//! `fail_point(name)` fails when, and only when, the process was started
//! with `NODEREC_TEST_GUARD=1` and `NODEREC_TEST_FAIL_AT=<name>`. Names:
//! `instrument`, `write`, `flush`, `finish`, `panic`, `disk-full` (the
//! writer thread's next chunk write fails with ENOSPC). `NODEREC_TEST_FAIL_AFTER=N`
//! lets the first `N` passes through the point succeed. Without the guard
//! the variables are ignored. The environment is read once per process.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::error::{Error, Result};

/// Failure points that can be injected.
pub const POINTS: [&str; 6] = ["instrument", "write", "flush", "finish", "panic", "disk-full"];

struct Injection {
    at: String,
    after: u64,
}

static INJECTION: OnceLock<Option<Injection>> = OnceLock::new();
static PASSES: AtomicU64 = AtomicU64::new(0);

fn injection() -> Option<&'static Injection> {
    INJECTION
        .get_or_init(|| {
            let guard = std::env::var("NODEREC_TEST_GUARD").ok()?;
            if guard != "1" {
                return None;
            }
            let at = std::env::var("NODEREC_TEST_FAIL_AT").ok()?;
            if !POINTS.contains(&at.as_str()) {
                return None;
            }
            let after = std::env::var("NODEREC_TEST_FAIL_AFTER").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
            Some(Injection { at, after })
        })
        .as_ref()
}

/// Fails (or, for `panic`, panics) when the test guard asks for it at `name`.
pub fn fail_point(name: &str) -> Result<()> {
    let Some(inj) = injection() else { return Ok(()) };
    if inj.at != name {
        return Ok(());
    }
    if PASSES.fetch_add(1, Ordering::Relaxed) < inj.after {
        return Ok(());
    }
    let injected = || std::io::Error::other(format!("injected failure at '{name}' (NODEREC_TEST_FAIL_AT)"));
    match name {
        "panic" => panic!("injected panic (NODEREC_TEST_FAIL_AT=panic)"),
        "instrument" => Err(Error::Instrument {
            path: "<injected>".into(),
            message: "injected failure (NODEREC_TEST_FAIL_AT)".into(),
        }),
        "write" => Err(Error::io("write trace events", injected())),
        "flush" => Err(Error::io("flush trace", injected())),
        _ => Err(Error::io("finish trace", injected())),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

// ---- failures reported from other threads ---------------------------------

/// A recorder failure waiting for the main thread (which decides between
/// abort and disable).
#[derive(Debug, Clone)]
pub struct Failure {
    /// Stable code (`ERR_*`).
    pub code: String,
    /// Message.
    pub message: String,
    /// Where it happened: instrument, write, flush, finish, panic, ...
    pub point: String,
}

static PENDING: Mutex<Option<Failure>> = Mutex::new(None);

/// Records a failure (the first one is kept until taken).
pub fn report(code: &str, message: &str, point: &str) {
    let mut p = lock(&PENDING);
    if p.is_none() {
        *p = Some(Failure { code: code.into(), message: message.into(), point: point.into() });
    }
}

/// Takes the failure reported since the last call, if any.
pub fn take() -> Option<Failure> {
    lock(&PENDING).take()
}

// ---- log records -----------------------------------------------------------

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

// ---- handover latency --------------------------------------------------------

/// Log2 buckets of the time (µs) the JavaScript thread spends handing a
/// buffer to the writer (copy + send, waits on a full channel included).
static HANDOVER: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];

/// Counts one handover of `us` microseconds.
pub fn note_handover(us: u64) {
    let b = (64 - us.leading_zeros() as usize).min(31);
    HANDOVER[b].fetch_add(1, Ordering::Relaxed);
}

/// Clears the handover histogram (a new session).
pub fn reset_handover() {
    for b in &HANDOVER {
        b.store(0, Ordering::Relaxed);
    }
}

/// `(count, p50, p99)` of the handovers, in µs (upper bounds of log2 buckets).
pub fn handover_quantiles() -> (u64, u64, u64) {
    let counts: Vec<u64> = HANDOVER.iter().map(|b| b.load(Ordering::Relaxed)).collect();
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return (0, 0, 0);
    }
    let q = |f: f64| -> u64 {
        let want = ((total as f64) * f).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return if i == 0 { 0 } else { 1u64 << i };
            }
        }
        1u64 << 31
    };
    (total, q(0.5), q(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_injection_without_the_guard() {
        // The test process has no NODEREC_TEST_GUARD.
        for p in POINTS {
            if p != "panic" {
                assert!(fail_point(p).is_ok());
            }
        }
    }

    #[test]
    fn first_failure_is_kept() {
        report("ERR_IO", "one", "write");
        report("ERR_INTERNAL", "two", "flush");
        let f = take().expect("a failure");
        assert_eq!((f.code.as_str(), f.point.as_str()), ("ERR_IO", "write"));
        assert!(take().is_none());
    }

    #[test]
    fn quantiles_of_log_buckets() {
        reset_handover();
        for _ in 0..99 {
            note_handover(3);
        }
        note_handover(5000);
        let (n, p50, p99) = handover_quantiles();
        assert_eq!(n, 100);
        assert_eq!(p50, 4);
        assert_eq!(p99, 4);
        note_handover(5000);
        assert_eq!(handover_quantiles().2, 8192);
    }

    #[test]
    fn logs_drain_in_order() {
        log("warn", "t", None, "a", serde_json::json!({}));
        log("info", "t", Some("ERR_IO"), "b", serde_json::json!({"k": 1}));
        let l = drain_logs();
        let msgs: Vec<&str> = l.iter().map(|r| r.message.as_str()).collect();
        assert!(msgs.ends_with(&["a", "b"]));
    }
}
