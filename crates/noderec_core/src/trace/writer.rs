//! The trace writer: one thread that owns `trace.nrt`, fed over a bounded
//! channel. Each batch of events becomes one checksummed zstd chunk, written
//! straight to the file, so a process killed mid-run leaves every complete
//! chunk readable.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::host::faults;
use crate::trace::hold::{Batch, Holder, Out};
use crate::trace::pool::Lease;
use crate::wire::format::{self, put_str, put_varint, record, HAS_VALUES};

/// A function (or await/yield site) definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncDef {
    /// Global id (what CALL/AWAIT/YIELD events carry).
    pub id: u32,
    /// Id of its path record.
    pub path: u32,
    /// Qualified name.
    pub name: String,
    /// Kind name (`function`, `method`, `await`, ...).
    pub kind: String,
    /// 1-based line.
    pub line: u32,
    /// 0-based column.
    pub col: u32,
    /// bit 0 async, bit 1 generator.
    pub flags: u8,
    /// Parameter names.
    pub params: Vec<String>,
}

/// What the writer thread is asked to do.
pub enum Msg {
    /// Define a path id.
    Path { id: u32, path: String },
    /// Define a function.
    Func(FuncDef),
    /// Name a thread.
    Thread { id: u32, name: String },
    /// A batch of probe records: `words` holds three i32 per event (head, time
    /// in µs mod 2^32, and for an event with values the arena offset where
    /// its value bytes end), `arena` the value bytes in event order.
    /// While a clearing run is open on the thread: `hold` names the run
    /// that decides the batch's fate (0: not held), `run` the run whose
    /// events it holds, `lead` how many events at its front are written
    /// whatever happens (`trace::hold`).
    Events { thread: u32, words: Vec<i32>, arena: Vec<u8>, hold: u32, run: u32, lead: u32 },
    /// A batch of probe records in a pair of the thread's pool, handed over
    /// instead of copied (`trace::pool`); dropping the lease gives the pair
    /// back. Never held for clearing runs by the sender (those batches are
    /// copied); when the holder holds batches of the thread, the writer
    /// copies it into an `Events` batch and gives the pair back at once.
    Lent { thread: u32, lease: Lease },
    /// The runs `runs` of `thread` ended: their held events are written
    /// (`keep`) or dropped.
    Settle { thread: u32, runs: Vec<u32>, keep: bool },
    /// The cap on bytes held for clearing runs.
    HoldCap(usize),
    /// `Events` and `Settle` messages of clearing runs, sent together.
    Many(Vec<Msg>),
    /// Write everything pending, then answer.
    Flush(SyncSender<()>),
    /// Write the end record, close the file, then stop.
    Finish,
}

impl Msg {
    /// The probe events this message carries (a batch, or batches of many).
    pub fn events(&self) -> u64 {
        match self {
            Msg::Events { words, .. } => (words.len() / 3) as u64,
            Msg::Lent { lease, .. } => (lease.words().len() / 3) as u64,
            Msg::Many(msgs) => msgs.iter().map(Msg::events).sum(),
            _ => 0,
        }
    }
}

/// Counters of a writer, readable while it runs.
#[derive(Debug, Default)]
pub struct WriterCounters {
    /// Events accepted by the writer (encoded).
    pub events: AtomicU64,
    /// Events in complete chunks on disk.
    pub events_written: AtomicU64,
    /// Uncompressed payload bytes.
    pub raw_bytes: AtomicU64,
    /// Bytes written to the file (header and chunk headers included).
    pub file_bytes: AtomicU64,
    /// Chunks written.
    pub chunks: AtomicU64,
    /// Times a sender found the channel full and had to wait.
    pub waits: AtomicU64,
    /// Batches received.
    pub batches: AtomicU64,
    /// Of those, batches lent (in a buffer pair of the probes, not copied).
    pub lent: AtomicU64,
    /// Sum of nanoseconds spent encoding+compressing+writing batches.
    pub busy_ns: AtomicU64,
}

/// The sending side of a running writer.
pub struct WriterHandle {
    tx: SyncSender<Msg>,
    join: Option<JoinHandle<Result<()>>>,
    /// The error that stopped the writer thread (set before it lets go of
    /// the channel, so a sender that finds the channel closed finds it).
    stopped: Arc<Mutex<Option<Error>>>,
    /// Live counters.
    pub counters: Arc<WriterCounters>,
}

/// Channel depth in batches: with 16k-event batches this bounds the memory
/// queued behind a slow disk.
const CHANNEL_DEPTH: usize = 16;
/// zstd level: a fast negative level keeps the writer ahead of the probes
/// (traces are highly repetitive, so the ratio stays high).
const ZSTD_LEVEL: i32 = -3;
/// A chunk is cut when the payload reaches this size.
const CHUNK_TARGET: usize = 1 << 20;
/// Bytes held for clearing runs before the oldest are written (the
/// default of `NODEREC_CLEAR_HOLD_MB`).
pub const DEFAULT_HOLD_CAP: usize = 64 << 20;

impl WriterHandle {
    /// Writes the header (with `header_flags`, [`format::flags`]) to `file`
    /// (created by the caller at `path`) and starts the writer thread.
    pub fn spawn(mut file: File, path: &Path, header_flags: u32) -> Result<WriterHandle> {
        let mut header = Vec::with_capacity(format::HEADER_LEN);
        header.extend_from_slice(format::MAGIC);
        header.extend_from_slice(&format::VERSION.to_le_bytes());
        header.extend_from_slice(&header_flags.to_le_bytes());
        file.write_all(&header).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        let counters = Arc::new(WriterCounters::default());
        counters.file_bytes.store(header.len() as u64, Ordering::Relaxed);
        let (tx, rx) = sync_channel(CHANNEL_DEPTH);
        let c2 = Arc::clone(&counters);
        let stopped = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&stopped);
        let path = path.to_path_buf();
        let join = std::thread::Builder::new()
            .name("noderec-writer".into())
            .spawn(move || {
                let r = run(file, &path, &rx, &c2);
                if let Err(e) = &r {
                    *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(copy_error(e));
                }
                drop(rx);
                r
            })
            .map_err(|e| Error::io("start writer thread", e))?;
        Ok(WriterHandle { tx, join: Some(join), stopped, counters })
    }

    /// Why the writer thread stopped (its own error, e.g. a full disk).
    fn gone(&self) -> Error {
        match self.stopped.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            Some(e) => copy_error(e),
            None => writer_gone(),
        }
    }

    /// Sends a message; waits when the channel is full (counted, never dropped).
    pub fn send(&self, msg: Msg) -> Result<()> {
        match self.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(msg)) => {
                self.counters.waits.fetch_add(1, Ordering::Relaxed);
                self.tx.send(msg).map_err(|_| self.gone())
            }
            Err(TrySendError::Disconnected(_)) => Err(self.gone()),
        }
    }

    /// Waits until everything sent so far is in the file.
    pub fn flush(&self) -> Result<()> {
        let (ack_tx, ack_rx) = sync_channel(1);
        self.send(Msg::Flush(ack_tx))?;
        ack_rx.recv().map_err(|_| self.gone())
    }

    /// Writes the end record and joins the thread; the writer's own error
    /// (the cause) when it had stopped.
    pub fn finish(mut self) -> Result<()> {
        let sent = self.send(Msg::Finish);
        match self.join.take() {
            Some(j) => j.join().map_err(|_| Error::Internal { message: "writer thread panicked".into() })?.and(sent),
            None => sent,
        }
    }
}

/// A copy of a writer error (io errors keep their OS code and kind).
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: context.clone(),
            source: source.raw_os_error().map_or_else(
                || std::io::Error::new(source.kind(), source.to_string()),
                std::io::Error::from_raw_os_error,
            ),
        },
        other => Error::Internal { message: other.to_string() },
    }
}

fn writer_gone() -> Error {
    Error::Internal { message: "the trace writer thread has stopped".into() }
}

struct ThreadClock {
    last_us: u64,
}

struct Encoder {
    file: File,
    /// For messages.
    path: std::path::PathBuf,
    /// Events encoded into `payload` and not yet in a written chunk.
    pending: u64,
    payload: Vec<u8>,
    compressed: Vec<u8>,
    zstd: zstd::bulk::Compressor<'static>,
    clocks: std::collections::HashMap<u32, ThreadClock>,
    events: u64,
}

/// The longest events wait in the writer before they are written as a chunk
/// (a quiet program's calls reach the disk, and a live viewer, this soon).
const MAX_CHUNK_AGE: Duration = Duration::from_millis(250);

fn run(file: File, path: &Path, rx: &Receiver<Msg>, counters: &WriterCounters) -> Result<()> {
    let zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(|e| Error::io("start zstd", e))?;
    let mut enc = Encoder {
        file,
        path: path.to_path_buf(),
        pending: 0,
        payload: Vec::with_capacity(CHUNK_TARGET + (64 << 10)),
        compressed: Vec::new(),
        zstd,
        clocks: std::collections::HashMap::new(),
        events: 0,
    };
    let mut holder = Holder::new(DEFAULT_HOLD_CAP);
    let mut outs: Vec<Out> = Vec::new();
    // When the oldest record not yet written arrived.
    let mut oldest: Option<Instant> = None;
    loop {
        let msg = match oldest {
            Some(t) => match rx.recv_timeout(MAX_CHUNK_AGE.saturating_sub(t.elapsed())) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    enc.write_chunk(counters)?;
                    oldest = None;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(m) => m,
                Err(_) => break,
            },
        };
        if oldest.is_none() && !matches!(msg, Msg::Flush(_) | Msg::Finish) {
            oldest = Some(Instant::now());
        }
        match msg {
            Msg::Path { id, path } => {
                enc.payload.push(record::PATH);
                put_varint(&mut enc.payload, u64::from(id));
                put_str(&mut enc.payload, &path);
            }
            Msg::Func(f) => {
                enc.payload.push(record::FUNC);
                put_varint(&mut enc.payload, u64::from(f.id));
                put_varint(&mut enc.payload, u64::from(f.path));
                put_str(&mut enc.payload, &f.name);
                put_str(&mut enc.payload, &f.kind);
                put_varint(&mut enc.payload, u64::from(f.line));
                put_varint(&mut enc.payload, u64::from(f.col));
                enc.payload.push(f.flags);
                put_varint(&mut enc.payload, f.params.len() as u64);
                for p in &f.params {
                    put_str(&mut enc.payload, p);
                }
            }
            Msg::Thread { id, name } => {
                enc.payload.push(record::THREAD);
                put_varint(&mut enc.payload, u64::from(id));
                put_str(&mut enc.payload, &name);
            }
            Msg::Events { .. } | Msg::Lent { .. } | Msg::Settle { .. } | Msg::Many(_) => {
                let t0 = Instant::now();
                take(msg, &mut enc, &mut holder, &mut outs, counters)?;
                if enc.payload.len() >= CHUNK_TARGET {
                    enc.write_chunk(counters)?;
                    oldest = None;
                }
                counters.busy_ns.fetch_add(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
            Msg::HoldCap(cap) => holder.set_cap(cap),
            Msg::Flush(ack) => {
                enc.write_chunk(counters)?;
                oldest = None;
                let _ = ack.send(());
            }
            Msg::Finish => {
                holder.release_all(&mut outs);
                enc.encode_outs(&mut outs, counters)?;
                enc.payload.push(record::END);
                put_varint(&mut enc.payload, enc.events);
                enc.write_chunk(counters)?;
                return Ok(());
            }
        }
    }
    // Every sender is gone without a Finish: keep what we have.
    holder.release_all(&mut outs);
    enc.encode_outs(&mut outs, counters)?;
    enc.write_chunk(counters)
}

/// Encodes a batch of events (through the holder while clearing runs hold
/// batches of its thread), or applies the end of clearing runs.
fn take(
    msg: Msg,
    enc: &mut Encoder,
    holder: &mut Holder,
    outs: &mut Vec<Out>,
    counters: &WriterCounters,
) -> Result<()> {
    match msg {
        Msg::Events { thread, words, arena, hold, run, lead } => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            if hold == 0 && !holder.holds(thread) {
                let n = enc.encode_events(thread, &words, &arena)?;
                counters.events.fetch_add(n, Ordering::Relaxed);
                return Ok(());
            }
            holder.push(Batch { thread, words, arena, hold, run, lead }, outs);
            enc.encode_outs(outs, counters)
        }
        Msg::Lent { thread, lease } => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.lent.fetch_add(1, Ordering::Relaxed);
            if !holder.holds(thread) {
                let n = enc.encode_events(thread, lease.words(), lease.arena())?;
                counters.events.fetch_add(n, Ordering::Relaxed);
                return Ok(());
            }
            let b = Batch {
                thread,
                words: lease.words().to_vec(),
                arena: lease.arena().to_vec(),
                hold: 0,
                run: 0,
                lead: 0,
            };
            drop(lease);
            holder.push(b, outs);
            enc.encode_outs(outs, counters)
        }
        Msg::Settle { thread, runs, keep } => {
            holder.settle(thread, &runs, keep, outs);
            enc.encode_outs(outs, counters)
        }
        Msg::Many(msgs) => {
            for m in msgs {
                take(m, enc, holder, outs, counters)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

impl Encoder {
    /// Encodes what the holder let go, in order.
    fn encode_outs(&mut self, outs: &mut Vec<Out>, counters: &WriterCounters) -> Result<()> {
        for o in outs.drain(..) {
            let n = match o {
                Out::Write(b) | Out::Cleared(b) => self.encode_events(b.thread, &b.words, &b.arena)?,
                Out::WriteKept(b, m) => {
                    self.encode_events(b.thread, &b.words, &b.arena)?
                        + self.encode_events(m.thread, &m.words, &m.arena)?
                }
            };
            counters.events.fetch_add(n, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Appends one EVENTS record. Written straight into the payload's spare
    /// capacity, reserved once for the whole batch (a bound: the record's
    /// head, at most 25 bytes of varints per event, the value bytes, and 16
    /// bytes of slack), without a capacity check or a `memcpy` call per
    /// event: short value spans (most events) are copied as 16 fixed bytes.
    fn encode_events(&mut self, thread: u32, words: &[i32], arena: &[u8]) -> Result<u64> {
        let count = words.len() / 3;
        if count == 0 {
            return Ok(0);
        }
        let clock = self.clocks.entry(thread).or_insert(ThreadClock { last_us: 0 });
        let p = &mut self.payload;
        let bound = 1 + 3 * 10 + count * 25 + arena.len() + SHORT_SPAN;
        p.reserve(bound);
        let out = &mut p.spare_capacity_mut()[..bound];
        let mut n = 0usize;
        out[0].write(record::EVENTS);
        n += 1;
        put_varint_at(out, &mut n, u64::from(thread));
        put_varint_at(out, &mut n, count as u64);
        let base = unwrap_us(clock.last_us, words[1] as u32);
        put_varint_at(out, &mut n, base);
        let mut prev = base;
        let mut apos = 0usize;
        for ev in words.chunks_exact(3) {
            let head = ev[0] as u32;
            let t = unwrap_us(prev, ev[1] as u32);
            put_varint_at(out, &mut n, u64::from(head));
            put_varint_at(out, &mut n, t - prev);
            prev = t;
            if head & HAS_VALUES != 0 {
                // The probes say where the event's value bytes end; they are
                // copied without being parsed.
                let start = apos;
                let end = usize::try_from(ev[2]).unwrap_or(usize::MAX);
                if end < start || end > arena.len() {
                    return Err(Error::Internal {
                        message: format!("bad value span from probes: {start}..{end} of {}", arena.len()),
                    });
                }
                apos = end;
                let len = end - start;
                put_varint_at(out, &mut n, len as u64);
                if len <= SHORT_SPAN && start + SHORT_SPAN <= arena.len() {
                    // Fixed-size: two moves, no call; the bytes past `len` are
                    // overwritten by what follows (or cut by the final length).
                    for (d, s) in out[n..n + SHORT_SPAN].iter_mut().zip(&arena[start..start + SHORT_SPAN]) {
                        d.write(*s);
                    }
                } else {
                    for (d, s) in out[n..n + len].iter_mut().zip(&arena[start..end]) {
                        d.write(*s);
                    }
                }
                n += len;
            }
        }
        let written = p.len() + n;
        // SAFETY: `out` is the spare capacity starting at `p.len()`, and its
        // first `n` bytes were all written above (each write advanced `n`
        // past the bytes it wrote; slack bytes past `n` are not included).
        unsafe { p.set_len(written) };
        clock.last_us = prev;
        self.events += count as u64;
        self.pending += count as u64;
        Ok(count as u64)
    }

    fn write_chunk(&mut self, counters: &WriterCounters) -> Result<()> {
        if self.payload.is_empty() {
            return Ok(());
        }
        let bound = zstd::zstd_safe::compress_bound(self.payload.len());
        self.compressed.clear();
        self.compressed.reserve(bound);
        let n = self
            .zstd
            .compress_to_buffer(&self.payload, &mut self.compressed)
            .map_err(|e| Error::io("compress chunk", e))?;
        let body = &self.compressed[..n];
        let mut header = [0u8; format::CHUNK_HEADER_LEN];
        header[0..4].copy_from_slice(&(n as u32).to_le_bytes());
        header[4..8].copy_from_slice(&crc32fast::hash(body).to_le_bytes());
        header[8..12].copy_from_slice(&(self.payload.len() as u32).to_le_bytes());
        // One write per chunk so a kill leaves either the whole chunk or a tail the reader rejects.
        let mut out = Vec::with_capacity(header.len() + n);
        out.extend_from_slice(&header);
        out.extend_from_slice(body);
        // Test-only: `NODEREC_TEST_FAIL_AT=disk-full` makes this write fail with ENOSPC.
        let written = if faults::fail_point("disk-full").is_err() {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        } else {
            self.file.write_all(&out)
        };
        if let Err(e) = written {
            // A short write leaves a torn chunk: cut the file back to the last
            // complete one (best effort), so it ends where the counts say.
            let _ = self.file.set_len(counters.file_bytes.load(Ordering::Relaxed));
            return Err(Error::io(format!("write {}", self.path.display()), e));
        }
        counters.events_written.fetch_add(self.pending, Ordering::Relaxed);
        self.pending = 0;
        counters.raw_bytes.fetch_add(self.payload.len() as u64, Ordering::Relaxed);
        counters.file_bytes.fetch_add(out.len() as u64, Ordering::Relaxed);
        counters.chunks.fetch_add(1, Ordering::Relaxed);
        self.payload.clear();
        Ok(())
    }
}

/// Value spans up to this long are copied as this many fixed bytes.
const SHORT_SPAN: usize = 16;

/// `put_varint` into reserved, unchecked-for-capacity room at `*n`.
#[inline(always)]
fn put_varint_at(out: &mut [std::mem::MaybeUninit<u8>], n: &mut usize, mut v: u64) {
    while v >= 0x80 {
        out[*n].write((v as u8) | 0x80);
        *n += 1;
        v >>= 7;
    }
    out[*n].write(v as u8);
    *n += 1;
}

/// Extends a 32-bit µs time to 64 bits, given the previous time of the
/// same thread (times never go backwards).
#[inline]
pub fn unwrap_us(prev: u64, lo: u32) -> u64 {
    let mut t = (prev & !0xffff_ffff) | u64::from(lo);
    if t < prev {
        t += 1 << 32;
    }
    t
}
