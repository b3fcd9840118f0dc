//! The trace file format: constants and the small encoding pieces shared by
//! the writer and the reader. `design-docs/trace-format.md` is the spec.

/// First 8 bytes of every `trace.nrt`.
pub const MAGIC: &[u8; 8] = b"NRTRACE\0";
/// Format version written after the magic.
pub const VERSION: u32 = 1;
/// Header length: magic, version (u32 LE), flags (u32 LE).
pub const HEADER_LEN: usize = 16;

/// Bits of the header's flags word (the fourth u32 of the header; 0 in
/// traces written before flags existed, which read as the published clock).
pub mod flags {
    /// Every event's time is a real clock read (`NODEREC_CLOCK=precise`), not
    /// the published value: events that share a microsecond happened within
    /// that microsecond.
    pub const PRECISE_CLOCK: u32 = 1;
}

/// Longest interval (µs) over which readers spread the events that share
/// one time value: a publication step of the published clock, or 1 µs for a
/// trace whose header says [`flags::PRECISE_CLOCK`].
pub fn spread_cap_us(header_flags: u32, tick_us: u64) -> u64 {
    if header_flags & flags::PRECISE_CLOCK != 0 {
        1
    } else {
        tick_us
    }
}

/// The flags word of a trace header (`header` at least [`HEADER_LEN`] bytes).
pub fn header_flags(header: &[u8]) -> u32 {
    u32::from_le_bytes([header[12], header[13], header[14], header[15]])
}
/// Chunk header length: compressed length, crc32 of the compressed bytes,
/// uncompressed length (three u32 LE).
pub const CHUNK_HEADER_LEN: usize = 12;
/// Largest chunk payload the reader accepts (uncompressed), 256 MiB.
pub const MAX_CHUNK: usize = 256 << 20;

/// Record types inside a chunk payload.
pub mod record {
    /// `varint id, str path`
    pub const PATH: u8 = 1;
    /// `varint id, varint path, str name, u8 kind, varint line, varint col, u8 flags, varint n, n x str param`
    pub const FUNC: u8 = 2;
    /// `varint thread, str name`
    pub const THREAD: u8 = 3;
    /// `varint thread, varint count, varint base_us, then count events`
    pub const EVENTS: u8 = 4;
    /// `varint total events` — written once, last, by a clean finish.
    pub const END: u8 = 5;
}

/// Event kinds: the low 4 bits of an event head.
pub mod kind {
    /// A function activation starts (payload: function id).
    pub const CALL: u8 = 1;
    /// The top activation returns.
    pub const RETURN: u8 = 2;
    /// The top activation is left by an exception.
    pub const THROW: u8 = 3;
    /// The top activation suspends at an `await` (payload: site id).
    pub const AWAIT: u8 = 4;
    /// A suspended activation resumes (values: varint activation id).
    pub const RESUME: u8 = 5;
    /// The top activation suspends at a `yield` (payload: site id).
    pub const YIELD: u8 = 6;
    /// A `catch` clause of the top activation received an error (values: the error).
    pub const CATCH: u8 = 7;
    /// Bytes the program wrote or read (payload: `stream | flags << 2`,
    /// values: `varint len, len bytes`); belongs to the top activation.
    pub const OUTPUT: u8 = 8;
    /// A run, span or log mark (payload: the mark type, see [`super::mark`],
    /// values: `varint id`, then the type's fields); belongs to the top
    /// activation, does not change the stack.
    pub const MARK: u8 = 9;
    /// The highest kind this reader knows.
    pub const LAST: u8 = MARK;

    /// Name of a kind as it appears in exports.
    pub fn name(k: u8) -> &'static str {
        match k {
            CALL => "call",
            RETURN => "return",
            THROW => "throw",
            AWAIT => "await",
            RESUME => "resume",
            YIELD => "yield",
            CATCH => "catch",
            OUTPUT => "output",
            MARK => "mark",
            _ => "unknown",
        }
    }
}

/// MARK payloads (mark types) and span statuses (`design-docs/runs.md`).
pub mod mark {
    /// `varint id, varint parent id, value metadata` — a run starts (and is
    /// the thread's current run from here on).
    pub const RUN_START: u32 = 1;
    /// `varint id` — a run's function settled.
    pub const RUN_END: u32 = 2;
    /// `varint id` — the following events of this thread belong to run `id`
    /// (0 = none).
    pub const RUN_SWITCH: u32 = 3;
    /// `varint id, value name, value attributes`.
    pub const SPAN_START: u32 = 4;
    /// `varint id, varint status, value attributes`.
    pub const SPAN_END: u32 = 5;
    /// `varint 0, value event name, value data`.
    pub const LOG: u32 = 6;
    /// `varint run id, varint events, varint calls` — written by the writer
    /// in place of events of a run that ended with `clear` (they are not in
    /// the trace; a reader adds `calls` to the thread's activation counter).
    pub const CLEARED: u32 = 7;
    /// `varint run id, varint reason` — a clearing run was written in full
    /// (1 it failed, 2 the hold cap, 3 the recording ended first).
    pub const KEPT: u32 = 8;
    /// Span status: returned or resolved.
    pub const STATUS_OK: u64 = 0;
    /// Span status: threw or rejected.
    pub const STATUS_ERROR: u64 = 1;
}

/// RETURN payload: the function returned `undefined` (values were captured;
/// the value needs no bytes).
pub const RETURN_UNDEFINED: u32 = 1;

/// Bit in the event head saying that a value blob follows.
pub const HAS_VALUES: u32 = 1 << 4;
/// Shift of the payload (function or site id) in the event head.
pub const PAYLOAD_SHIFT: u32 = 5;

/// Appends `v` as unsigned LEB128.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-prefixed UTF-8 string.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A cursor over a decoded chunk payload.
pub struct Cursor<'a> {
    /// The bytes.
    pub buf: &'a [u8],
    /// Read position.
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }
    /// True when every byte was read.
    pub fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// Reads one byte.
    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }
    /// Reads an unsigned LEB128.
    #[inline]
    pub fn varint(&mut self) -> Option<u64> {
        let mut shift = 0u32;
        let mut v = 0u64;
        loop {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if shift >= 64 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
        }
    }
    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    /// Reads a length-prefixed UTF-8 string (lossy).
    pub fn str(&mut self) -> Option<String> {
        let n = usize::try_from(self.varint()?).ok()?;
        Some(String::from_utf8_lossy(self.bytes(n)?).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let mut out = Vec::new();
        let values = [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX];
        for v in values {
            put_varint(&mut out, v);
        }
        let mut c = Cursor::new(&out);
        for v in values {
            assert_eq!(c.varint(), Some(v));
        }
        assert!(c.done());
        assert_eq!(Cursor::new(&[0x80]).varint(), None);
    }
}

/// Error decoding an encoded value.
#[derive(Debug)]
pub struct ValueError {
    /// Byte offset in the input buffer where decoding failed.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl ValueError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        ValueError { offset, message: message.into() }
    }
}

impl std::fmt::Display for ValueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed value at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for ValueError {}

/// Reads one unsigned LEB128 varint at `*pos` and advances past it.
///
/// Fails on a truncated varint or one that does not fit in 64 bits.
pub fn read_varint(buf: &[u8], pos: &mut usize) -> std::result::Result<u64, ValueError> {
    let start = *pos;
    let mut result: u64 = 0;
    let mut shift: u32 = 0;
    loop {
        let Some(&b) = buf.get(*pos) else {
            return Err(ValueError::new(*pos, "truncated varint"));
        };
        if shift == 63 && b > 1 {
            return Err(ValueError::new(start, "varint overflows 64 bits"));
        }
        *pos += 1;
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(result);
        }
        shift += 7;
    }
}
