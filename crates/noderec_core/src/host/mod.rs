//! What every stage of the core needs from the process it runs in, below
//! all of them: files and directories opened safely (`filesystem`), the
//! failure a thread reports for the main thread (`failure`), the log queue
//! to the JavaScript logger (`log`), the handover histogram (`handover`) and
//! injected test faults (`faults`), and the main thread's stack room for the
//! recorded program (`stack`).

pub mod failure;
pub mod faults;
pub mod filesystem;
pub mod handover;
pub mod log;
pub mod stack;

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, taking over a lock poisoned by a panicking thread (the
/// queues hold plain data, valid whatever the panic interrupted).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
