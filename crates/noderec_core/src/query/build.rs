//! Building the index: one pass over the trace, one chunk in memory at a
//! time. A builder can be advanced again while the trace grows (the viewer
//! keeps one per trace still being recorded); `finish` makes it final.
//!
//! Memory: the open activations of each thread, a window of recent
//! activation records (at most `WINDOW` per thread before they are written
//! out), one decoded chunk, and per-function statistics.

use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::chunks::{RawChunks, RawRead};
use super::index::{
    flag, index_dir_of, Act, FnDef, FnStats, IndexMeta, RunDef, Slow, SpanDef, ThreadInfo, ACT_REC, INDEX_VERSION,
    MAX_SPANS, NO_EVENT,
};
use crate::error::{Error, Result};
use crate::host::filesystem::DirHandle;
use crate::trace::walk::TICK_US;
use crate::wire::format::read_varint;
use crate::wire::format::{self, kind, record, Cursor, HAS_VALUES, PAYLOAD_SHIFT};

/// Activation records kept in memory per thread before the oldest are written.
const WINDOW: usize = 1 << 16;
/// How many of the slowest activations the index keeps.
const SLOWEST: usize = 100;

#[derive(Clone, Copy)]
struct Frame {
    act: u32,
    func: u32,
    stretch_start: u64,
    child_ns: u64,
}

/// An event waiting for its time: events that share a published clock value
/// get their times once the next value is known (as in `trace::walk`).
#[derive(Clone, Copy)]
struct Pending {
    kind: u8,
    payload: u32,
    ev: u64,
    resume_act: u64,
    hash: u64,
    has_blob: bool,
    /// Of a run mark: the run (1-based position in the runs table; 0 = none);
    /// of a span mark: the span (1-based position in the spans table; 0 = not kept).
    run: u32,
}

struct ThreadState {
    info: ThreadInfo,
    stack: Vec<Frame>,
    /// Activations of each function (by id) on the stack.
    on_stack: Vec<u32>,
    suspended: HashMap<u32, u32>,
    pending_throws: Vec<u32>,
    /// The thread's runs: mark id → 1-based position in the runs table.
    run_marks: HashMap<u64, u32>,
    /// The thread's open spans: mark id → 1-based position in the spans table.
    span_marks: HashMap<u64, u32>,
    /// The run the thread's events belong to now (0 = none).
    cur_run: u32,
    seen: bool,
    group_us: u64,
    group: Vec<Pending>,
    /// Records `base+1 ..= base+window.len()`, not yet written.
    window: VecDeque<Act>,
    base: u64,
    /// Records already written that may still change (open, or a throw
    /// waiting for its catch): rewritten in place at each sync.
    spilled: HashMap<u32, Act>,
    file: BufWriter<File>,
    raw: File,
}

/// What every thread's replay updates.
struct Shared {
    /// Per function id (index); `id` is set once the function was called.
    stats: Vec<FnStats>,
    slowest: BinaryHeap<std::cmp::Reverse<Slow>>,
    cap: usize,
    counts: [u64; 16],
    output: [u64; 4],
    /// Where statistics of absurd function ids go (a damaged trace must not
    /// make the table huge).
    overflow: FnStats,
    /// Longest spread of events sharing a time value (µs; 1 for a trace
    /// recorded with the precise clock).
    spread_us: u64,
    /// Runs, in the order their start marks were read.
    runs: Vec<RunDef>,
    /// User spans, in the order their start marks were read.
    spans: Vec<SpanDef>,
    spans_dropped: u64,
}

/// Function ids above this are not counted per function.
const MAX_FUNC_ID: usize = 1 << 22;
/// The function of an activation whose call a run cleared (unknown).
const CLEARED_FN: u32 = u32::MAX;

impl Shared {
    fn stat(&mut self, f: u32) -> &mut FnStats {
        let i = f as usize;
        if i >= MAX_FUNC_ID {
            return &mut self.overflow;
        }
        if i >= self.stats.len() {
            self.stats.resize(i + 1, FnStats { id: u32::MAX, ..FnStats::default() });
        }
        let s = &mut self.stats[i];
        s.id = f;
        s
    }
}

/// One event of a chunk, parsed.
#[derive(Clone, Copy)]
struct RawEvent {
    thread_ix: usize,
    t_us: u64,
    p: Pending,
}

/// Builds (and keeps extending) the index of one trace.
pub struct IndexBuilder {
    dir: PathBuf,
    out: PathBuf,
    /// The index directory being written (files are created relative to it).
    out_dh: DirHandle,
    final_dir: PathBuf,
    trace: File,
    /// Offset of the next chunk to read.
    pub pos: u64,
    ev: u64,
    meta: IndexMeta,
    threads: Vec<ThreadState>,
    thread_ix: HashMap<u32, usize>,
    sh: Shared,
    funcs: BTreeMap<u32, FnDef>,
    paths: HashMap<u32, String>,
    seek: BufWriter<File>,
    raw: RawChunks,
    scratch: Vec<RawEvent>,
    /// The value bytes of the EVENTS record being parsed.
    rec_vals: Vec<u8>,
    /// Where the blobs of the EVENTS record being parsed are in its payload.
    rec_blobs: Vec<(usize, usize)>,
    /// Set when reading stopped at damage: nothing more will be read.
    stopped: bool,
    /// Replay waiting events at every sync (see [`IndexBuilder::provisional`]).
    provisional: bool,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::io(format!("{what} {}", p.display()), e)
}

/// Creates the file `name` (0600, `O_EXCL | O_NOFOLLOW`) in the index
/// directory being written.
fn create_private(dh: &DirHandle, name: &str) -> Result<File> {
    dh.create_file(name).map_err(|e| io_err("create", &dh.path().join(name), e))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(mut h: u64, b: &[u8]) -> u64 {
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Hash of the value starting at `at` of `rec` (the value bytes of its
/// EVENTS record up to the end of the value): of its bytes with every `ref`
/// replaced by the encoding it points to and every `patch` by the full
/// object it stands for (values.md), so the same value hashes the same
/// whether it was written in full, as a reference or as a patch. A value
/// with no `ref` or `patch` tag byte at all hashes its bytes as they are
/// (the common case: no walk); a malformed one hashes its raw bytes.
fn hash_value(rec: &[u8], at: usize) -> u64 {
    use crate::wire::tag;
    let blob = &rec[at..];
    if !blob.iter().any(|&b| b == tag::REF || b == tag::PATCH) {
        return mix(fnv(FNV_OFFSET, blob));
    }
    let mut h = FNV_OFFSET;
    let mut pos = at;
    let mut refs = crate::trace::value::MAX_REFS;
    match expand(rec, &mut pos, &mut h, 0, &mut refs) {
        Ok(()) => mix(fnv(h, &rec[pos.min(rec.len())..])),
        Err(()) => mix(fnv(FNV_OFFSET, blob)),
    }
}

/// Feeds the value at `*pos` to the hash with its references expanded.
fn expand(buf: &[u8], pos: &mut usize, h: &mut u64, depth: usize, refs: &mut usize) -> std::result::Result<(), ()> {
    use crate::trace::value::{skip_value, MAX_NESTING};
    use crate::wire::tag;
    if depth > 2 * MAX_NESTING + 8 {
        return Err(());
    }
    let start = *pos;
    let var = |pos: &mut usize| read_varint(buf, pos).map_err(|_| ());
    let skip_str = |pos: &mut usize| -> std::result::Result<(), ()> {
        let n = usize::try_from(read_varint(buf, pos).map_err(|_| ())?).map_err(|_| ())?;
        read_varint(buf, pos).map_err(|_| ())?;
        *pos = pos.checked_add(n).filter(|&e| e <= buf.len()).ok_or(())?;
        Ok(())
    };
    match *buf.get(start).ok_or(())? {
        tag::REF => {
            *pos += 1;
            let off = usize::try_from(var(pos)?).map_err(|_| ())?;
            if off >= start || *refs == 0 {
                return Err(());
            }
            *refs -= 1;
            let mut p = off;
            expand(buf, &mut p, h, depth + 1, refs)
        }
        t @ (tag::ARRAY | tag::SET | tag::MAP | tag::OBJECT) => {
            *pos += 1;
            if t == tag::OBJECT {
                skip_str(pos)?;
            }
            var(pos)?;
            let n = var(pos)?;
            *h = fnv(*h, &buf[start..*pos]);
            for _ in 0..n {
                if t == tag::OBJECT {
                    let k = *pos;
                    skip_str(pos)?;
                    *h = fnv(*h, &buf[k..*pos]);
                }
                expand(buf, pos, h, depth + 1, refs)?;
                if t == tag::MAP {
                    expand(buf, pos, h, depth + 1, refs)?;
                }
            }
            Ok(())
        }
        tag::PATCH => {
            // The object at `base` with the entries at the listed indexes
            // replaced: hashed as that object's full encoding would be.
            *pos += 1;
            let base = usize::try_from(var(pos)?).map_err(|_| ())?;
            let k = var(pos)?;
            let mut entries = Vec::new();
            for _ in 0..k {
                let i = var(pos)?;
                entries.push((i, *pos));
                skip_value(buf, pos).map_err(|_| ())?;
            }
            if base >= start || *refs == 0 || buf.get(base) != Some(&tag::OBJECT) {
                return Err(());
            }
            *refs -= 1;
            let mut p = base + 1;
            skip_str(&mut p)?;
            var(&mut p)?;
            let n = var(&mut p)?;
            *h = fnv(*h, &buf[base..p]);
            let mut next = entries.iter().peekable();
            for i in 0..n {
                let k = p;
                skip_str(&mut p)?;
                *h = fnv(*h, &buf[k..p]);
                if let Some(&(_, at)) = next.next_if(|e| e.0 == i) {
                    let mut vp = at;
                    expand(buf, &mut vp, h, depth + 1, refs)?;
                    skip_value(buf, &mut p).map_err(|_| ())?;
                } else {
                    expand(buf, &mut p, h, depth + 1, refs)?;
                }
            }
            if next.next().is_some() {
                return Err(());
            }
            Ok(())
        }
        tag::SYMBOL => {
            *pos += 1;
            *h = fnv(*h, &buf[start..*pos]);
            expand(buf, pos, h, depth + 1, refs)
        }
        _ => {
            skip_value(buf, pos).map_err(|_| ())?;
            *h = fnv(*h, &buf[start..*pos]);
            Ok(())
        }
    }
}

fn mix(h: u64) -> u64 {
    h ^ (h >> 29)
}

impl IndexBuilder {
    /// A builder for the trace directory `dir`, writing into `out` (a new
    /// directory; `finish` renames it to `<dir>/index` when the index is final).
    /// The trace directory, `trace.nrt` and every file written are opened
    /// through [`DirHandle`] without following symlinks.
    pub fn new(dir: &Path, out: &Path) -> Result<IndexBuilder> {
        let td = DirHandle::open_trace_dir(dir)?;
        let tp = dir.join("trace.nrt");
        let trace = td.open_file("trace.nrt").map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: tp.display().to_string() },
            std::io::ErrorKind::InvalidData => {
                Error::NotRegularFile { path: tp.display().to_string(), message: e.to_string() }
            }
            _ => io_err("open", &tp, e),
        })?;
        let mut header = [0u8; format::HEADER_LEN];
        if trace.read_exact_at(&mut header, 0).is_err() || &header[..8] != format::MAGIC {
            return Err(Error::TraceIncomplete {
                path: tp.display().to_string(),
                message: "not a noderec trace (bad magic)".into(),
            });
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if version != format::VERSION {
            return Err(Error::TraceIncomplete {
                path: tp.display().to_string(),
                message: format!("unsupported trace format version {version} (this reader knows {})", format::VERSION),
            });
        }
        let name = super::index::name_in(dir, out)?;
        // An older build's folder (a symlink is removed, not followed).
        let _ = std::fs::remove_dir_all(out);
        let out_dh = td.create_dir(&name).map_err(|e| io_err("create", out, e))?;
        let seek = BufWriter::new(create_private(&out_dh, "seek.bin")?);
        Ok(IndexBuilder {
            dir: dir.to_path_buf(),
            out: out.to_path_buf(),
            out_dh,
            final_dir: index_dir_of(dir),
            trace,
            pos: format::HEADER_LEN as u64,
            ev: 0,
            meta: IndexMeta { version: INDEX_VERSION, ..IndexMeta::default() },
            threads: Vec::new(),
            thread_ix: HashMap::new(),
            sh: Shared {
                stats: Vec::new(),
                slowest: BinaryHeap::new(),
                cap: WINDOW,
                counts: [0; 16],
                output: [0; 4],
                overflow: FnStats::default(),
                spread_us: format::spread_cap_us(format::header_flags(&header), TICK_US),
                runs: Vec::new(),
                spans: Vec::new(),
                spans_dropped: 0,
            },
            funcs: BTreeMap::new(),
            paths: HashMap::new(),
            seek,
            raw: RawChunks::default(),
            scratch: Vec::new(),
            rec_vals: Vec::new(),
            rec_blobs: Vec::new(),
            stopped: false,
            provisional: false,
        })
    }

    /// For a live view: each `advance` also replays the events still waiting
    /// for the next clock value, timing them as if the value were the last
    /// (off by at most the spread of a stamped time, 100 µs), so that the newest calls show at
    /// once. The final index of the trace should be built afresh.
    pub fn provisional(mut self) -> Self {
        self.provisional = true;
        self
    }

    /// Keeps at most `n` records per thread in memory (tests use small windows).
    pub fn with_window(mut self, n: usize) -> Self {
        self.sh.cap = n.max(2);
        self
    }

    /// Where the index files are being written.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// Reads the chunks added since the last call and makes the index on disk
    /// reflect them. Returns the number of new events. A chunk cut at the end
    /// of the file is left for the next call (the writer may be appending it).
    pub fn advance(&mut self) -> Result<u64> {
        let before = self.ev;
        if !self.stopped {
            let len = self.trace.metadata().map_err(|e| io_err("stat", &self.dir, e))?.len();
            loop {
                match self.raw.read_at(&self.trace, self.pos, len) {
                    RawRead::Payload(next) => {
                        let payload = std::mem::take(&mut self.raw.payload);
                        let runs_before = (self.sh.runs.len(), self.sh.spans.len(), self.sh.spans_dropped);
                        let r = self.add_payload(&payload);
                        self.raw.payload = payload;
                        if let Err(m) = r {
                            // A malformed chunk adds no run.
                            self.sh.runs.truncate(runs_before.0);
                            self.sh.spans.truncate(runs_before.1);
                            self.sh.spans_dropped = runs_before.2;
                            self.meta.damage = Some(format!("malformed chunk at byte {}: {m}", self.pos));
                            self.stopped = true;
                            break;
                        }
                        self.pos = next;
                    }
                    RawRead::Short => {
                        self.meta.damage = (self.pos < len)
                            .then(|| format!("cut chunk at byte {} (or still being written)", self.pos));
                        break;
                    }
                    RawRead::Damaged(m) => {
                        self.meta.damage = Some(m);
                        self.stopped = true;
                        break;
                    }
                }
            }
        }
        self.sync(false)?;
        Ok(self.ev - before)
    }

    /// True once the trace's END record was read or damage stopped the reader.
    pub fn at_end(&self) -> bool {
        self.meta.ended || self.stopped
    }

    /// Ends the index: the events still waiting for their time get it, and
    /// activations still open end at their thread's last time. With `install`,
    /// the index directory becomes `<trace>/index` (replacing an older one).
    pub fn finish(mut self, install: bool) -> Result<PathBuf> {
        self.sync(true)?;
        self.meta.complete = true;
        self.write_meta()?;
        if !install {
            return Ok(self.out.clone());
        }
        let _ = std::fs::remove_dir_all(&self.final_dir);
        std::fs::rename(&self.out, &self.final_dir).map_err(|e| io_err("rename", &self.out, e))?;
        Ok(self.final_dir.clone())
    }

    /// Parses a chunk payload completely (a malformed one adds nothing),
    /// then replays its events.
    fn add_payload(&mut self, payload: &[u8]) -> std::result::Result<(), String> {
        let mut c = Cursor::new(payload);
        let mut defs_paths = Vec::new();
        let mut defs_funcs = Vec::new();
        let mut defs_threads = Vec::new();
        let mut ended = false;
        self.scratch.clear();
        let mut ev = self.ev;
        while !c.done() {
            let ty = c.u8().ok_or("eof")?;
            match ty {
                record::PATH => {
                    let id = c.varint().ok_or("path id")? as u32;
                    defs_paths.push((id, c.str().ok_or("path")?));
                }
                record::FUNC => {
                    let id = c.varint().ok_or("func id")? as u32;
                    let path = c.varint().ok_or("func path")? as u32;
                    let name = c.str().ok_or("func name")?;
                    let kind = c.str().ok_or("func kind")?;
                    let line = c.varint().ok_or("func line")? as u32;
                    let col = c.varint().ok_or("func col")? as u32;
                    c.u8().ok_or("func flags")?;
                    let n = c.varint().ok_or("func params")? as usize;
                    let mut params = Vec::with_capacity(n.min(64));
                    for _ in 0..n {
                        params.push(c.str().ok_or("param")?);
                    }
                    defs_funcs.push((path, FnDef { id, name, kind, path: String::new(), line, col, params }));
                }
                record::THREAD => {
                    let id = c.varint().ok_or("thread id")? as u32;
                    defs_threads.push((id, c.str().ok_or("thread name")?));
                }
                record::EVENTS => {
                    let thread = c.varint().ok_or("events thread")? as u32;
                    let count = c.varint().ok_or("events count")? as usize;
                    let mut time = c.varint().ok_or("events base")?;
                    let ti = self.thread(thread).map_err(|e| e.to_string())?;
                    // The value bytes of the record (its blobs in event order), so
                    // that references inside a value resolve (values.md): where
                    // each blob is in the payload, copied into `rec_vals` only
                    // when a value with a `ref` or `patch`, or a mark, needs them.
                    let mut rec_vals = std::mem::take(&mut self.rec_vals);
                    rec_vals.clear();
                    let mut blobs = std::mem::take(&mut self.rec_blobs);
                    blobs.clear();
                    let mut copied = 0;
                    for _ in 0..count {
                        let head = c.varint().ok_or("event head")? as u32;
                        time += c.varint().ok_or("event time")?;
                        let k = (head & 0xf) as u8;
                        let blob: &[u8] = if head & HAS_VALUES != 0 {
                            let n = usize::try_from(c.varint().ok_or("value length")?).map_err(|_| "value length")?;
                            c.bytes(n).ok_or("value bytes")?
                        } else {
                            &[]
                        };
                        let resume_act = if k == kind::RESUME { read_varint(blob, &mut 0).unwrap_or(0) } else { 0 };
                        if !blob.is_empty() {
                            blobs.push((blob.as_ptr() as usize - payload.as_ptr() as usize, blob.len()));
                        }
                        let needs_rec = k == kind::MARK
                            || (matches!(k, kind::RETURN | kind::CATCH)
                                && blob.iter().any(|&b| b == crate::wire::tag::REF || b == crate::wire::tag::PATCH));
                        if needs_rec {
                            for &(o, n) in &blobs[copied..] {
                                rec_vals.extend_from_slice(&payload[o..o + n]);
                            }
                            copied = blobs.len();
                        }
                        let at = rec_vals.len() - if needs_rec { blob.len() } else { 0 };
                        let hash = match k {
                            _ if blob.is_empty() => 0,
                            kind::RETURN | kind::CATCH if needs_rec => hash_value(&rec_vals, at),
                            kind::RETURN | kind::CATCH => mix(fnv(FNV_OFFSET, blob)),
                            _ => 0,
                        };
                        let (run, mark_aux) = if k == kind::MARK {
                            self.run_mark(ti, head >> PAYLOAD_SHIFT, &rec_vals, at)
                        } else {
                            (0, 0)
                        };
                        if k == kind::OUTPUT {
                            let (stream, _) = crate::io::chunk::split_payload(head >> PAYLOAD_SHIFT);
                            let n = crate::io::chunk::blob_bytes(blob).map_or(0, <[u8]>::len) as u64;
                            self.sh.output[usize::from(stream.min(3))] += n;
                        }
                        let p = Pending {
                            kind: k,
                            payload: head >> PAYLOAD_SHIFT,
                            ev,
                            // Of a span end: its status.
                            resume_act: resume_act | mark_aux,
                            hash,
                            has_blob: !blob.is_empty(),
                            run,
                        };
                        self.scratch.push(RawEvent { thread_ix: ti, t_us: time, p });
                        ev += 1;
                    }
                    self.rec_vals = rec_vals;
                    self.rec_blobs = blobs;
                }
                record::END => {
                    c.varint().ok_or("end count")?;
                    ended = true;
                }
                _ => return Err("unknown record type".into()),
            }
        }
        // The chunk parsed: apply it.
        for (id, p) in defs_paths {
            self.paths.insert(id, p);
        }
        for (path, mut f) in defs_funcs {
            f.path = self.paths.get(&path).cloned().unwrap_or_default();
            self.funcs.insert(f.id, f);
        }
        for (id, name) in defs_threads {
            let ti = self.thread(id).map_err(|e| e.to_string())?;
            self.threads[ti].info.name = name;
        }
        let mut rec = [0u8; 16];
        rec[..8].copy_from_slice(&self.pos.to_le_bytes());
        rec[8..].copy_from_slice(&self.ev.to_le_bytes());
        self.seek.write_all(&rec).map_err(|e| e.to_string())?;
        self.meta.ended |= ended;
        self.meta.chunks += 1;
        let scratch = std::mem::take(&mut self.scratch);
        let mut r = Ok(());
        for e in &scratch {
            self.sh.counts[usize::from(e.p.kind & 0xf)] += 1;
            let st = &mut self.threads[e.thread_ix];
            if !st.group.is_empty() && st.group_us != e.t_us {
                if let Err(x) = flush_group(st, &mut self.sh, Some(e.t_us)) {
                    r = Err(x.to_string());
                    break;
                }
            }
            if st.group.is_empty() {
                st.group_us = e.t_us;
            }
            st.group.push(e.p);
        }
        self.scratch = scratch;
        self.ev = ev;
        self.meta.events = self.ev;
        r
    }

    /// A mark of thread `ti` whose blob starts at `at` of `rec` (the value
    /// bytes of its record): a `run-start` adds the run to the table, a
    /// `span-start` the span. Returns the run or span the mark names
    /// (1-based; 0 = none, unknown or not kept) and, for a `span-end`, its
    /// status.
    fn run_mark(&mut self, ti: usize, mark: u32, rec: &[u8], at: usize) -> (u32, u64) {
        use crate::wire::format::mark as m;
        let mut pos = at;
        let Ok(id) = read_varint(rec, &mut pos) else { return (0, 0) };
        let st = &mut self.threads[ti];
        match mark {
            m::RUN_START => {
                let parent = read_varint(rec, &mut pos).map_or(0, |p| st.run_marks.get(&p).copied().unwrap_or(0));
                let mut json = String::new();
                let meta = crate::trace::value::write_json(rec, &mut pos, &mut json)
                    .ok()
                    .and_then(|()| serde_json::from_str::<serde_json::Value>(&json).ok());
                let prop = |k: &str| prop_text(meta.as_ref(), k);
                let up = parent.checked_sub(1).and_then(|i| self.sh.runs.get(i as usize));
                let def = RunDef {
                    run_id: prop("runId").unwrap_or_else(|| format!("#{id}")),
                    domain: prop("domain").or_else(|| up.and_then(|r| r.domain.clone())),
                    level: prop("level").or_else(|| up.and_then(|r| r.level.clone())),
                    sample_id: prop("sampleId"),
                    iteration: prop("iteration"),
                    parent_run_id: prop("parentRunId").or_else(|| up.map(|r| r.run_id.clone())),
                    parent,
                    thread: st.info.id,
                    ..RunDef::default()
                };
                self.sh.runs.push(def);
                let n = self.sh.runs.len() as u32;
                st.run_marks.insert(id, n);
                (n, 0)
            }
            m::RUN_END | m::RUN_SWITCH => (st.run_marks.get(&id).copied().unwrap_or(0), 0),
            m::CLEARED | m::KEPT => {
                let run = st.run_marks.get(&id).copied().unwrap_or(0);
                let n = read_varint(rec, &mut pos).unwrap_or(0);
                let calls = read_varint(rec, &mut pos).unwrap_or(0);
                let def = run.checked_sub(1).and_then(|i| self.sh.runs.get_mut(i as usize));
                if mark == m::KEPT {
                    if let Some(r) = def {
                        r.kept = Some(crate::trace::hold::reason::name(n).into());
                    }
                    return (0, 0);
                }
                if let Some(r) = def {
                    r.cleared += n;
                }
                // Replayed: the activations called in the events cleared keep their numbers.
                (run, calls)
            }
            m::SPAN_START => {
                if self.sh.spans.len() >= MAX_SPANS {
                    self.sh.spans_dropped += 1;
                    return (0, 0);
                }
                let mut json = String::new();
                let name = crate::trace::value::write_json(rec, &mut pos, &mut json)
                    .ok()
                    .and_then(|()| serde_json::from_str::<serde_json::Value>(&json).ok())
                    .and_then(|v| match v {
                        serde_json::Value::String(s) => Some(s),
                        v => v.get("v").and_then(|x| x.as_str()).map(str::to_owned),
                    })
                    .unwrap_or_else(|| "span".into());
                self.sh.spans.push(SpanDef {
                    thread: st.info.id,
                    name,
                    status: "unfinished".into(),
                    ..SpanDef::default()
                });
                let n = self.sh.spans.len() as u32;
                st.span_marks.insert(id, n);
                (n, 0)
            }
            m::SPAN_END => {
                let status = read_varint(rec, &mut pos).unwrap_or(0);
                (st.span_marks.remove(&id).unwrap_or(0), status)
            }
            _ => (0, 0),
        }
    }

    fn thread(&mut self, id: u32) -> Result<usize> {
        if let Some(&i) = self.thread_ix.get(&id) {
            return Ok(i);
        }
        let name = format!("acts-{id}.bin");
        let p = self.out.join(&name);
        let raw = create_private(&self.out_dh, &name)?;
        let file = BufWriter::with_capacity(1 << 18, raw.try_clone().map_err(|e| io_err("open", &p, e))?);
        self.threads.push(ThreadState {
            info: ThreadInfo {
                id,
                name: if id == 0 { "main".into() } else { format!("worker {id}") },
                ..ThreadInfo::default()
            },
            stack: Vec::new(),
            on_stack: Vec::new(),
            suspended: HashMap::new(),
            pending_throws: Vec::new(),
            run_marks: HashMap::new(),
            span_marks: HashMap::new(),
            cur_run: 0,
            seen: false,
            group_us: 0,
            group: Vec::new(),
            window: VecDeque::new(),
            base: 0,
            spilled: HashMap::new(),
            file,
            raw,
        });
        let i = self.threads.len() - 1;
        self.thread_ix.insert(id, i);
        Ok(i)
    }

    /// Writes every record and the metadata so that the index on disk holds
    /// what was read. With `last`, events still waiting for their time are
    /// replayed first and open activations end at their thread's last time.
    fn sync(&mut self, last: bool) -> Result<()> {
        for st in &mut self.threads {
            if last || self.provisional {
                flush_group(st, &mut self.sh, None)?;
            }
            if last {
                // Stretches still on the stack count up to the thread's last time.
                let t = st.info.last_ns;
                while let Some(fr) = st.stack.pop() {
                    let stretch = t.saturating_sub(fr.stretch_start);
                    let outer = leave(st, fr.func);
                    let s = self.sh.stat(fr.func);
                    s.self_ns += stretch.saturating_sub(fr.child_ns);
                    if outer {
                        s.incl_ns += stretch;
                    }
                    if let Some(parent) = st.stack.last_mut() {
                        parent.child_ns += stretch;
                    }
                    st.suspended.insert(fr.act, fr.func);
                }
            }
            // Open activations reach the thread's last time.
            let last_ns = st.info.last_ns;
            let open: Vec<u32> = st.stack.iter().map(|f| f.act).chain(st.suspended.keys().copied()).collect();
            for n in open {
                if let Some(a) = get_act(st, n) {
                    a.end_ns = a.end_ns.max(last_ns);
                }
            }
            let n = st.window.len();
            write_front(st, n)?;
            st.file.flush().map_err(|e| Error::io("write index", e))?;
            let mut b = [0u8; ACT_REC];
            let mut done = Vec::new();
            for (&k, a) in &st.spilled {
                a.encode(&mut b);
                st.raw
                    .write_all_at(&b, (u64::from(k) - 1) * ACT_REC as u64)
                    .map_err(|e| Error::io("write index", e))?;
                // A throw stays until a catch, call or return settles its error.
                if a.finished() && !st.pending_throws.contains(&k) {
                    done.push(k);
                }
            }
            for k in done {
                st.spilled.remove(&k);
            }
            st.info.acts = st.base;
        }
        self.seek.flush().map_err(|e| Error::io("write index", e))?;
        self.meta.trace_bytes = self.pos;
        self.write_meta()
    }

    fn write_meta(&mut self) -> Result<()> {
        let mut threads: Vec<ThreadInfo> = self.threads.iter().map(|t| t.info.clone()).collect();
        threads.sort_by_key(|t| t.id);
        self.meta.threads = threads;
        self.meta.funcs = self.funcs.values().cloned().collect();
        self.meta.stats = self.sh.stats.iter().filter(|s| s.id != u32::MAX).cloned().collect();
        self.meta.counts = (0u8..16)
            .filter(|&k| self.sh.counts[usize::from(k)] > 0)
            .map(|k| (kind::name(k).to_string(), self.sh.counts[usize::from(k)]))
            .collect();
        self.meta.output_bytes = (0u8..3)
            .filter(|&s| self.sh.output[usize::from(s)] > 0)
            .map(|s| (crate::io::chunk::stream::name(s).to_string(), self.sh.output[usize::from(s)]))
            .collect();
        let mut slow: Vec<Slow> = self.sh.slowest.iter().map(|r| r.0).collect();
        slow.sort_by(|a, b| b.cmp(a));
        self.meta.slowest = slow;
        self.meta.runs = self.sh.runs.clone();
        // Spans still open reach their thread's last time.
        let last: HashMap<u32, u64> = self.threads.iter().map(|t| (t.info.id, t.info.last_ns)).collect();
        self.meta.spans = self
            .sh
            .spans
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if s.status == "unfinished" {
                    s.end_ns = s.end_ns.max(last.get(&s.thread).copied().unwrap_or(0));
                }
                s
            })
            .collect();
        self.meta.spans_dropped = self.sh.spans_dropped;
        let text = serde_json::to_vec(&self.meta).map_err(|e| Error::Internal { message: e.to_string() })?;
        self.out_dh.write_atomic("index.json", &text)
    }
}

/// A run metadata field as text (the value encoding gives an object as
/// `{"$":"object","props":{…}}`; numbers and booleans as their text).
fn prop_text(meta: Option<&serde_json::Value>, k: &str) -> Option<String> {
    match meta?.pointer(&format!("/props/{}", k.replace('~', "~0").replace('/', "~1")))? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One activation of `func` leaves the stack: true when it was the outermost.
fn leave(st: &mut ThreadState, func: u32) -> bool {
    match st.on_stack.get_mut(func as usize) {
        Some(c) => {
            *c = c.saturating_sub(1);
            *c == 0
        }
        None => true,
    }
}

fn enter(st: &mut ThreadState, func: u32) {
    let i = func as usize;
    if i >= MAX_FUNC_ID {
        return;
    }
    if i >= st.on_stack.len() {
        st.on_stack.resize(i + 1, 0);
    }
    st.on_stack[i] += 1;
}

fn get_act(st: &mut ThreadState, n: u32) -> Option<&mut Act> {
    let n = u64::from(n);
    if n > st.base {
        st.window.get_mut((n - st.base - 1) as usize)
    } else {
        st.spilled.get_mut(&(n as u32))
    }
}

/// Gives the waiting events of `st` their times (spread over the time to
/// `next`, at most one tick) and replays them.
fn flush_group(st: &mut ThreadState, sh: &mut Shared, next: Option<u64>) -> Result<()> {
    if st.group.is_empty() {
        return Ok(());
    }
    let tu = st.group_us;
    let next = next.unwrap_or(tu + 1);
    let span_ns = (next.saturating_sub(tu)).min(sh.spread_us) * 1000;
    let group = std::mem::take(&mut st.group);
    let n = group.len() as u64;
    let mut r = Ok(());
    for (k, p) in group.iter().enumerate() {
        let t_ns = tu * 1000 + span_ns * k as u64 / n;
        if let Err(e) = replay(st, sh, p, t_ns) {
            r = Err(e);
            break;
        }
    }
    st.group = group;
    st.group.clear();
    r
}

fn replay(st: &mut ThreadState, sh: &mut Shared, p: &Pending, t: u64) -> Result<()> {
    if !st.seen {
        st.seen = true;
        st.info.first_ns = t;
    }
    st.info.last_ns = t;
    if p.kind == kind::MARK {
        use crate::wire::format::mark as m;
        let run = p.run.checked_sub(1).and_then(|i| sh.runs.get_mut(i as usize));
        match p.payload {
            m::RUN_START => {
                st.cur_run = p.run;
                if let Some(r) = run {
                    r.start_ns = t;
                    r.end_ns = t;
                }
            }
            m::RUN_SWITCH => st.cur_run = p.run,
            m::CLEARED => {
                for _ in 0..p.resume_act {
                    st.window.push_back(Act {
                        start_ns: t,
                        end_ns: t,
                        call_ev: p.ev,
                        end_ev: p.ev,
                        parent: 0,
                        func: CLEARED_FN,
                        depth: 0,
                        flags: flag::FINISHED | flag::CLEARED,
                        run: p.run,
                    });
                    if st.window.len() > sh.cap {
                        write_front(st, sh.cap / 2)?;
                    }
                }
            }
            m::SPAN_START => {
                if let Some(s) = p.run.checked_sub(1).and_then(|i| sh.spans.get_mut(i as usize)) {
                    s.start_ns = t;
                    s.end_ns = t;
                    s.run = st.cur_run;
                }
            }
            m::SPAN_END => {
                if let Some(s) = p.run.checked_sub(1).and_then(|i| sh.spans.get_mut(i as usize)) {
                    s.end_ns = t;
                    s.status = if p.resume_act == m::STATUS_ERROR { "error" } else { "ok" }.into();
                }
            }
            m::RUN_END => {
                if let Some(r) = run {
                    r.ended = true;
                    r.end_ns = t;
                }
            }
            _ => {}
        }
        return Ok(());
    }
    if let Some(r) = st.cur_run.checked_sub(1).and_then(|i| sh.runs.get_mut(i as usize)) {
        r.events += 1;
        if p.kind == kind::CALL {
            r.acts += 1;
        }
    }
    match p.kind {
        kind::CALL => {
            let n = st.base + st.window.len() as u64 + 1;
            let n32 = u32::try_from(n).map_err(|_| Error::Internal { message: "more than 4G activations".into() })?;
            let depth = st.stack.len();
            st.info.max_depth = st.info.max_depth.max(depth as u32);
            st.window.push_back(Act {
                start_ns: t,
                end_ns: t,
                call_ev: p.ev,
                end_ev: NO_EVENT,
                parent: st.stack.last().map_or(0, |f| f.act),
                func: p.payload,
                depth: depth.min(u16::MAX as usize) as u16,
                flags: 0,
                run: st.cur_run,
            });
            st.stack.push(Frame { act: n32, func: p.payload, stretch_start: t, child_ns: 0 });
            enter(st, p.payload);
            sh.stat(p.payload).calls += 1;
            st.pending_throws.clear();
            if st.window.len() > sh.cap {
                write_front(st, sh.cap / 2)?;
            }
        }
        kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
            let Some(fr) = st.stack.pop() else { return Ok(()) };
            let stretch = t.saturating_sub(fr.stretch_start);
            let outer = leave(st, fr.func);
            // An activation whose call a run cleared has no function to count for.
            if fr.func != CLEARED_FN {
                let s = sh.stat(fr.func);
                s.self_ns += stretch.saturating_sub(fr.child_ns);
                if outer {
                    s.incl_ns += stretch;
                }
                match p.kind {
                    kind::RETURN => s.ret_hash = s.ret_hash.wrapping_add(p.hash),
                    kind::THROW => s.throws += 1,
                    _ => {}
                }
            }
            if let Some(parent) = st.stack.last_mut() {
                parent.child_ns += stretch;
            }
            let thread = st.info.id;
            let mut slow = None;
            if let Some(a) = get_act(st, fr.act) {
                a.end_ns = t;
                match p.kind {
                    kind::RETURN | kind::THROW => {
                        a.flags |= flag::FINISHED;
                        a.end_ev = p.ev;
                        if p.kind == kind::THROW {
                            a.flags |= flag::THREW;
                        }
                        slow = Some(Slow { dur: a.dur(), thread, act: fr.act });
                    }
                    _ => a.flags |= flag::SUSPENDED,
                }
            }
            match p.kind {
                kind::THROW => st.pending_throws.push(fr.act),
                kind::RETURN => st.pending_throws.clear(),
                _ => {
                    st.suspended.insert(fr.act, fr.func);
                }
            }
            if let Some(s) = slow {
                if sh.slowest.len() < SLOWEST {
                    sh.slowest.push(std::cmp::Reverse(s));
                } else if sh.slowest.peek().is_some_and(|m| m.0 < s) {
                    sh.slowest.pop();
                    sh.slowest.push(std::cmp::Reverse(s));
                }
            }
        }
        kind::RESUME => {
            let Ok(n) = u32::try_from(p.resume_act) else { return Ok(()) };
            if let Some(func) = st.suspended.remove(&n) {
                st.stack.push(Frame { act: n, func, stretch_start: t, child_ns: 0 });
                enter(st, func);
            } else if n > 0 && u64::from(n) <= st.base + st.window.len() as u64 {
                // Called in events a run cleared (or not suspended as far as
                // the trace says): on the stack until it suspends or ends, so
                // that what it calls and its end keep their depth.
                st.stack.push(Frame { act: n, func: CLEARED_FN, stretch_start: t, child_ns: 0 });
            }
        }
        kind::CATCH => {
            if p.has_blob {
                let top_func = st.stack.last().map(|f| f.func);
                for i in 0..st.pending_throws.len() {
                    let n = st.pending_throws[i];
                    if let Some(a) = get_act(st, n) {
                        a.end_ev = p.ev;
                        a.flags |= flag::ERROR_KNOWN;
                        let f = a.func;
                        let s = sh.stat(f);
                        s.err_hash = s.err_hash.wrapping_add(p.hash);
                    }
                }
                if let Some(f) = top_func {
                    let s = sh.stat(f);
                    s.err_hash = s.err_hash.wrapping_add(p.hash.rotate_left(17));
                }
            }
            st.pending_throws.clear();
        }
        _ => {}
    }
    Ok(())
}

/// Writes the `n` oldest records of the window; those that may still
/// change are kept in `spilled` and rewritten in place later.
fn write_front(st: &mut ThreadState, n: usize) -> Result<()> {
    let mut b = [0u8; ACT_REC];
    for _ in 0..n {
        let Some(a) = st.window.pop_front() else { break };
        st.base += 1;
        a.encode(&mut b);
        st.file.write_all(&b).map_err(|e| Error::io("write index", e))?;
        if !a.finished() || (a.flags & flag::THREW != 0 && a.flags & flag::ERROR_KNOWN == 0) {
            st.spilled.insert(st.base as u32, a);
        }
    }
    Ok(())
}

/// Opens the index of the trace directory `dir`, building it first when
/// there is none, when it is of another version, or when it does not cover
/// the trace as it is now. A trace still being written (its process alive)
/// gets an index of what is there so far, in `<dir>/index.partial-<pid>`
/// (replaced on the next call); `meta.complete` is false then.
pub fn open_or_build(dir: &Path) -> Result<super::Index> {
    let fin = index_dir_of(dir);
    let tp = dir.join("trace.nrt");
    let len = std::fs::metadata(&tp)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: tp.display().to_string() },
            _ => io_err("stat", &tp, e),
        })?
        .len();
    match super::Index::open(dir, &fin) {
        Ok(ix) => {
            if ix.meta.complete && (ix.meta.trace_bytes == len || ix.meta.ended || ix.meta.damage.is_some()) {
                return Ok(ix);
            }
        }
        // A symlink (or another user's folder) where the index goes: refused,
        // never replaced or written through.
        Err(e @ Error::UnsafeIndex { .. }) => return Err(e),
        // Missing, of another version, damaged: built again.
        Err(_) => {}
    }
    let recording =
        crate::session::metadata::Metadata::load(dir).is_ok_and(|m| m.status == "recording" && pid_alive(m.pid));
    let tmp = dir.join(format!("index.building-{}", std::process::id()));
    let mut b = IndexBuilder::new(dir, &tmp)?;
    b.advance()?;
    if recording && !b.at_end() {
        let partial = dir.join(format!("index.partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        let out = b.finish(false)?;
        std::fs::rename(&out, &partial).map_err(|e| io_err("rename", &out, e))?;
        let ix = super::Index::open(dir, &partial);
        // The open index keeps its files; the directory need not stay.
        let _ = std::fs::remove_dir_all(&partial);
        let mut ix = ix?;
        ix.meta.complete = false;
        return Ok(ix);
    }
    let p = b.finish(true)?;
    super::Index::open(dir, &p)
}

/// Whether process `pid` still runs (Linux: `/proc/<pid>` exists).
/// Removes the `index.live-<pid>-<ms>` working directories of live viewers that
/// are gone (killed before they could close their index). Only directories (never
/// a symlink) whose process is not alive; the caller's own are kept.
pub fn remove_stale_live_indexes(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("index.live-")) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() || pid_alive(pid) || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let _ = std::fs::remove_dir_all(e.path());
    }
}

pub fn pid_alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod hash_tests {
    use super::hash_value;
    use crate::wire::format::put_varint;
    use crate::wire::tag;

    fn s(b: &mut Vec<u8>, x: &str) {
        put_varint(b, x.len() as u64);
        put_varint(b, x.len() as u64);
        b.extend_from_slice(x.as_bytes());
    }

    /// `{ k: [1, 2] }` as an object.
    fn object(b: &mut Vec<u8>) {
        b.push(tag::OBJECT);
        s(b, "Object");
        put_varint(b, 1);
        put_varint(b, 1);
        s(b, "k");
        b.extend_from_slice(&[tag::ARRAY, 2, 2, tag::INT, 2, tag::INT, 4]);
    }

    #[test]
    fn a_reference_hashes_as_the_value_it_points_to() {
        // Record A: the object in full twice. Record B: in full, then a ref to it.
        let mut a = Vec::new();
        object(&mut a);
        let second_a = a.len();
        object(&mut a);
        let mut b = Vec::new();
        object(&mut b);
        let second_b = b.len();
        b.push(tag::REF);
        put_varint(&mut b, 0);
        assert_ne!(&a[second_a..], &b[second_b..]);
        assert_eq!(hash_value(&a, second_a), hash_value(&b, second_b));
        assert_eq!(hash_value(&a[..second_a], 0), hash_value(&a, second_a));
        // Inside an array: [obj] and [ref].
        let mut c = a[..second_a].to_vec();
        let at_c = c.len();
        c.extend_from_slice(&[tag::ARRAY, 1, 1]);
        object(&mut c);
        let mut d = b[..second_b].to_vec();
        let at_d = d.len();
        d.extend_from_slice(&[tag::ARRAY, 1, 1, tag::REF, 0]);
        assert_eq!(hash_value(&c, at_c), hash_value(&d, at_d));
        // A different value differs; a malformed ref falls back to the raw bytes.
        let mut e = b[..second_b].to_vec();
        e.extend_from_slice(&[tag::ARRAY, 1, 1, tag::INT, 2]);
        assert_ne!(hash_value(&e, second_b), hash_value(&d, at_d));
        let bad = [tag::REF, 9];
        assert_eq!(hash_value(&bad, 0), super::mix(super::fnv(super::FNV_OFFSET, &bad)));
    }

    /// `{ a: 1, b: x }` as an object.
    fn pair(buf: &mut Vec<u8>, b: u8) {
        buf.push(tag::OBJECT);
        s(buf, "Object");
        put_varint(buf, 2);
        put_varint(buf, 2);
        s(buf, "a");
        buf.extend_from_slice(&[tag::INT, 2]);
        s(buf, "b");
        buf.extend_from_slice(&[tag::INT, b]);
    }

    #[test]
    fn a_patch_hashes_as_the_object_it_stands_for() {
        // Record A: {a:1,b:2} then {a:1,b:3} in full. Record B: {a:1,b:2},
        // then a patch of it replacing entry 1 by 3.
        let mut a = Vec::new();
        pair(&mut a, 4);
        let second_a = a.len();
        pair(&mut a, 6);
        let mut b = Vec::new();
        pair(&mut b, 4);
        let second_b = b.len();
        b.extend_from_slice(&[tag::PATCH, 0, 1, 1, tag::INT, 6]);
        assert_eq!(hash_value(&a, second_a), hash_value(&b, second_b));
        // A patch to another value hashes differently; a patch of a non-object fails back to raw bytes.
        let mut c = b[..second_b].to_vec();
        c.extend_from_slice(&[tag::PATCH, 0, 1, 1, tag::INT, 8]);
        assert_ne!(hash_value(&c, second_b), hash_value(&a, second_a));
        let bad = [tag::INT, 2, tag::PATCH, 0, 0];
        assert_eq!(hash_value(&bad, 2), super::mix(super::fnv(super::FNV_OFFSET, &bad[2..])));
    }
}
