//! The clock the probes stamp events with instead of calling a timer per
//! event: a small slot per JavaScript thread holding a session time in µs
//! (see trace-format.md, "Time", and decisions.md, sections 31 and 35).
//!
//! While probes run, they drive it: a thread's slot holds the time of its
//! last exact read ([`wake`]: the session time now, stored into the slot),
//! and its probes stamp that time until they read again. They read again
//! when their count of events since the last read runs out (re-armed at each
//! read so that reads come about every 50 µs of the thread's events;
//! js/runtime/probes.ts), or when the slot holds the mark [`PARKED`].
//!
//! One thread, the publisher, only catches a thread that stopped making
//! events: every `TICK` (1 ms) it writes the mark over every slot that holds
//! a time, noting when (`Slot.1`), and leaves it in place until a probe reads
//! it. So no stamp is older than its thread's last count or the tick after
//! it, and the first event after a pause carries the time it happened. When
//! `PARK_AFTER` ticks in a row found every mark still in place, no probe ran
//! for that long (every JavaScript thread waits in its event loop, or runs
//! only code without probes): the publisher parks with no timeout, so an
//! idle recorded process does not wake it at all, until a [`wake`] that
//! found a mark unparks it. A time is never `PARKED` (the µs value
//! `u32::MAX`, once every 71 minutes, is stored as `u32::MAX - 1`), and a
//! slot never goes back: only its own thread stores times there.
//!
//! How stale a stamped time could have been is counted once per time: by
//! the [`wake`] that replaces it (a count that ran out: until now), or by
//! the tick whose mark replaced it (until the moment its compare-and-swap
//! succeeded, read after it, so a publisher preempted mid-tick is not
//! counted short, and a thread whose last events stamped it is counted
//! without a later read): [`step_quantiles`] (log2 buckets) and
//! [`Ticker::max_step_us`].
//!
//! The publisher is made to keep its period on a busy machine: it sleeps to
//! absolute deadlines (a late wake-up does not push the next one back) and
//! asks for a 1 ns timer slack instead of the default 50 µs. It does not ask
//! for a real-time priority: that kept its steps shorter as root, but
//! starved the program's own threads when several recorded processes ran
//! at once (decisions.md, section 4). `NODEREC_CLOCK=precise` makes the
//! probes read a real clock per event instead ([`session_now_us`] gives them
//! the session time), and the session then runs no publisher at all
//! ([`Ticker::parked`]).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The publisher's period: it marks the slots every `TICK`.
pub const TICK: Duration = Duration::from_millis(1);
/// The mark: a slot holds it from a tick or a new slot until its thread's
/// next probe reads the time itself ([`wake`]); never a time.
pub const PARKED: u32 = u32::MAX;
/// Ticks in a row with every mark unread after which the publisher parks.
const PARK_AFTER: u32 = 2;
/// Slots available (one per JavaScript thread; never reused, because V8
/// forbids two ArrayBuffers over the same memory).
pub const SLOTS: usize = 1024;

/// A thread's slot: the time its probes stamp (the last time its [`wake`]
/// read, or the mark), and the session time at which the publisher last
/// marked over a time (`PARKED`: marked at a session's start, no time
/// before it to bound).
#[repr(C, align(16))]
struct Slot(AtomicU32, AtomicU32, [u32; 2]);

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot(AtomicU32::new(0), AtomicU32::new(PARKED), [0; 2]);
static CLOCK: [Slot; SLOTS] = [EMPTY; SLOTS];
static USED: AtomicUsize = AtomicUsize::new(0);
/// A thread CPU clock that cannot be read (see [`own_cpu_clock`]).
pub(crate) const NO_CPU_CLOCK: i64 = i64::MIN;

/// Staleness bounds: bucket `i` counts the intervals between two exact
/// reads of a thread (see [`wake`]) of `[2^i, 2^(i+1))` µs.
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicU64 = AtomicU64::new(0);
static STEPS: [AtomicU64; 32] = [ZERO; 32];
/// The longest of them since the current session started.
static MAX_STEP: AtomicU64 = AtomicU64::new(0);

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
/// True once a [`wake`] read a mark since the publisher parked.
static WOKEN: AtomicBool = AtomicBool::new(false);
/// Bumped at each session's start, after its start time is set and before
/// its marks: a [`wake`] that sees it unchanged across its read of the time
/// and its store read the session whose marks come after its store.
static GENERATION: AtomicU32 = AtomicU32::new(0);
/// Tests: run once inside the next [`wake`], between its read of the time
/// and its store (an injected interleaving).
#[cfg(test)]
static BEFORE_SWAP: Mutex<Option<fn()>> = Mutex::new(None);

thread_local! {
    /// The slot the calling thread took last (its probes read that one).
    static MY_SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
    /// The time the calling thread's last [`wake`] stored (`PARKED`: none).
    static MY_EXACT: Cell<u32> = const { Cell::new(PARKED) };
}

/// Takes a fresh slot for the calling (JavaScript) thread; `None` when all
/// are taken. The slot starts `PARKED`: the thread's first probe reads the
/// time itself, whether or not the publisher runs.
pub fn take_slot() -> Option<usize> {
    let n = USED.fetch_add(1, Ordering::AcqRel);
    if n < SLOTS {
        CLOCK[n].1.store(PARKED, Ordering::SeqCst);
        CLOCK[n].0.store(PARKED, Ordering::SeqCst);
        MY_SLOT.with(|c| c.set(n));
        MY_EXACT.with(|c| c.set(PARKED));
        Some(n)
    } else {
        None
    }
}

/// The probes' exact read: stores the session time now into the calling
/// thread's slot and returns it. A probe calls it when its slot holds the
/// mark (the publisher's tick, or a new slot), and when its count of
/// events since its last exact read runs out (js/runtime/probes.ts). Until
/// the next one, its events stamp this time. On a mark, it unparks the
/// publisher if it sleeps.
///
/// When the slot held a time (its count ran out), it also counts how stale
/// that time could have been when an event stamped it: until now. A time
/// the publisher marked over was counted by that tick (`mark_all`).
pub fn wake() -> u32 {
    let slot = MY_SLOT.with(Cell::get);
    if slot >= SLOTS || !PUBLISHING.load(Ordering::SeqCst) {
        return session_time_u32();
    }
    let s = &CLOCK[slot];
    // The slot is read before the session's start (Acquire in
    // `session_time_u32`): a mark of a later session is never paired with
    // an earlier session's start on a weakly ordered CPU.
    let _ = s.0.load(Ordering::SeqCst);
    let gen = GENERATION.load(Ordering::SeqCst);
    let us = session_time_u32();
    #[cfg(test)]
    if let Some(f) = BEFORE_SWAP.lock().unwrap_or_else(PoisonError::into_inner).take() {
        f();
    }
    // Only this thread stores times here; the publisher only marks. The
    // swap says whether a mark was there (read it or not, the next tick
    // marks again).
    let was = s.0.swap(us, Ordering::SeqCst);
    if GENERATION.load(Ordering::SeqCst) != gen {
        // A session started between the read and the swap (a worker's read
        // racing the main thread's API stop() and start(), decisions.md
        // 39): `us` may be the ended session's, stored over the new
        // session's mark. The slot is marked again and read anew.
        s.0.store(PARKED, Ordering::SeqCst);
        MY_EXACT.with(|c| c.set(PARKED));
        return wake();
    }
    let prev = MY_EXACT.with(|c| c.replace(us));
    if was == PARKED {
        // The tick that wrote the mark counted the time it marked over.
        WOKEN.store(true, Ordering::SeqCst);
        // Read after the swap above: either the publisher sees the slot
        // read before it parks, or this sees it sleeping (decisions 31).
        if SLEEPING.load(Ordering::SeqCst) {
            if let Some(t) = PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                t.unpark();
            }
        }
    } else if prev != PARKED && later(us, prev) {
        count_step(us.wrapping_sub(prev));
    }
    us
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

/// The current session's time now, as [`wake`] stores it.
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

/// Staleness bounds counted since the first session (the intervals between
/// two exact reads of a thread, see [`wake`]): (count, p50, p90, p99), the
/// quantiles as bucket upper bounds in µs.
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
    /// A session clock without a publisher (`NODEREC_CLOCK=precise`): the
    /// slots hold `PARKED`, so a read of one (the IO capture's `now()`)
    /// asks [`wake`] for the time, and no thread wakes for events that read
    /// a clock of their own.
    pub fn parked(start: Instant) -> Ticker {
        set_start(start);
        PUBLISHING.store(false, Ordering::SeqCst);
        mark_new_session();
        Ticker { stop: Arc::new(AtomicBool::new(true)), join: None }
    }

    /// Starts the publisher: every `TICK` it marks the slots, and parks
    /// once `PARK_AFTER` ticks in a row found every mark unread.
    pub fn start(start: Instant) -> std::io::Result<Ticker> {
        set_start(start);
        PUBLISHING.store(true, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        mark_new_session();
        let join = std::thread::Builder::new().name("noderec-clock".into()).spawn(move || {
            // Registered before it can park: a wake that finds SLEEPING
            // always finds the thread to unpark.
            *PUBLISHER.lock().unwrap_or_else(PoisonError::into_inner) = Some(std::thread::current());
            steady_thread();
            let mut deadline = Instant::now();
            let mut unread = 0u32;
            while !s2.load(Ordering::Relaxed) {
                deadline += TICK;
                let now = Instant::now();
                if deadline < now {
                    // Too late for that tick: aim at the next one from now.
                    deadline = now + TICK;
                }
                sleep_until(deadline);
                // Was a mark read since the last tick?
                unread = if all_marked() { unread + 1 } else { 0 };
                if unread < PARK_AFTER {
                    mark_all(session_time_u32());
                    continue;
                }
                // No probe read the clock for PARK_AFTER ticks: park until
                // one does. Every slot is marked; a wake from now on sees
                // SLEEPING, or the check below sees its slot read.
                WOKEN.store(false, Ordering::SeqCst);
                SLEEPING.store(true, Ordering::SeqCst);
                if all_marked() {
                    while !s2.load(Ordering::SeqCst) && !WOKEN.load(Ordering::SeqCst) {
                        std::thread::park();
                    }
                }
                SLEEPING.store(false, Ordering::SeqCst);
                deadline = Instant::now();
                unread = 0;
            }
        })?;
        Ok(Ticker { stop, join: Some(join) })
    }

    /// The longest interval (µs) between two exact reads of a thread while
    /// this session ran, each cut at the tick that marked over it (see
    /// [`wake`]): no event stamped a time older than that, so a duration
    /// measured with the stamps is short by less. The time a thread made no
    /// event after a mark (a pause) is not counted. It can overstate, never
    /// understate.
    pub fn max_step_us(&self) -> u64 {
        MAX_STEP.load(Ordering::Relaxed)
    }
}

/// Makes `start` the current session's start.
fn set_start(start: Instant) {
    let base = *BASE.get_or_init(|| start);
    START_NS.store(start.saturating_duration_since(base).as_nanos() as u64, Ordering::Release);
}

/// Counts a staleness bound (µs, mod 2^32).
fn count_step(step: u32) {
    let step = u64::from(step).max(1);
    let b = (63 - step.leading_zeros()) as usize;
    STEPS[b.min(31)].fetch_add(1, Ordering::Relaxed);
    MAX_STEP.fetch_max(step, Ordering::Relaxed);
}

/// True when `a` is a later time than `b` (both µs mod 2^32, less than
/// 2^31 µs apart).
fn later(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The slots in use.
fn in_use() -> &'static [Slot] {
    &CLOCK[..USED.load(Ordering::Acquire).min(SLOTS)]
}

/// True when every slot in use still holds the mark: no probe read one.
fn all_marked() -> bool {
    in_use().iter().all(|s| s.0.load(Ordering::SeqCst) == PARKED)
}

/// Marks every slot in use that holds a time, noting `us` (the session
/// time now) as the moment its time stopped being stamped: the next probe
/// of each thread reads the time itself, which tells the publisher that a
/// probe ran. A slot that holds the mark keeps the time of its first mark.
fn mark_all(us: u32) {
    for s in in_use() {
        let cur = s.0.load(Ordering::SeqCst);
        if cur == PARKED {
            continue;
        }
        s.1.store(us, Ordering::SeqCst);
        // Only the slot's own thread replaces a mark; if it stored a newer
        // time meanwhile, the next tick marks that one.
        if s.0.compare_exchange(cur, PARKED, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            // Events stamped `cur` until this compare-and-swap: that
            // interval is counted here, with the time read after it (a
            // publisher preempted since `us` was read is not counted short,
            // and a thread that makes no event after the mark is counted).
            let after = session_time_u32();
            if later(after, cur) {
                count_step(after.wrapping_sub(cur));
            }
        }
    }
}

/// A session's start: every slot marked, with no earlier time to bound
/// (a previous session's times do not count), and the longest step reset.
fn mark_new_session() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    MAX_STEP.store(0, Ordering::Relaxed);
    for s in in_use() {
        s.1.store(PARKED, Ordering::SeqCst);
        s.0.store(PARKED, Ordering::SeqCst);
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

    /// What a probe does with its slot: the stamped time, or the exact
    /// read on a mark or when `force` (its count of events ran out).
    fn probe(slot: usize, force: bool) -> u32 {
        let t = CLOCK[slot].0.load(Ordering::SeqCst);
        if t == PARKED || force {
            wake()
        } else {
            t
        }
    }

    fn spin(d: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < d {}
    }

    #[test]
    fn a_time_is_never_the_mark_and_a_tick_marks_only_over_a_time() {
        assert_eq!(as_published(u128::from(u32::MAX)), PARKED - 1);
        assert_eq!(as_published(u128::from(u32::MAX) + 1), 0);
        assert!(later(5, 3) && !later(3, 5) && !later(3, 3));
        // Across the wrap of the µs counter (every 71 minutes).
        assert!(later(2, u32::MAX - 2));
        let _serial = serial();
        let slot = take_slot().expect("slot");
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED, "a fresh slot is parked");
        CLOCK[slot].0.store(7, Ordering::SeqCst);
        mark_all(9);
        assert_eq!((CLOCK[slot].0.load(Ordering::SeqCst), CLOCK[slot].1.load(Ordering::SeqCst)), (PARKED, 9));
        // A slot already marked keeps the time of its first mark.
        mark_all(11);
        assert_eq!(CLOCK[slot].1.load(Ordering::SeqCst), 9);
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
    fn a_wake_stores_the_time_now_and_counts_how_stale_the_last_one_was() {
        use std::sync::mpsc;
        let _serial = serial();
        let (ready, acks) = mpsc::channel::<(u32, u32, u64)>();
        let ticker = Ticker::start(Instant::now()).expect("ticker");
        let js = std::thread::spawn(move || {
            let slot = take_slot().expect("slot");
            // The first read of a new slot is exact, and bounds nothing.
            let a = probe(slot, false);
            assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), a);
            assert_eq!(MAX_STEP.load(Ordering::SeqCst), 0);
            // A count that runs out: the time now, and the whole interval
            // since the last exact read is a bound.
            spin(Duration::from_micros(300));
            let b = probe(slot, true);
            assert!(b.wrapping_sub(a) >= 300, "{a} then {b}");
            ready.send((a, b, MAX_STEP.load(Ordering::SeqCst))).expect("ack");
            // A pause: the tick marks the slot, the first read after it is
            // exact, and the bound stops at the mark, not at the read.
            std::thread::sleep(Duration::from_millis(100));
            let c = probe(slot, false);
            ready.send((b, c, MAX_STEP.load(Ordering::SeqCst))).expect("ack");
        });
        let (a, b, max) = acks.recv().expect("ack");
        assert!(max >= u64::from(b - a), "max {max} for {a}..{b}");
        let (b, c, max) = acks.recv().expect("ack");
        js.join().expect("join");
        assert!(c.wrapping_sub(b) >= 100_000, "{b} then {c}");
        assert!(max < 50_000, "the pause counted: max {max} µs");
        drop(ticker);
    }

    #[test]
    fn parks_while_the_js_threads_wait_and_a_probe_wakes_it() {
        use std::sync::mpsc;
        let _serial = serial();
        // A thread standing for a JavaScript thread: takes a slot, blocks
        // (an idle event loop); on an order it does what a probe that reads
        // the slot does (wake() on the mark), then runs for 5 ms.
        let (go, orders) = mpsc::channel::<()>();
        let (ready, acks) = mpsc::channel::<(u32, u32)>();
        let js = std::thread::spawn(move || {
            let slot = take_slot().expect("slot");
            ready.send((slot as u32, 0)).expect("ack");
            while orders.recv().is_ok() {
                let seen = CLOCK[slot].0.load(Ordering::SeqCst);
                let t = probe(slot, false);
                ready.send((seen, t)).expect("ack");
                spin(Duration::from_millis(5));
            }
        });
        let slot = acks.recv().expect("slot").0 as usize;
        let start = Instant::now();
        let ticker = Ticker::start(start).expect("ticker");
        let read = || CLOCK[slot].0.load(Ordering::SeqCst);
        until("the publisher to park", || SLEEPING.load(Ordering::SeqCst));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(read(), PARKED);
        // The probe's wake gives the time now, not the time the publisher parked.
        go.send(()).expect("order");
        let (seen, woke) = acks.recv().expect("ack");
        assert_eq!(seen, PARKED);
        assert!(woke != PARKED && woke >= 200_000, "woke at {woke} µs");
        // The publisher runs again: it marks the slot over that time.
        until("a mark after the wake", || read() == PARKED && CLOCK[slot].1.load(Ordering::SeqCst) != PARKED);
        drop(go);
        js.join().expect("join");
        assert!(ticker.max_step_us() < 200_000, "max step {} µs", ticker.max_step_us());
        drop(ticker);
    }

    #[test]
    fn runs_while_a_probe_reads_the_clock_and_parks_when_none_does() {
        use std::sync::mpsc;
        let _serial = serial();
        // A thread standing for a JavaScript thread busy in code with probes:
        // it reads its slot as a probe does (the exact read on a mark only),
        // every 50 µs, until told to stop; then it blocks.
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let (ready, acks) = mpsc::channel::<(usize, u32, u32)>();
        let ticker = Ticker::start(Instant::now()).expect("ticker");
        let js = std::thread::spawn(move || {
            let slot = take_slot().expect("slot");
            ready.send((slot, 0, 0)).expect("ack");
            let (mut reads, mut marks, mut last) = (0u32, 0u32, 0u32);
            while !stop2.load(Ordering::SeqCst) {
                if CLOCK[slot].0.load(Ordering::SeqCst) == PARKED {
                    marks += 1;
                }
                let t = probe(slot, false);
                assert!(t != PARKED && !later(last, t), "{t} after {last}");
                last = t;
                reads += 1;
                spin(Duration::from_micros(50));
            }
            ready.send((slot, reads, marks)).expect("ack");
        });
        let slot = acks.recv().expect("slot").0;
        std::thread::sleep(Duration::from_millis(100));
        assert!(!SLEEPING.load(Ordering::SeqCst), "parked while a probe reads");
        stop.store(true, Ordering::SeqCst);
        let (_, reads, marks) = acks.recv().expect("ack");
        js.join().expect("join");
        // About one mark per 1 ms tick, not one per read (and more than one).
        assert!(reads > 100 && marks > 1 && marks * 4 < reads, "{marks} marks in {reads} reads");
        // No more reads: it parks, its slot marked.
        until("the publisher to park", || SLEEPING.load(Ordering::SeqCst));
        assert_eq!(CLOCK[slot].0.load(Ordering::SeqCst), PARKED);
        // The bound of a 50 µs reader is about one tick, not the 100 ms run.
        assert!(ticker.max_step_us() >= 1 && ticker.max_step_us() < 50_000, "max {}", ticker.max_step_us());
        drop(ticker);
    }

    /// The events a thread stamps after its last exact read, up
    /// to the tick that marks over it, are never counted when no exact read
    /// follows (the thread's last events, a thread that waits past the end
    /// of the session): clock_max_step_us then says less than the stamps lag.
    #[test]
    fn the_last_stretch_of_a_thread_is_counted() {
        let _serial = serial();
        let ticker = Ticker::start(Instant::now()).expect("ticker");
        let js = std::thread::spawn(|| {
            let slot = take_slot().expect("slot");
            let _ = probe(slot, true);
            spin(Duration::from_micros(20));
            let a = probe(slot, true);
            let t_a = Instant::now();
            // Events every ~10 µs that stamp `a`; the thread stops (its last
            // event) right before the tick that marks its slot.
            let mut last = t_a;
            while CLOCK[slot].0.load(Ordering::SeqCst) == a {
                last = Instant::now();
                spin(Duration::from_micros(10));
            }
            last.duration_since(t_a).as_micros() as u64
        });
        let stale = js.join().expect("join");
        std::thread::sleep(Duration::from_millis(5));
        let max = ticker.max_step_us();
        drop(ticker);
        assert!(max >= stale, "events stamped a time {stale} µs old, clock_max_step_us {max}");
    }

    /// The tick notes the time it read before its loop over the
    /// slots; a publisher preempted between that read and its compare-and-
    /// swap (here: 3 ms) makes the next exact read count the interval only
    /// up to the noted time, while the thread stamped its time until the mark.
    #[test]
    fn a_late_mark_is_not_counted_short() {
        let _serial = serial();
        // A publishing session without a running publisher: this test is
        // the publisher.
        drop(Ticker::start(Instant::now()).expect("ticker"));
        MAX_STEP.store(0, Ordering::SeqCst);
        let slot = take_slot().expect("slot");
        let _ = probe(slot, true);
        spin(Duration::from_micros(20));
        let a = probe(slot, true);
        let t_a = Instant::now();
        spin(Duration::from_micros(100));
        let noted = session_time_u32(); // the tick reads the time ...
        spin(Duration::from_millis(3)); // ... is preempted; the thread stamps `a`
        assert_eq!(probe(slot, false), a);
        let stale = t_a.elapsed().as_micros() as u64;
        mark_all(noted); // ... and marks
        let _ = probe(slot, false); // the next event: exact read, counts
        let max = MAX_STEP.load(Ordering::SeqCst);
        assert!(max >= stale, "events stamped a time {stale} µs old, clock_max_step_us {max}");
    }

    /// Decision 39: a wake racing a new session (a worker's `clockWake()`
    /// while the main thread's API `stop()` and `start()` run) read the
    /// ended session's time, then stored it over the new session's mark:
    /// the thread's next events (up to its count or the next tick) carried
    /// an old session's time. The new session is started here inside the
    /// wake, between its read and its swap (`BEFORE_SWAP`).
    #[test]
    fn a_wake_racing_a_new_session_leaves_no_old_session_time_in_its_slot() {
        let _serial = serial();
        let slot = take_slot().expect("slot");
        // Session 1 started with the process's clock (its times are the
        // process's age, at least 2 ms); no publisher thread, so that no
        // tick marks the slot behind the test's back.
        let base = *BASE.get_or_init(Instant::now);
        spin(Duration::from_millis(2));
        set_start(base);
        PUBLISHING.store(true, Ordering::SeqCst);
        mark_new_session();
        let old = wake();
        assert!(old >= 2000, "session 1 time {old}");
        // Session 2 starts in an hour: its times read 0 until then.
        fn restart() {
            set_start(Instant::now() + Duration::from_secs(3600));
            mark_new_session();
        }
        *BEFORE_SWAP.lock().unwrap_or_else(PoisonError::into_inner) = Some(restart);
        let t = wake();
        let stored = CLOCK[slot].0.load(Ordering::SeqCst);
        PUBLISHING.store(false, Ordering::SeqCst);
        set_start(Instant::now());
        assert!(BEFORE_SWAP.lock().unwrap_or_else(PoisonError::into_inner).is_none(), "the hook ran");
        assert_eq!((t, stored), (0, 0), "an old session's time in the slot (session 1 was at {old} µs)");
        assert_eq!(MAX_STEP.load(Ordering::SeqCst), 0, "a read across two sessions is no step");
    }

    #[test]
    fn counts_steps() {
        let _serial = serial();
        let t = Ticker::start(Instant::now()).expect("ticker");
        let n0 = step_quantiles().0;
        let js = std::thread::spawn(|| {
            let slot = take_slot().expect("slot");
            for _ in 0..20 {
                probe(slot, true);
                spin(Duration::from_micros(100));
            }
        });
        js.join().expect("join");
        drop(t);
        let (n, p50, p90, p99) = step_quantiles();
        assert!(n >= n0 + 19, "{n} steps after {n0}");
        assert!(p50 >= 64 && p50 <= p90 && p90 <= p99, "{p50} {p90} {p99}");
    }
}
