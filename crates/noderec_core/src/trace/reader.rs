//! The trace reader: walks the chunks of `trace.nrt`, verifies each one's
//! checksum, and stops cleanly at the first damaged or cut chunk, saying how
//! much it read.

use std::collections::BTreeMap;
use std::path::Path;

use super::format::{self, record, Cursor, HAS_VALUES, PAYLOAD_SHIFT};
use crate::error::{Error, Result};

/// A function or await/yield site, as defined in the trace.
#[derive(Debug, Clone, Default)]
pub struct Func {
    /// Path id.
    pub path: u32,
    /// Qualified name.
    pub name: String,
    /// Kind name.
    pub kind: String,
    /// 1-based line.
    pub line: u32,
    /// 0-based column.
    pub col: u32,
    /// bit 0 async, bit 1 generator.
    pub flags: u8,
    /// Parameter names.
    pub params: Vec<String>,
}

/// One event as stored (kind, payload, raw time, value blob span).
#[derive(Debug, Clone, Copy)]
pub struct Event {
    /// Thread id.
    pub thread: u32,
    /// Event kind (see `format::kind`).
    pub kind: u8,
    /// Function id (calls), site id (await/yield), or a kind-specific payload.
    pub payload: u32,
    /// Microseconds since the trace started, as published to the probes.
    pub t_us: u64,
    /// Offset of the value blob in `Trace::values`.
    pub val_off: u32,
    /// Length of the value blob (0 = none).
    pub val_len: u32,
}

/// Everything a trace file holds.
#[derive(Debug, Default)]
pub struct Trace {
    /// Path ids to paths.
    pub paths: BTreeMap<u32, String>,
    /// Function ids to definitions.
    pub funcs: BTreeMap<u32, Func>,
    /// Thread ids to names.
    pub threads: BTreeMap<u32, String>,
    /// Events in file order (per thread in program order).
    pub events: Vec<Event>,
    /// All value blobs, concatenated.
    pub values: Vec<u8>,
    /// Complete chunks read.
    pub chunks: u64,
    /// Bytes of the file that were read as complete chunks (header included).
    pub bytes_read: u64,
    /// File size.
    pub file_len: u64,
    /// The END record was found: the recorder finished cleanly.
    pub ended: bool,
    /// Why reading stopped early, if it did.
    pub damage: Option<String>,
}

impl Trace {
    /// The value blob of an event.
    pub fn blob(&self, e: &Event) -> &[u8] {
        let s = e.val_off as usize;
        &self.values[s..s + e.val_len as usize]
    }
}

/// Reads a whole trace file. Damage after the header is not an error: the
/// trace holds every complete chunk before it and `damage` says what stopped
/// the reader.
pub fn read_trace(path: &Path) -> Result<Trace> {
    let data = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::TraceMissing { path: path.display().to_string() },
        _ => Error::io(format!("read {}", path.display()), e),
    })?;
    read_trace_bytes(&data).map_err(|message| Error::TraceIncomplete { path: path.display().to_string(), message })
}

/// Reads a trace from memory; errors only when the header itself is bad.
pub fn read_trace_bytes(data: &[u8]) -> std::result::Result<Trace, String> {
    let mut t = Trace { file_len: data.len() as u64, ..Trace::default() };
    if data.len() < format::HEADER_LEN || &data[..8] != format::MAGIC {
        return Err("not a noderec trace (bad magic)".into());
    }
    let version = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
    if version != format::VERSION {
        return Err(format!("unsupported trace format version {version} (this reader knows {})", format::VERSION));
    }
    let mut pos = format::HEADER_LEN;
    t.bytes_read = pos as u64;
    let mut dctx = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    while pos < data.len() {
        if data.len() - pos < format::CHUNK_HEADER_LEN {
            t.damage = Some(format!("cut chunk header at byte {pos}"));
            break;
        }
        let rd =
            |o: usize| u32::from_le_bytes([data[pos + o], data[pos + o + 1], data[pos + o + 2], data[pos + o + 3]]);
        let (clen, crc, ulen) = (rd(0) as usize, rd(4), rd(8) as usize);
        let body_start = pos + format::CHUNK_HEADER_LEN;
        if data.len() - body_start < clen {
            t.damage =
                Some(format!("cut chunk at byte {pos}: {clen} bytes announced, {} present", data.len() - body_start));
            break;
        }
        let body = &data[body_start..body_start + clen];
        if crc32fast::hash(body) != crc {
            t.damage = Some(format!("checksum mismatch in chunk at byte {pos}"));
            break;
        }
        if ulen > format::MAX_CHUNK {
            t.damage = Some(format!("chunk at byte {pos} announces {ulen} bytes, more than the limit"));
            break;
        }
        let payload = match dctx.decompress(body, ulen) {
            Ok(p) if p.len() == ulen => p,
            _ => {
                t.damage = Some(format!("chunk at byte {pos} does not decompress"));
                break;
            }
        };
        // Decode into scratch state so a malformed chunk adds nothing.
        let ev_before = t.events.len();
        let val_before = t.values.len();
        if let Err(m) = decode_payload(&payload, &mut t) {
            t.events.truncate(ev_before);
            t.values.truncate(val_before);
            t.damage = Some(format!("malformed chunk at byte {pos}: {m}"));
            break;
        }
        pos = body_start + clen;
        t.chunks += 1;
        t.bytes_read = pos as u64;
    }
    Ok(t)
}

fn decode_payload(payload: &[u8], t: &mut Trace) -> std::result::Result<(), &'static str> {
    let mut c = Cursor::new(payload);
    while !c.done() {
        let ty = c.u8().ok_or("eof")?;
        match ty {
            record::PATH => {
                let id = c.varint().ok_or("path id")? as u32;
                let p = c.str().ok_or("path")?;
                t.paths.insert(id, p);
            }
            record::FUNC => {
                let id = c.varint().ok_or("func id")? as u32;
                let path = c.varint().ok_or("func path")? as u32;
                let name = c.str().ok_or("func name")?;
                let kind = c.str().ok_or("func kind")?;
                let line = c.varint().ok_or("func line")? as u32;
                let col = c.varint().ok_or("func col")? as u32;
                let flags = c.u8().ok_or("func flags")?;
                let n = c.varint().ok_or("func params")? as usize;
                let mut params = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    params.push(c.str().ok_or("param")?);
                }
                t.funcs.insert(id, Func { path, name, kind, line, col, flags, params });
            }
            record::THREAD => {
                let id = c.varint().ok_or("thread id")? as u32;
                let name = c.str().ok_or("thread name")?;
                t.threads.insert(id, name);
            }
            record::EVENTS => {
                let thread = c.varint().ok_or("events thread")? as u32;
                let count = c.varint().ok_or("events count")? as usize;
                let mut time = c.varint().ok_or("events base")?;
                t.threads.entry(thread).or_insert_with(|| {
                    if thread == 0 {
                        "main".into()
                    } else {
                        format!("worker {thread}")
                    }
                });
                t.events.reserve(count.min(1 << 20));
                for _ in 0..count {
                    let head = c.varint().ok_or("event head")? as u32;
                    time += c.varint().ok_or("event time")?;
                    let (mut val_off, mut val_len) = (0u32, 0u32);
                    if head & HAS_VALUES != 0 {
                        let n = c.varint().ok_or("value length")? as usize;
                        let b = c.bytes(n).ok_or("value bytes")?;
                        val_off = t.values.len() as u32;
                        val_len = n as u32;
                        t.values.extend_from_slice(b);
                    }
                    t.events.push(Event {
                        thread,
                        kind: (head & 0xf) as u8,
                        payload: head >> PAYLOAD_SHIFT,
                        t_us: time,
                        val_off,
                        val_len,
                    });
                }
            }
            record::END => {
                c.varint().ok_or("end count")?;
                t.ended = true;
            }
            _ => return Err("unknown record type"),
        }
    }
    Ok(())
}
