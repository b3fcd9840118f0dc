//! Exports: JSON lines (the documented, stable interface) and Chrome Trace
//! Event JSON (for Perfetto and speedscope).

use std::fmt::Write as _;
use std::io::Write;

use super::reader::{Event, Func, Trace};
use super::value::write_json;
use super::walk::{walk, Step, CATCH_UNCAUGHT};
use crate::error::{Error, Result};
use crate::io::chunk;
use crate::wire::format::read_varint;
use crate::wire::format::{kind, RETURN_UNDEFINED};

fn io(e: std::io::Error) -> Error {
    Error::io("write export", e)
}

/// Appends `s` as a JSON string literal (control characters a terminal
/// would obey escaped too; see [`crate::wire::json`]).
pub fn json_str(out: &mut String, s: &str) {
    crate::wire::json::write_str(out, s);
}

/// Writes the value at `*pos` of `rec` (the value bytes of its EVENTS record,
/// ending with the event's blob), or an `unreadable` marker.
pub(crate) fn value_or_marker(out: &mut String, rec: &[u8], pos: &mut usize) {
    let save = out.len();
    if write_json(rec, pos, out).is_err() {
        out.truncate(save);
        out.push_str("{\"$\":\"unreadable\"}");
        *pos = rec.len();
    }
}

/// Writes the call's arguments (and `this`) as `,"args":[..]` / `,"this":..`;
/// the blob is `rec[start..]`.
pub(crate) fn call_values(out: &mut String, (blob, start): (&[u8], usize)) {
    let mut pos = start;
    let Ok(n) = read_varint(blob, &mut pos) else { return };
    if n & 1 == 1 {
        out.push_str(",\"this\":");
        value_or_marker(out, blob, &mut pos);
    }
    out.push_str(",\"args\":[");
    for i in 0..(n >> 1) {
        if i > 0 {
            out.push(',');
        }
        value_or_marker(out, blob, &mut pos);
    }
    out.push(']');
}

pub(crate) fn one_value(out: &mut String, key: &str, (rec, start): (&[u8], usize)) {
    let _ = write!(out, ",\"{key}\":");
    let mut pos = start;
    value_or_marker(out, rec, &mut pos);
}

fn place<'a>(t: &'a Trace, f: Option<&'a Func>) -> (&'a str, &'a str, u32, u32) {
    match f {
        Some(f) => (&f.name, t.paths.get(&f.path).map_or("", |s| s.as_str()), f.line, f.col + 1),
        None => ("<unknown>", "", 0, 0),
    }
}

/// Writes one JSON object per event.
pub fn write_jsonl(t: &Trace, w: &mut dyn Write) -> Result<()> {
    let steps = walk(t);
    let mut line = String::with_capacity(256);
    for s in &steps {
        let e = &t.events[s.index];
        if e.kind == kind::MARK {
            // Runs, spans and logs are in the streamed jsonl export.
            continue;
        }
        line.clear();
        let kname = if e.kind == kind::CATCH && e.payload == CATCH_UNCAUGHT { "uncaught" } else { kind::name(e.kind) };
        // Await, yield and resume point at the site; the rest at the function.
        let at = match e.kind {
            kind::AWAIT | kind::YIELD | kind::RESUME => s.site.or(s.func),
            _ => s.func,
        };
        let (name, path, l, c) = place(t, s.func.and_then(|f| t.funcs.get(&f)));
        let (_, _, line_no, col) = place(t, at.and_then(|f| t.funcs.get(&f)));
        line.push_str("{\"kind\":\"");
        line.push_str(kname);
        line.push_str("\",\"fn\":");
        json_str(&mut line, name);
        line.push_str(",\"path\":");
        json_str(&mut line, path);
        let (line_no, col) = if at.is_some() { (line_no, col) } else { (l, c) };
        let _ = write!(
            line,
            ",\"line\":{line_no},\"col\":{col},\"t\":{},\"thread\":{},\"activation\":{},\"depth\":{}",
            s.t_ns, e.thread, s.activation, s.depth
        );
        values_of(t, s, e, &steps, &mut line);
        line.push_str("}\n");
        w.write_all(line.as_bytes()).map_err(io)?;
    }
    w.flush().map_err(io)
}

fn values_of(t: &Trace, s: &Step, e: &Event, steps: &[Step], line: &mut String) {
    let blob = t.blob(e);
    let span = t.value_span(e);
    match e.kind {
        kind::CALL if e.val_len > 0 => call_values(line, span),
        kind::RETURN if e.val_len > 0 => one_value(line, "value", span),
        kind::RETURN if e.payload == RETURN_UNDEFINED => line.push_str(",\"value\":{\"$\":\"undefined\"}"),
        kind::CATCH if e.val_len > 0 => one_value(line, "error", span),
        kind::OUTPUT => output_fields(line, e.payload, blob),
        kind::THROW => {
            if let Some(src) = s.error_from.and_then(|i| steps.get(i)).map(|st| &t.events[st.index]) {
                one_value(line, "error", t.value_span(src));
            } else if e.val_len > 0 {
                one_value(line, "error", span);
            }
        }
        _ => {}
    }
}

/// Writes `,"stream":..,"text"|"base64":..,"flags":[..]` of an OUTPUT event.
pub(crate) fn output_fields(out: &mut String, payload: u32, blob: &[u8]) {
    let (st, flags) = chunk::split_payload(payload);
    out.push_str(",\"stream\":\"");
    out.push_str(chunk::stream::name(st));
    out.push('"');
    let bytes = chunk::blob_bytes(blob).unwrap_or_default();
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            out.push_str(",\"text\":");
            json_str(out, s);
        }
        Err(_) => {
            out.push_str(",\"base64\":\"");
            out.push_str(&chunk::base64(bytes));
            out.push('"');
        }
    }
    let _ = write!(out, ",\"bytes\":{}", bytes.len());
    out.push_str(",\"flags\":[");
    for (i, n) in chunk::flag::names(flags).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{n}\"");
    }
    out.push(']');
}

struct Slice {
    name: String,
    start_ns: u64,
    args: String,
}

/// Writes Chrome Trace Event JSON: one complete (`X`) event per synchronous
/// stretch of an activation (a call up to its return, throw or first
/// suspension; each resume up to the next), with arguments, `this` and the
/// return value or error in `args`.
pub fn write_chrome(t: &Trace, pid: u32, w: &mut dyn Write) -> Result<()> {
    let steps = walk(t);
    let mut out = String::with_capacity(1 << 16);
    out.push_str("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    let mut first = true;
    for (id, name) in &t.threads {
        sep(&mut out, &mut first);
        let _ = write!(out, "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{id},\"args\":{{\"name\":");
        json_str(&mut out, name);
        out.push_str("}}");
    }
    let mut stacks: std::collections::HashMap<u32, Vec<Slice>> = std::collections::HashMap::new();
    for s in &steps {
        let e = &t.events[s.index];
        let stack = stacks.entry(e.thread).or_default();
        let f = s.func.and_then(|f| t.funcs.get(&f));
        match e.kind {
            kind::CALL | kind::RESUME => {
                let mut args = String::new();
                if e.kind == kind::CALL && e.val_len > 0 {
                    call_values(&mut args, t.value_span(e));
                }
                if let Some(f) = f {
                    let _ = write!(args, ",\"at\":");
                    json_str(
                        &mut args,
                        &format!("{}:{}:{}", t.paths.get(&f.path).map_or("", |p| p.as_str()), f.line, f.col + 1),
                    );
                }
                let mut name = f.map_or_else(|| "<unknown>".to_string(), |f| f.name.clone());
                if e.kind == kind::RESUME {
                    name.push_str(" (resumed)");
                }
                stack.push(Slice { name, start_ns: s.t_ns, args });
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                let Some(mut sl) = stack.pop() else { continue };
                match e.kind {
                    kind::RETURN if e.val_len > 0 => one_value(&mut sl.args, "return", t.value_span(e)),
                    kind::RETURN if e.payload == RETURN_UNDEFINED => {
                        sl.args.push_str(",\"return\":{\"$\":\"undefined\"}")
                    }
                    kind::THROW => {
                        sl.args.push_str(",\"threw\":true");
                        if let Some(src) = s.error_from.map(|i| &t.events[steps[i].index]) {
                            one_value(&mut sl.args, "error", t.value_span(src));
                        }
                    }
                    kind::AWAIT => sl.args.push_str(",\"suspended\":\"await\""),
                    kind::YIELD => sl.args.push_str(",\"suspended\":\"yield\""),
                    _ => {}
                }
                sep(&mut out, &mut first);
                emit_x(&mut out, pid, e.thread, &sl, s.t_ns);
            }
            kind::OUTPUT => {
                // An instant event on the thread's track, inside the slice of
                // the activation that printed it.
                let (st, _) = chunk::split_payload(e.payload);
                let mut args = String::new();
                output_fields(&mut args, e.payload, t.blob(e));
                let f = s.func.and_then(|f| t.funcs.get(&f));
                args.push_str(",\"fn\":");
                json_str(&mut args, f.map_or("<unknown>", |f| f.name.as_str()));
                let _ = write!(args, ",\"activation\":{}", s.activation);
                sep(&mut out, &mut first);
                let _ = write!(out, "{{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"output\",\"name\":\"{}\",\"pid\":{pid},\"tid\":{},\"ts\":{:.3},\"args\":{{", chunk::stream::name(st), e.thread, s.t_ns as f64 / 1000.0);
                out.push_str(args.strip_prefix(',').unwrap_or(&args));
                out.push_str("}}");
            }
            _ => {}
        }
        if out.len() > (1 << 20) {
            w.write_all(out.as_bytes()).map_err(io)?;
            out.clear();
        }
    }
    // Activations still open at the end (killed, or suspended forever).
    let end = steps.last().map_or(0, |s| s.t_ns);
    for (tid, stack) in stacks {
        for mut sl in stack.into_iter().rev() {
            sl.args.push_str(",\"unfinished\":true");
            sep(&mut out, &mut first);
            emit_x(&mut out, pid, tid, &sl, end);
        }
    }
    out.push_str("\n]}\n");
    w.write_all(out.as_bytes()).map_err(io)?;
    w.flush().map_err(io)
}

fn sep(out: &mut String, first: &mut bool) {
    if !*first {
        out.push_str(",\n");
    }
    *first = false;
}

fn emit_x(out: &mut String, pid: u32, tid: u32, sl: &Slice, end_ns: u64) {
    out.push_str("{\"ph\":\"X\",\"cat\":\"function\",\"name\":");
    json_str(out, &sl.name);
    let ts = sl.start_ns as f64 / 1000.0;
    let dur = end_ns.saturating_sub(sl.start_ns) as f64 / 1000.0;
    let _ = write!(out, ",\"pid\":{pid},\"tid\":{tid},\"ts\":{ts:.3},\"dur\":{dur:.3},\"args\":{{");
    let a = sl.args.strip_prefix(',').unwrap_or(&sl.args);
    out.push_str(a);
    out.push_str("}}");
}
