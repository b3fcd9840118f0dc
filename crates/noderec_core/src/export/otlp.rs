//! OpenTelemetry spans as OTLP/protobuf (`ExportTraceServiceRequest`,
//! opentelemetry-proto v1.11), streamed as a file of varint-length-delimited
//! requests of at most [`BATCH_SPANS`] spans each: every request is what an
//! OTLP/HTTP client POSTs to `/v1/traces`, which the CLI does for
//! `--endpoint` (replayable by hand one request at a time).
//!
//! Spans: one for the process (the root; every process of one `noderec
//! record` run shares the trace id, so a run is one trace), and one per
//! function activation that took at least `--min-duration` from its call
//! to its final return or throw (across its suspensions). A span's parent
//! is its caller's span: a caller still running when a callee is exported
//! is exported too, whatever its duration, so no exported span points at a
//! missing parent; a callee that outlived its caller hangs from the process.
//!
//! Runs (`noderec.run`) and user spans (`span()`, `startSpan()`, the http
//! bridges) are spans too, whatever `--min-duration`: a run's parent is the
//! run it is nested in (on its thread, else the run its `parentRunId`
//! names), else the process; a user span's parent is the innermost span
//! still open on its thread in the same run, else that run, else the
//! process. Those never ended are exported at the end, marked
//! `noderec.unfinished`.

use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::fields::{call_values, one_value};
use super::pb::{varint, Buf};
use super::stream::{Dict, Ev, Sink};
use super::{io, Options};
use crate::error::Result;
use crate::session::metadata::Metadata;
use crate::trace::value::write_json;
use crate::wire::format::read_varint;
use crate::wire::format::{kind, mark, RETURN_UNDEFINED};

/// Most spans in one request (collectors limit request sizes).
pub const BATCH_SPANS: usize = 2048;
/// Most bytes of spans in one request.
const BATCH_BYTES: usize = 4 << 20;

// ExportTraceServiceRequest / ResourceSpans / ScopeSpans / Resource / InstrumentationScope
const REQ_RESOURCE_SPANS: u32 = 1;
const RS_RESOURCE: u32 = 1;
const RS_SCOPE_SPANS: u32 = 2;
const RES_ATTRIBUTES: u32 = 1;
const SS_SCOPE: u32 = 1;
const SS_SPANS: u32 = 2;
const SCOPE_NAME: u32 = 1;
const SCOPE_VERSION: u32 = 2;
// Span
const SP_TRACE_ID: u32 = 1;
const SP_SPAN_ID: u32 = 2;
const SP_PARENT: u32 = 4;
const SP_NAME: u32 = 5;
const SP_KIND: u32 = 6;
const SP_START: u32 = 7;
const SP_END: u32 = 8;
const SP_ATTRIBUTES: u32 = 9;
const SP_STATUS: u32 = 15;
const KIND_INTERNAL: u64 = 1;
const KIND_SERVER: u64 = 2;
const KIND_CLIENT: u64 = 3;
const STATUS_OK: u64 = 1;
const ST_MESSAGE: u32 = 2;
const ST_CODE: u32 = 3;
const STATUS_ERROR: u64 = 2;
// KeyValue / AnyValue
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;
const AV_STRING: u32 = 1;
const AV_BOOL: u32 = 2;
const AV_INT: u32 = 3;
const AV_DOUBLE: u32 = 4;

/// A run or a user span waiting for its end.
struct OpenSpan {
    span_id: u64,
    parent: u64,
    start_ns: u64,
    name: String,
    kind: u64,
    /// Attributes: noderec's as text, the user's in the JSON form of values.md.
    attrs: Vec<(String, serde_json::Value)>,
    /// The run (its `runId`) it was started in (user spans).
    run: Option<Rc<str>>,
    /// Domain and level of a run (inherited by the runs nested in it).
    domain: Option<String>,
    level: Option<String>,
}

struct Live {
    start_ns: u64,
    parent: Option<u64>,
    forced: bool,
    func: Option<u32>,
    values: Vec<(&'static str, String)>,
}

/// The OTLP sink.
pub struct Otlp {
    w: Box<dyn Write>,
    meta: Metadata,
    values: bool,
    min_ns: u64,
    trace_id: [u8; 16],
    seed: u64,
    /// Epoch ns of the session start.
    base_ns: u64,
    /// Per thread: running stretches, and every started, unfinished activation.
    stacks: HashMap<u32, Vec<u64>>,
    live: HashMap<(u32, u64), Live>,
    req: Buf,
    open: Option<(super::pb::Mark, super::pb::Mark)>,
    in_batch: usize,
    /// Open runs by (thread, mark id).
    runs: HashMap<(u32, u64), OpenSpan>,
    /// The span id of every run seen, by `runId`.
    run_spans: HashMap<String, u64>,
    /// Open user spans by (thread, mark id).
    user: HashMap<(u32, u64), OpenSpan>,
    /// Spans written.
    pub spans: u64,
}

/// Run metadata / span attributes (the JSON form of an object value) as
/// key-value pairs; a value that is not an object gives none.
fn props(v: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    match v.get("props") {
        Some(serde_json::Value::Object(m)) if v.get("$").and_then(|t| t.as_str()) == Some("object") => {
            m.iter().map(|(k, x)| (k.clone(), x.clone())).collect()
        }
        _ => Vec::new(),
    }
}

/// A metadata value as text (numbers and booleans as their text).
fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => v.get("v").and_then(|x| x.as_str()).map(str::to_owned),
    }
}

/// The next value of a mark's blob (JSON form), advancing `pos` (relative to the blob).
fn next_value(b: &super::stream::Blob, pos: &mut usize) -> Option<serde_json::Value> {
    let (rec, at) = b.span();
    let mut p = at + *pos;
    let mut json = String::new();
    write_json(rec, &mut p, &mut json).ok()?;
    *pos = p - at;
    serde_json::from_str(&json).ok()
}

/// One attribute with the AnyValue type that fits its JSON form: strings,
/// integers, other numbers and booleans as themselves, anything else as
/// its JSON text.
fn kv_json(b: &mut Buf, field: u32, key: &str, v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => kv_str(b, field, key, s),
        serde_json::Value::Bool(x) => kv_bool(b, field, key, *x),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => kv_int(b, field, key, i),
            (None, Some(f)) => {
                let kv = b.begin(field);
                b.str(KV_KEY, key);
                let av = b.begin(KV_VALUE);
                b.double(AV_DOUBLE, f);
                b.end(av);
                b.end(kv);
            }
            _ => kv_str(b, field, key, &n.to_string()),
        },
        _ => match v.get("$").and_then(|t| t.as_str()) {
            Some("string") => kv_str(b, field, key, v.get("v").and_then(|x| x.as_str()).unwrap_or("")),
            _ => kv_str(b, field, key, &v.to_string()),
        },
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).max(1)
}

fn kv_str(b: &mut Buf, field: u32, key: &str, v: &str) {
    let kv = b.begin(field);
    b.str(KV_KEY, key);
    let av = b.begin(KV_VALUE);
    b.str(AV_STRING, v);
    b.end(av);
    b.end(kv);
}

fn kv_int(b: &mut Buf, field: u32, key: &str, v: i64) {
    let kv = b.begin(field);
    b.str(KV_KEY, key);
    let av = b.begin(KV_VALUE);
    b.int(AV_INT, v);
    b.end(av);
    b.end(kv);
}

fn kv_bool(b: &mut Buf, field: u32, key: &str, v: bool) {
    let kv = b.begin(field);
    b.str(KV_KEY, key);
    let av = b.begin(KV_VALUE);
    b.uint(AV_BOOL, u64::from(v));
    b.end(av);
    b.end(kv);
}

impl Otlp {
    /// Writes to `w`.
    pub fn new(w: Box<dyn Write>, meta: &Metadata, opts: &Options) -> Self {
        let key = if meta.run_id.is_empty() {
            format!("noderec-process:{}:{}", meta.pid, meta.start_ms)
        } else {
            format!("noderec-run:{}", meta.run_id)
        };
        let h = Sha256::digest(key.as_bytes());
        let mut trace_id = [0u8; 16];
        trace_id.copy_from_slice(&h[..16]);
        let p = Sha256::digest(format!("{key}:{}:{}", meta.pid, meta.start_ms).as_bytes());
        let seed = u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]);
        Otlp {
            w,
            meta: meta.clone(),
            values: !opts.no_values,
            min_ns: opts.min_duration_ns,
            trace_id,
            seed,
            base_ns: u64::try_from(meta.start_ms).unwrap_or(0) * 1_000_000,
            stacks: HashMap::new(),
            live: HashMap::new(),
            req: Buf::new(),
            open: None,
            in_batch: 0,
            runs: HashMap::new(),
            run_spans: HashMap::new(),
            user: HashMap::new(),
            spans: 0,
        }
    }

    /// Span id of a run (`tag` 1) or a user span (`tag` 2): apart from activations'.
    fn mark_span_id(&self, tag: u64, thread: u32, id: u64) -> u64 {
        splitmix(self.seed ^ (tag << 62) ^ (u64::from(thread) << 40 | id))
    }

    /// A run or user span mark.
    fn mark(&mut self, e: &Ev) -> Result<()> {
        let Some(b) = e.vals.as_ref() else { return Ok(()) };
        let bytes = b.bytes();
        let mut pos = 0;
        let Ok(id) = read_varint(bytes, &mut pos) else { return Ok(()) };
        match e.payload {
            mark::RUN_START => {
                let parent_mark = read_varint(bytes, &mut pos).unwrap_or(0);
                let meta = next_value(b, &mut pos).map(|v| props(&v)).unwrap_or_default();
                let get = |k: &str| meta.iter().find(|(x, _)| x == k).and_then(|(_, v)| text(v));
                let up = (parent_mark != 0).then(|| self.runs.get(&(e.thread, parent_mark))).flatten();
                let run_id = get("runId").unwrap_or_else(|| format!("#{id}"));
                let domain = get("domain").or_else(|| up.and_then(|u| u.domain.clone()));
                let level = get("level").or_else(|| up.and_then(|u| u.level.clone()));
                let parent_id = get("parentRunId").or_else(|| {
                    up.and_then(|u| u.attrs.iter().find(|(k, _)| k == "noderec.run.id").and_then(|(_, v)| text(v)))
                });
                let parent = match (up, &parent_id) {
                    (Some(u), _) => u.span_id,
                    (None, Some(p)) => self.run_spans.get(p).copied().unwrap_or_else(|| self.process_span_id()),
                    (None, None) => self.process_span_id(),
                };
                let span_id = self.mark_span_id(1, e.thread, id);
                let mut attrs = vec![("noderec.run.id".to_string(), serde_json::Value::String(run_id.clone()))];
                for (k, v) in [
                    ("noderec.run.domain", &domain),
                    ("noderec.run.level", &level),
                    ("noderec.run.sample_id", &get("sampleId")),
                    ("noderec.run.iteration", &get("iteration")),
                    ("noderec.run.parent_id", &parent_id),
                ] {
                    if let Some(v) = v {
                        attrs.push((k.to_string(), serde_json::Value::String(v.clone())));
                    }
                }
                self.run_spans.insert(run_id, span_id);
                let name = domain.as_ref().map_or_else(|| "run".to_string(), |d| format!("run {d}"));
                self.runs.insert(
                    (e.thread, id),
                    OpenSpan {
                        span_id,
                        parent,
                        start_ns: e.t_ns,
                        name,
                        kind: KIND_INTERNAL,
                        attrs,
                        run: None,
                        domain,
                        level,
                    },
                );
            }
            mark::RUN_END => {
                if let Some(o) = self.runs.remove(&(e.thread, id)) {
                    self.mark_span(e.thread, &o, e.t_ns, None, false)?;
                }
            }
            mark::SPAN_START => {
                let name = next_value(b, &mut pos).and_then(|v| text(&v)).unwrap_or_else(|| "span".into());
                let attrs = next_value(b, &mut pos).map(|v| props(&v)).unwrap_or_default();
                // The innermost span open on this thread in the same run, else the run, else the process.
                let parent = self
                    .user
                    .iter()
                    .filter(|((th, _), o)| *th == e.thread && o.run == e.run)
                    .max_by_key(|((_, sid), _)| *sid)
                    .map(|(_, o)| o.span_id)
                    .or_else(|| e.run.as_deref().and_then(|r| self.run_spans.get(r).copied()))
                    .unwrap_or_else(|| self.process_span_id());
                let kind = match name.as_str() {
                    "http.server" => KIND_SERVER,
                    "http.client" => KIND_CLIENT,
                    _ => KIND_INTERNAL,
                };
                let span_id = self.mark_span_id(2, e.thread, id);
                self.user.insert(
                    (e.thread, id),
                    OpenSpan {
                        span_id,
                        parent,
                        start_ns: e.t_ns,
                        name,
                        kind,
                        attrs,
                        run: e.run.clone(),
                        domain: None,
                        level: None,
                    },
                );
            }
            mark::SPAN_END => {
                let status = read_varint(bytes, &mut pos).unwrap_or(0);
                let end_attrs = next_value(b, &mut pos).map(|v| props(&v)).unwrap_or_default();
                if let Some(mut o) = self.user.remove(&(e.thread, id)) {
                    for (k, v) in end_attrs {
                        match o.attrs.iter_mut().find(|(x, _)| *x == k) {
                            Some(slot) => slot.1 = v,
                            None => o.attrs.push((k, v)),
                        }
                    }
                    let st = if status == mark::STATUS_ERROR { STATUS_ERROR } else { STATUS_OK };
                    self.mark_span(e.thread, &o, e.t_ns, Some(st), false)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes a run or user span.
    fn mark_span(
        &mut self,
        thread: u32,
        o: &OpenSpan,
        end_ns: u64,
        status: Option<u64>,
        unfinished: bool,
    ) -> Result<()> {
        if self.open.is_none() {
            self.begin_request();
        }
        let b = &mut self.req;
        let sp = b.begin(SS_SPANS);
        b.bytes(SP_TRACE_ID, &self.trace_id);
        b.bytes(SP_SPAN_ID, &o.span_id.to_be_bytes());
        b.bytes(SP_PARENT, &o.parent.to_be_bytes());
        b.str(SP_NAME, &o.name);
        b.uint(SP_KIND, o.kind);
        b.fixed64(SP_START, self.base_ns + o.start_ns);
        b.fixed64(SP_END, self.base_ns + end_ns.max(o.start_ns));
        for (k, v) in &o.attrs {
            kv_json(b, SP_ATTRIBUTES, k, v);
        }
        if let Some(r) = &o.run {
            kv_str(b, SP_ATTRIBUTES, "noderec.run.id", r);
        }
        kv_int(b, SP_ATTRIBUTES, "thread.id", i64::from(thread));
        if unfinished {
            kv_bool(b, SP_ATTRIBUTES, "noderec.unfinished", true);
        }
        if let Some(code) = status {
            let st = b.begin(SP_STATUS);
            b.uint(ST_CODE, code);
            b.end(st);
        }
        b.end(sp);
        self.span_written()
    }

    fn process_span_id(&self) -> u64 {
        splitmix(self.seed)
    }

    fn span_id(&self, thread: u32, act: u64) -> u64 {
        splitmix(self.seed ^ (u64::from(thread) << 40 | act))
    }

    fn begin_request(&mut self) {
        let b = &mut self.req;
        let rs = b.begin(REQ_RESOURCE_SPANS);
        let res = b.begin(RS_RESOURCE);
        let m = &self.meta;
        let service = if m.program.is_empty() { "node".to_string() } else { m.program.clone() };
        for (k, v) in [
            ("service.name", service.as_str()),
            ("process.runtime.name", "nodejs"),
            ("process.runtime.version", m.node_version.as_str()),
            ("process.command", m.argv.first().map_or("", |s| s.as_str())),
            ("noderec.run_id", m.run_id.as_str()),
        ] {
            kv_str(b, RES_ATTRIBUTES, k, v);
        }
        kv_int(b, RES_ATTRIBUTES, "process.pid", i64::from(m.pid));
        b.end(res);
        let ss = b.begin(RS_SCOPE_SPANS);
        let scope = b.begin(SS_SCOPE);
        b.str(SCOPE_NAME, "noderec");
        b.str(SCOPE_VERSION, env!("CARGO_PKG_VERSION"));
        b.end(scope);
        self.open = Some((rs, ss));
    }

    /// Counts the span just written; ends the request when it is full.
    fn span_written(&mut self) -> Result<()> {
        self.spans += 1;
        self.in_batch += 1;
        if self.in_batch >= BATCH_SPANS || self.req.bytes.len() >= BATCH_BYTES {
            self.end_request()?;
        }
        Ok(())
    }

    fn end_request(&mut self) -> Result<()> {
        let Some((rs, ss)) = self.open.take() else { return Ok(()) };
        self.req.end(ss);
        self.req.end(rs);
        let mut len = Vec::with_capacity(5);
        varint(&mut len, self.req.bytes.len() as u64);
        self.w.write_all(&len).map_err(io)?;
        self.w.write_all(&self.req.bytes).map_err(io)?;
        self.req.clear();
        self.in_batch = 0;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        d: &Dict,
        thread: u32,
        act: u64,
        l: &Live,
        end_ns: u64,
        parent: u64,
        end_values: &[(&'static str, String)],
        error: Option<&str>,
        unfinished: bool,
    ) -> Result<()> {
        if self.open.is_none() {
            self.begin_request();
        }
        let span_id = self.span_id(thread, act);
        let f = l.func.and_then(|f| d.funcs.get(&f));
        let b = &mut self.req;
        let sp = b.begin(SS_SPANS);
        b.bytes(SP_TRACE_ID, &self.trace_id);
        b.bytes(SP_SPAN_ID, &span_id.to_be_bytes());
        b.bytes(SP_PARENT, &parent.to_be_bytes());
        b.str(SP_NAME, f.map_or("<unknown>", |f| f.name.as_str()));
        b.uint(SP_KIND, KIND_INTERNAL);
        b.fixed64(SP_START, self.base_ns + l.start_ns);
        b.fixed64(SP_END, self.base_ns + end_ns);
        if let Some(f) = f {
            kv_str(b, SP_ATTRIBUTES, "code.function.name", &f.name);
            kv_str(b, SP_ATTRIBUTES, "code.file.path", d.path_of(f));
            kv_int(b, SP_ATTRIBUTES, "code.line.number", i64::from(f.line));
            kv_int(b, SP_ATTRIBUTES, "code.column.number", i64::from(f.col + 1));
        }
        kv_int(b, SP_ATTRIBUTES, "thread.id", i64::from(thread));
        if let Some(n) = d.threads.get(&thread) {
            kv_str(b, SP_ATTRIBUTES, "thread.name", n);
        }
        kv_int(b, SP_ATTRIBUTES, "noderec.activation", act as i64);
        for (k, v) in l.values.iter().chain(end_values) {
            kv_str(b, SP_ATTRIBUTES, k, v);
        }
        if unfinished {
            kv_bool(b, SP_ATTRIBUTES, "noderec.unfinished", true);
        }
        if let Some(msg) = error {
            let st = b.begin(SP_STATUS);
            b.str(ST_MESSAGE, msg);
            b.uint(ST_CODE, STATUS_ERROR);
            b.end(st);
        }
        b.end(sp);
        self.span_written()
    }

    /// The activation ended for good at `end_ns`: export it if it is long
    /// enough or a callee needs it.
    #[allow(clippy::too_many_arguments)]
    fn finish_activation(
        &mut self,
        d: &Dict,
        thread: u32,
        act: u64,
        end_ns: u64,
        end_values: &[(&'static str, String)],
        error: Option<&str>,
        unfinished: bool,
    ) -> Result<()> {
        let Some(l) = self.live.remove(&(thread, act)) else { return Ok(()) };
        if !l.forced && end_ns.saturating_sub(l.start_ns) < self.min_ns {
            return Ok(());
        }
        let parent = match l.parent.and_then(|p| self.live.get_mut(&(thread, p)).map(|pl| (p, pl))) {
            Some((p, pl)) => {
                pl.forced = true;
                self.span_id(thread, p)
            }
            None => self.process_span_id(),
        };
        self.span(d, thread, act, &l, end_ns, parent, end_values, error, unfinished)
    }
}

fn strip_key(s: &str, key: &str) -> String {
    s.strip_prefix(&format!(",\"{key}\":")).unwrap_or(s).to_string()
}

impl Sink for Otlp {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        if e.kind == kind::MARK {
            // Runs and spans become spans; logs are left out.
            return self.mark(e);
        }
        let stack = self.stacks.entry(e.thread).or_default();
        match e.kind {
            kind::CALL => {
                let parent = stack.last().copied();
                stack.push(e.activation);
                let mut values = Vec::new();
                if let Some(r) = &e.run {
                    values.push(("noderec.run.id", r.to_string()));
                }
                if self.values {
                    if let Some(b) = &e.vals {
                        let mut s = String::new();
                        call_values(&mut s, b.span());
                        if let Some(i) = s.find(",\"args\":") {
                            if let Some(this) = s[..i].strip_prefix(",\"this\":") {
                                values.push(("noderec.this", this.to_string()));
                            }
                            values.push(("noderec.args", s[i + 8..].to_string()));
                        }
                    }
                }
                self.live.insert(
                    (e.thread, e.activation),
                    Live { start_ns: e.t_ns, parent, forced: false, func: e.func, values },
                );
            }
            kind::RESUME => stack.push(e.activation),
            kind::AWAIT | kind::YIELD if stack.last() == Some(&e.activation) => {
                stack.pop();
            }
            kind::RETURN | kind::THROW => {
                if stack.last() == Some(&e.activation) {
                    stack.pop();
                }
                let mut end_values = Vec::new();
                let mut error = None;
                if e.kind == kind::RETURN {
                    if self.values {
                        match &e.vals {
                            Some(b) => {
                                let mut s = String::new();
                                one_value(&mut s, "r", b.span());
                                end_values.push(("noderec.return", strip_key(&s, "r")));
                            }
                            None if e.payload == RETURN_UNDEFINED => {
                                end_values.push(("noderec.return", "{\"$\":\"undefined\"}".into()))
                            }
                            None => {}
                        }
                    }
                } else {
                    let mut msg = "threw".to_string();
                    if self.values {
                        if let Some(b) = e.error.as_ref().or(e.vals.as_ref()) {
                            let mut s = String::new();
                            one_value(&mut s, "r", b.span());
                            msg = strip_key(&s, "r");
                        }
                    }
                    error = Some(msg);
                }
                self.finish_activation(d, e.thread, e.activation, e.t_ns, &end_values, error.as_deref(), false)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, d: &Dict, end_ns: u64) -> Result<()> {
        // Unfinished activations, callees first (higher ids are later calls).
        let mut left: Vec<(u32, u64)> = self.live.keys().copied().collect();
        left.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (th, act) in left {
            self.finish_activation(d, th, act, end_ns, &[], None, true)?;
        }
        // Runs and user spans never ended.
        let mut open: Vec<((u32, u64), OpenSpan)> = self.user.drain().chain(self.runs.drain()).collect();
        open.sort_by_key(|(k, o)| (o.start_ns, *k));
        for ((th, _), o) in open {
            self.mark_span(th, &o, end_ns, None, true)?;
        }
        // The process span, last: its end is known now.
        if self.open.is_none() {
            self.begin_request();
        }
        let m = &self.meta;
        let dur_ns = m.duration_ms.map_or(end_ns, |ms| ((ms * 1e6) as u64).max(end_ns));
        let failed = m.exit_code.is_some_and(|c| c != 0) || m.signal.is_some();
        let b = &mut self.req;
        let sp = b.begin(SS_SPANS);
        b.bytes(SP_TRACE_ID, &self.trace_id);
        b.bytes(SP_SPAN_ID, &splitmix(self.seed).to_be_bytes());
        b.str(SP_NAME, &format!("process {}", if m.program.is_empty() { "node" } else { &m.program }));
        b.uint(SP_KIND, KIND_INTERNAL);
        b.fixed64(SP_START, self.base_ns);
        b.fixed64(SP_END, self.base_ns + dur_ns);
        kv_int(b, SP_ATTRIBUTES, "process.pid", i64::from(m.pid));
        kv_int(b, SP_ATTRIBUTES, "process.parent_pid", i64::from(m.ppid));
        kv_str(b, SP_ATTRIBUTES, "process.command_line", &m.argv.join(" "));
        if let Some(c) = m.exit_code {
            kv_int(b, SP_ATTRIBUTES, "process.exit.code", i64::from(c));
        }
        if let Some(s) = &m.signal {
            kv_str(b, SP_ATTRIBUTES, "noderec.signal", s);
        }
        kv_str(b, SP_ATTRIBUTES, "noderec.status", &m.status);
        if failed {
            let st = b.begin(SP_STATUS);
            let msg = match (&m.signal, m.exit_code) {
                (Some(s), _) => format!("ended by {s}"),
                (None, Some(c)) => format!("exit code {c}"),
                _ => String::new(),
            };
            b.str(ST_MESSAGE, &msg);
            b.uint(ST_CODE, STATUS_ERROR);
            b.end(st);
        }
        b.end(sp);
        self.spans += 1;
        self.end_request()?;
        self.w.flush().map_err(io)
    }
}
