//! Streams a trace to an export sink in constant memory: decodes one chunk
//! at a time, replays each thread (activation, depth, interpolated time,
//! the error a `throw` carried) the way `trace::walk` does for a whole
//! trace, and hands every event, in file order, to a [`Sink`].
//!
//! An event is held back only until what it needs is known: its time needs
//! the next event of its thread with a different clock value (events that
//! share a tick are spread over the tick), and a `throw` needs the `catch`
//! that receives it. At most [`MAX_HELD`] events are held; past that the
//! oldest is resolved with what is known so far (its time as if the next
//! tick came, a throw without its error), so memory stays bounded whatever
//! the trace.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use super::{Options, Progress};
use crate::error::Result;
use crate::trace::reader::ChunkReader;
use crate::trace::reader::Func;
use crate::trace::walk::TICK_US;
use crate::wire::format::{kind, record, Cursor, HAS_VALUES, PAYLOAD_SHIFT};

/// Most events held back at once (see the module comment).
pub const MAX_HELD: usize = 1 << 18;

/// The names a trace defines, as far as it was read.
#[derive(Debug, Default)]
pub struct Dict {
    /// Path ids to paths.
    pub paths: BTreeMap<u32, String>,
    /// Function (and await/yield site) ids to definitions.
    pub funcs: HashMap<u32, Func>,
    /// Thread ids to names.
    pub threads: BTreeMap<u32, String>,
}

impl Dict {
    /// The path of a function, or "".
    pub fn path_of(&self, f: &Func) -> &str {
        self.paths.get(&f.path).map_or("", |s| s.as_str())
    }

    /// `name (path:line:col)`: a function's identity as one string (two
    /// functions of one name in different places stay apart; the calls of
    /// one function share it).
    pub fn identity(&self, func: Option<u32>) -> String {
        match func.and_then(|f| self.funcs.get(&f)) {
            Some(f) => format!("{} ({}:{}:{})", f.name, self.path_of(f), f.line, f.col + 1),
            None => "<unknown>".into(),
        }
    }
}

/// A value blob: a slice of the value bytes of one EVENTS record (kept
/// whole so that references inside it resolve).
#[derive(Debug, Clone)]
pub struct Blob {
    rec: Rc<Vec<u8>>,
    off: u32,
    len: u32,
}

impl Blob {
    /// The record's value bytes up to the end of this blob, and where the
    /// blob starts in them (what `value::write_json` needs).
    pub fn span(&self) -> (&[u8], usize) {
        (&self.rec[..(self.off + self.len) as usize], self.off as usize)
    }
    /// The blob's own bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.rec[self.off as usize..(self.off + self.len) as usize]
    }
}

/// One event with its context resolved.
#[derive(Debug, Clone)]
pub struct Ev {
    /// Thread id.
    pub thread: u32,
    /// Event kind (`format::kind`).
    pub kind: u8,
    /// Raw payload.
    pub payload: u32,
    /// Nanoseconds since the session started (interpolated within a tick).
    pub t_ns: u64,
    /// Function of the activation.
    pub func: Option<u32>,
    /// Await/yield site (await, yield, and the resume that follows).
    pub site: Option<u32>,
    /// Activation id (per thread, from 1).
    pub activation: u64,
    /// Depth of the activation (0 = called from the event loop).
    pub depth: u32,
    /// The event's value blob.
    pub vals: Option<Blob>,
    /// For a throw: the error, from the catch that received it.
    pub error: Option<Blob>,
    /// The run (its `runId`) the event belongs to, replayed from the
    /// thread's `run-start` and `run-switch` marks; `None` outside runs.
    pub run: Option<Rc<str>>,
}

/// What an export does with the events.
pub trait Sink {
    /// One event (those that pass the filters), in file order.
    fn event(&mut self, d: &Dict, ev: &Ev) -> Result<()>;
    /// After the last event; `end_ns` is the time of the last event read.
    fn finish(&mut self, d: &Dict, end_ns: u64) -> Result<()>;
}

/// What the stream read.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Events read from the trace.
    pub events: u64,
    /// Events given to the sink.
    pub exported: u64,
    /// Why reading stopped before the end of the file, if it did.
    pub damage: Option<String>,
    /// Events whose time or error had to be resolved early (memory bound).
    pub forced: u64,
    /// Runs started in the trace that the run filters select.
    pub runs_matched: u64,
}

struct Slot {
    ev: Ev,
    t_us: u64,
    need_time: bool,
    need_err: bool,
    /// Selected by the run filters.
    keep: bool,
}

/// A run met in the trace: its id and what the filters look at, inherited
/// from the run it is nested in.
struct RunInfo {
    id: Rc<str>,
    domain: Option<String>,
    level: Option<String>,
    sample: Option<String>,
    iteration: Option<String>,
    /// The run filters select it (itself or the run it is nested in).
    keep: bool,
    /// `--run` selects it: it is that run or nested in it.
    in_run: bool,
}

#[derive(Default)]
struct ThreadSt {
    /// Open (running) activations: (activation, function).
    stack: Vec<(u64, u32)>,
    /// Calls so far.
    calls: u64,
    /// Suspended activations: activation → (function, site).
    suspended: HashMap<u64, (u32, u32)>,
    /// Sequence numbers of the held events that share `group_us`.
    group: Vec<u64>,
    group_us: u64,
    /// Throws waiting for their catch.
    throws: Vec<u64>,
    /// Last time given out (times never go back, even after a forced
    /// resolution).
    last_ns: u64,
    /// Runs of this thread (mark id → run).
    runs: HashMap<u64, Rc<RunInfo>>,
    /// The run the thread's events belong to now.
    run: Option<Rc<RunInfo>>,
}

struct Walker<'a> {
    opts: &'a Options,
    threads: HashMap<u32, ThreadSt>,
    held: VecDeque<Slot>,
    /// Sequence number of `held[0]`.
    base: u64,
    out: Outcome,
    last_ns: u64,
    /// Longest spread of events sharing a time value (µs).
    cap_us: u64,
    /// `runId`s that `--run` selects, on any thread: the run itself and
    /// every run nested in it, or naming one of them as its `parentRunId`
    /// (a worker's component run, design-docs/runs.md *Components*).
    in_run_ids: HashSet<Rc<str>>,
}

impl<'a> Walker<'a> {
    fn slot(&mut self, seq: u64) -> Option<&mut Slot> {
        let i = seq.checked_sub(self.base)? as usize;
        self.held.get_mut(i)
    }

    /// Gives the events of `th`'s tick group their times, the next tick
    /// being at `next_us`.
    fn close_group(&mut self, th: u32, next_us: u64) {
        let Some(st) = self.threads.get_mut(&th) else { return };
        if st.group.is_empty() {
            return;
        }
        let group = std::mem::take(&mut st.group);
        let tu = st.group_us;
        let span_ns = next_us.saturating_sub(tu).clamp(1, self.cap_us) * 1000;
        let n = group.len() as u64;
        let mut last = st.last_ns;
        for (k, &seq) in group.iter().enumerate() {
            let t = (tu * 1000 + span_ns * k as u64 / n).max(last);
            last = t;
            if let Some(s) = self.slot(seq) {
                s.ev.t_ns = t;
                s.need_time = false;
            }
        }
        if let Some(st) = self.threads.get_mut(&th) {
            st.last_ns = last;
            // Reuse the allocation.
            let mut g = group;
            g.clear();
            st.group = g;
        }
    }

    fn settle_throws(&mut self, th: u32, error: Option<&Blob>) {
        let Some(st) = self.threads.get_mut(&th) else { return };
        let throws = std::mem::take(&mut st.throws);
        for &seq in &throws {
            if let Some(s) = self.slot(seq) {
                s.ev.error = error.cloned();
                s.need_err = false;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        thread: u32,
        kind_: u8,
        payload: u32,
        t_us: u64,
        vals: Option<Blob>,
        sink: &mut dyn Sink,
        d: &Dict,
    ) -> Result<()> {
        self.out.events += 1;
        if self.opts.thread.is_some_and(|t| t != thread) {
            return Ok(());
        }
        let seq = self.base + self.held.len() as u64;
        let st = self.threads.entry(thread).or_default();
        let regroup = !st.group.is_empty() && st.group_us != t_us;
        if regroup {
            self.close_group(thread, t_us);
        }
        let st = self.threads.entry(thread).or_default();
        st.group_us = t_us;
        st.group.push(seq);
        let mut ev = Ev {
            thread,
            kind: kind_,
            payload,
            t_ns: 0,
            func: None,
            site: None,
            activation: 0,
            depth: 0,
            vals,
            error: None,
            run: None,
        };
        let mut need_err = false;
        let mut settle: Option<Option<Blob>> = None;
        match kind_ {
            kind::CALL => {
                st.calls += 1;
                ev.depth = st.stack.len() as u32;
                ev.activation = st.calls;
                ev.func = Some(payload);
                st.stack.push((st.calls, payload));
                settle = Some(None);
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                if let Some((act, func)) = st.stack.pop() {
                    ev.func = known(func);
                    ev.activation = act;
                    ev.depth = st.stack.len() as u32;
                    if kind_ == kind::AWAIT || kind_ == kind::YIELD {
                        st.suspended.insert(act, (func, payload));
                    }
                }
                match kind_ {
                    kind::THROW => {
                        st.throws.push(seq);
                        need_err = true;
                    }
                    kind::RETURN => settle = Some(None),
                    _ => ev.site = Some(payload),
                }
            }
            kind::RESUME => {
                let act = ev.vals.as_ref().map_or(0, |b| {
                    let mut pos = 0;
                    crate::wire::format::read_varint(b.bytes(), &mut pos).unwrap_or(0)
                });
                ev.depth = st.stack.len() as u32;
                ev.activation = act;
                if let Some((func, site)) = st.suspended.remove(&act) {
                    ev.func = known(func);
                    ev.site = Some(site);
                    st.stack.push((act, func));
                } else if act > 0 && act <= st.calls {
                    // Called in events a run cleared: on the stack until it
                    // suspends or ends, so what it calls keeps its depth.
                    st.stack.push((act, CLEARED_FN));
                }
            }
            kind::OUTPUT | kind::CATCH | kind::MARK => {
                if kind_ == kind::MARK && payload == crate::wire::format::mark::CLEARED {
                    // The activations called in the events cleared keep their numbers.
                    st.calls += cleared_calls(ev.vals.as_ref());
                }
                if kind_ == kind::MARK && replay_run(st, payload, ev.vals.as_ref(), self.opts, &mut self.in_run_ids) {
                    self.out.runs_matched += 1;
                }
                if let Some(&(act, func)) = st.stack.last() {
                    ev.func = known(func);
                    ev.activation = act;
                    ev.depth = st.stack.len().saturating_sub(1) as u32;
                }
                if kind_ == kind::CATCH {
                    settle = Some(ev.vals.clone());
                }
            }
            _ => {}
        }
        ev.run = st.run.as_ref().map(|r| r.id.clone());
        let keep = !self.opts.by_run() || st.run.as_ref().is_some_and(|r| r.keep);
        if let Some(err) = settle {
            self.settle_throws(thread, err.as_ref());
        }
        self.held.push_back(Slot { ev, t_us, need_time: true, need_err, keep });
        if self.held.len() > MAX_HELD {
            if let Some(front) = self.held.front() {
                let (th, tu) = (front.ev.thread, front.t_us);
                if front.need_time || front.need_err {
                    self.out.forced += 1;
                }
                self.close_group(th, tu + 1);
                self.settle_throws(th, None);
            }
        }
        self.drain(sink, d)
    }

    fn drain(&mut self, sink: &mut dyn Sink, d: &Dict) -> Result<()> {
        while let Some(front) = self.held.front() {
            if front.need_time || front.need_err {
                break;
            }
            let Some(s) = self.held.pop_front() else { break };
            self.base += 1;
            self.last_ns = self.last_ns.max(s.ev.t_ns);
            if !s.keep
                || self.opts.from_ns.is_some_and(|f| s.ev.t_ns < f)
                || self.opts.to_ns.is_some_and(|t| s.ev.t_ns > t)
            {
                continue;
            }
            self.out.exported += 1;
            sink.event(d, &s.ev)?;
        }
        Ok(())
    }

    fn flush_all(&mut self, sink: &mut dyn Sink, d: &Dict) -> Result<()> {
        let ths: Vec<(u32, u64)> = self.threads.iter().map(|(&k, v)| (k, v.group_us)).collect();
        for (th, tu) in ths {
            self.close_group(th, tu + 1);
            self.settle_throws(th, None);
        }
        self.drain(sink, d)
    }
}

/// The function of an activation whose call a run cleared (unknown).
const CLEARED_FN: u32 = u32::MAX;

fn known(func: u32) -> Option<u32> {
    (func != CLEARED_FN).then_some(func)
}

/// The calls counted by a `cleared` mark (`varint run, varint events, varint calls`).
pub(crate) fn cleared_calls(vals: Option<&Blob>) -> u64 {
    let Some(b) = vals else { return 0 };
    let mut pos = 0;
    let bytes = b.bytes();
    let mut next = || crate::wire::format::read_varint(bytes, &mut pos).unwrap_or(0);
    let (_run, _events) = (next(), next());
    next()
}

/// The metadata object of a `run-start` mark whose value starts at `pos`
/// of its blob (after the id and parent varints).
fn run_meta(b: &Blob, pos: usize) -> Option<serde_json::Value> {
    let (rec, at) = b.span();
    let mut p = at + pos;
    let mut json = String::new();
    crate::trace::value::write_json(rec, &mut p, &mut json).ok()?;
    serde_json::from_str::<serde_json::Value>(&json).ok()
}

/// A run metadata field as text (the value encoding gives an object as
/// `{"$":"object","props":{…}}`).
fn prop_text(meta: Option<&serde_json::Value>, k: &str) -> Option<String> {
    match meta?.pointer(&format!("/props/{k}"))? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One run of a trace, as `noderec ls --runs` lists it.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Its `runId`.
    pub run_id: String,
    /// `domain`, `level`, `parentRunId`, `sampleId`, `iteration` as given.
    pub domain: Option<String>,
    /// See `domain`.
    pub level: Option<String>,
    /// See `domain`.
    pub parent_run_id: Option<String>,
    /// See `domain`.
    pub sample_id: Option<String>,
    /// See `domain`.
    pub iteration: Option<String>,
    /// The thread it started on.
    pub thread: u32,
    /// When it started (ns since the session start).
    pub start_ns: u64,
    /// Events recorded in it (its own marks not counted; a run started
    /// inside it counts its events there, not here).
    pub events: u64,
    /// Its end mark is in the trace.
    pub ended: bool,
    /// Events it cleared (`clear`: not in the trace).
    pub cleared: u64,
    /// Why a clearing run was written in full (`failed`, `hold-cap`, `unended`).
    pub kept: Option<&'static str>,
}

/// Every run of a trace, in the order they started, with its event count:
/// a run in which nothing was recorded is listed with 0 events.
pub fn runs_of<R: Read>(chunks: &mut ChunkReader<R>) -> Result<(Vec<RunRow>, Outcome)> {
    use crate::wire::format::mark as m;
    #[derive(Default)]
    struct Runs {
        rows: Vec<RunRow>,
        by_id: HashMap<String, usize>,
        /// (thread, the mark's run number) → row: a run-end mark names its
        /// run by number, which need not be the thread's current run.
        by_mark: HashMap<(u32, u64), usize>,
    }
    impl Sink for Runs {
        fn event(&mut self, _d: &Dict, ev: &Ev) -> Result<()> {
            if ev.kind == kind::MARK && matches!(ev.payload, m::RUN_END | m::CLEARED | m::KEPT) {
                // Named by its number, whatever run is current.
                let mut pos = 0;
                let bytes = ev.vals.as_ref().map_or(&[][..], |b| b.bytes());
                let id = crate::wire::format::read_varint(bytes, &mut pos).ok();
                if let Some(&i) = id.and_then(|id| self.by_mark.get(&(ev.thread, id))) {
                    let n = crate::wire::format::read_varint(bytes, &mut pos).unwrap_or(0);
                    let row = &mut self.rows[i];
                    match ev.payload {
                        m::RUN_END => row.ended = true,
                        m::CLEARED => row.cleared += n,
                        _ => row.kept = Some(crate::trace::hold::reason::name(n)),
                    }
                }
                return Ok(());
            }
            let Some(run) = ev.run.as_deref() else { return Ok(()) };
            if ev.kind != kind::MARK {
                if let Some(&i) = self.by_id.get(run) {
                    self.rows[i].events += 1;
                }
                return Ok(());
            }
            if ev.payload != m::RUN_START {
                return Ok(());
            }
            let Some(b) = ev.vals.as_ref() else { return Ok(()) };
            let mut pos = 0;
            let bytes = b.bytes();
            let (Ok(id), Ok(_)) =
                (crate::wire::format::read_varint(bytes, &mut pos), crate::wire::format::read_varint(bytes, &mut pos))
            else {
                return Ok(());
            };
            let meta = run_meta(b, pos);
            let p = |k: &str| prop_text(meta.as_ref(), k);
            self.by_id.insert(run.to_owned(), self.rows.len());
            self.by_mark.insert((ev.thread, id), self.rows.len());
            self.rows.push(RunRow {
                run_id: run.to_owned(),
                domain: p("domain"),
                level: p("level"),
                parent_run_id: p("parentRunId"),
                sample_id: p("sampleId"),
                iteration: p("iteration"),
                thread: ev.thread,
                start_ns: ev.t_ns,
                events: 0,
                ended: false,
                cleared: 0,
                kept: None,
            });
            Ok(())
        }
        fn finish(&mut self, _d: &Dict, _end_ns: u64) -> Result<()> {
            Ok(())
        }
    }
    let mut sink = Runs::default();
    let out = run(chunks, &Options::default(), &Progress::default(), &mut sink)?;
    Ok((sink.rows, out))
}

/// Follows a thread's current run through its marks: `run-start` enters the
/// new run, `run-switch` names the run of the events that follow. True when
/// the mark starts a run that the run filters select.
fn replay_run(
    st: &mut ThreadSt,
    mark: u32,
    vals: Option<&Blob>,
    opts: &Options,
    in_run_ids: &mut HashSet<Rc<str>>,
) -> bool {
    use crate::wire::format::mark as m;
    let Some(b) = vals else { return false };
    let bytes = b.bytes();
    let mut pos = 0;
    let Ok(id) = crate::wire::format::read_varint(bytes, &mut pos) else { return false };
    match mark {
        m::RUN_START => {
            let parent = crate::wire::format::read_varint(bytes, &mut pos).unwrap_or(0);
            let parent = st.runs.get(&parent).cloned();
            let meta = run_meta(b, pos);
            let prop = |k: &str| prop_text(meta.as_ref(), k);
            let run_id = prop("runId").unwrap_or_else(|| format!("#{id}"));
            let domain = prop("domain").or_else(|| parent.as_ref().and_then(|r| r.domain.clone()));
            let level = prop("level").or_else(|| parent.as_ref().and_then(|r| r.level.clone()));
            let sample = prop("sampleId").or_else(|| parent.as_ref().and_then(|r| r.sample.clone()));
            let iteration = prop("iteration").or_else(|| parent.as_ref().and_then(|r| r.iteration.clone()));
            let in_run = opts.run.as_deref().is_none_or(|want| {
                want == run_id
                    || parent.as_ref().is_some_and(|r| r.in_run)
                    || prop("parentRunId").is_some_and(|p| p == want || in_run_ids.contains(p.as_str()))
            });
            let keep = in_run
                && opts.domain.as_ref().is_none_or(|d| domain.as_ref() == Some(d))
                && opts.level.as_ref().is_none_or(|l| level.as_ref() == Some(l))
                && opts.sample.as_ref().is_none_or(|x| sample.as_ref() == Some(x))
                && opts.iteration.as_ref().is_none_or(|x| iteration.as_ref() == Some(x));
            let id_rc: Rc<str> = Rc::from(run_id);
            if opts.run.is_some() && in_run {
                in_run_ids.insert(id_rc.clone());
            }
            let r = Rc::new(RunInfo { id: id_rc, domain, level, sample, iteration, keep, in_run });
            st.runs.insert(id, r.clone());
            st.run = Some(r);
            keep && opts.by_run()
        }
        m::RUN_SWITCH => {
            st.run = if id == 0 { None } else { st.runs.get(&id).cloned() };
            false
        }
        _ => false,
    }
}

/// Streams the trace read by `chunks` into `sink`.
pub fn run<R: Read>(
    chunks: &mut ChunkReader<R>,
    opts: &Options,
    progress: &Progress,
    sink: &mut dyn Sink,
) -> Result<Outcome> {
    let mut d = Dict::default();
    let mut w = Walker {
        opts,
        threads: HashMap::new(),
        held: VecDeque::new(),
        base: 0,
        out: Outcome::default(),
        last_ns: 0,
        cap_us: crate::wire::format::spread_cap_us(chunks.flags, TICK_US),
        in_run_ids: HashSet::new(),
    };
    progress.total.store(chunks.file_len, Ordering::Relaxed);
    let mut damage = None;
    while let Some(payload) = chunks.next_payload() {
        // Copy out: the chunk reader reuses its buffer.
        let payload = payload.to_vec();
        // A malformed chunk adds nothing: check it whole first.
        let checked = decode(&payload, &mut d, None, sink).and_then(|()| decode(&payload, &mut d, Some(&mut w), sink));
        if let Err(m) = checked {
            match m {
                Stop::Sink(e) => return Err(e),
                Stop::Malformed(m) => {
                    damage = Some(format!("malformed chunk at byte {}: {m}", chunks.chunk_at));
                    break;
                }
            }
        }
        progress.read.store(chunks.pos, Ordering::Relaxed);
        progress.events.store(w.out.events, Ordering::Relaxed);
    }
    w.flush_all(sink, &d)?;
    // Slices still open close at the end of the trace, or of the window.
    let end = opts.to_ns.map_or(w.last_ns, |t| t.min(w.last_ns));
    sink.finish(&d, end)?;
    w.out.damage = damage.or_else(|| chunks.damage.take());
    progress.events.store(w.out.events, Ordering::Relaxed);
    Ok(w.out)
}

/// Calls by (thread, activation) → the `runId` of the run they were made in.
pub type CallRuns = HashMap<(u32, u64), String>;

/// The calls the run filters of `opts` select, and how many runs matched.
/// Reads the whole trace once, keeping only that map.
pub fn selected_calls<R: Read>(chunks: &mut ChunkReader<R>, opts: &Options) -> Result<(CallRuns, u64)> {
    struct Calls(HashMap<(u32, u64), String>);
    impl Sink for Calls {
        fn event(&mut self, _d: &Dict, ev: &Ev) -> Result<()> {
            if ev.kind == kind::CALL {
                if let Some(r) = &ev.run {
                    self.0.insert((ev.thread, ev.activation), r.to_string());
                }
            }
            Ok(())
        }
        fn finish(&mut self, _d: &Dict, _end_ns: u64) -> Result<()> {
            Ok(())
        }
    }
    let mut sink = Calls(HashMap::new());
    let out = run(chunks, opts, &Progress::default(), &mut sink)?;
    Ok((sink.0, out.runs_matched))
}

enum Stop {
    Sink(crate::error::Error),
    Malformed(&'static str),
}

impl From<crate::error::Error> for Stop {
    fn from(e: crate::error::Error) -> Self {
        Stop::Sink(e)
    }
}

fn m<T>(o: Option<T>, what: &'static str) -> std::result::Result<T, Stop> {
    o.ok_or(Stop::Malformed(what))
}

/// Decodes a chunk payload; without a walker, only checks it.
fn decode(
    payload: &[u8],
    d: &mut Dict,
    mut w: Option<&mut Walker<'_>>,
    sink: &mut dyn Sink,
) -> std::result::Result<(), Stop> {
    let dry = w.is_none();
    let mut c = Cursor::new(payload);
    while !c.done() {
        let ty = m(c.u8(), "eof")?;
        match ty {
            record::PATH => {
                let id = m(c.varint(), "path id")? as u32;
                let p = m(c.str(), "path")?;
                if !dry {
                    d.paths.insert(id, p);
                }
            }
            record::FUNC => {
                let id = m(c.varint(), "func id")? as u32;
                let path = m(c.varint(), "func path")? as u32;
                let name = m(c.str(), "func name")?;
                let kind_ = m(c.str(), "func kind")?;
                let line = m(c.varint(), "func line")? as u32;
                let col = m(c.varint(), "func col")? as u32;
                let flags = m(c.u8(), "func flags")?;
                let n = m(c.varint(), "func params")? as usize;
                let mut params = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    params.push(m(c.str(), "param")?);
                }
                if !dry {
                    d.funcs.insert(id, Func { path, name, kind: kind_, line, col, flags, params });
                }
            }
            record::THREAD => {
                let id = m(c.varint(), "thread id")? as u32;
                let name = m(c.str(), "thread name")?;
                if !dry {
                    d.threads.insert(id, name);
                }
            }
            record::EVENTS => {
                let thread = m(c.varint(), "events thread")? as u32;
                let count = m(c.varint(), "events count")? as usize;
                let mut time = m(c.varint(), "events base")?;
                if !dry {
                    d.threads.entry(thread).or_insert_with(|| {
                        if thread == 0 {
                            "main".into()
                        } else {
                            format!("worker {thread}")
                        }
                    });
                }
                // First pass: the record's value bytes, so that every blob
                // of the record can share them.
                let start = c.pos;
                let mut vals = Vec::new();
                for _ in 0..count {
                    let head = m(c.varint(), "event head")? as u32;
                    m(c.varint(), "event time")?;
                    if !(kind::CALL..=kind::LAST).contains(&((head & 0xf) as u8)) {
                        return Err(Stop::Malformed("unknown event kind"));
                    }
                    if head & HAS_VALUES != 0 {
                        let n = usize::try_from(m(c.varint(), "value length")?)
                            .map_err(|_| Stop::Malformed("value length"))?;
                        vals.extend_from_slice(m(c.bytes(n), "value bytes")?);
                    }
                }
                if vals.len() > u32::MAX as usize {
                    return Err(Stop::Malformed("more than 4 GiB of values"));
                }
                let Some(w) = w.as_deref_mut() else { continue };
                let rec = Rc::new(vals);
                c.pos = start;
                let mut off = 0u32;
                for _ in 0..count {
                    let head = m(c.varint(), "event head")? as u32;
                    time += m(c.varint(), "event time")?;
                    let kind_ = (head & 0xf) as u8;
                    let mut blob = None;
                    if head & HAS_VALUES != 0 {
                        let n = m(c.varint(), "value length")? as u32;
                        c.pos += n as usize;
                        blob = Some(Blob { rec: rec.clone(), off, len: n });
                        off += n;
                    }
                    w.push(thread, kind_, head >> PAYLOAD_SHIFT, time, blob, sink, d)?;
                }
            }
            record::END => {
                m(c.varint(), "end count")?;
            }
            _ => return Err(Stop::Malformed("unknown record type")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::format::{put_str, put_varint, HEADER_LEN, MAGIC, VERSION};

    /// (thread, kind, payload, t_us, value blob)
    type Raw = (u32, u8, u32, u64, Option<Vec<u8>>);

    fn events_record(out: &mut Vec<u8>, thread: u32, evs: &[Raw]) {
        out.push(record::EVENTS);
        put_varint(out, u64::from(thread));
        put_varint(out, evs.len() as u64);
        let base = evs.first().map_or(0, |e| e.3);
        put_varint(out, base);
        let mut prev = base;
        for (_, k, p, t, v) in evs {
            let head = u32::from(*k) | (p << PAYLOAD_SHIFT) | if v.is_some() { HAS_VALUES } else { 0 };
            put_varint(out, u64::from(head));
            put_varint(out, t - prev);
            prev = *t;
            if let Some(v) = v {
                put_varint(out, v.len() as u64);
                out.extend_from_slice(v);
            }
        }
    }

    fn chunk(file: &mut Vec<u8>, payload: &[u8]) {
        let body = zstd::bulk::compress(payload, 1).unwrap_or_default();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
    }

    fn trace(chunks: &[Vec<u8>]) -> Vec<u8> {
        trace_flags(chunks, 0)
    }

    fn trace_flags(chunks: &[Vec<u8>], flags: u32) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(MAGIC);
        f.extend_from_slice(&VERSION.to_le_bytes());
        f.extend_from_slice(&flags.to_le_bytes());
        assert_eq!(f.len(), HEADER_LEN);
        for c in chunks {
            chunk(&mut f, c);
        }
        f
    }

    fn defs() -> Vec<u8> {
        let mut p = Vec::new();
        p.push(record::PATH);
        put_varint(&mut p, 1);
        put_str(&mut p, "app.js");
        for (id, name) in [(1u64, "f"), (2, "g")] {
            p.push(record::FUNC);
            put_varint(&mut p, id);
            put_varint(&mut p, 1);
            put_str(&mut p, name);
            put_str(&mut p, "function");
            put_varint(&mut p, id * 10);
            put_varint(&mut p, 0);
            p.push(0);
            put_varint(&mut p, 0);
        }
        p
    }

    #[derive(Default)]
    struct Collect {
        evs: Vec<Ev>,
    }

    impl Sink for Collect {
        fn event(&mut self, _d: &Dict, ev: &Ev) -> Result<()> {
            self.evs.push(ev.clone());
            Ok(())
        }
        fn finish(&mut self, _d: &Dict, _end: u64) -> Result<()> {
            Ok(())
        }
    }

    fn run_on(bytes: &[u8], opts: &Options) -> (Outcome, Collect) {
        let mut r = ChunkReader::new(bytes, bytes.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        let mut sink = Collect::default();
        let out = run(&mut r, opts, &Progress::default(), &mut sink).unwrap_or_else(|e| panic!("{e}"));
        (out, sink)
    }

    #[test]
    fn events_sharing_a_precise_microsecond_are_not_spread_over_a_tick() {
        // A return and the next call read the same microsecond; the call's
        // return comes 3 ms later. With the published clock the two may have
        // happened anywhere in the tick (spread over 100 µs); with the
        // precise clock they happened within that microsecond.
        let mut p = defs();
        events_record(
            &mut p,
            0,
            &[
                (0, kind::CALL, 1, 10, None),
                (0, kind::RETURN, 0, 20, None),
                (0, kind::CALL, 2, 20, None),
                (0, kind::RETURN, 0, 3020, None),
            ],
        );
        let times = |flags: u32| -> Vec<u64> {
            let (_, c) = run_on(&trace_flags(&[p.clone()], flags), &Options::default());
            c.evs.iter().map(|e| e.t_ns).collect()
        };
        assert_eq!(times(0), vec![10_000, 20_000, 70_000, 3_020_000]);
        assert_eq!(times(crate::wire::format::flags::PRECISE_CLOCK), vec![10_000, 20_000, 20_500, 3_020_000]);
    }

    #[test]
    fn a_throw_takes_the_error_of_the_catch_that_follows() {
        let mut p = defs();
        let err = vec![crate::wire::tag::INT, 84]; // 42, zigzag
        events_record(
            &mut p,
            0,
            &[
                (0, kind::CALL, 1, 10, None),
                (0, kind::CALL, 2, 10, None),
                (0, kind::THROW, 0, 11, None),
                (0, kind::CATCH, 0, 11, Some(err.clone())),
                (0, kind::RETURN, 0, 12, None),
            ],
        );
        let (out, c) = run_on(&trace(&[p]), &Options::default());
        assert_eq!(out.events, 5);
        assert_eq!(out.forced, 0);
        let th = &c.evs[2];
        assert_eq!((th.kind, th.activation, th.func), (kind::THROW, 2, Some(2)));
        assert_eq!(th.error.as_ref().map(|b| b.bytes().to_vec()), Some(err));
        // Times: events sharing a published value are spread over the time
        // to the next one (here 1 µs).
        let ts: Vec<u64> = c.evs.iter().map(|e| e.t_ns).collect();
        assert_eq!(ts, vec![10_000, 10_500, 11_000, 11_500, 12_000]);
    }

    #[test]
    fn an_idle_thread_cannot_hold_more_than_max_held_events() {
        let mut p = defs();
        // The worker calls once and then stays silent (its next event, at a
        // new tick, comes last).
        events_record(&mut p, 1, &[(1, kind::CALL, 1, 5, None)]);
        let n = MAX_HELD as u64 + 1000;
        let mut main = Vec::new();
        for i in 0..n / 2 {
            main.push((0, kind::CALL, 2, 10 + i, None));
            main.push((0, kind::RETURN, 0, 10 + i, None));
        }
        events_record(&mut p, 0, &main);
        let mut q = Vec::new();
        events_record(&mut q, 1, &[(1, kind::RETURN, 0, 5, None)]);
        let (out, c) = run_on(&trace(&[p, q]), &Options::default());
        assert_eq!(out.events, n + 2);
        assert_eq!(out.exported, n + 2);
        assert!(out.forced >= 1, "the worker's call was resolved early");
        // Per thread, times never go back, even across the forced resolution.
        for th in [0, 1] {
            let ts: Vec<u64> = c.evs.iter().filter(|e| e.thread == th).map(|e| e.t_ns).collect();
            assert!(ts.windows(2).all(|w| w[0] <= w[1]), "thread {th}");
        }
        // The worker's events came out before the main thread's tail.
        let first_worker = c.evs.iter().position(|e| e.thread == 1).unwrap_or(usize::MAX);
        assert!(first_worker <= MAX_HELD + 1);
    }

    #[test]
    fn a_malformed_chunk_adds_nothing_and_is_reported() {
        let mut good = defs();
        events_record(&mut good, 0, &[(0, kind::CALL, 1, 1, None), (0, kind::RETURN, 0, 2, None)]);
        let mut bad = Vec::new();
        events_record(&mut bad, 0, &[(0, kind::CALL, 1, 3, None)]);
        bad.push(0x7f); // unknown record type after a valid record
        let (out, c) = run_on(&trace(&[good, bad]), &Options::default());
        assert_eq!(c.evs.len(), 2);
        assert!(out.damage.as_deref().is_some_and(|d| d.contains("unknown record type")), "{:?}", out.damage);
    }

    #[test]
    fn filters_keep_a_thread_and_a_window() {
        let mut p = defs();
        events_record(
            &mut p,
            0,
            &[(0, kind::CALL, 1, 1, None), (0, kind::RETURN, 0, 2, None), (0, kind::CALL, 1, 3, None)],
        );
        events_record(&mut p, 1, &[(1, kind::CALL, 2, 1, None)]);
        let opts = Options { thread: Some(0), from_ns: Some(2_000), to_ns: Some(2_500), ..Options::default() };
        let (out, c) = run_on(&trace(&[p]), &opts);
        assert_eq!(out.events, 4);
        assert_eq!(c.evs.len(), 1);
        assert_eq!((c.evs[0].kind, c.evs[0].t_ns, c.evs[0].activation), (kind::RETURN, 2_000, 1));
    }

    /// A string value.
    fn vstr(out: &mut Vec<u8>, s: &str) {
        out.push(crate::wire::tag::STRING);
        put_varint(out, s.len() as u64);
        put_varint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }

    /// A plain object of string values.
    fn vobj(out: &mut Vec<u8>, pairs: &[(&str, &str)]) {
        out.push(crate::wire::tag::OBJECT);
        put_varint(out, 6);
        put_varint(out, 6);
        out.extend_from_slice(b"Object");
        put_varint(out, pairs.len() as u64);
        put_varint(out, pairs.len() as u64);
        for (k, v) in pairs {
            put_varint(out, k.len() as u64);
            put_varint(out, k.len() as u64);
            out.extend_from_slice(k.as_bytes());
            vstr(out, v);
        }
    }

    fn mark_blob(id: u64, rest: impl FnOnce(&mut Vec<u8>)) -> Option<Vec<u8>> {
        let mut b = Vec::new();
        put_varint(&mut b, id);
        rest(&mut b);
        Some(b)
    }

    #[derive(Clone, Default)]
    struct Shared(Rc<std::cell::RefCell<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn marks_give_events_their_run_and_become_jsonl_lines() {
        use crate::wire::format::mark as m;
        let mut p = defs();
        events_record(
            &mut p,
            0,
            &[
                (
                    0,
                    kind::MARK,
                    m::RUN_START,
                    10,
                    mark_blob(1, |b| {
                        put_varint(b, 0);
                        vobj(b, &[("runId", "r-1"), ("domain", "batch")]);
                    }),
                ),
                (0, kind::CALL, 1, 11, None),
                (
                    0,
                    kind::MARK,
                    m::SPAN_START,
                    11,
                    mark_blob(1, |b| {
                        vstr(b, "load");
                        vobj(b, &[("file", "a.txt"), ("kind", "mine"), ("__noderec__", "x")]);
                    }),
                ),
                (
                    0,
                    kind::MARK,
                    m::LOG,
                    12,
                    mark_blob(0, |b| {
                        vstr(b, "progress");
                        vobj(b, &[("step", "2")]);
                    }),
                ),
                (
                    0,
                    kind::MARK,
                    m::SPAN_END,
                    15,
                    mark_blob(1, |b| {
                        put_varint(b, m::STATUS_ERROR);
                        vobj(b, &[("rows", "3")]);
                    }),
                ),
                (
                    0,
                    kind::MARK,
                    m::SPAN_START,
                    15,
                    mark_blob(2, |b| {
                        vstr(b, "never-ends");
                        vobj(b, &[]);
                    }),
                ),
                (0, kind::MARK, m::RUN_SWITCH, 16, mark_blob(0, |_| {})),
                (0, kind::CALL, 2, 17, None),
                (0, kind::MARK, m::RUN_SWITCH, 18, mark_blob(1, |_| {})),
                (0, kind::RETURN, 0, 19, None),
                (0, kind::MARK, m::RUN_END, 20, mark_blob(1, |_| {})),
            ],
        );
        let bytes = trace(&[p]);
        let (out, c) = run_on(&bytes, &Options::default());
        assert_eq!(out.events, 11);
        let runs: Vec<_> = c.evs.iter().map(|e| (e.kind, e.run.as_deref().map(str::to_owned))).collect();
        assert_eq!(runs[1], (kind::CALL, Some("r-1".into())));
        assert_eq!(runs[7], (kind::CALL, None));
        assert_eq!(runs[9], (kind::RETURN, Some("r-1".into())));
        // A mark does not change the stack: the return closes the call of f.
        assert_eq!((c.evs[9].activation, c.evs[9].func), (2, Some(2)));
        assert_eq!((c.evs[3].activation, c.evs[3].depth), (1, 0));

        let buf = Shared::default();
        let mut r = ChunkReader::new(&bytes[..], bytes.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        let mut sink = super::super::jsonl::Jsonl::new(Box::new(buf.clone()), &Options::default());
        run(&mut r, &Options::default(), &Progress::default(), &mut sink).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(buf.0.borrow().clone()).unwrap_or_default();
        let lines: Vec<serde_json::Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
        let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
        assert_eq!(kinds, ["run", "call", "span", "log", "span", "span", "call", "return", "run", "span"]);
        assert_eq!(lines[0]["runId"], "r-1");
        assert_eq!(lines[0]["domain"], "batch");
        assert_eq!(lines[0]["__noderec__"]["phase"], "start");
        assert_eq!(lines[1]["run"], "r-1");
        assert!(lines[6].get("run").is_none());
        // User attributes at the top level; reserved names moved aside.
        assert_eq!(lines[2]["file"], "a.txt");
        assert_eq!(lines[2]["kind"], "span");
        assert_eq!(lines[2]["attr:kind"], "mine");
        assert_eq!(lines[2]["attr:__noderec__"], "x");
        assert_eq!(lines[2]["__noderec__"]["provisional"], true);
        assert_eq!(lines[2]["__noderec__"]["run"], "r-1");
        assert_eq!(lines[3]["event"], "progress");
        assert_eq!(lines[3]["step"], "2");
        assert_eq!(lines[3]["__noderec__"]["fn"], "f");
        assert_eq!(lines[4]["name"], "load");
        assert_eq!(lines[4]["file"], "a.txt");
        assert_eq!(lines[4]["rows"], "3");
        assert_eq!(lines[4]["__noderec__"]["status"], "error");
        // 11.5 µs (two events share tick 11) to 15 µs.
        assert_eq!(lines[4]["__noderec__"]["durationNs"], 3500);
        assert_eq!(lines[8]["runId"], "r-1");
        assert_eq!(lines[8]["__noderec__"]["phase"], "end");
        assert_eq!(lines[9]["name"], "never-ends");
        assert_eq!(lines[9]["__noderec__"]["phase"], "unfinished");
    }

    #[test]
    fn filters_keep_the_events_of_a_run_its_nested_runs_a_domain_a_level_a_sample_or_an_iteration() {
        use crate::wire::format::mark as m;
        let start = |id: u64, parent: u64, pairs: &'static [(&'static str, &'static str)]| {
            mark_blob(id, move |b| {
                put_varint(b, parent);
                vobj(b, pairs);
            })
        };
        let mut p = defs();
        events_record(
            &mut p,
            0,
            &[
                (0, kind::CALL, 1, 9, None),
                (
                    0,
                    kind::MARK,
                    m::RUN_START,
                    10,
                    start(1, 0, &[("runId", "a"), ("domain", "http"), ("level", "2"), ("sampleId", "3")]),
                ),
                (0, kind::CALL, 2, 11, None),
                (0, kind::MARK, m::RUN_START, 12, start(2, 1, &[("runId", "a.1")])),
                (0, kind::RETURN, 0, 13, None),
                (0, kind::MARK, m::RUN_SWITCH, 14, mark_blob(0, |_| {})),
                (
                    0,
                    kind::MARK,
                    m::RUN_START,
                    15,
                    start(3, 0, &[("runId", "b"), ("domain", "batch"), ("sampleId", "7"), ("iteration", "1")]),
                ),
                (0, kind::CALL, 2, 16, None),
                (0, kind::RETURN, 0, 17, None),
                (0, kind::MARK, m::RUN_SWITCH, 18, mark_blob(2, |_| {})),
                (0, kind::CALL, 2, 19, None),
                (0, kind::RETURN, 0, 20, None),
                (0, kind::MARK, m::RUN_SWITCH, 21, mark_blob(0, |_| {})),
                (0, kind::RETURN, 0, 22, None),
            ],
        );
        let bytes = trace(&[p]);
        let pick = |o: Options| {
            let (out, c) = run_on(&bytes, &o);
            let got: Vec<(u8, u64, String)> =
                c.evs.iter().map(|e| (e.kind, e.t_ns / 1000, e.run.as_deref().unwrap_or("-").to_owned())).collect();
            (out, got)
        };
        let (out, got) = pick(Options { run: Some("a".into()), ..Options::default() });
        let times: Vec<u64> = got.iter().map(|g| g.1).collect();
        // Run a and its nested run a.1 (switched back to at 18).
        assert_eq!(times, [10, 11, 12, 13, 18, 19, 20], "{got:?}");
        assert_eq!(out.runs_matched, 2);
        let (_, got) = pick(Options { run: Some("a.1".into()), ..Options::default() });
        assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), [12, 13, 18, 19, 20], "{got:?}");
        let (_, got) = pick(Options { domain: Some("batch".into()), ..Options::default() });
        assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), [15, 16, 17], "{got:?}");
        // a.1 inherits a's domain and level.
        let (_, got) = pick(Options { domain: Some("http".into()), level: Some("2".into()), ..Options::default() });
        assert_eq!(got.len(), 7, "{got:?}");
        // Samples and iterations: a.1 inherits a's sample.
        let (_, got) = pick(Options { sample: Some("3".into()), ..Options::default() });
        assert_eq!(got.len(), 7, "{got:?}");
        let (_, got) = pick(Options { sample: Some("7".into()), iteration: Some("1".into()), ..Options::default() });
        assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), [15, 16, 17], "{got:?}");
        let (out, got) = pick(Options { sample: Some("7".into()), iteration: Some("2".into()), ..Options::default() });
        assert!(got.is_empty());
        assert_eq!(out.runs_matched, 0);
        let (out, got) = pick(Options { run: Some("nope".into()), ..Options::default() });
        assert!(got.is_empty());
        assert_eq!((out.runs_matched, out.events), (0, 14));
    }

    #[test]
    fn run_filter_follows_a_parent_run_id_to_another_thread() {
        use crate::wire::format::mark as m;
        let start = |id: u64, pairs: &'static [(&'static str, &'static str)]| {
            mark_blob(id, move |b| {
                put_varint(b, 0);
                vobj(b, pairs);
            })
        };
        let mut p = defs();
        events_record(
            &mut p,
            0,
            &[
                (0, kind::MARK, m::RUN_START, 10, start(1, &[("runId", "job")])),
                (0, kind::CALL, 1, 11, None),
                (0, kind::RETURN, 0, 12, None),
                (0, kind::MARK, m::RUN_SWITCH, 13, mark_blob(0, |_| {})),
            ],
        );
        // A worker's component run names `job` as its parent; its nested run comes with it.
        events_record(
            &mut p,
            1,
            &[
                (0, kind::MARK, m::RUN_START, 20, start(1, &[("runId", "job/w"), ("parentRunId", "job")])),
                (0, kind::CALL, 2, 21, None),
                (0, kind::RETURN, 0, 22, None),
                (0, kind::MARK, m::RUN_START, 23, start(2, &[("runId", "other"), ("parentRunId", "job/w")])),
                (0, kind::CALL, 2, 24, None),
                (0, kind::RETURN, 0, 25, None),
                (0, kind::MARK, m::RUN_START, 26, start(3, &[("runId", "unrelated")])),
                (0, kind::CALL, 2, 27, None),
                (0, kind::RETURN, 0, 28, None),
            ],
        );
        let bytes = trace(&[p]);
        let (out, c) = run_on(&bytes, &Options { run: Some("job".into()), ..Options::default() });
        let got: Vec<(u32, u64)> = c.evs.iter().map(|e| (e.thread, e.t_ns / 1000)).collect();
        assert_eq!(got, [(0, 10), (0, 11), (0, 12), (1, 20), (1, 21), (1, 22), (1, 23), (1, 24), (1, 25)], "{got:?}");
        assert_eq!(out.runs_matched, 3);
    }

    #[test]
    fn runs_of_lists_every_run_with_its_events_even_an_empty_one() {
        use crate::wire::format::mark as m;
        let mut p = defs();
        events_record(
            &mut p,
            0,
            &[
                (
                    0,
                    kind::MARK,
                    m::RUN_START,
                    10,
                    mark_blob(1, |b| {
                        put_varint(b, 0);
                        vobj(b, &[("runId", "a"), ("domain", "http")]);
                    }),
                ),
                (0, kind::CALL, 1, 11, None),
                (0, kind::RETURN, 0, 12, None),
                (0, kind::MARK, m::RUN_END, 13, mark_blob(1, |_| {})),
                (0, kind::MARK, m::RUN_SWITCH, 13, mark_blob(0, |_| {})),
                (
                    0,
                    kind::MARK,
                    m::RUN_START,
                    14,
                    mark_blob(2, |b| {
                        put_varint(b, 0);
                        vobj(b, &[("runId", "empty"), ("level", "3")]);
                    }),
                ),
                (0, kind::MARK, m::RUN_END, 15, mark_blob(2, |_| {})),
                (0, kind::MARK, m::RUN_SWITCH, 15, mark_blob(0, |_| {})),
                (0, kind::CALL, 1, 16, None),
            ],
        );
        let bytes = trace(&[p]);
        let mut r = ChunkReader::new(&bytes[..], bytes.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        let (runs, out) = runs_of(&mut r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.events, 9);
        let got: Vec<_> = runs
            .iter()
            .map(|r| (r.run_id.as_str(), r.domain.as_deref(), r.level.as_deref(), r.events, r.ended))
            .collect();
        assert_eq!(got, [("a", Some("http"), None, 2, true), ("empty", None, Some("3"), 0, true)]);
    }

    #[test]
    fn a_cleared_mark_keeps_activation_numbers_and_a_resume_of_a_cleared_call_keeps_its_depth() {
        use crate::wire::format::mark as m;
        let mut p = defs();
        let start = mark_blob(1, |b| {
            put_varint(b, 0);
            vobj(b, &[("runId", "gone")]);
        });
        let resume = |act: u64| {
            let mut b = Vec::new();
            put_varint(&mut b, act);
            Some(b)
        };
        events_record(
            &mut p,
            0,
            &[
                (0, kind::MARK, m::RUN_START, 10, start),
                // Activations 1 and 2 were called in the events cleared (3 events, 2 calls);
                // 2 suspended and is resumed after the run.
                (
                    0,
                    kind::MARK,
                    m::CLEARED,
                    11,
                    mark_blob(1, |b| {
                        put_varint(b, 3);
                        put_varint(b, 2);
                    }),
                ),
                (0, kind::MARK, m::RUN_END, 12, mark_blob(1, |_| {})),
                (0, kind::MARK, m::RUN_SWITCH, 12, mark_blob(0, |_| {})),
                (0, kind::RESUME, 0, 13, resume(2)),
                (0, kind::CALL, 1, 14, None),
                (0, kind::RETURN, 0, 15, None),
                (0, kind::RETURN, 0, 16, None),
            ],
        );
        let bytes = trace(&[p]);
        let (_, c) = run_on(&bytes, &Options::default());
        let got: Vec<(u8, u64, u32, Option<u32>)> =
            c.evs.iter().filter(|e| e.kind != kind::MARK).map(|e| (e.kind, e.activation, e.depth, e.func)).collect();
        assert_eq!(
            got,
            [
                (kind::RESUME, 2, 0, None),
                (kind::CALL, 3, 1, Some(1)),
                (kind::RETURN, 3, 1, Some(1)),
                (kind::RETURN, 2, 0, None)
            ],
            "{got:?}"
        );
        let mut r = ChunkReader::new(&bytes[..], bytes.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        let (runs, _) = runs_of(&mut r).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((runs[0].run_id.as_str(), runs[0].events, runs[0].cleared, runs[0].ended), ("gone", 0, 3, true));
    }

    #[test]
    fn runs_of_ends_the_run_a_run_end_mark_names_not_the_current_one() {
        use crate::wire::format::mark as m;
        // Run `inner` starts inside `outer` and is still current when
        // `outer` ends (a run that left work behind, `clear: 'none'`).
        let mut p = defs();
        let start = |id: u64, parent: u64, run_id: &'static str| {
            mark_blob(id, move |b| {
                put_varint(b, parent);
                vobj(b, &[("runId", run_id)]);
            })
        };
        events_record(
            &mut p,
            0,
            &[
                (0, kind::MARK, m::RUN_START, 10, start(1, 0, "outer")),
                (0, kind::MARK, m::RUN_START, 11, start(2, 1, "inner")),
                (0, kind::MARK, m::RUN_END, 12, mark_blob(1, |_| {})),
                (0, kind::CALL, 1, 13, None),
            ],
        );
        let bytes = trace(&[p]);
        let mut r = ChunkReader::new(&bytes[..], bytes.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        let (runs, _) = runs_of(&mut r).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<_> = runs.iter().map(|r| (r.run_id.as_str(), r.ended)).collect();
        assert_eq!(got, [("outer", true), ("inner", false)]);
    }
}
