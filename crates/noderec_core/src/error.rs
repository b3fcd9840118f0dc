//! The one error type of the core; the binding maps each variant to a stable code.

use std::fmt;

/// Every failure the core can report, each mapping to a stable `ERR_*` code.
#[derive(Debug)]
pub enum Error {
    /// Reading or writing a file failed.
    Io { context: String, source: std::io::Error },
    /// The trace directory could not be created.
    TraceDirCreate { path: String, source: std::io::Error },
    /// A trace was expected but is not there.
    TraceMissing { path: String },
    /// A trace is damaged or was cut short.
    TraceIncomplete { path: String, message: String },
    /// Instrumenting a module failed.
    Instrument { path: String, message: String },
    /// Recording is already running.
    AlreadyRecording,
    /// A filter file is not valid TOML (or cannot be read).
    FilterParse { path: String, line: u32, column: u32, message: String },
    /// A filter file does not follow the schema.
    FilterSchema { path: String, line: u32, column: u32, message: String },
    /// A directory noderec would write traces into is not safe: owned by
    /// another user, or writable by others without the sticky bit.
    UnsafeDir { path: String, message: String },
    /// A file that must be a regular file (trace.nrt, metadata.json) is a
    /// FIFO, a device, a socket or a directory.
    NotRegularFile { path: String, message: String },
    /// A trace's index (`<trace>/index/`) or one of its files is a symlink,
    /// not a directory or regular file, or belongs to another user.
    UnsafeIndex { path: String, message: String },
    /// A bug in noderec.
    Internal { message: String },
}

impl Error {
    /// The stable code for this error, as documented in design.md.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "ERR_IO",
            Error::TraceDirCreate { .. } => "ERR_TRACE_DIR_CREATE_FAILED",
            Error::TraceMissing { .. } => "ERR_TRACE_MISSING",
            Error::TraceIncomplete { .. } => "ERR_TRACE_INCOMPLETE",
            Error::Instrument { .. } => "ERR_INSTRUMENT",
            Error::AlreadyRecording => "ERR_ALREADY_RECORDING",
            Error::FilterParse { .. } => "ERR_FILTER_PARSE",
            Error::FilterSchema { .. } => "ERR_FILTER_SCHEMA",
            Error::UnsafeDir { .. } => "ERR_UNSAFE_OUT_DIR",
            Error::NotRegularFile { .. } => "ERR_NOT_REGULAR_FILE",
            Error::UnsafeIndex { .. } => "ERR_UNSAFE_INDEX",
            Error::Internal { .. } => "ERR_INTERNAL",
        }
    }

    /// Where the error is, as structured fields (the binding sets them on
    /// the JavaScript error): the file or directory, and for a filter file
    /// the 1-based line and column.
    pub fn location(&self) -> Location<'_> {
        match self {
            Error::TraceDirCreate { path, .. }
            | Error::TraceMissing { path }
            | Error::TraceIncomplete { path, .. }
            | Error::Instrument { path, .. }
            | Error::UnsafeDir { path, .. }
            | Error::NotRegularFile { path, .. }
            | Error::UnsafeIndex { path, .. } => Location { path: Some(path), line: None, column: None },
            Error::FilterParse { path, line, column, .. } | Error::FilterSchema { path, line, column, .. } => {
                Location { path: Some(path), line: Some(*line), column: Some(*column) }
            }
            Error::Io { .. } | Error::AlreadyRecording | Error::Internal { .. } => Location::default(),
        }
    }

    /// Shorthand for an IO error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

/// Where an [`Error`] is ([`Error::location`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Location<'a> {
    /// The file or directory the error is about.
    pub path: Option<&'a str>,
    /// 1-based line in that file.
    pub line: Option<u32>,
    /// 1-based column in that line.
    pub column: Option<u32>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `No space left on device (write /x/trace.nrt)`: the cause first.
            Error::Io { context, source } => write!(f, "{} ({context})", os_message(source)),
            Error::TraceDirCreate { path, source } => {
                write!(f, "cannot create trace directory {path}: {source}")
            }
            Error::TraceMissing { path } => write!(f, "no trace at {path}"),
            Error::TraceIncomplete { path, message } => write!(f, "trace {path} is incomplete: {message}"),
            Error::Instrument { path, message } => write!(f, "cannot instrument {path}: {message}"),
            Error::AlreadyRecording => write!(f, "noderec is already recording in this process"),
            Error::FilterParse { path, line, column, message }
            | Error::FilterSchema { path, line, column, message } => {
                write!(f, "{path}:{line}:{column}: {message}")
            }
            Error::UnsafeDir { path, message } => write!(f, "refusing to write traces into {path}: {message}"),
            Error::NotRegularFile { path, message } => write!(f, "{path} {message}"),
            Error::UnsafeIndex { path, message } => write!(f, "refusing to use the trace index at {path}: {message}"),
            Error::Internal { message } => write!(f, "internal error (a bug in noderec): {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// The text of an IO error without its ` (os error N)` suffix.
fn os_message(e: &std::io::Error) -> String {
    let s = e.to_string();
    match (e.raw_os_error(), s.rfind(" (os error ")) {
        (Some(_), Some(i)) => s[..i].to_string(),
        _ => s,
    }
}

/// Result with the core error.
pub type Result<T> = std::result::Result<T, Error>;
