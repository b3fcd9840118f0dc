//! The output chunk model: what an OUTPUT event (kind 8) carries.
//!
//! Head payload: `stream | flags << 2`. Value blob: `varint len, len bytes`
//! (the exact bytes, binary-safe). See design-docs/io-capture.md.

use crate::wire::format::read_varint;

/// Stream numbers (the fd numbers of the standard streams).
pub mod stream {
    /// Standard input (what the program read).
    pub const STDIN: u8 = 0;
    /// Standard output.
    pub const STDOUT: u8 = 1;
    /// Standard error.
    pub const STDERR: u8 = 2;

    /// Name of a stream as it appears in exports.
    pub fn name(s: u8) -> &'static str {
        match s {
            STDIN => "stdin",
            STDOUT => "stdout",
            STDERR => "stderr",
            _ => "unknown",
        }
    }
}

/// Why a chunk was cut, and where it came from (bit set, 6 bits).
pub mod flag {
    /// The chunk ends at a newline (the last one of a write).
    pub const NEWLINE: u32 = 1;
    /// Emitted by an explicit flush (recorder flush, exit, full batch).
    pub const FLUSH: u32 = 2;
    /// Emitted at a call/return boundary (output without a newline).
    pub const BOUNDARY: u32 = 4;
    /// Emitted after a 5 ms gap without writes.
    pub const TIME_SPLIT: u32 = 8;
    /// Seen only by the fd mirror (a write that bypassed the streams).
    pub const MIRROR: u32 = 16;
    /// Input the program read.
    pub const INPUT: u32 = 32;

    /// Names of the flags, in bit order.
    pub const NAMES: [(u32, &str); 6] = [
        (NEWLINE, "newline"),
        (FLUSH, "flush"),
        (BOUNDARY, "boundary"),
        (TIME_SPLIT, "time_split"),
        (MIRROR, "mirror"),
        (INPUT, "input"),
    ];

    /// The names of the bits set in `f`.
    pub fn names(f: u32) -> impl Iterator<Item = &'static str> {
        NAMES.iter().filter(move |(b, _)| f & b != 0).map(|(_, n)| *n)
    }
}

/// Bits of the payload that hold the stream.
pub const STREAM_BITS: u32 = 2;

/// Event payload for `stream` and `flags`.
pub fn payload(stream: u8, flags: u32) -> u32 {
    u32::from(stream & 3) | (flags << STREAM_BITS)
}

/// Splits an OUTPUT payload into stream and flags.
pub fn split_payload(p: u32) -> (u8, u32) {
    ((p & 3) as u8, p >> STREAM_BITS)
}

/// Appends the value blob of an OUTPUT event.
pub fn put_blob(out: &mut Vec<u8>, bytes: &[u8]) {
    crate::wire::format::put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// The bytes of an OUTPUT blob.
pub fn blob_bytes(blob: &[u8]) -> Option<&[u8]> {
    let mut pos = 0;
    let n = usize::try_from(read_varint(blob, &mut pos).ok()?).ok()?;
    blob.get(pos..pos.checked_add(n)?)
}

/// Advances `pos` past an OUTPUT blob in a probe arena.
pub fn skip_blob(arena: &[u8], pos: &mut usize) -> Result<(), String> {
    let n = read_varint(arena, pos).map_err(|e| e.to_string())?;
    let end = usize::try_from(n).ok().and_then(|n| pos.checked_add(n)).ok_or("output length overflows")?;
    if end > arena.len() {
        return Err(format!("output of {n} bytes runs past the arena"));
    }
    *pos = end;
    Ok(())
}

/// One decoded chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    /// Stream number.
    pub stream: u8,
    /// Flag bits.
    pub flags: u32,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 { B64[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if c.len() > 2 { B64[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips() {
        let p = payload(stream::STDERR, flag::NEWLINE | flag::MIRROR);
        assert_eq!(split_payload(p), (2, flag::NEWLINE | flag::MIRROR));
        let names: Vec<_> = flag::names(flag::NEWLINE | flag::INPUT).collect();
        assert_eq!(names, ["newline", "input"]);
    }

    #[test]
    fn blobs_round_trip_and_skip() {
        let mut b = Vec::new();
        put_blob(&mut b, &[0, 255, 10, 13]);
        put_blob(&mut b, b"");
        assert_eq!(blob_bytes(&b), Some(&[0u8, 255, 10, 13][..]));
        let mut pos = 0;
        skip_blob(&b, &mut pos).unwrap_or_default();
        assert_eq!(pos, 5);
        skip_blob(&b, &mut pos).unwrap_or_default();
        assert_eq!(pos, b.len());
        let mut pos = 0;
        assert!(skip_blob(&[5, 1, 2], &mut pos).is_err());
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}
