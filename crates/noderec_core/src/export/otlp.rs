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

use std::collections::HashMap;
use std::io::Write;

use sha2::{Digest, Sha256};

use super::pb::{varint, Buf};
use super::stream::{Dict, Ev, Sink};
use super::{io, Options};
use crate::error::Result;
use crate::session::metadata::Metadata;
use crate::trace::export::{call_values, one_value};
use crate::trace::format::{kind, RETURN_UNDEFINED};

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
const ST_MESSAGE: u32 = 2;
const ST_CODE: u32 = 3;
const STATUS_ERROR: u64 = 2;
// KeyValue / AnyValue
const KV_KEY: u32 = 1;
const KV_VALUE: u32 = 2;
const AV_STRING: u32 = 1;
const AV_BOOL: u32 = 2;
const AV_INT: u32 = 3;

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
    /// Spans written.
    pub spans: u64,
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
            spans: 0,
        }
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
        self.spans += 1;
        self.in_batch += 1;
        if self.in_batch >= BATCH_SPANS || self.req.bytes.len() >= BATCH_BYTES {
            self.end_request()?;
        }
        Ok(())
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
            // Runs, spans and logs: only the jsonl export shows them.
            return Ok(());
        }
        let stack = self.stacks.entry(e.thread).or_default();
        match e.kind {
            kind::CALL => {
                let parent = stack.last().copied();
                stack.push(e.activation);
                let mut values = Vec::new();
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
