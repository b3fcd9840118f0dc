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
            Error::Internal { .. } => "ERR_INTERNAL",
        }
    }

    /// Shorthand for an IO error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { context, source } => write!(f, "{context}: {source}"),
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
            Error::Internal { message } => write!(f, "internal error (a bug in noderec): {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Result with the core error.
pub type Result<T> = std::result::Result<T, Error>;
