//! The checks the fuzz targets (`fuzz/fuzz_targets/`) run on every input,
//! here so that `cargo test` (stable, no fuzzer) replays the checked-in
//! corpus and every crash input through the same code
//! (`tests/fuzz_corpus.rs`). Each check returns `Err` with what broke; the
//! fuzz target panics on it. A panic inside the checked code is a finding
//! as well.

use std::io::sink;
use std::path::Path;

use crate::export::{chrome::Chrome, jsonl::Jsonl, stream, Options, Progress};
use crate::filter::glob::{is_plain, make_re_source, Glob};
use crate::filter::jsregex::Regex;
use crate::filter::loader::{parse_str, DEFAULT_PATH, DEFAULT_TOML};
use crate::filter::model::Chain;
use crate::filter::{selector, Engine};
use crate::instrument::{instrument, prologue, ModuleKind, RecordAll};
use crate::query::calls as query;
use crate::trace::{reader, walk};

/// The fuzz targets, by name (the directories of `fuzz/corpus/`).
pub const TARGETS: [&str; 6] = ["trace_reader", "filter_loader", "selector", "glob", "jsregex", "instrument"];

/// Runs the check of `target` on `data`.
pub fn check(target: &str, data: &[u8]) -> Result<(), String> {
    match target {
        "trace_reader" => trace_reader(data),
        "filter_loader" => filter_loader(data),
        "selector" => selector_check(data),
        "glob" => glob(data),
        "jsregex" => jsregex(data),
        "instrument" => instrument_check(data),
        other => Err(format!("unknown fuzz target {other}")),
    }
}

/// Memory the fuzzed reader may hold (decoded events and values).
const READER_LIMIT: u64 = 256 << 20;

/// Any bytes: a coded error for a bad header, otherwise a readable prefix
/// (every complete chunk before the first damage) that every consumer —
/// the walk, the streaming jsonl and chrome exports, the calls query —
/// handles without panicking.
pub fn trace_reader(data: &[u8]) -> Result<(), String> {
    let Ok(t) = reader::read_trace_bytes_limited(data, READER_LIMIT) else { return Ok(()) };
    if t.bytes_read > data.len() as u64 {
        return Err(format!("read {} bytes of {}", t.bytes_read, data.len()));
    }
    if t.damage.is_none() && t.bytes_read != data.len() as u64 {
        return Err(format!("stopped at byte {} of {} without saying why", t.bytes_read, data.len()));
    }
    for e in &t.events {
        if u64::from(e.val_off) + u64::from(e.val_len) > t.values.len() as u64 {
            return Err("an event's values lie outside the value bytes".into());
        }
        if !(crate::wire::format::kind::CALL..=crate::wire::format::kind::LAST).contains(&e.kind) {
            return Err(format!("event kind {} passed the reader", e.kind));
        }
    }
    let steps = walk::walk(&t);
    if steps.len() != t.events.len() {
        return Err("the walk lost events".into());
    }
    // The streaming exports read the same bytes chunk by chunk.
    let opts = Options::default();
    for chrome in [false, true] {
        let mut chunks = reader::ChunkReader::new(data, data.len() as u64)?;
        let mut out: Box<dyn stream::Sink> = if chrome {
            Box::new(Chrome::new(Box::new(sink()), 1, &opts))
        } else {
            Box::new(Jsonl::new(Box::new(sink()), &opts))
        };
        stream::run(&mut chunks, &opts, &Progress::default(), out.as_mut()).map_err(|e| e.to_string())?;
    }
    let q = query::CallQuery { fn_glob: Some("*".into()), min_ns: 0, limit: 0, only: None };
    query::calls(&t, &q)?;
    Ok(())
}

/// Any text: a filter file loads, or fails with ERR_FILTER_PARSE or
/// ERR_FILTER_SCHEMA at a position inside the file; a loaded file composes
/// with the built-in default and decides files, functions and keys.
pub fn filter_loader(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else { return Ok(()) };
    let lines = text.split('\n').count() as u32;
    let f = match parse_str(text, "fuzz.toml", false) {
        Ok(f) => f,
        Err(e) => {
            return match e {
                crate::error::Error::FilterParse { line, column, .. }
                | crate::error::Error::FilterSchema { line, column, .. } => {
                    if line == 0 || column == 0 || line > lines.max(1) {
                        Err(format!("error placed at {line}:{column} in a file of {lines} lines: {e}"))
                    } else {
                        Ok(())
                    }
                }
                other => Err(format!("unexpected error kind: {other}")),
            };
        }
    };
    let default = parse_str(DEFAULT_TOML, DEFAULT_PATH, true).map_err(|e| e.to_string())?;
    let engine = Engine::new(Chain { files: vec![default, f] }, Path::new("/fuzz"));
    for file in ["/fuzz/src/a.js", "/fuzz/node_modules/x/index.js", "/elsewhere/b.mjs"] {
        let d = engine.decide_file(file);
        for name in ["main", "Cart.addItem", "<anonymous>", "<module>", "getPassword"] {
            let fd = engine.decide_function(&d, name, &["password".into(), "x".into()]);
            if fd.plan.params.len() != 2 {
                return Err("a plan without one action per parameter".into());
            }
            for key in ["token", "authorization", "name"] {
                engine.attr_action(fd.attr, key);
            }
        }
    }
    let _ = engine.summary();
    Ok(())
}

/// `pattern \0 input`, or the whole input as the pattern.
fn split(data: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(data).ok()?;
    Some(text.split_once('\0').unwrap_or((text, "")))
}

/// Any text as a selector, in both places (rules and value patterns).
pub fn selector_check(data: &[u8]) -> Result<(), String> {
    let Some((text, input)) = split(data) else { return Ok(()) };
    for scope in [true, false] {
        if let Ok(s) = selector::parse(text, scope) {
            if s.kind.is_scope() != scope {
                return Err(format!("selector {text:?} of kind {} accepted in the wrong place", s.kind.as_str()));
            }
            s.is_match(input);
            s.is_match(text);
        }
    }
    Ok(())
}

/// Any glob: compiling agrees with its regular expression's validity, a
/// glob matches itself as picomatch does, and matching never panics.
pub fn glob(data: &[u8]) -> Result<(), String> {
    let Some((pattern, input)) = split(data) else { return Ok(()) };
    let strict = Glob::new(pattern);
    let lenient = Glob::new_lenient(pattern);
    if let Ok(g) = &strict {
        let m = g.is_match(input);
        if let Ok(l) = &lenient {
            if l.is_match(input) != m {
                return Err(format!("strict and lenient globs disagree on {pattern:?} / {input:?}"));
            }
        }
        if !pattern.is_empty() && !g.is_match(pattern) && is_plain(pattern) {
            return Err(format!("the plain glob {pattern:?} does not match itself"));
        }
        if let Ok(src) = make_re_source(pattern) {
            if Regex::new(&src).is_err() && !is_plain(pattern) {
                return Err(format!("glob {pattern:?} accepted but its expression {src:?} is not"));
            }
        }
    }
    Ok(())
}

/// Any regular expression: compiles or is refused; matching never panics
/// (the fuzzer's timeout catches a hang: on the `regex` path matching is
/// linear, on the `regress` path a pattern written to backtrack can be slow).
pub fn jsregex(data: &[u8]) -> Result<(), String> {
    let Some((pattern, input)) = split(data) else { return Ok(()) };
    if let Ok(r) = Regex::new(pattern) {
        r.is_match(input);
    }
    Ok(())
}

/// Any source that parses: the instrumented code parses too, keeps every
/// line where it was (same line count), and opens exactly as many
/// activations (`const $nr$a=__nr$.…`) as it closes (`finally{__nr$.f($nr$a)}` or
/// `finally{__nr$.d=$nr$a}`).
pub fn instrument_check(data: &[u8]) -> Result<(), String> {
    let Ok(src) = std::str::from_utf8(data) else { return Ok(()) };
    for kind in [ModuleKind::CommonJs, ModuleKind::Module] {
        if !parses(src, kind) {
            continue;
        }
        let Ok(out) = instrument(src, "fuzz.js", kind, &RecordAll) else { continue };
        if !out.code.is_char_boundary(out.prologue_at) {
            return Err("the prologue offset is not at a character boundary".into());
        }
        let mut full = out.code.clone();
        if !out.functions.is_empty() {
            full.insert_str(out.prologue_at, &prologue(1));
        }
        if !parses(&full, kind) {
            return Err(format!("{kind:?}: the instrumented code does not parse:\n{full}"));
        }
        let (a, b) = (line_count(src), line_count(&out.code));
        if a != b {
            return Err(format!("{kind:?}: {a} lines became {b}:\n{}", out.code));
        }
        let added = |pat: &str| out.code.matches(pat).count() as i64 - src.matches(pat).count() as i64;
        // A frame's `finally` (probes.md): `f` when the function suspends, else `d=`.
        let opened = added("const $nr$a=__nr$.");
        let closed = added("}finally{__nr$.f($nr$a)}") + added("}finally{__nr$.d=$nr$a}");
        if opened != closed {
            return Err(format!("{kind:?}: {opened} activations opened, {closed} closed:\n{}", out.code));
        }
    }
    Ok(())
}

fn parses(code: &str, kind: ModuleKind) -> bool {
    use oxc_allocator::Allocator;
    use oxc_parser::{ParseOptions, Parser};
    use oxc_span::SourceType;
    let allocator = Allocator::default();
    let (st, opts) = match kind {
        ModuleKind::Module => (SourceType::mjs(), ParseOptions::default()),
        ModuleKind::CommonJs => {
            (SourceType::script(), ParseOptions { allow_return_outside_function: true, ..ParseOptions::default() })
        }
    };
    let ret = Parser::new(&allocator, code, st).with_options(opts).parse();
    !ret.panicked && !ret.diagnostics.has_errors()
}

/// Lines as JavaScript counts them (LF, CR, CRLF, U+2028, U+2029).
fn line_count(s: &str) -> usize {
    let b = s.as_bytes();
    let mut n = 1;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => n += 1,
            b'\r' => {
                if b.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                n += 1;
            }
            0xE2 if b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9)) => {
                i += 2;
                n += 1;
            }
            _ => {}
        }
        i += 1;
    }
    n
}
