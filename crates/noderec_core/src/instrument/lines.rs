//! Byte offset → (1-based line, 0-based UTF-16 column), as V8 counts them.

/// Line starts of one source, with a cursor that makes lookups in increasing
/// order cost only the distance walked (long minified lines stay linear).
pub(crate) struct LineIndex<'s> {
    source: &'s str,
    /// Byte offset where each line starts; `starts[0] == 0`.
    starts: Vec<u32>,
    /// Last lookup: byte offset, line index (0-based), UTF-16 column.
    cursor: (u32, u32, u32),
}

impl<'s> LineIndex<'s> {
    /// Scans `source` once for JavaScript line terminators (LF, CR, CRLF, U+2028, U+2029).
    pub(crate) fn new(source: &'s str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
        starts.push(0);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i as u32 + 1),
                b'\r' => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(i as u32 + 1);
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8 | 0xA9)) => {
                    i += 2;
                    starts.push(i as u32 + 1);
                }
                _ => {}
            }
            i += 1;
        }
        LineIndex { source, starts, cursor: (0, 0, 0) }
    }

    /// Number of lines (a source without terminators has one).
    #[cfg(test)]
    pub(crate) fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based line and 0-based UTF-16 column of a byte offset.
    pub(crate) fn position(&mut self, offset: u32) -> (u32, u32) {
        let (c_off, c_line, c_col) = self.cursor;
        let next_start = self.starts.get(c_line as usize + 1).copied().unwrap_or(u32::MAX);
        let (line, col) = if offset >= c_off && offset < next_start {
            (c_line, c_col + utf16_len(&self.source.as_bytes()[c_off as usize..offset as usize]))
        } else {
            let line = self.starts.partition_point(|&s| s <= offset) - 1;
            let start = self.starts[line] as usize;
            (line as u32, utf16_len(&self.source.as_bytes()[start..offset as usize]))
        };
        self.cursor = (offset, line, col);
        (line + 1, col)
    }
}

/// UTF-16 length of a slice of valid UTF-8 that starts and ends at char boundaries:
/// one unit per char, two for chars of four UTF-8 bytes.
fn utf16_len(bytes: &[u8]) -> u32 {
    if bytes.is_ascii() {
        return bytes.len() as u32;
    }
    bytes.iter().map(|&b| u32::from((b & 0xC0) != 0x80) + u32::from(b >= 0xF0)).sum()
}

#[cfg(test)]
mod tests {
    use super::LineIndex;

    #[test]
    fn lines_and_utf16_columns() {
        let src = "ab\ncd\r\nef\rg\u{2028}h\u{2029}é😀x\n";
        let mut idx = LineIndex::new(src);
        assert_eq!(idx.line_count(), 7);
        assert_eq!(idx.position(0), (1, 0));
        assert_eq!(idx.position(4), (2, 1));
        assert_eq!(idx.position(7), (3, 0));
        assert_eq!(idx.position(10), (4, 0));
        let x = src.find('x').expect("x") as u32;
        assert_eq!(idx.position(x), (6, 3)); // é = 1 unit, 😀 = 2 units
        assert_eq!(idx.position(1), (1, 1)); // going back works
        assert_eq!(idx.position(src.len() as u32), (7, 0));
    }
}
