//! The clock the probes read instead of calling a timer per event: one
//! thread publishes the microseconds since the session started into a small
//! slot per JavaScript thread, every `TICK` (see trace-format.md, "Time").

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Publication period.
pub const TICK: Duration = Duration::from_micros(100);
/// Slots available (one per JavaScript thread; never reused, because V8
/// forbids two ArrayBuffers over the same memory).
pub const SLOTS: usize = 1024;

#[repr(C, align(16))]
struct Slot(AtomicU32, [u32; 3]);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot(AtomicU32::new(0), [0; 3]);
static CLOCK: [Slot; SLOTS] = [EMPTY; SLOTS];
static USED: AtomicUsize = AtomicUsize::new(0);

/// Takes a fresh slot; `None` when all are taken.
pub fn take_slot() -> Option<usize> {
    let n = USED.fetch_add(1, Ordering::AcqRel);
    if n < SLOTS {
        Some(n)
    } else {
        None
    }
}

/// Address of a slot's u32, for an external ArrayBuffer.
pub fn slot_ptr(slot: usize) -> *mut u8 {
    CLOCK[slot].0.as_ptr().cast()
}

/// The publishing thread; stops when dropped.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Starts publishing `start.elapsed()` in µs.
    pub fn start(start: Instant) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        let join = std::thread::Builder::new().name("noderec-clock".into()).spawn(move || {
            while !s2.load(Ordering::Relaxed) {
                publish(start);
                std::thread::sleep(TICK);
            }
        })?;
        publish(start);
        Ok(Ticker { stop, join: Some(join) })
    }
}

/// Writes the current time into every slot in use.
pub fn publish(start: Instant) {
    let us = start.elapsed().as_micros() as u32;
    let n = USED.load(Ordering::Acquire).min(SLOTS);
    for s in &CLOCK[..n.max(1)] {
        s.0.store(us, Ordering::Relaxed);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}
