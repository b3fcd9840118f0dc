//! Start and finish of a recording session, shared by every JavaScript
//! thread of the process (main thread, workers, the ESM loader thread).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use super::clock::Ticker;
use super::metadata::{status, Metadata};
use crate::error::{Error, Result};
use crate::host::filesystem::{create_trace_dir, iso8601, now_ms, DirHandle};
use crate::trace::pool::{Next, Pool, Slot};
use crate::trace::writer::{FuncDef, Msg, WriterCounters, WriterHandle};
use crate::wire::format::VERSION;

/// What the facade tells the core when recording starts.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Directory that receives trace directories.
    pub out_dir: String,
    /// Program name.
    pub program: String,
    /// `process.argv`.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Project root.
    pub root: String,
    /// `process.version`.
    pub node_version: String,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Run id shared with sibling processes.
    pub run_id: String,
    /// noderec version.
    pub recorder_version: String,
    /// The filter chain: paths of the TOML files in order, the built-in default first;
    /// `None` uses the compiled-in default alone.
    pub filters: Option<Vec<String>>,
    /// The instrumentation cache directory (`NODEREC_CACHE_DIR`); `None`:
    /// the default location.
    pub cache_dir: Option<String>,
    /// Do not use the instrumentation cache (`NODEREC_NO_CACHE`).
    pub no_cache: bool,
    /// The probes read a real clock per event (`NODEREC_CLOCK=precise`):
    /// said in the trace header so that readers do not spread events that
    /// share a microsecond over a publication step.
    pub precise_clock: bool,
    /// Bytes held for clearing runs before the oldest are written
    /// (`NODEREC_CLEAR_HOLD_MB`; 0: the default).
    pub clear_hold_bytes: u64,
}

/// One function definition handed to the registry.
#[derive(Debug, Clone)]
pub struct FnDef {
    /// Qualified name.
    pub name: String,
    /// Kind name.
    pub kind: &'static str,
    /// 1-based line.
    pub line: u32,
    /// 0-based column.
    pub col: u32,
    /// bit 0 async, bit 1 generator.
    pub flags: u8,
    /// Parameter names.
    pub params: Vec<String>,
    /// Original source path when it differs from the module's (source maps).
    pub source: Option<String>,
}

#[derive(Default)]
struct Registry {
    paths: HashMap<String, u32>,
    next_fn: u32,
    /// The bases of the module tables defined in this trace.
    defined: std::collections::HashSet<u32>,
}

/// Messages of clearing runs not yet sent to the writer (`Session::submit`).
#[derive(Default)]
struct Outbox {
    msgs: Vec<Msg>,
    bytes: usize,
}

/// The outbox is sent when it holds this many messages or bytes.
const OUTBOX_MSGS: usize = 64;
const OUTBOX_BYTES: usize = 1 << 20;

/// What [`Session::hand_over`] returns when the session has finished (an
/// API `stop()` while a worker runs): the batch is dropped, and the worker
/// joins the session running now, if any (design-docs/lifecycle.md,
/// *Workers across stop and start*).
pub const SESSION_ENDED: i32 = -2;

/// The number of the next session of this process.
static NEXT_SESSION: AtomicU32 = AtomicU32::new(1);

/// Events of batches dropped when no session could count them any more
/// (their session's metadata was written, or no session runs): the next
/// session to finish counts them (`events_dropped_before_join`).
static DROPPED_UNCLAIMED: AtomicU64 = AtomicU64::new(0);

/// A worker's batch of `events` events was dropped because the session it
/// joined is no longer the running one: counted by the next session to
/// finish (decisions.md 39).
pub fn note_dropped_unclaimed(events: u64) {
    DROPPED_UNCLAIMED.fetch_add(events, Ordering::Relaxed);
}

/// A running session.
pub struct Session {
    /// This session's number in the process (1, 2, ...): a worker's
    /// hand-over names the session it joined, and a batch for another one
    /// is dropped.
    pub id: u32,
    /// The trace directory.
    pub dir: PathBuf,
    /// The trace directory's handle: its files are written through it.
    handle: DirHandle,
    /// Project root.
    pub root: PathBuf,
    start: Instant,
    writer: Mutex<Option<WriterHandle>>,
    /// Messages of clearing runs waiting to go to the writer together.
    outbox: Mutex<Outbox>,
    /// The buffer pairs of each JavaScript thread (`trace::pool`), kept
    /// alive by the thread's ArrayBuffers and the writer's leases.
    pools: Mutex<HashMap<u32, std::sync::Weak<Pool>>>,
    ticker: Mutex<Option<Ticker>>,
    registry: Mutex<Registry>,
    meta: Mutex<Metadata>,
    /// Writer counters.
    pub counters: Arc<WriterCounters>,
    /// Modules instrumented.
    pub files: AtomicU64,
    threads: AtomicU64,
    /// Finished by the signal thread while JavaScript still runs: late
    /// batches are dropped quietly (the process is about to end).
    finished_natively: std::sync::atomic::AtomicBool,
    /// The writer was taken (finish): the outbox keeps nothing any more, a
    /// batch for it is dropped and counted (set and read under the outbox's
    /// lock).
    closed: std::sync::atomic::AtomicBool,
    /// The loaded filter chain.
    pub filter: Option<Arc<crate::filter::Engine>>,
    /// The instrumentation cache directory; `None`: no cache.
    cache_dir: Option<PathBuf>,
    /// The cache directory, opened and checked on first use (`None`: not used).
    cache: std::sync::OnceLock<Option<DirHandle>>,
}

static CURRENT: Mutex<Option<Arc<Session>>> = Mutex::new(None);

/// A source-map `sources` entry resolved against the generated file's
/// directory (URLs and absolute paths are kept), normalized lexically.
pub fn resolve_source(generated: &str, source: &str) -> String {
    let src = source.strip_prefix("file://").unwrap_or(source);
    if src.contains("://") {
        return src.to_string();
    }
    let joined = if Path::new(src).is_absolute() {
        PathBuf::from(src)
    } else {
        Path::new(generated).parent().map_or_else(|| PathBuf::from(src), |d| d.join(src))
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.display().to_string()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The running session, if any.
pub fn current() -> Option<Arc<Session>> {
    lock(&CURRENT).clone()
}

/// Creates the trace directory, writes metadata (`recording`), starts the
/// writer and the clock.
pub fn start(opts: &StartOptions) -> Result<Arc<Session>> {
    let mut cur = lock(&CURRENT);
    if cur.is_some() {
        return Err(Error::AlreadyRecording);
    }
    // A bad filter stops the start before anything is written.
    let chain = crate::filter::loader::load_chain(opts.filters.as_deref().unwrap_or(&[]))?;
    let filter = Arc::new(crate::filter::Engine::new(chain, Path::new(&opts.root)));
    let start_ms = now_ms();
    let handle = create_trace_dir(Path::new(&opts.out_dir), &opts.program, start_ms, opts.pid)?;
    let dir = handle.path().to_path_buf();
    let meta = Metadata {
        format: VERSION,
        recorder_version: opts.recorder_version.clone(),
        program: opts.program.clone(),
        argv: opts.argv.clone(),
        cwd: opts.cwd.clone(),
        root: opts.root.clone(),
        node_version: opts.node_version.clone(),
        pid: opts.pid,
        ppid: opts.ppid,
        run_id: opts.run_id.clone(),
        clock: if opts.precise_clock { "precise" } else { "published" }.into(),
        clock_max_step_us: None,
        start_time: iso8601(start_ms),
        start_ms,
        status: status::RECORDING.into(),
        filter: Some(filter.summary()),
        ..Metadata::default()
    };
    meta.save_in(&handle)?;
    let trace_path = dir.join("trace.nrt");
    let file = handle.create_file("trace.nrt").map_err(|e| Error::io(format!("create {}", trace_path.display()), e))?;
    let header_flags = if opts.precise_clock { crate::wire::format::flags::PRECISE_CLOCK } else { 0 };
    let writer = WriterHandle::spawn(file, &trace_path, header_flags)?;
    if opts.clear_hold_bytes > 0 {
        writer.send(Msg::HoldCap(usize::try_from(opts.clear_hold_bytes).unwrap_or(usize::MAX)))?;
    }
    let start = Instant::now();
    // Precise events read a clock of their own: no publisher (decisions.md 31).
    let ticker = if opts.precise_clock {
        Ticker::parked(start)
    } else {
        Ticker::start(start).map_err(|e| Error::io("start clock thread", e))?
    };
    let counters = Arc::clone(&writer.counters);
    let s = Arc::new(Session {
        id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        dir,
        handle,
        root: PathBuf::from(&opts.root),
        start,
        writer: Mutex::new(Some(writer)),
        outbox: Mutex::new(Outbox::default()),
        pools: Mutex::new(HashMap::new()),
        ticker: Mutex::new(Some(ticker)),
        registry: Mutex::new(Registry { paths: HashMap::new(), next_fn: 1, defined: Default::default() }),
        meta: Mutex::new(meta),
        counters,
        files: AtomicU64::new(0),
        threads: AtomicU64::new(0),
        finished_natively: std::sync::atomic::AtomicBool::new(false),
        closed: std::sync::atomic::AtomicBool::new(false),
        filter: Some(filter),
        cache_dir: if opts.no_cache {
            None
        } else {
            Some(opts.cache_dir.as_ref().map_or_else(super::modules::default_cache_dir, PathBuf::from))
        },
        cache: std::sync::OnceLock::new(),
    });
    // Modules loaded by an earlier session of this process keep their ids
    // (they are baked into running code): define them in this trace too.
    s.replay_functions()?;
    *cur = Some(Arc::clone(&s));
    Ok(s)
}

/// Every module table registered in this process: function ids are
/// process-wide, so a new session can still name functions loaded before it.
struct Loaded {
    next_fn: u32,
    modules: Vec<(String, u32, Vec<FnDef>)>,
}

static LOADED: Mutex<Loaded> = Mutex::new(Loaded { next_fn: 1, modules: Vec::new() });

/// The file (absolute path, as loaded) that defines function `id`.
pub fn function_path(id: u32) -> Option<String> {
    let all = lock(&LOADED);
    // Modules are registered in increasing base order.
    let i = all.modules.partition_point(|(_, base, _)| *base <= id);
    let (path, base, fns) = all.modules.get(i.checked_sub(1)?)?;
    (id < base + fns.len() as u32).then(|| path.clone())
}

impl Session {
    /// Sends `msg` to the writer; `false` (the message dropped) when the
    /// session has finished: a worker's batch racing the main thread's
    /// `stop()`, which is no failure.
    fn send_unless_ended(&self, msg: Msg) -> Result<bool> {
        let w = lock(&self.writer);
        match w.as_ref() {
            Some(w) => w.send(msg).map(|()| true),
            None => {
                drop(w);
                self.note_dropped(msg.events());
                Ok(false)
            }
        }
    }

    /// `events` events handed over after this session's writer was taken
    /// were dropped: counted in its metadata while it is still being
    /// finished (`events_dropped_after_stop`), else left for the next
    /// session to count.
    fn note_dropped(&self, events: u64) {
        if events == 0 {
            return;
        }
        let mut meta = lock(&self.meta);
        if meta.status == status::RECORDING {
            meta.events_dropped_after_stop += events;
        } else {
            note_dropped_unclaimed(events);
        }
    }

    /// The instrumentation cache, opened once. A directory owned by another
    /// user or writable by others is not used (cached code runs in the
    /// program): a warning is logged once and modules are instrumented anew.
    pub fn cache(&self) -> Option<&DirHandle> {
        self.cache
            .get_or_init(|| {
                let dir = self.cache_dir.as_ref()?;
                match crate::host::filesystem::open_private_dir(dir) {
                    Ok(h) => Some(h),
                    Err(why) => {
                        crate::host::log::log(
                            "warn",
                            "noderec_core::cache",
                            None,
                            format!("not using the instrumentation cache {}: {why}", dir.display()),
                            serde_json::json!({ "cache_dir": dir.display().to_string() }),
                        );
                        None
                    }
                }
            })
            .as_ref()
    }

    /// The path as stored in the trace: relative to the root when inside it.
    pub fn trace_path(&self, abs: &str) -> String {
        let p = Path::new(abs);
        match p.strip_prefix(&self.root) {
            Ok(rel) if !self.root.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
            _ => abs.to_string(),
        }
    }

    /// The path's id in this trace (defined now if new); `None` when the
    /// session has finished.
    fn path_id(&self, reg: &mut Registry, abs: &str) -> Result<Option<u32>> {
        let rel = self.trace_path(abs);
        if let Some(&id) = reg.paths.get(&rel) {
            return Ok(Some(id));
        }
        let id = reg.paths.len() as u32;
        reg.paths.insert(rel.clone(), id);
        Ok(self.send_unless_ended(Msg::Path { id, path: rel })?.then_some(id))
    }

    /// Registers a module's function table; returns the base id
    /// (function `i` of the table has id `base + i`).
    pub fn register_functions(&self, abs_path: &str, fns: &[FnDef]) -> Result<u32> {
        let base = {
            let mut all = lock(&LOADED);
            let base = all.next_fn;
            all.next_fn += fns.len() as u32;
            all.modules.push((abs_path.to_string(), base, fns.to_vec()));
            base
        };
        if !self.define_functions(abs_path, base, fns)? {
            // This session finished while the module was instrumented (a
            // worker racing the main thread's API stop()): the module loads
            // all the same (its ids are the process's), and its functions
            // are defined in the session running now, unless it replayed
            // them at its start (decisions.md 39).
            if let Some(now) = current().filter(|c| c.id != self.id) {
                now.define_functions(abs_path, base, fns)?;
            }
        }
        self.files.fetch_add(1, Ordering::Relaxed);
        Ok(base)
    }

    fn replay_functions(&self) -> Result<()> {
        let all = lock(&LOADED);
        for (abs, base, fns) in &all.modules {
            self.define_functions(abs, *base, fns)?;
        }
        Ok(())
    }

    /// Defines the module table at `base` in this trace, once (a session
    /// replays every table loaded before it, and a table registered as a
    /// session finishes is defined in the next one too). `false`: the
    /// session has finished (nothing more is written to it).
    ///
    /// Lock order: the registry's lock is held while definitions go to the
    /// writer (`send_unless_ended`), which takes the writer's lock and, when
    /// the session has finished, would take the metadata's lock to count what
    /// it dropped — while `finish` holds the metadata's lock and then takes
    /// the registry's (`functions`). No deadlock today: definitions carry no
    /// events, so nothing is counted and the metadata's lock is never taken
    /// here (`note_dropped` returns first for 0 events). Keep it so: never
    /// send a message with events while holding the registry's lock.
    fn define_functions(&self, abs_path: &str, base: u32, fns: &[FnDef]) -> Result<bool> {
        let mut reg = lock(&self.registry);
        if !reg.defined.insert(base) {
            return Ok(true);
        }
        let Some(path) = self.path_id(&mut reg, abs_path)? else { return Ok(false) };
        reg.next_fn = reg.next_fn.max(base + fns.len() as u32);
        for (i, f) in fns.iter().enumerate() {
            let fpath = match &f.source {
                Some(src) => {
                    let resolved = resolve_source(abs_path, src);
                    match self.path_id(&mut reg, &resolved)? {
                        Some(p) => p,
                        None => return Ok(false),
                    }
                }
                None => path,
            };
            let sent = self.send_unless_ended(Msg::Func(FuncDef {
                id: base + i as u32,
                path: fpath,
                name: f.name.clone(),
                kind: f.kind.to_string(),
                line: f.line,
                col: f.col,
                flags: f.flags,
                params: f.params.clone(),
            }))?;
            if !sent {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Names a JavaScript thread.
    /// A worker may join a session that is just finishing: nothing is sent
    /// then (its next hand-over finds the session ended).
    pub fn register_thread(&self, id: u32, name: &str) -> Result<()> {
        self.threads.fetch_add(1, Ordering::Relaxed);
        self.send_unless_ended(Msg::Thread { id, name: name.to_string() }).map(|_| ())
    }

    /// Hands a batch of probe records to the writer (waits if it is behind).
    /// `hold`, `run` and `lead`: see [`Msg::Events`] (0 outside clearing runs).
    /// Batches of clearing runs (`hold` ≠ 0, many small ones: one per
    /// change of run) wait in the outbox and go to the writer together.
    pub fn submit(&self, thread: u32, words: Vec<i32>, arena: Vec<u8>, hold: u32, run: u32, lead: u32) -> Result<()> {
        if self.submit_unless_ended(thread, words, arena, hold, run, lead)?
            || self.finished_natively.load(Ordering::SeqCst)
        {
            return Ok(());
        }
        Err(Error::Internal { message: "recording has finished".into() })
    }

    /// [`Session::submit`]; `false` (the batch dropped) when the session has finished.
    fn submit_unless_ended(
        &self,
        thread: u32,
        words: Vec<i32>,
        arena: Vec<u8>,
        hold: u32,
        run: u32,
        lead: u32,
    ) -> Result<bool> {
        let mut ob = lock(&self.outbox);
        if hold == 0 && ob.msgs.is_empty() {
            drop(ob);
            return self.send_unless_ended(Msg::Events { thread, words, arena, hold, run, lead });
        }
        let bytes = words.len() * 4 + arena.len();
        let msg = Msg::Events { thread, words, arena, hold, run, lead };
        if self.closed.load(Ordering::SeqCst) {
            // finish() took the writer: kept here, the batch would stay forever.
            drop(ob);
            self.note_dropped(msg.events());
            return Ok(false);
        }
        ob.bytes += bytes;
        ob.msgs.push(msg);
        self.send_outbox_unless_ended(ob, false)
    }

    /// A new buffer pair of `words_len` i32 and `arena_len` bytes for the
    /// probes of `thread` (design-docs/trace-format.md, *Hand-off*): its
    /// pool (to keep alive as long as JavaScript can reach the pair), its
    /// index and its memory. `None` when the thread has its most pairs.
    pub fn lend_buffers(
        &self,
        thread: u32,
        words_len: usize,
        arena_len: usize,
    ) -> Option<(Arc<Pool>, usize, Arc<Slot>)> {
        let mut pools = lock(&self.pools);
        let pool = match pools.get(&thread).and_then(std::sync::Weak::upgrade) {
            Some(p) => p,
            None => {
                pools.retain(|_, w| w.strong_count() > 0);
                let p = Pool::new();
                pools.insert(thread, Arc::downgrade(&p));
                p
            }
        };
        drop(pools);
        let (index, slot) = pool.add(words_len, arena_len)?;
        Some((pool, index, slot))
    }

    /// Hands the first `count` events and `len` value bytes of the probes'
    /// buffers to the writer. When they are pair `index` of the thread's
    /// pool (`words` and `arena` point at its memory) and no clearing run
    /// holds the batch, the pair itself goes (no copy) and the probes must
    /// switch to the pair this returns (`-1`: none is free, make one with
    /// `lend_buffers`); this waits only when all of the thread's pairs are
    /// with the writer. Otherwise the batch is copied (`copy`) and the
    /// probes keep their buffers: this returns `index` (or `-1` when they
    /// are not a pair of the pool). [`SESSION_ENDED`] when the session has
    /// finished meanwhile (a worker racing the main thread's `stop()`): the
    /// batch is dropped.
    #[allow(clippy::too_many_arguments)]
    pub fn hand_over(
        &self,
        thread: u32,
        index: i32,
        words: *const i32,
        count: usize,
        arena: *const u8,
        len: usize,
        hold: u32,
        run: u32,
        lead: u32,
        copy: impl FnOnce() -> (Vec<i32>, Vec<u8>),
    ) -> Result<i32> {
        let pool = lock(&self.pools).get(&thread).and_then(std::sync::Weak::upgrade);
        let at = usize::try_from(index).ok();
        let (Some(pool), Some(at)) = (pool, at) else {
            let (w, a) = copy();
            return Ok(if self.submit_unless_ended(thread, w, a, hold, run, lead)? { -1 } else { SESSION_ENDED });
        };
        let ob = lock(&self.outbox);
        let lease = if hold == 0 && ob.msgs.is_empty() && pool.owns(at, words, arena) {
            pool.lend(at, count, len)
        } else {
            None
        };
        drop(ob);
        let Some(lease) = lease else {
            let (w, a) = copy();
            if !self.submit_unless_ended(thread, w, a, hold, run, lead)? {
                return Ok(SESSION_ENDED);
            }
            return Ok(if pool.is_free(at) { index } else { -1 });
        };
        if !self.send_unless_ended(Msg::Lent { thread, lease })? {
            return Ok(SESSION_ENDED);
        }
        let mut waited = false;
        let next = pool.next(at, &mut waited);
        if waited {
            self.counters.waits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(match next {
            Next::Free(i) => i as i32,
            Next::Grow => -1,
        })
    }

    /// The clearing runs `runs` of `thread` ended: their held events are
    /// written (`keep`) or dropped (design-docs/runs.md *Clear*).
    pub fn settle_runs(&self, thread: u32, runs: Vec<u32>, keep: bool) -> Result<()> {
        let mut ob = lock(&self.outbox);
        if self.closed.load(Ordering::SeqCst) {
            return Ok(());
        }
        ob.msgs.push(Msg::Settle { thread, runs, keep });
        // A worker's runs settled as the session finishes are dropped with it.
        self.send_outbox_unless_ended(ob, false).map(|_| ())
    }

    /// Hands the outbox to the writer (the recorder's periodic tick, a
    /// flush, the end).
    pub fn send_held(&self) -> Result<()> {
        self.send_outbox(lock(&self.outbox), true)
    }

    fn send_outbox(&self, ob: std::sync::MutexGuard<'_, Outbox>, all: bool) -> Result<()> {
        if self.send_outbox_unless_ended(ob, all)? || self.finished_natively.load(Ordering::SeqCst) {
            return Ok(());
        }
        Err(Error::Internal { message: "recording has finished".into() })
    }

    /// [`Session::send_outbox`]; `false` when the session has finished (what
    /// the outbox held is dropped with it).
    fn send_outbox_unless_ended(&self, mut ob: std::sync::MutexGuard<'_, Outbox>, all: bool) -> Result<bool> {
        if ob.msgs.is_empty() || (!all && ob.msgs.len() < OUTBOX_MSGS && ob.bytes < OUTBOX_BYTES) {
            return Ok(true);
        }
        let msgs = std::mem::take(&mut ob.msgs);
        ob.bytes = 0;
        // Sent while the outbox is locked: a later direct send cannot overtake it.
        self.send_unless_ended(Msg::Many(msgs))
    }

    /// Waits until everything submitted is in the file.
    pub fn flush(&self) -> Result<()> {
        self.send_held()?;
        match lock(&self.writer).as_ref() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// Microseconds since the session started.
    pub fn elapsed_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Records the error that ended recording (kept in metadata).
    pub fn set_error(&self, err: serde_json::Value) {
        lock(&self.meta).error = Some(err);
    }

    /// Marks the trace as finished by the signal thread (see `signals`).
    pub fn set_finalized_natively(&self) {
        self.finished_natively.store(true, Ordering::SeqCst);
        lock(&self.meta).finalized_natively = true;
    }

    /// Marks the trace as cut at `max_events`.
    pub fn set_truncated(&self) {
        lock(&self.meta).truncated = true;
    }

    /// Adds a thread's events dropped for re-entry into the probes while a
    /// value was being encoded (`events_dropped_reentrant`).
    pub fn add_dropped_reentrant(&self, events: u64) {
        lock(&self.meta).events_dropped_reentrant += events;
    }

    /// Finishes the writer and writes the final metadata. Idempotent: a second
    /// call returns the metadata written by the first.
    pub fn finish(&self, exit_code: Option<i32>, signal: Option<String>, final_status: &str) -> Result<Metadata> {
        // What clearing runs handed over goes first (the writer then writes
        // what is still held). The writer is taken under the outbox's lock,
        // right after the outbox is sent: from then on the outbox keeps
        // nothing (`closed`), a batch for it is dropped and counted, and the
        // worker is told (SESSION_ENDED). Before the review of decision 39 a
        // held batch reaching the outbox after the send stayed there.
        let mut ob = lock(&self.outbox);
        let msgs = std::mem::take(&mut ob.msgs);
        ob.bytes = 0;
        let mut w = lock(&self.writer);
        let (held, lost) = match w.as_ref() {
            Some(_) if msgs.is_empty() => (Ok(()), 0),
            Some(wr) => (wr.send(Msg::Many(msgs)), 0),
            None => (Ok(()), Msg::Many(msgs).events()),
        };
        let writer = w.take();
        drop(w);
        self.closed.store(true, Ordering::SeqCst);
        drop(ob);
        self.note_dropped(lost);
        let result = match writer {
            Some(w) => held.and(w.finish()),
            None => return Ok(lock(&self.meta).clone()),
        };
        let max_step = lock(&self.ticker).take().map(|t| t.max_step_us());
        let mut meta = lock(&self.meta);
        // Under the lock: a batch dropped from now on is counted by the next session.
        meta.events_dropped_before_join += DROPPED_UNCLAIMED.swap(0, Ordering::Relaxed);
        if meta.clock == "published" {
            meta.clock_max_step_us = max_step;
        }
        let end = now_ms();
        meta.end_time = Some(iso8601(end));
        meta.duration_ms = Some(self.start.elapsed().as_secs_f64() * 1000.0);
        meta.exit_code = exit_code;
        meta.signal = signal;
        meta.status = if result.is_ok() { final_status.to_string() } else { status::PARTIAL.to_string() };
        if let Err(e) = &result {
            meta.error.get_or_insert_with(|| serde_json::json!({"code": e.code(), "message": e.to_string()}));
        }
        let c = &self.counters;
        // What is on disk: after a write failure, the events of complete chunks.
        meta.events = c.events_written.load(Ordering::Relaxed);
        meta.trace_bytes = c.file_bytes.load(Ordering::Relaxed);
        meta.raw_bytes = c.raw_bytes.load(Ordering::Relaxed);
        meta.chunks = c.chunks.load(Ordering::Relaxed);
        meta.channel_waits = c.waits.load(Ordering::Relaxed);
        meta.batches_lent = c.lent.load(Ordering::Relaxed);
        meta.writer_busy_ms = c.busy_ns.load(Ordering::Relaxed) as f64 / 1e6;
        meta.files_instrumented = self.files.load(Ordering::Relaxed);
        meta.functions = u64::from(lock(&self.registry).next_fn.saturating_sub(1));
        meta.threads = self.threads.load(Ordering::Relaxed) as u32;
        meta.filter = self.filter.as_ref().map(|f| f.summary());
        let saved = meta.save_in(&self.handle);
        let out = meta.clone();
        drop(meta);
        let mut cur = lock(&CURRENT);
        if cur.as_ref().is_some_and(|s| std::ptr::eq(Arc::as_ptr(s), self)) {
            *cur = None;
        }
        // The writer's error (the cause) comes first; then a metadata failure.
        result.and(saved).map(|()| out)
    }
}
