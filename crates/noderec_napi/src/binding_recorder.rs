//! Recording: session start/finish, module instrumentation, event batches.

use napi::bindgen_prelude::{ArrayBuffer, Int32Array, Object, Uint8Array};
use napi::Env;
use napi_derive::napi;
use noderec_core::instrument::{ModuleKind, RecordAll};
use noderec_core::session::{activation, clock, failure, faults, handover, lifecycle, log, modules};

use crate::binding_errors::{guard, to_js, Failure};
// `Result` by name: the napi macro throws the error only for a return type
// spelled `Result<..>` (an alias such as `JsResult` returns it as a value).
use napi::Result;

/// Counters of the running session, kept after it finishes (for `metrics()`).
static LAST: std::sync::Mutex<Option<std::sync::Arc<noderec_core::trace::writer::WriterCounters>>> =
    std::sync::Mutex::new(None);

/// Reports a failure in the shared slot (seen by the main thread even when
/// it happened in another thread) and hands the error on.
fn reported(point: &str, e: noderec_core::error::Error) -> Failure {
    failure::report(e.code(), &e.to_string(), point);
    to_js(e)
}

/// What the facade knows about the process when recording starts.
#[napi(object)]
pub struct BindingStartOptions {
    /// Directory receiving trace directories.
    pub out_dir: String,
    /// Program name.
    pub program: String,
    /// `process.argv`.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Project root (trace paths are relative to it).
    pub root: String,
    /// `process.version`.
    pub node_version: String,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Run id shared by the processes of one `noderec record`.
    pub run_id: String,
    /// noderec version.
    pub recorder_version: String,
    /// The filter chain (TOML paths, the built-in default first); absent: the built-in default.
    pub filters: Option<Vec<String>>,
    /// Absolute path of the activation file (empty or absent: none).
    pub activation_path: Option<String>,
    /// Instrumentation cache directory (`NODEREC_CACHE_DIR`); absent: the default.
    pub cache_dir: Option<String>,
    /// Do not use the instrumentation cache (`NODEREC_NO_CACHE`).
    pub no_cache: Option<bool>,
    /// A real clock read per event (`NODEREC_CLOCK=precise`).
    pub precise_clock: Option<bool>,
    /// MiB held for clearing runs before the oldest are written
    /// (`NODEREC_CLEAR_HOLD_MB`); absent: 64.
    pub clear_hold_mb: Option<u32>,
}

/// Final figures of a finished recording.
#[napi(object)]
pub struct BindingFinishSummary {
    /// Trace directory.
    pub dir: String,
    /// Events written.
    pub events: f64,
    /// Size of trace.nrt.
    pub bytes: f64,
    /// Wall time recorded, ms.
    pub duration_ms: f64,
    /// Final status.
    pub status: String,
}

/// Starts recording; returns the trace directory.
#[napi]
pub fn start(env: &Env, opts: BindingStartOptions) -> Result<String> {
    guard(env, "start", || {
        let o = lifecycle::StartOptions {
            out_dir: opts.out_dir,
            program: opts.program,
            argv: opts.argv,
            cwd: opts.cwd,
            root: opts.root,
            node_version: opts.node_version,
            pid: opts.pid,
            ppid: opts.ppid,
            run_id: opts.run_id,
            recorder_version: opts.recorder_version,
            filters: opts.filters,
            cache_dir: opts.cache_dir,
            no_cache: opts.no_cache.unwrap_or(false),
            precise_clock: opts.precise_clock.unwrap_or(false),
            clear_hold_bytes: opts.clear_hold_mb.map_or(0, |mb| u64::from(mb.max(1)) << 20),
        };
        activation::set(opts.activation_path.as_deref().unwrap_or(""));
        let s = lifecycle::start(&o).map_err(to_js)?;
        handover::reset_handover();
        *LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::sync::Arc::clone(&s.counters));
        log::log("debug", "noderec_core::session", None, "trace started", serde_json_dir(&s.dir));
        Ok(s.dir.display().to_string())
    })
}

/// Sets the recording scope for the modules loaded from now on: `true` for
/// `project` (packages recorded only at their boundary), `false` for `all`.
#[napi]
pub fn set_scope(project: bool) {
    noderec_core::session::modules::set_project_scope(project);
}

/// The trace directory of the running session, if one is running.
#[napi]
pub fn current_dir() -> Option<String> {
    lifecycle::current().map(|s| s.dir.display().to_string())
}

/// The number of the running session in this process (1, 2, ...), if one is running: what a
/// worker's `handOver` names.
#[napi]
pub fn session_id() -> Option<u32> {
    lifecycle::current().map(|s| s.id)
}

/// A fresh 4-byte ArrayBuffer over this thread's slot of the shared clock
/// (µs since the session started: the time of its last exact read, or the
/// mark; session/clock.rs).
#[napi]
pub fn clock_buffer(env: &Env) -> Result<ArrayBuffer<'_>> {
    let slot = clock::take_slot()
        .ok_or_else(|| crate::binding_errors::coded("ERR_INTERNAL", "no clock slot left").into_napi(env))?;
    // SAFETY: the slot is static memory, never freed, and never handed to a
    // second ArrayBuffer (slots are not reused).
    unsafe { ArrayBuffer::from_external(env, clock::slot_ptr(slot), 4, (), |_, ()| {}) }
        .map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()).into_napi(env))
}

/// The probes' exact read (session/clock.rs, `wake`): the session time now,
/// stored into this thread's clock slot and returned. The probes call it
/// when the slot holds the mark (-1 as an Int32Array reads it: the clock
/// thread's 1 ms tick, or a new slot), and when their count of events since
/// the last exact read runs out; on a mark it also wakes the clock thread.
#[napi]
pub fn clock_wake() -> u32 {
    clock::wake()
}

/// Instruments a module for the running session. Returns the code to run,
/// or null when the module is to run untouched (no session, or skipped).
/// `cache_salt` identifies the addon build (and later the filter chain) in
/// the instrumentation cache key.
#[napi]
pub fn instrument(
    env: &Env,
    source: String,
    path: String,
    is_module: bool,
    cache_salt: String,
) -> Result<Option<String>> {
    guard(env, "instrument", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let kind = if is_module { ModuleKind::Module } else { ModuleKind::CommonJs };
        // The filters decide; the chain's hash is part of the cache key.
        let file_decider = s.filter.as_ref().map(|f| f.file_decider(&path));
        let decider: &dyn noderec_core::instrument::Decider = match &file_decider {
            Some(d) => d,
            None => &RecordAll,
        };
        let cache_salt = match &s.filter {
            Some(f) => format!("{cache_salt}:{}", f.hash()),
            None => cache_salt,
        };
        faults::fail_point("instrument").map_err(|e| reported("instrument", e))?;
        modules::load_module(&s, &source, &path, kind, decider, &cache_salt).map_err(|e| reported("instrument", e))
    })
}

/// `instrument` for code a test runner hands over: a syntax error is only
/// returned (`ERR_INSTRUMENT`), not reported as a recorder failure; the runner
/// then runs the code as it is and reports its own error. Returns the code to run,
/// or null when the module is to run untouched (no session, or skipped).
/// `cache_salt` identifies the addon build (and later the filter chain) in
/// the instrumentation cache key.
#[napi]
pub fn instrument_for_runner(
    env: &Env,
    source: String,
    path: String,
    is_module: bool,
    cache_salt: String,
) -> Result<Option<String>> {
    guard(env, "instrumentForRunner", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let kind = if is_module { ModuleKind::Module } else { ModuleKind::CommonJs };
        // The filters decide; the chain's hash is part of the cache key.
        let file_decider = s.filter.as_ref().map(|f| f.file_decider(&path));
        let decider: &dyn noderec_core::instrument::Decider = match &file_decider {
            Some(d) => d,
            None => &RecordAll,
        };
        let cache_salt = match &s.filter {
            Some(f) => format!("{cache_salt}:{}", f.hash()),
            None => cache_salt,
        };
        faults::fail_point("instrument").map_err(|e| reported("instrument", e))?;
        modules::load_module(&s, &source, &path, kind, decider, &cache_salt).map_err(|e| match e {
            e @ noderec_core::error::Error::Instrument { .. } => to_js(e),
            e => reported("instrument", e),
        })
    })
}

/// Instruments a module without a session or cache (for benchmarks and
/// `noderec instrument`): the code as it would run, with a prologue for base 1.
#[napi]
pub fn instrument_source(env: &Env, source: String, path: String, is_module: bool) -> Result<String> {
    guard(env, "instrumentSource", || {
        let kind = if is_module { ModuleKind::Module } else { ModuleKind::CommonJs };
        let out = noderec_core::instrument::instrument(&source, &path, kind, &RecordAll).map_err(to_js)?;
        if out.functions.is_empty() {
            return Ok(out.code);
        }
        let mut code = out.code;
        let at = out.prologue_at.min(code.len());
        code.insert_str(at, &noderec_core::instrument::prologue(1));
        Ok(code)
    })
}

/// The original text of an instrumented function, class or method, given the
/// text `Function.prototype.toString` returns for it; null when the text holds
/// no probe (or does not parse).
#[napi]
pub fn original_source(env: &Env, text: String) -> Result<Option<String>> {
    guard(env, "originalSource", || Ok(noderec_core::instrument::original_source(&text)))
}

/// An instrumented file's source and its insertions (see `fatalSourceInfo`).
#[napi(object)]
pub struct BindingEditMap {
    /// The file's source, as instrumented.
    pub source: String,
    /// Per 0-based line: `[generated UTF-16 column, UTF-16 length]` of each insertion.
    #[napi(ts_type = "Record<string, Array<[number, number]>>")]
    pub lines: std::collections::HashMap<String, Vec<Vec<u32>>>,
}

/// For an instrumented file of this process: its source, if the file still holds
/// the text that was instrumented, and the insertions per 0-based line; null
/// otherwise. Used to print an uncaught error's source line as the program wrote it.
#[napi]
pub fn fatal_source_info(env: &Env, path: String) -> Result<Option<BindingEditMap>> {
    guard(env, "fatalSourceInfo", || {
        Ok(modules::edit_map(&path).map(|m| BindingEditMap {
            source: m.source,
            lines: m
                .lines
                .into_iter()
                .map(|(l, v)| (l.to_string(), v.into_iter().map(|(c, n)| vec![c, n]).collect()))
                .collect(),
        }))
    })
}

/// The coverage map text kept for an instrumented file of this process
/// (`storeCoverageMap`), when the file on disk is still the text that was
/// instrumented and the cache holds one for the same insertions and `salt`.
#[napi]
pub fn cached_coverage_map(env: &Env, path: String, salt: String) -> Result<Option<String>> {
    guard(env, "cachedCoverageMap", || {
        Ok(lifecycle::current().and_then(|s| modules::cached_coverage_map(&s, &path, &salt)))
    })
}

/// Keeps a coverage map's text for an instrumented file in the instrumentation cache.
#[napi]
pub fn store_coverage_map(env: &Env, path: String, salt: String, text: String) -> Result<()> {
    guard(env, "storeCoverageMap", || {
        if let Some(s) = lifecycle::current() {
            modules::store_coverage_map(&s, &path, &salt, &text);
        }
        Ok(())
    })
}

/// The file (absolute path) that defines function `id`, if it was loaded.
#[napi]
pub fn function_path(env: &Env, id: u32) -> Result<Option<String>> {
    guard(env, "functionPath", || Ok(lifecycle::function_path(id)))
}

/// Names a JavaScript thread in the trace.
#[napi]
pub fn register_thread(env: &Env, id: u32, name: String) -> Result<()> {
    guard(env, "registerThread", || match lifecycle::current() {
        Some(s) => s.register_thread(id, &name).map_err(to_js),
        None => Ok(()),
    })
}

/// A new buffer pair for the probes of `thread` (design-docs/trace-format.md, *Hand-off*):
/// `{ index, words, arena }`, `words` an ArrayBuffer of `words_len` i32 and `arena` one of
/// `arena_len` bytes, both over native memory that `handOver` passes to the writer without a copy.
/// Null when no session runs, the thread has its most pairs, or the runtime does not allow
/// ArrayBuffers over native memory.
#[napi]
pub fn lend_buffers(env: &Env, thread: u32, words_len: u32, arena_len: u32) -> Result<Option<Object<'_>>> {
    guard(env, "lendBuffers", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let Some((pool, index, slot)) = s.lend_buffers(thread, words_len as usize, arena_len as usize) else {
            return Ok(None);
        };
        let (wp, wn) = slot.words_ptr();
        let (ap, an) = slot.arena_ptr();
        let keep = |env: &Env, p: *mut u8, n: usize| {
            let hint = std::sync::Arc::clone(&pool);
            // SAFETY: the memory is the pair's, freed only when the pool is dropped, and the
            // finalizer keeps the pool (so the memory) alive while the ArrayBuffer lives. Each
            // pair's memory is given to one ArrayBuffer only.
            unsafe { ArrayBuffer::from_external(env, p, n, hint, |_, h| drop(h)) }
        };
        let words =
            keep(env, wp.cast(), wn * 4).map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()))?;
        let arena = keep(env, ap, an).map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()))?;
        // Where external buffers are not allowed, napi-rs copies the memory: such a buffer is no
        // pair (JavaScript's writes would not reach it), so the probes keep their own buffers.
        if !std::ptr::eq(words.as_ptr(), wp.cast::<u8>()) || !std::ptr::eq(arena.as_ptr(), ap) {
            return Ok(None);
        }
        let mut o = Object::new(env).map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()))?;
        let set = |o: &mut Object<'_>, k: &str, v: ArrayBuffer<'_>| {
            o.set(k, v).map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()))
        };
        o.set("index", index as u32).map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()))?;
        set(&mut o, "words", words)?;
        set(&mut o, "arena", arena)?;
        Ok(Some(o))
    })
}

/// Hands the first `count` events (three i32 words each: head, time, arena end) and `arena_len` value
/// bytes to the writer. When `words` and `arena` are pair `index` of the thread's buffers
/// (`lendBuffers`) and no clearing run holds the batch, the pair itself goes, without a copy;
/// otherwise they are copied. While a clearing run is open on the thread, `hold` names the run that
/// decides the batch's fate, `run` the run whose events it holds and `lead` how many events at its
/// front are always written (design-docs/runs.md *Clear*). Returns the pair the probes write into next: `index`
/// again when the batch was copied, another free pair, or -1 (none is free: lend one, or use
/// buffers of their own). Waits only when all of the thread's pairs are with the writer.
/// `session` (a worker's): the session the thread joined (`sessionId`); when that session has
/// finished (an API `stop()`, maybe a `start()` since), the batch is dropped and this returns -2.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn hand_over(
    env: &Env,
    thread: u32,
    index: i32,
    words: Int32Array,
    count: u32,
    arena: Uint8Array,
    arena_len: u32,
    hold: Option<u32>,
    lead: Option<u32>,
    run: Option<u32>,
    session: Option<u32>,
) -> Result<i32> {
    guard(env, "handOver", || {
        // A worker's batch for a session that is not the running one: its
        // session's metadata is written, so the next session to finish
        // counts the events (metadata events_dropped_before_join).
        let events = u64::from(count).min((words.len() / 3) as u64);
        let Some(s) = lifecycle::current() else {
            if session.is_none() {
                return Ok(index);
            }
            lifecycle::note_dropped_unclaimed(events);
            return Ok(lifecycle::SESSION_ENDED);
        };
        if session.is_some_and(|id| id != s.id) {
            lifecycle::note_dropped_unclaimed(events);
            return Ok(lifecycle::SESSION_ENDED);
        }
        faults::fail_point("panic").map_err(to_js)?;
        faults::fail_point("write").map_err(|e| reported("write", e))?;
        let t0 = std::time::Instant::now();
        let n = (count as usize * 3).min(words.len());
        let a = (arena_len as usize).min(arena.len());
        let r = s
            .hand_over(
                thread,
                index,
                words.as_ptr(),
                n / 3,
                arena.as_ptr(),
                a,
                hold.unwrap_or(0),
                run.unwrap_or(0),
                lead.unwrap_or(0),
                || (words[..n].to_vec(), arena[..a].to_vec()),
            )
            .map_err(|e| reported("write", e));
        handover::note_handover(t0.elapsed().as_micros() as u64);
        r
    })
}

/// The clearing runs `runs` (numbers of `thread`) ended: their held events are written (`keep`: the
/// run failed) or dropped.
#[napi]
pub fn settle_runs(env: &Env, thread: u32, runs: Vec<u32>, keep: bool) -> Result<()> {
    guard(env, "settleRuns", || match lifecycle::current() {
        Some(s) => s.settle_runs(thread, runs, keep).map_err(|e| reported("write", e)),
        None => Ok(()),
    })
}

/// Hands what clearing runs handed over to the writer now (the recorder's periodic tick: a quiet
/// program's runs reach the file as its other events do).
#[napi]
pub fn send_held(env: &Env) -> Result<()> {
    guard(env, "sendHeld", || match lifecycle::current() {
        Some(s) => s.send_held().map_err(|e| reported("write", e)),
        None => Ok(()),
    })
}

/// Waits until every submitted batch is in the file.
#[napi]
pub fn flush(env: &Env) -> Result<()> {
    guard(env, "flush", || match lifecycle::current() {
        Some(s) => {
            faults::fail_point("flush").map_err(|e| reported("flush", e))?;
            s.flush().map_err(|e| reported("flush", e))
        }
        None => Ok(()),
    })
}

/// A recorder failure as `metadata.json` keeps it (`error`).
#[napi(object)]
pub struct BindingRecorderError {
    /// Stable `ERR_*` code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Where it happened: instrument, write, flush, finish, panic, start, policy, require_trace.
    pub point: String,
}

impl BindingRecorderError {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code, "message": self.message, "point": self.point })
    }
}

/// Records, in metadata, the error that ended or disabled recording.
#[napi]
pub fn set_error(env: &Env, error: BindingRecorderError) -> Result<()> {
    guard(env, "setError", || {
        if let Some(s) = lifecycle::current() {
            s.set_error(error.to_json());
        }
        Ok(())
    })
}

/// Adds a thread's events not recorded because its probes were entered while
/// a value was being encoded (metadata `events_dropped_reentrant`).
#[napi]
pub fn dropped_reentrant(events: f64) {
    if let Some(s) = lifecycle::current() {
        if events.is_finite() && events > 0.0 {
            s.add_dropped_reentrant(events as u64);
        }
    }
}

/// Marks the trace as cut at the event limit.
#[napi]
pub fn set_truncated() {
    if let Some(s) = lifecycle::current() {
        s.set_truncated();
    }
}

/// Finishes the writer and writes the final metadata.
#[napi]
pub fn finish(
    env: &Env,
    exit_code: Option<i32>,
    signal: Option<String>,
    status: String,
) -> Result<Option<BindingFinishSummary>> {
    guard(env, "finish", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        if let Err(e) = faults::fail_point("finish") {
            // The writer still finishes and the metadata says what happened.
            s.set_error(serde_json::json!({"code": e.code(), "message": e.to_string(), "point": "finish"}));
            let _ = s.finish(exit_code, signal, noderec_core::session::metadata::status::PARTIAL);
            return Err(to_js(e));
        }
        let m = s.finish(exit_code, signal, &status).map_err(to_js)?;
        log::log("debug", "noderec_core::session", None, "trace finished", serde_json_dir(&s.dir));
        Ok(Some(BindingFinishSummary {
            dir: s.dir.display().to_string(),
            events: m.events as f64,
            bytes: m.trace_bytes as f64,
            duration_ms: m.duration_ms.unwrap_or(0.0),
            status: m.status,
        }))
    })
}

fn serde_json_dir(dir: &std::path::Path) -> serde_json::Value {
    serde_json::json!({ "dir": dir.display().to_string() })
}

/// Counters of the running (or last) session.
#[napi(object)]
pub struct BindingMetrics {
    /// Events written to the trace.
    pub events: f64,
    /// Uncompressed event payload bytes.
    pub raw_bytes: f64,
    /// Bytes of trace.nrt (compressed).
    pub file_bytes: f64,
    /// Chunks written.
    pub chunks: f64,
    /// Buffers handed from JavaScript to the writer.
    pub buffers: f64,
    /// Times a buffer waited on a full writer channel.
    pub channel_waits: f64,
    /// Time the writer thread spent on batches, ms.
    pub writer_busy_ms: f64,
    /// Handovers measured (buffers flushed from JavaScript to the writer).
    pub flushes: f64,
    /// Median handover time, µs (upper bound of a log2 bucket).
    pub flush_p50_us: f64,
    /// 99th percentile handover time, µs (upper bound of a log2 bucket).
    pub flush_p99_us: f64,
    /// Rust panics caught in this process.
    pub panics: f64,
    /// Rust log records dropped because the queue was full.
    pub logs_dropped: f64,
    /// Staleness bounds of the clock: intervals between two exact clock reads
    /// of a thread, cut at the tick that marked over it (µs, log2 bucket
    /// upper bounds; session/clock.rs).
    pub clock_steps: f64,
    /// Median step.
    pub clock_step_p50_us: f64,
    /// 90th percentile step.
    pub clock_step_p90_us: f64,
    /// 99th percentile step.
    pub clock_step_p99_us: f64,
}

/// Microseconds since the current session started, read now
/// (`NODEREC_CLOCK=precise` aligns its per-event clock with it).
#[napi]
pub fn session_now_us() -> f64 {
    clock::session_now_us()
}

/// The native counters (all zero before the first session).
#[napi]
pub fn metrics() -> BindingMetrics {
    use std::sync::atomic::Ordering::Relaxed;
    let c = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let (n, p50, p99) = handover::handover_quantiles();
    let steps = clock::step_quantiles();
    let get = |f: fn(&noderec_core::trace::writer::WriterCounters) -> u64| c.as_ref().map_or(0.0, |c| f(c) as f64);
    BindingMetrics {
        events: get(|c| c.events.load(Relaxed)),
        raw_bytes: get(|c| c.raw_bytes.load(Relaxed)),
        file_bytes: get(|c| c.file_bytes.load(Relaxed)),
        chunks: get(|c| c.chunks.load(Relaxed)),
        buffers: get(|c| c.batches.load(Relaxed)),
        channel_waits: get(|c| c.waits.load(Relaxed)),
        writer_busy_ms: get(|c| c.busy_ns.load(Relaxed)) / 1e6,
        flushes: n as f64,
        flush_p50_us: p50 as f64,
        flush_p99_us: p99 as f64,
        panics: log::panics() as f64,
        logs_dropped: log::logs_dropped() as f64,
        clock_steps: steps.0 as f64,
        clock_step_p50_us: steps.1 as f64,
        clock_step_p90_us: steps.2 as f64,
        clock_step_p99_us: steps.3 as f64,
    }
}

/// A failure reported by any thread since the last call.
#[napi(object)]
pub struct BindingFailure {
    /// Stable code.
    pub code: String,
    /// Message.
    pub message: String,
    /// instrument | write | flush | finish | panic.
    pub point: String,
}

/// Takes the failure reported (from any thread) since the last call.
#[napi]
pub fn take_failure() -> Option<BindingFailure> {
    failure::take().map(|f| BindingFailure { code: f.code, message: f.message, point: f.point })
}

/// Rewrites a finished trace's status and error (the `require_trace` check
/// runs after the final metadata is written).
#[napi]
pub fn update_metadata(env: &Env, dir: String, status: String, error: Option<BindingRecorderError>) -> Result<()> {
    guard(env, "updateMetadata", || {
        let p = std::path::Path::new(&dir);
        let mut m = noderec_core::session::metadata::Metadata::load(p).map_err(to_js)?;
        m.status = status;
        if let Some(e) = error {
            m.error = Some(e.to_json());
        }
        m.save(p).map_err(to_js)
    })
}

/// The test runner the main thread's process belongs to (set by the main
/// thread, read by worker threads, whose entry script is not visible to the
/// preload).
static RUNNER: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Sets the test runner of this process (empty: none).
#[napi]
pub fn set_runner_kind(kind: String) {
    *RUNNER.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = kind;
}

/// The test runner of this process, as set by the main thread (empty: none).
#[napi]
pub fn runner_kind() -> String {
    RUNNER.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
}

/// `instrumentForRunner` for code that another process runs (a vite plugin:
/// vite transforms in the main process, workers run the code). The function
/// table travels in the code; the running process registers it (`linkPortable`).
#[napi]
pub fn instrument_portable(
    env: &Env,
    source: String,
    path: String,
    is_module: bool,
    cache_salt: String,
) -> Result<Option<String>> {
    guard(env, "instrumentPortable", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let kind = if is_module { ModuleKind::Module } else { ModuleKind::CommonJs };
        let file_decider = s.filter.as_ref().map(|f| f.file_decider(&path));
        let decider: &dyn noderec_core::instrument::Decider = match &file_decider {
            Some(d) => d,
            None => &RecordAll,
        };
        let cache_salt = match &s.filter {
            Some(f) => format!("{cache_salt}:{}", f.hash()),
            None => cache_salt,
        };
        modules::load_module_portable(&s, &source, &path, kind, decider, &cache_salt).map_err(|e| match e {
            e @ noderec_core::error::Error::Instrument { .. } => to_js(e),
            e => reported("instrument", e),
        })
    })
}

/// A function table registered by `linkPortable`.
#[napi(object)]
pub struct BindingLinked {
    /// Base id of the table.
    pub base: u32,
    /// The `attr:` rule spec for the probes' `fa` (`"first,len"` or `"[ids]"`), if any.
    pub attr: Option<String>,
}

/// Registers the function table carried by code from `instrumentPortable` in
/// this process's session. Null when this process is not recording.
#[napi]
pub fn link_portable(env: &Env, table: String) -> Result<Option<BindingLinked>> {
    guard(env, "linkPortable", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let (base, attr) = modules::link_portable(&s, &table).map_err(|e| reported("instrument", e))?;
        Ok(Some(BindingLinked { base, attr }))
    })
}

/// Creates `<parent>/<name>/` (mode 0700) for `noderec record`'s run
/// directory, after checking `parent` as the out dir is checked (created
/// 0700 when missing; `ERR_UNSAFE_OUT_DIR` when another user owns it or
/// others may write to it without the sticky bit). Returns its path.
#[napi]
pub fn create_run_dir(env: &Env, parent: String, name: String) -> Result<String> {
    guard(env, "createRunDir", || {
        let p = std::path::Path::new(&parent);
        let out = noderec_core::session::filesystem::DirHandle::open_out_dir(p).map_err(to_js)?;
        let d = out.create_dir(&name).map_err(|e| {
            to_js(noderec_core::error::Error::TraceDirCreate { path: p.join(&name).display().to_string(), source: e })
        })?;
        Ok(d.path().display().to_string())
    })
}
