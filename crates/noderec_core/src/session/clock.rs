//! The clock the probes read instead of calling a timer per event: one
//! thread publishes the microseconds since the session started into a small
//! slot per JavaScript thread, every `TICK` (see trace-format.md, "Time").
//!
//! The publisher is made to keep its period on a busy machine: it sleeps to
//! absolute deadlines (a late wake-up does not push the next one back) and
//! asks for a 1 ns timer slack instead of the default 50 µs. It does not ask
//! for a real-time priority: that kept its steps shorter as root, but
//! starved the program's own threads when several recorded processes ran
//! at once (decisions.md, section 4). It counts the steps between its publications in log2 buckets
//! ([`step_quantiles`]). `NODEREC_CLOCK=precise` makes the probes read a real
//! clock per event instead ([`session_now_us`] gives them the session time),
//! and the session then runs no publisher at all ([`Ticker::parked`]).
//!
//! When no JavaScript thread has run for `IDLE_AFTER` (their CPU clocks did
//! not move: each is blocked in its event loop, so no probe reads the
//! clock), the publisher writes [`PARKED`] into every slot and parks with no
//! timeout: an idle recorded process does not wake it at all. A probe that
//! reads `PARKED` takes its slow path, [`wake`]: it reads the session clock
//! itself (so the first event after a pause carries the time it happened),
//! publishes that into its own slot and unparks the publisher, which
//! publishes again from its next tick. A time is never `PARKED` (the µs
//! value `u32::MAX`, once every 71 minutes, is published as `u32::MAX - 1`),
//! and a slot never goes back: the publisher does not overwrite a later time
//! a wake published (decisions.md, section 31).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Publication period.
pub const TICK: Duration = Duration::from_micros(100);
/// What a slot holds while the publisher is parked: never a time.
pub const PARKED: u32 = u32::MAX;
/// How long the JavaScript threads must have used no CPU to count as idle.
pub const IDLE_AFTER: Duration = Duration::from_millis(2);
/// How often the JavaScript threads' CPU clocks are read while busy.
const CHECK_EVERY: Duration = Duration::from_millis(1);
/// Slots available (one per JavaScript thread; never reused, because V8
/// forbids two ArrayBuffers over the same memory).
pub const SLOTS: usize = 1024;

#[repr(C, align(16))]
struct Slot(AtomicU32, [u32; 3]);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot(AtomicU32::new(0), [0; 3]);
static CLOCK: [Slot; SLOTS] = [EMPTY; SLOTS];
static USED: AtomicUsize = AtomicUsize::new(0);
/// Per slot, the CPU clock of the thread that took it (`clockid_t`), or
/// `NO_CPU_CLOCK`.
#[allow(clippy::declare_interior_mutable_const)]
const NO_CLOCK: AtomicI64 = AtomicI64::new(NO_CPU_CLOCK);
pub(crate) const NO_CPU_CLOCK: i64 = i64::MIN;
static CPU_CLOCKS: [AtomicI64; SLOTS] = [NO_CLOCK; SLOTS];

/// Steps between publications: bucket `i` counts steps of `[2^i, 2^(i+1))` µs.
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
static STEPS: [AtomicU64; 32] = [ZERO; 32];

/// A process-wide origin, and the current session's start relative to it.
static BASE: OnceLock<Instant> = OnceLock::new();
static START_NS: AtomicU64 = AtomicU64::new(0);

/// The running publisher, for [`wake`] to unpark.
static PUBLISHER: Mutex<Option<std::thread::Thread>> = Mutex::new(None);
/// False while the session has no publisher (`NODEREC_CLOCK=precise`, whose
/// events never read the slots): [`wake`] then answers without storing, so
/// the slots stay marked and every read of one asks for the time.
static PUBLISHING: AtomicBool = AtomicBool::new(false);
/// 1 + the time the first [`wake`] since the publisher parked published
/// (0: none yet): the publisher counts the step from it to its own next
/// publication, the longest a woken thread read that time.
static WOKEN_AT: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The slot the calling thread took last (its probes read that one).
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Takes a fresh slot for the calling (JavaScript) thread; `None` when all
/// are taken. The slot starts `PARKED`: the thread's first probe reads the
/// time itself, whether or not the publisher runs.
pub fn take_slot() -> Option<usize> {
    let n = USED.fetch_add(1, Ordering::AcqRel);
    if n < SLOTS {
        CPU_CLOCKS[n].store(own_cpu_clock(), Ordering::Release);
        CLOCK[n].0.store(PARKED, Ordering::SeqCst);
        MY_SLOT.with(|c| c.set(n));
        Some(n)
    } else {
        None
    }
}

/// The slow path of a probe that read `PARKED` in its slot: publishes the
/// session time now into the calling thread's slot and unparks the
/// publisher. Returns the time the slot then holds (the one the probe
/// records): this one, or a time the publisher wrote first.
pub fn wake() -> u32 {
    let us = session_time_u32();
    let slot = MY_SLOT.with(Cell::get);
    if slot >= SLOTS || !PUBLISHING.load(Ordering::SeqCst) {
        return us;
    }
    match CLOCK[slot].0.compare_exchange(PARKED, us, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            let _ = WOKEN_AT.compare_exchange(0, u64::from(us) + 1, Ordering::SeqCst, Ordering::SeqCst);
            if let Some(t) = PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                t.unpark();
            }
            us
        }
        Err(now) => now,
    }
}

/// A µs time as published: mod 2^32, never `PARKED`.
fn as_published(us: u128) -> u32 {
    let v = us as u32;
    if v == PARKED {
        PARKED - 1
    } else {
        v
    }
}

/// The current session's time now, as the publisher would publish it.
fn session_time_u32() -> u32 {
    let base = *BASE.get_or_init(Instant::now);
    let ns = base.elapsed().as_nanos().saturating_sub(u128::from(START_NS.load(Ordering::Relaxed)));
    as_published(ns / 1000)
}

/// The calling thread's CPU clock (`clockid_t`), or `NO_CPU_CLOCK`.
#[cfg(target_os = "linux")]
pub(crate) fn own_cpu_clock() -> i64 {
    let mut id: libc::clockid_t = 0;
    // SAFETY: the calling thread's own pthread_t and a valid out pointer.
    let r = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    if r == 0 {
        i64::from(id)
    } else {
        NO_CPU_CLOCK
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn own_cpu_clock() -> i64 {
    NO_CPU_CLOCK
}

/// CPU time (ns) read from a thread's clock taken by [`own_cpu_clock`];
/// `None` for `NO_CPU_CLOCK` or a thread that has ended (EINVAL).
#[cfg(target_os = "linux")]
pub(crate) fn cpu_clock_ns(clock: i64) -> Option<u64> {
    if clock == NO_CPU_CLOCK {
        return None;
    }
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out pointer; a clock id of a thread that has ended
    // gives EINVAL.
    let ok = unsafe { libc::clock_gettime(clock as libc::clockid_t, &mut ts) } == 0;
    ok.then(|| (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn cpu_clock_ns(_clock: i64) -> Option<u64> {
    None
}

/// The summed CPU time (ns) of the JavaScript threads whose clocks can be
/// read, or `None` when none can (then the publisher never idles).
#[cfg(target_os = "linux")]
fn js_cpu_ns() -> Option<u64> {
    let n = USED.load(Ordering::Acquire).min(SLOTS);
    let mut sum = 0u64;
    let mut any = false;
    for c in &CPU_CLOCKS[..n] {
        let id = c.load(Ordering::Acquire);
        if id == NO_CPU_CLOCK {
            continue;
        }
        // An ended thread runs no probe: its slot is not read again, so a
        // process that went through many workers pays nothing for them.
        match cpu_clock_ns(id) {
            Some(ns) => {
                any = true;
                sum = sum.wrapping_add(ns);
            }
            None => c.store(NO_CPU_CLOCK, Ordering::Release),
        }
    }
    any.then_some(sum)
}

#[cfg(not(target_os = "linux"))]
fn js_cpu_ns() -> Option<u64> {
    None
}

/// Idle detection for the publisher: reads the JavaScript threads' CPU time
/// at most every `CHECK_EVERY`.
struct Activity {
    last_cpu: Option<u64>,
    last_check: Instant,
    still_since: Option<Instant>,
    idle: bool,
}

impl Activity {
    fn new(now: Instant) -> Activity {
        Activity { last_cpu: js_cpu_ns(), last_check: now, still_since: None, idle: false }
    }

    /// Updates the state at `now`; true while every JavaScript thread is idle.
    fn idle(&mut self, now: Instant) -> bool {
        if now.duration_since(self.last_check) < CHECK_EVERY {
            return self.idle;
        }
        self.last_check = now;
        let cpu = js_cpu_ns();
        let still = cpu.is_some() && cpu == self.last_cpu;
        self.last_cpu = cpu;
        if !still {
            self.still_since = None;
            self.idle = false;
        } else {
            let since = *self.still_since.get_or_insert(now);
            // The CPU clock last moved before the previous check: count from there.
            self.idle = now.duration_since(since) + CHECK_EVERY >= IDLE_AFTER;
        }
        self.idle
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
    max_step: Arc<AtomicU64>,
    join: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// A session clock without a publisher (`NODEREC_CLOCK=precise`): the
    /// slots hold `PARKED`, so a read of one (the IO capture's `now()`)
    /// asks [`wake`] for the time, and no thread wakes 10 000 times a
    /// second for events that read a clock of their own.
    pub fn parked(start: Instant) -> Ticker {
        set_start(start);
        PUBLISHING.store(false, Ordering::SeqCst);
        let n = USED.load(Ordering::Acquire).min(SLOTS);
        for s in &CLOCK[..n.max(1)] {
            s.0.store(PARKED, Ordering::SeqCst);
        }
        Ticker { stop: Arc::new(AtomicBool::new(true)), max_step: Arc::new(AtomicU64::new(0)), join: None }
    }

    /// Starts publishing `start.elapsed()` in µs.
    pub fn start(start: Instant) -> std::io::Result<Ticker> {
        set_start(start);
        PUBLISHING.store(true, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        let max_step = Arc::new(AtomicU64::new(0));
        let m2 = Arc::clone(&max_step);
        force_publish(start);
        let join = std::thread::Builder::new().name("noderec-clock".into()).spawn(move || {
            steady_thread();
            let mut last = publish(start);
            let mut deadline = Instant::now();
            let mut activity = Activity::new(deadline);
            while !s2.load(Ordering::Relaxed) {
                deadline += TICK;
                let now = Instant::now();
                if deadline < now {
                    // Too late for that tick: aim at the next one from now.
                    deadline = now + TICK;
                }
                sleep_until(deadline);
                let us = publish(start);
                count_step(&m2, us.wrapping_sub(last));
                last = us;
                if !activity.idle(Instant::now()) {
                    continue;
                }
                // Every JavaScript thread waits: park until a probe wakes us.
                WOKEN_AT.store(0, Ordering::SeqCst);
                let n = USED.load(Ordering::Acquire).min(SLOTS);
                for s in &CLOCK[..n.max(1)] {
                    s.0.store(PARKED, Ordering::SeqCst);
                }
                while !s2.load(Ordering::SeqCst) && WOKEN_AT.load(Ordering::SeqCst) == 0 {
                    std::thread::park();
                }
                let woken = WOKEN_AT.load(Ordering::SeqCst);
                last = publish(start);
                // The woken thread read the time its wake published until
                // this publication: that is a step. The parked time is not.
                if woken != 0 {
                    count_step(&m2, last.wrapping_sub((woken - 1) as u32));
                }
                deadline = Instant::now();
                activity = Activity::new(deadline);
            }
        })?;
        *PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner) = Some(join.thread().clone());
        Ok(Ticker { stop, max_step, join: Some(join) })
    }

    /// The longest step (µs) between two publications of this ticker while
    /// a JavaScript thread ran: no published time read then was older than
    /// that, so a duration measured with it is short by less.
    pub fn max_step_us(&self) -> u64 {
        self.max_step.load(Ordering::Relaxed)
    }
}

/// Makes `start` the current session's start.
fn set_start(start: Instant) {
    let base = *BASE.get_or_init(|| start);
    START_NS.store(start.saturating_duration_since(base).as_nanos() as u64, Ordering::Relaxed);
}

/// Counts a step between two publications (µs, mod 2^32).
fn count_step(max_step: &AtomicU64, step: u32) {
    let step = u64::from(step).max(1);
    let b = (63 - step.leading_zeros()) as usize;
    STEPS[b.min(31)].fetch_add(1, Ordering::Relaxed);
    max_step.fetch_max(step, Ordering::Relaxed);
}

/// True when `a` is a later time than `b` (both µs mod 2^32, less than
/// 2^31 µs apart).
fn later(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// Writes the current time into every slot in use; returns it. A slot
/// keeps a later time a [`wake`] wrote there after this one was read.
pub fn publish(start: Instant) -> u32 {
    let us = as_published(start.elapsed().as_micros());
    let n = USED.load(Ordering::Acquire).min(SLOTS);
    for s in &CLOCK[..n.max(1)] {
        let mut cur = s.0.load(Ordering::Relaxed);
        while cur == PARKED || later(us, cur) {
            match s.0.compare_exchange_weak(cur, us, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => break,
                Err(c) => cur = c,
            }
        }
    }
    us
}

/// A session's first publication: every slot, whatever it held (a
/// previous session's times are later).
fn force_publish(start: Instant) {
    let us = as_published(start.elapsed().as_micros());
    let n = USED.load(Ordering::Acquire).min(SLOTS);
    for s in &CLOCK[..n.max(1)] {
        s.0.store(us, Ordering::SeqCst);
    }
}

#[cfg(target_os = "linux")]
fn steady_thread() {
    // No real-time priority (decisions.md, section 4): a SCHED_FIFO thread
    // waking every 100 µs in each of several recorded processes starved
    // their program threads (issue 8: CLIs spawned together ran 30 times
    // slower, looking hung).
    // SAFETY: a plain syscall on the calling thread with valid arguments;
    // a failure leaves the thread as it was.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
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
        self.stop.store(true, Ordering::SeqCst);
        if let Some(j) = self.join.take() {
            j.thread().unpark();
            let _ = j.join();
        }
        *PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The publisher and its counters are process-wide: one test at a time
    /// runs a ticker or a stand-in JavaScript thread.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to 20 s (a loaded machine wakes threads late) for `f`.
    fn until(what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_time_is_never_the_parked_marker_and_a_slot_never_goes_back() {
        assert_eq!(as_published(u128::from(u32::MAX)), PARKED - 1);
        assert_eq!(as_published(u128::from(u32::MAX) + 1), 0);
        assert!(later(5, 3) && !later(3, 5) && !later(3, 3));
        // Across the wrap of the µs counter (every 71 minutes).
        assert!(later(2, u32::MAX - 2));
        let _serial = serial();
        let slot = take_slot().expect("slot");
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED, "a fresh slot is parked");
        // A publication replaces the marker, not a later time a wake wrote.
        let start = Instant::now();
        assert!(publish(start) < 1_000_000);
        assert_ne!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED);
        CLOCK[slot].0.store(5_000_000, Ordering::SeqCst);
        publish(start);
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), 5_000_000);
    }

    #[test]
    fn without_a_publisher_a_wake_answers_and_the_slot_stays_marked() {
        let _serial = serial();
        let slot = take_slot().expect("slot");
        let t = Ticker::parked(Instant::now());
        std::thread::sleep(Duration::from_millis(2));
        let a = wake();
        std::thread::sleep(Duration::from_millis(2));
        let b = wake();
        assert!(a >= 2000 && later(b, a) && b != PARKED, "{a} then {b}");
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED);
        drop(t);
    }

    #[test]
    fn parks_while_the_js_threads_wait_and_a_probe_wakes_it() {
        use std::sync::mpsc;
        let _serial = serial();
        // A thread standing for a JavaScript thread: takes a slot, blocks
        // (an idle event loop); on an order it does what a probe that reads
        // the slot does (wake() on the marker), then runs for 5 ms.
        let (go, orders) = mpsc::channel::<()>();
        let (ready, acks) = mpsc::channel::<(u32, u32)>();
        let js = std::thread::spawn(move || {
            let slot = take_slot().expect("slot");
            ready.send((slot as u32, 0)).expect("ack");
            while orders.recv().is_ok() {
                let seen = CLOCK[slot].0.load(Ordering::SeqCst);
                let t = if seen == PARKED { wake() } else { seen };
                ready.send((seen, t)).expect("ack");
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_millis(5) {}
            }
        });
        let slot = acks.recv().expect("slot").0 as usize;
        let start = Instant::now();
        let ticker = Ticker::start(start).expect("ticker");
        let read = || CLOCK[slot].0.load(Ordering::SeqCst);
        until("the publisher to park", || read() == PARKED);
        // Parked: no publication at all while the thread waits.
        let steps = step_quantiles().0;
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(read(), PARKED);
        assert_eq!(step_quantiles().0, steps, "the parked publisher published");
        // The probe's wake gives the time now, not the time the publisher parked.
        go.send(()).expect("order");
        let (seen, woke) = acks.recv().expect("ack");
        assert_eq!(seen, PARKED);
        assert!(woke != PARKED && woke >= 200_000, "woke at {woke} µs");
        // The publisher runs again: the slot moves on from the woken time.
        until("a publication after the wake", || later(read(), woke));
        drop(go);
        js.join().expect("join");
        // The parked 200 ms were not a step: only the wake's time to the
        // next publication was.
        assert!(ticker.max_step_us() < 200_000, "max step {} µs", ticker.max_step_us());
    }

    #[test]
    fn idles_only_while_the_js_threads_use_no_cpu() {
        use std::sync::mpsc;
        let _serial = serial();
        // A thread standing for a JavaScript thread: it takes a slot, then
        // spins (runs) or blocks (an idle event loop) on command.
        let (go, orders) = mpsc::channel::<u64>();
        let (ready, acks) = mpsc::channel::<()>();
        let js = std::thread::spawn(move || {
            let _slot = take_slot().expect("slot");
            ready.send(()).expect("ack");
            while let Ok(spin_ms) = orders.recv() {
                let t = Instant::now();
                while t.elapsed() < Duration::from_millis(spin_ms) {}
                ready.send(()).expect("ack");
            }
        });
        acks.recv().expect("slot taken");
        let t0 = Instant::now();
        let mut a = Activity::new(t0);
        let mut now = t0;
        // Busy: it uses CPU between checks.
        for _ in 0..3 {
            go.send(2).expect("order");
            acks.recv().expect("ack");
            now += CHECK_EVERY;
            assert!(!a.idle(now), "busy thread seen idle");
        }
        // Blocked: idle once IDLE_AFTER has passed without CPU.
        let mut checks = 0;
        while !a.idle(now) {
            now += CHECK_EVERY;
            checks += 1;
            assert!(checks <= 4, "still not idle after {checks} checks");
        }
        assert!(CHECK_EVERY * (checks + 1) >= IDLE_AFTER, "idle after {checks} checks");
        // Running again: busy at the next check.
        go.send(2).expect("order");
        acks.recv().expect("ack");
        assert!(!a.idle(now + CHECK_EVERY), "running thread seen idle");
        drop(go);
        js.join().expect("join");
        // The thread has ended: its clock is no longer read.
        let readable = || {
            CPU_CLOCKS[..USED.load(Ordering::Acquire).min(SLOTS)]
                .iter()
                .filter(|c| c.load(Ordering::Acquire) != NO_CPU_CLOCK)
                .count()
        };
        let before = readable();
        let _ = js_cpu_ns();
        assert!(readable() < before, "an ended thread's clock is still read");
    }

    #[test]
    fn publishes_and_counts_steps() {
        let _serial = serial();
        let start = Instant::now();
        let t = Ticker::start(start).expect("ticker");
        // Waits for the steps, not a fixed 30 ms: the publisher is an
        // ordinary thread, which a loaded machine wakes late (CI-like load:
        // 6 steps in 30 ms, 1 run of 15).
        let deadline = Instant::now() + Duration::from_secs(20);
        while step_quantiles().0 <= 10 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let waited = start.elapsed();
        drop(t);
        let (n, p50, p90, p99) = step_quantiles();
        assert!(n > 10, "{n} steps in {waited:?}");
        assert!(p50 >= 64 && p50 <= p90 && p90 <= p99, "{p50} {p90} {p99}");
        let now = session_now_us();
        assert!(now >= waited.as_micros() as f64, "{now} after {waited:?}");
    }
}
