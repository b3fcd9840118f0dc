//! speedscope's own file format
//! (<https://www.speedscope.app/file-format-schema.json>): one evented
//! profile per thread, frames keyed by function and place, no values.
//!
//! speedscope keys a frame by its index in `shared.frames`, so the calls of
//! one function share a frame and its views aggregate by function. An async
//! activation's frame is closed at each suspension and opened again at each
//! resume. Each thread's events are spilled to a scratch file while the
//! trace streams, and the profiles are written one after another at the end
//! (so memory holds only the frames).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Seek, Write};

use super::fields::json_str;
use super::stream::{Dict, Ev, Sink};
use super::{io, scratch_file};
use crate::error::Result;
use crate::session::metadata::Metadata;
use crate::wire::format::kind;

struct Profile {
    spill: BufWriter<File>,
    /// Open frames: (activation, frame).
    stack: Vec<(u64, usize)>,
    start: u64,
    end: u64,
    any: bool,
}

/// The speedscope sink.
pub struct Speedscope {
    w: Box<dyn Write>,
    name: String,
    frames: Vec<String>,
    by_func: HashMap<u32, usize>,
    by_place: HashMap<String, usize>,
    profiles: BTreeMap<u32, Profile>,
    line: String,
}

impl Speedscope {
    /// Writes to `w`.
    pub fn new(w: Box<dyn Write>, meta: &Metadata) -> Result<Self> {
        let name = if meta.program.is_empty() {
            "noderec trace".to_string()
        } else {
            format!("{} (pid {})", meta.program, meta.pid)
        };
        Ok(Speedscope {
            w,
            name,
            frames: Vec::new(),
            by_func: HashMap::new(),
            by_place: HashMap::new(),
            profiles: BTreeMap::new(),
            line: String::with_capacity(64),
        })
    }

    fn frame(&mut self, d: &Dict, func: Option<u32>) -> usize {
        let Some(fid) = func else { return self.place_frame("{\"name\":\"<unknown>\"}".into()) };
        if let Some(&i) = self.by_func.get(&fid) {
            return i;
        }
        let mut s = String::from("{\"name\":");
        match d.funcs.get(&fid) {
            Some(f) => {
                json_str(&mut s, &f.name);
                s.push_str(",\"file\":");
                json_str(&mut s, d.path_of(f));
                let _ = write!(s, ",\"line\":{},\"col\":{}}}", f.line, f.col + 1);
            }
            None => s.push_str("\"<unknown>\"}"),
        }
        let i = self.place_frame(s);
        self.by_func.insert(fid, i);
        i
    }

    /// Two function ids for one place (a module loaded in two realms) share
    /// a frame.
    fn place_frame(&mut self, json: String) -> usize {
        if let Some(&i) = self.by_place.get(&json) {
            return i;
        }
        self.frames.push(json.clone());
        self.by_place.insert(json, self.frames.len() - 1);
        self.frames.len() - 1
    }
}

fn put(p: &mut Profile, line: &mut String, ty: char, frame: usize, at: u64) -> Result<()> {
    line.clear();
    if p.any {
        line.push(',');
    } else {
        p.start = at;
    }
    p.any = true;
    p.end = p.end.max(at);
    let _ = write!(line, "{{\"type\":\"{ty}\",\"frame\":{frame},\"at\":{at}}}");
    p.spill.write_all(line.as_bytes()).map_err(io)
}

impl Sink for Speedscope {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        let open = match e.kind {
            kind::CALL | kind::RESUME => true,
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => false,
            _ => return Ok(()),
        };
        if let std::collections::btree_map::Entry::Vacant(v) = self.profiles.entry(e.thread) {
            let p = Profile {
                spill: BufWriter::with_capacity(1 << 16, scratch_file()?),
                stack: Vec::new(),
                start: 0,
                end: 0,
                any: false,
            };
            v.insert(p);
        }
        let frame = if open { self.frame(d, e.func) } else { 0 };
        let Some(p) = self.profiles.get_mut(&e.thread) else { return Ok(()) };
        if open {
            if e.kind == kind::RESUME && e.func.is_none() {
                return Ok(());
            }
            p.stack.push((e.activation, frame));
            put(p, &mut self.line, 'O', frame, e.t_ns)
        } else {
            // A stretch that began before `--from` was never opened.
            match p.stack.last() {
                Some(&(act, frame)) if act == e.activation => {
                    p.stack.pop();
                    put(p, &mut self.line, 'C', frame, e.t_ns)
                }
                _ => Ok(()),
            }
        }
    }

    fn finish(&mut self, d: &Dict, end_ns: u64) -> Result<()> {
        let w = &mut self.w;
        w.write_all(b"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"exporter\":\"noderec@")
            .map_err(io)?;
        w.write_all(env!("CARGO_PKG_VERSION").as_bytes()).map_err(io)?;
        let mut head = String::from("\",\"name\":");
        json_str(&mut head, &self.name);
        head.push_str(",\"activeProfileIndex\":0,\"profiles\":[");
        w.write_all(head.as_bytes()).map_err(io)?;
        let mut first = true;
        let profiles = std::mem::take(&mut self.profiles);
        for (tid, mut p) in profiles {
            // Activations still open at the end (killed, or suspended forever).
            let end = end_ns.max(p.end);
            while let Some((_, frame)) = p.stack.pop() {
                put(&mut p, &mut self.line, 'C', frame, end)?;
            }
            let mut head = String::new();
            if !first {
                head.push(',');
            }
            first = false;
            head.push_str("{\"type\":\"evented\",\"name\":");
            let tname = d.threads.get(&tid).map_or_else(|| format!("thread {tid}"), |n| format!("{n} (thread {tid})"));
            json_str(&mut head, &tname);
            let _ = write!(
                head,
                ",\"unit\":\"nanoseconds\",\"startValue\":{},\"endValue\":{},\"events\":[",
                p.start, p.end
            );
            w.write_all(head.as_bytes()).map_err(io)?;
            let mut f = p.spill.into_inner().map_err(|e| io(e.into_error()))?;
            f.rewind().map_err(io)?;
            std::io::copy(&mut f, w).map_err(io)?;
            w.write_all(b"]}").map_err(io)?;
        }
        w.write_all(b"],\"shared\":{\"frames\":[").map_err(io)?;
        for (i, f) in self.frames.iter().enumerate() {
            if i > 0 {
                w.write_all(b",").map_err(io)?;
            }
            w.write_all(f.as_bytes()).map_err(io)?;
        }
        w.write_all(b"]}}\n").map_err(io)?;
        w.flush().map_err(io)
    }
}
