//! JSON string literals for the exports. Besides what JSON requires (`"`,
//! `\` and C0 controls), DEL, the C1 controls (U+0080–U+009F, e.g. the CSI
//! U+009B that some terminals obey) and the bidirectional overrides and
//! isolates are written as `\uXXXX`, so no
//! recorded text can drive a terminal the export is printed to or reorder
//! what it shows. The JSON value is the same.

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal (quotes included).
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // The common case: printable ASCII.
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            i += 1;
            continue;
        }
        let (len, code) = match b {
            0x00..=0x7f => (1, u32::from(b)),
            // C1: U+0080..U+009F is C2 80..C2 9F.
            0xc2 if bytes.get(i + 1).is_some_and(|c| (0x80..=0x9f).contains(c)) => (2, u32::from(bytes[i + 1])),
            // U+202A..U+202E is E2 80 AA..AE; U+2066..U+2069 is E2 81 A6..A9.
            0xe2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2).is_some_and(|c| (0xaa..=0xae).contains(c)) => {
                (3, 0x2000 + u32::from(bytes[i + 2] - 0x80))
            }
            0xe2 if bytes.get(i + 1) == Some(&0x81) && bytes.get(i + 2).is_some_and(|c| (0xa6..=0xa9).contains(c)) => {
                (3, 0x2040 + u32::from(bytes[i + 2] - 0x80))
            }
            _ => {
                i += 1;
                continue;
            }
        };
        // `i` is at the start of a character.
        out.push_str(&s[start..i]);
        match code {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            c => {
                let _ = write!(out, "\\u{c:04x}");
            }
        }
        i += len;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn json(s: &str) -> String {
        let mut o = String::new();
        write_str(&mut o, s);
        // Always valid JSON for the same string.
        assert_eq!(serde_json::from_str::<String>(&o).ok().as_deref(), Some(s), "{o}");
        o
    }

    #[test]
    fn escapes_what_a_terminal_would_obey() {
        assert_eq!(json("plain é ü 日本"), "\"plain é ü 日本\"");
        assert_eq!(json("a\"b\\c\n\t"), r#""a\"b\\c\n\t""#);
        assert_eq!(json("\x1b[31m\x07"), r#""\u001b[31m\u0007""#);
        assert_eq!(json("\x7f \u{9b}31m \u{85}"), r#""\u007f \u009b31m \u0085""#);
        assert_eq!(json("x\u{202e}y\u{2066}z\u{202a}"), r#""x\u202ey\u2066z\u202a""#);
        // Neighbours that are fine stay as they are (line separators too).
        assert_eq!(
            json("\u{a0}\u{2028}\u{2029}\u{202f}\u{2065}\u{206a}"),
            "\"\u{a0}\u{2028}\u{2029}\u{202f}\u{2065}\u{206a}\""
        );
    }
}
