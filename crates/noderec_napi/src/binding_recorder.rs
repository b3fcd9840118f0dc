//! Recording: session start/finish, module instrumentation, event batches.

use napi::bindgen_prelude::{ArrayBuffer, Int32Array, Uint8Array};
use napi::Env;
use napi_derive::napi;
use noderec_core::instrument::{ModuleKind, RecordAll};
use noderec_core::session::{clock, lifecycle, modules};

use crate::binding_errors::{guard, to_js, JsResult};

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
pub fn start(opts: BindingStartOptions) -> JsResult<String> {
    guard("start", || {
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
        };
        let s = lifecycle::start(&o).map_err(to_js)?;
        Ok(s.dir.display().to_string())
    })
}

/// The trace directory of the running session, if one is running.
#[napi]
pub fn current_dir() -> Option<String> {
    lifecycle::current().map(|s| s.dir.display().to_string())
}

/// A fresh 4-byte ArrayBuffer over this thread's slot of the shared clock
/// (µs since the session started, updated every 100 µs by a native thread).
#[napi]
pub fn clock_buffer(env: &Env) -> JsResult<ArrayBuffer<'_>> {
    let slot = clock::take_slot()
        .ok_or_else(|| crate::binding_errors::coded("ERR_INTERNAL", "no clock slot left"))?;
    // SAFETY: the slot is static memory, never freed, and never handed to a
    // second ArrayBuffer (slots are not reused).
    unsafe { ArrayBuffer::from_external(env, clock::slot_ptr(slot), 4, (), |_, ()| {}) }
        .map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &e.to_string()))
}

/// Instruments a module for the running session. Returns the code to run,
/// or null when the module is to run untouched (no session, or skipped).
/// `cache_salt` identifies the addon build (and later the filter chain) in
/// the instrumentation cache key.
#[napi]
pub fn instrument(source: String, path: String, is_module: bool, cache_salt: String) -> JsResult<Option<String>> {
    guard("instrument", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let kind = if is_module { ModuleKind::Module } else { ModuleKind::CommonJs };
        let use_cache = std::env::var("NODEREC_NO_CACHE").map_or(true, |v| v.is_empty() || v == "0");
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
        modules::load_module(&s, &source, &path, kind, decider, &cache_salt, use_cache).map_err(to_js)
    })
}

/// Instruments a module without a session or cache (for benchmarks and
/// `noderec instrument`): the code as it would run, with a prologue for base 1.
#[napi]
pub fn instrument_source(source: String, path: String, is_module: bool) -> JsResult<String> {
    guard("instrumentSource", || {
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

/// Names a JavaScript thread in the trace.
#[napi]
pub fn register_thread(id: u32, name: String) -> JsResult<()> {
    guard("registerThread", || match lifecycle::current() {
        Some(s) => s.register_thread(id, &name).map_err(to_js),
        None => Ok(()),
    })
}

/// Hands the first `count` events (two i32 words each) and `arena_len` value
/// bytes to the writer. The arrays are copied: JavaScript reuses them at once.
#[napi]
pub fn submit(thread: u32, words: Int32Array, count: u32, arena: Uint8Array, arena_len: u32) -> JsResult<()> {
    guard("submit", || {
        let Some(s) = lifecycle::current() else { return Ok(()) };
        let n = (count as usize * 2).min(words.len());
        let a = (arena_len as usize).min(arena.len());
        s.submit(thread, words[..n].to_vec(), arena[..a].to_vec()).map_err(to_js)
    })
}

/// Waits until every submitted batch is in the file.
#[napi]
pub fn flush() -> JsResult<()> {
    guard("flush", || match lifecycle::current() {
        Some(s) => s.flush().map_err(to_js),
        None => Ok(()),
    })
}

/// Records, in metadata, the error that ended or disabled recording (JSON text).
#[napi]
pub fn set_error(json: String) -> JsResult<()> {
    guard("setError", || {
        if let Some(s) = lifecycle::current() {
            let v = serde_json_value(&json);
            s.set_error(v);
        }
        Ok(())
    })
}

fn serde_json_value(text: &str) -> noderec_core::session::metadata::JsonValue {
    noderec_core::session::metadata::parse_json_lossy(text)
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
pub fn finish(exit_code: Option<i32>, signal: Option<String>, status: String) -> JsResult<Option<BindingFinishSummary>> {
    guard("finish", || {
        let Some(s) = lifecycle::current() else { return Ok(None) };
        let m = s.finish(exit_code, signal, &status).map_err(to_js)?;
        Ok(Some(BindingFinishSummary {
            dir: s.dir.display().to_string(),
            events: m.events as f64,
            bytes: m.trace_bytes as f64,
            duration_ms: m.duration_ms.unwrap_or(0.0),
            status: m.status,
        }))
    })
}
