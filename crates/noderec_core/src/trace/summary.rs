//! A summary of a trace for `noderec show` and `noderec ls`: metadata, what
//! the reader found, event counts per kind, and the busiest functions.

use std::collections::HashMap;
use std::path::Path;

use serde_json::json;

use super::format::kind;
use super::reader::read_trace;
use super::walk::walk;
use crate::error::Result;
use crate::session::metadata::Metadata;

/// Summarizes the trace directory `dir` as JSON text.
pub fn summarize(dir: &Path) -> Result<String> {
    let meta = Metadata::load(dir)?;
    let t = read_trace(&dir.join("trace.nrt"))?;
    let steps = walk(&t);
    let mut counts: HashMap<&'static str, u64> = HashMap::new();
    // Per function: calls, and inclusive time of synchronous stretches.
    let mut calls: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut open: HashMap<u32, Vec<(u32, u64)>> = HashMap::new();
    // Output bytes per stream name.
    let mut output: HashMap<&'static str, u64> = HashMap::new();
    for s in &steps {
        let e = &t.events[s.index];
        *counts.entry(kind::name(e.kind)).or_default() += 1;
        let stack = open.entry(e.thread).or_default();
        match e.kind {
            kind::CALL | kind::RESUME => {
                if let Some(f) = s.func {
                    if e.kind == kind::CALL {
                        calls.entry(f).or_default().0 += 1;
                    }
                    stack.push((f, s.t_ns));
                }
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                if let Some((f, t0)) = stack.pop() {
                    calls.entry(f).or_default().1 += s.t_ns.saturating_sub(t0);
                }
            }
            kind::OUTPUT => {
                let (st, _) = crate::io::chunk::split_payload(e.payload);
                let n = crate::io::chunk::blob_bytes(t.blob(e)).map_or(0, <[u8]>::len);
                *output.entry(crate::io::chunk::stream::name(st)).or_default() += n as u64;
            }
            _ => {}
        }
    }
    let mut top: Vec<(u32, (u64, u64))> = calls.into_iter().collect();
    top.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(b.1 .0.cmp(&a.1 .0)));
    let functions: Vec<_> = top
        .iter()
        .take(15)
        .map(|(id, (n, ns))| {
            let f = t.funcs.get(id);
            json!({
                "fn": f.map_or("<unknown>", |f| f.name.as_str()),
                "path": f.and_then(|f| t.paths.get(&f.path)).map_or("", |p| p.as_str()),
                "line": f.map_or(0, |f| f.line),
                "calls": n,
                "total_ms": *ns as f64 / 1e6,
            })
        })
        .collect();
    let out = json!({
        "dir": dir.display().to_string(),
        "metadata": meta,
        "read": {
            "chunks": t.chunks,
            "bytes_read": t.bytes_read,
            "file_len": t.file_len,
            "events": t.events.len(),
            "ended": t.ended,
            "damage": t.damage,
        },
        "threads": t.threads,
        "counts": counts,
        "output_bytes": output,
        "functions": functions,
    });
    Ok(out.to_string())
}
