//! Streaming exports (`noderec export`), run off the JavaScript thread so
//! the CLI can draw progress while they run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;
use noderec_core::export::{self, Format, Options, Progress};

use crate::binding_errors::{catch, coded, guard, to_js, BindResult};
use napi::Result;

/// Options of an export (all optional).
#[napi(object)]
#[derive(Default)]
pub struct ExportOptions {
    /// Only this thread.
    pub thread: Option<u32>,
    /// Only events at or after this time (ns since the session start).
    pub from_ns: Option<f64>,
    /// Only events at or before this time.
    pub to_ns: Option<f64>,
    /// Leave values out.
    pub no_values: Option<bool>,
    /// OTLP: shortest activation exported as a span (ns).
    pub min_duration_ns: Option<f64>,
    /// Only events of the run with this `runId` and of the runs nested in it.
    pub run: Option<String>,
    /// Only events of runs of this domain.
    pub domain: Option<String>,
    /// Only events of runs of this level (compared as text).
    pub level: Option<String>,
    /// Only events of runs of this `sampleId` (compared as text).
    pub sample: Option<String>,
    /// Only events of runs of this `iteration` (compared as text).
    pub iteration: Option<String>,
    /// jsonl: run, span and log lines carry their time at the top level too.
    pub top_time: Option<bool>,
}

fn ns(v: Option<f64>) -> Option<u64> {
    v.filter(|x| x.is_finite()).map(|x| x.max(0.0) as u64)
}

impl From<&ExportOptions> for Options {
    fn from(o: &ExportOptions) -> Self {
        Options {
            thread: o.thread,
            from_ns: ns(o.from_ns),
            to_ns: ns(o.to_ns),
            no_values: o.no_values.unwrap_or(false),
            min_duration_ns: ns(o.min_duration_ns).unwrap_or(0),
            run: o.run.clone(),
            domain: o.domain.clone(),
            level: o.level.clone(),
            sample: o.sample.clone(),
            iteration: o.iteration.clone(),
            top_time: o.top_time.unwrap_or(false),
        }
    }
}

fn jobs() -> &'static Mutex<HashMap<u32, Arc<Progress>>> {
    static JOBS: std::sync::OnceLock<Mutex<HashMap<u32, Arc<Progress>>>> = std::sync::OnceLock::new();
    JOBS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The export running off the main thread.
pub struct ExportTask {
    job: u32,
    dir: PathBuf,
    format: Format,
    out: Option<PathBuf>,
    opts: Options,
    progress: Arc<Progress>,
}

/// What an export did.
#[napi(object)]
pub struct BindingExportSummary {
    /// Events read from the trace.
    pub events: f64,
    /// Events written to the output.
    pub exported: f64,
    /// Why reading stopped before the end of the file, if it did.
    pub damage: Option<String>,
    /// Events whose time or error had to be resolved early (memory bound).
    pub forced: f64,
    /// Runs started in the trace that the run filters select.
    pub runs_matched: f64,
}

fn run(
    dir: &Path,
    format: Format,
    out: Option<&Path>,
    opts: &Options,
    progress: &Progress,
) -> BindResult<BindingExportSummary> {
    let o = export::export_dir(dir, format, out, opts, progress).map_err(to_js)?;
    Ok(BindingExportSummary {
        events: o.events as f64,
        exported: o.exported as f64,
        damage: o.damage,
        forced: o.forced as f64,
        runs_matched: o.runs_matched as f64,
    })
}

impl Task for ExportTask {
    /// The failure is kept as data until `resolve`, where the env can turn
    /// it into a JavaScript error with its code and location.
    type Output = BindResult<BindingExportSummary>;
    type JsValue = BindingExportSummary;

    fn compute(&mut self) -> Result<BindResult<BindingExportSummary>> {
        let (dir, format, out, opts, progress) =
            (&self.dir, self.format, self.out.as_deref(), &self.opts, &self.progress);
        Ok(catch("exportTraceAsync", || run(dir, format, out, opts, progress)))
    }

    fn resolve(&mut self, env: Env, output: BindResult<BindingExportSummary>) -> Result<BindingExportSummary> {
        output.map_err(|f| f.into_napi(&env))
    }

    fn finally(self, _env: Env) -> Result<()> {
        if let Ok(mut j) = jobs().lock() {
            j.remove(&self.job);
        }
        Ok(())
    }
}

fn parse_format(format: &str) -> BindResult<Format> {
    Format::parse(format).ok_or_else(|| {
        coded("ERR_INVALID_ARG", &format!("unknown export format '{format}' (accepted: {})", Format::NAMES.join(", ")))
    })
}

/// Exports the trace directory `dir` in `format` to `out` (standard output
/// when absent) on a worker thread; resolves to what it did (`events`,
/// `exported`, `damage`, `forced`). `job` names it for [`export_progress`].
#[napi(ts_return_type = "Promise<BindingExportSummary>")]
pub fn export_trace_async(
    env: &Env,
    job: u32,
    dir: String,
    format: String,
    out: Option<String>,
    options: Option<ExportOptions>,
) -> Result<AsyncTask<ExportTask>> {
    let format = parse_format(&format).map_err(|f| f.into_napi(env))?;
    let progress = Arc::new(Progress::default());
    if let Ok(mut j) = jobs().lock() {
        j.insert(job, progress.clone());
    }
    let opts = Options::from(&options.unwrap_or_default());
    Ok(AsyncTask::new(ExportTask { job, dir: PathBuf::from(dir), format, out: out.map(PathBuf::from), opts, progress }))
}

/// `[bytes read, trace bytes, events read]` of a running export, or `null`.
#[napi]
pub fn export_progress(job: u32) -> Option<Vec<f64>> {
    let j = jobs().lock().ok()?;
    let p = j.get(&job)?;
    Some(vec![
        p.read.load(Ordering::Relaxed) as f64,
        p.total.load(Ordering::Relaxed) as f64,
        p.events.load(Ordering::Relaxed) as f64,
    ])
}

/// The synchronous form (same summary), for callers without an event loop.
#[napi]
pub fn export_trace_sync(
    env: &Env,
    dir: String,
    format: String,
    out: Option<String>,
    options: Option<ExportOptions>,
) -> Result<BindingExportSummary> {
    guard(env, "exportTraceSync", || {
        let format = parse_format(&format)?;
        let opts = Options::from(&options.unwrap_or_default());
        run(Path::new(&dir), format, out.as_deref().map(Path::new), &opts, &Progress::default())
    })
}
