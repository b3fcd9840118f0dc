//! The trace reader: walks the chunks of `trace.nrt`, verifies each one's
//! checksum, and stops cleanly at the first damaged or cut chunk, saying how
//! much it read.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::host::filesystem::open_regular;
use crate::wire::format::{self, record, Cursor, HAS_VALUES, PAYLOAD_SHIFT};

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
    /// Offset in `values` where the blobs of each EVENTS record begin (a
    /// `ref` inside a value points back within its record).
    pub value_records: Vec<u32>,
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
    /// The header's flags word ([`format::flags`]).
    pub flags: u32,
}

impl Trace {
    /// The value blob of an event.
    pub fn blob(&self, e: &Event) -> &[u8] {
        let s = e.val_off as usize;
        &self.values[s..s + e.val_len as usize]
    }

    /// The value bytes of the event's EVENTS record up to the end of the
    /// event's blob, and where the blob starts in them: what
    /// `value::write_json` needs to resolve references.
    pub fn value_span(&self, e: &Event) -> (&[u8], usize) {
        let i = self.value_records.partition_point(|&b| b <= e.val_off);
        let base = if i == 0 { 0 } else { self.value_records[i - 1] as usize };
        let s = e.val_off as usize;
        (&self.values[base..s + e.val_len as usize], s - base)
    }
}

/// Reads a whole trace file, chunk by chunk (never the whole file at once).
/// Damage after the header is not an error: the trace holds every complete
/// chunk before it and `damage` says what stopped the reader. A path that is
/// not a regular file (a FIFO, a device) is refused without blocking.
pub fn read_trace(path: &Path) -> Result<Trace> {
    let mut chunks = ChunkReader::open(path)?;
    let mut t = Trace { file_len: chunks.file_len, flags: chunks.flags, ..Trace::default() };
    read_chunks(&mut chunks, &mut t, MAX_HELD_BYTES);
    Ok(t)
}

/// Reads a trace from memory; errors only when the header itself is bad.
pub fn read_trace_bytes(data: &[u8]) -> std::result::Result<Trace, String> {
    read_trace_bytes_limited(data, MAX_HELD_BYTES)
}

/// Like [`read_trace_bytes`], holding at most `max_bytes` of decoded events
/// and values in memory.
pub fn read_trace_bytes_limited(data: &[u8], max_bytes: u64) -> std::result::Result<Trace, String> {
    let mut chunks = ChunkReader::new(data, data.len() as u64)?;
    let mut t = Trace { file_len: data.len() as u64, flags: chunks.flags, ..Trace::default() };
    read_chunks(&mut chunks, &mut t, max_bytes);
    Ok(t)
}

/// The most decoded events and value bytes a reader holds in memory (16 GiB):
/// a few kilobytes of zstd can expand to gigabytes of events, so a trace
/// past this is read up to the chunk that crosses it, and the rest is
/// reported as not read, like damage.
pub const MAX_HELD_BYTES: u64 = 16 << 30;

impl Trace {
    /// Memory held by the decoded events and values, in bytes.
    pub fn held_bytes(&self) -> u64 {
        (self.events.len() * std::mem::size_of::<Event>() + self.values.len()) as u64
    }
}

fn read_chunks<R: Read>(chunks: &mut ChunkReader<R>, t: &mut Trace, max_bytes: u64) {
    t.bytes_read = chunks.pos;
    while let Some(payload) = chunks.next_payload() {
        // A malformed chunk adds nothing.
        let ev_before = t.events.len();
        let val_before = t.values.len();
        if let Err(m) = decode_payload(payload, t, max_bytes) {
            t.events.truncate(ev_before);
            t.values.truncate(val_before);
            t.value_records.retain(|&b| (b as usize) < val_before);
            chunks.damage = Some(if m == OVER_LIMIT {
                format!(
                    "stopped at the chunk at byte {}: the events before it fill the reader's memory limit ({} MiB); the rest is not read",
                    chunks.chunk_at,
                    max_bytes >> 20
                )
            } else {
                format!("malformed chunk at byte {}: {m}", chunks.chunk_at)
            });
            break;
        }
        t.chunks += 1;
        t.bytes_read = chunks.pos;
    }
    t.damage = chunks.damage.take();
}

/// Reads the chunks of a trace one at a time from any byte source, holding
/// one chunk (at most [`format::MAX_CHUNK`] bytes decompressed) in memory.
/// Stops at the first cut, damaged or oversized chunk and says why.
pub struct ChunkReader<R> {
    src: R,
    /// Length of the trace (the file's size when it was opened: a trace still
    /// being written is read up to there).
    pub file_len: u64,
    /// Offset after the last complete chunk.
    pub pos: u64,
    /// Offset of the chunk being decoded.
    pub chunk_at: u64,
    /// Why reading stopped before `file_len`, if it did.
    pub damage: Option<String>,
    /// The header's flags word ([`format::flags`]).
    pub flags: u32,
    body: Vec<u8>,
    payload: Vec<u8>,
    dctx: Option<zstd::bulk::Decompressor<'static>>,
}

impl ChunkReader<std::io::BufReader<std::fs::File>> {
    /// Opens `path` (a regular file; see [`open_regular`]) and checks its header.
    pub fn open(path: &Path) -> Result<Self> {
        let (f, len) = open_regular(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: path.display().to_string() },
            std::io::ErrorKind::InvalidInput => {
                Error::NotRegularFile { path: path.display().to_string(), message: e.to_string() }
            }
            _ => Error::io(format!("read {}", path.display()), e),
        })?;
        ChunkReader::new(std::io::BufReader::with_capacity(1 << 16, f), len)
            .map_err(|message| Error::TraceIncomplete { path: path.display().to_string(), message })
    }
}

impl<R: Read> ChunkReader<R> {
    /// Reads the header from `src` (of `len` bytes in all).
    pub fn new(mut src: R, len: u64) -> std::result::Result<Self, String> {
        let mut header = [0u8; format::HEADER_LEN];
        if len < format::HEADER_LEN as u64 || src.read_exact(&mut header).is_err() || &header[..8] != format::MAGIC {
            return Err("not a noderec trace (bad magic)".into());
        }
        let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if version != format::VERSION {
            return Err(format!("unsupported trace format version {version} (this reader knows {})", format::VERSION));
        }
        Ok(ChunkReader {
            src,
            file_len: len,
            pos: format::HEADER_LEN as u64,
            chunk_at: format::HEADER_LEN as u64,
            damage: None,
            flags: format::header_flags(&header),
            body: Vec::new(),
            payload: Vec::new(),
            dctx: None,
        })
    }

    /// The next chunk's decompressed payload; `None` at the end of the
    /// trace or at the first damage (then `damage` says what and where).
    pub fn next_payload(&mut self) -> Option<&[u8]> {
        if self.damage.is_some() || self.pos >= self.file_len {
            return None;
        }
        let pos = self.pos;
        self.chunk_at = pos;
        let left = self.file_len - pos;
        if left < format::CHUNK_HEADER_LEN as u64 {
            self.damage = Some(format!("cut chunk header at byte {pos}"));
            return None;
        }
        let mut h = [0u8; format::CHUNK_HEADER_LEN];
        if self.src.read_exact(&mut h).is_err() {
            self.damage = Some(format!("cut chunk header at byte {pos} (the file got shorter)"));
            return None;
        }
        let rd = |o: usize| u32::from_le_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        let (clen, crc, ulen) = (u64::from(rd(0)), rd(4), rd(8) as usize);
        let present = left - format::CHUNK_HEADER_LEN as u64;
        if clen > present {
            self.damage = Some(format!("cut chunk at byte {pos}: {clen} bytes announced, {present} present"));
            return None;
        }
        if ulen > format::MAX_CHUNK || clen as usize > zstd::zstd_safe::compress_bound(format::MAX_CHUNK) {
            self.damage = Some(format!("chunk at byte {pos} announces {ulen} bytes, more than the limit"));
            return None;
        }
        self.body.resize(clen as usize, 0);
        if self.src.read_exact(&mut self.body).is_err() {
            self.damage = Some(format!("cut chunk at byte {pos} (the file got shorter)"));
            return None;
        }
        if crc32fast::hash(&self.body) != crc {
            self.damage = Some(format!("checksum mismatch in chunk at byte {pos}"));
            return None;
        }
        if self.dctx.is_none() {
            match zstd::bulk::Decompressor::new() {
                Ok(d) => self.dctx = Some(d),
                Err(e) => {
                    self.damage = Some(format!("cannot start zstd: {e}"));
                    return None;
                }
            }
        }
        let dctx = self.dctx.as_mut()?;
        self.payload.clear();
        self.payload.reserve(ulen);
        match dctx.decompress_to_buffer(&self.body, &mut self.payload) {
            Ok(n) if n == ulen => {}
            _ => {
                self.damage = Some(format!("chunk at byte {pos} does not decompress"));
                return None;
            }
        }
        self.pos = pos + format::CHUNK_HEADER_LEN as u64 + clen;
        Some(&self.payload)
    }
}

const OVER_LIMIT: &str = "over the memory limit";

fn decode_payload(payload: &[u8], t: &mut Trace, max_bytes: u64) -> std::result::Result<(), &'static str> {
    // Events this chunk may add before the memory limit is reached.
    let room = max_bytes.saturating_sub(t.held_bytes()) / std::mem::size_of::<Event>() as u64;
    let limit = t.events.len().saturating_add(usize::try_from(room).unwrap_or(usize::MAX));
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
                t.value_records.push(t.values.len() as u32);
                for _ in 0..count {
                    let head = c.varint().ok_or("event head")? as u32;
                    time += c.varint().ok_or("event time")?;
                    let kind = (head & 0xf) as u8;
                    if !(format::kind::CALL..=format::kind::LAST).contains(&kind) {
                        return Err("unknown event kind");
                    }
                    let (mut val_off, mut val_len) = (0u32, 0u32);
                    if t.events.len() >= limit {
                        return Err(OVER_LIMIT);
                    }
                    if head & HAS_VALUES != 0 {
                        let n = usize::try_from(c.varint().ok_or("value length")?).map_err(|_| "value length")?;
                        let b = c.bytes(n).ok_or("value bytes")?;
                        if t.values.len() + n > u32::MAX as usize {
                            return Err("more than 4 GiB of values");
                        }
                        val_off = t.values.len() as u32;
                        val_len = n as u32;
                        t.values.extend_from_slice(b);
                    }
                    t.events.push(Event { thread, kind, payload: head >> PAYLOAD_SHIFT, t_us: time, val_off, val_len });
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
