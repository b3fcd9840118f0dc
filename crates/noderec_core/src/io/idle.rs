//! The idle cut's timer: a pending output chunk without a newline is cut
//! after 5 ms without writes. The timer lives here, outside the program's
//! timer lists (a JavaScript `setTimeout` falling due with a timer of the
//! program makes Node run the program's promise reactions between the two,
//! which changes their stack traces: issue 8). One thread, started on the
//! first `arm`, waits for the earliest deadline of the registered entries
//! (one per JavaScript thread) and calls the entry's `fire`, which hands the
//! work to its thread (a napi threadsafe function, run in the poll phase).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Called on the timer thread when an entry's deadline passes. Returns
/// `false` when its thread is gone: the entry is then removed.
pub type Fire = Arc<dyn Fn() -> bool + Send + Sync>;

struct Entry {
    id: u32,
    deadline: Option<Instant>,
    fire: Fire,
}

#[derive(Default)]
struct Timers {
    entries: Vec<Entry>,
    next_id: u32,
    running: bool,
}

struct Shared {
    timers: Mutex<Timers>,
    wake: Condvar,
}

fn shared() -> &'static Shared {
    static S: OnceLock<Shared> = OnceLock::new();
    S.get_or_init(|| Shared { timers: Mutex::new(Timers::default()), wake: Condvar::new() })
}

fn lock(s: &Shared) -> MutexGuard<'_, Timers> {
    s.timers.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers a disarmed entry; returns its id.
pub fn register(fire: Fire) -> u32 {
    let s = shared();
    let mut t = lock(s);
    t.next_id = t.next_id.wrapping_add(1);
    let id = t.next_id;
    t.entries.push(Entry { id, deadline: None, fire });
    id
}

/// Removes an entry (its thread stops capturing). Unknown ids are ignored.
pub fn unregister(id: u32) {
    let s = shared();
    let removed: Vec<Entry> = {
        let mut t = lock(s);
        let (gone, keep): (Vec<Entry>, Vec<Entry>) =
            std::mem::take(&mut t.entries).into_iter().partition(|e| e.id == id);
        t.entries = keep;
        gone
    };
    // Dropped outside the lock (releasing a threadsafe function may call into napi).
    drop(removed);
}

/// Makes entry `id` fire once, `delay` from now (an armed entry keeps the
/// earlier deadline). Starts the timer thread on first use.
pub fn arm(id: u32, delay: Duration) -> Result<(), String> {
    let s = shared();
    let mut t = lock(s);
    if !t.running {
        std::thread::Builder::new()
            .name("noderec-io-idle".into())
            .spawn(run)
            .map_err(|e| format!("cannot start the output idle timer thread: {e}"))?;
        t.running = true;
    }
    let at = Instant::now() + delay;
    let Some(e) = t.entries.iter_mut().find(|e| e.id == id) else {
        return Err(format!("unknown output idle timer {id}"));
    };
    if e.deadline.is_none_or(|d| at < d) {
        e.deadline = Some(at);
        s.wake.notify_one();
    }
    Ok(())
}

fn run() {
    let s = shared();
    let mut t = lock(s);
    loop {
        let now = Instant::now();
        let mut due: Vec<(u32, Fire)> = Vec::new();
        let mut next: Option<Instant> = None;
        for e in t.entries.iter_mut() {
            match e.deadline {
                Some(d) if d <= now => {
                    e.deadline = None;
                    due.push((e.id, Arc::clone(&e.fire)));
                }
                Some(d) => next = Some(next.map_or(d, |n: Instant| n.min(d))),
                None => {}
            }
        }
        if !due.is_empty() {
            drop(t);
            let gone: Vec<u32> = due.into_iter().filter(|(_, f)| !f()).map(|(id, _)| id).collect();
            for id in gone {
                unregister(id);
            }
            t = lock(s);
            continue;
        }
        t = match next {
            None => s.wake.wait(t).unwrap_or_else(|e| e.into_inner()),
            Some(d) => s.wake.wait_timeout(t, d.saturating_duration_since(now)).unwrap_or_else(|e| e.into_inner()).0,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::mpsc;

    #[test]
    fn fires_once_after_the_delay_and_removes_gone_entries() {
        let (tx, rx) = mpsc::channel::<Instant>();
        let tx = Mutex::new(tx);
        let a = register(Arc::new(move || tx.lock().map(|t| t.send(Instant::now()).is_ok()).unwrap_or(false)));
        let start = Instant::now();
        arm(a, Duration::from_millis(5)).unwrap();
        let at = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(at.duration_since(start) >= Duration::from_millis(5));
        // Once per arm.
        assert!(rx.recv_timeout(Duration::from_millis(30)).is_err());
        // An armed entry keeps its earlier deadline.
        let start = Instant::now();
        arm(a, Duration::from_millis(5)).unwrap();
        arm(a, Duration::from_secs(60)).unwrap();
        let at = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(at.duration_since(start) < Duration::from_secs(5));
        unregister(a);
        assert!(arm(a, Duration::from_millis(1)).is_err());

        // An entry whose thread is gone is removed when it fires.
        let calls = Arc::new(AtomicU32::new(0));
        let c = Arc::clone(&calls);
        let b = register(Arc::new(move || {
            c.fetch_add(1, Ordering::SeqCst);
            false
        }));
        arm(b, Duration::from_millis(1)).unwrap();
        let t0 = Instant::now();
        while calls.load(Ordering::SeqCst) == 0 && t0.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        std::thread::sleep(Duration::from_millis(20));
        assert!(arm(b, Duration::from_millis(1)).is_err());
    }
}
