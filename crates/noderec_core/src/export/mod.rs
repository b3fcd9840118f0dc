//! Streaming exports of a trace to other tools' formats: JSON lines,
//! Chrome Trace Event JSON, speedscope, Perfetto protobuf, OTLP and
//! Parquet. Every format reads the trace one chunk at a time
//! ([`stream`]) and writes as it goes, so memory stays flat whatever the
//! trace's size. README "Exporting" says how to open each.

pub mod chrome;
pub mod fields;
pub mod jsonl;
pub mod otlp;
pub mod parquet;
pub mod pb;
pub mod perfetto;
pub mod speedscope;
pub mod stream;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::AtomicU64;

use crate::error::{Error, Result};
use crate::session::metadata::Metadata;

/// The formats `noderec export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per event (the stable interface).
    Jsonl,
    /// Chrome Trace Event JSON.
    Chrome,
    /// speedscope's file format.
    Speedscope,
    /// Perfetto's protobuf trace.
    Perfetto,
    /// OpenTelemetry spans (OTLP/protobuf requests, length-delimited).
    Otlp,
    /// One Parquet file, a row per event.
    Parquet,
}

impl Format {
    /// Every format's name, for messages.
    pub const NAMES: &'static [&'static str] = &["jsonl", "chrome", "speedscope", "perfetto", "otlp", "parquet"];

    /// The format called `name`.
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "jsonl" => Format::Jsonl,
            "chrome" => Format::Chrome,
            "speedscope" => Format::Speedscope,
            "perfetto" => Format::Perfetto,
            "otlp" => Format::Otlp,
            "parquet" => Format::Parquet,
            _ => return None,
        })
    }
}

/// What to export and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only this thread.
    pub thread: Option<u32>,
    /// Only events at or after this time (ns since the session start).
    pub from_ns: Option<u64>,
    /// Only events at or before this time.
    pub to_ns: Option<u64>,
    /// Leave argument, return and error values out.
    pub no_values: bool,
    /// OTLP: only activations at least this long become spans.
    pub min_duration_ns: u64,
    /// Only events of the run with this `runId` and of the runs nested in it.
    pub run: Option<String>,
    /// Only events of runs of this domain (a nested run without its own
    /// domain has its parent's).
    pub domain: Option<String>,
    /// Only events of runs of this level (compared as text; inherited like
    /// the domain).
    pub level: Option<String>,
    /// Only events of runs of this `sampleId` (compared as text; inherited
    /// like the domain).
    pub sample: Option<String>,
    /// Only events of runs of this `iteration` (compared as text; inherited
    /// like the domain).
    pub iteration: Option<String>,
    /// jsonl: run, span and log lines also carry their time at the top
    /// level (`t`), for consumers that expect it there; a user attribute
    /// named `t` is then written as `attr:t`.
    pub top_time: bool,
}

impl Options {
    /// Whether events are selected by their run.
    pub fn by_run(&self) -> bool {
        self.run.is_some()
            || self.domain.is_some()
            || self.level.is_some()
            || self.sample.is_some()
            || self.iteration.is_some()
    }
}

/// Progress of an export, read from another thread.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of the trace file read.
    pub read: AtomicU64,
    /// Size of the trace file.
    pub total: AtomicU64,
    /// Events read.
    pub events: AtomicU64,
}

/// Writes go through this; `io` turns its errors into ours.
pub(crate) fn io(e: std::io::Error) -> Error {
    Error::io("write export", e)
}

/// Creates (or replaces) an output file, readable by its owner only, never
/// writing through a symlink.
pub fn create_output(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(format!("create {}", path.display()), e))
}

/// A scratch file that disappears when dropped (it is unlinked as soon as
/// it is created): for exports that must write one part after another.
pub fn scratch_file() -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    for _ in 0..16 {
        let name = format!(".noderec-export-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let p = dir.join(name);
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&p)
        {
            Ok(f) => {
                let _ = std::fs::remove_file(&p);
                return Ok(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("create scratch file in {}", dir.display()), e)),
        }
    }
    Err(Error::Internal { message: "no free scratch file name".into() })
}

/// Exports the trace directory `dir` in `format` to `out` (a file; standard
/// output when `None`).
pub fn export_dir(
    dir: &Path,
    format: Format,
    out: Option<&Path>,
    opts: &Options,
    progress: &Progress,
) -> Result<stream::Outcome> {
    let meta = Metadata::load(dir).unwrap_or_default();
    let mut chunks = crate::trace::reader::ChunkReader::open(&dir.join("trace.nrt"))?;
    if format == Format::Parquet {
        // Parquet ends with a footer that points back into the file: a file only.
        let Some(p) = out else {
            return Err(Error::io("export parquet", std::io::Error::other("needs an output file (-o)")));
        };
        let mut sink = parquet::Parquet::new(create_output(p)?, &meta.run_id, opts)?;
        return stream::run(&mut chunks, opts, progress, &mut sink);
    }
    let sink_out: Box<dyn Write> = match out {
        Some(p) => Box::new(BufWriter::with_capacity(1 << 20, create_output(p)?)),
        None => Box::new(BufWriter::with_capacity(1 << 20, BlockingStdout)),
    };
    let mut sink: Box<dyn stream::Sink> = match format {
        Format::Jsonl => Box::new(jsonl::Jsonl::new(sink_out, opts)),
        Format::Chrome => Box::new(chrome::Chrome::new(sink_out, meta.pid, opts)),
        Format::Speedscope => Box::new(speedscope::Speedscope::new(sink_out, &meta)?),
        Format::Perfetto => Box::new(perfetto::Perfetto::new(sink_out, &meta, opts)),
        Format::Otlp => Box::new(otlp::Otlp::new(sink_out, &meta, opts)),
        Format::Parquet => return Err(Error::Internal { message: "parquet handled above".into() }),
    };
    stream::run(&mut chunks, opts, progress, sink.as_mut())
}

/// File descriptor 1, written with blocking semantics even when Node has
/// made it non-blocking (it does for pipes once `process.stdout` is used):
/// a full pipe is waited on with `poll`, not reported as `EAGAIN`.
pub struct BlockingStdout;

impl Write for BlockingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        loop {
            // SAFETY: writes from a valid buffer to fd 1.
            let n = unsafe { libc::write(1, buf.as_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n.unsigned_abs());
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => {}
                std::io::ErrorKind::WouldBlock => {
                    let mut p = libc::pollfd { fd: 1, events: libc::POLLOUT, revents: 0 };
                    // SAFETY: one valid pollfd.
                    unsafe { libc::poll(&mut p, 1, -1) };
                }
                _ => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
