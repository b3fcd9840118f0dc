//! `noderec-codetracer <trace-dir> <out-dir> [--no-values]`: writes a
//! noderec trace as a CodeTracer trace (runtime_tracing 0.15:
//! `trace_metadata.json`, `trace_paths.json`, `trace.bin` and the sources
//! under `files/`), streaming. `noderec-codetracer --read <out-dir>` reads
//! one back with runtime_tracing's reader and prints counts as JSON.
//!
//! Prints one JSON line on stdout: `{"events":..}` or `{"code":"ERR_..","message":..}`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use noderec_core::trace::reader::ChunkReader;
use noderec_core::export::stream::{self, Dict, Ev, Sink};
use noderec_core::export::{Options, Progress};
use noderec_core::io::chunk;
use noderec_core::session::metadata::Metadata;
use noderec_core::wire::format::{kind, RETURN_UNDEFINED};
use runtime_tracing::{
    create_trace_reader, create_trace_writer, EventLogKind, FullValueRecord, FunctionId, Line, ThreadId,
    TraceEventsFileFormat, TraceLowLevelEvent, TraceWriter, TypeId, TypeKind, ValueRecord,
};
use serde_json::Value;

struct Ct {
    w: Box<dyn TraceWriter>,
    root: PathBuf,
    values: bool,
    funcs: HashMap<u32, FunctionId>,
    types: HashMap<(u8, String), TypeId>,
    thread: Option<u32>,
    paths_seen: HashMap<u32, PathBuf>,
    /// Open stretches per thread (activation), to keep calls and returns paired.
    stacks: HashMap<u32, Vec<u64>>,
    events: u64,
}

fn tk(k: TypeKind) -> u8 {
    k as u8
}

impl Ct {
    fn ty(&mut self, k: TypeKind, lang: &str) -> TypeId {
        let key = (tk(k), lang.to_string());
        if let Some(&t) = self.types.get(&key) {
            return t;
        }
        let t = TraceWriter::ensure_type_id(self.w.as_mut(), k, lang);
        self.types.insert(key, t);
        t
    }

    fn path(&mut self, d: &Dict, path_id: u32) -> PathBuf {
        if let Some(p) = self.paths_seen.get(&path_id) {
            return p.clone();
        }
        let rel = d.paths.get(&path_id).cloned().unwrap_or_default();
        let p = if Path::new(&rel).is_absolute() { PathBuf::from(&rel) } else { self.root.join(&rel) };
        self.paths_seen.insert(path_id, p.clone());
        p
    }

    /// A noderec value (values.md JSON) as a CodeTracer value.
    fn value(&mut self, v: &Value) -> ValueRecord {
        match v {
            Value::Null => ValueRecord::None { type_id: self.ty(TypeKind::None, "null") },
            Value::Bool(b) => ValueRecord::Bool { b: *b, type_id: self.ty(TypeKind::Bool, "boolean") },
            Value::Number(n) => match n.as_i64() {
                Some(i) => ValueRecord::Int { i, type_id: self.ty(TypeKind::Int, "number") },
                None => ValueRecord::Float { f: n.as_f64().unwrap_or(f64::NAN), type_id: self.ty(TypeKind::Float, "number") },
            },
            Value::String(s) => ValueRecord::String { text: s.clone(), type_id: self.ty(TypeKind::String, "string") },
            Value::Array(a) => {
                let elements = a.iter().map(|x| self.value(x)).collect();
                ValueRecord::Sequence { elements, is_slice: false, type_id: self.ty(TypeKind::Seq, "array") }
            }
            Value::Object(o) => match o.get("$").and_then(Value::as_str) {
                Some("undefined") => ValueRecord::None { type_id: self.ty(TypeKind::None, "undefined") },
                Some("error") => ValueRecord::Error {
                    msg: format!(
                        "{}: {}",
                        o.get("class").and_then(Value::as_str).unwrap_or("Error"),
                        o.get("message").and_then(Value::as_str).unwrap_or("")
                    ),
                    type_id: self.ty(TypeKind::Error, "error"),
                },
                Some("array") => {
                    let elements = o.get("items").and_then(Value::as_array).map_or_else(Vec::new, |a| a.iter().map(|x| self.value(x)).collect());
                    ValueRecord::Sequence { elements, is_slice: false, type_id: self.ty(TypeKind::Seq, "array") }
                }
                Some(tag) => {
                    let lang = match tag {
                        "object" => o.get("class").and_then(Value::as_str).unwrap_or("object").to_string(),
                        "function" => "function".to_string(),
                        t => t.to_string(),
                    };
                    let k = if tag == "function" { TypeKind::FunctionKind } else { TypeKind::Raw };
                    ValueRecord::Raw { r: v.to_string(), type_id: self.ty(k, &lang) }
                }
                None => ValueRecord::Raw { r: v.to_string(), type_id: self.ty(TypeKind::Raw, "object") },
            },
        }
    }

    fn json(blob: &stream::Blob) -> Option<Value> {
        let (rec, start) = blob.span();
        let mut s = String::new();
        let mut pos = start;
        noderec_core::trace::value::write_json(rec, &mut pos, &mut s).ok()?;
        serde_json::from_str(&s).ok()
    }

    fn switch(&mut self, thread: u32) {
        if self.thread != Some(thread) {
            if self.thread.is_some() {
                TraceWriter::add_event(self.w.as_mut(), TraceLowLevelEvent::ThreadSwitch(ThreadId(u64::from(thread))));
            }
            self.thread = Some(thread);
        }
    }
}

impl Sink for Ct {
    fn event(&mut self, d: &Dict, e: &Ev) -> noderec_core::error::Result<()> {
        self.switch(e.thread);
        self.events += 1;
        match e.kind {
            kind::CALL | kind::RESUME => {
                let Some(fid) = e.func else { return Ok(()) };
                let f = d.funcs.get(&fid).cloned().unwrap_or_default();
                let path = self.path(d, f.path);
                let id = match self.funcs.get(&fid) {
                    Some(&id) => id,
                    None => {
                        let name = d.identity(Some(fid));
                        let id = TraceWriter::ensure_function_id(self.w.as_mut(), &name, &path, Line(i64::from(f.line)));
                        self.funcs.insert(fid, id);
                        id
                    }
                };
                let mut args: Vec<FullValueRecord> = Vec::new();
                if self.values && e.kind == kind::CALL {
                    if let Some(b) = &e.vals {
                        // `varint n` (argc*2 + hasThis), then this, then the arguments.
                        let (rec, start) = b.span();
                        let mut pos = start;
                        if let Ok(n) = noderec_core::wire::format::read_varint(rec, &mut pos) {
                            let mut vals = Vec::new();
                            for _ in 0..(n >> 1) + (n & 1) {
                                let mut s = String::new();
                                if noderec_core::trace::value::write_json(rec, &mut pos, &mut s).is_err() {
                                    break;
                                }
                                vals.push(serde_json::from_str::<Value>(&s).unwrap_or(Value::Null));
                            }
                            let mut it = vals.iter();
                            if n & 1 == 1 {
                                if let Some(v) = it.next() {
                                    let v = self.value(v);
                                    args.push(TraceWriter::arg(self.w.as_mut(), "this", v));
                                }
                            }
                            for (i, v) in it.enumerate() {
                                let name = f.params.get(i).cloned().unwrap_or_else(|| format!("arg{i}"));
                                let v = self.value(v);
                                args.push(TraceWriter::arg(self.w.as_mut(), &name, v));
                            }
                        }
                    }
                }
                TraceWriter::register_call(self.w.as_mut(), id, args);
                self.stacks.entry(e.thread).or_default().push(e.activation);
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                let stack = self.stacks.entry(e.thread).or_default();
                if stack.last() != Some(&e.activation) {
                    return Ok(());
                }
                stack.pop();
                let none = self.ty(TypeKind::None, "undefined");
                let v = match e.kind {
                    kind::RETURN if self.values => match e.vals.as_ref().and_then(Self::json) {
                        Some(v) => self.value(&v),
                        None if e.payload == RETURN_UNDEFINED => ValueRecord::None { type_id: none },
                        None => ValueRecord::None { type_id: none },
                    },
                    kind::THROW => {
                        let msg = if self.values {
                            e.error.as_ref().or(e.vals.as_ref()).and_then(Self::json).map_or_else(|| "threw".into(), |v| v.to_string())
                        } else {
                            "threw".into()
                        };
                        let t = self.ty(TypeKind::Error, "error");
                        ValueRecord::Error { msg, type_id: t }
                    }
                    kind::AWAIT | kind::YIELD => {
                        let t = self.ty(TypeKind::Raw, "suspended");
                        ValueRecord::Raw { r: if e.kind == kind::AWAIT { "<await>".into() } else { "<yield>".into() }, type_id: t }
                    }
                    _ => ValueRecord::None { type_id: none },
                };
                TraceWriter::register_return(self.w.as_mut(), v);
            }
            kind::OUTPUT => {
                let (st, _) = chunk::split_payload(e.payload);
                let bytes = e.vals.as_ref().and_then(|b| chunk::blob_bytes(b.bytes())).unwrap_or_default();
                let k = match st {
                    0 => EventLogKind::Read,
                    1 => EventLogKind::Write,
                    _ => EventLogKind::WriteOther,
                };
                TraceWriter::register_special_event(self.w.as_mut(), k, &String::from_utf8_lossy(bytes));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _d: &Dict, _end_ns: u64) -> noderec_core::error::Result<()> {
        // Close what is still open, so calls and returns pair up.
        let mut threads: Vec<u32> = self.stacks.keys().copied().collect();
        threads.sort_unstable();
        for th in threads {
            let n = self.stacks.get(&th).map_or(0, Vec::len);
            if n > 0 {
                self.switch(th);
            }
            for _ in 0..n {
                let t = self.ty(TypeKind::Raw, "unfinished");
                TraceWriter::register_return(self.w.as_mut(), ValueRecord::Raw { r: "<unfinished>".into(), type_id: t });
            }
        }
        Ok(())
    }
}

fn write(dir: &Path, out: &Path, no_values: bool) -> Result<u64, (String, String)> {
    let err = |code: &str| {
        let code = code.to_string();
        move |e: Box<dyn std::error::Error>| (code.clone(), e.to_string())
    };
    let meta = Metadata::load(dir).map_err(|e| (e.code().to_string(), e.to_string()))?;
    std::fs::create_dir_all(out).map_err(|e| ("ERR_IO".to_string(), format!("create {}: {e}", out.display())))?;
    let root = PathBuf::from(if meta.root.is_empty() { meta.cwd.clone() } else { meta.root.clone() });
    let program = root.join(&meta.program);
    let mut w = create_trace_writer(&program.display().to_string(), &meta.argv, TraceEventsFileFormat::Binary);
    TraceWriter::begin_writing_trace_metadata(w.as_mut(), &out.join("trace_metadata.json")).map_err(err("ERR_IO"))?;
    TraceWriter::begin_writing_trace_paths(w.as_mut(), &out.join("trace_paths.json")).map_err(err("ERR_IO"))?;
    TraceWriter::begin_writing_trace_events(w.as_mut(), &out.join("trace.bin")).map_err(err("ERR_IO"))?;
    TraceWriter::start(w.as_mut(), &program, Line(1));
    let mut ct = Ct {
        w,
        root: root.clone(),
        values: !no_values,
        funcs: HashMap::new(),
        types: HashMap::new(),
        thread: None,
        paths_seen: HashMap::new(),
        stacks: HashMap::new(),
        events: 0,
    };
    let mut chunks = ChunkReader::open(&dir.join("trace.nrt")).map_err(|e| (e.code().to_string(), e.to_string()))?;
    let opts = Options { no_values, ..Options::default() };
    stream::run(&mut chunks, &opts, &Progress::default(), &mut ct).map_err(|e| (e.code().to_string(), e.to_string()))?;
    TraceWriter::finish_writing_trace_metadata(ct.w.as_mut()).map_err(err("ERR_IO"))?;
    TraceWriter::finish_writing_trace_paths(ct.w.as_mut()).map_err(err("ERR_IO"))?;
    TraceWriter::finish_writing_trace_events(ct.w.as_mut()).map_err(err("ERR_IO"))?;
    // CodeTracer shows the sources from `files/<absolute path>`.
    for p in ct.paths_seen.values() {
        let rel = p.strip_prefix("/").unwrap_or(p);
        let dest = out.join("files").join(rel);
        if let Some(parent) = dest.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = std::fs::copy(p, &dest);
    }
    Ok(ct.events)
}

fn read(out: &Path) -> Result<Value, (String, String)> {
    let mut r = create_trace_reader(TraceEventsFileFormat::Binary);
    let evs = r.load_trace_events(&out.join("trace.bin")).map_err(|e| ("ERR_TRACE_INCOMPLETE".to_string(), e.to_string()))?;
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let mut functions = Vec::new();
    let mut writes = Vec::new();
    let mut calls = Vec::new();
    for e in &evs {
        let k = match e {
            TraceLowLevelEvent::Call(c) => {
                calls.push(c.function_id.0);
                "call"
            }
            TraceLowLevelEvent::Return(_) => "return",
            TraceLowLevelEvent::Function(f) => {
                functions.push(f.name.clone());
                "function"
            }
            TraceLowLevelEvent::Event(ev) => {
                writes.push(ev.content.clone());
                "event"
            }
            TraceLowLevelEvent::Step(_) => "step",
            TraceLowLevelEvent::Value(_) => "value",
            TraceLowLevelEvent::Type(_) => "type",
            TraceLowLevelEvent::Path(_) => "path",
            TraceLowLevelEvent::ThreadSwitch(_) => "thread_switch",
            _ => "other",
        };
        *counts.entry(k).or_default() += 1;
    }
    Ok(serde_json::json!({
        "events": evs.len(),
        "counts": counts,
        "functions": functions,
        "calls": calls.iter().map(|&i| functions.get(i).cloned().unwrap_or_default()).collect::<Vec<_>>(),
        "output": writes,
        "json": serde_json::to_value(&evs).unwrap_or(Value::Null),
    }))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--read") if args.len() == 2 => read(Path::new(&args[1])),
        Some(_) if args.len() >= 2 => {
            let no_values = args.iter().any(|a| a == "--no-values");
            write(Path::new(&args[0]), Path::new(&args[1]), no_values).map(|n| serde_json::json!({ "events": n }))
        }
        _ => Err(("ERR_USAGE".into(), "usage: noderec-codetracer <trace-dir> <out-dir> [--no-values] | --read <out-dir>".into())),
    };
    match result {
        Ok(v) => println!("{v}"),
        Err((code, message)) => {
            println!("{}", serde_json::json!({ "code": code, "message": message }));
            std::process::exit(1);
        }
    }
}
