//! The clock the probes read instead of calling a timer per event: one
//! thread publishes the microseconds since the session started into a small
//! slot per JavaScript thread, every `TICK` (see trace-format.md, "Time").
//!
//! The publisher is made to keep its period on a busy machine: it sleeps to
//! absolute deadlines (a late wake-up does not push the next one back), asks
//! for a 1 ns timer slack instead of the default 50 µs, and asks (best
//! effort, without privileges it is refused and nothing changes) for the
//! lowest real-time priority, so that runnable program threads do not delay
//! it. It counts the steps between its publications in log2 buckets
//! ([`step_quantiles`]). `NODEREC_CLOCK=precise` makes the probes read a real
//! clock per event instead ([`session_now_us`] gives them the session time).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
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

/// Steps between publications: bucket `i` counts steps of `[2^i, 2^(i+1))` µs.
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
static STEPS: [AtomicU64; 32] = [ZERO; 32];

/// A process-wide origin, and the current session's start relative to it.
static BASE: OnceLock<Instant> = OnceLock::new();
static START_NS: AtomicU64 = AtomicU64::new(0);

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

/// Microseconds since the current session started, read now (precise mode).
pub fn session_now_us() -> f64 {
    let base = *BASE.get_or_init(Instant::now);
    let ns = base.elapsed().as_nanos() as f64 - START_NS.load(Ordering::Relaxed) as f64;
    ns / 1000.0
}

/// Steps between publications since the first session: (count, p50, p90,
/// p99), the quantiles as bucket upper bounds in µs.
pub fn step_quantiles() -> (u64, u64, u64, u64) {
    let counts: Vec<u64> = STEPS.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let n: u64 = counts.iter().sum();
    let q = |f: f64| -> u64 {
        let want = (n as f64 * f).ceil() as u64;
        let mut acc = 0;
        for (i, c) in counts.iter().enumerate() {
            acc += c;
            if acc >= want.max(1) {
                return 1u64 << (i + 1);
            }
        }
        0
    };
    (n, q(0.5), q(0.9), q(0.99))
}

/// The publishing thread; stops when dropped.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Starts publishing `start.elapsed()` in µs.
    pub fn start(start: Instant) -> std::io::Result<Ticker> {
        let base = *BASE.get_or_init(|| start);
        START_NS.store(start.saturating_duration_since(base).as_nanos() as u64, Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        let join = std::thread::Builder::new().name("noderec-clock".into()).spawn(move || {
            steady_thread();
            let mut last = publish(start);
            let mut deadline = Instant::now();
            while !s2.load(Ordering::Relaxed) {
                deadline += TICK;
                let now = Instant::now();
                if deadline < now {
                    // Too late for that tick: aim at the next one from now.
                    deadline = now + TICK;
                }
                sleep_until(deadline);
                let us = publish(start);
                let step = u64::from(us.wrapping_sub(last)).max(1);
                let b = (63 - step.leading_zeros()) as usize;
                STEPS[b.min(31)].fetch_add(1, Ordering::Relaxed);
                last = us;
            }
        })?;
        publish(start);
        Ok(Ticker { stop, join: Some(join) })
    }
}

/// Writes the current time into every slot in use; returns it.
pub fn publish(start: Instant) -> u32 {
    let us = start.elapsed().as_micros() as u32;
    let n = USED.load(Ordering::Acquire).min(SLOTS);
    for s in &CLOCK[..n.max(1)] {
        s.0.store(us, Ordering::Relaxed);
    }
    us
}

#[cfg(target_os = "linux")]
fn steady_thread() {
    // SAFETY: plain syscalls on the calling thread with valid arguments;
    // failures (no privilege for SCHED_FIFO) leave the thread as it was.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        let p = libc::sched_param { sched_priority: 1 };
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &p);
    }
}

#[cfg(not(target_os = "linux"))]
fn steady_thread() {}

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_and_counts_steps() {
        let start = Instant::now();
        let t = Ticker::start(start).expect("ticker");
        std::thread::sleep(Duration::from_millis(30));
        drop(t);
        let (n, p50, p90, p99) = step_quantiles();
        assert!(n > 10, "{n} steps in 30 ms");
        assert!(p50 >= 64 && p50 <= p90 && p90 <= p99, "{p50} {p90} {p99}");
        let now = session_now_us();
        assert!(now >= 30_000.0, "{now}");
    }
}
