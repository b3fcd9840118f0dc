//! SIGINT, SIGTERM and SIGHUP while recording, without any JavaScript
//! listener the program could see.
//!
//! A native handler is installed with `sigaction` in place of the action in
//! force (Node's own `SignalExit` for SIGINT/SIGTERM, the default for
//! SIGHUP), which is kept. The handler only stores the signal and wakes a
//! native thread (async-signal-safe: an atomic and one `write`). That thread
//! asks JavaScript to finalize (the notifier, a threadsafe function of the
//! binding) and waits at most [`JS_WAIT`] for the main thread to claim the
//! signal; a main thread that does not answer (busy in a loop) is not waited
//! for: the thread finishes the trace natively with what was handed over.
//! Whoever finalized then puts the previous action back and raises the
//! signal again, so the process ends exactly as it would have.
//!
//! When the program adds a listener, libuv replaces the action and the
//! program handles the signal itself; when it removes the last one, libuv
//! sets the default action, and [`recheck`] (called from the main thread,
//! never concurrently with libuv) installs the handler again.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The signals handled.
pub const SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// How long the native thread waits for the JavaScript main thread to claim
/// a signal before finishing the trace itself: time the main thread had to
/// answer (running, or blocked), not time it waited for a CPU on a loaded
/// machine ([`Answerer`]).
pub const JS_WAIT: Duration = Duration::from_millis(100);

/// The longest wall time the native thread waits for the main thread,
/// however starved of CPU it is.
pub const JS_WAIT_MAX: Duration = Duration::from_secs(5);

/// How often the native thread looks at the main thread while it waits.
const WAIT_POLL: Duration = Duration::from_millis(5);

/// How long the native thread waits for a claimed finalization to end
/// before raising the signal anyway.
const FINALIZE_WAIT: Duration = Duration::from_secs(10);

const FREE: u8 = 0;
const BY_JS: u8 = 1;
const BY_NATIVE: u8 = 2;

/// The signal received and not yet raised again (0: none).
static PENDING: AtomicI32 = AtomicI32::new(0);
/// Who finalizes for the pending signal.
static CLAIM: AtomicU8 = AtomicU8::new(FREE);
/// The write end of the wake-up pipe (-1 before the thread runs).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The native thread was started (once per process).
static THREAD: AtomicBool = AtomicBool::new(false);
/// The thread that answers a signal (the one that installed the handler,
/// JavaScript's main thread): its kernel id and CPU clock (`clockid_t`), or
/// `NO_THREAD` / `NO_CLOCK`.
static ANSWER_TID: AtomicI32 = AtomicI32::new(NO_THREAD);
static ANSWER_CLOCK: AtomicI64 = AtomicI64::new(NO_CLOCK);
const NO_THREAD: i32 = -1;
const NO_CLOCK: i64 = super::clock::NO_CPU_CLOCK;

/// Asks JavaScript to finalize for a signal (called from the native thread).
pub type Notifier = Box<dyn Fn(i32) + Send>;

struct Shared {
    /// Previous action per entry of [`SIGNALS`], while ours is installed.
    prev: [Option<libc::sigaction>; 3],
    notify: Option<Notifier>,
}

// SAFETY: `libc::sigaction` is plain data (a handler address, a mask and flags).
unsafe impl Send for Shared {}

static SHARED: Mutex<Shared> = Mutex::new(Shared { prev: [None, None, None], notify: None });
static CLAIMED: Condvar = Condvar::new();
static CLAIM_LOCK: Mutex<()> = Mutex::new(());

fn shared() -> MutexGuard<'static, Shared> {
    SHARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The name Node uses for a signal number.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "SIGNAL",
    }
}

/// The number of a signal name handled here.
pub fn number(name: &str) -> Option<i32> {
    SIGNALS.iter().copied().find(|&s| self::name(s) == name)
}

fn index(sig: i32) -> Option<usize> {
    SIGNALS.iter().position(|&s| s == sig)
}

extern "C" fn on_signal(sig: libc::c_int) {
    // SAFETY: errno is thread-local; it is restored before returning.
    let errno = unsafe { *libc::__errno_location() };
    if PENDING.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
        let fd = WAKE_FD.load(Ordering::SeqCst);
        if fd >= 0 {
            let b = [1u8];
            // SAFETY: write(2) is async-signal-safe; the buffer lives on this stack.
            unsafe { libc::write(fd, b.as_ptr().cast(), 1) };
        }
    } else {
        // A second signal while the first is being finalized: the process
        // would already be gone without the recorder. End it now.
        // SAFETY: signal(2) and raise(3) are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }
    // SAFETY: see above.
    unsafe { *libc::__errno_location() = errno };
}

fn handler_address() -> libc::sighandler_t {
    on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t
}

fn current_action(sig: i32) -> Option<libc::sigaction> {
    // SAFETY: a zeroed sigaction is a valid out-parameter.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: querying only (null new action).
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) };
    (rc == 0).then_some(old)
}

fn is_ours(a: &libc::sigaction) -> bool {
    a.sa_flags & libc::SA_SIGINFO == 0 && a.sa_sigaction == handler_address()
}

fn set_ours(sig: i32) -> Option<libc::sigaction> {
    // SAFETY: zeroed then filled in; sigemptyset initializes the mask.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler_address();
    act.sa_flags = libc::SA_RESTART;
    // SAFETY: valid pointers to local structs.
    unsafe { libc::sigemptyset(&mut act.sa_mask) };
    // SAFETY: zeroed out-parameter.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to local structs.
    let rc = unsafe { libc::sigaction(sig, &act, &mut old) };
    (rc == 0).then_some(old)
}

/// Starts the native thread (once) and stores the notifier.
fn ensure_thread(notify: Notifier) -> std::io::Result<()> {
    shared().notify = Some(notify);
    if THREAD.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let mut fds = [-1i32; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        THREAD.store(false, Ordering::SeqCst);
        return Err(std::io::Error::last_os_error());
    }
    let [read_fd, write_fd] = fds;
    let spawned = std::thread::Builder::new().name("noderec-signals".into()).spawn(move || waker(read_fd));
    if let Err(e) = spawned {
        // SAFETY: closing the fds just created.
        unsafe {
            libc::close(read_fd);
            libc::close(write_fd);
        }
        THREAD.store(false, Ordering::SeqCst);
        return Err(e);
    }
    WAKE_FD.store(write_fd, Ordering::SeqCst);
    Ok(())
}

/// Installs the handler for each signal in `which` whose action is not
/// "ignore". `notify` is called (from the native thread) when a signal
/// arrives. Returns the signals now handled.
pub fn install(which: &[i32], notify: Notifier) -> std::io::Result<Vec<i32>> {
    ensure_thread(notify)?;
    note_answering_thread();
    let mut sh = shared();
    let mut done = Vec::new();
    for &sig in which {
        let Some(i) = index(sig) else { continue };
        let Some(cur) = current_action(sig) else { continue };
        if is_ours(&cur) {
            done.push(sig);
            continue;
        }
        if cur.sa_flags & libc::SA_SIGINFO == 0 && cur.sa_sigaction == libc::SIG_IGN {
            continue;
        }
        if let Some(old) = set_ours(sig) {
            sh.prev[i] = Some(old);
            done.push(sig);
        }
    }
    Ok(done)
}

/// Installs the handler again where the action went back to the default
/// (the program removed its last listener). Main thread only.
pub fn recheck() {
    if !THREAD.load(Ordering::SeqCst) || shared().notify.is_none() {
        return;
    }
    let mut sh = shared();
    for (i, &sig) in SIGNALS.iter().enumerate() {
        let Some(cur) = current_action(sig) else { continue };
        if cur.sa_flags & libc::SA_SIGINFO == 0 && cur.sa_sigaction == libc::SIG_DFL {
            if let Some(old) = set_ours(sig) {
                sh.prev[i] = Some(old);
            }
        }
    }
}

/// Puts the previous actions back where ours is installed, and stops
/// notifying. A signal that arrived meanwhile and is not claimed is
/// returned (the caller finalizes and raises it).
pub fn uninstall() -> Option<i32> {
    let mut sh = shared();
    sh.notify = None;
    for (i, &sig) in SIGNALS.iter().enumerate() {
        restore(&mut sh, i, sig);
    }
    drop(sh);
    claim(BY_JS)
}

fn restore(sh: &mut Shared, i: usize, sig: i32) {
    let Some(cur) = current_action(sig) else { return };
    if !is_ours(&cur) {
        return;
    }
    if let Some(prev) = sh.prev[i].take() {
        // SAFETY: valid pointer to a sigaction read earlier from the kernel.
        unsafe { libc::sigaction(sig, &prev, std::ptr::null_mut()) };
    }
}

/// The pending signal, if any (not claimed by anyone yet or claimed).
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

fn claim(by: u8) -> Option<i32> {
    let sig = pending()?;
    let _g = CLAIM_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let ok = CLAIM.compare_exchange(FREE, by, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    CLAIMED.notify_all();
    ok.then_some(sig)
}

/// The JavaScript main thread takes the pending signal (to finalize, then
/// [`reraise`]). None when there is none or the native thread took it.
pub fn claim_for_js() -> Option<i32> {
    claim(BY_JS)
}

/// Puts the previous action of the pending signal back and raises it in
/// the calling thread. Does not return when the signal ends the process.
pub fn reraise() {
    let Some(sig) = pending() else { return };
    {
        let mut sh = shared();
        sh.notify = None;
        if let Some(i) = index(sig) {
            restore(&mut sh, i, sig);
        }
    }
    // SAFETY: plain signal-mask and raise calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
}

fn waker(read_fd: i32) {
    // This thread never runs the handler: signals go to the program's threads.
    // SAFETY: plain signal-mask calls on a local set.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
    loop {
        let mut b = [0u8; 1];
        // SAFETY: reading one byte into a local buffer.
        let n = unsafe { libc::read(read_fd, b.as_mut_ptr().cast(), 1) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return;
        }
        let Some(sig) = pending() else { continue };
        on_pending(sig);
    }
}

/// Records the calling thread as the one that answers signals.
fn note_answering_thread() {
    ANSWER_CLOCK.store(super::clock::own_cpu_clock(), Ordering::SeqCst);
    ANSWER_TID.store(own_tid(), Ordering::SeqCst);
}

#[cfg(target_os = "linux")]
fn own_tid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

#[cfg(not(target_os = "linux"))]
fn own_tid() -> i32 {
    NO_THREAD
}

/// What the answering thread did between two looks: how much of that time
/// it had to answer.
///
/// Runnable at the look (`R`: running, or waiting for a CPU), only the CPU
/// time it got counts. Blocked at the look (in a system call of its own: it
/// is not answering, as a busy thread is not), the time passed counts less
/// what it waited for a CPU in it, read from the kernel's scheduler
/// statistics (`/proc/self/task/<tid>/schedstat`: those of a thread not
/// waiting now hold all its waits); without them, the whole time counts
/// (decision 30), so a look that finds it briefly blocked would count time
/// it spent waiting for a CPU (decision 56). Where the thread cannot be seen
/// (not Linux, no /proc), the whole time counts.
struct Answerer {
    tid: i32,
    clock: i64,
    cpu: Option<u64>,
    /// Its run-queue wait in the statistics at the last look.
    delay: Option<u64>,
}

impl Answerer {
    fn new() -> Answerer {
        let mut a = Answerer {
            tid: ANSWER_TID.load(Ordering::SeqCst),
            clock: ANSWER_CLOCK.load(Ordering::SeqCst),
            cpu: None,
            delay: None,
        };
        a.cpu = a.cpu_ns();
        a.delay = a.run_delay_ns();
        a
    }

    fn cpu_ns(&self) -> Option<u64> {
        super::clock::cpu_clock_ns(self.clock)
    }

    /// The thread's total wait on a run queue; `None` where the statistics
    /// cannot be read, or are not kept (a kernel that prints zeros).
    fn run_delay_ns(&self) -> Option<u64> {
        if self.tid == NO_THREAD {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/self/task/{}/schedstat", self.tid)).ok()?;
        let mut f = stat.split_ascii_whitespace();
        let on_cpu: u64 = f.next()?.parse().ok()?;
        let delay = f.next()?.parse().ok()?;
        (on_cpu != 0).then_some(delay)
    }

    /// Whether the thread is runnable (`R`); `None` when it cannot be read.
    fn runnable(&self) -> Option<bool> {
        if self.tid == NO_THREAD {
            return None;
        }
        let stat = std::fs::read(format!("/proc/self/task/{}/stat", self.tid)).ok()?;
        // "tid (comm) S ...": the state follows the last ')'.
        let at = stat.iter().rposition(|&b| b == b')')?;
        stat.get(at + 2).map(|&c| c == b'R')
    }

    /// Of `wall` just passed, the time the thread had to answer.
    fn had(&mut self, wall: Duration) -> Duration {
        let cpu = self.cpu_ns();
        let ran = match (self.cpu, cpu) {
            (Some(a), Some(b)) => Some(Duration::from_nanos(b.saturating_sub(a))),
            _ => None,
        };
        self.cpu = cpu;
        let runnable = self.runnable();
        let delay = self.run_delay_ns();
        let waited = match (self.delay, delay) {
            (Some(a), Some(b)) => Some(Duration::from_nanos(b.saturating_sub(a))),
            _ => None,
        };
        self.delay = delay;
        match (runnable, ran) {
            (Some(true), Some(ran)) => ran.min(wall),
            (Some(false), _) => wall.saturating_sub(waited.unwrap_or(Duration::ZERO)),
            _ => wall,
        }
    }
}

/// Waits until someone claimed the pending signal, or the main thread had
/// [`JS_WAIT`] to do it (see [`Answerer`]), or [`JS_WAIT_MAX`] passed.
fn wait_claim_js() {
    let start = Instant::now();
    let mut answerer = Answerer::new();
    let mut had = Duration::ZERO;
    let mut last = start;
    let mut g = CLAIM_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        if CLAIM.load(Ordering::SeqCst) != FREE {
            return;
        }
        let now = Instant::now();
        had += answerer.had(now - last);
        last = now;
        let waited = now - start;
        if had >= JS_WAIT || waited >= JS_WAIT_MAX {
            return;
        }
        let step = (JS_WAIT - had).min(WAIT_POLL).min(JS_WAIT_MAX - waited);
        g = match CLAIMED.wait_timeout(g, step) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
    }
}

fn on_pending(sig: i32) {
    let notified = {
        let sh = shared();
        match &sh.notify {
            Some(n) => {
                n(sig);
                true
            }
            None => false,
        }
    };
    if notified {
        wait_claim_js();
    }
    if claim(BY_NATIVE).is_some() {
        finish_natively(sig);
        reraise();
        return;
    }
    // JavaScript is finalizing and raises the signal itself; a finalization
    // that never ends must not keep the process alive.
    std::thread::sleep(FINALIZE_WAIT);
    reraise();
}

/// The main thread did not answer: the writer gets what was handed over.
fn finish_natively(sig: i32) {
    if let Some(s) = super::lifecycle::current() {
        s.set_finalized_natively();
        let _ = s.finish(None, Some(name(sig).to_string()), super::metadata::status::COMPLETE);
    }
}
