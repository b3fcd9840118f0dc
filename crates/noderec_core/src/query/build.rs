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
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::chunks::{read_chunk_at, ChunkRead};
use super::index::{
    flag, index_dir_of, Act, FnDef, FnStats, IndexMeta, Slow, ThreadInfo, ACT_REC, INDEX_VERSION, NO_EVENT,
};
use crate::error::{Error, Result};
use crate::trace::format::{self, kind};
use crate::trace::reader::Trace;
use crate::trace::value::read_varint;
use crate::trace::walk::TICK_US;

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
}

struct ThreadState {
    info: ThreadInfo,
    stack: Vec<Frame>,
    on_stack: HashMap<u32, u32>,
    suspended: HashMap<u32, u32>,
    pending_throws: Vec<u32>,
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

/// Builds (and keeps extending) the index of one trace.
pub struct IndexBuilder {
    dir: PathBuf,
    out: PathBuf,
    final_dir: PathBuf,
    trace: File,
    /// Offset of the next chunk to read.
    pub pos: u64,
    ev: u64,
    meta: IndexMeta,
    threads: BTreeMap<u32, ThreadState>,
    stats: HashMap<u32, FnStats>,
    funcs: BTreeMap<u32, FnDef>,
    paths: HashMap<u32, String>,
    slowest: BinaryHeap<std::cmp::Reverse<Slow>>,
    seek: BufWriter<File>,
    /// Set when reading stopped at damage: nothing more will be read.
    stopped: bool,
    /// Records kept in memory per thread before the oldest are written.
    cap: usize,
    /// Replay waiting events at every sync (see [`IndexBuilder::provisional`]).
    provisional: bool,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::io(format!("{what} {}", p.display()), e)
}

fn create_private(p: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(p)
        .map_err(|e| io_err("create", p, e))
}

/// FNV-1a of a value blob (mixed so that sums of hashes stay spread).
fn hash_bytes(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &x in b {
        h ^= u64::from(x);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 29)
}

impl IndexBuilder {
    /// A builder for the trace directory `dir`, writing into `out` (a new
    /// directory; `finish` renames it to `<dir>/index` when the index is final).
    pub fn new(dir: &Path, out: &Path) -> Result<IndexBuilder> {
        let tp = dir.join("trace.nrt");
        let trace = File::open(&tp).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: tp.display().to_string() },
            _ => io_err("open", &tp, e),
        })?;
        let mut header = [0u8; format::HEADER_LEN];
        if trace.read_exact_at(&mut header, 0).is_err() || &header[..8] != format::MAGIC {
            return Err(Error::TraceIncomplete {
                path: tp.display().to_string(),
                message: "not a noderec trace (bad magic)".into(),
            });
        }
        let _ = std::fs::remove_dir_all(out);
        std::fs::DirBuilder::new().mode(0o700).create(out).map_err(|e| io_err("create", out, e))?;
        let seek = BufWriter::new(create_private(&out.join("seek.bin"))?);
        Ok(IndexBuilder {
            dir: dir.to_path_buf(),
            out: out.to_path_buf(),
            final_dir: index_dir_of(dir),
            trace,
            pos: format::HEADER_LEN as u64,
            ev: 0,
            meta: IndexMeta { version: INDEX_VERSION, ..IndexMeta::default() },
            threads: BTreeMap::new(),
            stats: HashMap::new(),
            funcs: BTreeMap::new(),
            paths: HashMap::new(),
            slowest: BinaryHeap::new(),
            seek,
            stopped: false,
            cap: WINDOW,
            provisional: false,
        })
    }

    /// For a live view: each `advance` also replays the events still waiting
    /// for the next clock value, timing them as if the value were the last
    /// (off by at most one tick, 100 µs), so that the newest calls show at
    /// once. The final index of the trace should be built afresh.
    pub fn provisional(mut self) -> Self {
        self.provisional = true;
        self
    }

    /// Keeps at most `n` records per thread in memory (tests use small windows).
    pub fn with_window(mut self, n: usize) -> Self {
        self.cap = n.max(2);
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
                match read_chunk_at(&self.trace, self.pos, len) {
                    ChunkRead::Chunk(t, next) => {
                        self.add_chunk(&t)?;
                        self.pos = next;
                    }
                    ChunkRead::Short => {
                        if self.pos < len {
                            self.meta.damage = Some(format!("cut chunk at byte {} (or still being written)", self.pos));
                        } else {
                            self.meta.damage = None;
                        }
                        break;
                    }
                    ChunkRead::Damaged(m) => {
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

    fn add_chunk(&mut self, t: &Trace) -> Result<()> {
        for (id, p) in &t.paths {
            self.paths.insert(*id, p.clone());
        }
        for (id, f) in &t.funcs {
            self.funcs.insert(
                *id,
                FnDef {
                    id: *id,
                    name: f.name.clone(),
                    kind: f.kind.clone(),
                    path: self.paths.get(&f.path).cloned().unwrap_or_default(),
                    line: f.line,
                    col: f.col,
                    params: f.params.clone(),
                },
            );
        }
        for (id, name) in &t.threads {
            let st = self.thread(*id)?;
            st.info.name = name.clone();
        }
        let mut rec = [0u8; 16];
        rec[..8].copy_from_slice(&self.pos.to_le_bytes());
        rec[8..].copy_from_slice(&self.ev.to_le_bytes());
        self.seek.write_all(&rec).map_err(|e| io_err("write", &self.out, e))?;
        if t.ended {
            self.meta.ended = true;
        }
        self.meta.chunks += 1;
        for (i, e) in t.events.iter().enumerate() {
            let ev = self.ev + i as u64;
            let blob = t.blob(e);
            let resume_act = if e.kind == kind::RESUME {
                let mut p = 0;
                read_varint(blob, &mut p).unwrap_or(0)
            } else {
                0
            };
            let hash = if matches!(e.kind, kind::RETURN | kind::CATCH) && e.val_len > 0 { hash_bytes(blob) } else { 0 };
            if e.kind == kind::OUTPUT {
                let (stream, _) = crate::io::chunk::split_payload(e.payload);
                let n = crate::io::chunk::blob_bytes(blob).map_or(0, <[u8]>::len) as u64;
                *self.meta.output_bytes.entry(crate::io::chunk::stream::name(stream).to_string()).or_default() += n;
            }
            *self.meta.counts.entry(kind::name(e.kind).to_string()).or_default() += 1;
            let p = Pending { kind: e.kind, payload: e.payload, ev, resume_act, hash, has_blob: e.val_len > 0 };
            self.push_event(e.thread, e.t_us, p)?;
        }
        self.ev += t.events.len() as u64;
        self.meta.events = self.ev;
        Ok(())
    }

    fn thread(&mut self, id: u32) -> Result<&mut ThreadState> {
        if !self.threads.contains_key(&id) {
            let p = self.out.join(format!("acts-{id}.bin"));
            let raw = create_private(&p)?;
            let file = BufWriter::with_capacity(1 << 18, raw.try_clone().map_err(|e| io_err("open", &p, e))?);
            self.threads.insert(
                id,
                ThreadState {
                    info: ThreadInfo {
                        id,
                        name: if id == 0 { "main".into() } else { format!("worker {id}") },
                        ..ThreadInfo::default()
                    },
                    stack: Vec::new(),
                    on_stack: HashMap::new(),
                    suspended: HashMap::new(),
                    pending_throws: Vec::new(),
                    seen: false,
                    group_us: 0,
                    group: Vec::new(),
                    window: VecDeque::new(),
                    base: 0,
                    spilled: HashMap::new(),
                    file,
                    raw,
                },
            );
        }
        self.threads.get_mut(&id).ok_or_else(|| Error::Internal { message: "thread state".into() })
    }

    fn push_event(&mut self, thread: u32, t_us: u64, p: Pending) -> Result<()> {
        let st = self.thread(thread)?;
        if !st.group.is_empty() && st.group_us != t_us {
            let next = t_us;
            self.flush_group(thread, Some(next))?;
        }
        let st = self.thread(thread)?;
        if st.group.is_empty() {
            st.group_us = t_us;
        }
        st.group.push(p);
        Ok(())
    }

    /// Gives the waiting events of `thread` their times (spread over the time
    /// to `next`, at most one tick) and replays them.
    fn flush_group(&mut self, thread: u32, next: Option<u64>) -> Result<()> {
        let Some(mut st) = self.threads.remove(&thread) else { return Ok(()) };
        let tu = st.group_us;
        let next = next.unwrap_or(tu + 1);
        let span_ns = (next.saturating_sub(tu)).min(TICK_US) * 1000;
        let group = std::mem::take(&mut st.group);
        let n = group.len() as u64;
        let mut r = Ok(());
        for (k, p) in group.iter().enumerate() {
            let t_ns = tu * 1000 + span_ns * k as u64 / n;
            if let Err(e) = self.replay(&mut st, p, t_ns) {
                r = Err(e);
                break;
            }
        }
        st.group = group;
        st.group.clear();
        self.threads.insert(thread, st);
        r
    }

    fn get_act(st: &mut ThreadState, n: u32) -> Option<&mut Act> {
        let n = u64::from(n);
        if n > st.base {
            st.window.get_mut((n - st.base - 1) as usize)
        } else {
            st.spilled.get_mut(&(n as u32))
        }
    }

    fn replay(&mut self, st: &mut ThreadState, p: &Pending, t: u64) -> Result<()> {
        if !st.seen {
            st.seen = true;
            st.info.first_ns = t;
        }
        st.info.last_ns = t;
        match p.kind {
            kind::CALL => {
                let n = st.base + st.window.len() as u64 + 1;
                let n32 =
                    u32::try_from(n).map_err(|_| Error::Internal { message: "more than 4G activations".into() })?;
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
                });
                st.stack.push(Frame { act: n32, func: p.payload, stretch_start: t, child_ns: 0 });
                *st.on_stack.entry(p.payload).or_default() += 1;
                self.stats.entry(p.payload).or_insert_with(|| FnStats { id: p.payload, ..FnStats::default() }).calls +=
                    1;
                st.pending_throws.clear();
                if st.window.len() > self.cap {
                    Self::write_front(st, self.cap / 2)?;
                }
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                let Some(fr) = st.stack.pop() else { return Ok(()) };
                let stretch = t.saturating_sub(fr.stretch_start);
                let s = self.stats.entry(fr.func).or_insert_with(|| FnStats { id: fr.func, ..FnStats::default() });
                s.self_ns += stretch.saturating_sub(fr.child_ns);
                if let Some(c) = st.on_stack.get_mut(&fr.func) {
                    *c = c.saturating_sub(1);
                    if *c == 0 {
                        s.incl_ns += stretch;
                    }
                }
                match p.kind {
                    kind::RETURN => s.ret_hash = s.ret_hash.wrapping_add(p.hash),
                    kind::THROW => s.throws += 1,
                    _ => {}
                }
                if let Some(parent) = st.stack.last_mut() {
                    parent.child_ns += stretch;
                }
                let mut slow = None;
                if let Some(a) = Self::get_act(st, fr.act) {
                    a.end_ns = t;
                    match p.kind {
                        kind::RETURN | kind::THROW => {
                            a.flags |= flag::FINISHED;
                            a.end_ev = p.ev;
                            if p.kind == kind::THROW {
                                a.flags |= flag::THREW;
                            }
                            slow = Some(Slow { dur: a.dur(), thread: st.info.id, act: fr.act });
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
                    if self.slowest.len() < SLOWEST {
                        self.slowest.push(std::cmp::Reverse(s));
                    } else if self.slowest.peek().is_some_and(|m| m.0 < s) {
                        self.slowest.pop();
                        self.slowest.push(std::cmp::Reverse(s));
                    }
                }
            }
            kind::RESUME => {
                let Ok(n) = u32::try_from(p.resume_act) else { return Ok(()) };
                if let Some(func) = st.suspended.remove(&n) {
                    st.stack.push(Frame { act: n, func, stretch_start: t, child_ns: 0 });
                    *st.on_stack.entry(func).or_default() += 1;
                }
            }
            kind::CATCH => {
                if p.has_blob {
                    let top_func = st.stack.last().map(|f| f.func);
                    for i in 0..st.pending_throws.len() {
                        let n = st.pending_throws[i];
                        if let Some(a) = Self::get_act(st, n) {
                            a.end_ev = p.ev;
                            a.flags |= flag::ERROR_KNOWN;
                            let f = a.func;
                            let s = self.stats.entry(f).or_insert_with(|| FnStats { id: f, ..FnStats::default() });
                            s.err_hash = s.err_hash.wrapping_add(p.hash);
                        }
                    }
                    if let Some(f) = top_func {
                        let s = self.stats.entry(f).or_insert_with(|| FnStats { id: f, ..FnStats::default() });
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

    /// Writes every record and the metadata so that the index on disk holds
    /// what was read. With `last`, events still waiting for their time are
    /// replayed first and open activations end at their thread's last time.
    fn sync(&mut self, last: bool) -> Result<()> {
        let ids: Vec<u32> = self.threads.keys().copied().collect();
        for id in ids {
            if last || self.provisional {
                self.flush_group(id, None)?;
            }
            let Some(st) = self.threads.get_mut(&id) else { continue };
            if last {
                // Stretches still on the stack count up to the thread's last time.
                let t = st.info.last_ns;
                while let Some(fr) = st.stack.pop() {
                    let stretch = t.saturating_sub(fr.stretch_start);
                    let s = self.stats.entry(fr.func).or_insert_with(|| FnStats { id: fr.func, ..FnStats::default() });
                    s.self_ns += stretch.saturating_sub(fr.child_ns);
                    if let Some(c) = st.on_stack.get_mut(&fr.func) {
                        *c = c.saturating_sub(1);
                        if *c == 0 {
                            s.incl_ns += stretch;
                        }
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
                if let Some(a) = Self::get_act(st, n) {
                    a.end_ns = a.end_ns.max(last_ns);
                }
            }
            let n = st.window.len();
            Self::write_front(st, n)?;
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
        self.meta.threads = self.threads.values().map(|t| t.info.clone()).collect();
        self.meta.funcs = self.funcs.values().cloned().collect();
        let mut stats: Vec<FnStats> = self.stats.values().cloned().collect();
        stats.sort_by_key(|s| s.id);
        self.meta.stats = stats;
        let mut slow: Vec<Slow> = self.slowest.iter().map(|r| r.0).collect();
        slow.sort_by(|a, b| b.cmp(a));
        self.meta.slowest = slow;
        let text = serde_json::to_vec(&self.meta).map_err(|e| Error::Internal { message: e.to_string() })?;
        let tmp = self.out.join("index.json.tmp");
        let mut f = create_private(&tmp)?;
        f.write_all(&text).map_err(|e| io_err("write", &tmp, e))?;
        drop(f);
        let fin = self.out.join("index.json");
        std::fs::rename(&tmp, &fin).map_err(|e| io_err("rename", &tmp, e))
    }
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
    if let Ok(ix) = super::Index::open(dir, &fin) {
        if ix.meta.complete && (ix.meta.trace_bytes == len || ix.meta.ended || ix.meta.damage.is_some()) {
            return Ok(ix);
        }
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
        let mut ix = super::Index::open(dir, &partial)?;
        ix.meta.complete = false;
        return Ok(ix);
    }
    let p = b.finish(true)?;
    super::Index::open(dir, &p)
}

/// Whether process `pid` still runs (Linux: `/proc/<pid>` exists).
pub fn pid_alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}
