//! The instrumenter: parses a module with oxc and inserts probe calls inside existing
//! lines (never a newline, never a deletion), so every line keeps its number.
//!
//! The exact inserted text is specified in `design-docs/probes.md`. The walk collects
//! insertions (`splice`), names functions (`names`), computes positions (`lines`) and
//! maps them through an inline input source map (`source_map`).
//!
//! Beyond the exact texts of probes.md:
//! * a directive without `;` (`"use strict"` then a newline) gets one, so that the
//!   prologue or a body opener can follow it on the same line;
//! * a space is put between an inserted text and a preceding identifier character
//!   (minified `return{...}`, `await(x)`);
//! * an unparenthesized sequence in `return a, b` is parenthesized inside `__nr$.r`;
//! * a body whose top-level function declarations clash with its `var`s or with each
//!   other (`var g; function g() {}`) cannot be moved into the `try` block; it keeps its
//!   table entry and gets no probes (`scopes`).

mod completion;
mod inference;
mod internal;
mod istanbul;
mod lines;
mod names;
mod original;
mod reexport;
mod scopes;
mod source_map;
mod splice;
mod suspension;
mod visitor;

#[cfg(test)]
mod tests;

use oxc_allocator::Allocator;
use oxc_parser::{ParseOptions, Parser};
use oxc_span::{GetSpan, SourceType};

use crate::error::Error;

pub(crate) use lines::LineIndex;
pub use original::original_source;

/// How a file is loaded: an ES module, or a CommonJS script (wrapped in a function by
/// Node, so a top-level `return` is allowed, `import`/`export` are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    Module,
    CommonJs,
}

/// What an entry of the function table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FnKind {
    Module,
    Function,
    Arrow,
    Method,
    Getter,
    Setter,
    Constructor,
    Field,
    StaticBlock,
    Await,
    Yield,
}

impl FnKind {
    /// The name used in traces (probes.md: `module`, `function`, ..., `static-block`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            FnKind::Module => "module",
            FnKind::Function => "function",
            FnKind::Arrow => "arrow",
            FnKind::Method => "method",
            FnKind::Getter => "getter",
            FnKind::Setter => "setter",
            FnKind::Constructor => "constructor",
            FnKind::Field => "field",
            FnKind::StaticBlock => "static-block",
            FnKind::Await => "await",
            FnKind::Yield => "yield",
        }
    }
}

/// One entry of a file's function table (a function, or an `await`/`yield` site).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnInfo {
    /// Qualified name (`Class.method`, `obj.x`, `<module>`, `<anonymous>`, ...).
    pub name: String,
    pub kind: FnKind,
    /// 1-based line (of the original source when mapped through an input source map).
    pub line: u32,
    /// 0-based column in UTF-16 code units.
    pub col: u32,
    /// Parameter binding names in order, patterns flattened, rest element included.
    pub params: Vec<String>,
    pub is_async: bool,
    pub is_generator: bool,
    /// Original source path, when the position was mapped through an input source map.
    pub source: Option<String>,
}

/// The result of instrumenting one file.
#[derive(Debug, Clone)]
pub struct Instrumented {
    /// The instrumented code, without the prologue.
    pub code: String,
    /// Byte offset in `code` where the caller inserts [`prologue`].
    pub prologue_at: usize,
    /// The function table; index 0 is the module top level. Empty when the file is not
    /// recorded (then `code` is the source unchanged and the caller adds no prologue).
    pub functions: Vec<FnInfo>,
    /// What was inserted, in order: `(byte offset in the source, length in UTF-16 code
    /// units)`; the prologue's place has length 0 (the caller inserts it). Used to map
    /// positions in the running code back to the source (`runtime/fatal-report.ts`).
    pub edits: Vec<(u32, u32)>,
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

/// An action that depends on the value's type class (value patterns with
/// `types = [...]`): the classes (bits of `filter::model::TYPES`) that are
/// redacted and dropped; the other classes are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypedAction {
    /// Classes redacted.
    pub redact: u16,
    /// Classes dropped.
    pub drop: u16,
}

/// What a recorded function's probes keep of its values (filters' value rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuePlan {
    /// One action per parameter name (as in [`FnInfo::params`]).
    pub params: Vec<Action>,
    /// Per parameter, an action by type class that replaces `params[i]`
    /// (empty when no parameter has one).
    pub params_typed: Vec<Option<TypedAction>>,
    /// An action by type class for the return value, replacing `ret`.
    pub ret_typed: Option<TypedAction>,
    /// `this` (methods, accessors, fields, static blocks).
    pub this: Action,
    /// The return value (or a field's initial value).
    pub ret: Action,
    /// Errors received by `catch` clauses of the function.
    pub caught: Action,
    /// The function has `attr:` patterns: its return and caught values are
    /// encoded with them (`ra`, `ka`, `rta` probes passing the function id).
    pub attr: bool,
}

impl ValuePlan {
    /// Everything allowed and no attr patterns: the plain probes.
    pub fn is_plain(&self) -> bool {
        !self.attr
            && self.ret_typed.is_none()
            && self.params_typed.iter().all(Option::is_none)
            && self.this == Action::Allow
            && self.ret == Action::Allow
            && self.caught == Action::Allow
            && self.params.iter().all(|a| *a == Action::Allow)
    }
}

/// The seam for filters: asked once per file and once per function (not for `await`/`yield`
/// sites, nor for the module entry; `value_plan` is also asked for the module entry).
pub trait Decider {
    /// Whether to instrument the file at all.
    fn record_file(&self, _path: &str) -> bool {
        true
    }
    /// Whether a function gets probes. A function that is not recorded keeps its table
    /// entry (indices stay stable) and gets no probes; nested functions are decided on
    /// their own.
    fn record_function(&self, _info: &FnInfo) -> bool {
        true
    }
    /// What the probes of a recorded function keep of its values; `None` keeps
    /// everything with the plain probes.
    fn value_plan(&self, _info: &FnInfo) -> Option<ValuePlan> {
        None
    }
}

/// Records everything.
pub struct RecordAll;

impl Decider for RecordAll {}

/// The text the caller inserts at [`Instrumented::prologue_at`], with the file's base id.
///
/// The base id is written in a field of 10 characters (any `u32`, padded with spaces):
/// it depends on how many functions the process registered before, so without the
/// padding the same file's instrumented text would differ in length from one process
/// to another, and coverage tools that merge processes' ranges of a file by offset
/// (c8) would merge ranges of different texts (review55).
pub fn prologue(base: u32) -> String {
    format!("const __nr$b={base:<10},$nr$a=__nr$.t(__nr$.c(__nr$b));")
}

/// The prologue of code instrumented in one process and run in another: the
/// running process registers the function table (`table`, a JavaScript string
/// literal holding its JSON) and gets the base id from the runtime's `reg`.
pub fn prologue_registering(table: &str) -> String {
    format!("const __nr$b=__nr$.reg({table}),$nr$a=__nr$.t(__nr$.c(__nr$b));")
}

/// The prologue with the file's `attr:` rule set ids registered before the module entry
/// runs: `attr` is one id and the table length (`7,120`) or a JavaScript array of ids.
pub fn prologue_with_attr(base: u32, attr: &str) -> String {
    format!("const __nr$b=__nr$.fa({base:<10},{attr}),$nr$a=__nr$.t(__nr$.c(__nr$b));")
}

/// A package file's prologue under `--scope project`: `prologue` (one of the above) with
/// the base id passed through `__nr$.bp(<base>,<count>)`, which marks the file's `count`
/// functions as package code whose calls are recorded only from the project's own code.
pub fn prologue_boundary(prologue: &str, count: u32) -> String {
    const HEAD: &str = "const __nr$b=";
    match (prologue.strip_prefix(HEAD), prologue.find(",$nr$a=")) {
        (Some(_), Some(end)) => format!("{HEAD}__nr$.bp({},{count}){}", &prologue[HEAD.len()..end], &prologue[end..]),
        _ => prologue.to_string(),
    }
}

/// Instruments one file. `path` is used for the decider and error messages.
///
/// When `decider.record_file(path)` is false the source is returned unchanged with an
/// empty function table and `prologue_at == 0`; the caller must then not insert the
/// prologue. A syntax error gives [`Error::Instrument`] with `line:col: message`
/// (1-based line and column) of the first error.
pub fn instrument(source: &str, path: &str, kind: ModuleKind, decider: &dyn Decider) -> Result<Instrumented, Error> {
    instrument_scoped(source, path, kind, decider, false)
}

/// [`instrument`] for a package file recorded only at its boundary (`--scope project`)
/// when `boundary` is true: its internal functions get no probes (instrument/internal.rs).
pub fn instrument_scoped(
    source: &str,
    path: &str,
    kind: ModuleKind,
    decider: &dyn Decider,
    boundary: bool,
) -> Result<Instrumented, Error> {
    if !decider.record_file(path) {
        return Ok(Instrumented { code: source.to_string(), prologue_at: 0, functions: Vec::new(), edits: Vec::new() });
    }
    if source.len() >= u32::MAX as usize {
        return Err(Error::Instrument { path: path.to_string(), message: "file too large".to_string() });
    }
    let allocator = Allocator::default();
    let (source_type, options) = match kind {
        ModuleKind::Module => (SourceType::mjs(), ParseOptions::default()),
        ModuleKind::CommonJs => {
            (SourceType::script(), ParseOptions { allow_return_outside_function: true, ..ParseOptions::default() })
        }
    };
    let parsed = Parser::new(&allocator, source, source_type).with_options(options).parse();
    if parsed.panicked || parsed.diagnostics.has_errors() {
        let mut lines = lines::LineIndex::new(source);
        let message = match parsed.diagnostics.errors().next() {
            Some(d) => {
                let offset = d.labels.first().map_or(0, |l| l.offset()).min(source.len() as u32);
                let offset = floor_char_boundary(source, offset as usize) as u32;
                let (line, col) = lines.position(offset);
                format!("{line}:{}: {}", col + 1, d.message)
            }
            None => "1:1: the parser gave up".to_string(),
        };
        return Err(Error::Instrument { path: path.to_string(), message });
    }
    if kind == ModuleKind::CommonJs {
        // The parser leaves this check to semantic analysis; Node rejects it in CommonJS.
        if let Some(stmt) = parsed.program.body.iter().find(|s| s.is_module_declaration()) {
            let (line, col) = lines::LineIndex::new(source).position(stmt.span().start);
            let message = format!("{line}:{}: import and export may only appear in an ES module", col + 1);
            return Err(Error::Instrument { path: path.to_string(), message });
        }
    }
    let (code, prologue_at, functions, edits) =
        visitor::Instrumenter::run(source, &parsed.program, kind, decider, boundary);
    Ok(Instrumented { code, prologue_at, functions, edits })
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
