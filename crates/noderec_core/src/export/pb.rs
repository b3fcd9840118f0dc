//! A small protobuf encoder (wire format only), enough for Perfetto's
//! TracePacket and OTLP: varints, fixed64/fixed32, and length-delimited
//! fields whose length is patched in after the body is written, so nested
//! messages are built in one buffer without copies.

/// Wire types.
const VARINT: u32 = 0;
const I64: u32 = 1;
const LEN: u32 = 2;
const I32: u32 = 5;

/// A protobuf message being written.
#[derive(Debug, Default)]
pub struct Buf {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
}

/// Appends `v` as a varint.
#[inline]
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Where a nested message started (see [`Buf::begin`]).
#[must_use]
pub struct Mark(usize);

/// Bytes kept for a nested message's length: 4 varint bytes hold up to
/// 256 MiB; longer bodies are moved to make room.
const LEN_RESERVE: usize = 4;

impl Buf {
    /// An empty message.
    pub fn new() -> Self {
        Buf { bytes: Vec::with_capacity(256) }
    }
    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }
    #[inline]
    fn key(&mut self, field: u32, wt: u32) {
        varint(&mut self.bytes, u64::from(field << 3 | wt));
    }
    /// An unsigned varint field (uint32/uint64/enum/bool).
    #[inline]
    pub fn uint(&mut self, field: u32, v: u64) {
        self.key(field, VARINT);
        varint(&mut self.bytes, v);
    }
    /// A signed int32/int64 field (two's complement, 10 bytes when negative).
    pub fn int(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }
    /// A fixed64 field.
    pub fn fixed64(&mut self, field: u32, v: u64) {
        self.key(field, I64);
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// A fixed32 field.
    pub fn fixed32(&mut self, field: u32, v: u32) {
        self.key(field, I32);
        self.bytes.extend_from_slice(&v.to_le_bytes());
    }
    /// A double field.
    pub fn double(&mut self, field: u32, v: f64) {
        self.fixed64(field, v.to_bits());
    }
    /// A bytes field.
    pub fn bytes(&mut self, field: u32, v: &[u8]) {
        self.key(field, LEN);
        varint(&mut self.bytes, v.len() as u64);
        self.bytes.extend_from_slice(v);
    }
    /// A string field.
    pub fn str(&mut self, field: u32, v: &str) {
        self.bytes(field, v.as_bytes());
    }
    /// Starts a nested message in `field`; end it with [`Buf::end`].
    pub fn begin(&mut self, field: u32) -> Mark {
        self.key(field, LEN);
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&[0x80, 0x80, 0x80, 0x00]);
        Mark(at)
    }
    /// Ends the nested message started at `m`, writing its length.
    pub fn end(&mut self, m: Mark) {
        let start = m.0;
        let body = self.bytes.len() - start - LEN_RESERVE;
        if body < 1 << 28 {
            // A padded 4-byte varint: valid protobuf (continuation bits on
            // the first three bytes).
            let v = body as u32;
            self.bytes[start] = (v & 0x7f) as u8 | 0x80;
            self.bytes[start + 1] = ((v >> 7) & 0x7f) as u8 | 0x80;
            self.bytes[start + 2] = ((v >> 14) & 0x7f) as u8 | 0x80;
            self.bytes[start + 3] = ((v >> 21) & 0x7f) as u8;
        } else {
            let mut len = Vec::new();
            varint(&mut len, body as u64);
            self.bytes.splice(start..start + LEN_RESERVE, len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lengths_are_padded_varints() {
        let mut b = Buf::new();
        let m = b.begin(1);
        b.uint(2, 300);
        b.end(m);
        assert_eq!(b.bytes, vec![0x0a, 0x83, 0x80, 0x80, 0x00, 0x10, 0xac, 0x02]);
    }
}
