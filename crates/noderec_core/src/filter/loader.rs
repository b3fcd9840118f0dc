//! TOML → model, with every error located (file, line, column) and naming
//! the key and what is accepted; and the composition of a chain.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use toml_edit::{ImDocument, Item, Table, Value};

use super::model::{
    Action, Chain, Exec, FilterFile, Io, Rule, Scope, Secrets, ValuePattern, ALL_TYPES, SECRET_DETECTORS, TYPES,
};
use super::selector;
use crate::error::Error;

/// The built-in default filter (`filters/default.toml`), compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../../../filters/default.toml");
/// The path reported for the compiled-in default when no file path is given.
pub const DEFAULT_PATH: &str = "<builtin>/filters/default.toml";

/// A TOML value with its location (strings borrowed from the document).
#[derive(Debug)]
enum Node<'d> {
    Str(&'d str),
    Int(i64),
    Bool(bool),
    Other(&'static str),
    Arr(Vec<(Node<'d>, Option<Range<usize>>)>),
    Tab(Vec<Entry<'d>>),
}

#[derive(Debug)]
struct Entry<'d> {
    key: &'d str,
    key_span: Option<Range<usize>>,
    value: Node<'d>,
    span: Option<Range<usize>>,
}

/// Names a place in the file for an error message; built only when one is
/// reported (a large filter has hundreds of thousands of places).
type What<'a> = &'a dyn Fn() -> String;

fn type_name(n: &Node<'_>) -> &'static str {
    match n {
        Node::Str(_) => "a string",
        Node::Int(_) => "an integer",
        Node::Bool(_) => "a boolean",
        Node::Other(t) => t,
        Node::Arr(_) => "an array",
        Node::Tab(_) => "a table",
    }
}

fn conv_value(v: &Value) -> Node<'_> {
    match v {
        Value::String(s) => Node::Str(s.value()),
        Value::Integer(i) => Node::Int(*i.value()),
        Value::Boolean(b) => Node::Bool(*b.value()),
        Value::Float(_) => Node::Other("a float"),
        Value::Datetime(_) => Node::Other("a datetime"),
        Value::Array(a) => Node::Arr(a.iter().map(|x| (conv_value(x), x.span())).collect()),
        Value::InlineTable(t) => Node::Tab(
            t.iter()
                .map(|(k, x)| Entry {
                    key: k,
                    key_span: t.key(k).and_then(|k| k.span()),
                    value: conv_value(x),
                    span: x.span(),
                })
                .collect(),
        ),
    }
}

fn conv_table(t: &Table) -> Node<'_> {
    Node::Tab(
        t.iter()
            .map(|(k, item)| Entry {
                key: k,
                key_span: t.key(k).and_then(|k| k.span()),
                value: conv_item(item),
                span: item.span().or_else(|| t.key(k).and_then(|k| k.span())),
            })
            .collect(),
    )
}

fn conv_item(item: &Item) -> Node<'_> {
    match item {
        Item::None => Node::Other("nothing"),
        Item::Value(v) => conv_value(v),
        Item::Table(t) => conv_table(t),
        Item::ArrayOfTables(a) => Node::Arr(a.iter().map(|t| (conv_table(t), t.span())).collect()),
    }
}

/// Turns byte offsets into 1-based line and column (in characters). Line
/// starts are found once, so each lookup is a binary search (loading is
/// linear in the file's size, whatever the number of rules).
struct Loc<'a> {
    path: &'a str,
    text: &'a str,
    /// Byte offset of the start of each line.
    lines: Vec<usize>,
    /// Selectors compiled ahead (large files), by the address of their text.
    compiled: Precompiled,
}

impl<'a> Loc<'a> {
    fn new(path: &'a str, text: &'a str) -> Loc<'a> {
        let mut lines = vec![0];
        lines.extend(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        Loc { path, text, lines, compiled: Precompiled::default() }
    }

    /// The selector written at `text` (borrowed from the document), compiled.
    fn selector(&self, text: &str, scope: bool) -> Result<selector::Selector, String> {
        match self.compiled.take(text) {
            Some(r) => r,
            None => selector::parse(text, scope),
        }
    }

    fn pos(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        // The last line starting at or before `offset`.
        let line = self.lines.partition_point(|&start| start <= offset).max(1);
        let start = self.lines[line - 1];
        let col = self.text.get(start..offset).map_or(0, |s| s.chars().count()) as u32 + 1;
        (line as u32, col)
    }

    fn schema(&self, span: &Option<Range<usize>>, message: String) -> Error {
        let (line, column) = span.as_ref().map_or((1, 1), |s| self.pos(s.start));
        Error::FilterSchema { path: self.path.to_string(), line, column, message }
    }
}

/// Reads the entries of a table, rejecting unknown keys. `what` names the
/// table (empty: the top level).
fn entries<'n, 'd>(
    loc: &Loc<'_>,
    node: &'n Node<'d>,
    span: &Option<Range<usize>>,
    what: What<'_>,
    accepted: &[&str],
) -> Result<&'n [Entry<'d>], Error> {
    let Node::Tab(es) = node else {
        return Err(loc.schema(span, format!("`{}` must be a table, not {}", what(), type_name(node))));
    };
    for e in es {
        if !accepted.contains(&e.key) {
            let what = what();
            let full = if what.is_empty() { e.key.to_string() } else { format!("{what}.{}", e.key) };
            let place = if what.is_empty() { "at the top level".to_string() } else { format!("in `{what}`") };
            return Err(
                loc.schema(&e.key_span, format!("unknown key `{full}` {place}; accepted: {}", accepted.join(", ")))
            );
        }
    }
    Ok(es)
}

fn get<'n, 'd>(es: &'n [Entry<'d>], key: &str) -> Option<&'n Entry<'d>> {
    es.iter().find(|e| e.key == key)
}

fn string(loc: &Loc<'_>, e: &Entry<'_>, what: What<'_>) -> Result<String, Error> {
    str_of(loc, e, what).map(str::to_string)
}

/// An array of strings, each with its place.
/// A string with its place in the file.
type Placed = (String, Option<Range<usize>>);

fn strings(loc: &Loc<'_>, e: &Entry<'_>, what: What<'_>) -> Result<Vec<Placed>, Error> {
    let Node::Arr(items) = &e.value else {
        return Err(
            loc.schema(&e.span, format!("`{}` must be an array of strings, not {}", what(), type_name(&e.value)))
        );
    };
    items
        .iter()
        .map(|(n, span)| match n {
            Node::Str(s) => Ok(((*s).to_string(), span.clone())),
            other => Err(loc.schema(span, format!("`{}` items must be strings, not {}", what(), type_name(other)))),
        })
        .collect()
}

fn str_of<'d>(loc: &Loc<'_>, e: &Entry<'d>, what: What<'_>) -> Result<&'d str, Error> {
    match &e.value {
        Node::Str(s) => Ok(s),
        other => Err(loc.schema(&e.span, format!("`{}` must be a string, not {}", what(), type_name(other)))),
    }
}

fn choice<T: Copy>(loc: &Loc<'_>, e: &Entry<'_>, what: What<'_>, options: &[(&str, T)]) -> Result<T, Error> {
    let names = || options.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" | ");
    match &e.value {
        Node::Str(s) => options
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| loc.schema(&e.span, format!("`{}` is {s:?}; accepted: {}", what(), names()))),
        other => Err(loc.schema(&e.span, format!("`{}` must be one of {}, not {}", what(), names(), type_name(other)))),
    }
}

/// Compiling selectors (globs and regular expressions) is most of the
/// cost of loading a large filter: a file with many rules has them
/// compiled on all cores first, in file order per thread, and the schema
/// walk takes each one by the address of its text in the document.
#[derive(Default)]
struct Precompiled {
    done: Mutex<std::collections::HashMap<usize, Result<selector::Selector, String>>>,
}

/// Files with fewer rules compile their selectors on the way.
const PRECOMPILE_FROM: usize = 2_000;

fn table<'n, 'd>(n: &'n Node<'d>, key: &str) -> Option<&'n Node<'d>> {
    match n {
        Node::Tab(es) => es.iter().find(|e| e.key == key).map(|e| &e.value),
        _ => None,
    }
}

impl Precompiled {
    fn new(root: &Node<'_>) -> Precompiled {
        // The selector strings of scope.rules[*] and their value_patterns[*].
        let mut all: Vec<(&str, bool)> = Vec::new();
        let scope = table(root, "scope");
        if let Some(Node::Arr(rules)) = scope.and_then(|s| table(s, "rules")) {
            if rules.len() < PRECOMPILE_FROM {
                return Precompiled::default();
            }
            for (r, _) in rules {
                if let Some(Node::Str(t)) = table(r, "selector") {
                    all.push((t, true));
                }
                if let Some(Node::Arr(ps)) = table(r, "value_patterns") {
                    for (p, _) in ps {
                        if let Some(Node::Str(t)) = table(p, "selector") {
                            all.push((t, false));
                        }
                    }
                }
            }
        }
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).clamp(1, 8);
        let per = all.len().div_ceil(threads).max(1);
        let mut done = std::collections::HashMap::with_capacity(all.len());
        std::thread::scope(|sc| {
            let handles: Vec<_> = all
                .chunks(per)
                .map(|part| {
                    sc.spawn(move || {
                        part.iter()
                            .map(|&(t, scope)| (t.as_ptr() as usize, selector::parse(t, scope)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                if let Ok(v) = h.join() {
                    done.extend(v);
                }
            }
        });
        Precompiled { done: Mutex::new(done) }
    }

    fn take(&self, text: &str) -> Option<Result<selector::Selector, String>> {
        self.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&(text.as_ptr() as usize))
    }
}

const EXEC: &[(&str, Exec)] = &[("trace", Exec::Trace), ("skip", Exec::Skip)];
const ACTION: &[(&str, Action)] = &[("allow", Action::Allow), ("redact", Action::Redact), ("drop", Action::Drop)];

/// Parses one filter file's text. `first` is true for the first file of a
/// chain (which may not use `inherit`).
pub fn parse_str(text: &str, path: &str, first: bool) -> Result<FilterFile, Error> {
    let loc = Loc::new(path, text);
    let doc = ImDocument::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| loc.pos(s.start));
        let message = e.message().trim().replace('\n', " ");
        Error::FilterParse { path: path.to_string(), line, column, message }
    })?;
    let root = conv_table(doc.as_table());
    let compiled = Precompiled::new(&root);
    let loc = Loc { compiled, ..loc };
    let top = entries(&loc, &root, &None, &String::new, &["meta", "scope", "io", "secrets"])?;

    // [meta]
    let Some(meta) = get(top, "meta") else {
        return Err(loc.schema(&None, "missing `[meta]` table with `name` and `version`".into()));
    };
    let me =
        entries(&loc, &meta.value, &meta.key_span, &|| "meta".into(), &["name", "version", "description", "inherit"])?;
    let name = match get(me, "name") {
        Some(e) => {
            let s = string(&loc, e, &|| "meta.name".into())?;
            if s.trim().is_empty() {
                return Err(loc.schema(&e.span, "`meta.name` must not be empty".into()));
            }
            s
        }
        None => return Err(loc.schema(&meta.key_span, "`[meta]` requires `name` (a string)".into())),
    };
    let version = match get(me, "version") {
        Some(e) => match &e.value {
            Node::Int(v) if *v >= 1 && *v <= i64::from(u32::MAX) => *v as u32,
            Node::Int(v) => {
                return Err(loc.schema(&e.span, format!("`meta.version` is {v}; accepted: an integer >= 1")))
            }
            other => {
                return Err(
                    loc.schema(&e.span, format!("`meta.version` must be an integer >= 1, not {}", type_name(other)))
                )
            }
        },
        None => return Err(loc.schema(&meta.key_span, "`[meta]` requires `version` (an integer >= 1)".into())),
    };
    let description = get(me, "description").map(|e| string(&loc, e, &|| "meta.description".into())).transpose()?;
    let inherit = match get(me, "inherit") {
        Some(e) => {
            if first {
                return Err(loc.schema(
                    &e.key_span,
                    "`meta.inherit` is only allowed after the first file of a chain (there is nothing to inherit)"
                        .into(),
                ));
            }
            match &e.value {
                Node::Bool(b) => *b,
                other => {
                    return Err(
                        loc.schema(&e.span, format!("`meta.inherit` must be a boolean, not {}", type_name(other)))
                    )
                }
            }
        }
        None => true,
    };

    // [scope]
    let mut scope = Scope::default();
    if let Some(s) = get(top, "scope") {
        let se = entries(
            &loc,
            &s.value,
            &s.key_span,
            &|| "scope".into(),
            &["default_exec", "default_value_action", "rules"],
        )?;
        if let Some(e) = get(se, "default_exec") {
            scope.default_exec = Some(choice(&loc, e, &|| "scope.default_exec".into(), EXEC)?);
        }
        if let Some(e) = get(se, "default_value_action") {
            scope.default_value_action = Some(choice(&loc, e, &|| "scope.default_value_action".into(), ACTION)?);
        }
        if let Some(e) = get(se, "rules") {
            let Node::Arr(items) = &e.value else {
                return Err(loc.schema(
                    &e.span,
                    format!("`scope.rules` must be an array of tables ([[scope.rules]]), not {}", type_name(&e.value)),
                ));
            };
            scope.rules.reserve(items.len());
            for (i, (item, span)) in items.iter().enumerate() {
                if i > 0 && i % PROGRESS_EVERY == 0 {
                    crate::host::log::log(
                        "debug",
                        "noderec_core::filter",
                        None,
                        format!("loading filter {path}: {i} of {} rules", items.len()),
                        serde_json::json!({ "path": path, "rules_done": i, "rules": items.len() }),
                    );
                }
                scope.rules.push(rule(&loc, item, span, i)?);
            }
        }
    }

    // [io]
    let mut io = Io::default();
    if let Some(s) = get(top, "io") {
        let ie = entries(&loc, &s.value, &s.key_span, &|| "io".into(), &["capture", "streams"])?;
        if let Some(e) = get(ie, "capture") {
            match &e.value {
                Node::Bool(b) => io.capture = Some(*b),
                other => {
                    return Err(loc.schema(&e.span, format!("`io.capture` must be a boolean, not {}", type_name(other))))
                }
            }
        }
        if let Some(e) = get(ie, "streams") {
            let Node::Arr(items) = &e.value else {
                return Err(loc.schema(
                    &e.span,
                    format!("`io.streams` must be an array of strings, not {}", type_name(&e.value)),
                ));
            };
            let mut streams = Vec::new();
            for (item, span) in items {
                match item {
                    Node::Str(s) if *s == "stdout" || *s == "stderr" => streams.push((*s).to_string()),
                    Node::Str(s) => {
                        return Err(loc.schema(span, format!("`io.streams` has {s:?}; accepted: stdout, stderr")))
                    }
                    other => {
                        return Err(
                            loc.schema(span, format!("`io.streams` items must be strings, not {}", type_name(other)))
                        )
                    }
                }
            }
            io.streams = Some(streams);
        }
    }

    // [secrets]
    let mut secrets = Secrets::default();
    if let Some(s) = get(top, "secrets") {
        let se = entries(&loc, &s.value, &s.key_span, &|| "secrets".into(), &["strings", "pairs", "env_allow"])?;
        if let Some(e) = get(se, "strings") {
            let names = strings(&loc, e, &|| "secrets.strings".into())?;
            for (n, span) in &names {
                if !SECRET_DETECTORS.contains(&n.as_str()) {
                    return Err(loc.schema(
                        span,
                        format!("`secrets.strings` has {n:?}; accepted: {}", SECRET_DETECTORS.join(", ")),
                    ));
                }
            }
            secrets.strings = Some(names.into_iter().map(|(n, _)| n).collect());
        }
        if let Some(e) = get(se, "pairs") {
            match &e.value {
                Node::Bool(b) => secrets.pairs = Some(*b),
                other => {
                    return Err(
                        loc.schema(&e.span, format!("`secrets.pairs` must be a boolean, not {}", type_name(other)))
                    )
                }
            }
        }
        if let Some(e) = get(se, "env_allow") {
            secrets.env_allow =
                Some(strings(&loc, e, &|| "secrets.env_allow".into())?.into_iter().map(|(n, _)| n).collect());
        }
    }

    let sha256 = hex(&Sha256::digest(text.as_bytes()));
    Ok(FilterFile { path: path.to_string(), sha256, name, version, description, inherit, scope, io, secrets })
}

fn rule(loc: &Loc<'_>, node: &Node<'_>, span: &Option<Range<usize>>, index: usize) -> Result<Rule, Error> {
    let what = || format!("scope.rules[{index}]");
    let es = entries(loc, node, span, &what, &["selector", "exec", "value_default", "reason", "value_patterns"])?;
    let Some(sel) = get(es, "selector") else {
        return Err(loc.schema(span, format!("`{}` requires `selector` (kind pkg, file or fn)", what())));
    };
    let text = str_of(loc, sel, &|| format!("{}.selector", what()))?;
    let selector =
        loc.selector(text, true).map_err(|m| loc.schema(&sel.span, format!("`{}.selector`: {m}", what())))?;
    let line = sel.span.as_ref().map_or(1, |s| loc.pos(s.start).0);
    let exec = get(es, "exec").map(|e| choice(loc, e, &|| format!("{}.exec", what()), EXEC)).transpose()?;
    let value_default = get(es, "value_default")
        .map(|e| choice(loc, e, &|| format!("{}.value_default", what()), ACTION))
        .transpose()?;
    let reason = get(es, "reason").map(|e| string(loc, e, &|| format!("{}.reason", what()))).transpose()?;
    let mut value_patterns = Vec::new();
    if let Some(e) = get(es, "value_patterns") {
        let Node::Arr(items) = &e.value else {
            return Err(loc.schema(
                &e.span,
                format!("`{}.value_patterns` must be an array of tables, not {}", what(), type_name(&e.value)),
            ));
        };
        value_patterns.reserve(items.len());
        for (j, (item, pspan)) in items.iter().enumerate() {
            value_patterns.push(value_pattern(loc, item, pspan, &|| format!("{}.value_patterns[{j}]", what()))?);
        }
    }
    if exec.is_none() && value_default.is_none() && value_patterns.is_empty() {
        return Err(loc.schema(
            &sel.key_span,
            format!("`{}` does nothing: set `exec`, `value_default` or `value_patterns`", what()),
        ));
    }
    Ok(Rule { selector, exec, value_default, reason, value_patterns, line })
}

fn value_pattern(
    loc: &Loc<'_>,
    item: &Node<'_>,
    pspan: &Option<Range<usize>>,
    pw: What<'_>,
) -> Result<ValuePattern, Error> {
    let pe = entries(loc, item, pspan, pw, &["selector", "action", "reason", "types"])?;
    let Some(ps) = get(pe, "selector") else {
        return Err(loc.schema(pspan, format!("`{}` requires `selector` (kind arg, ret, this or attr)", pw())));
    };
    let ptext = str_of(loc, ps, &|| format!("{}.selector", pw()))?;
    let psel = loc.selector(ptext, false).map_err(|m| loc.schema(&ps.span, format!("`{}.selector`: {m}", pw())))?;
    let Some(pa) = get(pe, "action") else {
        return Err(loc.schema(pspan, format!("`{}` requires `action` (allow | redact | drop)", pw())));
    };
    let action = choice(loc, pa, &|| format!("{}.action", pw()), ACTION)?;
    let reason = get(pe, "reason").map(|e| string(loc, e, &|| format!("{}.reason", pw()))).transpose()?;
    let mut types = ALL_TYPES;
    if let Some(e) = get(pe, "types") {
        if psel.kind == selector::Kind::Attr {
            return Err(loc.schema(
                &e.key_span,
                format!("`{}.types` is accepted for arg:, ret: and this: patterns, not attr:", pw()),
            ));
        }
        types = 0;
        for (n, span) in strings(loc, e, &|| format!("{}.types", pw()))? {
            match TYPES.iter().position(|t| *t == n) {
                Some(i) => types |= 1 << i,
                None => {
                    return Err(loc.schema(&span, format!("`{}.types` has {n:?}; accepted: {}", pw(), TYPES.join(", "))))
                }
            }
        }
        if types == 0 {
            return Err(
                loc.schema(&e.span, format!("`{}.types` is empty; name at least one of {}", pw(), TYPES.join(", ")))
            );
        }
    }
    Ok(ValuePattern { selector: psel, action, reason, types })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and parses one file.
pub fn load_file(path: &str, first: bool) -> Result<FilterFile, Error> {
    let text = read_filter(path)?;
    parse_text(&text, path, first)
}

fn read_filter(path: &str) -> Result<Vec<u8>, Error> {
    crate::host::filesystem::read_regular(std::path::Path::new(path), MAX_FILTER_FILE).map_err(|e| Error::FilterParse {
        path: path.to_string(),
        line: 1,
        column: 1,
        message: format!("cannot read the filter file: {e}"),
    })
}

fn parse_text(text: &[u8], path: &str, first: bool) -> Result<FilterFile, Error> {
    let text = std::str::from_utf8(text).map_err(|e| {
        let valid = e.valid_up_to();
        let loc = Loc::new(path, std::str::from_utf8(&text[..valid]).unwrap_or(""));
        let (line, column) = loc.pos(valid);
        Error::FilterParse { path: path.to_string(), line, column, message: "the file is not valid UTF-8".into() }
    })?;
    let t0 = std::time::Instant::now();
    let f = parse_str(text, path, first)?;
    let rules = f.scope.rules.len();
    let patterns: usize = f.scope.rules.iter().map(|r| r.value_patterns.len()).sum();
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    crate::host::log::log(
        "debug",
        "noderec_core::filter",
        None,
        format!("loaded filter {path}: {rules} rules, {patterns} value patterns in {ms:.1} ms"),
        serde_json::json!({ "path": path, "rules": rules, "value_patterns": patterns, "bytes": text.len(), "ms": ms }),
    );
    Ok(f)
}

/// A large file logs its progress every this many rules (debug level).
const PROGRESS_EVERY: usize = 50_000;

/// Largest filter file read (a generated filter of 100k rules is ~5 MiB).
pub const MAX_FILTER_FILE: u64 = 256 << 20;

/// The last chain loaded in this process, by the SHA-256 of its files' bytes:
/// the chain is validated before recording starts and loaded again by the
/// session (and for its `[io]` table), so a large chain is parsed once.
static LAST: Mutex<Option<LoadedChain>> = Mutex::new(None);

/// A loaded chain: its paths, the SHA-256 of each file's bytes, the chain.
type LoadedChain = (Vec<String>, Vec<[u8; 32]>, Arc<Chain>);

/// Loads a chain: each path in order. An empty path list gives the
/// compiled-in default alone. A chain whose files have the same paths and
/// bytes as the last one loaded is not parsed again.
pub fn load_chain(paths: &[String]) -> Result<Arc<Chain>, Error> {
    let mut texts = Vec::with_capacity(paths.len());
    let mut hashes = Vec::with_capacity(paths.len());
    for p in paths {
        let text = read_filter(p)?;
        hashes.push(<[u8; 32]>::from(Sha256::digest(&text)));
        texts.push(text);
    }
    {
        let last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((lp, lh, chain)) = last.as_ref() {
            if lp.as_slice() == paths && *lh == hashes {
                return Ok(Arc::clone(chain));
            }
        }
    }
    let chain = Arc::new(chain_of(paths, &texts)?);
    *LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
        Some((paths.to_vec(), hashes, Arc::clone(&chain)));
    Ok(chain)
}

/// Loads a chain without the cache of [`load_chain`] (benchmarks).
pub fn load_chain_uncached(paths: &[String]) -> Result<Chain, Error> {
    let texts = paths.iter().map(|p| read_filter(p)).collect::<Result<Vec<_>, _>>()?;
    chain_of(paths, &texts)
}

fn chain_of(paths: &[String], texts: &[Vec<u8>]) -> Result<Chain, Error> {
    let mut files = Vec::with_capacity(paths.len().max(1));
    if paths.is_empty() {
        files.push(parse_str(DEFAULT_TOML, DEFAULT_PATH, true)?);
    }
    for (i, (p, text)) in paths.iter().zip(texts).enumerate() {
        files.push(parse_text(text, p, i == 0)?);
    }
    Ok(Chain { files })
}

impl Chain {
    /// Identifies the chain's content (for the instrumentation cache key).
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        for f in &self.files {
            h.update(f.sha256.as_bytes());
            h.update([0]);
        }
        hex(&h.finalize())[..16].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str, first: bool) -> (String, u32, u32, String) {
        match parse_str(text, "f.toml", first) {
            Err(Error::FilterParse { line, column, message, .. }) => ("ERR_FILTER_PARSE".into(), line, column, message),
            Err(Error::FilterSchema { line, column, message, .. }) => {
                ("ERR_FILTER_SCHEMA".into(), line, column, message)
            }
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => panic!("accepted:\n{text}"),
        }
    }

    const META: &str = "[meta]\nname = \"t\"\nversion = 1\n";

    #[test]
    fn the_default_loads() {
        let f = parse_str(DEFAULT_TOML, DEFAULT_PATH, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.name, "noderec-default");
        assert_eq!(f.scope.rules.len(), 2);
        assert_eq!(f.scope.rules[0].value_patterns.len(), 21);
        // TypeScript loaders and compilers are skipped.
        assert!(f.scope.rules[1].value_patterns.is_empty());
    }

    #[test]
    fn full_schema() {
        let text = format!(
            "{META}description = \"d\"\ninherit = false\n[scope]\ndefault_exec = \"skip\"\ndefault_value_action = \"redact\"\n\
             [[scope.rules]]\nselector = \"pkg:express\"\nexec = \"skip\"\nreason = \"r\"\n\
             [[scope.rules]]\nselector = \"file:src/billing/**\"\nvalue_default = \"redact\"\n\
             [[scope.rules.value_patterns]]\nselector = \"arg:amount\"\naction = \"allow\"\nreason = \"x\"\n\
             [io]\ncapture = true\nstreams = [\"stdout\", \"stderr\"]\n"
        );
        let f = parse_str(&text, "f.toml", false).unwrap_or_else(|e| panic!("{e}"));
        assert!(!f.inherit);
        assert_eq!(f.scope.default_exec, Some(Exec::Skip));
        assert_eq!(f.scope.rules.len(), 2);
        assert_eq!(f.scope.rules[1].line, 14);
        assert_eq!(f.scope.rules[1].value_patterns[0].action, Action::Allow);
        assert_eq!(f.io.streams.as_deref(), Some(&["stdout".to_string(), "stderr".to_string()][..]));
        // Inline tables work too.
        let inline = format!("scope = {{ rules = [{{ selector = \"fn:x\", exec = \"skip\" }}] }}\n{META}");
        assert_eq!(parse_str(&inline, "f.toml", true).map(|f| f.scope.rules.len()).unwrap_or(0), 1);
    }

    #[test]
    fn every_error_has_its_place() {
        let cases: Vec<(String, bool, &str, u32, u32, &str)> = vec![
            ("[meta\nname = 1".into(), true, "ERR_FILTER_PARSE", 1, 6, ""),
            ("x = \"unterminated\n".into(), true, "ERR_FILTER_PARSE", 1, 18, ""),
            ("[other]\n".into(), true, "ERR_FILTER_SCHEMA", 1, 2, "unknown key `other` at the top level; accepted: meta, scope, io"),
            ("[scope]\n".into(), true, "ERR_FILTER_SCHEMA", 1, 1, "missing `[meta]`"),
            ("[meta]\nversion = 1\n".into(), true, "ERR_FILTER_SCHEMA", 1, 2, "requires `name`"),
            ("[meta]\nname = \"x\"\n".into(), true, "ERR_FILTER_SCHEMA", 1, 2, "requires `version`"),
            ("[meta]\nname = \"x\"\nversion = 0\n".into(), true, "ERR_FILTER_SCHEMA", 3, 11, "`meta.version` is 0; accepted: an integer >= 1"),
            ("[meta]\nname = \"x\"\nversion = \"1\"\n".into(), true, "ERR_FILTER_SCHEMA", 3, 11, "must be an integer >= 1, not a string"),
            ("[meta]\nname = 3\nversion = 1\n".into(), true, "ERR_FILTER_SCHEMA", 2, 8, "`meta.name` must be a string, not an integer"),
            ("[meta]\nname = \"x\"\nversion = 1\nautor = \"me\"\n".into(), true, "ERR_FILTER_SCHEMA", 4, 1, "unknown key `meta.autor` in `meta`; accepted: name, version, description, inherit"),
            (format!("{META}inherit = false\n"), true, "ERR_FILTER_SCHEMA", 4, 1, "only allowed after the first file"),
            (format!("{META}inherit = \"no\"\n"), false, "ERR_FILTER_SCHEMA", 4, 11, "must be a boolean"),
            (format!("{META}[scope]\ndefault_exec = \"run\"\n"), true, "ERR_FILTER_SCHEMA", 5, 16, "`scope.default_exec` is \"run\"; accepted: trace | skip"),
            (format!("{META}[scope]\ndefault_value_action = 1\n"), true, "ERR_FILTER_SCHEMA", 5, 24, "must be one of allow | redact | drop, not an integer"),
            (format!("{META}[scope]\nrules = 3\n"), true, "ERR_FILTER_SCHEMA", 5, 9, "must be an array of tables"),
            (format!("{META}[[scope.rules]]\nexec = \"skip\"\n"), true, "ERR_FILTER_SCHEMA", 4, 1, "requires `selector`"),
            (format!("{META}[[scope.rules]]\nselector = \"dir:x\"\nexec = \"skip\"\n"), true, "ERR_FILTER_SCHEMA", 5, 12, "unknown selector kind \"dir\""),
            (format!("{META}[[scope.rules]]\nselector = \"arg:x\"\nexec = \"skip\"\n"), true, "ERR_FILTER_SCHEMA", 5, 12, "accepted: pkg, file, fn"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:regex:(\"\nexec = \"skip\"\n"), true, "ERR_FILTER_SCHEMA", 5, 12, "invalid regex"),
            (format!("{META}[[scope.rules]]\nselector = \"file:[z-a]\"\nexec = \"skip\"\n"), true, "ERR_FILTER_SCHEMA", 5, 12, "invalid glob"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\nexec = \"skip\"\nexce = 1\n"), true, "ERR_FILTER_SCHEMA", 7, 1, "unknown key `scope.rules[0].exce`"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n"), true, "ERR_FILTER_SCHEMA", 5, 1, "does nothing"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n[[scope.rules.value_patterns]]\nselector = \"attr:x\"\n"), true, "ERR_FILTER_SCHEMA", 6, 1, "requires `action`"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n[[scope.rules.value_patterns]]\nselector = \"attr:x\"\naction = \"hide\"\n"), true, "ERR_FILTER_SCHEMA", 8, 10, "accepted: allow | redact | drop"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n[[scope.rules.value_patterns]]\nselector = \"pkg:x\"\naction = \"drop\"\n"), true, "ERR_FILTER_SCHEMA", 7, 12, "accepted: arg, ret, this, attr"),
            (format!("{META}[io]\nstreams = [\"stdout\", \"stdin\"]\n"), true, "ERR_FILTER_SCHEMA", 5, 22, "accepted: stdout, stderr"),
            (format!("{META}[io]\ncapture = \"yes\"\n"), true, "ERR_FILTER_SCHEMA", 5, 11, "`io.capture` must be a boolean"),
            (format!("{META}[secrets]\nstrings = [\"jwt\", \"ssn\"]\n"), true, "ERR_FILTER_SCHEMA", 5, 19, "`secrets.strings` has \"ssn\"; accepted: url-password,"),
            (format!("{META}[secrets]\npairs = 1\n"), true, "ERR_FILTER_SCHEMA", 5, 9, "`secrets.pairs` must be a boolean"),
            (format!("{META}[secrets]\nenv_allow = [1]\n"), true, "ERR_FILTER_SCHEMA", 5, 14, "`secrets.env_allow` items must be strings"),
            (format!("{META}[secrets]\nenv = true\n"), true, "ERR_FILTER_SCHEMA", 5, 1, "unknown key `secrets.env`"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n[[scope.rules.value_patterns]]\nselector = \"arg:x\"\naction = \"redact\"\ntypes = [\"string\", \"date\"]\n"), true, "ERR_FILTER_SCHEMA", 9, 20, "has \"date\"; accepted: undefined, null, boolean"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n[[scope.rules.value_patterns]]\nselector = \"arg:x\"\naction = \"redact\"\ntypes = []\n"), true, "ERR_FILTER_SCHEMA", 9, 9, "is empty"),
            (format!("{META}[[scope.rules]]\nselector = \"fn:x\"\n[[scope.rules.value_patterns]]\nselector = \"attr:x\"\naction = \"redact\"\ntypes = [\"string\"]\n"), true, "ERR_FILTER_SCHEMA", 9, 1, "not attr:"),
        ];
        for (text, first, code, line, col, msg) in cases {
            let (c, l, k, m) = err(&text, first);
            assert_eq!((c.as_str(), l, k), (code, line, col), "{text}\n→ {m}");
            assert!(m.contains(msg), "{m:?} should contain {msg:?}");
        }
    }

    #[test]
    fn secrets_merge_like_io() {
        let a = parse_str(
            &format!("{META}[secrets]\nstrings = [\"jwt\"]\npairs = true\nenv_allow = [\"PATH\"]\n"),
            "a",
            true,
        );
        let b = parse_str(&format!("{META}[secrets]\npairs = false\n"), "b", false);
        let chain = Chain { files: vec![a.unwrap_or_else(|e| panic!("{e}")), b.unwrap_or_else(|e| panic!("{e}"))] };
        let s = chain.secrets();
        assert_eq!(s.strings.as_deref(), Some(&["jwt".to_string()][..]));
        assert_eq!(s.pairs, Some(false));
        assert_eq!(s.env_allow.as_deref(), Some(&["PATH".to_string()][..]));
        let d = parse_str(DEFAULT_TOML, DEFAULT_PATH, true).unwrap_or_else(|e| panic!("{e}"));
        assert!(d.secrets.strings.is_some() && d.secrets.pairs == Some(true) && d.secrets.env_allow.is_some());
    }

    #[test]
    fn files_and_chains() {
        let dir = std::env::temp_dir().join(format!("noderec-loader-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let good = dir.join("good.toml");
        let _ = std::fs::write(&good, format!("{META}[[scope.rules]]\nselector = \"fn:x\"\nexec = \"skip\"\n"));
        let chain = load_chain(&[good.display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chain.files.len(), 1);
        assert_eq!(chain.hash().len(), 16);
        let missing = dir.join("missing.toml").display().to_string();
        let e = load_chain(&[missing]).err().map(|e| e.code());
        assert_eq!(e, Some("ERR_FILTER_PARSE"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
