//! JavaScript regular expressions (no flags, as `new RegExp(source)`; a
//! leading `(?i)`, an extension, is the `i` flag), for boolean matching:
//! the `regex:` selectors and the expressions picomatch's globs compile to.
//!
//! Nothing here parses or matches by hand. The source is parsed by
//! `oxc_regular_expression` (oxc's ECMAScript pattern parser, Annex B
//! included: what `new RegExp` accepts without the `u` flag), and the
//! syntax tree is printed back, in a form with no ambiguity left, for one
//! of two engines (the hybrid rolldown uses for its plugin filters):
//!
//! * **`regex-lite`** (linear time: a pattern cannot hang the recorder, whatever
//!   the input) for a pattern without lookarounds, backreferences, `\b`/`\B`
//!   or `(?i)` — the features whose JavaScript meaning the `regex-lite` crate does
//!   not have. The printer spells JavaScript's meaning out: `.` is "not a
//!   line terminator", `\d \w \s` are JavaScript's (ASCII digits and word
//!   characters, ECMAScript white space), every character is a `\x{…}`
//!   escape.
//! * **`regress`** (ECMAScript semantics, lookarounds and backreferences
//!   included; a backtracking matcher, so a pattern written to backtrack can
//!   take time exponential in the input, as in JavaScript itself) for the
//!   rest — notably the lookaheads of every glob with a wildcard. Inputs are
//!   paths and names, short strings.
//!
//! Characters are Unicode scalar values: JavaScript without the `u` flag
//! sees UTF-16 units, so only astral characters (and lone surrogates, which
//! a Rust string cannot hold) can differ.

use oxc_allocator::Allocator;
use oxc_regular_expression::ast::{
    Alternative, BoundaryAssertionKind, CharacterClass, CharacterClassContents, CharacterClassContentsKind,
    CharacterClassEscapeKind, Disjunction, LookAroundAssertionKind, Quantifier, Term,
};
use oxc_regular_expression::{LiteralParser, Options};
use std::fmt::Write;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    engine: Engine,
    /// The pattern is `^` + a literal + `$`: compare strings.
    exact: Option<String>,
    /// A literal every match starts with, when the pattern begins with `^`
    /// (globs under a folder: `^(?:src\/…`): most inputs are refused here.
    prefix: String,
}

#[derive(Debug, Clone)]
enum Engine {
    Linear(regex_lite::Regex),
    Ecma(Box<regress::Regex>),
    /// An `Ecma` program compiled at its first use (see [`Regex::new_deferred`]).
    Deferred(Box<Deferred>),
    Never,
}

/// The printed source of a program for `regress`, compiled once, by the
/// first match that gets past the prefix.
#[derive(Debug, Clone)]
struct Deferred {
    source: String,
    icase: bool,
    compiled: std::sync::OnceLock<Option<regress::Regex>>,
}

/// Deepest nesting of groups and classes accepted: the parsers recurse per
/// level, and a pattern of thousands of `(` must be an error, not a stack
/// overflow.
const MAX_NESTING: usize = 200;

/// Largest compiled program the linear engine may build (bytes); a larger
/// one (big counted repetitions) goes to the other engine.
const LINEAR_SIZE_LIMIT: usize = 1 << 20;

/// JavaScript's `\d` (ASCII digits), sorted ranges.
const JS_DIGIT: &[(u32, u32)] = &[(0x30, 0x39)];
/// JavaScript's `\w` (ASCII word characters), sorted ranges.
const JS_WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)];
/// ECMAScript white space and line terminators (`\s`), sorted ranges.
const JS_SPACE: &[(u32, u32)] = &[
    (0x9, 0xD),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
];

impl Regex {
    /// Compiles JavaScript regular-expression source.
    pub fn new(source: &str) -> Result<Regex, String> {
        Regex::build(source, false)
    }

    /// Like [`Regex::new`] (the source is parsed and checked now, with the
    /// same errors), but a program for the `regress` engine is compiled at
    /// the first match that passes the literal prefix, not here. For
    /// sources the recorder prints itself (the globs: a filter of 100,000
    /// `file:` globs under folders was mostly `regress` compiles of
    /// programs no path ever reached). Should `regress` refuse a source
    /// the parser accepted, the pattern matches nothing, as picomatch's
    /// invalid expressions do.
    pub fn new_deferred(source: &str) -> Result<Regex, String> {
        Regex::build(source, true)
    }

    fn build(source: &str, defer: bool) -> Result<Regex, String> {
        let (src, icase) = match source.strip_prefix("(?i)") {
            Some(rest) => (rest, true),
            None => (source, false),
        };
        check_nesting(src)?;
        let alloc = Allocator::default();
        let pattern = LiteralParser::new(&alloc, src, None, Options::default()).parse().map_err(|d| {
            let at = d.labels.first().map(|l| l.offset());
            match at {
                Some(at) => format!("{} at position {at}", d.message),
                None => d.message.to_string(),
            }
        })?;
        let mut need = Needs::default();
        scan_disjunction(&pattern.body, &mut need)?;
        let (prefix, exact) = if icase { (String::new(), None) } else { literal_parts(&pattern.body) };
        if let Some(e) = exact {
            return Ok(Regex { engine: Engine::Never, exact: Some(e), prefix: String::new() });
        }
        if !icase && !need.ecma {
            let mut out = String::with_capacity(src.len() * 4);
            if print_linear_disjunction(&pattern.body, &mut out).is_some() {
                if let Ok(r) = regex_lite::RegexBuilder::new(&out).size_limit(LINEAR_SIZE_LIMIT).build() {
                    return Ok(Regex { engine: Engine::Linear(r), exact: None, prefix });
                }
            }
        }
        let mut out = String::with_capacity(src.len() * 4);
        print_ecma_disjunction(&pattern.body, &mut out);
        if defer {
            let d = Deferred { source: out, icase, compiled: std::sync::OnceLock::new() };
            return Ok(Regex { engine: Engine::Deferred(Box::new(d)), exact: None, prefix });
        }
        let r = ecma(&out, icase).map_err(|e| e.to_string())?;
        Ok(Regex { engine: Engine::Ecma(Box::new(r)), exact: None, prefix })
    }

    /// A pattern that never matches (what picomatch uses for an invalid regex).
    pub fn never() -> Regex {
        Regex { engine: Engine::Never, exact: None, prefix: String::new() }
    }

    /// `RegExp.prototype.test`: whether the pattern matches anywhere in `s`.
    pub fn is_match(&self, s: &str) -> bool {
        if let Some(e) = &self.exact {
            return s == e;
        }
        if !s.starts_with(self.prefix.as_str()) {
            return false;
        }
        match &self.engine {
            Engine::Linear(r) => r.is_match(s),
            Engine::Ecma(r) => r.find(s).is_some(),
            Engine::Deferred(d) => {
                d.compiled.get_or_init(|| ecma(&d.source, d.icase).ok()).as_ref().is_some_and(|r| r.find(s).is_some())
            }
            Engine::Never => false,
        }
    }

    /// Whether a deferred program has been compiled (tests).
    #[cfg(test)]
    fn compiled(&self) -> bool {
        match &self.engine {
            Engine::Deferred(d) => d.compiled.get().is_some(),
            _ => true,
        }
    }

    /// Whether matching is linear in the input: a whole-literal comparison
    /// or the `regex-lite` engine (for tests and docs).
    pub fn is_linear(&self) -> bool {
        self.exact.is_some() || matches!(self.engine, Engine::Linear(_))
    }
}

fn ecma(source: &str, icase: bool) -> Result<regress::Regex, regress::Error> {
    regress::Regex::with_flags(source, regress::Flags { icase, ..regress::Flags::default() })
}

/// The literal a match must start with (after a leading `^`, through groups
/// of one alternative), and the whole literal when the pattern is nothing
/// but `^literal$`.
fn literal_parts(d: &Disjunction) -> (String, Option<String>) {
    fn flatten<'b, 'a>(a: &'b Alternative<'a>, out: &mut Vec<&'b Term<'a>>) {
        for t in &a.body {
            match t {
                Term::IgnoreGroup(g) if g.modifiers.is_none() && g.body.body.len() == 1 => {
                    flatten(&g.body.body[0], out)
                }
                Term::CapturingGroup(g) if g.body.body.len() == 1 => flatten(&g.body.body[0], out),
                _ => out.push(t),
            }
        }
    }
    let mut prefix = String::new();
    let [alt] = d.body.as_slice() else { return (prefix, None) };
    let mut terms = Vec::new();
    flatten(alt, &mut terms);
    if !matches!(terms.first(), Some(Term::BoundaryAssertion(b)) if b.kind == BoundaryAssertionKind::Start) {
        return (prefix, None);
    }
    let mut k = 1;
    while let Some(Term::Character(c)) = terms.get(k) {
        match char::from_u32(c.value) {
            Some(ch) => prefix.push(ch),
            None => break,
        }
        k += 1;
    }
    let whole = k + 1 == terms.len()
        && matches!(terms.get(k), Some(Term::BoundaryAssertion(b)) if b.kind == BoundaryAssertionKind::End);
    let exact = whole.then(|| prefix.clone());
    (prefix, exact)
}

/// Refuses a source nested deeper than [`MAX_NESTING`] before any parser
/// recurses into it.
fn check_nesting(src: &str) -> Result<(), String> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in src.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!("groups nested too deeply (more than {MAX_NESTING}) at position {i}"));
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// What a pattern needs of the engines.
#[derive(Default)]
struct Needs {
    /// A feature only `regress` has (or means as JavaScript does).
    ecma: bool,
}

fn scan_disjunction(d: &Disjunction, need: &mut Needs) -> Result<(), String> {
    for a in &d.body {
        scan_alternative(a, need)?;
    }
    Ok(())
}

fn scan_alternative(a: &Alternative, need: &mut Needs) -> Result<(), String> {
    for t in &a.body {
        scan_term(t, need)?;
    }
    Ok(())
}

fn scan_term(t: &Term, need: &mut Needs) -> Result<(), String> {
    match t {
        Term::BoundaryAssertion(b) => {
            if matches!(b.kind, BoundaryAssertionKind::Boundary | BoundaryAssertionKind::NegativeBoundary) {
                need.ecma = true;
            }
        }
        Term::LookAroundAssertion(l) => {
            need.ecma = true;
            scan_disjunction(&l.body, need)?;
        }
        Term::Quantifier(q) => scan_term(&q.body, need)?,
        Term::CapturingGroup(g) => scan_disjunction(&g.body, need)?,
        Term::IgnoreGroup(g) => {
            if let Some(m) = &g.modifiers {
                // `(?i:…)` and kin: not in Node 20 or 22 (a SyntaxError there).
                return Err(format!("modifier groups are not supported at position {}", m.span.start));
            }
            scan_disjunction(&g.body, need)?;
        }
        Term::IndexedReference(_) | Term::NamedReference(_) => need.ecma = true,
        Term::Character(c) => need.ecma |= char::from_u32(c.value).is_none(),
        Term::CharacterClass(c) => scan_class(c, need),
        Term::Dot(_) | Term::CharacterClassEscape(_) => {}
        Term::UnicodePropertyEscape(p) => {
            // Only the `u` flag gives `\p{…}` a meaning, and there is none.
            return Err(format!("unicode property escapes need the u flag at position {}", p.span.start));
        }
    }
    Ok(())
}

fn scan_class(c: &CharacterClass, need: &mut Needs) {
    for item in &c.body {
        let lone_surrogate = match item {
            CharacterClassContents::Character(ch) => char::from_u32(ch.value).is_none(),
            CharacterClassContents::CharacterClassRange(r) => {
                char::from_u32(r.min.value).is_none() || char::from_u32(r.max.value).is_none()
            }
            CharacterClassContents::NestedCharacterClass(n) => {
                scan_class(n, need);
                false
            }
            _ => false,
        };
        if lone_surrogate {
            need.ecma = true;
        }
    }
}

// ---- printing for `regex-lite` (linear) ---------------------------------------
// `None`: the pattern has something this printer does not spell (the caller
// then uses `regress`).

fn print_linear_disjunction(d: &Disjunction, out: &mut String) -> Option<()> {
    for (i, a) in d.body.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        for t in &a.body {
            print_linear_term(t, out)?;
        }
    }
    Some(())
}

fn print_linear_term(t: &Term, out: &mut String) -> Option<()> {
    match t {
        Term::BoundaryAssertion(b) => match b.kind {
            // Without the `m` flag: the start and end of the input only.
            BoundaryAssertionKind::Start => out.push_str(r"\A"),
            BoundaryAssertionKind::End => out.push_str(r"\z"),
            _ => return None,
        },
        Term::Quantifier(q) => {
            out.push_str("(?:");
            print_linear_term(&q.body, out)?;
            out.push(')');
            quantifier(q, out);
        }
        Term::Character(c) => push_linear_char(c.value, out)?,
        Term::Dot(_) => out.push_str(r"[^\x{A}\x{D}\x{2028}\x{2029}]"),
        Term::CharacterClassEscape(e) => {
            out.push('[');
            push_linear_escape(e.kind, out);
            out.push(']');
        }
        Term::CharacterClass(c) => print_linear_class(c, out)?,
        Term::CapturingGroup(g) => {
            out.push_str("(?:");
            print_linear_disjunction(&g.body, out)?;
            out.push(')');
        }
        Term::IgnoreGroup(g) => {
            if g.modifiers.is_some() {
                return None;
            }
            out.push_str("(?:");
            print_linear_disjunction(&g.body, out)?;
            out.push(')');
        }
        _ => return None,
    }
    Some(())
}

fn push_linear_char(v: u32, out: &mut String) -> Option<()> {
    char::from_u32(v)?;
    let _ = write!(out, r"\x{{{v:X}}}");
    Some(())
}

/// `\d \w \s` and their negations as the items of a `regex-lite` class (a
/// negation as its complement's ranges: `regex-lite` has no nested classes).
fn push_linear_escape(kind: CharacterClassEscapeKind, out: &mut String) {
    let (neg, ranges) = match kind {
        CharacterClassEscapeKind::D => (false, JS_DIGIT),
        CharacterClassEscapeKind::NegativeD => (true, JS_DIGIT),
        CharacterClassEscapeKind::W => (false, JS_WORD),
        CharacterClassEscapeKind::NegativeW => (true, JS_WORD),
        CharacterClassEscapeKind::S => (false, JS_SPACE),
        CharacterClassEscapeKind::NegativeS => (true, JS_SPACE),
    };
    let mut push = |a: u32, b: u32| {
        let _ = write!(out, r"\x{{{a:X}}}-\x{{{b:X}}}");
    };
    if neg {
        // Scalar values only: the surrogate block is never in a string.
        let mut holes: Vec<(u32, u32)> = ranges.to_vec();
        holes.push((0xD800, 0xDFFF));
        holes.sort_unstable();
        let mut next = 0u32;
        for &(a, b) in &holes {
            if a > next {
                push(next, a - 1);
            }
            next = b + 1;
        }
        push(next, 0x10FFFF);
    } else {
        for &(a, b) in ranges {
            push(a, b);
        }
    }
}

fn print_linear_class(c: &CharacterClass, out: &mut String) -> Option<()> {
    if c.kind != CharacterClassContentsKind::Union {
        return None;
    }
    if c.body.is_empty() {
        // `[]` matches nothing, `[^]` any character.
        out.push_str(if c.negative { r"[\x{0}-\x{10FFFF}]" } else { r"[^\x{0}-\x{10FFFF}]" });
        return Some(());
    }
    out.push('[');
    if c.negative {
        out.push('^');
    }
    for item in &c.body {
        match item {
            CharacterClassContents::Character(ch) => push_linear_char(ch.value, out)?,
            CharacterClassContents::CharacterClassRange(r) => {
                push_linear_char(r.min.value, out)?;
                out.push('-');
                push_linear_char(r.max.value, out)?;
            }
            CharacterClassContents::CharacterClassEscape(e) => push_linear_escape(e.kind, out),
            _ => return None,
        }
    }
    out.push(']');
    Some(())
}

fn quantifier(q: &Quantifier, out: &mut String) {
    match (q.min, q.max) {
        (0, None) => out.push('*'),
        (1, None) => out.push('+'),
        (0, Some(1)) => out.push('?'),
        (n, None) => {
            let _ = write!(out, "{{{n},}}");
        }
        (n, Some(m)) if n == m => {
            let _ = write!(out, "{{{n}}}");
        }
        (n, Some(m)) => {
            let _ = write!(out, "{{{n},{m}}}");
        }
    }
    if !q.greedy {
        out.push('?');
    }
}

// ---- printing for `regress` (ECMAScript) ----------------------------------
// The same pattern in strict ECMAScript syntax: what Annex B reads loosely
// (`a{`, `]`, `\8`, octal escapes, identity escapes) is written as the
// character it means, as a `\uXXXX` escape.

fn print_ecma_disjunction(d: &Disjunction, out: &mut String) {
    for (i, a) in d.body.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        for t in &a.body {
            print_ecma_term(t, out);
        }
    }
}

fn print_ecma_term(t: &Term, out: &mut String) {
    match t {
        Term::BoundaryAssertion(b) => out.push_str(match b.kind {
            BoundaryAssertionKind::Start => "^",
            BoundaryAssertionKind::End => "$",
            BoundaryAssertionKind::Boundary => r"\b",
            BoundaryAssertionKind::NegativeBoundary => r"\B",
        }),
        Term::LookAroundAssertion(l) => {
            out.push_str(match l.kind {
                LookAroundAssertionKind::Lookahead => "(?=",
                LookAroundAssertionKind::NegativeLookahead => "(?!",
                LookAroundAssertionKind::Lookbehind => "(?<=",
                LookAroundAssertionKind::NegativeLookbehind => "(?<!",
            });
            print_ecma_disjunction(&l.body, out);
            out.push(')');
        }
        Term::Quantifier(q) => {
            // A group around the atom changes nothing (captures inside keep
            // their numbers) and keeps the quantifier on the whole atom.
            out.push_str("(?:");
            print_ecma_term(&q.body, out);
            out.push(')');
            quantifier(q, out);
        }
        Term::Character(c) => push_ecma_char(c.value, out),
        Term::Dot(_) => out.push('.'),
        Term::CharacterClassEscape(e) => out.push_str(ecma_escape(e.kind)),
        Term::UnicodePropertyEscape(_) => {} // refused by the scan
        Term::CharacterClass(c) => print_ecma_class(c, out),
        Term::CapturingGroup(g) => {
            out.push('(');
            if let Some(name) = &g.name {
                out.push_str("?<");
                out.push_str(name.as_str());
                out.push('>');
            }
            print_ecma_disjunction(&g.body, out);
            out.push(')');
        }
        Term::IgnoreGroup(g) => {
            out.push_str("(?:");
            print_ecma_disjunction(&g.body, out);
            out.push(')');
        }
        Term::IndexedReference(r) => {
            let _ = write!(out, r"\{}", r.index);
        }
        Term::NamedReference(r) => {
            out.push_str(r"\k<");
            out.push_str(r.name.as_str());
            out.push('>');
        }
    }
}

fn push_ecma_char(v: u32, out: &mut String) {
    if v <= 0xFFFF {
        let _ = write!(out, r"\u{v:04X}");
    } else if let Some(c) = char::from_u32(v) {
        // Astral: the character itself (never a syntax character).
        out.push(c);
    }
}

fn ecma_escape(kind: CharacterClassEscapeKind) -> &'static str {
    match kind {
        CharacterClassEscapeKind::D => r"\d",
        CharacterClassEscapeKind::NegativeD => r"\D",
        CharacterClassEscapeKind::W => r"\w",
        CharacterClassEscapeKind::NegativeW => r"\W",
        CharacterClassEscapeKind::S => r"\s",
        CharacterClassEscapeKind::NegativeS => r"\S",
    }
}

fn print_ecma_class(c: &CharacterClass, out: &mut String) {
    out.push('[');
    if c.negative {
        out.push('^');
    }
    for item in &c.body {
        match item {
            CharacterClassContents::Character(ch) => push_ecma_char(ch.value, out),
            CharacterClassContents::CharacterClassRange(r) => {
                push_ecma_char(r.min.value, out);
                out.push('-');
                push_ecma_char(r.max.value, out);
            }
            CharacterClassContents::CharacterClassEscape(e) => out.push_str(ecma_escape(e.kind)),
            // Only in `v` mode (`[a&&b]`, nested classes, `\q{…}`): not without flags.
            _ => {}
        }
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(re: &str, s: &str) -> bool {
        Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}")).is_match(s)
    }

    #[test]
    fn a_deferred_program_is_compiled_by_the_first_match_past_its_prefix_and_matches_the_same() {
        // What `src/m1/**/*.js` compiles to: lookaheads, so `regress`.
        let src = r"^(?:src\/m1(?:\/(?!\.)(?:(?:(?!(?:^|\/)\.).)*?)\/|\/|$)(?!\.)(?=.)[^/]*?\.js)$";
        let eager = Regex::new(src).unwrap_or_else(|e| panic!("{e}"));
        let lazy = Regex::new_deferred(src).unwrap_or_else(|e| panic!("{e}"));
        assert!(!lazy.compiled());
        assert!(!lazy.is_match("lib/a.js"));
        assert!(!lazy.compiled(), "an input refused by the prefix compiles nothing");
        for s in ["src/m1/a.js", "src/m1/x/y/b.js", "src/m1/.hidden.js", "src/m1/a.ts", "src/m10/a.js"] {
            assert_eq!(lazy.is_match(s), eager.is_match(s), "{s}");
        }
        assert!(lazy.compiled());
        assert!(eager.is_match("src/m1/x/y/b.js") && !eager.is_match("src/m1/.hidden.js"));
        // The source is still checked when it is made.
        assert!(Regex::new_deferred("(?<=a").is_err());
    }

    #[test]
    fn basics() {
        assert!(m("abc", "xxabcxx"));
        assert!(!m("^abc$", "xabc"));
        assert!(m("^a.c$", "abc"));
        assert!(!m("^a.c$", "a\nc"));
        assert!(m("^(?:a|bc)+$", "abcbca"));
        assert!(m("^a{2,3}$", "aaa"));
        assert!(!m("^a{2,3}$", "aaaa"));
        assert!(m("^a{2,}$", "aaaaa"));
        assert!(m("a{", "a{"));
        assert!(m("^[a-c]+$", "abcab"));
        assert!(m("^[^/]*?$", "abc"));
        assert!(!m("^[^/]*?$", "a/c"));
        assert!(m("^\\d+\\w\\s$", "12a "));
        assert!(m("\\bfoo\\b", "a foo b"));
        assert!(!m("\\bfoo\\b", "afoob"));
        assert!(m("^(?:(?!\\.)(?=.)[^/]*?\\.js)$", "a.js"));
        assert!(!m("^(?:(?!\\.)(?=.)[^/]*?\\.js)$", ".a.js"));
        assert!(m("^(?:(?:(?!(?:^|\\/)\\.).)*?)$", "a/b/c"));
        assert!(!m("^(?:(?:(?!(?:^|\\/)\\.).)*?)$", "a/.b/c"));
        assert!(m("(?i)^PassWord$", "password"));
        assert!(m("(?i)^[a-z]+$", "ABC"));
        assert!(!m("[]]", "]"));
        assert!(m("^[\\]a]$", "]"));
        assert!(m("^[\\-]$", "-"));
        assert!(m("^\\x41\\u0042$", "AB"));
        assert!(m("^$", ""));
        assert!(m("(a*)*b", "aaab"));
        assert!(m("^(?<year>\\d{4})-(?<_m>\\d\\d)$", "2024-05"));
    }

    #[test]
    fn javascript_meanings_on_the_linear_engine() {
        // `\d` and `\w` are ASCII in JavaScript, `\s` is ECMAScript white space,
        // `.` stops at every line terminator, `$` is the end of the input only.
        for (re, s, want) in [
            ("^\\d$", "٣", false),
            ("^\\w$", "é", false),
            ("^\\s$", "\u{FEFF}", true),
            ("^\\s$", "\u{85}", false),
            ("^.$", "\u{2028}", false),
            ("^.$", "é", true),
            ("a$", "a\n", false),
            ("^[^]$", "\n", true),
            ("[]", "", false),
            ("^[\\D]$", "x", true),
            ("^\\8$", "8", true),
            ("^\\0$", "\0", true),
            ("^\\cJ$", "\n", true),
        ] {
            let r = Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}"));
            assert!(r.is_linear(), "{re} should take the linear engine");
            assert_eq!(r.is_match(s), want, "{re} on {s:?}");
        }
        // The engine each pattern takes.
        for (re, linear) in
            [("^(?:a|b)*c$", true), ("a(?=b)", false), ("\\bx", false), ("(a)\\1", false), ("(?i)x", false)]
        {
            assert_eq!(Regex::new(re).map(|r| r.is_linear()), Ok(linear), "{re}");
        }
    }

    #[test]
    fn lookbehinds_and_backreferences_mean_what_they_mean_in_javascript() {
        assert!(m("(?<=a)b", "ab"));
        assert!(!m("(?<=a)b", "cb"));
        assert!(m("(?<!a)b", "cb"));
        assert!(m("^(a|b)\\1$", "aa"));
        assert!(!m("^(a|b)\\1$", "ab"));
        assert!(m("^(?<q>['\"]).*\\k<q>$", "'x'"));
        // A backreference before its group matches the empty string.
        assert!(m("^\\1(a)$", "a"));
    }

    #[test]
    fn literal_prefixes_and_whole_literals() {
        assert!(m("^(?:src\\/lib\\.js)$", "src/lib.js"));
        assert!(!m("^(?:src\\/lib\\.js)$", "src/lib.jsx"));
        assert!(m("^(?:src\\/(?!\\.)[^/]*?\\.js)$", "src/a.js"));
        assert!(!m("^(?:src\\/(?!\\.)[^/]*?\\.js)$", "lib/a.js"));
        assert!(m("^ab|^cd", "cd"));
        assert!(m("(?i)^AB$", "ab"));
    }

    #[test]
    fn errors() {
        for bad in
            ["(", "a)", "*a", "a**", "[a", "[z-a]", "a{3,2}", "\\", "(?<3>a)", "(?<a>x)(?<a>y)", "(?<>a)", "(?i:a)"]
        {
            assert!(Regex::new(bad).is_err(), "{bad} should be an error");
        }
        let deep = "(".repeat(5000) + &")".repeat(5000);
        assert!(Regex::new(&deep).is_err_and(|e| e.contains("nested too deeply")));
        let e = Regex::new("ab(").err().unwrap_or_default();
        assert!(e.contains("position"), "{e}");
    }
}
