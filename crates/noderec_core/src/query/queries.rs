//! The queries answered from an index: a summary, pages of activations with
//! their values, the children of an activation, flame-chart rectangles at a
//! zoom level, the output printed during a call, the history of one value
//! of a function with diffs, and a comparison of two traces.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::diff::{diff, pick, Change};
use super::index::{flag, Act, FnStats, Index, NO_EVENT};
use crate::trace::value::write_json;
use crate::wire::format::read_varint;
use crate::wire::format::{kind, RETURN_UNDEFINED};
use noderec_glob::glob::Glob;

/// Records read at once when scanning.
const BLOCK: usize = 4096;

/// A function with its statistics.
#[derive(Debug, Clone, Serialize)]
pub struct FnRow {
    /// Function id.
    pub id: u32,
    /// Qualified name.
    pub name: String,
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Calls.
    pub calls: u64,
    /// Inclusive time (recursion counted once), ns.
    pub incl_ns: u64,
    /// Self time, ns.
    pub self_ns: u64,
    /// Throws.
    pub throws: u64,
}

/// Functions with statistics, sorted by `key` (largest first), at most `n`.
pub fn top_functions(ix: &Index, n: usize, by_self: bool) -> Vec<FnRow> {
    let mut v: Vec<&FnStats> = ix.meta.stats.iter().collect();
    v.sort_by(|a, b| {
        let (ka, kb) = if by_self { (a.self_ns, b.self_ns) } else { (a.incl_ns, b.incl_ns) };
        kb.cmp(&ka).then(b.calls.cmp(&a.calls)).then(a.id.cmp(&b.id))
    });
    v.into_iter().take(n).map(|s| fn_row(ix, s)).collect()
}

fn fn_row(ix: &Index, s: &FnStats) -> FnRow {
    let f = ix.func(s.id);
    FnRow {
        id: s.id,
        name: f.map_or_else(|| "<unknown>".into(), |f| f.name.clone()),
        path: f.map_or_else(String::new, |f| f.path.clone()),
        line: f.map_or(0, |f| f.line),
        calls: s.calls,
        incl_ns: s.incl_ns,
        self_ns: s.self_ns,
        throws: s.throws,
    }
}

/// The recorded values of one activation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallValues {
    /// `this`, when recorded.
    pub this: Option<Value>,
    /// Arguments (absent when values were not captured).
    pub args: Option<Vec<Value>>,
    /// Return value (`{"$":"undefined"}` for a plain `return`).
    pub value: Option<Value>,
    /// The error that left the activation, when known.
    pub error: Option<Value>,
}

fn json_at(rec: &[u8], pos: &mut usize) -> Value {
    let mut s = String::new();
    if write_json(rec, pos, &mut s).is_err() {
        *pos = rec.len();
        return serde_json::json!({"$": "unreadable"});
    }
    serde_json::from_str(&s).unwrap_or_else(|_| serde_json::json!({"$": "unreadable"}))
}

/// Reads the values of activation `a`.
pub fn call_values(ix: &mut Index, a: &Act) -> CallValues {
    let mut out = CallValues::default();
    if let Some((t, i)) = ix.event_chunk(a.call_ev) {
        let e = t.events[i];
        if e.val_len > 0 && e.kind == kind::CALL {
            let (rec, start) = t.value_span(&e);
            let mut pos = start;
            if let Ok(n) = read_varint(rec, &mut pos) {
                if n & 1 == 1 {
                    out.this = Some(json_at(rec, &mut pos));
                }
                out.args = Some((0..(n >> 1)).map(|_| json_at(rec, &mut pos)).collect());
            }
        }
    }
    if a.end_ev != NO_EVENT {
        if let Some((t, i)) = ix.event_chunk(a.end_ev) {
            let e = t.events[i];
            if e.kind == kind::RETURN {
                if e.val_len > 0 {
                    let (rec, start) = t.value_span(&e);
                    out.value = Some(json_at(rec, &mut { start }));
                } else if e.payload == RETURN_UNDEFINED {
                    out.value = Some(serde_json::json!({"$": "undefined"}));
                }
            } else if e.kind == kind::CATCH && e.val_len > 0 {
                let (rec, start) = t.value_span(&e);
                out.error = Some(json_at(rec, &mut { start }));
            }
        }
    }
    out
}

/// One activation, as queries return it.
#[derive(Debug, Clone, Serialize)]
pub struct ActRow {
    /// Thread.
    pub thread: u32,
    /// Activation number (per thread, from 1).
    pub act: u32,
    /// Caller's activation number (0 = none).
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
    /// Start, ns since the session started.
    pub start_ns: u64,
    /// Duration, ns (to the last time seen while it runs).
    pub dur_ns: u64,
    /// Returned or threw.
    pub finished: bool,
    /// Left by an exception.
    pub threw: bool,
    /// Suspended at least once (await/yield).
    pub suspended: bool,
    /// The `runId` of the run it was called in.
    pub run: Option<String>,
    /// Values, when asked for.
    pub values: Option<CallValues>,
}

/// Turns a record into a row.
pub fn act_row(ix: &mut Index, thread: u32, n: u64, a: &Act, values: bool) -> ActRow {
    let f = ix.func(a.func);
    let (name, path, line) =
        f.map_or_else(|| ("<unknown>".to_string(), String::new(), 0), |f| (f.name.clone(), f.path.clone(), f.line));
    ActRow {
        thread,
        act: n as u32,
        parent: a.parent,
        depth: u32::from(a.depth),
        fn_id: a.func,
        name,
        path,
        line,
        start_ns: a.start_ns,
        dur_ns: a.dur(),
        finished: a.finished(),
        threw: a.flags & flag::THREW != 0,
        suspended: a.flags & flag::SUSPENDED != 0,
        run: a.run.checked_sub(1).and_then(|i| ix.meta.runs.get(i as usize)).map(|r| r.run_id.clone()),
        values: values.then(|| call_values(ix, a)),
    }
}

/// What `timeline` selects.
#[derive(Debug, Clone, Default)]
pub struct TimelineQuery {
    /// Only this thread (all when absent, thread by thread).
    pub thread: Option<u32>,
    /// Activations starting at or after (ns).
    pub from_ns: Option<u64>,
    /// ... and at or before (ns).
    pub to_ns: Option<u64>,
    /// Function name glob.
    pub fn_glob: Option<String>,
    /// File glob.
    pub file_glob: Option<String>,
    /// Function kind (`function`, `method`, `arrow`, ... as in the trace's FUNC records).
    pub fn_kind: Option<String>,
    /// `finished`, `threw` or `running`.
    pub status: Option<String>,
    /// Minimum duration (ns).
    pub min_dur_ns: u64,
    /// Rows per page (default 100).
    pub limit: usize,
    /// Where the previous page stopped (`cursor` of its result).
    pub cursor: Option<String>,
    /// Include values.
    pub values: bool,
    /// Only activations called in the runs these filters select.
    pub runs: RunFilter,
}

/// Selects runs (`noderec.run`): each given field must match. An activation
/// belongs to the run it was called in; with any field given, activations
/// called outside every run are left out.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// The run with this `runId`, or a run nested in it (on its thread, or
    /// naming it as `parentRunId`).
    pub run: Option<String>,
    /// Runs of this domain (inherited from the run nested in).
    pub domain: Option<String>,
    /// Runs of this level (as text; inherited like the domain).
    pub level: Option<String>,
    /// Runs with this `sampleId` (as text).
    pub sample: Option<String>,
    /// Runs with this `iteration` (as text).
    pub iteration: Option<String>,
}

impl RunFilter {
    /// True when no field is given.
    pub fn is_empty(&self) -> bool {
        self.run.is_none()
            && self.domain.is_none()
            && self.level.is_none()
            && self.sample.is_none()
            && self.iteration.is_none()
    }

    /// Per run of the index (by position), whether the filter selects it;
    /// `None` when the filter is empty (everything is selected, also what
    /// ran outside runs).
    pub fn select(&self, ix: &Index) -> Option<Vec<bool>> {
        if self.is_empty() {
            return None;
        }
        let runs = &ix.meta.runs;
        let by_id: HashMap<&str, usize> = runs.iter().enumerate().map(|(i, r)| (r.run_id.as_str(), i)).collect();
        // Whether run i is `want` or nested in it: follow parents (on the
        // thread, else by `parentRunId`), at most runs.len() steps.
        let in_run = |mut i: usize, want: &str| {
            for _ in 0..=runs.len() {
                let r = &runs[i];
                if r.run_id == want {
                    return true;
                }
                let up = match r.parent.checked_sub(1) {
                    Some(p) => Some(p as usize),
                    None => r.parent_run_id.as_deref().and_then(|p| by_id.get(p).copied()),
                };
                match up {
                    Some(p) if p != i && p < runs.len() => i = p,
                    _ => return false,
                }
            }
            false
        };
        let eq = |f: &Option<String>, v: &Option<String>| f.as_ref().is_none_or(|f| v.as_ref() == Some(f));
        Some(
            runs.iter()
                .enumerate()
                .map(|(i, r)| {
                    self.run.as_deref().is_none_or(|w| in_run(i, w))
                        && eq(&self.domain, &r.domain)
                        && eq(&self.level, &r.level)
                        && eq(&self.sample, &r.sample_id)
                        && eq(&self.iteration, &r.iteration)
                })
                .collect(),
        )
    }
}

/// Whether activation `a` is in a selected run (`None`: no filter).
fn run_kept(sel: &Option<Vec<bool>>, a: &Act) -> bool {
    if a.flags & flag::CLEARED != 0 {
        return false;
    }
    match sel {
        None => true,
        Some(s) => a.run.checked_sub(1).is_some_and(|i| s.get(i as usize).copied().unwrap_or(false)),
    }
}

/// A page of activations.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePage {
    /// The activations, per thread in call order.
    pub rows: Vec<ActRow>,
    /// Give this back for the next page; absent after the last.
    pub cursor: Option<String>,
}

fn compile(g: &Option<String>, what: &str) -> Result<Option<Glob>, String> {
    match g {
        Some(g) if !g.is_empty() => Glob::new(g).map(Some).map_err(|e| format!("{what} {g:?}: {e}")),
        _ => Ok(None),
    }
}

/// Which functions match name and file globs (`None` = all).
fn fn_filter(
    ix: &Index,
    name: &Option<Glob>,
    file: &Option<Glob>,
    fkind: Option<&str>,
) -> Option<std::collections::HashSet<u32>> {
    if name.is_none() && file.is_none() && fkind.is_none() {
        return None;
    }
    Some(
        ix.meta
            .funcs
            .iter()
            .filter(|f| {
                name.as_ref().is_none_or(|g| g.is_match(&f.name)) && file.as_ref().is_none_or(|g| g.is_match(&f.path))
            })
            .map(|f| f.id)
            .collect(),
    )
}

/// Pages of activations matching `q`.
pub fn timeline(ix: &mut Index, q: &TimelineQuery) -> Result<TimelinePage, String> {
    let name = compile(&q.fn_glob, "fn")?;
    let file = compile(&q.file_glob, "file")?;
    let only = fn_filter(ix, &name, &file, q.fn_kind.as_deref().filter(|k| !k.is_empty()));
    let sel = q.runs.select(ix);
    if sel.as_ref().is_some_and(|s| !s.contains(&true)) {
        return Ok(TimelinePage { rows: Vec::new(), cursor: None });
    }
    let limit = if q.limit == 0 { 100 } else { q.limit };
    let (mut th0, mut n0) = (None, None);
    if let Some(c) = &q.cursor {
        let (a, b) = c.split_once(':').ok_or_else(|| format!("cursor {c:?} is not one this query gave"))?;
        th0 = Some(a.parse::<u32>().map_err(|_| format!("cursor {c:?} is not one this query gave"))?);
        n0 = Some(b.parse::<u64>().map_err(|_| format!("cursor {c:?} is not one this query gave"))?);
    }
    let threads: Vec<u32> = match q.thread {
        Some(t) => vec![t],
        None => ix.meta.threads.iter().map(|t| t.id).collect(),
    };
    let mut rows = Vec::new();
    for th in threads {
        if th0.is_some_and(|t0| th < t0) {
            continue;
        }
        let total = ix.thread(th).map_or(0, |t| t.acts);
        let mut n = match (th0, n0) {
            (Some(t0), Some(n)) if t0 == th => n,
            _ => q.from_ns.map_or(1, |f| ix.first_at(th, f)),
        };
        while n <= total {
            let block = ix.acts(th, n, BLOCK);
            if block.is_empty() {
                break;
            }
            for a in &block {
                if q.to_ns.is_some_and(|to| a.start_ns > to) {
                    n = total + 1;
                    break;
                }
                let keep = only.as_ref().is_none_or(|s| s.contains(&a.func))
                    && run_kept(&sel, a)
                    && a.dur() >= q.min_dur_ns
                    && match q.status.as_deref() {
                        Some("threw") => a.flags & flag::THREW != 0,
                        Some("finished") => a.finished(),
                        Some("running") => !a.finished(),
                        _ => true,
                    };
                if keep {
                    if rows.len() == limit {
                        return Ok(TimelinePage { rows, cursor: Some(format!("{th}:{n}")) });
                    }
                    let r = act_row(ix, th, n, a, q.values);
                    rows.push(r);
                }
                n += 1;
            }
        }
    }
    Ok(TimelinePage { rows, cursor: None })
}

/// The children of activation `act` of `thread` (`act` 0: the activations
/// called from the event loop), from child number `from` on, at most `limit`.
/// With a run filter, only children called in a selected run; the roots
/// (`act` 0) are then the outermost activations of the selected runs: those
/// whose caller is not in one (a scan of the thread's records).
pub fn children(ix: &mut Index, thread: u32, act: u64, limit: usize, after: u64, runs: &RunFilter) -> Vec<ActRow> {
    let total = ix.thread(thread).map_or(0, |t| t.acts);
    let limit = if limit == 0 { 200 } else { limit };
    let sel = runs.select(ix);
    if let (Some(s), 0) = (&sel, act) {
        let mut out = Vec::new();
        if !s.contains(&true) {
            return out;
        }
        let mut n = after + 1;
        while n <= total && out.len() < limit {
            let block = ix.acts(thread, n, BLOCK);
            if block.is_empty() {
                break;
            }
            for a in &block {
                if out.len() == limit {
                    break;
                }
                if run_kept(&sel, a) {
                    let outer =
                        a.parent == 0 || ix.act(thread, u64::from(a.parent)).is_none_or(|p| !run_kept(&sel, &p));
                    if outer {
                        out.push(act_row(ix, thread, n, a, false));
                    }
                }
                n += 1;
            }
        }
        return out;
    }
    let (mut n, end) = if act == 0 {
        (after + 1, u64::MAX)
    } else {
        match ix.act(thread, act) {
            Some(a) => ((act + 1).max(after + 1), a.end_ns),
            None => return Vec::new(),
        }
    };
    let mut out = Vec::new();
    while n <= total && out.len() < limit {
        let block = ix.acts(thread, n, BLOCK);
        if block.is_empty() {
            break;
        }
        let mut skip_to = None;
        for a in &block {
            if a.start_ns > end || out.len() == limit {
                return out;
            }
            if u64::from(a.parent) == act {
                if run_kept(&sel, a) {
                    let r = act_row(ix, thread, n, a, false);
                    out.push(r);
                }
                // A child that never suspended was on the stack from its call
                // to its end: everything that started in between is below it.
                if a.finished() && a.flags & flag::SUSPENDED == 0 {
                    let next = ix.first_at(thread, a.end_ns);
                    if next > n + 1 {
                        skip_to = Some(next);
                        break;
                    }
                }
            }
            n += 1;
        }
        if let Some(s) = skip_to {
            n = s;
        }
    }
    out
}

/// A rectangle of the flame chart: one activation, or a cluster of
/// activations too narrow to draw one by one.
#[derive(Debug, Clone, Serialize)]
pub struct FlameRect {
    /// Activation number (of the first activation of a cluster).
    pub act: u32,
    /// Depth (row).
    pub depth: u32,
    /// Function id (of the first activation of a cluster).
    pub fn_id: u32,
    /// Start (ns).
    pub start_ns: u64,
    /// End (ns).
    pub end_ns: u64,
    /// Activations merged into it (1 = a single one).
    pub count: u32,
    /// Left by an exception.
    pub threw: bool,
}

/// The flame chart of `thread` between `from` and `to` (ns) at `px` pixels:
/// activations at least a pixel wide one by one; everything that starts
/// inside a pixel column below one narrower than a pixel is merged into it.
/// Reads a bounded number of records: about `px` × (visible depth) plus a
/// binary search per column skipped.
pub fn flame(ix: &Index, thread: u32, from: u64, to: u64, px: u32, max_rects: usize) -> Vec<FlameRect> {
    let mut out: Vec<FlameRect> = Vec::new();
    let total = ix.thread(thread).map_or(0, |t| t.acts);
    if to <= from || total == 0 {
        return out;
    }
    let ns_px = ((to - from) / u64::from(px.max(1))).max(1);
    // Activations open at `from`: the one running then and its callers.
    let first = ix.first_at(thread, from);
    let mut anc = Vec::new();
    let mut cur = first.saturating_sub(1);
    let mut guard = 0;
    while cur > 0 && guard < 10_000 {
        guard += 1;
        let Some(a) = ix.act(thread, cur) else { break };
        if a.end_ns > from {
            anc.push((cur, a));
        }
        cur = u64::from(a.parent);
    }
    anc.reverse();
    for (n, a) in anc {
        out.push(rect(n, &a, 1));
    }
    let mut n = first;
    while n <= total && out.len() < max_rects {
        let block = ix.acts(thread, n, 256);
        if block.is_empty() {
            break;
        }
        let mut skip_to = None;
        for a in &block {
            if a.start_ns > to {
                return out;
            }
            if a.flags & flag::CLEARED != 0 {
                n += 1;
                continue;
            }
            if a.dur() >= ns_px {
                out.push(rect(n, a, 1));
                n += 1;
                continue;
            }
            // Narrower than a pixel: it and everything that starts in the
            // same column merge into one cluster at its depth.
            let col_end = from + ((a.start_ns.saturating_sub(from)) / ns_px + 1) * ns_px;
            let next = ix.first_at(thread, col_end).max(n + 1);
            let mut r = rect(n, a, (next - n).min(u64::from(u32::MAX)) as u32);
            r.end_ns = r.end_ns.max(col_end.min(a.end_ns.max(r.start_ns + ns_px)));
            out.push(r);
            skip_to = Some(next);
            break;
        }
        match skip_to {
            Some(s) => n = s,
            None => n += block.len() as u64,
        }
    }
    out
}

fn rect(n: u64, a: &Act, count: u32) -> FlameRect {
    FlameRect {
        act: n as u32,
        depth: u32::from(a.depth),
        fn_id: a.func,
        start_ns: a.start_ns,
        end_ns: a.end_ns,
        count,
        threw: a.flags & flag::THREW != 0,
    }
}

/// Output written or read during an activation (its own and its callees').
#[derive(Debug, Clone, Serialize)]
pub struct OutputPiece {
    /// `stdin`, `stdout` or `stderr`.
    pub stream: String,
    /// The bytes as text (lossy UTF-8).
    pub text: String,
}

/// The output recorded on the activation's thread between its call and its
/// end, at most `max_bytes` (and at most 1M events scanned).
pub fn output_during(ix: &mut Index, thread: u32, a: &Act, max_bytes: usize) -> Vec<OutputPiece> {
    let mut out: Vec<OutputPiece> = Vec::new();
    let end = if a.end_ev == NO_EVENT { ix.meta.events } else { a.end_ev };
    let mut ev = a.call_ev;
    let mut bytes = 0;
    while ev < end && ev < a.call_ev + (1 << 20) && bytes < max_bytes {
        let Some((t, i)) = ix.event_chunk(ev) else { break };
        let n = t.events.len();
        for e in &t.events[i..] {
            if ev >= end || bytes >= max_bytes {
                break;
            }
            if e.kind == kind::OUTPUT && e.thread == thread {
                let (stream, _) = crate::io::chunk::split_payload(e.payload);
                let b = crate::io::chunk::blob_bytes(t.blob(e)).unwrap_or(&[]);
                let take = b.len().min(max_bytes - bytes);
                bytes += take;
                let name = crate::io::chunk::stream::name(stream).to_string();
                let text = String::from_utf8_lossy(&b[..take]).into_owned();
                match out.last_mut() {
                    Some(p) if p.stream == name => p.text.push_str(&text),
                    _ => out.push(OutputPiece { stream: name, text }),
                }
            }
            ev += 1;
        }
        if n == i {
            break;
        }
    }
    out
}

/// One call in a value history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// Thread.
    pub thread: u32,
    /// Activation.
    pub act: u32,
    /// Start (ns).
    pub start_ns: u64,
    /// The value at the path (absent when the call did not have it).
    pub value: Option<Value>,
    /// Changes from the previous entry's value.
    pub changes: Vec<Change>,
}

/// Successive values of `path` (`args.0.x`, `this.count`, `return`, `error`,
/// or a parameter name first: `cart.items`) over the calls of the functions
/// matching `fn_glob`, in time order, at most `limit` calls.
pub fn value_history(
    ix: &mut Index,
    fn_glob: &str,
    path: &str,
    limit: usize,
    runs: &RunFilter,
) -> Result<Vec<HistoryEntry>, String> {
    let g = Glob::new(fn_glob).map_err(|e| format!("fn {fn_glob:?}: {e}"))?;
    let sel = runs.select(ix);
    let limit = if limit == 0 { 200 } else { limit };
    let fns: HashMap<u32, Vec<String>> =
        ix.meta.funcs.iter().filter(|f| g.is_match(&f.name)).map(|f| (f.id, f.params.clone())).collect();
    if fns.is_empty() {
        return Ok(Vec::new());
    }
    // Calls of the functions, in time order across threads.
    let mut calls: Vec<(u64, u32, u64, Act)> = Vec::new();
    for th in ix.meta.threads.iter().map(|t| t.id).collect::<Vec<_>>() {
        let total = ix.thread(th).map_or(0, |t| t.acts);
        let mut n = 1;
        let mut got = 0;
        while n <= total && got < limit {
            let block = ix.acts(th, n, BLOCK);
            if block.is_empty() {
                break;
            }
            for a in &block {
                if fns.contains_key(&a.func) && run_kept(&sel, a) && got < limit {
                    calls.push((a.start_ns, th, n, *a));
                    got += 1;
                }
                n += 1;
            }
        }
    }
    calls.sort_by_key(|c| (c.0, c.1, c.2));
    calls.truncate(limit);
    let mut out: Vec<HistoryEntry> = Vec::new();
    for (start, th, n, a) in calls {
        let v = call_values(ix, &a);
        let params = fns.get(&a.func).cloned().unwrap_or_default();
        let mut segs = path.splitn(2, '.');
        let head = segs.next().unwrap_or("");
        let rest = segs.next().unwrap_or("");
        let root: Option<Value> = match head {
            "return" | "value" => v.value.clone(),
            "error" => v.error.clone(),
            "this" => v.this.clone(),
            "args" => v.args.clone().map(Value::Array),
            p => params.iter().position(|x| x == p).and_then(|i| v.args.as_ref().and_then(|a| a.get(i)).cloned()),
        };
        let value = root.as_ref().and_then(|r| pick(r, rest)).cloned();
        let changes = match (out.last().and_then(|p| p.value.as_ref()), value.as_ref()) {
            (Some(a), Some(b)) => diff(a, b, 100),
            _ => Vec::new(),
        };
        out.push(HistoryEntry { thread: th, act: n as u32, start_ns: start, value, changes });
    }
    Ok(out)
}

/// A function whose behaviour differs between two traces.
#[derive(Debug, Clone, Serialize)]
pub struct CompareRow {
    /// Name.
    pub name: String,
    /// File.
    pub path: String,
    /// Line.
    pub line: u32,
    /// Calls in A and B.
    pub calls: (u64, u64),
    /// Inclusive time in A and B (ns).
    pub incl_ns: (u64, u64),
    /// Throws in A and B.
    pub throws: (u64, u64),
    /// What differs: `calls`, `duration` (more than 2× and 1 ms apart),
    /// `returns`, `errors`, `only-a`, `only-b`.
    pub differs: Vec<&'static str>,
}

/// Functions (matched by name, file and line) whose calls, durations,
/// return values or errors differ between `a` and `b`.
pub fn compare(a: &Index, b: &Index) -> Vec<CompareRow> {
    type Key = (String, String, u32);
    let key = |ix: &Index, s: &FnStats| -> Key {
        ix.func(s.id).map_or_else(|| (String::new(), String::new(), 0), |f| (f.name.clone(), f.path.clone(), f.line))
    };
    let mut map: std::collections::BTreeMap<Key, (Option<FnStats>, Option<FnStats>)> =
        std::collections::BTreeMap::new();
    for s in &a.meta.stats {
        map.entry(key(a, s)).or_default().0 = Some(s.clone());
    }
    for s in &b.meta.stats {
        map.entry(key(b, s)).or_default().1 = Some(s.clone());
    }
    let mut out = Vec::new();
    for ((name, path, line), (sa, sb)) in map {
        let z = FnStats::default();
        let (x, y) = (sa.as_ref().unwrap_or(&z), sb.as_ref().unwrap_or(&z));
        let mut d = Vec::new();
        match (&sa, &sb) {
            (Some(_), None) => d.push("only-a"),
            (None, Some(_)) => d.push("only-b"),
            _ => {
                if x.calls != y.calls {
                    d.push("calls");
                }
                let (lo, hi) = (x.incl_ns.min(y.incl_ns), x.incl_ns.max(y.incl_ns));
                if hi > lo.saturating_mul(2) && hi - lo > 1_000_000 {
                    d.push("duration");
                }
                if x.ret_hash != y.ret_hash {
                    d.push("returns");
                }
                if x.throws != y.throws || x.err_hash != y.err_hash {
                    d.push("errors");
                }
            }
        }
        if !d.is_empty() {
            out.push(CompareRow {
                name,
                path,
                line,
                calls: (x.calls, y.calls),
                incl_ns: (x.incl_ns, y.incl_ns),
                throws: (x.throws, y.throws),
                differs: d,
            });
        }
    }
    out
}

/// A user span, as queries return it.
#[derive(Debug, Clone, Serialize)]
pub struct SpanRow {
    /// Thread.
    pub thread: u32,
    /// Name.
    pub name: String,
    /// Start (ns).
    pub start_ns: u64,
    /// End (ns; the last time seen on its thread while not ended).
    pub end_ns: u64,
    /// `ok`, `error` or `unfinished`.
    pub status: String,
    /// The `runId` of the run it started in.
    pub run: Option<String>,
}

/// The user spans (in the order they started) of `thread` (all when
/// `None`) that overlap `from..=to` (ns), in the runs `runs` selects, at
/// most `limit` (0: 10,000).
pub fn spans(ix: &Index, thread: Option<u32>, from: u64, to: u64, runs: &RunFilter, limit: usize) -> Vec<SpanRow> {
    let sel = runs.select(ix);
    let limit = if limit == 0 { 10_000 } else { limit };
    ix.meta
        .spans
        .iter()
        .filter(|s| {
            thread.is_none_or(|t| t == s.thread)
                && s.end_ns >= from
                && s.start_ns <= to
                && sel.as_ref().is_none_or(|v| s.run.checked_sub(1).is_some_and(|i| v.get(i as usize) == Some(&true)))
        })
        .take(limit)
        .map(|s| SpanRow {
            thread: s.thread,
            name: s.name.clone(),
            start_ns: s.start_ns,
            end_ns: s.end_ns,
            status: s.status.clone(),
            run: s.run.checked_sub(1).and_then(|i| ix.meta.runs.get(i as usize)).map(|r| r.run_id.clone()),
        })
        .collect()
}
