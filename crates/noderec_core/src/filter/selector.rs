//! Selectors: `kind:[glob:|regex:|literal:]pattern`. The kind ends at the
//! first colon; the pattern may contain colons. Without a matcher prefix the
//! pattern is a glob (picomatch semantics).

use super::glob::Glob;
use super::jsregex::Regex;

/// What a selector is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The npm package owning the file (nearest package.json with a name).
    Pkg,
    /// The file path relative to the project root, `/`-separated.
    File,
    /// The qualified function name.
    Fn,
    /// A parameter name.
    Arg,
    /// The qualified name of the function whose return value it is.
    Ret,
    /// The qualified name of the function whose `this` it is.
    This,
    /// An object key (or Map string key) at any depth inside a value.
    Attr,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pkg => "pkg",
            Kind::File => "file",
            Kind::Fn => "fn",
            Kind::Arg => "arg",
            Kind::Ret => "ret",
            Kind::This => "this",
            Kind::Attr => "attr",
        }
    }
    /// Whether the kind belongs in `scope.rules` (else in `value_patterns`).
    pub fn is_scope(self) -> bool {
        matches!(self, Kind::Pkg | Kind::File | Kind::Fn)
    }
}

/// How the pattern is matched.
#[derive(Debug, Clone)]
pub enum Matcher {
    Glob(Box<Glob>),
    Regex(Box<Regex>),
    Literal(String),
}

impl Matcher {
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Matcher::Glob(g) => g.is_match(s),
            Matcher::Regex(r) => r.is_match(s),
            Matcher::Literal(l) => l == s,
        }
    }
}

/// A parsed selector.
#[derive(Debug, Clone)]
pub struct Selector {
    pub kind: Kind,
    pub matcher: Matcher,
    /// The selector as written.
    pub text: String,
}

impl Selector {
    pub fn is_match(&self, s: &str) -> bool {
        self.matcher.is_match(s)
    }
}

/// Parses a selector. `scope` chooses the accepted kinds (pkg, file, fn for
/// rules; arg, ret, this, attr for value patterns). The error is a message
/// that says what is accepted.
pub fn parse(text: &str, scope: bool) -> Result<Selector, String> {
    let accepted = if scope { "pkg, file, fn" } else { "arg, ret, this, attr" };
    let Some((kind, rest)) = text.split_once(':') else {
        return Err(format!("selector {text:?} has no kind: write `kind:pattern` with kind one of {accepted}"));
    };
    let k = match kind {
        "pkg" => Kind::Pkg,
        "file" => Kind::File,
        "fn" => Kind::Fn,
        "arg" => Kind::Arg,
        "ret" => Kind::Ret,
        "this" => Kind::This,
        "attr" => Kind::Attr,
        other => return Err(format!("unknown selector kind {other:?} in {text:?}; accepted: {accepted}")),
    };
    if k.is_scope() != scope {
        let place = if scope { "a rule's selector" } else { "a value pattern's selector" };
        return Err(format!("selector kind {kind:?} cannot be used in {place}; accepted: {accepted}"));
    }
    let (how, pattern) = if let Some(p) = rest.strip_prefix("glob:") {
        ("glob", p)
    } else if let Some(p) = rest.strip_prefix("regex:") {
        ("regex", p)
    } else if let Some(p) = rest.strip_prefix("literal:") {
        ("literal", p)
    } else {
        ("glob", rest)
    };
    if pattern.is_empty() {
        return Err(format!("selector {text:?} has an empty pattern"));
    }
    let matcher = match how {
        "glob" => Matcher::Glob(Box::new(
            Glob::new(pattern).map_err(|e| format!("invalid glob {pattern:?} in {text:?}: {e}"))?,
        )),
        "regex" => Matcher::Regex(Box::new(
            Regex::new(pattern).map_err(|e| format!("invalid regex {pattern:?} in {text:?}: {e}"))?,
        )),
        _ => Matcher::Literal(pattern.to_string()),
    };
    Ok(Selector { kind: k, matcher, text: text.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_and_matchers() {
        let s = parse("pkg:@scope/*", true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.kind, Kind::Pkg);
        assert!(s.is_match("@scope/name"));
        let s = parse("file:regex:^src/.*\\.js$", true).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(s.matcher, Matcher::Regex(_)));
        assert!(s.is_match("src/a/b.js"));
        let s = parse("fn:literal:a:b*", true).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.is_match("a:b*"));
        assert!(!s.is_match("a:bc"));
        // The pattern may contain colons; no prefix means glob.
        let s = parse("file:c:/x/*", true).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.is_match("c:/x/y"));
        let s = parse("attr:regex:(?i)^pass", false).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.is_match("PASSWORD"));
    }

    #[test]
    fn rejects_bad_selectors() {
        let e = |t: &str, scope| parse(t, scope).err().unwrap_or_default();
        assert!(e("nokind", true).contains("has no kind"));
        assert!(e("dir:src", true).contains("unknown selector kind \"dir\""));
        assert!(e("arg:x", true).contains("cannot be used in a rule's selector"));
        assert!(e("fn:x", false).contains("accepted: arg, ret, this, attr"));
        assert!(e("fn:", true).contains("empty pattern"));
        assert!(e("fn:regex:(", true).contains("invalid regex"));
    }
}
