//! The recorder failure reported from a thread that cannot act on it (the
//! writer thread, a panic hook), waiting for the JavaScript main thread,
//! which decides between abort and disable.

use std::sync::Mutex;

use super::lock;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_is_kept() {
        report("ERR_IO", "one", "write");
        report("ERR_INTERNAL", "two", "flush");
        let f = take().expect("a failure");
        assert_eq!((f.code.as_str(), f.point.as_str()), ("ERR_IO", "write"));
        assert!(take().is_none());
    }
}
