//! The types of a filter chain (what the loader produces, what the engine reads).

use super::selector::Selector;

/// Whether code is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exec {
    Trace,
    Skip,
}

/// What happens to a captured value (defined with the value plans it is
/// part of, in `instrument`).
pub use crate::instrument::Action;

/// The type classes a value pattern can be limited to (`types = [...]`):
/// `typeof` names, with `null` apart from `object`. Bit `i` of a mask is
/// `TYPES[i]`; the probes compute the same classes.
pub const TYPES: [&str; 9] =
    ["undefined", "null", "boolean", "number", "bigint", "string", "symbol", "function", "object"];

/// Every type class.
pub const ALL_TYPES: u16 = (1 << TYPES.len()) - 1;

/// A `[[scope.rules.value_patterns]]` entry.
#[derive(Debug, Clone)]
pub struct ValuePattern {
    pub selector: Selector,
    pub action: Action,
    pub reason: Option<String>,
    /// The type classes the pattern applies to (`types`; all when absent).
    pub types: u16,
}

/// `[secrets]`: what the value encoder recognises as a secret by itself,
/// whatever names a value is found under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Detectors run on every string value (see `SECRET_DETECTORS`).
    pub strings: Option<Vec<String>>,
    /// Arrays of name/value pairs are checked like object keys.
    pub pairs: Option<bool>,
    /// `process.env`: the variables that keep their value.
    pub env_allow: Option<Vec<String>>,
}

/// The string detectors of `[secrets] strings`.
pub const SECRET_DETECTORS: [&str; 7] =
    ["url-password", "url-params", "header-lines", "auth-scheme", "jwt", "private-key", "aws-key-id"];

/// A `[[scope.rules]]` entry.
#[derive(Debug, Clone)]
pub struct Rule {
    pub selector: Selector,
    pub exec: Option<Exec>,
    pub value_default: Option<Action>,
    pub reason: Option<String>,
    pub value_patterns: Vec<ValuePattern>,
    /// 1-based line of the rule's selector in its file.
    pub line: u32,
}

/// `[scope]`.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub default_exec: Option<Exec>,
    pub default_value_action: Option<Action>,
    pub rules: Vec<Rule>,
}

/// `[io]`.
#[derive(Debug, Clone, Default)]
pub struct Io {
    pub capture: Option<bool>,
    pub streams: Option<Vec<String>>,
}

/// One loaded filter file.
#[derive(Debug, Clone)]
pub struct FilterFile {
    /// Where it was read from.
    pub path: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    pub name: String,
    pub version: u32,
    pub description: Option<String>,
    /// `[meta] inherit` (default true): false discards the files before it.
    pub inherit: bool,
    pub scope: Scope,
    pub io: Io,
    pub secrets: Secrets,
}

/// The files of a chain, in order (built-in default first).
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub files: Vec<FilterFile>,
}

impl Chain {
    /// The `[secrets]` settings in force: each key from the last file that
    /// sets it (from the last `inherit = false` file on).
    pub fn secrets(&self) -> Secrets {
        let start = self.files.iter().rposition(|f| !f.inherit).unwrap_or(0);
        let mut out = Secrets::default();
        for f in &self.files[start..] {
            if f.secrets.strings.is_some() {
                out.strings.clone_from(&f.secrets.strings);
            }
            if f.secrets.pairs.is_some() {
                out.pairs = f.secrets.pairs;
            }
            if f.secrets.env_allow.is_some() {
                out.env_allow.clone_from(&f.secrets.env_allow);
            }
        }
        out
    }

    /// The `[io]` settings in force: each key from the last file that sets it.
    pub fn io(&self) -> Io {
        let mut out = Io::default();
        for f in &self.files {
            if f.io.capture.is_some() {
                out.capture = f.io.capture;
            }
            if f.io.streams.is_some() {
                out.streams.clone_from(&f.io.streams);
            }
        }
        out
    }
}
