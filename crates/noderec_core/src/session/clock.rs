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
//! The publisher stops while no probe reads the clock. Every `SAMPLE_EVERY`
//! ticks (1 ms) it writes [`PARKED`] into every slot instead of the time, and
//! leaves that mark in place until a probe reads it: a probe that reads
//! `PARKED` takes its slow path, [`wake`], which reads the session clock
//! itself, stores that into its own slot (the publisher's later times then
//! replace it as usual) and unparks the publisher if it sleeps. When
//! `PARK_AFTER` samples in a row found every mark still in place, no probe
//! ran for that long (every JavaScript thread waits in its event loop, or
//! runs only code without probes): the publisher parks with no timeout, so
//! an idle recorded process does not wake it at all, and the first event
//! after the pause carries the time it happened. A time is never `PARKED`
//! (the µs value `u32::MAX`, once every 71 minutes, is published as
//! `u32::MAX - 1`), and a slot never goes back: the publisher does not
//! overwrite a later time a wake stored (decisions.md, section 31).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Publication period.
pub const TICK: Duration = Duration::from_micros(100);
/// The mark: a slot holds it from a sample or a new slot until its thread's
/// next probe reads the time itself ([`wake`]); never a time.
pub const PARKED: u32 = u32::MAX;
/// Every this many ticks the publisher marks the slots `PARKED` (a sample
/// of whether a probe reads the clock).
const SAMPLE_EVERY: u32 = 10;
/// Samples in a row with no mark read after which the publisher parks.
const PARK_AFTER: u32 = 2;
/// Slots available (one per JavaScript thread; never reused, because V8
/// forbids two ArrayBuffers over the same memory).
pub const SLOTS: usize = 1024;

#[repr(C, align(16))]
struct Slot(AtomicU32, [u32; 3]);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot(AtomicU32::new(0), [0; 3]);
static CLOCK: [Slot; SLOTS] = [EMPTY; SLOTS];
static USED: AtomicUsize = AtomicUsize::new(0);
/// A thread CPU clock that cannot be read (see [`own_cpu_clock`]).
pub(crate) const NO_CPU_CLOCK: i64 = i64::MIN;

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
/// True while the publisher is parked or about to park: a [`wake`] then
/// unparks it.
static SLEEPING: AtomicBool = AtomicBool::new(false);
/// 1 + the time the first [`wake`] since the publisher parked stored
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
        CLOCK[n].0.store(PARKED, Ordering::SeqCst);
        MY_SLOT.with(|c| c.set(n));
        Some(n)
    } else {
        None
    }
}

/// The slow path of a probe that read `PARKED` in its slot: stores the
/// session time now into the calling thread's slot and unparks the
/// publisher if it sleeps. Returns the time the slot then holds (the one
/// the probe records): this one, or a time stored there first.
pub fn wake() -> u32 {
    let slot = MY_SLOT.with(Cell::get);
    if slot >= SLOTS || !PUBLISHING.load(Ordering::SeqCst) {
        return session_time_u32();
    }
    // The mark is read before the session's start (Acquire in
    // `session_time_u32`): a mark of a later session is never paired with
    // an earlier session's start on a weakly ordered CPU.
    let seen = CLOCK[slot].0.load(Ordering::SeqCst);
    if seen != PARKED {
        return seen;
    }
    let us = session_time_u32();
    match CLOCK[slot].0.compare_exchange(PARKED, us, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            let _ = WOKEN_AT.compare_exchange(0, u64::from(us) + 1, Ordering::SeqCst, Ordering::SeqCst);
            // Read after the store above: either the publisher sees the slot
            // read before it parks, or this sees it sleeping (decisions 31).
            if SLEEPING.load(Ordering::SeqCst) {
                if let Some(t) = PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                    t.unpark();
                }
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
    let ns = base.elapsed().as_nanos().saturating_sub(u128::from(START_NS.load(Ordering::Acquire)));
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
        mark_all();
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
            // Registered before it can park: a wake that finds SLEEPING
            // always finds the thread to unpark.
            *PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::thread::current());
            steady_thread();
            let mut last = publish(start);
            let mut deadline = Instant::now();
            let mut ticks = 0u32;
            let mut unread = 0u32;
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
                ticks += 1;
                if !ticks.is_multiple_of(SAMPLE_EVERY) {
                    continue;
                }
                // A sample: was a mark read since the last one?
                unread = if all_marked() { unread + 1 } else { 0 };
                if unread < PARK_AFTER {
                    mark_all();
                    continue;
                }
                // No probe read the clock for PARK_AFTER samples: park until
                // one does. Every slot is marked; a wake from now on sees
                // SLEEPING, or the check below sees its slot read.
                WOKEN_AT.store(0, Ordering::SeqCst);
                SLEEPING.store(true, Ordering::SeqCst);
                if all_marked() {
                    while !s2.load(Ordering::SeqCst) && WOKEN_AT.load(Ordering::SeqCst) == 0 {
                        std::thread::park();
                    }
                }
                SLEEPING.store(false, Ordering::SeqCst);
                let woken = WOKEN_AT.load(Ordering::SeqCst);
                last = publish(start);
                // The woken thread read the time its wake stored until this
                // publication: that is a step. The parked time is not.
                if woken != 0 {
                    count_step(&m2, last.wrapping_sub((woken - 1) as u32));
                }
                deadline = Instant::now();
                ticks = 0;
                unread = 0;
            }
        })?;
        Ok(Ticker { stop, max_step, join: Some(join) })
    }

    /// The longest step (µs) between two publications of this ticker while
    /// it ran (the unread samples before a park included, the parked time
    /// not; a wake's step to the next publication included): no published
    /// time a probe read was older than that, so a duration measured with it
    /// is short by less. It can overstate, never understate.
    pub fn max_step_us(&self) -> u64 {
        self.max_step.load(Ordering::Relaxed)
    }
}

/// Makes `start` the current session's start.
fn set_start(start: Instant) {
    let base = *BASE.get_or_init(|| start);
    START_NS.store(start.saturating_duration_since(base).as_nanos() as u64, Ordering::Release);
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

/// Writes the current time into every slot in use but a marked one (its
/// thread's next probe reads the time itself); returns it. A slot keeps a
/// later time a [`wake`] stored there after this one was read.
pub fn publish(start: Instant) -> u32 {
    let us = as_published(start.elapsed().as_micros());
    let n = USED.load(Ordering::Acquire).min(SLOTS);
    for s in &CLOCK[..n.max(1)] {
        let mut cur = s.0.load(Ordering::Relaxed);
        while cur != PARKED && later(us, cur) {
            match s.0.compare_exchange_weak(cur, us, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => break,
                Err(c) => cur = c,
            }
        }
    }
    us
}

/// The slots in use (at least slot 0, which `publish` writes too).
fn in_use() -> &'static [Slot] {
    &CLOCK[..USED.load(Ordering::Acquire).clamp(1, SLOTS)]
}

/// True when every slot in use still holds the mark: no probe read one.
fn all_marked() -> bool {
    in_use().iter().all(|s| s.0.load(Ordering::SeqCst) == PARKED)
}

/// Marks every slot in use: the next probe of each thread reads the time
/// itself, which tells the publisher that a probe ran.
fn mark_all() {
    for s in in_use() {
        s.0.store(PARKED, Ordering::SeqCst);
    }
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
        // A publication leaves the mark (the thread's next probe reads the
        // time itself), replaces an earlier time, not a later one a wake stored.
        let start = Instant::now();
        assert!(publish(start) < 1_000_000);
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED);
        CLOCK[slot].0.store(0, Ordering::SeqCst);
        let t = publish(start);
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), t);
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
        until("the publisher to park", || SLEEPING.load(Ordering::SeqCst));
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
    fn runs_while_a_probe_reads_the_clock_and_parks_when_none_does() {
        use std::sync::mpsc;
        let _serial = serial();
        // A thread standing for a JavaScript thread busy in code with probes:
        // it reads its slot as a probe does (the slow path on the mark),
        // every 50 µs, until told to stop; then it blocks.
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let (ready, acks) = mpsc::channel::<(usize, u32, u32)>();
        let ticker = Ticker::start(Instant::now()).expect("ticker");
        let js = std::thread::spawn(move || {
            let slot = take_slot().expect("slot");
            ready.send((slot, 0, 0)).expect("ack");
            let (mut reads, mut wakes, mut last) = (0u32, 0u32, 0u32);
            while !stop2.load(Ordering::SeqCst) {
                let mut t = CLOCK[slot].0.load(Ordering::SeqCst);
                if t == PARKED {
                    t = wake();
                    wakes += 1;
                }
                assert!(t != PARKED && !later(last, t), "{t} after {last}");
                last = t;
                reads += 1;
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_micros(50) {}
            }
            ready.send((slot, reads, wakes)).expect("ack");
        });
        let slot = acks.recv().expect("slot").0;
        // While it reads: the publisher runs, and the reader takes the slow
        // path about once per sample (1 ms), not once per read.
        let steps = step_quantiles().0;
        std::thread::sleep(Duration::from_millis(100));
        assert!(!SLEEPING.load(Ordering::SeqCst), "parked while a probe reads");
        assert!(step_quantiles().0 > steps + 10, "no publications while a probe reads");
        stop.store(true, Ordering::SeqCst);
        let (_, reads, wakes) = acks.recv().expect("ack");
        js.join().expect("join");
        assert!(reads > 100 && wakes * 4 < reads, "{wakes} slow paths of {reads} reads");
        // No more reads: it parks, its slot marked.
        until("the publisher to park", || SLEEPING.load(Ordering::SeqCst));
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED);
        drop(ticker);
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
