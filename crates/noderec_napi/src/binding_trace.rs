//! Reading traces: exports and summaries.

use std::io::Write;
use std::path::Path;

use napi_derive::napi;
use noderec_core::trace::{export, query, reader, summary};

use crate::binding_errors::{guard, to_js};
// `Result` by name: the napi macro throws the error only for a return type
// spelled `Result<..>` (an alias such as `JsResult` returns it as a value).
use napi::Result;

/// Exports a trace directory as `jsonl` or `chrome` to `out` (a file path)
/// or, without `out`, to standard output.
#[napi]
pub fn export_trace(dir: String, format: String, out: Option<String>) -> Result<()> {
    guard("exportTrace", || {
        let t = reader::read_trace(&Path::new(&dir).join("trace.nrt")).map_err(to_js)?;
        let pid = noderec_core::session::metadata::Metadata::load(Path::new(&dir)).map_or(0, |m| m.pid);
        let mut sink: Box<dyn Write> = match &out {
            Some(p) => Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(p)
                    .map_err(|e| to_js(noderec_core::error::Error::io(format!("create {p}"), e)))?,
            )),
            None => Box::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock())),
        };
        match format.as_str() {
            "jsonl" => export::write_jsonl(&t, &mut sink).map_err(to_js),
            "chrome" => export::write_chrome(&t, pid, &mut sink).map_err(to_js),
            other => Err(crate::binding_errors::coded(
                "ERR_INVALID_ARG",
                &format!("unknown export format '{other}' (accepted: jsonl, chrome)"),
            )),
        }
    })
}

/// A JSON summary of a trace directory: metadata, what the reader found
/// (chunks, damage), counts per kind and the busiest functions.
#[napi]
pub fn trace_summary(dir: String) -> Result<String> {
    guard("traceSummary", || summary::summarize(Path::new(&dir)).map_err(to_js))
}

/// The calls of functions whose qualified name matches `fn_glob` (picomatch;
/// all when absent) that took at least `min_ms`, slowest first, at most
/// `limit` (0 = all): one JSON object per call.
#[napi]
pub fn query_calls(dir: String, fn_glob: Option<String>, min_ms: f64, limit: u32) -> Result<Vec<String>> {
    guard("queryCalls", || {
        let t = reader::read_trace(&Path::new(&dir).join("trace.nrt")).map_err(to_js)?;
        let q = query::CallQuery { fn_glob, min_ns: (min_ms.max(0.0) * 1e6) as u64, limit: limit as usize };
        query::calls(&t, &q).map_err(|m| crate::binding_errors::coded("ERR_USAGE", &m))
    })
}
