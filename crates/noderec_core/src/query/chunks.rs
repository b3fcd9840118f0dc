//! Reading single chunks of a trace file by offset: the index walks a trace
//! one chunk at a time (one chunk in memory) and seeks straight to the chunk
//! that holds an event when a query needs its values.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::trace::reader::{read_trace_bytes, Trace};
use crate::wire::format;

/// What reading the chunk at an offset gave.
pub enum ChunkRead {
    /// A complete chunk, decoded on its own (its events, values and any
    /// PATH/FUNC/THREAD records), and the offset after it.
    Chunk(Box<Trace>, u64),
    /// The file ends at or inside this chunk: nothing more yet (a trace
    /// still being written) or the cut end of a trace.
    Short,
    /// The chunk is damaged: why.
    Damaged(String),
}

/// Reads and decodes the chunk at `off` of `file` (of `len` bytes).
pub fn read_chunk_at(file: &File, off: u64, len: u64) -> ChunkRead {
    let hl = format::CHUNK_HEADER_LEN as u64;
    if len < off + hl {
        return ChunkRead::Short;
    }
    let mut buf = vec![0u8; format::HEADER_LEN + format::CHUNK_HEADER_LEN];
    buf[..8].copy_from_slice(format::MAGIC);
    buf[8..12].copy_from_slice(&format::VERSION.to_le_bytes());
    if file.read_exact_at(&mut buf[format::HEADER_LEN..], off).is_err() {
        return ChunkRead::Short;
    }
    let h = &buf[format::HEADER_LEN..];
    let clen = u64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]]));
    let ulen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
    if ulen > format::MAX_CHUNK || clen > (format::MAX_CHUNK as u64) * 2 {
        return ChunkRead::Damaged(format!("chunk at byte {off} announces {ulen} bytes, more than the limit"));
    }
    if len < off + hl + clen {
        return ChunkRead::Short;
    }
    let at = buf.len();
    buf.resize(at + clen as usize, 0);
    if file.read_exact_at(&mut buf[at..], off + hl).is_err() {
        return ChunkRead::Short;
    }
    match read_trace_bytes(&buf) {
        Ok(t) if t.damage.is_none() && t.chunks == 1 => ChunkRead::Chunk(Box::new(t), off + hl + clen),
        Ok(t) => ChunkRead::Damaged(t.damage.map_or_else(
            || format!("chunk at byte {off} is empty"),
            |d| d.replace("at byte 16", &format!("at byte {off}")),
        )),
        Err(m) => ChunkRead::Damaged(m),
    }
}

/// What reading a raw chunk gave.
pub enum RawRead {
    /// The chunk's payload is in [`RawChunks::payload`]; the offset after it.
    Payload(u64),
    /// The file ends at or inside this chunk.
    Short,
    /// The chunk is damaged: why.
    Damaged(String),
}

/// Reads chunk payloads into buffers reused from chunk to chunk (the index
/// build reads every chunk once).
#[derive(Default)]
pub struct RawChunks {
    body: Vec<u8>,
    /// The last payload read.
    pub payload: Vec<u8>,
    dctx: Option<zstd::bulk::Decompressor<'static>>,
}

impl RawChunks {
    /// Reads, checks and decompresses the chunk at `off` of `file` (of `len` bytes).
    pub fn read_at(&mut self, file: &File, off: u64, len: u64) -> RawRead {
        let hl = format::CHUNK_HEADER_LEN as u64;
        if len < off + hl {
            return RawRead::Short;
        }
        let mut h = [0u8; format::CHUNK_HEADER_LEN];
        if file.read_exact_at(&mut h, off).is_err() {
            return RawRead::Short;
        }
        let clen = u64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]]));
        let crc = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let ulen = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        if ulen > format::MAX_CHUNK || clen > (format::MAX_CHUNK as u64) * 2 {
            return RawRead::Damaged(format!("chunk at byte {off} announces {ulen} bytes, more than the limit"));
        }
        if len < off + hl + clen {
            return RawRead::Short;
        }
        self.body.resize(clen as usize, 0);
        if file.read_exact_at(&mut self.body, off + hl).is_err() {
            return RawRead::Short;
        }
        if crc32fast::hash(&self.body) != crc {
            return RawRead::Damaged(format!("checksum mismatch in chunk at byte {off}"));
        }
        if self.dctx.is_none() {
            match zstd::bulk::Decompressor::new() {
                Ok(d) => self.dctx = Some(d),
                Err(e) => return RawRead::Damaged(format!("cannot start zstd: {e}")),
            }
        }
        let Some(d) = self.dctx.as_mut() else { return RawRead::Damaged("no zstd".into()) };
        self.payload.clear();
        self.payload.reserve(ulen);
        match d.decompress_to_buffer(&self.body, &mut self.payload) {
            Ok(n) if n == ulen => RawRead::Payload(off + hl + clen),
            _ => RawRead::Damaged(format!("chunk at byte {off} does not decompress")),
        }
    }
}
