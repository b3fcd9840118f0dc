//! JSON lines, streamed: the same objects as `trace::export::write_jsonl`
//! (trace-format.md, README "Reading a trace").

use std::fmt::Write as _;
use std::io::Write;

use super::stream::{Dict, Ev, Sink};
use super::{io, Options};
use crate::error::Result;
use crate::trace::export::{call_values, json_str, one_value, output_fields};
use crate::trace::format::{kind, RETURN_UNDEFINED};
use crate::trace::walk::CATCH_UNCAUGHT;

/// The JSON lines sink.
pub struct Jsonl {
    w: Box<dyn Write>,
    line: String,
    values: bool,
}

impl Jsonl {
    /// Writes to `w`.
    pub fn new(w: Box<dyn Write>, opts: &Options) -> Self {
        Jsonl { w, line: String::with_capacity(256), values: !opts.no_values }
    }
}

fn place(d: &Dict, f: Option<u32>) -> Option<(&str, &str, u32, u32)> {
    let f = d.funcs.get(&f?)?;
    Some((&f.name, d.path_of(f), f.line, f.col + 1))
}

impl Sink for Jsonl {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
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

    fn finish(&mut self, _d: &Dict, _end: u64) -> Result<()> {
        self.w.flush().map_err(io)
    }
}
