//! Value codec: decoder for the binary value form written by
//! `js/runtime/value-encoder.ts` (see `design-docs/values.md`).
//!
//! The trace stores encoded values unchanged; [`skip_value`] finds the end of
//! one value (used by the writer to find value spans) and [`write_json`]
//! renders one value in the documented JSON form (used by exports).
//! Malformed input never panics: every failure is a [`ValueError`] carrying
//! the byte offset where decoding failed.

use std::fmt::{self, Write as _};

use crate::wire::format::read_varint;
pub use crate::wire::format::ValueError;
use crate::wire::tag;

/// References one value may resolve (a hostile trace could otherwise nest
/// references into an exponential expansion).
pub const MAX_REFS: usize = 1 << 20;

/// Readers refuse values nested deeper than this (containers and symbol
/// descriptions), so hostile input cannot exhaust the stack. At most three
/// JSON levels per value level keeps the JSON form within the 128-level
/// limit of common JSON parsers (serde_json).
pub const MAX_NESTING: usize = 40;

type Result<T> = std::result::Result<T, ValueError>;

// ---------------------------------------------------------------------------
// Primitive readers (the varint is the wire's: `crate::wire::format`).
// ---------------------------------------------------------------------------

#[inline]
fn read_u8(buf: &[u8], pos: &mut usize) -> Result<u8> {
    match buf.get(*pos) {
        Some(&b) => {
            *pos += 1;
            Ok(b)
        }
        None => Err(ValueError::new(*pos, "unexpected end of buffer")),
    }
}

/// Reads a count (varint) that must fit in `usize`.
#[inline]
fn read_count(buf: &[u8], pos: &mut usize) -> Result<usize> {
    let at = *pos;
    let n = read_varint(buf, pos)?;
    usize::try_from(n).map_err(|_| ValueError::new(at, "count does not fit in usize"))
}

/// Returns the next `n` bytes and advances past them.
#[inline]
fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8]> {
    let start = *pos;
    match start.checked_add(n) {
        Some(end) if end <= buf.len() => {
            *pos = end;
            Ok(&buf[start..end])
        }
        _ => Err(ValueError::new(start, format!("need {n} bytes, {} left", buf.len().saturating_sub(start)))),
    }
}

#[inline]
fn read_f64(buf: &[u8], pos: &mut usize) -> Result<f64> {
    let b = take(buf, pos, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(f64::from_le_bytes(a))
}

/// A decoded `str` body.
struct Str<'a> {
    text: &'a str,
    /// Original length in UTF-16 units.
    full_len: u64,
}

impl Str<'_> {
    /// True when the kept text is shorter than the original.
    fn is_cut(&self) -> bool {
        let kept = if self.text.is_ascii() { self.text.len() as u64 } else { self.text.encode_utf16().count() as u64 };
        self.full_len > kept
    }
}

fn read_str<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Str<'a>> {
    let byte_len = read_count(buf, pos)?;
    let full_len = read_varint(buf, pos)?;
    let at = *pos;
    let bytes = take(buf, pos, byte_len)?;
    let text =
        std::str::from_utf8(bytes).map_err(|e| ValueError::new(at + e.valid_up_to(), "invalid UTF-8 in string"))?;
    Ok(Str { text, full_len })
}

#[inline]
fn skip_str(buf: &[u8], pos: &mut usize) -> Result<()> {
    let byte_len = read_count(buf, pos)?;
    read_varint(buf, pos)?;
    take(buf, pos, byte_len)?;
    Ok(())
}

/// Reads `varint total`, `varint kept` and checks `kept <= total`.
#[inline]
fn read_total_kept(buf: &[u8], pos: &mut usize) -> Result<(u64, usize)> {
    let total = read_varint(buf, pos)?;
    let at = *pos;
    let kept = read_count(buf, pos)?;
    if kept as u64 > total {
        return Err(ValueError::new(at, format!("kept count {kept} exceeds total {total}")));
    }
    Ok((total, kept))
}

// ---------------------------------------------------------------------------
// skip_value
// ---------------------------------------------------------------------------

/// Advances `*pos` past one encoded value without decoding it.
///
/// Checks structure and bounds but not UTF-8 validity of strings; for valid
/// input it stops exactly where [`write_json`] stops.
pub fn skip_value(buf: &[u8], pos: &mut usize) -> Result<()> {
    skip_inner(buf, pos, 0)
}

fn skip_inner(buf: &[u8], pos: &mut usize, depth: usize) -> Result<()> {
    let at = *pos;
    let t = read_u8(buf, pos)?;
    match t {
        tag::UNDEFINED | tag::NULL | tag::FALSE | tag::TRUE | tag::HOLE | tag::PROXY => {}
        tag::INT | tag::CIRCULAR | tag::REF => {
            read_varint(buf, pos)?;
        }
        tag::PATCH => {
            check_nesting(at, depth)?;
            read_varint(buf, pos)?;
            let k = read_count(buf, pos)?;
            for _ in 0..k {
                read_varint(buf, pos)?;
                skip_inner(buf, pos, depth + 1)?;
            }
        }
        tag::FLOAT | tag::DATE => {
            take(buf, pos, 8)?;
        }
        tag::STRING | tag::BIGINT | tag::TRUNCATED | tag::REDACTED | tag::OPAQUE => {
            skip_str(buf, pos)?;
        }
        tag::ERROR | tag::REGEXP => {
            skip_str(buf, pos)?;
            skip_str(buf, pos)?;
        }
        tag::FUNCTION => {
            skip_str(buf, pos)?;
            take(buf, pos, 1)?;
        }
        tag::ACCESSOR => {
            take(buf, pos, 1)?;
        }
        tag::SYMBOL => {
            check_nesting(at, depth)?;
            skip_inner(buf, pos, depth + 1)?;
        }
        tag::ARRAY | tag::SET => {
            check_nesting(at, depth)?;
            let (_, n) = read_total_kept(buf, pos)?;
            for _ in 0..n {
                skip_inner(buf, pos, depth + 1)?;
            }
        }
        tag::MAP => {
            check_nesting(at, depth)?;
            let (_, n) = read_total_kept(buf, pos)?;
            for _ in 0..n {
                skip_inner(buf, pos, depth + 1)?;
                skip_inner(buf, pos, depth + 1)?;
            }
        }
        tag::OBJECT => {
            check_nesting(at, depth)?;
            skip_str(buf, pos)?;
            let (_, n) = read_total_kept(buf, pos)?;
            for _ in 0..n {
                skip_str(buf, pos)?;
                skip_inner(buf, pos, depth + 1)?;
            }
        }
        tag::BYTES => {
            skip_str(buf, pos)?;
            read_varint(buf, pos)?;
            let n = read_count(buf, pos)?;
            take(buf, pos, n)?;
        }
        other => return Err(unknown_tag(at, other)),
    }
    Ok(())
}

#[inline]
fn check_nesting(at: usize, depth: usize) -> Result<()> {
    if depth >= MAX_NESTING {
        Err(ValueError::new(at, format!("values nested deeper than {MAX_NESTING}")))
    } else {
        Ok(())
    }
}

fn unknown_tag(at: usize, t: u8) -> ValueError {
    ValueError::new(at, format!("unknown value tag 0x{t:02x}"))
}

// ---------------------------------------------------------------------------
// write_json
// ---------------------------------------------------------------------------

/// Appends the JSON form (see `design-docs/values.md`) of the value at
/// `*pos` to `out` and advances `*pos` past it.
///
/// On error `out` is left as it was before the call.
///
/// `buf` holds the value bytes of the value's EVENTS record from its start
/// (or at least from the earliest byte a `ref` in the value points to), so
/// that references resolve: a `ref` is written as the JSON of the value it
/// points to.
pub fn write_json(buf: &[u8], pos: &mut usize, out: &mut String) -> Result<()> {
    let mark = out.len();
    let mut refs = MAX_REFS;
    let r = json_inner(buf, pos, out, 0, &mut refs);
    if r.is_err() {
        out.truncate(mark);
    }
    r
}

/// The kept own properties of the object at `*pos` (following a `ref`), as
/// `(key, JSON of the value)` in their recorded order, and advances `*pos`
/// past the value; `None` (and `*pos` past the value) when it is not an
/// object. Marks use it to write user attributes as fields of their line.
pub fn object_fields(buf: &[u8], pos: &mut usize) -> Result<Option<Vec<(String, String)>>> {
    let mut end = *pos;
    skip_value(buf, &mut end)?;
    let mut p = *pos;
    if buf.get(p) == Some(&tag::REF) {
        let at = p;
        p += 1;
        let off = read_varint(buf, &mut p)?;
        p = ref_target(buf, at, off)?;
    }
    let mut patches = Vec::new();
    if buf.get(p) == Some(&tag::PATCH) {
        let at = p;
        p += 1;
        p = read_patch(buf, at, &mut p, &mut patches)?;
    }
    if buf.get(p) != Some(&tag::OBJECT) {
        *pos = end;
        return Ok(None);
    }
    p += 1;
    read_str(buf, &mut p)?;
    let (_, n) = read_total_kept(buf, &mut p)?;
    check_patches(p, &patches, n)?;
    let mut fields = Vec::with_capacity(n.min(64));
    let mut refs = MAX_REFS;
    let mut next = 0;
    for i in 0..n {
        let key = read_str(buf, &mut p)?.text.to_string();
        let mut v = String::new();
        if next < patches.len() && patches[next].0 == i {
            let mut vp = patches[next].1;
            next += 1;
            json_inner(buf, &mut vp, &mut v, 1, &mut refs)?;
            skip_inner(buf, &mut p, 1)?;
        } else {
            json_inner(buf, &mut p, &mut v, 1, &mut refs)?;
        }
        fields.push((key, v));
    }
    *pos = end;
    Ok(Some(fields))
}

/// The offset a `ref` at `at` points to, checked: before it, at an array,
/// object, patch, map or set.
fn ref_target(buf: &[u8], at: usize, off: u64) -> Result<usize> {
    let target = usize::try_from(off).ok().filter(|&o| o < at);
    let Some(tpos) = target else {
        return Err(ValueError::new(at, format!("reference to byte {off} of its record is not before it (byte {at})")));
    };
    if !matches!(buf.get(tpos), Some(&(tag::ARRAY | tag::OBJECT | tag::PATCH | tag::MAP | tag::SET))) {
        return Err(ValueError::new(at, "reference to something other than an array, object, map or set"));
    }
    Ok(tpos)
}

/// Reads the body of a `patch` at `at` (after its tag): pushes `(index,
/// position of the value)` pairs to `patches` and returns the position of
/// the patched `object` (checked: before the patch, an `object` tag).
fn read_patch(buf: &[u8], at: usize, pos: &mut usize, patches: &mut Vec<(usize, usize)>) -> Result<usize> {
    let off = read_varint(buf, pos)?;
    let base = usize::try_from(off).ok().filter(|&o| o < at).ok_or_else(|| {
        ValueError::new(at, format!("patch of byte {off} of its record is not before it (byte {at})"))
    })?;
    if buf.get(base) != Some(&tag::OBJECT) {
        return Err(ValueError::new(at, "patch of something other than an object"));
    }
    let k = read_count(buf, pos)?;
    let mut last: Option<usize> = None;
    for _ in 0..k {
        let iat = *pos;
        let idx = read_count(buf, pos)?;
        if last.is_some_and(|l| idx <= l) {
            return Err(ValueError::new(iat, format!("patch index {idx} not ascending")));
        }
        last = Some(idx);
        patches.push((idx, *pos));
        skip_inner(buf, pos, 1)?;
    }
    Ok(base)
}

/// The patch indexes are below the object's kept count `n`.
fn check_patches(at: usize, patches: &[(usize, usize)], n: usize) -> Result<()> {
    match patches.last() {
        Some(&(idx, _)) if idx >= n => {
            Err(ValueError::new(at, format!("patch index {idx} beyond the {n} kept properties of its object")))
        }
        _ => Ok(()),
    }
}

/// JSON names of the function kinds (index = kind byte).
const FUNCTION_KINDS: [&str; 6] = ["function", "class", "async", "generator", "async-generator", "other"];

fn json_inner(buf: &[u8], pos: &mut usize, out: &mut String, depth: usize, refs: &mut usize) -> Result<()> {
    let at = *pos;
    let t = read_u8(buf, pos)?;
    match t {
        tag::UNDEFINED => out.push_str(r#"{"$":"undefined"}"#),
        tag::NULL => out.push_str("null"),
        tag::FALSE => out.push_str("false"),
        tag::TRUE => out.push_str("true"),
        tag::INT => {
            let u = read_varint(buf, pos)?;
            let n = ((u >> 1) as i64) ^ -((u & 1) as i64);
            push_display(out, n);
        }
        tag::FLOAT => {
            let x = read_f64(buf, pos)?;
            write_number(out, x);
        }
        tag::STRING => {
            let s = read_str(buf, pos)?;
            if s.is_cut() {
                out.push_str(r#"{"$":"string","v":"#);
                write_json_string(out, s.text);
                out.push_str(r#","length":"#);
                push_display(out, s.full_len);
                out.push('}');
            } else {
                write_json_string(out, s.text);
            }
        }
        tag::BIGINT => {
            let s = read_str(buf, pos)?;
            out.push_str(r#"{"$":"bigint","v":"#);
            write_json_string(out, s.text);
            if s.is_cut() {
                out.push_str(r#","length":"#);
                push_display(out, s.full_len);
            }
            out.push('}');
        }
        tag::SYMBOL => {
            check_nesting(at, depth)?;
            out.push_str(r#"{"$":"symbol","description":"#);
            json_inner(buf, pos, out, depth + 1, refs)?;
            out.push('}');
        }
        tag::FUNCTION => {
            let name = read_str(buf, pos)?;
            let kat = *pos;
            let kind = read_u8(buf, pos)?;
            let Some(kind_name) = FUNCTION_KINDS.get(usize::from(kind)) else {
                return Err(ValueError::new(kat, format!("unknown function kind {kind}")));
            };
            out.push_str(r#"{"$":"function","name":"#);
            write_json_string(out, name.text);
            out.push_str(r#","kind":""#);
            out.push_str(kind_name);
            out.push_str("\"}");
        }
        tag::ARRAY => {
            check_nesting(at, depth)?;
            let (length, n) = read_total_kept(buf, pos)?;
            let cut = (n as u64) < length;
            if cut {
                out.push_str(r#"{"$":"array","length":"#);
                push_display(out, length);
                out.push_str(r#","items":"#);
            }
            out.push('[');
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                json_inner(buf, pos, out, depth + 1, refs)?;
            }
            out.push(']');
            if cut {
                out.push('}');
            }
        }
        tag::OBJECT => {
            check_nesting(at, depth)?;
            let class = read_str(buf, pos)?;
            let (total, n) = read_total_kept(buf, pos)?;
            out.push_str(r#"{"$":"object","class":"#);
            write_json_string(out, class.text);
            out.push_str(r#","props":{"#);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                let key = read_str(buf, pos)?;
                write_json_string(out, key.text);
                out.push(':');
                json_inner(buf, pos, out, depth + 1, refs)?;
            }
            out.push('}');
            if (n as u64) < total {
                out.push_str(r#","total":"#);
                push_display(out, total);
            }
            out.push('}');
        }
        tag::MAP => {
            check_nesting(at, depth)?;
            let (size, n) = read_total_kept(buf, pos)?;
            out.push_str(r#"{"$":"map","size":"#);
            push_display(out, size);
            out.push_str(r#","entries":["#);
            for i in 0..n {
                out.push_str(if i > 0 { ",[" } else { "[" });
                json_inner(buf, pos, out, depth + 1, refs)?;
                out.push(',');
                json_inner(buf, pos, out, depth + 1, refs)?;
                out.push(']');
            }
            out.push_str("]}");
        }
        tag::SET => {
            check_nesting(at, depth)?;
            let (size, n) = read_total_kept(buf, pos)?;
            out.push_str(r#"{"$":"set","size":"#);
            push_display(out, size);
            out.push_str(r#","values":["#);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                json_inner(buf, pos, out, depth + 1, refs)?;
            }
            out.push_str("]}");
        }
        tag::DATE => {
            let t = read_f64(buf, pos)?;
            out.push_str(r#"{"$":"date","v":""#);
            write_iso_date(out, t);
            out.push_str("\"}");
        }
        tag::ERROR => {
            let class = read_str(buf, pos)?;
            let message = read_str(buf, pos)?;
            out.push_str(r#"{"$":"error","class":"#);
            write_json_string(out, class.text);
            out.push_str(r#","message":"#);
            write_json_string(out, message.text);
            if message.is_cut() {
                out.push_str(r#","messageLength":"#);
                push_display(out, message.full_len);
            }
            out.push('}');
        }
        tag::HOLE => out.push_str(r#"{"$":"hole"}"#),
        tag::ACCESSOR => {
            let fat = *pos;
            let flags = read_u8(buf, pos)?;
            if flags & !3 != 0 {
                return Err(ValueError::new(fat, format!("bad accessor flags {flags}")));
            }
            out.push_str(r#"{"$":"accessor","get":"#);
            out.push_str(if flags & 1 != 0 { "true" } else { "false" });
            out.push_str(r#","set":"#);
            out.push_str(if flags & 2 != 0 { "true" } else { "false" });
            out.push('}');
        }
        tag::PROXY => out.push_str(r#"{"$":"proxy"}"#),
        tag::REF => {
            let off = read_varint(buf, pos)?;
            let mut tpos = ref_target(buf, at, off)?;
            if *refs == 0 {
                return Err(ValueError::new(at, format!("more than {MAX_REFS} references in one value")));
            }
            *refs -= 1;
            json_inner(buf, &mut tpos, out, depth, refs)?;
        }
        tag::PATCH => {
            check_nesting(at, depth)?;
            if *refs == 0 {
                return Err(ValueError::new(at, format!("more than {MAX_REFS} references in one value")));
            }
            *refs -= 1;
            let mut patches = Vec::new();
            let mut p = read_patch(buf, at, pos, &mut patches)? + 1;
            let class = read_str(buf, &mut p)?;
            let (total, n) = read_total_kept(buf, &mut p)?;
            check_patches(at, &patches, n)?;
            out.push_str(r#"{"$":"object","class":"#);
            write_json_string(out, class.text);
            out.push_str(r#","props":{"#);
            let mut next = 0;
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                let key = read_str(buf, &mut p)?;
                write_json_string(out, key.text);
                out.push(':');
                if next < patches.len() && patches[next].0 == i {
                    let mut vp = patches[next].1;
                    next += 1;
                    json_inner(buf, &mut vp, out, depth + 1, refs)?;
                    skip_inner(buf, &mut p, depth + 1)?;
                } else {
                    json_inner(buf, &mut p, out, depth + 1, refs)?;
                }
            }
            out.push('}');
            if (n as u64) < total {
                out.push_str(r#","total":"#);
                push_display(out, total);
            }
            out.push('}');
        }
        tag::CIRCULAR => {
            let d = read_varint(buf, pos)?;
            out.push_str(r#"{"$":"circular","up":"#);
            push_display(out, d);
            out.push('}');
        }
        tag::BYTES => {
            let class = read_str(buf, pos)?;
            let length = read_varint(buf, pos)?;
            let n = read_count(buf, pos)?;
            let bytes = take(buf, pos, n)?;
            out.push_str(r#"{"$":"bytes","class":"#);
            write_json_string(out, class.text);
            out.push_str(r#","length":"#);
            push_display(out, length);
            out.push_str(r#","hex":""#);
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.reserve(bytes.len() * 2 + 2);
            for &b in bytes {
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
            out.push_str("\"}");
        }
        tag::TRUNCATED | tag::REDACTED | tag::OPAQUE => {
            let s = read_str(buf, pos)?;
            out.push_str(match t {
                tag::TRUNCATED => r#"{"$":"truncated","class":"#,
                tag::REDACTED => r#"{"$":"redacted","type":"#,
                _ => r#"{"$":"opaque","class":"#,
            });
            write_json_string(out, s.text);
            out.push('}');
        }
        tag::REGEXP => {
            let source = read_str(buf, pos)?;
            let flags = read_str(buf, pos)?;
            out.push_str(r#"{"$":"regexp","source":"#);
            write_json_string(out, source.text);
            out.push_str(r#","flags":"#);
            write_json_string(out, flags.text);
            if source.is_cut() {
                out.push_str(r#","sourceLength":"#);
                push_display(out, source.full_len);
            }
            out.push('}');
        }
        other => return Err(unknown_tag(at, other)),
    }
    Ok(())
}

#[inline]
fn push_display(out: &mut String, v: impl fmt::Display) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{v}");
}

/// Writes a JSON string literal (quotes included), escaping `"`, `\` and
/// control characters (those a terminal obeys too: see `wire/json.rs`).
fn write_json_string(out: &mut String, s: &str) {
    crate::wire::json::write_str(out, s);
}

/// Writes a float: finite non-(-0) numbers as a JSON number in the
/// JavaScript `Number#toString` style (shortest round-trip digits, exponent
/// form below 1e-6 and from 1e21 on); NaN, ±Infinity and -0 as
/// `{"$":"number","v":...}`.
fn write_number(out: &mut String, x: f64) {
    let special = if x.is_nan() {
        "NaN"
    } else if x == f64::INFINITY {
        "Infinity"
    } else if x == f64::NEG_INFINITY {
        "-Infinity"
    } else if x == 0.0 && x.is_sign_negative() {
        "-0"
    } else {
        ""
    };
    if !special.is_empty() {
        out.push_str(r#"{"$":"number","v":""#);
        out.push_str(special);
        out.push_str("\"}");
        return;
    }
    let a = x.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let mark = out.len();
        let _ = write!(out, "{x:e}");
        // Rust writes `1e21`; JavaScript writes `1e+21`.
        if let Some(e) = out[mark..].find('e') {
            let idx = mark + e + 1;
            if out.as_bytes().get(idx) != Some(&b'-') {
                out.insert(idx, '+');
            }
        }
    } else {
        push_display(out, x);
    }
}

/// Writes a time value as `Date#toISOString` does, or `Invalid Date`.
fn write_iso_date(out: &mut String, t: f64) {
    if !t.is_finite() || t.abs() > 8.64e15 {
        out.push_str("Invalid Date");
        return;
    }
    // TimeClip truncates toward zero; the range check above makes the cast exact.
    let ms = t.trunc() as i64;
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        let _ = write!(out, "{y:04}");
    } else if y < 0 {
        let _ = write!(out, "-{:06}", -y);
    } else {
        let _ = write!(out, "+{y:06}");
    }
    let _ = write!(
        out,
        "-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    );
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-side encoder producing the binary form.
    #[derive(Default)]
    struct Enc {
        b: Vec<u8>,
    }

    impl Enc {
        fn new() -> Self {
            Self::default()
        }
        fn varint(&mut self, mut n: u64) -> &mut Self {
            while n > 0x7f {
                self.b.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
            self.b.push(n as u8);
            self
        }
        fn tag(&mut self, t: u8) -> &mut Self {
            self.b.push(t);
            self
        }
        /// `str` body; `full` = original UTF-16 length (None: not truncated).
        fn str_full(&mut self, s: &str, full: Option<u64>) -> &mut Self {
            let units = s.encode_utf16().count() as u64;
            self.varint(s.len() as u64).varint(full.unwrap_or(units));
            self.b.extend_from_slice(s.as_bytes());
            self
        }
        fn str_(&mut self, s: &str) -> &mut Self {
            self.str_full(s, None)
        }
        fn undefined(&mut self) -> &mut Self {
            self.tag(tag::UNDEFINED)
        }
        fn int(&mut self, n: i32) -> &mut Self {
            let z = ((n << 1) ^ (n >> 31)) as u32;
            self.tag(tag::INT).varint(u64::from(z))
        }
        fn float(&mut self, x: f64) -> &mut Self {
            self.tag(tag::FLOAT);
            self.b.extend_from_slice(&x.to_le_bytes());
            self
        }
        fn string(&mut self, s: &str) -> &mut Self {
            self.tag(tag::STRING).str_(s)
        }
        fn array(&mut self, len: u64, kept: u64) -> &mut Self {
            self.tag(tag::ARRAY).varint(len).varint(kept)
        }
        fn object(&mut self, class: &str, total: u64, kept: u64) -> &mut Self {
            self.tag(tag::OBJECT).str_(class).varint(total).varint(kept)
        }
        fn date(&mut self, t: f64) -> &mut Self {
            self.tag(tag::DATE);
            self.b.extend_from_slice(&t.to_le_bytes());
            self
        }
        fn done(&mut self) -> Vec<u8> {
            std::mem::take(&mut self.b)
        }
    }

    /// Decodes one value, checks skip_value ends at the same place, that the
    /// output is valid JSON, and that the whole buffer was consumed.
    fn json(buf: &[u8]) -> String {
        let mut pos = 0;
        let mut out = String::new();
        write_json(buf, &mut pos, &mut out).expect("write_json");
        let mut spos = 0;
        skip_value(buf, &mut spos).expect("skip_value");
        assert_eq!(pos, spos, "skip_value and write_json disagree");
        assert_eq!(pos, buf.len(), "value did not consume the buffer");
        serde_json::from_str::<serde_json::Value>(&out).expect("output is valid JSON");
        out
    }

    fn err(buf: &[u8]) -> ValueError {
        let mut pos = 0;
        let mut out = String::from("keep");
        let e = write_json(buf, &mut pos, &mut out).expect_err("write_json should fail");
        assert_eq!(out, "keep", "output restored on error");
        let mut spos = 0;
        let e2 = skip_value(buf, &mut spos);
        // skip_value does not validate UTF-8 or enum bytes, but must not succeed
        // on structurally broken input past the buffer end.
        if let Err(e2) = e2 {
            assert_eq!(e2.offset, e.offset, "same offset from skip and json: {e2} / {e}");
        }
        e
    }

    #[test]
    fn value_varint() {
        for n in [0u64, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as u64, 1 << 53, u64::MAX] {
            let b = Enc::new().varint(n).done();
            let mut pos = 0;
            assert_eq!(read_varint(&b, &mut pos).expect("varint"), n);
            assert_eq!(pos, b.len());
        }
        // 11 bytes / overflow
        let b = [0xffu8; 10];
        let mut pos = 0;
        let e = read_varint(&b, &mut pos).expect_err("overflow");
        assert_eq!(e.offset, 0);
        let b = [0x80u8, 0x80];
        let mut pos = 0;
        let e = read_varint(&b, &mut pos).expect_err("truncated");
        assert_eq!(e.offset, 2);
    }

    #[test]
    fn value_primitives() {
        assert_eq!(json(&[tag::UNDEFINED]), r#"{"$":"undefined"}"#);
        assert_eq!(json(&[tag::NULL]), "null");
        assert_eq!(json(&[tag::FALSE]), "false");
        assert_eq!(json(&[tag::TRUE]), "true");
        assert_eq!(json(&[tag::HOLE]), r#"{"$":"hole"}"#);
        assert_eq!(json(&[tag::PROXY]), r#"{"$":"proxy"}"#);
        for n in [0, 1, -1, 63, -64, 64, 1000, -1000, i32::MAX, i32::MIN] {
            assert_eq!(json(&Enc::new().int(n).done()), n.to_string());
        }
    }

    #[test]
    fn value_floats() {
        let cases: [(f64, &str); 14] = [
            (f64::NAN, r#"{"$":"number","v":"NaN"}"#),
            (f64::INFINITY, r#"{"$":"number","v":"Infinity"}"#),
            (f64::NEG_INFINITY, r#"{"$":"number","v":"-Infinity"}"#),
            (-0.0, r#"{"$":"number","v":"-0"}"#),
            (0.0, "0"),
            (1.5, "1.5"),
            (-0.1, "-0.1"),
            (4294967296.0, "4294967296"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (-2.5e-10, "-2.5e-10"),
        ];
        for (x, want) in cases {
            assert_eq!(json(&Enc::new().float(x).done()), want, "{x}");
        }
        assert_eq!(json(&Enc::new().float(f64::MAX).done()), "1.7976931348623157e+308");
        assert_eq!(json(&Enc::new().float(5e-324).done()), "5e-324");
    }

    #[test]
    fn value_strings() {
        assert_eq!(json(&Enc::new().string("").done()), r#""""#);
        assert_eq!(json(&Enc::new().string("hello").done()), r#""hello""#);
        assert_eq!(
            json(&Enc::new().string("q\"b\\n\n\r\t\u{8}\u{c}\u{1}\u{1f} ").done()),
            r#""q\"b\\n\n\r\t\b\f\u0001\u001f ""#
        );
        assert_eq!(json(&Enc::new().string("é€😀\u{2028}").done()), "\"é€😀\u{2028}\"");
        // U+FFFD stands for a lone surrogate: one unit, not truncated.
        assert_eq!(json(&Enc::new().string("a\u{fffd}").done()), "\"a\u{fffd}\"");
        // Truncated: full length 1000 UTF-16 units.
        let b = Enc::new().tag(tag::STRING).str_full("abc", Some(1000)).done();
        assert_eq!(json(&b), r#"{"$":"string","v":"abc","length":1000}"#);
        // Non-ASCII truncated: "é😀" is 3 units, full 4.
        let b = Enc::new().tag(tag::STRING).str_full("é😀", Some(4)).done();
        assert_eq!(json(&b), r#"{"$":"string","v":"é😀","length":4}"#);
        // Same string, full length equal to the kept units: complete.
        let b = Enc::new().tag(tag::STRING).str_full("é😀", Some(3)).done();
        assert_eq!(json(&b), "\"é😀\"");
        // Invalid UTF-8 is an error at the bad byte.
        let b = [tag::STRING, 2, 2, b'a', 0xff];
        assert_eq!(err(&b).offset, 4);
    }

    #[test]
    fn value_bigint_symbol_function() {
        let b = Enc::new().tag(tag::BIGINT).str_("-12345678901234567890").done();
        assert_eq!(json(&b), r#"{"$":"bigint","v":"-12345678901234567890"}"#);
        let b = Enc::new().tag(tag::BIGINT).str_full("123", Some(400)).done();
        assert_eq!(json(&b), r#"{"$":"bigint","v":"123","length":400}"#);
        let b = Enc::new().tag(tag::SYMBOL).string("x").done();
        assert_eq!(json(&b), r#"{"$":"symbol","description":"x"}"#);
        let b = Enc::new().tag(tag::SYMBOL).undefined().done();
        assert_eq!(json(&b), r#"{"$":"symbol","description":{"$":"undefined"}}"#);
        for (k, name) in FUNCTION_KINDS.iter().enumerate() {
            let b = Enc::new().tag(tag::FUNCTION).str_("f").tag(k as u8).done();
            assert_eq!(json(&b), format!(r#"{{"$":"function","name":"f","kind":"{name}"}}"#));
        }
        let b = Enc::new().tag(tag::FUNCTION).str_("f").tag(6).done();
        let e = err(&b);
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn value_arrays_objects() {
        let b = Enc::new().array(0, 0).done();
        assert_eq!(json(&b), "[]");
        let b = Enc::new().array(3, 3).int(1).tag(tag::HOLE).string("x").done();
        assert_eq!(json(&b), r#"[1,{"$":"hole"},"x"]"#);
        let b = Enc::new().array(100, 2).int(1).int(2).done();
        assert_eq!(json(&b), r#"{"$":"array","length":100,"items":[1,2]}"#);
        let b = Enc::new().object("Object", 2, 2).str_("a").int(1).str_("b\"").tag(tag::ACCESSOR).tag(3).done();
        assert_eq!(
            json(&b),
            r#"{"$":"object","class":"Object","props":{"a":1,"b\"":{"$":"accessor","get":true,"set":true}}}"#
        );
        let b = Enc::new().object("Cart", 40, 1).str_("items").array(1, 1).int(7).done();
        assert_eq!(json(&b), r#"{"$":"object","class":"Cart","props":{"items":[7]},"total":40}"#);
        let b = Enc::new().object("null", 0, 0).done();
        assert_eq!(json(&b), r#"{"$":"object","class":"null","props":{}}"#);
        // Nested with circular and truncated.
        let b = Enc::new()
            .object("Object", 2, 2)
            .str_("self")
            .tag(tag::CIRCULAR)
            .varint(1)
            .str_("deep")
            .array(1, 1)
            .tag(tag::TRUNCATED)
            .str_("Object")
            .done();
        assert_eq!(
            json(&b),
            r#"{"$":"object","class":"Object","props":{"self":{"$":"circular","up":1},"deep":[{"$":"truncated","class":"Object"}]}}"#
        );
        let b = Enc::new().tag(tag::ACCESSOR).tag(1).done();
        assert_eq!(json(&b), r#"{"$":"accessor","get":true,"set":false}"#);
        let b = Enc::new().tag(tag::ACCESSOR).tag(4).done();
        assert_eq!(err(&b).offset, 1);
        // kept > total
        let b = Enc::new().array(1, 2).int(1).int(2).done();
        assert_eq!(err(&b).offset, 2);
    }

    #[test]
    fn value_map_set() {
        let b = Enc::new().tag(tag::MAP).varint(2).varint(2).string("a").int(1).int(2).string("b").done();
        assert_eq!(json(&b), r#"{"$":"map","size":2,"entries":[["a",1],[2,"b"]]}"#);
        let b = Enc::new().tag(tag::MAP).varint(50).varint(0).done();
        assert_eq!(json(&b), r#"{"$":"map","size":50,"entries":[]}"#);
        let b = Enc::new().tag(tag::SET).varint(3).varint(2).int(1).undefined().done();
        assert_eq!(json(&b), r#"{"$":"set","size":3,"values":[1,{"$":"undefined"}]}"#);
    }

    #[test]
    fn value_dates() {
        let cases: [(f64, &str); 8] = [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (1_704_067_200_000.0, "2024-01-01T00:00:00.000Z"),
            (951_782_400_000.0, "2000-02-29T00:00:00.000Z"),
            (-1.0, "1969-12-31T23:59:59.999Z"),
            (1_704_067_200_123.9, "2024-01-01T00:00:00.123Z"),
            (8.64e15, "+275760-09-13T00:00:00.000Z"),
            (-8.64e15, "-271821-04-20T00:00:00.000Z"),
            (-62_198_755_200_000.0, "-000001-01-01T00:00:00.000Z"),
        ];
        for (t, want) in cases {
            assert_eq!(json(&Enc::new().date(t).done()), format!(r#"{{"$":"date","v":"{want}"}}"#));
        }
        for t in [f64::NAN, 8.64e15 + 1.0, f64::INFINITY] {
            assert_eq!(json(&Enc::new().date(t).done()), r#"{"$":"date","v":"Invalid Date"}"#);
        }
    }

    #[test]
    fn value_other_tags() {
        let b = Enc::new().tag(tag::ERROR).str_("TypeError").str_("bad \"x\"").done();
        assert_eq!(json(&b), r#"{"$":"error","class":"TypeError","message":"bad \"x\""}"#);
        let b = Enc::new().tag(tag::ERROR).str_("Error").str_full("ab", Some(300)).done();
        assert_eq!(json(&b), r#"{"$":"error","class":"Error","message":"ab","messageLength":300}"#);
        let mut e = Enc::new();
        e.tag(tag::BYTES).str_("Uint16Array").varint(4).varint(3);
        e.b.extend_from_slice(&[0x0a, 0x0b, 0xff]);
        assert_eq!(json(&e.done()), r#"{"$":"bytes","class":"Uint16Array","length":4,"hex":"0a0bff"}"#);
        let b = Enc::new().tag(tag::BYTES).str_("ArrayBuffer").varint(0).varint(0).done();
        assert_eq!(json(&b), r#"{"$":"bytes","class":"ArrayBuffer","length":0,"hex":""}"#);
        let b = Enc::new().tag(tag::TRUNCATED).str_("Map").done();
        assert_eq!(json(&b), r#"{"$":"truncated","class":"Map"}"#);
        let b = Enc::new().tag(tag::REDACTED).str_("string").done();
        assert_eq!(json(&b), r#"{"$":"redacted","type":"string"}"#);
        let b = Enc::new().tag(tag::OPAQUE).str_("Promise").done();
        assert_eq!(json(&b), r#"{"$":"opaque","class":"Promise"}"#);
        let b = Enc::new().tag(tag::REGEXP).str_("a+\\d").str_("gi").done();
        assert_eq!(json(&b), r#"{"$":"regexp","source":"a+\\d","flags":"gi"}"#);
        let b = Enc::new().tag(tag::REGEXP).str_full("a", Some(9)).str_("").done();
        assert_eq!(json(&b), r#"{"$":"regexp","source":"a","flags":"","sourceLength":9}"#);
        let b = Enc::new().tag(tag::CIRCULAR).varint(3).done();
        assert_eq!(json(&b), r#"{"$":"circular","up":3}"#);
    }

    #[test]
    fn value_sequence_spans() {
        // Several values back to back: skip_value finds each span.
        let b = Enc::new().int(5).string("abc").object("Object", 1, 1).str_("k").float(1.25).tag(tag::NULL).done();
        let mut pos = 0;
        let mut ends = Vec::new();
        while pos < b.len() {
            skip_value(&b, &mut pos).expect("skip");
            ends.push(pos);
        }
        let mut jpos = 0;
        let mut out = String::new();
        for &end in &ends {
            write_json(&b, &mut jpos, &mut out).expect("json");
            out.push('|');
            assert_eq!(jpos, end);
        }
        assert_eq!(out, r#"5|"abc"|{"$":"object","class":"Object","props":{"k":1.25}}|null|"#);
    }

    #[test]
    fn value_malformed() {
        // Unknown tag (0x19 is `ref`, 0x1a `patch`).
        let e = err(&[0x1b]);
        assert_eq!(e.offset, 0);
        assert!(e.message.contains("0x1b"), "{e}");
        let e = err(&[tag::ARRAY, 1, 1, 0xee]);
        assert_eq!(e.offset, 3);
        // Empty buffer.
        assert_eq!(err(&[]).offset, 0);
        // Truncated float / date.
        assert_eq!(err(&[tag::FLOAT, 0, 0, 0]).offset, 1);
        assert_eq!(err(&[tag::DATE, 0]).offset, 1);
        // String claims more bytes than present.
        assert_eq!(err(&[tag::STRING, 10, 10, b'a']).offset, 3);
        // Huge counts do not allocate or loop forever.
        let b = Enc::new().array(u64::MAX, u64::MAX).done();
        assert_eq!(err(&b).offset, b.len());
        let b = Enc::new().tag(tag::STRING).varint(u64::MAX >> 1).varint(1).done();
        err(&b);
        // Every truncation of a valid complex value fails cleanly.
        let full = Enc::new()
            .object("Cart", 3, 3)
            .str_("m")
            .tag(tag::MAP)
            .varint(1)
            .varint(1)
            .string("é")
            .tag(tag::SET)
            .varint(1)
            .varint(1)
            .float(2.5)
            .str_("s")
            .tag(tag::SYMBOL)
            .string("d")
            .str_("f")
            .tag(tag::FUNCTION)
            .str_("g")
            .tag(2)
            .done();
        json(&full);
        for cut in 0..full.len() {
            let e = err(&full[..cut]);
            assert!(e.offset <= cut, "offset {} beyond cut {cut}", e.offset);
        }
        // Display / Error impls.
        let e = err(&[0xff]);
        assert_eq!(e.to_string(), "malformed value at byte 0: unknown value tag 0xff");
        let _: &dyn std::error::Error = &e;
    }

    #[test]
    fn value_nesting_limit() {
        let mut e = Enc::new();
        for _ in 0..MAX_NESTING {
            e.array(1, 1);
        }
        e.int(1);
        let ok = e.done();
        json(&ok);
        let mut e = Enc::new();
        for _ in 0..=MAX_NESTING {
            e.array(1, 1);
        }
        e.int(1);
        let deep = e.done();
        assert_eq!(err(&deep).offset, MAX_NESTING * 3);
        // Deeply nested symbols too.
        let mut deep = vec![tag::SYMBOL; 100_000];
        deep.push(tag::UNDEFINED);
        err(&deep);
        // Maps are the JSON-deepest form (3 JSON levels each); the deepest
        // accepted value must still parse as JSON.
        let mut e = Enc::new();
        for _ in 0..MAX_NESTING {
            e.tag(tag::MAP).varint(1).varint(1).int(0);
        }
        e.int(1);
        json(&e.done());
    }
}

#[cfg(test)]
mod ref_tests {
    use super::*;

    fn json_at(buf: &[u8], start: usize) -> std::result::Result<String, ValueError> {
        let mut pos = start;
        let mut out = String::new();
        write_json(buf, &mut pos, &mut out)?;
        let mut spos = start;
        skip_value(buf, &mut spos)?;
        assert_eq!(pos, spos, "skip_value and write_json disagree");
        Ok(out)
    }

    /// `[1]` then an object `{a: ref -> [1]}` and a top-level ref to the object.
    #[test]
    fn references_resolve_to_the_earlier_encoding() {
        let mut b = vec![tag::ARRAY, 1, 1, tag::INT, 2]; // [1] at 0
        let obj = b.len(); // {"a": ref}
        b.extend_from_slice(&[tag::OBJECT, 6, 6, b'O', b'b', b'j', b'e', b'c', b't', 1, 1, 1, 1, b'a']);
        b.extend_from_slice(&[tag::REF, 0]);
        let r2 = b.len();
        b.extend_from_slice(&[tag::REF, obj as u8]);
        assert_eq!(json_at(&b, obj).unwrap(), r#"{"$":"object","class":"Object","props":{"a":[1]}}"#);
        assert_eq!(json_at(&b, r2).unwrap(), r#"{"$":"object","class":"Object","props":{"a":[1]}}"#);
    }

    #[test]
    fn references_to_maps_and_sets() {
        let b = vec![tag::MAP, 1, 1, tag::INT, 2, tag::TRUE, tag::SET, 1, 1, tag::NULL, tag::REF, 0, tag::REF, 6];
        assert_eq!(json_at(&b, 10).unwrap(), r#"{"$":"map","size":1,"entries":[[1,true]]}"#);
        assert_eq!(json_at(&b, 12).unwrap(), r#"{"$":"set","size":1,"values":[null]}"#);
    }

    #[test]
    fn bad_references_are_errors() {
        // To itself or after itself.
        assert!(json_at(&[tag::REF, 0], 0).unwrap_err().message.contains("not before it"));
        assert!(json_at(&[tag::INT, 2, tag::REF, 9], 2).is_err());
        // To something that is not an array or object.
        assert!(json_at(&[tag::INT, 2, tag::REF, 0], 2).unwrap_err().message.contains("other than an array"));
    }

    #[test]
    fn exponential_expansion_is_bounded() {
        // a0 = [1]; a(i+1) = [ref a(i), ref a(i)]: 2^40 leaves if expanded.
        let mut b = vec![tag::ARRAY, 1, 1, tag::INT, 2];
        let mut prev = 0usize;
        for _ in 0..40 {
            let here = b.len();
            b.extend_from_slice(&[tag::ARRAY, 2, 2]);
            for _ in 0..2 {
                let mut v = Vec::new();
                crate::wire::format::put_varint(&mut v, prev as u64);
                b.push(tag::REF);
                b.extend_from_slice(&v);
            }
            prev = here;
        }
        let err = json_at(&b, prev).unwrap_err();
        assert!(
            err.message.contains("references in one value") || err.message.contains("nested deeper"),
            "{}",
            err.message
        );
    }

    /// `{a: 1, b: [1]}`, then a patch of it with `a` = 5, and a ref to the patch.
    #[test]
    fn patches_replace_values_of_the_earlier_object() {
        let mut b = vec![tag::OBJECT, 6, 6, b'O', b'b', b'j', b'e', b'c', b't', 2, 2];
        b.extend_from_slice(&[1, 1, b'a', tag::INT, 2, 1, 1, b'b', tag::ARRAY, 1, 1, tag::INT, 2]);
        let p = b.len();
        b.extend_from_slice(&[tag::PATCH, 0, 1, 0, tag::INT, 10]);
        let r = b.len();
        b.extend_from_slice(&[tag::REF, p as u8]);
        let want = r#"{"$":"object","class":"Object","props":{"a":5,"b":[1]}}"#;
        assert_eq!(json_at(&b, p).unwrap(), want);
        assert_eq!(json_at(&b, r).unwrap(), want);
        let mut pos = r;
        let fields = object_fields(&b, &mut pos).unwrap().unwrap();
        assert_eq!(fields, vec![("a".to_string(), "5".to_string()), ("b".to_string(), "[1]".to_string())]);
        assert_eq!(pos, b.len());
        // Both values replaced.
        let p2 = b.len();
        b.extend_from_slice(&[tag::PATCH, 0, 2, 0, tag::NULL, 1, tag::STRING, 1, 1, b'x']);
        assert_eq!(json_at(&b, p2).unwrap(), r#"{"$":"object","class":"Object","props":{"a":null,"b":"x"}}"#);
    }

    #[test]
    fn bad_patches_are_errors() {
        let base = vec![tag::OBJECT, 1, 1, b'O', 1, 1, 1, 1, b'a', tag::INT, 2];
        let at = base.len() as u8;
        let bad = |tail: &[u8]| {
            let mut b = base.clone();
            b.extend_from_slice(tail);
            json_at(&b, at as usize).unwrap_err().message
        };
        assert!(bad(&[tag::PATCH, at, 0]).contains("not before it"));
        assert!(bad(&[tag::PATCH, 9, 0]).contains("before it") || bad(&[tag::PATCH, 9, 0]).contains("other than"));
        assert!(bad(&[tag::PATCH, 0, 1, 1, tag::NULL]).contains("beyond"));
        assert!(bad(&[tag::PATCH, 0, 2, 0, tag::NULL, 0, tag::NULL]).contains("not ascending"));
        assert!(bad(&[tag::PATCH, 0, 1, 0]).contains("truncated") || !bad(&[tag::PATCH, 0, 1, 0]).is_empty());
        // A patch of a patch.
        let mut b = base.clone();
        b.extend_from_slice(&[tag::PATCH, 0, 0]);
        let p2 = b.len();
        b.extend_from_slice(&[tag::PATCH, at, 0]);
        assert!(json_at(&b, p2).unwrap_err().message.contains("other than an object"));
    }
}
