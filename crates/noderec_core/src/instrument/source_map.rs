//! Inline input source maps (`//# sourceMappingURL=data:application/json;base64,...`):
//! generated position → original position and source.

use oxc_sourcemap::{SourceMap, Token};

/// The decoded mappings of an inline source map, owned (no borrow of the JSON).
pub(crate) struct InputMap {
    /// Sorted by generated (line, column), as in the map.
    tokens: Vec<Token>,
    /// Source paths, with `sourceRoot` prefixed.
    sources: Vec<String>,
}

/// An original position: 0-based line, 0-based column, source index.
pub(crate) struct Original<'m> {
    pub(crate) line: u32,
    pub(crate) col: u32,
    pub(crate) source: Option<&'m str>,
}

impl InputMap {
    /// Finds and decodes an inline source map at the end of `source`; `None` if there is
    /// none or it cannot be decoded (a broken map is ignored, never an error).
    pub(crate) fn from_source(source: &str) -> Option<InputMap> {
        let url = find_inline_url(source)?;
        let json = decode_data_url(url)?;
        let json = String::from_utf8(json).ok()?;
        InputMap::from_json(&json)
    }

    /// Decodes a source map from its JSON text.
    pub(crate) fn from_json(json: &str) -> Option<InputMap> {
        let map = SourceMap::from_json_string(json).ok()?;
        let root = map.get_source_root().filter(|r| !r.is_empty());
        let sources = map
            .get_sources()
            .map(|s| match root {
                Some(root) if root.ends_with('/') => format!("{root}{s}"),
                Some(root) => format!("{root}/{s}"),
                None => s.to_string(),
            })
            .collect();
        let mut tokens: Vec<Token> = map.get_tokens().collect();
        // The format guarantees the order; be safe against odd producers.
        if !tokens.is_sorted_by_key(|t| (t.get_dst_line(), t.get_dst_col())) {
            tokens.sort_by_key(|t| (t.get_dst_line(), t.get_dst_col()));
        }
        Some(InputMap { tokens, sources })
    }

    /// The original position of a generated 0-based line and UTF-16 column: the mapping
    /// segment at or before it on the same line (`None` if the line has none there).
    pub(crate) fn lookup(&self, line: u32, col: u32) -> Option<Original<'_>> {
        let after = self.tokens.partition_point(|t| (t.get_dst_line(), t.get_dst_col()) <= (line, col));
        let token = self.tokens[..after].last().filter(|t| t.get_dst_line() == line)?;
        // A segment with only a generated column maps to nothing.
        let source_id = token.get_source_id()?;
        Some(Original {
            line: token.get_src_line(),
            col: token.get_src_col(),
            source: self.sources.get(source_id as usize).map(String::as_str),
        })
    }
}

impl InputMap {
    /// Whether a function spanning generated `start..end` (0-based line, UTF-16 column)
    /// is code the loader made up: the map is fine-grained on its first line (more than
    /// one segment there) and no segment with a source starts inside the span. esbuild's
    /// export getters (`h: () => h`) are such; a program's own function always has
    /// segments inside (its statements, or its expression). A line-granular map (one
    /// segment per line) says nothing about spans, so nothing is classed by it.
    pub(crate) fn unmapped_span(&self, start: (u32, u32), end: (u32, u32)) -> bool {
        let line_from = self.tokens.partition_point(|t| t.get_dst_line() < start.0);
        let line_to = self.tokens.partition_point(|t| t.get_dst_line() <= start.0);
        if line_to - line_from < 2 {
            return false;
        }
        let from = self.tokens.partition_point(|t| (t.get_dst_line(), t.get_dst_col()) < start);
        !self.tokens[from..]
            .iter()
            .take_while(|t| (t.get_dst_line(), t.get_dst_col()) < end)
            .any(|t| t.get_source_id().is_some())
    }
}

/// The data URL of a trailing `//# sourceMappingURL=data:...` comment (also `//@`).
fn find_inline_url(source: &str) -> Option<&str> {
    const KEY: &str = "sourceMappingURL=data:";
    // Only the tail can hold it; bound the search on huge files without a map.
    let at = source.rfind(KEY)?;
    let before = &source[..at];
    if !(before.ends_with("//# ") || before.ends_with("//@ ")) {
        return None;
    }
    // The comment must start its line (after optional blanks).
    let line_start = before.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    if !before[line_start..before.len() - 4].trim().is_empty() {
        return None;
    }
    let url = &source[at + KEY.len() - "data:".len()..];
    let end = url.find(|c: char| c.is_whitespace()).unwrap_or(url.len());
    // Nothing but blanks and other line comments may follow it (vitest 4
    // appends `//# vitestCache=...` after vite's map; V8 and Node take the
    // last sourceMappingURL comment wherever other comments are).
    if !url[end..].lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with("//")
    }) {
        return None;
    }
    Some(&url[..end])
}

/// Decodes `data:application/json[;charset=...][;base64],payload`.
fn decode_data_url(url: &str) -> Option<Vec<u8>> {
    let rest = url.strip_prefix("data:")?;
    let (meta, payload) = rest.split_once(',')?;
    let mut parts = meta.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("application/json") {
        return None;
    }
    let mut base64 = false;
    for part in parts {
        let part = part.trim();
        if part.eq_ignore_ascii_case("base64") {
            base64 = true;
        } else if let Some(charset) = part.strip_prefix("charset=") {
            if !charset.eq_ignore_ascii_case("utf-8") && !charset.eq_ignore_ascii_case("utf8") {
                return None;
            }
        }
    }
    if base64 {
        decode_base64(payload.as_bytes())
    } else {
        percent_decode(payload.as_bytes())
    }
}

/// Standard or URL-safe base64, padding optional; `None` on any other byte.
pub(crate) fn decode_base64(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc = 0u32;
    let mut bits = 0u32;
    let mut padding = false;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            _ => return None,
        };
        if padding {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = std::str::from_utf8(input.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        for (enc, dec) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(decode_base64(enc.as_bytes()).as_deref(), Some(dec.as_bytes()), "{enc}");
        }
        assert_eq!(decode_base64(b"Zm9v!"), None);
    }

    #[test]
    fn finds_only_a_trailing_comment() {
        assert_eq!(find_inline_url("x\n//# sourceMappingURL=data:a,b\n"), Some("data:a,b"));
        assert_eq!(find_inline_url("x\n  //@ sourceMappingURL=data:a,b"), Some("data:a,b"));
        assert_eq!(find_inline_url("x //# sourceMappingURL=data:a,b\n"), None);
        assert_eq!(find_inline_url("//# sourceMappingURL=data:a,b\nfoo()"), None);
        assert_eq!(find_inline_url("//# sourceMappingURL=x.js.map\n"), None);
        // Line comments after it (vitest 4's module runner), but no code.
        assert_eq!(find_inline_url("x\n//# sourceMappingURL=data:a,b\n\n//# vitestCache=W3s\n"), Some("data:a,b"));
        assert_eq!(find_inline_url("x\n//# sourceMappingURL=data:a,b\n// c\nfoo()\n"), None);
    }

    #[test]
    fn data_url_variants() {
        assert_eq!(decode_data_url("data:application/json;charset=utf-8;base64,e30=").as_deref(), Some(&b"{}"[..]));
        assert_eq!(decode_data_url("data:application/json;base64,e30").as_deref(), Some(&b"{}"[..]));
        assert_eq!(decode_data_url("data:application/json,%7B%7D").as_deref(), Some(&b"{}"[..]));
        assert_eq!(decode_data_url("data:text/plain;base64,e30="), None);
    }
}
