//! `metadata.json`: what was recorded, by whom, and how it ended. Rewritten
//! atomically at start (`recording`) and at the end.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::error::{Error, Result};
use crate::host::filesystem::{read_regular, DirHandle};

/// Status values.
pub mod status {
    /// The recorder is running, or the process died without finishing.
    pub const RECORDING: &str = "recording";
    /// Finished cleanly.
    pub const COMPLETE: &str = "complete";
    /// Finished after a recorder failure; holds what was recorded before it.
    pub const PARTIAL: &str = "partial";
    /// The recorder failed and kept nothing useful.
    pub const FAILED: &str = "failed";
}

/// The content of `metadata.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Trace format version.
    pub format: u32,
    /// noderec version that recorded.
    pub recorder_version: String,
    /// Program name (the entry script's file name).
    pub program: String,
    /// `process.argv`.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: String,
    /// Project root: paths in the trace are relative to it.
    pub root: String,
    /// `process.version`.
    pub node_version: String,
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Id shared by every process of one `noderec record` run.
    pub run_id: String,
    /// The clock the events were stamped with: `published` (the default) or
    /// `precise` (`NODEREC_CLOCK=precise`); absent in traces of older versions.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub clock: String,
    /// Published clock: the longest interval (µs) over which a thread stamped
    /// one exact clock read, cut at the tick that marked over it (no event's
    /// time was older than that; session/clock.rs, decisions.md 35).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_max_step_us: Option<u64>,
    /// UTC start time (ISO 8601).
    pub start_time: String,
    /// Start, ms since the Unix epoch.
    pub start_ms: i64,
    /// UTC end time.
    pub end_time: Option<String>,
    /// Wall time recorded, ms.
    pub duration_ms: Option<f64>,
    /// Exit code, when the process exited.
    pub exit_code: Option<i32>,
    /// Signal, when the process was ended by one.
    pub signal: Option<String>,
    /// `recording | complete | partial | failed`.
    pub status: String,
    /// Events written.
    pub events: u64,
    /// Size of trace.nrt in bytes.
    pub trace_bytes: u64,
    /// Uncompressed event payload bytes.
    pub raw_bytes: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Times the probes waited on a full writer channel.
    pub channel_waits: u64,
    /// Batches the probes handed to the writer in their own buffers, without a copy.
    pub batches_lent: u64,
    /// Time the writer thread spent encoding, compressing and writing, ms.
    pub writer_busy_ms: f64,
    /// Modules instrumented.
    pub files_instrumented: u64,
    /// Functions known to the trace.
    pub functions: u64,
    /// JavaScript threads that recorded.
    pub threads: u32,
    /// Events a worker recorded for this session whose hand-over reached it
    /// while it finished (a worker racing the main thread's API `stop()`):
    /// dropped (design-docs/lifecycle.md, *Workers across stop and start*).
    #[serde(skip_serializing_if = "is_zero")]
    pub events_dropped_after_stop: u64,
    /// Events workers recorded before they joined this session (for an
    /// earlier session of the process, or between two), handed over when no
    /// session could count them any more: dropped, counted by the session
    /// that finished next (this one).
    #[serde(skip_serializing_if = "is_zero")]
    pub events_dropped_before_join: u64,
    /// Events a thread's probes did not record because they were entered
    /// while a value was being encoded (code the value encoder ran: a getter
    /// it could not know of, design-docs/values.md *Trusted objects*): the
    /// value is written in full and the trace is kept (decisions.md 42).
    #[serde(skip_serializing_if = "is_zero")]
    pub events_dropped_reentrant: u64,
    /// Recording stopped at `max_events`.
    pub truncated: bool,
    /// A signal ended the process while the JavaScript main thread was busy:
    /// the trace was finished natively, without the events the main thread
    /// had not handed over yet (at most 250 ms) and without unwinding its
    /// open calls.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub finalized_natively: bool,
    /// The error that ended recording, if any.
    pub error: Option<serde_json::Value>,
    /// The filter chain and what it did.
    pub filter: Option<crate::filter::summary::FilterSummary>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Largest metadata.json the readers accept (argv and the filter chain are
/// the only parts that grow).
pub const MAX_METADATA: u64 = 64 << 20;

impl Metadata {
    /// Writes `metadata.json` in the trace directory `dir` atomically (a
    /// temporary file and a rename inside the directory's handle); on a full
    /// disk the existing file is overwritten in place instead.
    pub fn save_in(&self, dir: &DirHandle) -> Result<()> {
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| Error::Internal { message: format!("metadata: {e}") })?;
        dir.write_replace("metadata.json", &json)
    }

    /// Writes `dir/metadata.json` of an existing trace directory (opened
    /// without following a symlink, and only if it belongs to this user).
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.save_in(&DirHandle::open_trace_dir(dir)?)
    }

    /// Reads `dir/metadata.json` (a regular file of at most 64 MiB).
    pub fn load(dir: &Path) -> Result<Metadata> {
        let p = dir.join("metadata.json");
        let bytes = read_regular(&p, MAX_METADATA).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: dir.display().to_string() },
            std::io::ErrorKind::InvalidInput => {
                Error::NotRegularFile { path: p.display().to_string(), message: e.to_string() }
            }
            _ => Error::io(format!("read {}", p.display()), e),
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::TraceIncomplete { path: p.display().to_string(), message: e.to_string() })
    }
}

/// A JSON value (re-exported so bindings need no serde_json of their own).
pub type JsonValue = serde_json::Value;

/// Parses JSON text; text that is not JSON becomes a JSON string.
pub fn parse_json_lossy(text: &str) -> JsonValue {
    serde_json::from_str(text).unwrap_or_else(|_| JsonValue::String(text.to_string()))
}
