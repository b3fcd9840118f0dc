//! Held batches of clearing runs (`run({ clear })`, design-docs/runs.md
//! *Clear*). The probes hand over a batch holding the events of one run
//! only while a clearing run is open on their thread; such a batch names the
//! run that decides its fate (`hold`, a number on that thread: the run, or
//! the outermost `'all'` run it is nested in), its own run (`run`, which the
//! `cleared` mark names) and how many events at its
//! front are marks that stay whatever happens (`lead`: run-start, run-end,
//! run-switch). Per thread, batches wait in order behind the oldest batch of
//! a run not yet decided; when the run ends, its batches are dropped (their
//! lead kept, followed by a `cleared` mark with the counts) or written. The
//! front of a queue is written as soon as it is decided, so a thread's
//! events keep their order. Past the cap on held bytes, the oldest held
//! batch's run is written (a `kept` mark says why).

use std::collections::{HashMap, VecDeque};

use crate::wire::format::{kind, mark, put_varint, HAS_VALUES};

/// Why a clearing run was written in full (the `kept` mark's reason).
pub mod reason {
    /// Its function threw or its promise rejected.
    pub const FAILED: u64 = 1;
    /// The held bytes passed the cap (`NODEREC_CLEAR_HOLD_MB`).
    pub const HOLD_CAP: u64 = 2;
    /// The recording ended before the run did (exit, fatal error, signal).
    pub const UNENDED: u64 = 3;

    /// The reason as jsonl, `ls --runs` and the index name it.
    pub fn name(k: u64) -> &'static str {
        match k {
            FAILED => "failed",
            HOLD_CAP => "hold-cap",
            UNENDED => "unended",
            _ => "unknown",
        }
    }
}

/// A batch of one thread's events, as the probes handed it over.
pub struct Batch {
    pub thread: u32,
    pub words: Vec<i32>,
    pub arena: Vec<u8>,
    /// The run that decides its fate (0: not held).
    pub hold: u32,
    /// The run whose events it holds (0: as `hold`).
    pub run: u32,
    /// Events at its front that are always written.
    pub lead: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Open,
    Keep(u64),
    Drop,
}

struct RunState {
    fate: Fate,
    /// Its batches in the queues.
    queued: usize,
    /// The `kept` mark was written.
    announced: bool,
    /// Its end was told (no batch of it comes any more).
    settled: bool,
}

struct Queued {
    batch: Batch,
    seq: u64,
}

/// What the writer must do with a batch leaving the queue.
pub enum Out {
    /// Write it as it is.
    Write(Batch),
    /// Write it (its run was kept), then a `kept` mark.
    WriteKept(Batch, Batch),
    /// Write what is left of a dropped batch: its lead and a `cleared` mark.
    Cleared(Batch),
}

/// The per-thread queues of held batches.
#[derive(Default)]
pub struct Holder {
    queues: HashMap<u32, VecDeque<Queued>>,
    runs: HashMap<(u32, u32), RunState>,
    bytes: usize,
    cap: usize,
    seq: u64,
    /// Batches dropped, events dropped (counters for tests and metrics).
    pub dropped_events: u64,
}

impl Holder {
    /// A holder that writes the oldest held batches past `cap` bytes.
    pub fn new(cap: usize) -> Holder {
        Holder { cap, ..Holder::default() }
    }

    /// Sets the cap on held bytes.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Batches of `thread` wait in its queue.
    pub fn holds(&self, thread: u32) -> bool {
        self.queues.contains_key(&thread)
    }

    /// Bytes held now.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// A batch from the probes: what can be written now goes to `out`, in order.
    pub fn push(&mut self, b: Batch, out: &mut Vec<Out>) {
        let q = self.queues.entry(b.thread).or_default();
        if b.hold == 0 && q.is_empty() {
            out.push(Out::Write(b));
            return;
        }
        if b.hold != 0 {
            let r = self.runs.entry((b.thread, b.hold)).or_insert(RunState {
                fate: Fate::Open,
                queued: 0,
                announced: false,
                settled: false,
            });
            r.queued += 1;
        }
        self.bytes += b.words.len() * 4 + b.arena.len();
        self.seq += 1;
        let thread = b.thread;
        q.push_back(Queued { batch: b, seq: self.seq });
        self.release(thread, out);
        while self.bytes > self.cap {
            // The oldest held batch (a queue's front is always undecided).
            let Some((thread, run)) = self
                .queues
                .values()
                .filter_map(|q| q.front())
                .min_by_key(|f| f.seq)
                .map(|f| (f.batch.thread, f.batch.hold))
            else {
                break;
            };
            // Written from now on, whatever its end says.
            if let Some(r) = self.runs.get_mut(&(thread, run)) {
                r.fate = Fate::Keep(reason::HOLD_CAP);
            }
            self.release(thread, out);
        }
    }

    /// The runs `runs` of `thread` ended: the batches they decide are
    /// written (`keep`, with reason [`reason::FAILED`]) or dropped.
    pub fn settle(&mut self, thread: u32, runs: &[u32], keep: bool, out: &mut Vec<Out>) {
        for &run in runs {
            if let Some(r) = self.runs.get_mut(&(thread, run)) {
                if r.fate == Fate::Open {
                    r.fate = if keep { Fate::Keep(reason::FAILED) } else { Fate::Drop };
                }
                r.settled = true;
                if r.queued == 0 {
                    self.runs.remove(&(thread, run));
                }
            }
        }
        self.release(thread, out);
    }

    /// The recording ends: every held batch is written (its run did not end).
    pub fn release_all(&mut self, out: &mut Vec<Out>) {
        for r in self.runs.values_mut() {
            if r.fate == Fate::Open {
                r.fate = Fate::Keep(reason::UNENDED);
            }
        }
        let threads: Vec<u32> = self.queues.keys().copied().collect();
        for t in threads {
            self.release(t, out);
        }
    }

    /// Writes (or drops) the decided front of `thread`'s queue.
    fn release(&mut self, thread: u32, out: &mut Vec<Out>) {
        let Some(q) = self.queues.get_mut(&thread) else { return };
        while let Some(front) = q.front() {
            let key = (thread, front.batch.hold);
            let fate = if front.batch.hold == 0 {
                Fate::Keep(0)
            } else {
                self.runs.get(&key).map_or(Fate::Keep(0), |r| r.fate)
            };
            if fate == Fate::Open {
                break;
            }
            let Some(Queued { batch, .. }) = q.pop_front() else { break };
            self.bytes -= batch.words.len() * 4 + batch.arena.len();
            let mut announce = None;
            if batch.hold != 0 {
                if let Some(r) = self.runs.get_mut(&key) {
                    r.queued -= 1;
                    if let Fate::Keep(why) = r.fate {
                        if !r.announced && why != 0 {
                            r.announced = true;
                            announce = Some(why);
                        }
                    }
                    if r.queued == 0 && r.settled {
                        self.runs.remove(&key);
                    }
                }
            }
            match fate {
                Fate::Drop => {
                    let (b, n) = cut(batch);
                    self.dropped_events += n;
                    out.push(Out::Cleared(b));
                }
                _ => match announce {
                    Some(why) => {
                        let m = kept_mark(&batch, why);
                        out.push(Out::WriteKept(batch, m));
                    }
                    None => out.push(Out::Write(batch)),
                },
            }
        }
        if q.is_empty() {
            self.queues.remove(&thread);
        }
    }
}

/// The lead of `b` followed by a `cleared` mark (`varint run`, `varint
/// events`, `varint calls` dropped); the number of events dropped.
fn cut(b: Batch) -> (Batch, u64) {
    let count = b.words.len() / 3;
    let lead = (b.lead as usize).min(count);
    let mut words = b.words[..lead * 3].to_vec();
    // Where the lead's value bytes end: the last lead event with values says.
    let mut end = 0usize;
    for ev in words.chunks_exact(3) {
        if (ev[0] as u32) & HAS_VALUES != 0 {
            end = usize::try_from(ev[2]).unwrap_or(0).min(b.arena.len());
        }
    }
    let dropped = &b.words[lead * 3..];
    let n = (dropped.len() / 3) as u64;
    let calls = dropped.chunks_exact(3).filter(|ev| (ev[0] as u32) & 0xf == u32::from(kind::CALL)).count() as u64;
    let mut arena = b.arena[..end].to_vec();
    if n > 0 {
        // The mark takes the time of the last event dropped (times never go back).
        let t = dropped[dropped.len() - 2];
        put_varint(&mut arena, u64::from(if b.run != 0 { b.run } else { b.hold }));
        put_varint(&mut arena, n);
        put_varint(&mut arena, calls);
        words.extend_from_slice(&[mark_head(mark::CLEARED), t, arena.len() as i32]);
    }
    (Batch { thread: b.thread, words, arena, hold: 0, run: 0, lead: 0 }, n)
}

/// A `kept` mark (`varint run`, `varint reason`) at the time of the last event of `b`.
fn kept_mark(b: &Batch, why: u64) -> Batch {
    let t = if b.words.len() >= 3 { b.words[b.words.len() - 2] } else { 0 };
    let mut arena = Vec::with_capacity(4);
    put_varint(&mut arena, u64::from(b.hold));
    put_varint(&mut arena, why);
    let words = vec![mark_head(mark::KEPT), t, arena.len() as i32];
    Batch { thread: b.thread, words, arena, hold: 0, run: 0, lead: 0 }
}

fn mark_head(t: u32) -> i32 {
    ((t << 5) | HAS_VALUES | u32::from(kind::MARK)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: i32 = kind::CALL as i32 | (7 << 5);
    const RET: i32 = kind::RETURN as i32 | (1 << 5);

    fn batch(thread: u32, hold: u32, lead: u32, heads: &[i32]) -> Batch {
        let words = heads.iter().enumerate().flat_map(|(i, &h)| [h, i as i32, 0]).collect();
        Batch { thread, words, arena: Vec::new(), hold, run: 0, lead }
    }

    fn heads(out: &[Out]) -> Vec<Vec<i32>> {
        out.iter()
            .flat_map(|o| match o {
                Out::Write(b) | Out::Cleared(b) => vec![b.words.chunks_exact(3).map(|e| e[0]).collect::<Vec<_>>()],
                Out::WriteKept(b, m) => vec![
                    b.words.chunks_exact(3).map(|e| e[0]).collect(),
                    m.words.chunks_exact(3).map(|e| e[0]).collect(),
                ],
            })
            .collect()
    }

    #[test]
    fn a_dropped_run_keeps_its_lead_and_later_batches_wait_behind_it() {
        let mut h = Holder::new(1 << 20);
        let mut out = Vec::new();
        h.push(batch(0, 1, 1, &[100, CALL, RET]), &mut out);
        h.push(batch(0, 0, 0, &[CALL, RET]), &mut out);
        assert!(out.is_empty(), "held until the run ends");
        h.settle(0, &[1], false, &mut out);
        let hs = heads(&out);
        assert_eq!(hs.len(), 2);
        assert_eq!(hs[0], vec![100, mark_head(mark::CLEARED)]);
        assert_eq!(hs[1], vec![CALL, RET]);
        let Out::Cleared(b) = &out[0] else { panic!("cleared") };
        // run 1, 2 events, 1 call
        assert_eq!(b.arena, vec![1, 2, 1]);
        assert_eq!(h.held_bytes(), 0);
    }

    #[test]
    fn a_kept_run_is_written_in_order_with_a_kept_mark() {
        let mut h = Holder::new(1 << 20);
        let mut out = Vec::new();
        h.push(batch(0, 3, 0, &[CALL]), &mut out);
        h.push(batch(1, 0, 0, &[RET]), &mut out);
        assert_eq!(heads(&out), vec![vec![RET]], "another thread is not held");
        out.clear();
        h.settle(0, &[3], true, &mut out);
        assert_eq!(heads(&out), vec![vec![CALL], vec![mark_head(mark::KEPT)]]);
    }

    #[test]
    fn past_the_cap_the_oldest_run_is_written_and_stays_written() {
        let mut h = Holder::new(40);
        let mut out = Vec::new();
        h.push(batch(0, 1, 0, &[CALL, RET]), &mut out);
        assert!(out.is_empty());
        h.push(batch(0, 2, 0, &[CALL, RET]), &mut out);
        // 48 bytes > 40: run 1 goes out with a kept mark; run 2 (24 bytes) stays.
        assert_eq!(heads(&out), vec![vec![CALL, RET], vec![mark_head(mark::KEPT)]]);
        out.clear();
        h.push(batch(0, 1, 0, &[RET]), &mut out);
        assert!(out.is_empty(), "behind run 2");
        h.settle(0, &[1], false, &mut out);
        h.settle(0, &[2], false, &mut out);
        // Run 2 dropped; run 1 written although it asked to be cleared.
        assert_eq!(heads(&out), vec![vec![mark_head(mark::CLEARED)], vec![RET]]);
    }

    #[test]
    fn runs_nested_in_an_all_run_go_with_it_and_their_cleared_marks_name_them() {
        let mut h = Holder::new(1 << 20);
        let mut out = Vec::new();
        // Run 1 ('all') and run 2 nested in it: both decided by run 1.
        h.push(batch(0, 1, 1, &[100, CALL]), &mut out);
        let mut nested = batch(0, 1, 1, &[100, CALL, RET]);
        nested.run = 2;
        h.push(nested, &mut out);
        assert!(out.is_empty());
        h.settle(0, &[1], false, &mut out);
        let marks: Vec<Vec<u8>> = out
            .iter()
            .map(|o| match o {
                Out::Cleared(b) => b.arena.clone(),
                _ => panic!("cleared"),
            })
            .collect();
        // (run, events, calls)
        assert_eq!(marks, vec![vec![1, 1, 1], vec![2, 2, 1]]);
    }

    #[test]
    fn the_end_of_the_recording_writes_what_is_held() {
        let mut h = Holder::new(1 << 20);
        let mut out = Vec::new();
        h.push(batch(0, 1, 1, &[100, CALL]), &mut out);
        h.release_all(&mut out);
        assert_eq!(heads(&out), vec![vec![100, CALL], vec![mark_head(mark::KEPT)]]);
    }
}
