//! The probes' buffers, handed over instead of copied (design-docs/trace-format.md,
//! *Hand-off*). Each JavaScript thread that records gets a [`Pool`] of
//! natively allocated buffer pairs (event words, value arena) that its probes
//! write into through external ArrayBuffers. A full pair goes to the writer
//! as a [`Lease`]; while the lease lives the pair is *busy* and JavaScript
//! writes into another pair. Dropping the lease (the writer encoded the
//! events, or the message was dropped because the writer stopped) makes the
//! pair free again and wakes a thread waiting for one. The memory of a pair
//! lives as long as any of: its pool, a JavaScript view of it (the
//! ArrayBuffer's finalizer holds an `Arc<Slot>`), a lease.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// At most this many pairs per thread: a thread whose pairs are all with
/// the writer waits (as a sender waits on a full channel).
pub const MAX_SLOTS: usize = 16;

/// One buffer pair in native memory.
pub struct Slot {
    words: *mut i32,
    words_len: usize,
    arena: *mut u8,
    arena_len: usize,
}

// SAFETY: the pointers own two heap allocations that nothing else frees
// (see Drop); who writes and who reads them is ruled by the pool's busy
// flags (JavaScript writes a pair only while it is free, the writer reads it
// only while it is busy), never both at once.
unsafe impl Send for Slot {}
// SAFETY: as for Send: shared references only read the pointers; the memory
// behind them is accessed under the busy-flag protocol.
unsafe impl Sync for Slot {}

impl Slot {
    fn new(words_len: usize, arena_len: usize) -> Slot {
        let words = Box::into_raw(vec![0i32; words_len].into_boxed_slice()).cast::<i32>();
        let arena = Box::into_raw(vec![0u8; arena_len].into_boxed_slice()).cast::<u8>();
        Slot { words, words_len, arena, arena_len }
    }

    /// The words' memory and its length in i32 (for an external ArrayBuffer).
    pub fn words_ptr(&self) -> (*mut i32, usize) {
        (self.words, self.words_len)
    }

    /// The arena's memory and its length in bytes (for an external ArrayBuffer).
    pub fn arena_ptr(&self) -> (*mut u8, usize) {
        (self.arena, self.arena_len)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // SAFETY: both were made by Box::into_raw of boxed slices of exactly
        // these lengths in `Slot::new` and are freed only here, once.
        unsafe {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.words, self.words_len)));
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.arena, self.arena_len)));
        }
    }
}

struct State {
    slots: Vec<Arc<Slot>>,
    busy: Vec<bool>,
}

/// The buffer pairs of one JavaScript thread.
pub struct Pool {
    state: Mutex<State>,
    freed: Condvar,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A busy pair on its way to the writer: `count` events and `len` value bytes.
pub struct Lease {
    pool: Arc<Pool>,
    slot: Arc<Slot>,
    index: usize,
    count: usize,
    len: usize,
}

impl Lease {
    /// The events' words (three i32 each).
    pub fn words(&self) -> &[i32] {
        // SAFETY: `count * 3 <= words_len` (checked in `Pool::lend`); the
        // pair is busy while this lease lives, so JavaScript does not write it.
        unsafe { std::slice::from_raw_parts(self.slot.words, self.count * 3) }
    }

    /// The value bytes.
    pub fn arena(&self) -> &[u8] {
        // SAFETY: `len <= arena_len` (checked in `Pool::lend`); busy, as above.
        unsafe { std::slice::from_raw_parts(self.slot.arena, self.len) }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut st = lock(&self.pool.state);
        if let Some(b) = st.busy.get_mut(self.index) {
            *b = false;
        }
        drop(st);
        self.pool.freed.notify_all();
    }
}

/// What [`Pool::next`] tells the probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Write into this free pair.
    Free(usize),
    /// None is free and the pool may grow: make a new pair.
    Grow,
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Arc<Pool> {
        Arc::new(Pool { state: Mutex::new(State { slots: Vec::new(), busy: Vec::new() }), freed: Condvar::new() })
    }

    /// Adds a pair of `words_len` i32 and `arena_len` bytes (free, for
    /// JavaScript to write); `None` when the pool has [`MAX_SLOTS`].
    pub fn add(&self, words_len: usize, arena_len: usize) -> Option<(usize, Arc<Slot>)> {
        let mut st = lock(&self.state);
        if st.slots.len() >= MAX_SLOTS {
            return None;
        }
        let slot = Arc::new(Slot::new(words_len, arena_len));
        st.slots.push(Arc::clone(&slot));
        st.busy.push(false);
        Some((st.slots.len() - 1, slot))
    }

    /// The pair `index` if its memory is `words` / `arena` and it is free.
    pub fn owns(&self, index: usize, words: *const i32, arena: *const u8) -> bool {
        let st = lock(&self.state);
        st.slots
            .get(index)
            .is_some_and(|s| std::ptr::eq(s.words, words) && std::ptr::eq(s.arena, arena) && !st.busy[index])
    }

    /// Whether `index` is a free pair of this pool.
    pub fn is_free(&self, index: usize) -> bool {
        lock(&self.state).busy.get(index).is_some_and(|b| !*b)
    }

    /// Makes pair `index` busy and returns its lease (`count` events, `len`
    /// value bytes); `None` when it is not a free pair of this pool or the
    /// sizes do not fit it.
    pub fn lend(self: &Arc<Pool>, index: usize, count: usize, len: usize) -> Option<Lease> {
        let mut st = lock(&self.state);
        let slot = Arc::clone(st.slots.get(index)?);
        if st.busy[index] || count.checked_mul(3)? > slot.words_len || len > slot.arena_len {
            return None;
        }
        st.busy[index] = true;
        Some(Lease { pool: Arc::clone(self), slot, index, count, len })
    }

    /// A free pair, preferring `after + 1`, `after + 2`, ... (round robin);
    /// [`Next::Grow`] when none is free and the pool is not full; otherwise
    /// waits until one is free (`waited` is set).
    pub fn next(&self, after: usize, waited: &mut bool) -> Next {
        let mut st = lock(&self.state);
        loop {
            let n = st.slots.len();
            for k in 1..=n {
                let i = (after + k) % n;
                if !st.busy[i] {
                    return Next::Free(i);
                }
            }
            if n < MAX_SLOTS {
                return Next::Grow;
            }
            *waited = true;
            st = self.freed.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Pairs in the pool, and how many are busy.
    pub fn sizes(&self) -> (usize, usize) {
        let st = lock(&self.state);
        (st.slots.len(), st.busy.iter().filter(|b| **b).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lend_and_release() {
        let pool = Pool::new();
        let (i, slot) = pool.add(6, 8).unwrap();
        assert_eq!(i, 0);
        let (w, _) = slot.words_ptr();
        let (a, _) = slot.arena_ptr();
        assert!(pool.owns(0, w, a));
        assert!(!pool.owns(0, a.cast(), a));
        let lease = pool.lend(0, 2, 5).unwrap();
        assert_eq!(lease.words().len(), 6);
        assert_eq!(lease.arena().len(), 5);
        assert!(pool.lend(0, 1, 1).is_none(), "a busy pair is not lent twice");
        assert!(!pool.owns(0, w, a));
        let mut waited = false;
        assert_eq!(pool.next(0, &mut waited), Next::Grow);
        drop(lease);
        assert_eq!(pool.next(0, &mut waited), Next::Free(0));
        assert!(!waited);
        assert!(pool.lend(0, 3, 1).is_none(), "too many events for the pair");
        assert!(pool.lend(0, 1, 9).is_none(), "too many bytes for the pair");
    }

    #[test]
    fn a_full_pool_waits_for_the_writer() {
        let pool = Pool::new();
        let mut leases = Vec::new();
        for i in 0..MAX_SLOTS {
            assert_eq!(pool.add(3, 1).unwrap().0, i);
            leases.push(pool.lend(i, 1, 1).unwrap());
        }
        assert!(pool.add(3, 1).is_none());
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            drop(leases.remove(5));
            leases
        });
        let mut waited = false;
        assert_eq!(pool.next(2, &mut waited), Next::Free(5));
        assert!(waited);
        drop(writer.join().unwrap());
        assert_eq!(pool.sizes(), (MAX_SLOTS, 0));
    }
}
