//! The pieces of an event every export writes the same way: JSON string
//! literals, values (or an `unreadable` marker), a call's `this` and
//! arguments, and an output event's text.

use std::fmt::Write as _;

use crate::io::chunk;
use crate::trace::value::write_json;
use crate::wire::format::read_varint;

/// Appends `s` as a JSON string literal (control characters a terminal
/// would obey escaped too; see [`crate::wire::json`]).
pub fn json_str(out: &mut String, s: &str) {
    crate::wire::json::write_str(out, s);
}

/// Writes the value at `*pos` of `rec` (the value bytes of its EVENTS record,
/// ending with the event's blob), or an `unreadable` marker.
pub(crate) fn value_or_marker(out: &mut String, rec: &[u8], pos: &mut usize) {
    let save = out.len();
    if write_json(rec, pos, out).is_err() {
        out.truncate(save);
        out.push_str("{\"$\":\"unreadable\"}");
        *pos = rec.len();
    }
}

/// Writes the call's arguments (and `this`) as `,"args":[..]` / `,"this":..`;
/// the blob is `rec[start..]`.
pub(crate) fn call_values(out: &mut String, (blob, start): (&[u8], usize)) {
    let mut pos = start;
    let Ok(n) = read_varint(blob, &mut pos) else { return };
    if n & 1 == 1 {
        out.push_str(",\"this\":");
        value_or_marker(out, blob, &mut pos);
    }
    out.push_str(",\"args\":[");
    for i in 0..(n >> 1) {
        if i > 0 {
            out.push(',');
        }
        value_or_marker(out, blob, &mut pos);
    }
    out.push(']');
}

/// Writes `,"<key>":` and the value at `start` of `rec` (or an `unreadable` marker).
pub(crate) fn one_value(out: &mut String, key: &str, (rec, start): (&[u8], usize)) {
    let _ = write!(out, ",\"{key}\":");
    let mut pos = start;
    value_or_marker(out, rec, &mut pos);
}

/// Writes `,"stream":..,"text"|"base64":..,"flags":[..]` of an OUTPUT event.
pub(crate) fn output_fields(out: &mut String, payload: u32, blob: &[u8]) {
    let (st, flags) = chunk::split_payload(payload);
    out.push_str(",\"stream\":\"");
    out.push_str(chunk::stream::name(st));
    out.push('"');
    let bytes = chunk::blob_bytes(blob).unwrap_or_default();
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            out.push_str(",\"text\":");
            json_str(out, s);
        }
        Err(_) => {
            out.push_str(",\"base64\":\"");
            out.push_str(&chunk::base64(bytes));
            out.push('"');
        }
    }
    let _ = write!(out, ",\"bytes\":{}", bytes.len());
    out.push_str(",\"flags\":[");
    for (i, n) in chunk::flag::names(flags).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{n}\"");
    }
    out.push(']');
}
