//! Chrome Trace Event JSON, streamed, laid out so that speedscope
//! aggregates by function and Perfetto shows the values.
//!
//! speedscope keys a trace event's frame by `name` plus
//! `JSON.stringify(args)` whenever `args` is present
//! (`getEventId` in its `src/import/trace-event.ts`), so per-call values in
//! `args` would make every call its own frame. So: each synchronous stretch
//! of an activation is one complete (`X`) event with the function's
//! identity (`name (path:line:col)`) as its name and no `args`; its values
//! (arguments, `this`, the return value or error) go on an instant (`i`)
//! event of category `values` at the stretch's end, which speedscope
//! ignores and Perfetto lists. `--no-values` leaves those out.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use super::fields::{call_values, json_str, one_value, output_fields};
use super::stream::{Dict, Ev, Sink};
use super::{io, Options};
use crate::error::Result;
use crate::io::chunk;
use crate::wire::format::{kind, RETURN_UNDEFINED};

struct Open {
    act: u64,
    func: Option<u32>,
    start_ns: u64,
    resumed: bool,
    args: String,
}

/// The Chrome Trace Event sink.
pub struct Chrome {
    w: Box<dyn Write>,
    pid: u32,
    values: bool,
    out: String,
    first: bool,
    stacks: HashMap<u32, Vec<Open>>,
    /// Function id → its name as a JSON string literal.
    names: HashMap<u32, String>,
}

impl Chrome {
    /// Writes to `w`; `pid` is the recorded process's.
    pub fn new(w: Box<dyn Write>, pid: u32, opts: &Options) -> Self {
        let mut out = String::with_capacity(1 << 16);
        out.push_str("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        Chrome { w, pid, values: !opts.no_values, out, first: true, stacks: HashMap::new(), names: HashMap::new() }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push_str(",\n");
        }
        self.first = false;
    }

    fn name(&mut self, d: &Dict, func: Option<u32>) -> String {
        let Some(f) = func else { return "\"<unknown>\"".into() };
        if let Some(n) = self.names.get(&f) {
            return n.clone();
        }
        let mut s = String::new();
        json_str(&mut s, &d.identity(Some(f)));
        self.names.insert(f, s.clone());
        s
    }

    fn close(&mut self, d: &Dict, tid: u32, o: Open, end_ns: u64, unfinished: bool, extra: &str) {
        let name = self.name(d, o.func);
        let pid = self.pid;
        self.sep();
        let cat = match (o.resumed, unfinished) {
            (false, false) => "function",
            (true, false) => "function,resumed",
            (false, true) => "function,unfinished",
            (true, true) => "function,resumed,unfinished",
        };
        let _ = write!(
            self.out,
            "{{\"ph\":\"X\",\"cat\":\"{cat}\",\"name\":{name},\"pid\":{pid},\"tid\":{tid},\"ts\":{:.3},\"dur\":{:.3}}}",
            o.start_ns as f64 / 1000.0,
            end_ns.saturating_sub(o.start_ns) as f64 / 1000.0
        );
        if self.values && (!o.args.is_empty() || !extra.is_empty()) {
            self.sep();
            let _ = write!(
                self.out,
                "{{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"values\",\"name\":{name},\"pid\":{pid},\"tid\":{tid},\"ts\":{:.3},\"args\":{{\"activation\":{}",
                end_ns as f64 / 1000.0,
                o.act
            );
            self.out.push_str(&o.args);
            self.out.push_str(extra);
            self.out.push_str("}}");
        }
    }

    fn spill(&mut self) -> Result<()> {
        if self.out.len() > (1 << 20) {
            self.w.write_all(self.out.as_bytes()).map_err(io)?;
            self.out.clear();
        }
        Ok(())
    }
}

impl Sink for Chrome {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        if e.kind == kind::MARK {
            // Runs, spans and logs: only the jsonl export shows them.
            return Ok(());
        }
        if let std::collections::hash_map::Entry::Vacant(v) = self.stacks.entry(e.thread) {
            v.insert(Vec::new());
            let pid = self.pid;
            self.sep();
            let _ = write!(
                self.out,
                "{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{},\"args\":{{\"name\":",
                e.thread
            );
            json_str(&mut self.out, d.threads.get(&e.thread).map_or("thread", |s| s.as_str()));
            self.out.push_str("}}");
        }
        match e.kind {
            kind::CALL | kind::RESUME => {
                let mut args = String::new();
                if self.values && e.kind == kind::CALL {
                    if let Some(b) = &e.vals {
                        call_values(&mut args, b.span());
                    }
                }
                let o =
                    Open { act: e.activation, func: e.func, start_ns: e.t_ns, resumed: e.kind == kind::RESUME, args };
                if let Some(s) = self.stacks.get_mut(&e.thread) {
                    s.push(o);
                }
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                // A stretch that began before `--from` has no open slice.
                let Some(stack) = self.stacks.get_mut(&e.thread) else { return Ok(()) };
                if stack.last().is_none_or(|o| o.act != e.activation) {
                    return Ok(());
                }
                let Some(o) = stack.pop() else { return Ok(()) };
                let mut extra = String::new();
                match e.kind {
                    kind::RETURN if self.values => match &e.vals {
                        Some(b) => one_value(&mut extra, "return", b.span()),
                        None if e.payload == RETURN_UNDEFINED => extra.push_str(",\"return\":{\"$\":\"undefined\"}"),
                        None => {}
                    },
                    kind::THROW => {
                        extra.push_str(",\"threw\":true");
                        if self.values {
                            if let Some(b) = e.error.as_ref().or(e.vals.as_ref()) {
                                one_value(&mut extra, "error", b.span());
                            }
                        }
                    }
                    kind::AWAIT => extra.push_str(",\"suspended\":\"await\""),
                    kind::YIELD => extra.push_str(",\"suspended\":\"yield\""),
                    _ => {}
                }
                self.close(d, e.thread, o, e.t_ns, false, &extra);
            }
            kind::OUTPUT => {
                let (st, _) = chunk::split_payload(e.payload);
                let mut args = String::new();
                output_fields(&mut args, e.payload, e.vals.as_ref().map_or(&[][..], |b| b.bytes()));
                args.push_str(",\"fn\":");
                let f = e.func.and_then(|f| d.funcs.get(&f));
                json_str(&mut args, f.map_or("<unknown>", |f| f.name.as_str()));
                let _ = write!(args, ",\"activation\":{}", e.activation);
                let pid = self.pid;
                self.sep();
                let _ = write!(
                    self.out,
                    "{{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"output\",\"name\":\"{}\",\"pid\":{pid},\"tid\":{},\"ts\":{:.3},\"args\":{{",
                    chunk::stream::name(st),
                    e.thread,
                    e.t_ns as f64 / 1000.0
                );
                self.out.push_str(args.strip_prefix(',').unwrap_or(&args));
                self.out.push_str("}}");
            }
            _ => {}
        }
        self.spill()
    }

    fn finish(&mut self, d: &Dict, end_ns: u64) -> Result<()> {
        // Activations still open at the end (killed, or suspended forever).
        let mut tids: Vec<u32> = self.stacks.keys().copied().collect();
        tids.sort_unstable();
        for tid in tids {
            let stack = self.stacks.remove(&tid).unwrap_or_default();
            for o in stack.into_iter().rev() {
                self.close(d, tid, o, end_ns, true, ",\"unfinished\":true");
            }
        }
        self.out.push_str("\n]}\n");
        self.w.write_all(self.out.as_bytes()).map_err(io)?;
        self.out.clear();
        self.w.flush().map_err(io)
    }
}
