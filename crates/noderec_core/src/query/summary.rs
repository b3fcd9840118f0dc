//! A summary of a trace for `noderec show` and `noderec ls`: metadata, what
//! the reader found, event counts per kind, and the busiest functions.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::Result;
use crate::session::metadata::Metadata;
use crate::trace::reader::read_trace;
use crate::trace::walk::walk;
use crate::wire::format::kind;

/// What reading the trace found.
#[derive(Debug, Clone)]
pub struct ReadSummary {
    /// Chunks read.
    pub chunks: u64,
    /// Bytes up to which the trace was read (complete chunks).
    pub bytes_read: u64,
    /// Size of trace.nrt.
    pub file_len: u64,
    /// Events read.
    pub events: u64,
    /// The end record was read.
    pub ended: bool,
    /// Why reading stopped before the end, with the byte position.
    pub damage: Option<String>,
}

/// One of the busiest functions.
#[derive(Debug, Clone)]
pub struct FunctionSummary {
    /// Qualified name.
    pub name: String,
    /// File (relative to the project root).
    pub path: String,
    /// Line.
    pub line: u32,
    /// Calls.
    pub calls: u64,
    /// Inclusive on-stack time, ms (a recursive function counted once per outermost call).
    pub total_ms: f64,
    /// Self time, ms.
    pub self_ms: f64,
}

/// The summary of one trace directory.
#[derive(Debug, Clone)]
pub struct TraceSummary {
    /// The trace directory.
    pub dir: String,
    /// metadata.json.
    pub metadata: Metadata,
    /// What the reader found.
    pub read: ReadSummary,
    /// Thread names by id.
    pub threads: BTreeMap<u32, String>,
    /// Events per kind name.
    pub counts: BTreeMap<&'static str, u64>,
    /// Output bytes per stream name.
    pub output_bytes: BTreeMap<&'static str, u64>,
    /// The busiest functions by inclusive time (at most 15).
    pub functions: Vec<FunctionSummary>,
}

/// Summarizes the trace directory `dir`.
pub fn summarize(dir: &Path) -> Result<TraceSummary> {
    let meta = Metadata::load(dir)?;
    let t = read_trace(&dir.join("trace.nrt"))?;
    let steps = walk(&t);
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    // Output bytes per stream name.
    let mut output: BTreeMap<&'static str, u64> = BTreeMap::new();
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
    let functions = crate::query::queries::top_functions(&ix, 15, false)
        .into_iter()
        .map(|f| FunctionSummary {
            name: f.name,
            path: f.path,
            line: f.line,
            calls: f.calls,
            total_ms: f.incl_ns as f64 / 1e6,
            self_ms: f.self_ns as f64 / 1e6,
        })
        .collect();
    Ok(TraceSummary {
        dir: dir.display().to_string(),
        metadata: meta,
        read: ReadSummary {
            chunks: t.chunks,
            bytes_read: t.bytes_read,
            file_len: t.file_len,
            events: t.events.len() as u64,
            ended: t.ended,
            damage: t.damage,
        },
        threads: t.threads,
        counts,
        output_bytes: output,
        functions,
    })
}
