//! The query layer for JavaScript: an opened (or growing) trace index and
//! its queries, with typed results.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use napi::Env;
use napi_derive::napi;
use noderec_core::query::build::{open_or_build, pid_alive, IndexBuilder};
use noderec_core::query::index::index_dir_of;
use noderec_core::query::{queries, Index};
use serde_json::Value;

use crate::binding_errors::{coded, guard, to_js};
// `Result` by name: the napi macro throws only for a return type spelled `Result<..>`.
use napi::Result;

/// A thread of a trace.
#[napi(object)]
pub struct BindingThread {
    /// Thread id (0 = main).
    pub id: u32,
    /// Name.
    pub name: String,
    /// Activations.
    pub activations: f64,
    /// Deepest stack.
    pub max_depth: u32,
    /// First event (ns since the session started).
    pub first_ns: f64,
    /// Last event (ns).
    pub last_ns: f64,
}

/// A function with its statistics.
#[napi(object)]
pub struct BindingFnStats {
    /// Function id.
    pub id: u32,
    /// Qualified name.
    pub name: String,
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Calls.
    pub calls: f64,
    /// Inclusive on-stack time, ns (a recursive function's outermost activations only).
    pub incl_ns: f64,
    /// Self time, ns.
    pub self_ns: f64,
    /// Activations left by an exception.
    pub throws: f64,
}

/// What the index holds about a trace.
#[napi(object)]
pub struct BindingIndexInfo {
    /// Events read.
    pub events: f64,
    /// Chunks read.
    pub chunks: f64,
    /// The index is final (the trace ended, was cut, or is no longer written).
    pub complete: bool,
    /// The trace's END record was read (a clean finish).
    pub ended: bool,
    /// Why the reader stopped before the end of the file.
    pub damage: Option<String>,
    /// Events per kind.
    pub counts: HashMap<String, f64>,
    /// Output bytes per stream.
    pub output_bytes: HashMap<String, f64>,
    /// Threads.
    pub threads: Vec<BindingThread>,
    /// Functions by self time (top 20).
    pub top_self: Vec<BindingFnStats>,
    /// Functions by inclusive time (top 20).
    pub top_inclusive: Vec<BindingFnStats>,
    /// Throws in all.
    pub throws: f64,
}

/// Values recorded for one activation (JSON form of design-docs/values.md).
#[napi(object)]
pub struct BindingCallValues {
    /// `this`.
    pub this: Option<Value>,
    /// Arguments.
    pub args: Option<Vec<Value>>,
    /// Return value.
    pub value: Option<Value>,
    /// The error that left it.
    pub error: Option<Value>,
}

/// One activation.
#[napi(object)]
pub struct BindingActivation {
    /// Thread.
    pub thread: u32,
    /// Activation number (per thread, from 1).
    pub activation: u32,
    /// Caller's activation (0 = called from the event loop).
    pub parent: u32,
    /// Stack depth.
    pub depth: u32,
    /// Function id.
    pub fn_id: u32,
    /// Function name.
    pub name: String,
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Start (ns since the session started).
    pub start_ns: f64,
    /// Duration (ns; to the last time seen for one still running).
    pub dur_ns: f64,
    /// Returned or threw.
    pub finished: bool,
    /// Left by an exception.
    pub threw: bool,
    /// Suspended at least once (await/yield).
    pub suspended: bool,
    /// The `runId` of the run it was called in (`noderec.run`).
    pub run: Option<String>,
    /// Values, when asked for.
    pub values: Option<BindingCallValues>,
}

/// A page of activations.
#[napi(object)]
pub struct BindingTimelinePage {
    /// Activations.
    pub rows: Vec<BindingActivation>,
    /// Pass back for the next page; absent after the last.
    pub cursor: Option<String>,
}

/// What `timeline` selects.
#[napi(object)]
pub struct BindingTimelineQuery {
    /// Only this thread.
    pub thread: Option<u32>,
    /// Start at or after (ns).
    pub from: Option<f64>,
    /// Start at or before (ns).
    pub to: Option<f64>,
    /// Function name glob.
    pub r#fn: Option<String>,
    /// File glob.
    pub file: Option<String>,
    /// Function kind (`function`, `method`, `arrow`, ...).
    pub kind: Option<String>,
    /// `finished`, `threw` or `running`.
    pub status: Option<String>,
    /// Minimum duration (ns).
    pub min_duration: Option<f64>,
    /// Rows per page (default 100).
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Include values (default true).
    pub values: Option<bool>,
    /// Only activations called in the run with this `runId` or one nested in it.
    pub run: Option<String>,
    /// Only activations called in runs of this domain.
    pub domain: Option<String>,
    /// Only activations called in runs of this level (as text).
    pub level: Option<String>,
    /// Only activations called in runs with this `sampleId` (as text).
    pub sample: Option<String>,
    /// Only activations called in runs with this `iteration` (as text).
    pub iteration: Option<String>,
}

/// Selects runs (`noderec.run`); every given field must match.
#[napi(object)]
#[derive(Default)]
pub struct BindingRunFilter {
    /// The run with this `runId`, or one nested in it.
    pub run: Option<String>,
    /// Runs of this domain.
    pub domain: Option<String>,
    /// Runs of this level (as text).
    pub level: Option<String>,
    /// Runs with this `sampleId` (as text).
    pub sample: Option<String>,
    /// Runs with this `iteration` (as text).
    pub iteration: Option<String>,
}

fn run_filter(f: Option<BindingRunFilter>) -> queries::RunFilter {
    let f = f.unwrap_or_default();
    queries::RunFilter { run: f.run, domain: f.domain, level: f.level, sample: f.sample, iteration: f.iteration }
}

/// A user span (`span()`, `startSpan()`, the http bridges).
#[napi(object)]
pub struct BindingSpan {
    /// Thread.
    pub thread: u32,
    /// Name.
    pub name: String,
    /// Start (ns).
    pub start_ns: f64,
    /// End (ns; the last time seen on its thread while not ended).
    pub end_ns: f64,
    /// ok, error or unfinished.
    #[napi(ts_type = "'ok' | 'error' | 'unfinished'")]
    pub status: String,
    /// Ended (its end is in the trace).
    pub ended: bool,
    /// The `runId` of the run it started in.
    pub run: Option<String>,
}

/// A run (`noderec.run`) of the trace, from the index.
#[napi(object)]
pub struct BindingIndexRun {
    /// Its `runId`.
    pub run_id: String,
    /// Domain (inherited from the run it is nested in when not given).
    pub domain: Option<String>,
    /// Level, as text (inherited like the domain).
    pub level: Option<String>,
    /// `sampleId` as text.
    pub sample_id: Option<String>,
    /// `iteration` as text.
    pub iteration: Option<String>,
    /// `parentRunId` as given, else the run it is nested in.
    pub parent_run_id: Option<String>,
    /// The thread it started on.
    pub thread: u32,
    /// Start (ns).
    pub start_ns: f64,
    /// End (ns; its start while not ended).
    pub end_ns: f64,
    /// Its end is in the trace.
    pub ended: bool,
    /// Events recorded in it (marks and nested runs' events not counted).
    pub events: f64,
    /// Activations called in it.
    pub activations: f64,
    /// Events it cleared (`clear`; not in the trace).
    pub cleared: f64,
    /// Why a clearing run was written in full: `failed`, `hold-cap`, `unended`.
    pub kept: Option<String>,
}

/// A flame chart rectangle.
#[napi(object)]
pub struct BindingFlameRect {
    /// Activation (the first of a cluster).
    pub activation: u32,
    /// Row.
    pub depth: u32,
    /// Function id.
    pub fn_id: u32,
    /// Start (ns).
    pub start_ns: f64,
    /// End (ns).
    pub end_ns: f64,
    /// Activations merged (1 = one).
    pub count: u32,
    /// Left by an exception.
    pub threw: bool,
}

/// Output recorded during a call.
#[napi(object)]
pub struct BindingOutput {
    /// stdin, stdout or stderr.
    pub stream: String,
    /// Text.
    pub text: String,
}

/// One activation with its values and output.
#[napi(object)]
pub struct BindingCallDetail {
    /// The activation.
    pub activation: BindingActivation,
    /// Parameter names of its function.
    pub params: Vec<String>,
    /// Function column (0-based).
    pub col: u32,
    /// Output during the call.
    pub output: Vec<BindingOutput>,
}

/// One change between two values.
#[napi(object)]
pub struct BindingChange {
    /// Dotted path.
    pub path: String,
    /// added, removed or changed.
    #[napi(ts_type = "'added' | 'removed' | 'changed'")]
    pub op: String,
    /// Before.
    pub before: Option<Value>,
    /// After.
    pub after: Option<Value>,
}

/// One call in a value history.
#[napi(object)]
pub struct BindingHistoryEntry {
    /// Thread.
    pub thread: u32,
    /// Activation.
    pub activation: u32,
    /// Start (ns).
    pub start_ns: f64,
    /// The value (absent when the call did not have it).
    pub value: Option<Value>,
    /// Changes from the previous call's value.
    pub changes: Vec<BindingChange>,
}

/// A function that differs between two traces.
#[napi(object)]
pub struct BindingCompareRow {
    /// Name.
    pub name: String,
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Calls in A, B.
    pub calls: Vec<f64>,
    /// Inclusive ns in A, B.
    pub incl_ns: Vec<f64>,
    /// Throws in A, B.
    pub throws: Vec<f64>,
    /// What differs: calls, duration, returns, errors, only-a, only-b.
    pub differs: Vec<String>,
}

/// The index of one trace directory, built on first use and stored in
/// `<trace>/index/`. For a trace still being recorded it grows with
/// `refresh()`.
#[napi]
pub struct TraceIndex {
    ix: Index,
    live: Option<IndexBuilder>,
    dir: PathBuf,
}

fn fn_stats(f: queries::FnRow) -> BindingFnStats {
    BindingFnStats {
        id: f.id,
        name: f.name,
        path: f.path,
        line: f.line,
        calls: f.calls as f64,
        incl_ns: f.incl_ns as f64,
        self_ns: f.self_ns as f64,
        throws: f.throws as f64,
    }
}

fn values(v: queries::CallValues) -> BindingCallValues {
    BindingCallValues { this: v.this, args: v.args, value: v.value, error: v.error }
}

fn act(r: queries::ActRow) -> BindingActivation {
    BindingActivation {
        thread: r.thread,
        activation: r.act,
        parent: r.parent,
        depth: r.depth,
        fn_id: r.fn_id,
        name: r.name,
        path: r.path,
        line: r.line,
        start_ns: r.start_ns as f64,
        dur_ns: r.dur_ns as f64,
        finished: r.finished,
        threw: r.threw,
        suspended: r.suspended,
        run: r.run,
        values: r.values.map(values),
    }
}

fn ns(v: Option<f64>) -> Option<u64> {
    v.filter(|x| x.is_finite() && *x >= 0.0).map(|x| x as u64)
}

fn recording(dir: &Path) -> bool {
    noderec_core::session::metadata::Metadata::load(dir).is_ok_and(|m| m.status == "recording" && pid_alive(m.pid))
}

#[napi]
impl TraceIndex {
    /// Opens the index of a trace directory, building it when needed. With
    /// `live` and a trace still being recorded, keeps a builder that
    /// `refresh()` advances as chunks land.
    #[napi(factory)]
    pub fn open(env: &Env, dir: String, live: Option<bool>) -> Result<TraceIndex> {
        guard(env, "TraceIndex.open", || {
            let d = PathBuf::from(&dir);
            noderec_core::query::build::remove_stale_live_indexes(&d);
            if live.unwrap_or(false) && recording(&d) {
                let out = d.join(format!(
                    "index.live-{}-{}",
                    std::process::id(),
                    noderec_core::session::filesystem::now_ms()
                ));
                let mut b = IndexBuilder::new(&d, &out).map_err(to_js)?.provisional();
                b.advance().map_err(to_js)?;
                let ix = Index::open(&d, &out).map_err(to_js)?;
                return Ok(TraceIndex { ix, live: Some(b), dir: d });
            }
            let ix = open_or_build(&d).map_err(to_js)?;
            Ok(TraceIndex { ix, live: None, dir: d })
        })
    }

    /// Reads what was added to a trace being recorded. Returns the number of
    /// new events; once the recording ends the index becomes final.
    #[napi]
    pub fn refresh(&mut self, env: &Env) -> Result<f64> {
        guard(env, "TraceIndex.refresh", || {
            let Some(mut b) = self.live.take() else { return Ok(0.0) };
            let n = b.advance().map_err(to_js)?;
            if b.at_end() || !recording(&self.dir) {
                // The recording ended: the final index is built afresh (exact times).
                let _ = std::fs::remove_dir_all(b.out_dir());
                drop(b);
                self.ix = open_or_build(&self.dir).map_err(to_js)?;
                return Ok(n as f64);
            }
            self.ix = Index::open(&self.dir, b.out_dir()).map_err(to_js)?;
            self.live = Some(b);
            Ok(n as f64)
        })
    }

    /// True while the index follows a trace being recorded.
    #[napi(getter)]
    pub fn live(&self) -> bool {
        self.live.is_some()
    }

    /// Where the final index lives.
    #[napi(getter)]
    pub fn index_dir(&self) -> String {
        index_dir_of(&self.dir).display().to_string()
    }

    /// Counts, threads, top functions.
    #[napi]
    pub fn info(&self) -> BindingIndexInfo {
        let m = &self.ix.meta;
        BindingIndexInfo {
            events: m.events as f64,
            chunks: m.chunks as f64,
            complete: m.complete && self.live.is_none(),
            ended: m.ended,
            damage: m.damage.clone(),
            counts: m.counts.iter().map(|(k, v)| (k.clone(), *v as f64)).collect(),
            output_bytes: m.output_bytes.iter().map(|(k, v)| (k.clone(), *v as f64)).collect(),
            threads: m
                .threads
                .iter()
                .map(|t| BindingThread {
                    id: t.id,
                    name: t.name.clone(),
                    activations: t.acts as f64,
                    max_depth: t.max_depth,
                    first_ns: t.first_ns as f64,
                    last_ns: t.last_ns as f64,
                })
                .collect(),
            top_self: queries::top_functions(&self.ix, 20, true).into_iter().map(fn_stats).collect(),
            top_inclusive: queries::top_functions(&self.ix, 20, false).into_iter().map(fn_stats).collect(),
            throws: m.stats.iter().map(|s| s.throws).sum::<u64>() as f64,
        }
    }

    /// Pages of activations.
    #[napi]
    pub fn timeline(&mut self, env: &Env, q: BindingTimelineQuery) -> Result<BindingTimelinePage> {
        guard(env, "timeline", || {
            let tq = queries::TimelineQuery {
                thread: q.thread,
                from_ns: ns(q.from),
                to_ns: ns(q.to),
                fn_glob: q.r#fn,
                file_glob: q.file,
                fn_kind: q.kind,
                status: q.status,
                min_dur_ns: ns(q.min_duration).unwrap_or(0),
                limit: q.limit.unwrap_or(100) as usize,
                cursor: q.cursor,
                values: q.values.unwrap_or(true),
                runs: queries::RunFilter {
                    run: q.run,
                    domain: q.domain,
                    level: q.level,
                    sample: q.sample,
                    iteration: q.iteration,
                },
            };
            let page = queries::timeline(&mut self.ix, &tq).map_err(|m| coded("ERR_USAGE", &m))?;
            Ok(BindingTimelinePage { rows: page.rows.into_iter().map(act).collect(), cursor: page.cursor })
        })
    }

    /// The slowest finished activations, slowest first.
    #[napi]
    pub fn slowest(&mut self, limit: Option<u32>) -> Vec<BindingActivation> {
        let list: Vec<_> = self.ix.meta.slowest.iter().take(limit.unwrap_or(50) as usize).copied().collect();
        list.into_iter()
            .filter_map(|s| {
                let a = self.ix.act(s.thread, u64::from(s.act))?;
                Some(act(queries::act_row(&mut self.ix, s.thread, u64::from(s.act), &a, false)))
            })
            .collect()
    }

    /// Children of an activation (`activation` 0: those called from the
    /// event loop), after child activation number `after`, at most `limit`.
    #[napi]
    pub fn children(
        &mut self,
        thread: u32,
        activation: u32,
        limit: Option<u32>,
        after: Option<u32>,
        runs: Option<BindingRunFilter>,
    ) -> Vec<BindingActivation> {
        queries::children(
            &mut self.ix,
            thread,
            u64::from(activation),
            limit.unwrap_or(200) as usize,
            u64::from(after.unwrap_or(0)),
            &run_filter(runs),
        )
        .into_iter()
        .map(act)
        .collect()
    }

    /// Flame chart rectangles for `thread` between `from` and `to` (ns) at `px` pixels.
    #[napi]
    pub fn flame(&self, thread: u32, from: f64, to: f64, px: u32, max_rects: Option<u32>) -> Vec<BindingFlameRect> {
        queries::flame(
            &self.ix,
            thread,
            ns(Some(from)).unwrap_or(0),
            ns(Some(to)).unwrap_or(0),
            px,
            max_rects.unwrap_or(50_000) as usize,
        )
        .into_iter()
        .map(|r| BindingFlameRect {
            activation: r.act,
            depth: r.depth,
            fn_id: r.fn_id,
            start_ns: r.start_ns as f64,
            end_ns: r.end_ns as f64,
            count: r.count,
            threw: r.threw,
        })
        .collect()
    }

    /// Names of function ids (for drawing).
    #[napi]
    pub fn functions(&self) -> HashMap<String, String> {
        self.ix.meta.funcs.iter().map(|f| (f.id.to_string(), f.name.clone())).collect()
    }

    /// One activation with values, parameter names and the output printed
    /// during it (at most `max_output` bytes, default 64 KiB).
    #[napi]
    pub fn call(&mut self, thread: u32, activation: u32, max_output: Option<u32>) -> Option<BindingCallDetail> {
        let a = self.ix.act(thread, u64::from(activation))?;
        let row = queries::act_row(&mut self.ix, thread, u64::from(activation), &a, true);
        let (params, col) = self.ix.func(a.func).map_or((Vec::new(), 0), |f| (f.params.clone(), f.col));
        let output = queries::output_during(&mut self.ix, thread, &a, max_output.unwrap_or(64 << 10) as usize)
            .into_iter()
            .map(|o| BindingOutput { stream: o.stream, text: o.text })
            .collect();
        Some(BindingCallDetail { activation: act(row), params, col, output })
    }

    /// Successive values of `path` over the calls of functions matching
    /// `fn_glob`, with the changes between consecutive calls.
    #[napi]
    pub fn value_history(
        &mut self,
        env: &Env,
        fn_glob: String,
        path: String,
        limit: Option<u32>,
        runs: Option<BindingRunFilter>,
    ) -> Result<Vec<BindingHistoryEntry>> {
        guard(env, "valueHistory", || {
            let runs = run_filter(runs);
            let h = queries::value_history(&mut self.ix, &fn_glob, &path, limit.unwrap_or(200) as usize, &runs)
                .map_err(|m| coded("ERR_USAGE", &m))?;
            Ok(h.into_iter()
                .map(|e| BindingHistoryEntry {
                    thread: e.thread,
                    activation: e.act,
                    start_ns: e.start_ns as f64,
                    value: e.value,
                    changes: e
                        .changes
                        .into_iter()
                        .map(|c| BindingChange { path: c.path, op: c.op.to_string(), before: c.before, after: c.after })
                        .collect(),
                })
                .collect())
        })
    }

    /// Functions whose calls, durations, return values or errors differ
    /// from those in `other`.
    #[napi]
    pub fn compare(&self, other: &TraceIndex) -> Vec<BindingCompareRow> {
        queries::compare(&self.ix, &other.ix)
            .into_iter()
            .map(|r| BindingCompareRow {
                name: r.name,
                path: r.path,
                line: r.line,
                calls: vec![r.calls.0 as f64, r.calls.1 as f64],
                incl_ns: vec![r.incl_ns.0 as f64, r.incl_ns.1 as f64],
                throws: vec![r.throws.0 as f64, r.throws.1 as f64],
                differs: r.differs.into_iter().map(str::to_string).collect(),
            })
            .collect()
    }

    /// The runs of the trace (`noderec.run`), in the order they started; a
    /// run in which nothing was recorded is listed with 0 events.
    #[napi]
    pub fn runs(&self) -> Vec<BindingIndexRun> {
        self.ix
            .meta
            .runs
            .iter()
            .map(|r| BindingIndexRun {
                run_id: r.run_id.clone(),
                domain: r.domain.clone(),
                level: r.level.clone(),
                sample_id: r.sample_id.clone(),
                iteration: r.iteration.clone(),
                parent_run_id: r.parent_run_id.clone(),
                thread: r.thread,
                start_ns: r.start_ns as f64,
                end_ns: r.end_ns as f64,
                ended: r.ended,
                events: r.events as f64,
                activations: r.acts as f64,
                cleared: r.cleared as f64,
                kept: r.kept.clone(),
            })
            .collect()
    }

    /// User spans of `thread` (all when absent) that overlap `from..to` (ns),
    /// in the runs `runs` selects, at most `limit` (default 10,000), in the
    /// order they started.
    #[napi]
    pub fn spans(
        &self,
        thread: Option<u32>,
        from: Option<f64>,
        to: Option<f64>,
        runs: Option<BindingRunFilter>,
        limit: Option<u32>,
    ) -> Vec<BindingSpan> {
        queries::spans(
            &self.ix,
            thread,
            ns(from).unwrap_or(0),
            ns(to).unwrap_or(u64::MAX),
            &run_filter(runs),
            limit.unwrap_or(0) as usize,
        )
        .into_iter()
        .map(|s| BindingSpan {
            thread: s.thread,
            name: s.name,
            start_ns: s.start_ns as f64,
            end_ns: s.end_ns as f64,
            ended: s.status != "unfinished",
            status: s.status,
            run: s.run,
        })
        .collect()
    }

    /// Removes a live index's working directory (the final index stays).
    #[napi]
    pub fn close(&mut self) {
        if let Some(b) = self.live.take() {
            let _ = std::fs::remove_dir_all(b.out_dir());
        }
    }
}
