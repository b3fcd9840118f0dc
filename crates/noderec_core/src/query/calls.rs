//! Queries over a trace: the calls of functions matching a name glob that
//! took at least a given time (`noderec calls`).

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::trace::reader::Trace;
use crate::trace::value::write_json;
use crate::trace::walk::walk;
use crate::wire::format::kind;
use crate::wire::format::read_varint;
use crate::wire::json::write_str as json_str;
use noderec_glob::glob::Glob;

/// What to select.
#[derive(Debug, Clone, Default)]
pub struct CallQuery {
    /// picomatch glob on the qualified function name (`*` = any).
    pub fn_glob: Option<String>,
    /// Minimum duration in nanoseconds (call to return or throw, suspensions included).
    pub min_ns: u64,
    /// At most this many rows (0 = no limit), slowest first.
    pub limit: usize,
    /// Only these calls ((thread, activation) → the `runId` they ran in,
    /// given in the row as `run`): the run filters' selection
    /// (`export::stream::selected_calls`).
    pub only: Option<HashMap<(u32, u64), String>>,
}

struct Open {
    index: usize,
}

fn value_json(blob: &[u8], pos: &mut usize, out: &mut String) {
    let save = out.len();
    if write_json(blob, pos, out).is_err() {
        out.truncate(save);
        out.push_str("{\"$\":\"unreadable\"}");
    }
}

/// Runs the query; returns one JSON object per selected call, slowest first:
/// `{fn, path, line, thread, activation, depth, t, dur, args, value|error, threw, finished}`.
pub fn calls(t: &Trace, q: &CallQuery) -> Result<Vec<String>, String> {
    let glob = match &q.fn_glob {
        Some(g) => Some(Glob::new(g).map_err(|e| format!("--fn {g:?}: {e}"))?),
        None => None,
    };
    let steps = walk(t);
    let mut open: HashMap<(u32, u64), Open> = HashMap::new();
    let mut rows: Vec<(u64, String)> = Vec::new();
    let name_ok = |f: Option<u32>| -> bool {
        match (&glob, f.and_then(|f| t.funcs.get(&f))) {
            (None, _) => true,
            (Some(g), Some(func)) => g.is_match(&func.name),
            (Some(_), None) => false,
        }
    };
    let emit = |s_call: usize, end_ns: u64, end: Option<usize>, rows: &mut Vec<(u64, String)>| {
        let cs = &steps[s_call];
        let dur = end_ns.saturating_sub(cs.t_ns);
        if dur < q.min_ns {
            return;
        }
        let ce = &t.events[cs.index];
        let f = cs.func.and_then(|f| t.funcs.get(&f));
        let mut o = String::with_capacity(160);
        o.push_str("{\"fn\":");
        json_str(&mut o, f.map_or("<unknown>", |f| f.name.as_str()));
        o.push_str(",\"path\":");
        json_str(&mut o, f.and_then(|f| t.paths.get(&f.path)).map_or("", |p| p.as_str()));
        if let Some(r) = q.only.as_ref().and_then(|m| m.get(&(ce.thread, cs.activation))) {
            o.push_str(",\"run\":");
            json_str(&mut o, r);
        }
        let _ = write!(
            o,
            ",\"line\":{},\"thread\":{},\"activation\":{},\"depth\":{},\"t\":{},\"dur\":{}",
            f.map_or(0, |f| f.line),
            ce.thread,
            cs.activation,
            cs.depth,
            cs.t_ns,
            dur
        );
        if ce.val_len > 0 {
            let (blob, start) = t.value_span(ce);
            let mut pos = start;
            if let Ok(n) = read_varint(blob, &mut pos) {
                if n & 1 == 1 {
                    o.push_str(",\"this\":");
                    value_json(blob, &mut pos, &mut o);
                }
                o.push_str(",\"args\":[");
                for i in 0..(n >> 1) {
                    if i > 0 {
                        o.push(',');
                    }
                    value_json(blob, &mut pos, &mut o);
                }
                o.push(']');
            }
        }
        match end {
            Some(ei) => {
                let es = &steps[ei];
                let ee = &t.events[es.index];
                if ee.kind == kind::RETURN {
                    if ee.val_len > 0 {
                        o.push_str(",\"value\":");
                        let (rec, start) = t.value_span(ee);
                        value_json(rec, &mut { start }, &mut o);
                    } else if ee.payload == crate::wire::format::RETURN_UNDEFINED {
                        o.push_str(",\"value\":{\"$\":\"undefined\"}");
                    }
                } else {
                    o.push_str(",\"threw\":true");
                    if let Some(src) = es.error_from {
                        o.push_str(",\"error\":");
                        let (rec, start) = t.value_span(&t.events[steps[src].index]);
                        value_json(rec, &mut { start }, &mut o);
                    }
                }
            }
            None => o.push_str(",\"finished\":false"),
        }
        o.push('}');
        rows.push((dur, o));
    };
    for (i, s) in steps.iter().enumerate() {
        let e = &t.events[s.index];
        match e.kind {
            kind::CALL
                if name_ok(s.func) && q.only.as_ref().is_none_or(|m| m.contains_key(&(e.thread, s.activation))) =>
            {
                open.insert((e.thread, s.activation), Open { index: i });
            }
            kind::RETURN | kind::THROW => {
                if let Some(o) = open.remove(&(e.thread, s.activation)) {
                    emit(o.index, s.t_ns, Some(i), &mut rows);
                }
            }
            _ => {}
        }
    }
    let end = steps.last().map_or(0, |s| s.t_ns);
    let mut left: Vec<Open> = open.into_values().collect();
    left.sort_by_key(|o| o.index);
    for o in left {
        emit(o.index, end, None, &mut rows);
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    if q.limit > 0 {
        rows.truncate(q.limit);
    }
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}
