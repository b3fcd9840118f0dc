//! JSON lines, streamed, one object per event
//! (trace-format.md, README "Reading a trace").

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write;

use super::fields::{call_values, json_str, one_value, output_fields};
use super::stream::{Dict, Ev, Sink};
use super::{io, Options};
use crate::error::Result;
use crate::trace::value::{object_fields, write_json};
use crate::trace::walk::CATCH_UNCAUGHT;
use crate::wire::format::read_varint;
use crate::wire::format::{kind, mark, RETURN_UNDEFINED};

/// The JSON lines sink.
pub struct Jsonl {
    w: Box<dyn Write>,
    line: String,
    values: bool,
    /// Run, span and log lines carry `t` at the top level too (Options::top_time).
    top_time: bool,
    /// Runs started and not ended: (thread, id) → (start time, runId JSON).
    /// Open runs: (thread, run number) → the run.
    runs: HashMap<(u32, u64), OpenRun>,
    /// Spans started and not ended: (thread, id) → the open span.
    spans: BTreeMap<(u32, u64), OpenSpan>,
}

/// A span whose end was not seen yet.
struct OpenSpan {
    t_ns: u64,
    /// `"name":..` and the start attributes, ready to write.
    fields: String,
    run: Option<std::rc::Rc<str>>,
}

impl Jsonl {
    /// Writes to `w`.
    pub fn new(w: Box<dyn Write>, opts: &Options) -> Self {
        Jsonl {
            w,
            line: String::with_capacity(256),
            values: !opts.no_values,
            top_time: opts.top_time,
            runs: HashMap::new(),
            spans: BTreeMap::new(),
        }
    }

    fn mark(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        let Some(b) = &e.vals else { return Ok(()) };
        let (rec, at) = b.span();
        let mut pos = at;
        let Ok(id) = read_varint(rec, &mut pos) else { return Ok(()) };
        let line = &mut self.line;
        line.clear();
        let mut nr = String::new();
        let mut user = String::new();
        let top = self.top_time;
        match e.payload {
            mark::RUN_START => {
                let parent = read_varint(rec, &mut pos).unwrap_or(0);
                let fields = object_fields(rec, &mut pos).ok().flatten().unwrap_or_default();
                let run_id =
                    fields.iter().find(|(k, _)| k == "runId").map_or_else(|| "null".into(), |(_, v)| v.clone());
                self.runs.insert((e.thread, id), OpenRun { t_ns: e.t_ns, run_id, cleared: 0, kept: None });
                line.push_str("{\"kind\":\"run\"");
                user_fields(&mut user, &fields, top);
                let _ = write!(nr, "\"phase\":\"start\",\"id\":{id},\"parent\":{parent}");
            }
            mark::RUN_END => {
                let Some(OpenRun { t_ns: t0, run_id, cleared, kept }) = self.runs.remove(&(e.thread, id)) else {
                    return Ok(());
                };
                line.push_str("{\"kind\":\"run\",\"runId\":");
                line.push_str(&run_id);
                let _ = write!(
                    nr,
                    "\"phase\":\"end\",\"id\":{id},\"start\":{t0},\"durationNs\":{}",
                    e.t_ns.saturating_sub(t0)
                );
                if cleared > 0 {
                    let _ = write!(nr, ",\"cleared\":{cleared}");
                }
                if let Some(k) = kept {
                    let _ = write!(nr, ",\"kept\":\"{}\"", crate::trace::hold::reason::name(k));
                }
            }
            mark::CLEARED => {
                let n = read_varint(rec, &mut pos).unwrap_or(0);
                if let Some(r) = self.runs.get_mut(&(e.thread, id)) {
                    r.cleared += n;
                }
                return Ok(());
            }
            mark::KEPT => {
                let why = read_varint(rec, &mut pos).unwrap_or(0);
                if let Some(r) = self.runs.get_mut(&(e.thread, id)) {
                    r.kept = Some(why);
                }
                return Ok(());
            }
            mark::SPAN_START => {
                let mut name = String::new();
                if write_json(rec, &mut pos, &mut name).is_err() {
                    name.push_str("null");
                }
                let mut fields = String::from(",\"name\":");
                fields.push_str(&name);
                if let Ok(Some(f)) = object_fields(rec, &mut pos) {
                    user_fields(&mut fields, &f, top);
                }
                line.push_str("{\"kind\":\"span\"");
                user.push_str(&fields);
                self.spans.insert((e.thread, id), OpenSpan { t_ns: e.t_ns, fields, run: e.run.clone() });
                let _ = write!(nr, "\"phase\":\"start\",\"provisional\":true,\"id\":{id}");
            }
            mark::SPAN_END => {
                let status = read_varint(rec, &mut pos).unwrap_or(0);
                let Some(open) = self.spans.remove(&(e.thread, id)) else { return Ok(()) };
                line.push_str("{\"kind\":\"span\"");
                user.push_str(&open.fields);
                if let Ok(Some(f)) = object_fields(rec, &mut pos) {
                    user_fields(&mut user, &f, top);
                }
                let st = if status == mark::STATUS_OK { "ok" } else { "error" };
                let _ = write!(
                    nr,
                    "\"phase\":\"end\",\"id\":{id},\"status\":\"{st}\",\"start\":{},\"durationNs\":{}",
                    open.t_ns,
                    e.t_ns.saturating_sub(open.t_ns)
                );
            }
            mark::LOG => {
                let mut event = String::new();
                if write_json(rec, &mut pos, &mut event).is_err() {
                    event.push_str("null");
                }
                line.push_str("{\"kind\":\"log\",\"event\":");
                line.push_str(&event);
                let mut p2 = pos;
                match object_fields(rec, &mut pos) {
                    Ok(Some(f)) => user_fields(&mut user, &f, top),
                    Ok(None) => {
                        user.push_str(",\"data\":");
                        if write_json(rec, &mut p2, &mut user).is_err() {
                            user.push_str("null");
                        }
                    }
                    Err(_) => {}
                }
                nr.push_str("\"phase\":\"log\"");
            }
            // run-switch: only replayed (every event carries its run).
            _ => return Ok(()),
        }
        if top {
            let _ = write!(line, ",\"t\":{}", e.t_ns);
        }
        line.push_str(&user);
        line.push_str(",\"__noderec__\":{");
        line.push_str(&nr);
        context(line, d, e, e.run.as_deref());
        line.push_str("}}\n");
        self.w.write_all(line.as_bytes()).map_err(io)
    }
}

/// A run whose end line is still to come.
struct OpenRun {
    t_ns: u64,
    /// Its `runId` as JSON.
    run_id: String,
    /// Events it cleared so far (`cleared` marks).
    cleared: u64,
    /// The reason of its `kept` mark.
    kept: Option<u64>,
}

/// Reserved top-level keys of mark lines: a user attribute of that name (or
/// one that starts with `attr:`) is written as `attr:<key>`, so that user
/// data never replaces what noderec writes. With `top_time`, `t` is reserved too.
fn user_fields(out: &mut String, fields: &[(String, String)], top_time: bool) {
    for (k, v) in fields {
        out.push(',');
        if matches!(k.as_str(), "kind" | "name" | "event" | "data" | "__noderec__")
            || k.starts_with("attr:")
            || (top_time && k == "t")
        {
            json_str(out, &format!("attr:{k}"));
        } else {
            json_str(out, k);
        }
        out.push(':');
        out.push_str(v);
    }
}

/// `,"t":..,"thread":..,"fn":..,"path":..,"line":..,"activation":..[,"run":..]`
/// inside `__noderec__`.
fn context(line: &mut String, d: &Dict, e: &Ev, run: Option<&str>) {
    let (name, path, l, _) = place(d, e.func).unwrap_or(("<unknown>", "", 0, 0));
    let _ = write!(line, ",\"t\":{},\"thread\":{},\"fn\":", e.t_ns, e.thread);
    json_str(line, name);
    line.push_str(",\"path\":");
    json_str(line, path);
    let _ = write!(line, ",\"line\":{l},\"activation\":{}", e.activation);
    if let Some(r) = run {
        line.push_str(",\"run\":");
        json_str(line, r);
    }
}

fn place(d: &Dict, f: Option<u32>) -> Option<(&str, &str, u32, u32)> {
    let f = d.funcs.get(&f?)?;
    Some((&f.name, d.path_of(f), f.line, f.col + 1))
}

impl Sink for Jsonl {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        if e.kind == kind::MARK {
            return self.mark(d, e);
        }
        let line = &mut self.line;
        line.clear();
        let kname = if e.kind == kind::CATCH && e.payload == CATCH_UNCAUGHT { "uncaught" } else { kind::name(e.kind) };
        // Await, yield and resume point at the site; the rest at the function.
        let at = match e.kind {
            kind::AWAIT | kind::YIELD | kind::RESUME => e.site.or(e.func),
            _ => e.func,
        };
        let (name, path, l, c) = place(d, e.func).unwrap_or(("<unknown>", "", 0, 0));
        let (line_no, col) = match place(d, at) {
            Some((_, _, l, c)) if at.is_some() => (l, c),
            _ if at.is_some() => (0, 0),
            _ => (l, c),
        };
        line.push_str("{\"kind\":\"");
        line.push_str(kname);
        line.push_str("\",\"fn\":");
        json_str(line, name);
        line.push_str(",\"path\":");
        json_str(line, path);
        let _ = write!(
            line,
            ",\"line\":{line_no},\"col\":{col},\"t\":{},\"thread\":{},\"activation\":{},\"depth\":{}",
            e.t_ns, e.thread, e.activation, e.depth
        );
        if let Some(r) = &e.run {
            line.push_str(",\"run\":");
            json_str(line, r);
        }
        match e.kind {
            kind::OUTPUT => output_fields(line, e.payload, e.vals.as_ref().map_or(&[][..], |b| b.bytes())),
            _ if !self.values => {}
            kind::CALL => {
                if let Some(b) = &e.vals {
                    call_values(line, b.span());
                }
            }
            kind::RETURN => match &e.vals {
                Some(b) => one_value(line, "value", b.span()),
                None if e.payload == RETURN_UNDEFINED => line.push_str(",\"value\":{\"$\":\"undefined\"}"),
                None => {}
            },
            kind::CATCH | kind::THROW => {
                if let Some(b) = e.error.as_ref().or(e.vals.as_ref()) {
                    one_value(line, "error", b.span());
                }
            }
            _ => {}
        }
        line.push_str("}\n");
        self.w.write_all(line.as_bytes()).map_err(io)
    }

    fn finish(&mut self, _d: &Dict, end: u64) -> Result<()> {
        // A span never ended (the process exited, was killed, or the span
        // was left open) is reported as unfinished at the end of the trace.
        for ((thread, id), open) in std::mem::take(&mut self.spans) {
            let line = &mut self.line;
            line.clear();
            line.push_str("{\"kind\":\"span\"");
            if self.top_time {
                let _ = write!(line, ",\"t\":{end}");
            }
            line.push_str(&open.fields);
            let _ = write!(
                line,
                ",\"__noderec__\":{{\"phase\":\"unfinished\",\"id\":{id},\"status\":\"unfinished\",\"start\":{},\"t\":{end},\"thread\":{thread}",
                open.t_ns
            );
            if let Some(r) = &open.run {
                line.push_str(",\"run\":");
                json_str(line, r);
            }
            line.push_str("}}\n");
            self.w.write_all(line.as_bytes()).map_err(io)?;
        }
        self.w.flush().map_err(io)
    }
}
