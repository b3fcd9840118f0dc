//! Perfetto's native protobuf trace (`perfetto_trace.proto`), streamed: a
//! concatenation of `Trace.packet` fields, written one packet at a time.
//!
//! One process track, one thread track per thread; each synchronous
//! stretch of an activation is a slice (SLICE_BEGIN/SLICE_END) whose name
//! and source location are interned (`InternedData`, added at first use in
//! the packet that first needs them). An async activation's stretches are
//! joined by a flow (its id on the END of each suspended stretch and on the
//! BEGIN of the resumed one). Values are debug annotations holding JSON:
//! arguments and `this` on the BEGIN, the return value or error on the END
//! (trace_processor merges END annotations into the slice). Output is an
//! INSTANT event named after the stream, with the text.
//!
//! Field numbers are from Perfetto's protos (`protos/perfetto/trace/`);
//! tests decode the output with the published `perfetto_trace.proto`.

use std::collections::HashMap;
use std::io::Write;

use super::fields::{call_values, one_value};
use super::pb::Buf;
use super::stream::{Dict, Ev, Sink};
use super::{io, Options};
use crate::error::Result;
use crate::io::chunk;
use crate::session::metadata::Metadata;
use crate::wire::format::{kind, RETURN_UNDEFINED};

// TracePacket
const P_TIMESTAMP: u32 = 8;
const P_SEQ_ID: u32 = 10;
const P_TRACK_EVENT: u32 = 11;
const P_INTERNED: u32 = 12;
const P_SEQ_FLAGS: u32 = 13;
const P_TRACK_DESCRIPTOR: u32 = 60;
// TrackDescriptor
const TD_UUID: u32 = 1;
const TD_NAME: u32 = 2;
const TD_PROCESS: u32 = 3;
const TD_THREAD: u32 = 4;
const TD_PARENT: u32 = 5;
// ProcessDescriptor / ThreadDescriptor
const PD_PID: u32 = 1;
const PD_NAME: u32 = 6;
const TH_PID: u32 = 1;
const TH_TID: u32 = 2;
const TH_NAME: u32 = 5;
// TrackEvent
const TE_ANNOTATIONS: u32 = 4;
const TE_TYPE: u32 = 9;
const TE_NAME_IID: u32 = 10;
const TE_TRACK: u32 = 11;
const TE_SOURCE_IID: u32 = 34;
const TE_FLOW_IDS: u32 = 47;
const SLICE_BEGIN: u64 = 1;
const SLICE_END: u64 = 2;
const INSTANT: u64 = 3;
// InternedData
const ID_EVENT_NAMES: u32 = 2;
const ID_SOURCE_LOCATIONS: u32 = 4;
// EventName / SourceLocation
const EN_IID: u32 = 1;
const EN_NAME: u32 = 2;
const SL_IID: u32 = 1;
const SL_FILE: u32 = 2;
const SL_FUNCTION: u32 = 3;
const SL_LINE: u32 = 4;
// DebugAnnotation
const DA_STRING: u32 = 6;
const DA_NAME: u32 = 10;
/// TracePacket.sequence_flags: SEQ_INCREMENTAL_STATE_CLEARED | SEQ_NEEDS_INCREMENTAL_STATE.
const SEQ_CLEARED: u64 = 1;
const SEQ_NEEDS_STATE: u64 = 2;
/// Our one packet sequence.
const SEQ_ID: u64 = 1;
/// The process track's uuid; thread tracks are `PROCESS_UUID + 1 + thread`.
const PROCESS_UUID: u64 = 1 << 32;

/// The Perfetto sink.
pub struct Perfetto {
    w: Box<dyn Write>,
    pid: u32,
    program: String,
    values: bool,
    started: bool,
    first_interned: bool,
    /// Function id → (name iid, source location iid).
    funcs: HashMap<u32, (u64, u64)>,
    /// Stream names → name iid.
    streams: HashMap<u8, u64>,
    next_iid: u64,
    /// Per thread: open stretches (activation).
    stacks: HashMap<u32, Vec<u64>>,
    /// Async activations that suspended: a flow joins their stretches.
    suspended_flows: std::collections::HashSet<(u32, u64)>,
    pkt: Buf,
    scratch: String,
}

fn thread_uuid(t: u32) -> u64 {
    PROCESS_UUID + 1 + u64::from(t)
}

fn flow_id(t: u32, act: u64) -> u64 {
    (u64::from(t) << 40 | act) + 1
}

impl Perfetto {
    /// Writes to `w`.
    pub fn new(w: Box<dyn Write>, meta: &Metadata, opts: &Options) -> Self {
        Perfetto {
            w,
            pid: meta.pid,
            program: if meta.program.is_empty() { "node".into() } else { meta.program.clone() },
            values: !opts.no_values,
            started: false,
            first_interned: true,
            funcs: HashMap::new(),
            streams: HashMap::new(),
            next_iid: 1,
            stacks: HashMap::new(),
            suspended_flows: Default::default(),
            pkt: Buf::new(),
            scratch: String::new(),
        }
    }

    /// Writes the packet in `self.pkt` as one `Trace.packet` field.
    fn emit(&mut self) -> Result<()> {
        let mut head = Vec::with_capacity(6);
        head.push(0x0a);
        super::pb::varint(&mut head, self.pkt.bytes.len() as u64);
        self.w.write_all(&head).map_err(io)?;
        self.w.write_all(&self.pkt.bytes).map_err(io)?;
        self.pkt.clear();
        Ok(())
    }

    fn tid(&self, thread: u32) -> u64 {
        u64::from(self.pid) + u64::from(thread)
    }

    fn start(&mut self) -> Result<()> {
        self.started = true;
        let p = &mut self.pkt;
        p.uint(P_SEQ_ID, SEQ_ID);
        let td = p.begin(P_TRACK_DESCRIPTOR);
        p.uint(TD_UUID, PROCESS_UUID);
        let pd = p.begin(TD_PROCESS);
        p.int(PD_PID, i64::from(self.pid));
        p.str(PD_NAME, &self.program);
        p.end(pd);
        p.end(td);
        self.emit()
    }

    fn thread_track(&mut self, d: &Dict, thread: u32) -> Result<()> {
        let tid = self.tid(thread);
        let p = &mut self.pkt;
        p.uint(P_SEQ_ID, SEQ_ID);
        let td = p.begin(P_TRACK_DESCRIPTOR);
        p.uint(TD_UUID, thread_uuid(thread));
        p.uint(TD_PARENT, PROCESS_UUID);
        let name = d.threads.get(&thread).map_or_else(|| format!("thread {thread}"), |s| s.clone());
        p.str(TD_NAME, &name);
        let th = p.begin(TD_THREAD);
        p.int(TH_PID, i64::from(self.pid));
        p.int(TH_TID, tid as i64);
        p.str(TH_NAME, &name);
        p.end(th);
        p.end(td);
        self.emit()
    }

    /// Starts a track-event packet at `t_ns`, interning what `func` or
    /// `stream` need first; returns their name (and source location) iids.
    fn event_packet(&mut self, d: &Dict, t_ns: u64, func: Option<u32>, stream: Option<u8>) -> (u64, u64) {
        let mut new_func = None;
        let mut new_stream = None;
        let ids = if let Some(s) = stream {
            match self.streams.get(&s) {
                Some(&i) => (i, 0),
                None => {
                    let i = self.next_iid;
                    self.next_iid += 1;
                    self.streams.insert(s, i);
                    new_stream = Some((s, i));
                    (i, 0)
                }
            }
        } else {
            let key = func.unwrap_or(u32::MAX);
            match self.funcs.get(&key) {
                Some(&ids) => ids,
                None => {
                    let ids = (self.next_iid, self.next_iid + 1);
                    self.next_iid += 2;
                    self.funcs.insert(key, ids);
                    new_func = Some(ids);
                    ids
                }
            }
        };
        let p = &mut self.pkt;
        p.uint(P_TIMESTAMP, t_ns);
        p.uint(P_SEQ_ID, SEQ_ID);
        if new_func.is_some() || new_stream.is_some() {
            let flags = if self.first_interned { SEQ_CLEARED | SEQ_NEEDS_STATE } else { SEQ_NEEDS_STATE };
            self.first_interned = false;
            p.uint(P_SEQ_FLAGS, flags);
            let id = p.begin(P_INTERNED);
            if let Some((name_iid, loc_iid)) = new_func {
                let f = func.and_then(|f| d.funcs.get(&f));
                let en = p.begin(ID_EVENT_NAMES);
                p.uint(EN_IID, name_iid);
                p.str(EN_NAME, &d.identity(func));
                p.end(en);
                let sl = p.begin(ID_SOURCE_LOCATIONS);
                p.uint(SL_IID, loc_iid);
                if let Some(f) = f {
                    p.str(SL_FILE, d.path_of(f));
                    p.str(SL_FUNCTION, &f.name);
                    p.uint(SL_LINE, u64::from(f.line));
                }
                p.end(sl);
            }
            if let Some((s, iid)) = new_stream {
                let en = p.begin(ID_EVENT_NAMES);
                p.uint(EN_IID, iid);
                p.str(EN_NAME, chunk::stream::name(s));
                p.end(en);
            }
            p.end(id);
        } else if !self.first_interned {
            p.uint(P_SEQ_FLAGS, SEQ_NEEDS_STATE);
        }
        ids
    }

    fn annotation(p: &mut Buf, name: &str, json: &str) {
        let a = p.begin(TE_ANNOTATIONS);
        p.str(DA_NAME, name);
        p.str(DA_STRING, json);
        p.end(a);
    }

    /// Writes the `,"key":value` pairs of `extra` as one annotation each.
    fn annotations(p: &mut Buf, pairs: &[(&str, String)]) {
        for (k, v) in pairs {
            Self::annotation(p, k, v);
        }
    }

    fn end_slice(
        &mut self,
        d: &Dict,
        e_thread: u32,
        t_ns: u64,
        pairs: &[(&str, String)],
        flow: Option<u64>,
    ) -> Result<()> {
        let _ = d;
        let p = &mut self.pkt;
        p.uint(P_TIMESTAMP, t_ns);
        p.uint(P_SEQ_ID, SEQ_ID);
        if !self.first_interned {
            p.uint(P_SEQ_FLAGS, SEQ_NEEDS_STATE);
        }
        let te = p.begin(P_TRACK_EVENT);
        p.uint(TE_TYPE, SLICE_END);
        p.uint(TE_TRACK, thread_uuid(e_thread));
        Self::annotations(p, pairs);
        if let Some(f) = flow {
            p.fixed64(TE_FLOW_IDS, f);
        }
        p.end(te);
        self.emit()
    }
}

/// Splits `,"a":x,"b":y` written by the value helpers into one
/// (name, JSON) pair per value: the helpers write exactly one top-level
/// key per call, so each call goes to its own string.
fn value_pair(key: &'static str, write: impl FnOnce(&mut String)) -> (&'static str, String) {
    let mut s = String::new();
    write(&mut s);
    let prefix = format!(",\"{key}\":");
    let v = s.strip_prefix(prefix.as_str()).map_or_else(|| s.clone(), str::to_string);
    (key, v)
}

impl Sink for Perfetto {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        if e.kind == kind::MARK {
            // Runs, spans and logs: only the jsonl export shows them.
            return Ok(());
        }
        if !self.started {
            self.start()?;
        }
        if let std::collections::hash_map::Entry::Vacant(v) = self.stacks.entry(e.thread) {
            v.insert(Vec::new());
            self.thread_track(d, e.thread)?;
        }
        match e.kind {
            kind::CALL | kind::RESUME => {
                let (name_iid, loc_iid) = self.event_packet(d, e.t_ns, e.func, None);
                let mut pairs = Vec::new();
                if self.values && e.kind == kind::CALL {
                    if let Some(b) = &e.vals {
                        let mut s = String::new();
                        call_values(&mut s, b.span());
                        // `,"this":..` (optional) then `,"args":[..]`.
                        if let Some(i) = s.find(",\"args\":") {
                            if let Some(this) = s[..i].strip_prefix(",\"this\":") {
                                pairs.push(("this", this.to_string()));
                            }
                            pairs.push(("args", s[i + 8..].to_string()));
                        }
                    }
                }
                let flow = (e.kind == kind::RESUME && self.suspended_flows.remove(&(e.thread, e.activation)))
                    .then(|| flow_id(e.thread, e.activation));
                let p = &mut self.pkt;
                let te = p.begin(P_TRACK_EVENT);
                p.uint(TE_TYPE, SLICE_BEGIN);
                p.uint(TE_TRACK, thread_uuid(e.thread));
                p.uint(TE_NAME_IID, name_iid);
                p.uint(TE_SOURCE_IID, loc_iid);
                Self::annotations(p, &pairs);
                if let Some(f) = flow {
                    p.fixed64(TE_FLOW_IDS, f);
                }
                p.end(te);
                if let Some(s) = self.stacks.get_mut(&e.thread) {
                    s.push(e.activation);
                }
                self.emit()
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                let Some(stack) = self.stacks.get_mut(&e.thread) else { return Ok(()) };
                if stack.last() != Some(&e.activation) {
                    return Ok(());
                }
                stack.pop();
                let mut pairs = Vec::new();
                match e.kind {
                    kind::RETURN if self.values => match &e.vals {
                        Some(b) => pairs.push(value_pair("return", |s| one_value(s, "return", b.span()))),
                        None if e.payload == RETURN_UNDEFINED => pairs.push(("return", "{\"$\":\"undefined\"}".into())),
                        None => {}
                    },
                    kind::THROW => {
                        pairs.push(("threw", "true".into()));
                        if self.values {
                            if let Some(b) = e.error.as_ref().or(e.vals.as_ref()) {
                                pairs.push(value_pair("error", |s| one_value(s, "error", b.span())));
                            }
                        }
                    }
                    kind::AWAIT => pairs.push(("suspended", "\"await\"".into())),
                    kind::YIELD => pairs.push(("suspended", "\"yield\"".into())),
                    _ => {}
                }
                let flow = if e.kind == kind::AWAIT || e.kind == kind::YIELD {
                    self.suspended_flows.insert((e.thread, e.activation));
                    Some(flow_id(e.thread, e.activation))
                } else {
                    None
                };
                self.end_slice(d, e.thread, e.t_ns, &pairs, flow)
            }
            kind::OUTPUT => {
                let (st, _) = chunk::split_payload(e.payload);
                let (name_iid, _) = self.event_packet(d, e.t_ns, None, Some(st));
                let bytes = e.vals.as_ref().and_then(|b| chunk::blob_bytes(b.bytes())).unwrap_or_default();
                self.scratch.clear();
                self.scratch.push_str(&String::from_utf8_lossy(bytes));
                let p = &mut self.pkt;
                let te = p.begin(P_TRACK_EVENT);
                p.uint(TE_TYPE, INSTANT);
                p.uint(TE_TRACK, thread_uuid(e.thread));
                p.uint(TE_NAME_IID, name_iid);
                Self::annotation(p, "text", &self.scratch);
                Self::annotation(p, "activation", &e.activation.to_string());
                p.end(te);
                self.emit()
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, d: &Dict, end_ns: u64) -> Result<()> {
        let mut tids: Vec<u32> = self.stacks.keys().copied().collect();
        tids.sort_unstable();
        for tid in tids {
            let n = self.stacks.get(&tid).map_or(0, Vec::len);
            for _ in 0..n {
                self.end_slice(d, tid, end_ns, &[("unfinished", "true".into())], None)?;
            }
        }
        self.w.flush().map_err(io)
    }
}
