//! The index of a trace as stored on disk (`<trace>/index/`, see
//! `design-docs/index-format.md`) and read back: per thread a file of
//! fixed-size activation records in call order, the seek points of the
//! trace's chunks, and `index.json` with the per-function statistics.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::chunks::{read_chunk_at, ChunkRead};
use crate::error::{Error, Result};
use crate::trace::reader::Trace;

/// Version of the index layout; an index of another version is rebuilt.
pub const INDEX_VERSION: u32 = 3;
/// Bytes per activation record.
pub const ACT_REC: usize = 48;
/// Bytes per seek point.
pub const SEEK_REC: usize = 16;
/// `end_ev` of an activation that has not ended.
pub const NO_EVENT: u64 = u64::MAX;

/// Activation flags.
pub mod flag {
    /// Returned or threw.
    pub const FINISHED: u16 = 1;
    /// Left by an exception.
    pub const THREW: u16 = 2;
    /// Suspended (await/yield) at least once.
    pub const SUSPENDED: u16 = 4;
    /// `end_ev` is the `catch` that received the exception (else the `throw`).
    pub const ERROR_KNOWN: u16 = 8;
    /// Not in the trace: its call was in events a run cleared (`clear`); it
    /// only holds its number (queries skip it).
    pub const CLEARED: u16 = 16;
}

/// One activation (a call of a function, until it returns or throws).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Act {
    /// Nanoseconds since the session started (interpolated like the exports).
    pub start_ns: u64,
    /// End time; for an activation that has not ended, the last time seen on its thread.
    pub end_ns: u64,
    /// Global index (file order, from 0) of the `call` event.
    pub call_ev: u64,
    /// Global index of the `return`/`throw` event, or of the `catch` holding
    /// the error (flag `ERROR_KNOWN`); `NO_EVENT` while it runs.
    pub end_ev: u64,
    /// Activation number of the caller (0 = called from the event loop).
    pub parent: u32,
    /// Function id.
    pub func: u32,
    /// Stack depth when called (0 = from the event loop).
    pub depth: u16,
    /// `flag::*`.
    pub flags: u16,
    /// The run it was called in: 1-based position in `IndexMeta::runs` (0 = none).
    pub run: u32,
}

impl Act {
    /// Encodes the record (little endian).
    pub fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.start_ns.to_le_bytes());
        out[8..16].copy_from_slice(&self.end_ns.to_le_bytes());
        out[16..24].copy_from_slice(&self.call_ev.to_le_bytes());
        out[24..32].copy_from_slice(&self.end_ev.to_le_bytes());
        out[32..36].copy_from_slice(&self.parent.to_le_bytes());
        out[36..40].copy_from_slice(&self.func.to_le_bytes());
        out[40..42].copy_from_slice(&self.depth.to_le_bytes());
        out[42..44].copy_from_slice(&self.flags.to_le_bytes());
        out[44..48].copy_from_slice(&self.run.to_le_bytes());
    }

    /// Decodes a record.
    pub fn decode(b: &[u8]) -> Act {
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(a)
        };
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        Act {
            start_ns: u64_at(0),
            end_ns: u64_at(8),
            call_ev: u64_at(16),
            end_ev: u64_at(24),
            parent: u32_at(32),
            func: u32_at(36),
            depth: u16::from_le_bytes([b[40], b[41]]),
            flags: u16::from_le_bytes([b[42], b[43]]),
            run: u32_at(44),
        }
    }

    /// Duration in nanoseconds.
    pub fn dur(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// Returned or threw.
    pub fn finished(&self) -> bool {
        self.flags & flag::FINISHED != 0
    }
}

/// Per-function statistics.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FnStats {
    /// Function id.
    pub id: u32,
    /// Calls.
    pub calls: u64,
    /// Inclusive on-stack time: each outermost activation counted once (a
    /// recursive call inside another activation of the same function adds nothing).
    pub incl_ns: u64,
    /// Self time: on-stack time minus the on-stack time of callees.
    pub self_ns: u64,
    /// Activations left by an exception.
    pub throws: u64,
    /// Order-independent hash of the return value bytes.
    pub ret_hash: u64,
    /// Order-independent hash of the errors its `catch` clauses received and
    /// of those that left it.
    pub err_hash: u64,
}

/// A function as defined in the trace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FnDef {
    /// Function id.
    pub id: u32,
    /// Qualified name.
    pub name: String,
    /// Kind (`function`, `method`, `arrow`...).
    pub kind: String,
    /// File (relative to the project root).
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 0-based column.
    pub col: u32,
    /// Parameter names.
    pub params: Vec<String>,
}

/// A thread in the index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThreadInfo {
    /// Thread id (0 = main).
    pub id: u32,
    /// Name.
    pub name: String,
    /// Activations (records in `acts-<id>.bin`).
    pub acts: u64,
    /// Deepest stack seen.
    pub max_depth: u32,
    /// First and last event time (ns).
    pub first_ns: u64,
    /// Last event time (ns).
    pub last_ns: u64,
}

/// A finished activation among the slowest.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slow {
    /// Duration (ns).
    pub dur: u64,
    /// Thread.
    pub thread: u32,
    /// Activation number.
    pub act: u32,
}

/// A run (`noderec.run`) met in the trace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunDef {
    /// Its `runId` (`#<mark id>` when the metadata did not give one).
    pub run_id: String,
    /// `domain`, inherited from the run it is nested in when not given.
    pub domain: Option<String>,
    /// `level` (as text), inherited like `domain`.
    pub level: Option<String>,
    /// `sampleId` as given (as text).
    pub sample_id: Option<String>,
    /// `iteration` as given (as text).
    pub iteration: Option<String>,
    /// `parentRunId` as given, else the `runId` of the run it is nested in.
    pub parent_run_id: Option<String>,
    /// The run it is nested in on its thread: 1-based position in `runs` (0 = none).
    pub parent: u32,
    /// The thread it started on.
    pub thread: u32,
    /// When it started (ns).
    pub start_ns: u64,
    /// When it ended (ns; its start while not ended).
    pub end_ns: u64,
    /// Its end mark was read.
    pub ended: bool,
    /// Events recorded in it (marks and the events of runs nested in it not counted).
    pub events: u64,
    /// Activations called in it.
    pub acts: u64,
    /// Events it cleared (`clear`: not in the trace).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cleared: u64,
    /// Why a clearing run was written in full (`failed`, `hold-cap`, `unended`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A user span (`span()`, `startSpan()`, the http bridges): one per
/// start/end pair.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpanDef {
    /// Thread.
    pub thread: u32,
    /// Its name (`span` when unreadable).
    pub name: String,
    /// Start (ns).
    pub start_ns: u64,
    /// End (ns); while not ended, the last time seen on its thread.
    pub end_ns: u64,
    /// `ok`, `error`, or `unfinished` (no end mark read).
    pub status: String,
    /// The run it started in: 1-based position in `runs` (0 = none).
    pub run: u32,
}

/// Most spans an index keeps (the first ones; the rest are counted).
pub const MAX_SPANS: usize = 100_000;

/// `index.json` (the metadata of an index).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IndexMeta {
    /// `INDEX_VERSION`.
    pub version: u32,
    /// Bytes of `trace.nrt` the index covers (after the last complete chunk read).
    pub trace_bytes: u64,
    /// The index is final: the trace ended, was cut, or stopped being written.
    pub complete: bool,
    /// The trace's END record was read.
    pub ended: bool,
    /// Why reading stopped before the end of the file, if it did.
    pub damage: Option<String>,
    /// Chunks read.
    pub chunks: u64,
    /// Events read.
    pub events: u64,
    /// Events per kind name.
    pub counts: BTreeMap<String, u64>,
    /// Output bytes per stream name.
    pub output_bytes: BTreeMap<String, u64>,
    /// Threads.
    pub threads: Vec<ThreadInfo>,
    /// Functions (and await/yield sites).
    pub funcs: Vec<FnDef>,
    /// Statistics of the functions that were called.
    pub stats: Vec<FnStats>,
    /// The slowest finished activations, slowest first.
    pub slowest: Vec<Slow>,
    /// Runs, in the order their start marks were read.
    #[serde(default)]
    pub runs: Vec<RunDef>,
    /// User spans in the order they started (at most [`MAX_SPANS`]).
    #[serde(default)]
    pub spans: Vec<SpanDef>,
    /// Spans past [`MAX_SPANS`], not kept.
    #[serde(default)]
    pub spans_dropped: u64,
}

/// An opened index: queries read activation records from disk on demand.
pub struct Index {
    /// The trace directory.
    pub dir: PathBuf,
    /// Where the index files are.
    pub index_dir: PathBuf,
    /// `index.json`.
    pub meta: IndexMeta,
    /// Seek points: (file offset of a chunk, global index of its first event).
    pub seeks: Vec<(u64, u64)>,
    acts: BTreeMap<u32, File>,
    trace: File,
    cache: Vec<(u64, std::rc::Rc<Trace>)>,
    func_pos: std::collections::HashMap<u32, usize>,
}

/// Path of the final index of the trace directory `dir`.
pub fn index_dir_of(dir: &Path) -> PathBuf {
    dir.join("index")
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> Error {
    Error::io(format!("{what} {}", p.display()), e)
}

/// An index directory or file that could not be opened: a symlink, not a
/// directory or regular file, or another user's is `ERR_UNSAFE_INDEX`;
/// anything else (missing, unreadable) an IO error.
pub(crate) fn index_open_err(p: &Path, e: std::io::Error) -> Error {
    let unsafe_kind = matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR | libc::EMLINK))
        || matches!(e.kind(), std::io::ErrorKind::InvalidData | std::io::ErrorKind::PermissionDenied);
    if unsafe_kind {
        let message = match e.raw_os_error() {
            Some(libc::ELOOP | libc::EMLINK) => {
                "it is a symbolic link (the index is never read or written through one)".to_string()
            }
            Some(libc::ENOTDIR) => "it is not a directory".to_string(),
            _ => e.to_string(),
        };
        Error::UnsafeIndex { path: p.display().to_string(), message }
    } else {
        io_err("open", p, e)
    }
}

/// The name of `index_dir` inside the trace directory `dir`.
pub(crate) fn name_in(dir: &Path, index_dir: &Path) -> Result<String> {
    match (index_dir.parent(), index_dir.file_name().and_then(|n| n.to_str())) {
        (Some(p), Some(n)) if p == dir => Ok(n.to_string()),
        _ => Err(Error::Internal { message: format!("index {} is not inside {}", index_dir.display(), dir.display()) }),
    }
}

impl Index {
    /// Opens the index stored in `index_dir` for the trace directory `dir`.
    /// The trace directory, the index directory and its files are opened
    /// through [`DirHandle`](crate::host::filesystem::DirHandle) without
    /// following symlinks (`ERR_UNSAFE_INDEX`).
    pub fn open(dir: &Path, index_dir: &Path) -> Result<Index> {
        use std::io::Read as _;
        let td = crate::host::filesystem::DirHandle::open_trace_dir(dir)?;
        let ih = td.open_own_dir(&name_in(dir, index_dir)?).map_err(|e| index_open_err(index_dir, e))?;
        let file = |name: &str| ih.open_file(name).map_err(|e| index_open_err(&index_dir.join(name), e));
        let mp = index_dir.join("index.json");
        let mut text = String::new();
        file("index.json")?.read_to_string(&mut text).map_err(|e| io_err("read", &mp, e))?;
        let meta: IndexMeta = serde_json::from_str(&text)
            .map_err(|e| Error::TraceIncomplete { path: mp.display().to_string(), message: e.to_string() })?;
        if meta.version != INDEX_VERSION {
            return Err(Error::TraceIncomplete {
                path: mp.display().to_string(),
                message: format!("index version {} (this reader knows {INDEX_VERSION})", meta.version),
            });
        }
        let sp = index_dir.join("seek.bin");
        let mut raw = Vec::new();
        file("seek.bin")?.read_to_end(&mut raw).map_err(|e| io_err("read", &sp, e))?;
        let seeks = raw
            .chunks_exact(SEEK_REC)
            .map(|c| {
                let mut a = [0u8; 8];
                let mut b = [0u8; 8];
                a.copy_from_slice(&c[0..8]);
                b.copy_from_slice(&c[8..16]);
                (u64::from_le_bytes(a), u64::from_le_bytes(b))
            })
            .collect();
        let mut acts = BTreeMap::new();
        for th in &meta.threads {
            acts.insert(th.id, file(&format!("acts-{}.bin", th.id))?);
        }
        let tp = dir.join("trace.nrt");
        let trace = td.open_file("trace.nrt").map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: tp.display().to_string() },
            std::io::ErrorKind::InvalidData => {
                Error::NotRegularFile { path: tp.display().to_string(), message: e.to_string() }
            }
            _ => io_err("open", &tp, e),
        })?;
        let func_pos = meta.funcs.iter().enumerate().map(|(i, f)| (f.id, i)).collect();
        Ok(Index {
            dir: dir.to_path_buf(),
            index_dir: index_dir.to_path_buf(),
            meta,
            seeks,
            acts,
            trace,
            cache: Vec::new(),
            func_pos,
        })
    }

    /// The definition of function `id`.
    pub fn func(&self, id: u32) -> Option<&FnDef> {
        self.func_pos.get(&id).map(|&i| &self.meta.funcs[i])
    }

    /// Thread info.
    pub fn thread(&self, id: u32) -> Option<&ThreadInfo> {
        self.meta.threads.iter().find(|t| t.id == id)
    }

    /// Activation `n` (1-based) of `thread`.
    pub fn act(&self, thread: u32, n: u64) -> Option<Act> {
        let count = self.thread(thread)?.acts;
        if n == 0 || n > count {
            return None;
        }
        let f = self.acts.get(&thread)?;
        let mut b = [0u8; ACT_REC];
        f.read_exact_at(&mut b, (n - 1) * ACT_REC as u64).ok()?;
        Some(Act::decode(&b))
    }

    /// Up to `count` activations of `thread` from number `first` on.
    pub fn acts(&self, thread: u32, first: u64, count: usize) -> Vec<Act> {
        let Some(total) = self.thread(thread).map(|t| t.acts) else { return Vec::new() };
        if first == 0 || first > total {
            return Vec::new();
        }
        let n = (count as u64).min(total - first + 1) as usize;
        let Some(f) = self.acts.get(&thread) else { return Vec::new() };
        let mut b = vec![0u8; n * ACT_REC];
        if f.read_exact_at(&mut b, (first - 1) * ACT_REC as u64).is_err() {
            return Vec::new();
        }
        b.chunks_exact(ACT_REC).map(Act::decode).collect()
    }

    /// The number of the first activation of `thread` that starts at or after `t_ns`
    /// (one past the last when none does).
    pub fn first_at(&self, thread: u32, t_ns: u64) -> u64 {
        let total = self.thread(thread).map_or(0, |t| t.acts);
        let (mut lo, mut hi) = (1u64, total + 1);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.act(thread, mid) {
                Some(a) if a.start_ns < t_ns => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    /// The chunk that holds global event `ev`, decoded, and the event's index in it.
    pub fn event_chunk(&mut self, ev: u64) -> Option<(std::rc::Rc<Trace>, usize)> {
        let i = self.seeks.partition_point(|s| s.1 <= ev).checked_sub(1)?;
        let (off, first) = self.seeks[i];
        if let Some((_, t)) = self.cache.iter().find(|c| c.0 == off) {
            let local = (ev - first) as usize;
            return (local < t.events.len()).then(|| (t.clone(), local));
        }
        let len = self.trace.metadata().ok()?.len();
        let ChunkRead::Chunk(t, _) = read_chunk_at(&self.trace, off, len) else { return None };
        let t: std::rc::Rc<Trace> = std::rc::Rc::from(t);
        if self.cache.len() >= 8 {
            self.cache.remove(0);
        }
        self.cache.push((off, t.clone()));
        let local = (ev - first) as usize;
        (local < t.events.len()).then_some((t, local))
    }
}
