//! Reading traces: exports and summaries.

use std::collections::HashMap;
use std::path::Path;

use napi::Env;
use napi_derive::napi;
use noderec_core::error::Error;
use noderec_core::query::calls as query;
use noderec_core::query::summary;
use noderec_core::trace::reader;

use crate::binding_errors::{guard, to_js};
// `Result` by name: the napi macro throws the error only for a return type
// spelled `Result<..>` (an alias such as `JsResult` returns it as a value).
use napi::Result;

/// What reading a trace found besides what it produced.
#[napi(object)]
pub struct BindingRead {
    /// Events read (the readable prefix of a damaged trace).
    pub events: f64,
    /// Why reading stopped before the end of the file (a cut or damaged
    /// chunk, an unknown record or event kind), with its byte position.
    pub damage: Option<String>,
    /// The byte offset up to which the trace was read (complete chunks).
    pub bytes_read: f64,
    /// The output's reader went away (EPIPE): the export stopped early.
    pub closed: bool,
}

fn is_broken_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Exports a trace directory as `jsonl` or `chrome` to `out` (a file path,
/// created 0600) or, without `out`, to standard output.
#[napi]
pub fn export_trace(env: &Env, dir: String, format: String, out: Option<String>) -> Result<BindingRead> {
    guard(env, "exportTrace", || {
        if format != "jsonl" && format != "chrome" {
            return Err(crate::binding_errors::coded(
                "ERR_INVALID_ARG",
                &format!("unknown export format '{format}' (accepted: jsonl, chrome)"),
            ));
        }
        let t = reader::read_trace(&Path::new(&dir).join("trace.nrt")).map_err(to_js)?;
        // The streaming writers, exactly as `noderec export --format jsonl|chrome`
        // (jsonl: runs, spans, logs and each event's run).
        let fmt =
            if format == "jsonl" { noderec_core::export::Format::Jsonl } else { noderec_core::export::Format::Chrome };
        let written = noderec_core::export::export_dir(
            Path::new(&dir),
            fmt,
            out.as_deref().map(Path::new),
            &noderec_core::export::Options::default(),
            &noderec_core::export::Progress::default(),
        )
        .map(|_| ());
        let closed = match written {
            Ok(()) => false,
            Err(e) if is_broken_pipe(&e) => true,
            Err(e) => return Err(to_js(e)),
        };
        Ok(BindingRead { events: t.events.len() as f64, damage: t.damage, bytes_read: t.bytes_read as f64, closed })
    })
}

/// What reading a trace for its summary found.
#[napi(object)]
pub struct BindingSummaryRead {
    /// Chunks read.
    pub chunks: f64,
    /// Bytes up to which the trace was read (complete chunks).
    pub bytes_read: f64,
    /// Size of trace.nrt.
    pub file_len: f64,
    /// Events read.
    pub events: f64,
    /// The end record was read.
    pub ended: bool,
    /// Why reading stopped before the end, with the byte position.
    pub damage: Option<String>,
}

/// One of the busiest functions of a trace.
#[napi(object)]
pub struct BindingFunctionSummary {
    /// Qualified name.
    pub name: String,
    /// File (relative to the project root).
    pub path: String,
    /// Line.
    pub line: u32,
    /// Calls.
    pub calls: f64,
    /// Inclusive on-stack time, ms (a recursive function counted once per outermost call).
    pub total_ms: f64,
    /// Self time, ms.
    pub self_ms: f64,
}

/// The summary of a trace directory.
#[napi(object)]
pub struct BindingTraceSummary {
    /// The trace directory.
    pub dir: String,
    /// metadata.json (design-docs/lifecycle.md).
    #[napi(ts_type = "Record<string, unknown>")]
    pub metadata: serde_json::Value,
    /// What the reader found.
    pub read: BindingSummaryRead,
    /// Thread names by id.
    pub threads: HashMap<String, String>,
    /// Events per kind name.
    pub counts: HashMap<String, f64>,
    /// Output bytes per stream name.
    pub output_bytes: HashMap<String, f64>,
    /// The busiest functions by inclusive time (at most 15).
    pub functions: Vec<BindingFunctionSummary>,
}

/// The summary of a trace directory: metadata, what the reader found
/// (chunks, damage), counts per kind and the busiest functions.
#[napi]
pub fn trace_summary(env: &Env, dir: String) -> Result<BindingTraceSummary> {
    guard(env, "traceSummary", || {
        let s = summary::summarize(Path::new(&dir))?;
        let metadata = serde_json::to_value(&s.metadata)
            .map_err(|e| crate::binding_errors::coded("ERR_INTERNAL", &format!("metadata: {e}")))?;
        let n = |m: std::collections::BTreeMap<&'static str, u64>| -> HashMap<String, f64> {
            m.into_iter().map(|(k, v)| (k.to_string(), v as f64)).collect()
        };
        Ok(BindingTraceSummary {
            dir: s.dir,
            metadata,
            read: BindingSummaryRead {
                chunks: s.read.chunks as f64,
                bytes_read: s.read.bytes_read as f64,
                file_len: s.read.file_len as f64,
                events: s.read.events as f64,
                ended: s.read.ended,
                damage: s.read.damage,
            },
            threads: s.threads.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            counts: n(s.counts),
            output_bytes: n(s.output_bytes),
            functions: s
                .functions
                .into_iter()
                .map(|f| BindingFunctionSummary {
                    name: f.name,
                    path: f.path,
                    line: f.line,
                    calls: f.calls as f64,
                    total_ms: f.total_ms,
                    self_ms: f.self_ms,
                })
                .collect(),
        })
    })
}

/// The selected calls, and what reading the trace found.
#[napi(object)]
pub struct BindingCalls {
    /// One JSON object per call, slowest first.
    pub rows: Vec<String>,
    /// What reading found (`closed` is always false).
    pub read: BindingRead,
}

/// Selects events by the run they belong to (`noderec.run`): fields left
/// out select everything.
#[napi(object)]
#[derive(Default)]
pub struct BindingRunFilter {
    /// The run with this `runId`, and the runs nested in it.
    pub run: Option<String>,
    /// Runs of this domain (a nested run without one has its parent's).
    pub domain: Option<String>,
    /// Runs of this level (compared as text; inherited like the domain).
    pub level: Option<String>,
    /// Runs of this `sampleId` (compared as text; inherited like the domain).
    pub sample: Option<String>,
    /// Runs of this `iteration` (compared as text; inherited like the domain).
    pub iteration: Option<String>,
}

/// The `ERR_RUN_MISSING` message for a filter that selects no run.
fn no_run(f: &noderec_core::export::Options, dir: &str) -> String {
    let mut what = vec![f.run.as_ref().map_or_else(|| "run".to_string(), |r| format!("run '{r}'"))];
    if let Some(d) = &f.domain {
        what.push(format!("of domain '{d}'"));
    }
    if let Some(l) = &f.level {
        what.push(format!("of level '{l}'"));
    }
    if let Some(x) = &f.sample {
        what.push(format!("of sample '{x}'"));
    }
    if let Some(x) = &f.iteration {
        what.push(format!("of iteration '{x}'"));
    }
    format!("no {} in trace {dir}", what.join(" "))
}

/// The calls of functions whose qualified name matches `fn_glob` (picomatch;
/// all when absent) that took at least `min_ms`, slowest first, at most
/// `limit` (0 = all): one JSON object per call. With `runs`, only the calls
/// made inside the selected runs (each row then has `run`); a filter that
/// selects no run fails with `ERR_RUN_MISSING`.
#[napi]
pub fn query_calls(
    env: &Env,
    dir: String,
    fn_glob: Option<String>,
    min_ms: f64,
    limit: u32,
    runs: Option<BindingRunFilter>,
) -> Result<BindingCalls> {
    guard(env, "queryCalls", || {
        let file = Path::new(&dir).join("trace.nrt");
        let t = reader::read_trace(&file).map_err(to_js)?;
        let f = runs.unwrap_or_default();
        let opts = noderec_core::export::Options {
            run: f.run,
            domain: f.domain,
            level: f.level,
            sample: f.sample,
            iteration: f.iteration,
            ..Default::default()
        };
        let only = if opts.by_run() {
            let mut chunks = reader::ChunkReader::open(&file).map_err(to_js)?;
            let (sel, matched) = noderec_core::export::stream::selected_calls(&mut chunks, &opts).map_err(to_js)?;
            if matched == 0 && t.damage.is_none() {
                return Err(crate::binding_errors::coded("ERR_RUN_MISSING", &no_run(&opts, &dir)));
            }
            Some(sel)
        } else {
            None
        };
        let q = query::CallQuery { fn_glob, min_ns: (min_ms.max(0.0) * 1e6) as u64, limit: limit as usize, only };
        let rows = query::calls(&t, &q).map_err(|m| crate::binding_errors::coded("ERR_USAGE", &m))?;
        let read = BindingRead {
            events: t.events.len() as f64,
            damage: t.damage,
            bytes_read: t.bytes_read as f64,
            closed: false,
        };
        Ok(BindingCalls { rows, read })
    })
}

/// The wire constants of the trace format as the core defines them
/// (design-docs/trace-format.md, values.md), for the test that checks the
/// TypeScript side's copies against them.
#[napi(object)]
pub struct BindingWire {
    /// Event kinds by name (`call`: 1, ...).
    pub kinds: HashMap<String, u32>,
    /// Value tags by name (`UNDEFINED`: 0, ...).
    pub tags: HashMap<String, u32>,
    /// The event head's bit saying that a value blob follows.
    pub has_values: u32,
    /// Shift of the payload (function or site id) in the event head.
    pub payload_shift: u32,
}

/// The trace format's event kinds, value tags and head bits.
#[napi]
pub fn wire_constants() -> BindingWire {
    use noderec_core::wire::format::{kind, HAS_VALUES, PAYLOAD_SHIFT};
    use noderec_core::wire::tag;
    let kinds = (1..=u8::MAX)
        .map(|k| (kind::name(k), k))
        .take_while(|(n, _)| *n != "unknown")
        .map(|(n, k)| (n.to_string(), u32::from(k)))
        .collect();
    let tags = [
        ("UNDEFINED", tag::UNDEFINED),
        ("NULL", tag::NULL),
        ("FALSE", tag::FALSE),
        ("TRUE", tag::TRUE),
        ("INT", tag::INT),
        ("FLOAT", tag::FLOAT),
        ("STRING", tag::STRING),
        ("BIGINT", tag::BIGINT),
        ("SYMBOL", tag::SYMBOL),
        ("FUNCTION", tag::FUNCTION),
        ("ARRAY", tag::ARRAY),
        ("OBJECT", tag::OBJECT),
        ("MAP", tag::MAP),
        ("SET", tag::SET),
        ("DATE", tag::DATE),
        ("ERROR", tag::ERROR),
        ("HOLE", tag::HOLE),
        ("ACCESSOR", tag::ACCESSOR),
        ("PROXY", tag::PROXY),
        ("CIRCULAR", tag::CIRCULAR),
        ("BYTES", tag::BYTES),
        ("TRUNCATED", tag::TRUNCATED),
        ("REDACTED", tag::REDACTED),
        ("REGEXP", tag::REGEXP),
        ("OPAQUE", tag::OPAQUE),
        ("REF", tag::REF),
        ("PATCH", tag::PATCH),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), u32::from(t)))
    .collect();
    BindingWire { kinds, tags, has_values: HAS_VALUES, payload_shift: PAYLOAD_SHIFT }
}

/// One run of a trace (`noderec.run`).
#[napi(object)]
pub struct BindingRun {
    /// Its `runId`.
    pub run_id: String,
    /// The run's options as given (numbers as text).
    pub domain: Option<String>,
    /// See `domain`.
    pub level: Option<String>,
    /// See `domain`.
    pub parent_run_id: Option<String>,
    /// See `domain`.
    pub sample_id: Option<String>,
    /// See `domain`.
    pub iteration: Option<String>,
    /// The thread it started on (0 = main).
    pub thread: u32,
    /// When it started (ns since recording started).
    pub start_ns: f64,
    /// Events recorded in it (its marks and its nested runs' events not counted).
    pub events: f64,
    /// Its end is in the trace.
    pub ended: bool,
    /// Events it cleared (`clear`; not in the trace).
    pub cleared: f64,
    /// Why a clearing run was written in full: `failed`, `hold-cap`, `unended`.
    pub kept: Option<String>,
}

/// The runs of a trace and what reading it found.
#[napi(object)]
pub struct BindingTraceRuns {
    /// In the order they started; a run with nothing recorded has 0 events.
    pub runs: Vec<BindingRun>,
    /// What reading found (`closed` is always false).
    pub read: BindingRead,
}

/// Every run of the trace directory `dir`, read from its trace file.
#[napi]
pub fn trace_runs(env: &Env, dir: String) -> Result<BindingTraceRuns> {
    guard(env, "traceRuns", || {
        let mut chunks = reader::ChunkReader::open(&Path::new(&dir).join("trace.nrt")).map_err(to_js)?;
        let (rows, out) = noderec_core::export::stream::runs_of(&mut chunks).map_err(to_js)?;
        let runs = rows
            .into_iter()
            .map(|r| BindingRun {
                run_id: r.run_id,
                domain: r.domain,
                level: r.level,
                parent_run_id: r.parent_run_id,
                sample_id: r.sample_id,
                iteration: r.iteration,
                thread: r.thread,
                start_ns: r.start_ns as f64,
                events: r.events as f64,
                ended: r.ended,
                cleared: r.cleared as f64,
                kept: r.kept.map(str::to_owned),
            })
            .collect();
        let read = BindingRead { events: out.events as f64, damage: out.damage, bytes_read: 0.0, closed: false };
        Ok(BindingTraceRuns { runs, read })
    })
}
