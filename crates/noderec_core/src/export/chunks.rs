//! Reads a trace one chunk at a time (one chunk in memory), stopping at the
//! first cut or damaged chunk and saying why.
//!
//! Same contract as the reader in `trace/reader.rs` (see trace-format.md);
//! kept here until the reader's own streaming `ChunkReader` lands on main.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::trace::format;

/// A chunk-at-a-time trace reader.
pub struct ChunkReader<R> {
    src: R,
    /// Length of the trace when it was opened.
    pub file_len: u64,
    /// Offset after the last complete chunk.
    pub pos: u64,
    /// Offset of the chunk being decoded.
    pub chunk_at: u64,
    /// Why reading stopped before `file_len`, if it did.
    pub damage: Option<String>,
    body: Vec<u8>,
    payload: Vec<u8>,
    dctx: Option<zstd::bulk::Decompressor<'static>>,
}

impl ChunkReader<std::io::BufReader<std::fs::File>> {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path) -> Result<Self> {
        // A regular file only (a FIFO would block, a device never ends).
        let (f, len) = crate::session::filesystem::open_regular(path).map_err(|e| match e.kind() {
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
            body: Vec::new(),
            payload: Vec::new(),
            dctx: None,
        })
    }

    /// The next chunk's payload; `None` at the end or at the first damage.
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
