//! The types of a filter chain (what the loader produces, what the engine reads).

use super::selector::Selector;

/// Whether code is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exec {
    Trace,
    Skip,
}

/// What happens to a captured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Recorded as it is.
    Allow,
    /// Replaced by `redacted` with the value's type name.
    Redact,
    /// Nothing is kept.
    Drop,
}

impl Action {
    /// The name used in TOML.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::Drop => "drop",
        }
    }
    /// Small code used across the napi boundary: 0 allow, 1 redact, 2 drop.
    pub fn code(self) -> u32 {
        match self {
            Action::Allow => 0,
            Action::Redact => 1,
            Action::Drop => 2,
        }
    }
}

/// A `[[scope.rules.value_patterns]]` entry.
#[derive(Debug, Clone)]
pub struct ValuePattern {
    pub selector: Selector,
    pub action: Action,
    pub reason: Option<String>,
}

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
}

/// The files of a chain, in order (built-in default first).
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub files: Vec<FilterFile>,
}

impl Chain {
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
