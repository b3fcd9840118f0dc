//! TOML → model, with every error located (file, line, column) and naming
//! the key and what is accepted; and the composition of a chain.

use std::ops::Range;

use sha2::{Digest, Sha256};
use toml_edit::{ImDocument, Item, Table, Value};

use super::model::{Action, Chain, Exec, FilterFile, Io, Rule, Scope, ValuePattern};
use super::selector;
use crate::error::Error;

/// The built-in default filter (`filters/default.toml`), compiled in.
pub const DEFAULT_TOML: &str = include_str!("../../../../filters/default.toml");
/// The path reported for the compiled-in default when no file path is given.
pub const DEFAULT_PATH: &str = "<builtin>/filters/default.toml";

/// A TOML value with its location.
#[derive(Debug)]
enum Node {
    Str(String),
    Int(i64),
    Bool(bool),
    Other(&'static str),
    Arr(Vec<(Node, Option<Range<usize>>)>),
    Tab(Vec<Entry>),
}

#[derive(Debug)]
struct Entry {
    key: String,
    key_span: Option<Range<usize>>,
    value: Node,
    span: Option<Range<usize>>,
}

fn type_name(n: &Node) -> &'static str {
    match n {
        Node::Str(_) => "a string",
        Node::Int(_) => "an integer",
        Node::Bool(_) => "a boolean",
        Node::Other(t) => t,
        Node::Arr(_) => "an array",
        Node::Tab(_) => "a table",
    }
}

fn conv_value(v: &Value) -> Node {
    match v {
        Value::String(s) => Node::Str(s.value().clone()),
        Value::Integer(i) => Node::Int(*i.value()),
        Value::Boolean(b) => Node::Bool(*b.value()),
        Value::Float(_) => Node::Other("a float"),
        Value::Datetime(_) => Node::Other("a datetime"),
        Value::Array(a) => Node::Arr(a.iter().map(|x| (conv_value(x), x.span())).collect()),
        Value::InlineTable(t) => Node::Tab(
            t.iter()
                .map(|(k, x)| Entry {
                    key: k.to_string(),
                    key_span: t.key(k).and_then(|k| k.span()),
                    value: conv_value(x),
                    span: x.span(),
                })
                .collect(),
        ),
    }
}

fn conv_table(t: &Table) -> Node {
    Node::Tab(
        t.iter()
            .map(|(k, item)| Entry {
                key: k.to_string(),
                key_span: t.key(k).and_then(|k| k.span()),
                value: conv_item(item),
                span: item.span().or_else(|| t.key(k).and_then(|k| k.span())),
            })
            .collect(),
    )
}

fn conv_item(item: &Item) -> Node {
    match item {
        Item::None => Node::Other("nothing"),
        Item::Value(v) => conv_value(v),
        Item::Table(t) => conv_table(t),
        Item::ArrayOfTables(a) => Node::Arr(a.iter().map(|t| (conv_table(t), t.span())).collect()),
    }
}

/// Turns byte offsets into 1-based line and column (in characters).
struct Loc<'a> {
    path: &'a str,
    text: &'a str,
}

impl Loc<'_> {
    fn pos(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let mut line = 1u32;
        let mut start = 0usize;
        for (i, b) in self.text.bytes().enumerate() {
            if i >= offset {
                break;
            }
            if b == b'\n' {
                line += 1;
                start = i + 1;
            }
        }
        let col = self.text.get(start..offset).map_or(0, |s| s.chars().count()) as u32 + 1;
        (line, col)
    }

    fn schema(&self, span: &Option<Range<usize>>, message: String) -> Error {
        let (line, column) = span.as_ref().map_or((1, 1), |s| self.pos(s.start));
        Error::FilterSchema { path: self.path.to_string(), line, column, message }
    }
}

/// Reads the entries of a table, rejecting unknown keys.
fn entries<'n>(
    loc: &Loc<'_>,
    node: &'n Node,
    span: &Option<Range<usize>>,
    what: &str,
    accepted: &[&str],
) -> Result<&'n [Entry], Error> {
    let Node::Tab(es) = node else {
        return Err(loc.schema(span, format!("`{what}` must be a table, not {}", type_name(node))));
    };
    for e in es {
        if !accepted.contains(&e.key.as_str()) {
            let full = if what.is_empty() { e.key.clone() } else { format!("{what}.{}", e.key) };
            let place = if what.is_empty() { "at the top level".to_string() } else { format!("in `{what}`") };
            return Err(
                loc.schema(&e.key_span, format!("unknown key `{full}` {place}; accepted: {}", accepted.join(", ")))
            );
        }
    }
    Ok(es)
}

fn get<'n>(es: &'n [Entry], key: &str) -> Option<&'n Entry> {
    es.iter().find(|e| e.key == key)
}

fn string(loc: &Loc<'_>, e: &Entry, what: &str) -> Result<String, Error> {
    match &e.value {
        Node::Str(s) => Ok(s.clone()),
        other => Err(loc.schema(&e.span, format!("`{what}` must be a string, not {}", type_name(other)))),
    }
}

fn choice<T: Copy>(loc: &Loc<'_>, e: &Entry, what: &str, options: &[(&str, T)]) -> Result<T, Error> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    match &e.value {
        Node::Str(s) => options
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| loc.schema(&e.span, format!("`{what}` is {s:?}; accepted: {}", names.join(" | ")))),
        other => {
            Err(loc.schema(&e.span, format!("`{what}` must be one of {}, not {}", names.join(" | "), type_name(other))))
        }
    }
}

const EXEC: &[(&str, Exec)] = &[("trace", Exec::Trace), ("skip", Exec::Skip)];
const ACTION: &[(&str, Action)] = &[("allow", Action::Allow), ("redact", Action::Redact), ("drop", Action::Drop)];

/// Parses one filter file's text. `first` is true for the first file of a
/// chain (which may not use `inherit`).
pub fn parse_str(text: &str, path: &str, first: bool) -> Result<FilterFile, Error> {
    let loc = Loc { path, text };
    let doc = ImDocument::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| loc.pos(s.start));
        let message = e.message().trim().replace('\n', " ");
        Error::FilterParse { path: path.to_string(), line, column, message }
    })?;
    let root = conv_table(doc.as_table());
    let top = entries(&loc, &root, &None, "", &["meta", "scope", "io"])?;

    // [meta]
    let Some(meta) = get(top, "meta") else {
        return Err(loc.schema(&None, "missing `[meta]` table with `name` and `version`".into()));
    };
    let me = entries(&loc, &meta.value, &meta.key_span, "meta", &["name", "version", "description", "inherit"])?;
    let name = match get(me, "name") {
        Some(e) => {
            let s = string(&loc, e, "meta.name")?;
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
    let description = get(me, "description").map(|e| string(&loc, e, "meta.description")).transpose()?;
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
        let se = entries(&loc, &s.value, &s.key_span, "scope", &["default_exec", "default_value_action", "rules"])?;
        if let Some(e) = get(se, "default_exec") {
            scope.default_exec = Some(choice(&loc, e, "scope.default_exec", EXEC)?);
        }
        if let Some(e) = get(se, "default_value_action") {
            scope.default_value_action = Some(choice(&loc, e, "scope.default_value_action", ACTION)?);
        }
        if let Some(e) = get(se, "rules") {
            let Node::Arr(items) = &e.value else {
                return Err(loc.schema(
                    &e.span,
                    format!("`scope.rules` must be an array of tables ([[scope.rules]]), not {}", type_name(&e.value)),
                ));
            };
            for (i, (item, span)) in items.iter().enumerate() {
                scope.rules.push(rule(&loc, item, span, i)?);
            }
        }
    }

    // [io]
    let mut io = Io::default();
    if let Some(s) = get(top, "io") {
        let ie = entries(&loc, &s.value, &s.key_span, "io", &["capture", "streams"])?;
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
                    Node::Str(s) if s == "stdout" || s == "stderr" => streams.push(s.clone()),
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

    let sha256 = hex(&Sha256::digest(text.as_bytes()));
    Ok(FilterFile { path: path.to_string(), sha256, name, version, description, inherit, scope, io })
}

fn rule(loc: &Loc<'_>, node: &Node, span: &Option<Range<usize>>, index: usize) -> Result<Rule, Error> {
    let what = format!("scope.rules[{index}]");
    let es = entries(loc, node, span, &what, &["selector", "exec", "value_default", "reason", "value_patterns"])?;
    let Some(sel) = get(es, "selector") else {
        return Err(loc.schema(span, format!("`{what}` requires `selector` (kind pkg, file or fn)")));
    };
    let text = string(loc, sel, &format!("{what}.selector"))?;
    let selector =
        selector::parse(&text, true).map_err(|m| loc.schema(&sel.span, format!("`{what}.selector`: {m}")))?;
    let line = sel.span.as_ref().map_or(1, |s| loc.pos(s.start).0);
    let exec = get(es, "exec").map(|e| choice(loc, e, &format!("{what}.exec"), EXEC)).transpose()?;
    let value_default =
        get(es, "value_default").map(|e| choice(loc, e, &format!("{what}.value_default"), ACTION)).transpose()?;
    let reason = get(es, "reason").map(|e| string(loc, e, &format!("{what}.reason"))).transpose()?;
    let mut value_patterns = Vec::new();
    if let Some(e) = get(es, "value_patterns") {
        let Node::Arr(items) = &e.value else {
            return Err(loc.schema(
                &e.span,
                format!("`{what}.value_patterns` must be an array of tables, not {}", type_name(&e.value)),
            ));
        };
        for (j, (item, pspan)) in items.iter().enumerate() {
            let pw = format!("{what}.value_patterns[{j}]");
            let pe = entries(loc, item, pspan, &pw, &["selector", "action", "reason"])?;
            let Some(ps) = get(pe, "selector") else {
                return Err(loc.schema(pspan, format!("`{pw}` requires `selector` (kind arg, ret, this or attr)")));
            };
            let ptext = string(loc, ps, &format!("{pw}.selector"))?;
            let psel =
                selector::parse(&ptext, false).map_err(|m| loc.schema(&ps.span, format!("`{pw}.selector`: {m}")))?;
            let Some(pa) = get(pe, "action") else {
                return Err(loc.schema(pspan, format!("`{pw}` requires `action` (allow | redact | drop)")));
            };
            let action = choice(loc, pa, &format!("{pw}.action"), ACTION)?;
            let preason = get(pe, "reason").map(|e| string(loc, e, &format!("{pw}.reason"))).transpose()?;
            value_patterns.push(ValuePattern { selector: psel, action, reason: preason });
        }
    }
    if exec.is_none() && value_default.is_none() && value_patterns.is_empty() {
        return Err(loc
            .schema(&sel.key_span, format!("`{what}` does nothing: set `exec`, `value_default` or `value_patterns`")));
    }
    Ok(Rule { selector, exec, value_default, reason, value_patterns, line })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and parses one file.
pub fn load_file(path: &str, first: bool) -> Result<FilterFile, Error> {
    let text = std::fs::read(path).map_err(|e| Error::FilterParse {
        path: path.to_string(),
        line: 1,
        column: 1,
        message: format!("cannot read the filter file: {e}"),
    })?;
    let text = String::from_utf8(text).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let loc = Loc { path, text: std::str::from_utf8(&bytes[..valid]).unwrap_or("") };
        let (line, column) = loc.pos(valid);
        Error::FilterParse { path: path.to_string(), line, column, message: "the file is not valid UTF-8".into() }
    })?;
    parse_str(&text, path, first)
}

/// Loads a chain: each path in order. An empty path list gives the
/// compiled-in default alone.
pub fn load_chain(paths: &[String]) -> Result<Chain, Error> {
    let mut files = Vec::with_capacity(paths.len().max(1));
    if paths.is_empty() {
        files.push(parse_str(DEFAULT_TOML, DEFAULT_PATH, true)?);
    }
    for (i, p) in paths.iter().enumerate() {
        files.push(load_file(p, i == 0)?);
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
        assert_eq!(f.scope.rules[0].value_patterns.len(), 14);
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
        ];
        for (text, first, code, line, col, msg) in cases {
            let (c, l, k, m) = err(&text, first);
            assert_eq!((c.as_str(), l, k), (code, line, col), "{text}\n→ {m}");
            assert!(m.contains(msg), "{m:?} should contain {msg:?}");
        }
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
