//! Failure injection, for tests only.
//!
//! `fail_point(name)` fails when, and only when, the process was started
//! with `NODEREC_TEST_GUARD=1` and `NODEREC_TEST_FAIL_AT=<name>`. Names:
//! `instrument`, `write`, `flush`, `finish`, `panic`, `disk-full` (the
//! writer thread's next chunk write fails with ENOSPC). `NODEREC_TEST_FAIL_AFTER=N`
//! lets the first `N` passes through the point succeed. Without the guard
//! the variables are ignored. The environment is read once per process.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

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
}
