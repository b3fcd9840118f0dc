//! A small protobuf encoder (wire format only), enough for Perfetto's
//! TracePacket and OTLP: varints, fixed64/fixed32, and length-delimited
//! fields whose length is written after the body, so nested messages are
//! built in one buffer.

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

/// Bytes kept for a nested message's length until its end: 4 varint bytes
/// hold up to 256 MiB; a longer body is moved to make room.
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
    /// Ends the nested message started at `m`, writing its length (as a
    /// minimal varint: the body moves back over the unused reserve).
    pub fn end(&mut self, m: Mark) {
        let start = m.0;
        let body = self.bytes.len() - start - LEN_RESERVE;
        let mut len = [0u8; 10];
        let mut n = 0;
        let mut v = body as u64;
        while v >= 0x80 {
            len[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        len[n] = v as u8;
        n += 1;
        if n <= LEN_RESERVE {
            self.bytes.copy_within(start + LEN_RESERVE.., start + n);
            self.bytes.truncate(self.bytes.len() - (LEN_RESERVE - n));
            self.bytes[start..start + n].copy_from_slice(&len[..n]);
        } else {
            self.bytes.splice(start..start + LEN_RESERVE, len[..n].iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_lengths_are_minimal_varints() {
        let mut b = Buf::new();
        let outer = b.begin(1);
        let m = b.begin(2);
        b.uint(2, 300);
        b.end(m);
        b.end(outer);
        assert_eq!(b.bytes, vec![0x0a, 0x05, 0x12, 0x03, 0x10, 0xac, 0x02]);
        // Long bodies: a 2-byte length.
        let mut b = Buf::new();
        let m = b.begin(1);
        b.bytes(2, &[7u8; 200]);
        b.end(m);
        assert_eq!(&b.bytes[..3], &[0x0a, 203, 1]);
        assert_eq!(b.bytes.len(), 3 + 203);
        // Over 256 MiB the reserve is too short and the length grows.
        let mut b = Buf::new();
        let m = b.begin(1);
        b.bytes.resize(b.bytes.len() + (1 << 28), 0);
        b.end(m);
        assert_eq!(&b.bytes[..6], &[0x0a, 0x80, 0x80, 0x80, 0x80, 0x01]);
        assert_eq!(b.bytes.len(), 6 + (1 << 28));
    }
}
