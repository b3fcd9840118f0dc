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
    // Output bytes per stream name.
    let mut output: HashMap<&'static str, u64> = HashMap::new();
    for s in &steps {
        let e = &t.events[s.index];
        *counts.entry(kind::name(e.kind)).or_default() += 1;
        if e.kind == kind::OUTPUT {
            let (st, _) = crate::io::chunk::split_payload(e.payload);
            let n = crate::io::chunk::blob_bytes(t.blob(e)).map_or(0, <[u8]>::len);
            *output.entry(crate::io::chunk::stream::name(st)).or_default() += n as u64;
        }
    }
    // Inclusive time from the index: a recursive function's nested
    // activations do not add to it again.
    let ix = crate::query::build::open_or_build(dir)?;
    let functions: Vec<_> = crate::query::queries::top_functions(&ix, 15, false)
        .into_iter()
        .map(|f| {
            json!({
                "fn": f.name,
                "path": f.path,
                "line": f.line,
                "calls": f.calls,
                "total_ms": f.incl_ns as f64 / 1e6,
                "self_ms": f.self_ns as f64 / 1e6,
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
