//! Globs with picomatch's semantics: a line-by-line port of picomatch 4's
//! `parse.js` (default options, POSIX paths) to the regular expression it
//! builds, matched by [`super::jsregex`], which implements JavaScript's
//! regular expressions. `test/unit/filter-glob.test.ts` checks this port
//! against picomatch itself on thousands of (pattern, path) pairs.

use super::jsregex::Regex;

const DOT_LITERAL: &str = "\\.";
const PLUS_LITERAL: &str = "\\+";
const SLASH_LITERAL: &str = "\\/";
const ONE_CHAR: &str = "(?=.)";
const QMARK: &str = "[^/]";
const END_ANCHOR: &str = "(?:\\/|$)";
const START_ANCHOR: &str = "(?:^|\\/)";
const NO_DOT: &str = "(?!\\.)";
const QMARK_NO_DOT: &str = "[^.\\/]";
const STAR: &str = "[^/]*?";
const MAX_LENGTH: usize = 65536;

fn no_dot_slash() -> String {
    format!("(?!{DOT_LITERAL}{{0,1}}{END_ANCHOR})")
}
fn globstar() -> String {
    format!("(?:(?:(?!{START_ANCHOR}{DOT_LITERAL}).)*?)")
}

fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "alnum" => "a-zA-Z0-9",
        "alpha" => "a-zA-Z",
        "ascii" => "\\x00-\\x7F",
        "blank" => " \\t",
        "cntrl" => "\\x00-\\x1F\\x7F",
        "digit" => "0-9",
        "graph" => "\\x21-\\x7E",
        "lower" => "a-z",
        "print" => "\\x20-\\x7E ",
        "punct" => "\\-!\"#$%&'()\\*+,./:;<=>?@[\\]^_`{|}~",
        "space" => " \\t\\r\\n\\v\\f",
        "upper" => "A-Z",
        "word" => "A-Za-z0-9_",
        "xdigit" => "A-Fa-f0-9",
        _ => return None,
    })
}

fn replacement(input: &str) -> &str {
    match input {
        "***" => "*",
        "**/**" | "**/**/**" => "**",
        other => other,
    }
}

fn is_regex_special(c: char) -> bool {
    matches!(c, '-' | '*' | '+' | '?' | '.' | '^' | '$' | '{' | '}' | '(' | '|' | ')' | '[' | ']')
}

fn has_regex_chars(s: &str) -> bool {
    s.chars().any(is_regex_special)
}

fn escape_regex(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if is_regex_special(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn clen(s: &str) -> usize {
    s.chars().count()
}

/// JavaScript `s.slice(0, -n)` (with `-0` meaning `0`).
fn slice_neg(s: &str, n: usize) -> String {
    if n == 0 {
        return String::new();
    }
    let l = clen(s);
    s.chars().take(l.saturating_sub(n)).collect()
}

fn slice_to(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// `utils.escapeLast`.
fn escape_last(input: &str, ch: char, last: Option<usize>) -> String {
    let chars: Vec<char> = input.chars().collect();
    let end = last.unwrap_or(chars.len().saturating_sub(1)).min(chars.len().saturating_sub(1));
    if chars.is_empty() {
        return input.to_string();
    }
    let mut idx = None;
    let mut i = end as isize;
    while i >= 0 {
        if chars[i as usize] == ch {
            idx = Some(i as usize);
            break;
        }
        i -= 1;
    }
    let Some(idx) = idx else { return input.to_string() };
    if idx > 0 && chars[idx - 1] == '\\' {
        if idx == 0 {
            return input.to_string();
        }
        return escape_last(input, ch, Some(idx - 1));
    }
    let mut o: String = chars[..idx].iter().collect();
    o.push('\\');
    o.extend(&chars[idx..]);
    o
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Bos,
    Text,
    Paren,
    Bracket,
    Brace,
    Comma,
    Slash,
    Dot,
    Dots,
    Qmark,
    Plus,
    At,
    Star,
    Globstar,
    Negate,
    MaybeSlash,
}

#[derive(Debug, Clone)]
struct Tok {
    ty: T,
    value: String,
    output: Option<String>,
    prev: usize,
    extglob: bool,
    star: bool,
    posix: bool,
    // braces
    comma: bool,
    dots: bool,
    output_index: usize,
    tokens_index: usize,
}

impl Tok {
    fn new(ty: T, value: impl Into<String>, output: Option<String>) -> Tok {
        Tok {
            ty,
            value: value.into(),
            output,
            prev: 0,
            extglob: false,
            star: false,
            posix: false,
            comma: false,
            dots: false,
            output_index: 0,
            tokens_index: 0,
        }
    }
    fn out(&self) -> &str {
        self.output.as_deref().unwrap_or(&self.value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtKind {
    Negate,
    Qmark,
    Plus,
    Star,
}

struct Extglob {
    kind: ExtKind,
    close: String,
    prev: usize,
    parens: i32,
    output: String,
    start_index: isize,
    tokens_index: usize,
    inner: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stack {
    Parens,
    Brackets,
    Braces,
}

struct State {
    input: Vec<char>,
    index: isize,
    start: isize,
    output: String,
    backtrack: bool,
    negated: bool,
    brackets: i32,
    braces: i32,
    parens: i32,
    quotes: i32,
}

/// The result of parsing: the regex body and whether the glob was negated.
pub(crate) struct Parsed {
    pub output: String,
    pub negated: bool,
}

// ---- helpers of the repeated-extglob analysis ------------------------------

fn split_top_level(input: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut bracket, mut paren, mut quote) = (0, 0, 0);
    let mut value = String::new();
    let mut escaped = false;
    for ch in input.chars() {
        if escaped {
            value.push(ch);
            escaped = false;
            continue;
        }
        if ch == '\\' {
            value.push(ch);
            escaped = true;
            continue;
        }
        if ch == '"' {
            quote = if quote == 1 { 0 } else { 1 };
            value.push(ch);
            continue;
        }
        if quote == 0 {
            if ch == '[' {
                bracket += 1;
            } else if ch == ']' && bracket > 0 {
                bracket -= 1;
            } else if bracket == 0 {
                if ch == '(' {
                    paren += 1;
                } else if ch == ')' && paren > 0 {
                    paren -= 1;
                } else if ch == '|' && paren == 0 {
                    parts.push(std::mem::take(&mut value));
                    continue;
                }
            }
        }
        value.push(ch);
    }
    parts.push(value);
    parts
}

fn is_plain_branch(branch: &str) -> bool {
    let mut escaped = false;
    for ch in branch.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        if ch == '\\' {
            escaped = true;
            continue;
        }
        if matches!(ch, '?' | '*' | '+' | '@' | '!' | '(' | ')' | '[' | ']' | '{' | '}') {
            return false;
        }
    }
    true
}

fn js_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

fn normalize_simple_branch(branch: &str) -> Option<String> {
    let mut value = js_trim(branch).to_string();
    loop {
        // /^@\([^\\()[\]{}|]+\)$/
        let ok = value.starts_with("@(") && value.ends_with(')') && value.chars().count() > 3 && {
            let inner: Vec<char> = value.chars().collect();
            inner[2..inner.len() - 1].iter().all(|c| !matches!(c, '\\' | '(' | ')' | '[' | ']' | '{' | '}' | '|'))
        };
        if !ok {
            break;
        }
        let inner: Vec<char> = value.chars().collect();
        value = inner[2..inner.len() - 1].iter().collect();
    }
    if !is_plain_branch(&value) {
        return None;
    }
    // value.replace(/\\(.)/g, '$1')
    let mut o = String::new();
    let cs: Vec<char> = value.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        if cs[i] == '\\' && i + 1 < cs.len() && !matches!(cs[i + 1], '\n' | '\r' | '\u{2028}' | '\u{2029}') {
            o.push(cs[i + 1]);
            i += 2;
        } else {
            o.push(cs[i]);
            i += 1;
        }
    }
    if o.is_empty() {
        None
    } else {
        Some(o)
    }
}

fn has_repeated_char_prefix_overlap(branches: &[String]) -> bool {
    let values: Vec<String> = branches.iter().filter_map(|b| normalize_simple_branch(b)).collect();
    for i in 0..values.len() {
        for j in i + 1..values.len() {
            let (a, b) = (&values[i], &values[j]);
            let Some(ch) = a.chars().next() else { continue };
            if !a.chars().all(|c| c == ch) || !b.chars().all(|c| c == ch) {
                continue;
            }
            if a == b || a.starts_with(b.as_str()) || b.starts_with(a.as_str()) {
                return true;
            }
        }
    }
    false
}

struct Repeated {
    ty: char,
    body: String,
    end: usize,
}

fn parse_repeated_extglob(pattern: &[char], require_end: bool) -> Option<Repeated> {
    if !matches!(pattern.first(), Some('+' | '*')) || pattern.get(1) != Some(&'(') {
        return None;
    }
    let (mut bracket, mut paren, mut quote) = (0, 0, 0);
    let mut escaped = false;
    for i in 1..pattern.len() {
        let ch = pattern[i];
        if escaped {
            escaped = false;
            continue;
        }
        if ch == '\\' {
            escaped = true;
            continue;
        }
        if ch == '"' {
            quote = if quote == 1 { 0 } else { 1 };
            continue;
        }
        if quote == 1 {
            continue;
        }
        if ch == '[' {
            bracket += 1;
            continue;
        }
        if ch == ']' && bracket > 0 {
            bracket -= 1;
            continue;
        }
        if bracket > 0 {
            continue;
        }
        if ch == '(' {
            paren += 1;
            continue;
        }
        if ch == ')' {
            paren -= 1;
            if paren == 0 {
                if require_end && i != pattern.len() - 1 {
                    return None;
                }
                return Some(Repeated { ty: pattern[0], body: pattern[2..i].iter().collect(), end: i });
            }
        }
    }
    None
}

fn build_char_class_star(chars: &[String]) -> String {
    let source = if chars.len() == 1 {
        escape_regex(&chars[0])
    } else {
        format!("[{}]", chars.iter().map(|c| escape_regex(c)).collect::<String>())
    };
    format!("{source}*")
}

fn star_extglob_sequence_chars(pattern: &str) -> Option<Vec<String>> {
    let p: Vec<char> = pattern.chars().collect();
    let mut index = 0;
    let mut chars = Vec::new();
    while index < p.len() {
        let m = parse_repeated_extglob(&p[index..], false)?;
        if m.ty != '*' {
            return None;
        }
        let branches: Vec<String> = split_top_level(&m.body).iter().map(|b| js_trim(b).to_string()).collect();
        if branches.len() != 1 {
            return None;
        }
        let branch = normalize_simple_branch(&branches[0])?;
        if clen(&branch) != 1 {
            return None;
        }
        chars.push(branch);
        index += m.end + 1;
    }
    if chars.is_empty() {
        None
    } else {
        Some(chars)
    }
}

fn repeated_extglob_recursion(pattern: &str) -> usize {
    let mut depth = 0;
    let mut value: Vec<char> = js_trim(pattern).chars().collect();
    let mut m = parse_repeated_extglob(&value, true);
    while let Some(x) = m {
        depth += 1;
        value = js_trim(&x.body).chars().collect();
        m = parse_repeated_extglob(&value, true);
    }
    depth
}

struct Analysis {
    risky: bool,
    safe_output: Option<String>,
}

fn analyze_repeated_extglob(body: &str) -> Analysis {
    let max = 0usize; // DEFAULT_MAX_EXTGLOB_RECURSION
    let branches: Vec<String> = split_top_level(body).iter().map(|b| js_trim(b).to_string()).collect();
    if branches.len() > 1
        && (branches.iter().any(|b| b.is_empty())
            || branches.iter().any(|b| b.chars().all(|c| c == '*' || c == '?'))
            || has_repeated_char_prefix_overlap(&branches))
    {
        return Analysis { risky: true, safe_output: None };
    }
    let mut safe_chars: Vec<String> = Vec::new();
    let mut saw_star_sequence = false;
    let mut combinable = true;
    for branch in &branches {
        if let Some(chars) = star_extglob_sequence_chars(branch) {
            saw_star_sequence = true;
            safe_chars.extend(chars);
            continue;
        }
        if let Some(lit) = normalize_simple_branch(branch) {
            if clen(&lit) == 1 {
                safe_chars.push(lit);
                continue;
            }
        }
        combinable = false;
        if repeated_extglob_recursion(branch) > max {
            return Analysis { risky: true, safe_output: None };
        }
    }
    if saw_star_sequence {
        if combinable {
            let mut uniq: Vec<String> = Vec::new();
            for c in safe_chars {
                if !uniq.contains(&c) {
                    uniq.push(c);
                }
            }
            return Analysis { risky: true, safe_output: Some(build_char_class_star(&uniq)) };
        }
        return Analysis { risky: true, safe_output: None };
    }
    Analysis { risky: false, safe_output: None }
}

/// `expandRange` without a user function: `[a-b]` if that is a valid class.
fn expand_range(mut args: Vec<String>) -> String {
    args.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    let value = format!("[{}]", args.join("-"));
    if Regex::new(&value).is_ok() {
        value
    } else {
        args.iter().map(|v| escape_regex(v)).collect::<Vec<_>>().join("..")
    }
}

// ---- the parser --------------------------------------------------------------

struct P {
    all: Vec<Tok>,
    tokens: Vec<usize>,
    prev: usize,
    st: State,
    extglobs: Vec<Extglob>,
    braces: Vec<usize>,
    stack: Vec<Stack>,
    len: isize,
}

fn re_non_special_prefix(rest: &[char]) -> usize {
    rest.iter()
        .take_while(|c| {
            !matches!(
                c,
                '@' | '!'
                    | '['
                    | ']'
                    | '.'
                    | ','
                    | '$'
                    | '*'
                    | '+'
                    | '?'
                    | '^'
                    | '{'
                    | '}'
                    | '('
                    | ')'
                    | '|'
                    | '\\'
                    | '/'
            )
        })
        .count()
}

impl P {
    fn peek(&self, n: isize) -> Option<char> {
        let i = self.st.index + n;
        if i < 0 {
            return None;
        }
        self.st.input.get(i as usize).copied()
    }
    fn advance(&mut self) -> String {
        self.st.index += 1;
        self.st.input.get(self.st.index as usize).map(|c| c.to_string()).unwrap_or_default()
    }
    fn remaining(&self) -> Vec<char> {
        let i = (self.st.index + 1).max(0) as usize;
        self.st.input.get(i..).map(<[char]>::to_vec).unwrap_or_default()
    }
    fn eos(&self) -> bool {
        // picomatch compares with `===`: a run of backslashes can move the
        // index past the end (`(\\\\`), and picomatch then loops forever.
        // Past the end is the end here (found by the selector fuzz target).
        self.st.index >= self.len - 1
    }
    fn increment(&mut self, s: Stack) {
        match s {
            Stack::Parens => self.st.parens += 1,
            Stack::Brackets => self.st.brackets += 1,
            Stack::Braces => self.st.braces += 1,
        }
        self.stack.push(s);
    }
    fn decrement(&mut self, s: Stack) {
        match s {
            Stack::Parens => self.st.parens -= 1,
            Stack::Brackets => self.st.brackets -= 1,
            Stack::Braces => self.st.braces -= 1,
        }
        self.stack.pop();
    }
    fn append_str(&mut self, output: Option<&str>, value: &str) {
        self.st.output.push_str(output.unwrap_or(value));
    }

    fn push(&mut self, mut tok: Tok) -> usize {
        let prev = self.prev;
        if self.all[prev].ty == T::Globstar {
            let is_brace = self.st.braces > 0 && (tok.ty == T::Comma || tok.ty == T::Brace);
            let is_extglob = tok.extglob || (!self.extglobs.is_empty() && (tok.ty == T::Paren));
            if tok.ty != T::Slash && tok.ty != T::Paren && !is_brace && !is_extglob {
                let plen = clen(self.all[prev].out());
                self.st.output = slice_neg(&self.st.output, plen);
                let p = &mut self.all[prev];
                p.ty = T::Star;
                p.value = "*".into();
                p.output = Some(STAR.into());
                self.st.output.push_str(STAR);
            }
        }
        if !self.extglobs.is_empty() && tok.ty != T::Paren {
            let v = tok.value.clone();
            if let Some(e) = self.extglobs.last_mut() {
                e.inner.push_str(&v);
            }
        }
        if !tok.value.is_empty() || tok.output.as_deref().is_some_and(|o| !o.is_empty()) {
            let o = tok.output.clone();
            self.append_str(o.as_deref(), &tok.value.clone());
        }
        if self.all[prev].ty == T::Text && tok.ty == T::Text {
            let p = &mut self.all[prev];
            let new_out = format!("{}{}", p.output.as_deref().filter(|o| !o.is_empty()).unwrap_or(&p.value), tok.value);
            p.output = Some(new_out);
            p.value.push_str(&tok.value);
            return prev;
        }
        tok.prev = prev;
        self.all.push(tok);
        let id = self.all.len() - 1;
        self.tokens.push(id);
        self.prev = id;
        id
    }

    fn extglob_open(&mut self, kind: ExtKind, value: &str) {
        let close = match kind {
            ExtKind::Negate => format!(")){STAR})"),
            ExtKind::Qmark => ")?".into(),
            ExtKind::Plus => ")+".into(),
            ExtKind::Star => ")*".into(),
        };
        let open = if kind == ExtKind::Negate { "(?:(?!(?:" } else { "(?:" };
        let token = Extglob {
            kind,
            close,
            prev: self.prev,
            parens: self.st.parens,
            output: self.st.output.clone(),
            start_index: self.st.index,
            tokens_index: self.tokens.len(),
            inner: String::new(),
        };
        self.increment(Stack::Parens);
        let ty = match kind {
            ExtKind::Negate => T::Negate,
            ExtKind::Qmark => T::Qmark,
            ExtKind::Plus => T::Plus,
            ExtKind::Star => T::Star,
        };
        let out = if self.st.output.is_empty() { ONE_CHAR } else { "" };
        self.push(Tok::new(ty, value, Some(out.into())));
        let v = self.advance();
        let mut t = Tok::new(T::Paren, v, Some(open.into()));
        t.extglob = true;
        self.push(t);
        self.extglobs.push(token);
    }

    fn extglob_close(&mut self, mut token: Extglob, value: &str, depth: u32) -> Result<(), String> {
        let input = &self.st.input;
        let si = token.start_index.max(0) as usize;
        let ei = (self.st.index + 1).max(0) as usize;
        let literal: String = input[si..ei.min(input.len())].iter().collect();
        let body: String = input[(si + 2).min(input.len())
            ..(self.st.index.max(0) as usize).min(input.len()).max((si + 2).min(input.len()))]
            .iter()
            .collect();
        let analysis = analyze_repeated_extglob(&body);
        if (token.kind == ExtKind::Plus || token.kind == ExtKind::Star) && analysis.risky {
            let safe =
                analysis.safe_output.map(|s| format!("{}{}", if token.output.is_empty() { ONE_CHAR } else { "" }, s));
            // picomatch throws a TypeError here when braces have dropped the
            // extglob's opening token (found by the glob fuzz target): an error.
            let Some(&open_id) = self.tokens.get(token.tokens_index) else {
                return Err("an extglob inside braces that picomatch cannot compile".into());
            };
            {
                let open = &mut self.all[open_id];
                open.ty = T::Text;
                open.value = literal.clone();
                open.output = Some(safe.unwrap_or_else(|| escape_regex(&literal)));
            }
            for i in token.tokens_index + 1..self.tokens.len() {
                let id = self.tokens[i];
                self.all[id].value = String::new();
                self.all[id].output = Some(String::new());
            }
            self.st.output = format!("{}{}", token.output, self.all[open_id].out());
            self.st.backtrack = true;
            let mut t = Tok::new(T::Paren, value, Some(String::new()));
            t.extglob = true;
            self.push(t);
            self.decrement(Stack::Parens);
            return Ok(());
        }
        let mut output = token.close.clone();
        if token.kind == ExtKind::Negate {
            let mut extglob_star = STAR.to_string();
            if clen(&token.inner) > 1 && token.inner.contains('/') {
                extglob_star = globstar();
            }
            let rem = self.remaining();
            if extglob_star != STAR || self.eos() || (!rem.is_empty() && rem.iter().all(|&c| c == ')')) {
                token.close = format!(")$)){extglob_star}");
                output = token.close.clone();
            }
            // /^\.[^\\/.]+$/
            if token.inner.contains('*')
                && rem.len() >= 2
                && rem[0] == '.'
                && rem[1..].iter().all(|c| !matches!(c, '\\' | '/' | '.'))
            {
                let rest: String = rem.iter().collect();
                let expression = parse(&rest, false, depth + 1)?.output;
                token.close = format!("){expression}){extglob_star})");
                output = token.close.clone();
            }
        }
        let mut t = Tok::new(T::Paren, value, Some(output));
        t.extglob = true;
        self.push(t);
        self.decrement(Stack::Parens);
        let _ = token.prev;
        Ok(())
    }

    fn negate(&mut self) -> bool {
        let mut count = 1;
        while self.peek(1) == Some('!') && (self.peek(2) != Some('(') || self.peek(3) == Some('?')) {
            self.advance();
            self.st.start += 1;
            count += 1;
        }
        if count % 2 == 0 {
            return false;
        }
        self.st.negated = true;
        self.st.start += 1;
        true
    }

    /// One step of the main loop: handles the character `value` just read
    /// (with what follows it, for escapes, classes, braces, extglobs and
    /// globstars), as the body of picomatch's `while (!eos())` loop: each
    /// kind of character in the order picomatch tries them.
    fn step(&mut self, mut value: String, depth: u32) -> Result<(), String> {
        if self.escape(&mut value)? {
            return Ok(());
        }
        if self.in_class(&mut value)? {
            return Ok(());
        }
        if self.quoted(&mut value)? {
            return Ok(());
        }
        if self.paren(&mut value, depth)? {
            return Ok(());
        }
        if self.bracket(&mut value)? {
            return Ok(());
        }
        if self.brace(&mut value)? {
            return Ok(());
        }
        if self.pipe(&mut value)? {
            return Ok(());
        }
        if self.comma(&mut value)? {
            return Ok(());
        }
        if self.slash(&mut value)? {
            return Ok(());
        }
        if self.dot(&mut value)? {
            return Ok(());
        }
        if self.qmark(&mut value)? {
            return Ok(());
        }
        if self.bang(&mut value)? {
            return Ok(());
        }
        if self.plus(&mut value)? {
            return Ok(());
        }
        if self.at(&mut value)? {
            return Ok(());
        }
        if self.text(&mut value)? {
            return Ok(());
        }
        self.star(value)
    }

    /// The character is an escape: `\\` and what it escapes: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn escape(&mut self, slot: &mut String) -> Result<bool, String> {
        let mut value = std::mem::take(slot);
        if value == "\\" {
            let next = self.peek(1);
            if next == Some('/') {
                return Ok(true);
            }
            if next == Some('.') || next == Some(';') {
                return Ok(true);
            }
            if next.is_none() {
                value.push('\\');
                self.push(Tok::new(T::Text, value, None));
                return Ok(true);
            }
            let rem = self.remaining();
            let run = rem.iter().take_while(|&&c| c == '\\').count();
            if run > 2 {
                self.st.index += run as isize;
                if run % 2 != 0 {
                    value.push('\\');
                }
            }
            let a = self.advance();
            value.push_str(&a);
            if self.st.brackets == 0 {
                self.push(Tok::new(T::Text, value, None));
                return Ok(true);
            }
        }
        *slot = value;
        Ok(false)
    }

    /// The character is a character inside a bracket expression: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn in_class(&mut self, slot: &mut String) -> Result<bool, String> {
        let mut value = std::mem::take(slot);
        let prevv = self.all[self.prev].value.clone();
        if self.st.brackets > 0 && (value != "]" || prevv == "[" || prevv == "[^") {
            if value == ":" {
                let inner: String = prevv.chars().skip(1).collect();
                if inner.contains('[') {
                    let pid = self.prev;
                    self.all[pid].posix = true;
                    if inner.contains(':') {
                        let pv: Vec<char> = prevv.chars().collect();
                        let idx = pv.iter().rposition(|&c| c == '[').unwrap_or(0);
                        let pre: String = pv[..idx].iter().collect();
                        let rest: String = pv.get(idx + 2..).map(|r| r.iter().collect()).unwrap_or_default();
                        if let Some(px) = posix_class(&rest) {
                            self.all[pid].value = format!("{pre}{px}");
                            self.st.backtrack = true;
                            self.advance();
                            if self.all[0].output.as_deref().unwrap_or("").is_empty()
                                && self.tokens.iter().position(|&t| t == pid) == Some(1)
                            {
                                self.all[0].output = Some(ONE_CHAR.into());
                            }
                            return Ok(true);
                        }
                    }
                }
            }
            if (value == "[" && self.peek(1) != Some(':')) || (value == "-" && self.peek(1) == Some(']')) {
                value = format!("\\{value}");
            }
            if value == "]" && (prevv == "[" || prevv == "[^") {
                value = format!("\\{value}");
            }
            let pid = self.prev;
            self.all[pid].value.push_str(&value);
            self.append_str(None, &value);
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is a quoted string's characters and its quotes: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn quoted(&mut self, slot: &mut String) -> Result<bool, String> {
        let mut value = std::mem::take(slot);
        if self.st.quotes == 1 && value != "\"" {
            value = escape_regex(&value);
            let pid = self.prev;
            self.all[pid].value.push_str(&value);
            self.append_str(None, &value);
            return Ok(true);
        }
        if value == "\"" {
            self.st.quotes = if self.st.quotes == 1 { 0 } else { 1 };
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `(` and `)`, which may close an extglob: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn paren(&mut self, slot: &mut String, depth: u32) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "(" {
            self.increment(Stack::Parens);
            self.push(Tok::new(T::Paren, value, None));
            return Ok(true);
        }
        if value == ")" {
            let close = self.extglobs.last().is_some_and(|e| self.st.parens == e.parens + 1);
            if close {
                let e = self.extglobs.pop().ok_or("internal: extglob stack")?;
                self.extglob_close(e, &value, depth)?;
                return Ok(true);
            }
            let out = if self.st.parens != 0 { ")" } else { "\\)" };
            self.push(Tok::new(T::Paren, value, Some(out.into())));
            self.decrement(Stack::Parens);
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `[` and `]`: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn bracket(&mut self, slot: &mut String) -> Result<bool, String> {
        let mut value = std::mem::take(slot);
        if value == "[" {
            if !self.remaining().contains(&']') {
                value = "\\[".into();
            } else {
                self.increment(Stack::Brackets);
            }
            self.push(Tok::new(T::Bracket, value, None));
            return Ok(true);
        }
        if value == "]" {
            let pr = &self.all[self.prev];
            if pr.ty == T::Bracket && clen(&pr.value) == 1 {
                self.push(Tok::new(T::Text, value.clone(), Some(format!("\\{value}"))));
                return Ok(true);
            }
            if self.st.brackets == 0 {
                self.push(Tok::new(T::Text, value.clone(), Some(format!("\\{value}"))));
                return Ok(true);
            }
            self.decrement(Stack::Brackets);
            let pid = self.prev;
            let prev_value: String = self.all[pid].value.chars().skip(1).collect();
            if !self.all[pid].posix && prev_value.starts_with('^') && !prev_value.contains('/') {
                value = format!("/{value}");
            }
            self.all[pid].value.push_str(&value);
            self.append_str(None, &value);
            if has_regex_chars(&prev_value) {
                return Ok(true);
            }
            let pv = self.all[pid].value.clone();
            let escaped = escape_regex(&pv);
            self.st.output = slice_neg(&self.st.output, clen(&pv));
            let nv = format!("(?:{escaped}|{pv})");
            self.all[pid].value = nv.clone();
            self.st.output.push_str(&nv);
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `{` and `}` (ranges and alternatives): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn brace(&mut self, slot: &mut String) -> Result<bool, String> {
        let mut value = std::mem::take(slot);
        if value == "{" {
            self.increment(Stack::Braces);
            let mut open = Tok::new(T::Brace, value, Some("(".into()));
            open.output_index = clen(&self.st.output);
            open.tokens_index = self.tokens.len();
            let id = self.push(open);
            self.braces.push(id);
            return Ok(true);
        }
        if value == "}" {
            let Some(&brace) = self.braces.last() else {
                self.push(Tok::new(T::Text, value.clone(), Some(value)));
                return Ok(true);
            };
            let mut output = ")".to_string();
            if self.all[brace].dots {
                let arr = self.tokens.clone();
                let mut range: Vec<String> = Vec::new();
                for i in (0..arr.len()).rev() {
                    self.tokens.pop();
                    let t = &self.all[arr[i]];
                    if t.ty == T::Brace {
                        break;
                    }
                    if t.ty != T::Dots {
                        range.insert(0, t.value.clone());
                    }
                }
                output = expand_range(range);
                self.st.backtrack = true;
            }
            if !self.all[brace].comma && !self.all[brace].dots {
                let out = slice_to(&self.st.output, self.all[brace].output_index);
                let toks: Vec<usize> =
                    self.tokens.get(self.all[brace].tokens_index..).map(<[usize]>::to_vec).unwrap_or_default();
                self.all[brace].value = "\\{".into();
                self.all[brace].output = Some("\\{".into());
                value = "\\}".into();
                output = "\\}".into();
                self.st.output = out;
                for t in toks {
                    let tk = &self.all[t];
                    let s = match &tk.output {
                        Some(o) if !o.is_empty() => o.clone(),
                        _ => tk.value.clone(),
                    };
                    self.st.output.push_str(&s);
                }
            }
            self.push(Tok::new(T::Brace, value, Some(output)));
            self.decrement(Stack::Braces);
            self.braces.pop();
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `|`: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn pipe(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "|" {
            self.push(Tok::new(T::Text, value, None));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `,` (inside braces: an alternative): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn comma(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "," {
            let mut output = value.clone();
            if let Some(&brace) = self.braces.last() {
                if self.stack.last() == Some(&Stack::Braces) {
                    self.all[brace].comma = true;
                    output = "|".into();
                }
            }
            self.push(Tok::new(T::Comma, value, Some(output)));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `/`: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn slash(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "/" {
            if self.all[self.prev].ty == T::Dot && self.st.index == self.st.start + 1 {
                self.st.start = self.st.index + 1;
                self.st.output = String::new();
                self.tokens.pop();
                self.prev = 0;
                return Ok(true);
            }
            self.push(Tok::new(T::Slash, value, Some(SLASH_LITERAL.into())));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `.` (and `..` in braces): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn dot(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "." {
            let pid = self.prev;
            if self.st.braces > 0 && self.all[pid].ty == T::Dot {
                if self.all[pid].value == "." {
                    self.all[pid].output = Some(DOT_LITERAL.into());
                }
                if let Some(&b) = self.braces.last() {
                    self.all[b].dots = true;
                }
                let t = &mut self.all[pid];
                t.ty = T::Dots;
                let o = format!("{}{}", t.output.clone().unwrap_or_default(), value);
                t.output = Some(o);
                t.value.push_str(&value);
                return Ok(true);
            }
            if self.st.braces + self.st.parens == 0 && self.all[pid].ty != T::Bos && self.all[pid].ty != T::Slash {
                self.push(Tok::new(T::Text, value, Some(DOT_LITERAL.into())));
                return Ok(true);
            }
            self.push(Tok::new(T::Dot, value, Some(DOT_LITERAL.into())));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `?` (one character, or an extglob `?(`): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn qmark(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "?" {
            let is_group = self.all[self.prev].value == "(";
            if !is_group && self.peek(1) == Some('(') && self.peek(2) != Some('?') {
                self.extglob_open(ExtKind::Qmark, &value);
                return Ok(true);
            }
            if self.all[self.prev].ty == T::Paren {
                let next = self.peek(1);
                let mut output = value.clone();
                let rem = self.remaining();
                let lt_ok = {
                    // /<([!=]|\w+>)/.test(remaining())
                    let mut ok = false;
                    for (i, &c) in rem.iter().enumerate() {
                        if c != '<' {
                            continue;
                        }
                        match rem.get(i + 1) {
                            Some('!' | '=') => ok = true,
                            _ => {
                                let mut k = i + 1;
                                while k < rem.len() && (rem[k].is_ascii_alphanumeric() || rem[k] == '_') {
                                    k += 1;
                                }
                                if k > i + 1 && rem.get(k) == Some(&'>') {
                                    ok = true;
                                }
                            }
                        }
                        if ok {
                            break;
                        }
                    }
                    ok
                };
                if (self.all[self.prev].value == "(" && !next.is_some_and(|n| matches!(n, '!' | '=' | '<' | ':')))
                    || (next == Some('<') && !lt_ok)
                {
                    output = format!("\\{value}");
                }
                self.push(Tok::new(T::Text, value, Some(output)));
                return Ok(true);
            }
            if matches!(self.all[self.prev].ty, T::Slash | T::Bos) {
                self.push(Tok::new(T::Qmark, value, Some(QMARK_NO_DOT.into())));
                return Ok(true);
            }
            self.push(Tok::new(T::Qmark, value, Some(QMARK.into())));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `!` (an extglob `!(`, or a negation): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn bang(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "!" {
            if self.peek(1) == Some('(')
                && (self.peek(2) != Some('?') || !self.peek(3).is_some_and(|n| matches!(n, '!' | '=' | '<' | ':')))
            {
                self.extglob_open(ExtKind::Negate, &value);
                return Ok(true);
            }
            if self.st.index == 0 {
                self.negate();
                return Ok(true);
            }
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `+` (an extglob `+(`, or a literal): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn plus(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "+" {
            if self.peek(1) == Some('(') && self.peek(2) != Some('?') {
                self.extglob_open(ExtKind::Plus, &value);
                return Ok(true);
            }
            let pr = &self.all[self.prev];
            if pr.value == "(" {
                self.push(Tok::new(T::Plus, value, Some(PLUS_LITERAL.into())));
                return Ok(true);
            }
            if matches!(pr.ty, T::Bracket | T::Paren | T::Brace) || self.st.parens > 0 {
                self.push(Tok::new(T::Plus, value, None));
                return Ok(true);
            }
            self.push(Tok::new(T::Plus, PLUS_LITERAL, None));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `@` (an extglob `@(`, or a literal): `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn at(&mut self, slot: &mut String) -> Result<bool, String> {
        let value = std::mem::take(slot);
        if value == "@" {
            if self.peek(1) == Some('(') && self.peek(2) != Some('?') {
                let mut t = Tok::new(T::At, value, Some(String::new()));
                t.extglob = true;
                self.push(t);
                return Ok(true);
            }
            self.push(Tok::new(T::Text, value, None));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is any other character but `*`: `Ok(true)` when handled, else `value`
    /// (perhaps rewritten) goes on to the next kind.
    fn text(&mut self, slot: &mut String) -> Result<bool, String> {
        let mut value = std::mem::take(slot);
        if value != "*" {
            if value == "$" || value == "^" {
                value = format!("\\{value}");
            }
            let rem = self.remaining();
            let n = re_non_special_prefix(&rem);
            if n > 0 {
                value.extend(&rem[..n]);
                self.st.index += n as isize;
            }
            self.push(Tok::new(T::Text, value, None));
            return Ok(true);
        }
        *slot = value;
        Ok(false)
    }

    /// The character is `*` and `**`.
    fn star(&mut self, value: String) -> Result<(), String> {
        let pid = self.prev;
        if self.all[pid].ty == T::Globstar || self.all[pid].star {
            let t = &mut self.all[pid];
            t.ty = T::Star;
            t.star = true;
            t.value.push_str(&value);
            t.output = Some(STAR.into());
            self.st.backtrack = true;
            return Ok(());
        }
        let mut rest = self.remaining();
        if rest.first() == Some(&'(') && rest.get(1).is_some_and(|&c| c != '?') {
            self.extglob_open(ExtKind::Star, &value);
            return Ok(());
        }
        if self.all[pid].ty == T::Star {
            let prior = self.all[pid].prev;
            let before = self.all[prior].prev;
            let prior_ty = self.all[prior].ty;
            let is_start = prior_ty == T::Slash || prior_ty == T::Bos;
            let after_star = prior_ty != T::Bos && matches!(self.all[before].ty, T::Star | T::Globstar);
            let is_brace = self.st.braces > 0 && (prior_ty == T::Comma || prior_ty == T::Brace);
            let is_extglob = !self.extglobs.is_empty() && prior_ty == T::Paren;
            if !is_start && prior_ty != T::Paren && !is_brace && !is_extglob {
                self.push(Tok::new(T::Star, value, Some(String::new())));
                return Ok(());
            }
            // strip consecutive `/**/`
            while rest.len() >= 3 && rest[..3] == ['/', '*', '*'] {
                let after = self.st.input.get((self.st.index + 4) as usize).copied();
                if after.is_some_and(|a| a != '/') {
                    break;
                }
                rest.drain(..3);
                self.st.index += 3;
            }
            let is_end = self.eos()
                || (self.st.parens > 0
                    && rest.len() == self.st.parens as usize
                    && rest.iter().all(|&c| c == ')')
                    && !self.extglobs.iter().any(|e| e.kind == ExtKind::Negate));
            let prior_prev_ty = self.all[self.all[prior].prev].ty;
            if prior_ty == T::Bos && self.eos() {
                let t = &mut self.all[pid];
                t.ty = T::Globstar;
                t.value.push_str(&value);
                t.output = Some(globstar());
                self.st.output = globstar();
                return Ok(());
            }
            if prior_ty == T::Slash && prior_prev_ty != T::Bos && !after_star && is_end {
                let cut = clen(self.all[prior].out()) + clen(self.all[pid].out());
                self.st.output = slice_neg(&self.st.output, cut);
                let po = format!("(?:{}", self.all[prior].out());
                self.all[prior].output = Some(po.clone());
                let t = &mut self.all[pid];
                t.ty = T::Globstar;
                t.output = Some(format!("{}|$)", globstar()));
                t.value.push_str(&value);
                let to = t.output.clone().unwrap_or_default();
                self.st.output.push_str(&po);
                self.st.output.push_str(&to);
                return Ok(());
            }
            if prior_ty == T::Slash && prior_prev_ty != T::Bos && rest.first() == Some(&'/') {
                let end = if rest.get(1).is_some() { "|$" } else { "" };
                let cut = clen(self.all[prior].out()) + clen(self.all[pid].out());
                self.st.output = slice_neg(&self.st.output, cut);
                let po = format!("(?:{}", self.all[prior].out());
                self.all[prior].output = Some(po.clone());
                let t = &mut self.all[pid];
                t.ty = T::Globstar;
                t.output = Some(format!("{}{SLASH_LITERAL}|{SLASH_LITERAL}{end})", globstar()));
                t.value.push_str(&value);
                let to = t.output.clone().unwrap_or_default();
                self.st.output.push_str(&po);
                self.st.output.push_str(&to);
                self.advance();
                self.push(Tok::new(T::Slash, "/", Some(String::new())));
                return Ok(());
            }
            if prior_ty == T::Bos && rest.first() == Some(&'/') {
                let t = &mut self.all[pid];
                t.ty = T::Globstar;
                t.value.push_str(&value);
                let o = format!("(?:^|{SLASH_LITERAL}|{}{SLASH_LITERAL})", globstar());
                t.output = Some(o.clone());
                self.st.output = o;
                self.advance();
                self.push(Tok::new(T::Slash, "/", Some(String::new())));
                return Ok(());
            }
            let plen = clen(self.all[pid].out());
            self.st.output = slice_neg(&self.st.output, plen);
            let t = &mut self.all[pid];
            t.ty = T::Globstar;
            t.output = Some(globstar());
            t.value.push_str(&value);
            self.st.output.push_str(&globstar());
            return Ok(());
        }

        let token = Tok::new(T::Star, value, Some(STAR.into()));
        let pty = self.all[pid].ty;
        if self.st.index == self.st.start || pty == T::Slash || pty == T::Dot {
            if pty == T::Dot {
                let nds = no_dot_slash();
                self.st.output.push_str(&nds);
                let o = format!("{}{}", self.all[pid].out(), nds);
                self.all[pid].output = Some(o);
            } else {
                self.st.output.push_str(NO_DOT);
                let o = format!("{}{}", self.all[pid].out(), NO_DOT);
                self.all[pid].output = Some(o);
            }
            if self.peek(1) != Some('*') {
                self.st.output.push_str(ONE_CHAR);
                let o = format!("{}{}", self.all[pid].out(), ONE_CHAR);
                self.all[pid].output = Some(o);
            }
        }
        self.push(token);
        Ok(())
    }
}

fn fastpaths(input: &str) -> Option<String> {
    let input = replacement(input);
    let star = STAR;
    let nodot = NO_DOT;
    let slash_dot = NO_DOT;
    fn create(s: &str, star: &str, nodot: &str, slash_dot: &str) -> Option<String> {
        let gs = globstar();
        Some(match s {
            "*" => format!("{nodot}{ONE_CHAR}{star}"),
            ".*" => format!("{DOT_LITERAL}{ONE_CHAR}{star}"),
            "*.*" => format!("{nodot}{star}{DOT_LITERAL}{ONE_CHAR}{star}"),
            "*/*" => format!("{nodot}{star}{SLASH_LITERAL}{ONE_CHAR}{slash_dot}{star}"),
            "**" => format!("{nodot}{gs}"),
            "**/*" => format!("(?:{nodot}{gs}{SLASH_LITERAL})?{slash_dot}{ONE_CHAR}{star}"),
            "**/*.*" => format!("(?:{nodot}{gs}{SLASH_LITERAL})?{slash_dot}{star}{DOT_LITERAL}{ONE_CHAR}{star}"),
            "**/.*" => format!("(?:{nodot}{gs}{SLASH_LITERAL})?{DOT_LITERAL}{ONE_CHAR}{star}"),
            _ => {
                // /^(.*?)\.(\w+)$/ — `.` does not match line terminators.
                if s.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
                    return None;
                }
                let chars: Vec<char> = s.chars().collect();
                // The lazy group takes the shortest prefix such that the rest is `.\w+`:
                // the first `.` after which only word characters follow.
                let mut found = None;
                for (i, &c) in chars.iter().enumerate() {
                    if c == '.'
                        && i + 1 < chars.len()
                        && chars[i + 1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == '_')
                    {
                        found = Some(i);
                        break;
                    }
                }
                let i = found?;
                let head: String = chars[..i].iter().collect();
                let ext: String = chars[i + 1..].iter().collect();
                let source = create(&head, star, nodot, slash_dot)?;
                format!("{source}{DOT_LITERAL}{ext}")
            }
        })
    }
    let output = input.strip_prefix("./").unwrap_or(input);
    let source = create(output, star, nodot, slash_dot)?;
    Some(format!("{source}{SLASH_LITERAL}?"))
}

/// picomatch's fast path for a glob with no slash, parenthesis, bracket,
/// brace or quote and no leading `*` or `!`: each run of a non-word
/// character becomes its expression (`?`, `.`, `*`, escapes), the rest is
/// copied; the source between `^(?:` and `)$`.
fn fast_source(inp: &[char]) -> String {
    let mut backslashes = false;
    // input.replace(/(\\?)((\W)(\3*))/g, ...)
    let mut out = String::new();
    let mut i = 0;
    let is_w = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < inp.len() {
        let start = i;
        let mut esc = false;
        let mut j = i;
        if inp[j] == '\\' && j + 1 < inp.len() && !is_w(inp[j + 1]) {
            // `(\\?)` is greedy: take the backslash as esc if the next is \W.
            esc = true;
            j += 1;
        }
        if j < inp.len() && !is_w(inp[j]) {
            let first = inp[j];
            let mut k = j + 1;
            while k < inp.len() && inp[k] == first {
                k += 1;
            }
            let rest_len = k - j - 1;
            let chars_len = k - j;
            let m: String = inp[start..k].iter().collect();
            let esc_s = if esc { "\\" } else { "" };
            let rep = if first == '\\' {
                backslashes = true;
                m
            } else if first == '?' {
                if esc {
                    format!("{esc_s}{first}{}", if rest_len > 0 { QMARK.repeat(rest_len) } else { String::new() })
                } else if start == 0 {
                    format!("{QMARK_NO_DOT}{}", if rest_len > 0 { QMARK.repeat(rest_len) } else { String::new() })
                } else {
                    QMARK.repeat(chars_len)
                }
            } else if first == '.' {
                DOT_LITERAL.repeat(chars_len)
            } else if first == '*' {
                if esc {
                    format!("{esc_s}{first}{}", if rest_len > 0 { STAR } else { "" })
                } else {
                    STAR.to_string()
                }
            } else if esc {
                m
            } else {
                format!("\\{m}")
            };
            out.push_str(&rep);
            i = k;
        } else {
            // `\` followed by a word char, or a word char: copied.
            out.push(inp[i]);
            i += 1;
        }
    }
    if backslashes {
        // output.replace(/\\+/g, m => m.length % 2 === 0 ? '\\\\' : (m ? '\\' : ''))
        let cs: Vec<char> = out.chars().collect();
        let mut o = String::new();
        let mut i = 0;
        while i < cs.len() {
            if cs[i] == '\\' {
                let mut k = i;
                while k < cs.len() && cs[k] == '\\' {
                    k += 1;
                }
                o.push_str(if (k - i) % 2 == 0 { "\\\\" } else { "\\" });
                i = k;
            } else {
                o.push(cs[i]);
                i += 1;
            }
        }
        out = o;
    }
    out
}

/// `parse(input, options)` with default options (`fastpaths` as given).
fn parse(input: &str, fast: bool, depth: u32) -> Result<Parsed, String> {
    if depth > 64 {
        return Err("glob nested too deeply".into());
    }
    let input = replacement(input);
    let n = input.encode_utf16().count();
    if n > MAX_LENGTH {
        return Err(format!("Input length: {n}, exceeds maximum allowed length: {MAX_LENGTH}"));
    }
    let bos = Tok::new(T::Bos, "", Some(String::new()));
    let mut chars: Vec<char> = input.chars().collect();
    let mut prefix_removed = false;
    if input.starts_with("./") {
        chars.drain(..2);
        prefix_removed = true;
    }
    let _ = prefix_removed;
    let len = chars.len() as isize;
    let mut p = P {
        all: vec![bos],
        tokens: vec![0],
        prev: 0,
        st: State {
            input: chars,
            index: -1,
            start: 0,
            output: String::new(),
            backtrack: false,
            negated: false,
            brackets: 0,
            braces: 0,
            parens: 0,
            quotes: 0,
        },
        extglobs: Vec::new(),
        braces: Vec::new(),
        stack: Vec::new(),
        len,
    };

    // Fast paths: /(^[*!]|[/()[\]{}"])/ absent.
    let inp = &p.st.input;
    let fast_ok = fast
        && !(matches!(inp.first(), Some('*' | '!'))
            || inp.iter().any(|c| matches!(c, '/' | '(' | ')' | '[' | ']' | '{' | '}' | '"')));
    if fast_ok {
        let out = fast_source(inp);
        return Ok(Parsed { output: format!("^(?:{out})$"), negated: false });
    }

    while !p.eos() {
        let value = p.advance();
        if value == "\u{0}" {
            continue;
        }
        p.step(value, depth)?;
    }

    while p.st.brackets > 0 {
        p.st.output = escape_last(&p.st.output, '[', None);
        p.decrement(Stack::Brackets);
    }
    while p.st.parens > 0 {
        p.st.output = escape_last(&p.st.output, '(', None);
        p.decrement(Stack::Parens);
    }
    while p.st.braces > 0 {
        p.st.output = escape_last(&p.st.output, '{', None);
        p.decrement(Stack::Braces);
    }
    if matches!(p.all[p.prev].ty, T::Star | T::Bracket) {
        p.push(Tok::new(T::MaybeSlash, "", Some(format!("{SLASH_LITERAL}?"))));
    }
    if p.st.backtrack {
        let mut o = String::new();
        for &t in &p.tokens {
            o.push_str(p.all[t].out());
        }
        p.st.output = o;
    }
    Ok(Parsed { output: p.st.output, negated: p.st.negated })
}

/// `picomatch.makeRe(glob).source`: the regular expression picomatch matches with.
pub fn make_re_source(glob: &str) -> Result<String, String> {
    if glob.is_empty() {
        return Err("Expected pattern to be a non-empty string".into());
    }
    let mut parsed = None;
    if glob.starts_with('.') || glob.starts_with('*') {
        parsed = fastpaths(glob).map(|o| Parsed { output: o, negated: false });
    }
    let parsed = match parsed {
        Some(p) => p,
        None => parse(glob, true, 0)?,
    };
    let mut source = format!("^(?:{})$", parsed.output);
    if parsed.negated {
        source = format!("^(?!{source}).*$");
    }
    Ok(source)
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    glob: String,
    re: Regex,
    /// Literal text every match starts with (may be empty): a cheap exact
    /// rejection before the regular expression runs.
    prefix: String,
}

/// The literal start of a glob that any matching input must start with:
/// plain characters up to the first one picomatch may treat specially.
/// Globs starting with `.`, `/` or `!` get no prefix (picomatch gives those
/// leading characters meaning of their own); trailing slashes are not part of
/// it. The picomatch differential test covers this.
fn literal_prefix(glob: &str) -> String {
    if glob.starts_with(['.', '/', '!']) {
        return String::new();
    }
    let p: String = glob
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | '<' | '>'))
        .collect();
    // A slash before `**` is optional (`src/**` matches `src`).
    p.trim_end_matches('/').to_string()
}

/// A glob of characters picomatch never treats specially (`fn:handleRequest`,
/// `arg:secret`, `pkg:lodash`, `foo.js`): its regular expression is the
/// escaped text itself. Not `$`: picomatch turns `$$` into `\$$`, which also
/// matches `$` (found by the glob fuzz target). The picomatch differential
/// tests cover this.
pub fn is_plain(glob: &str) -> bool {
    !glob.is_empty()
        && !glob.starts_with('.')
        && glob.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'<' | b'>'))
}

impl Glob {
    /// Compiles a glob. An error when picomatch would throw, or when the
    /// regular expression it builds is invalid (picomatch then silently
    /// matches nothing; a filter reports it).
    pub fn new(glob: &str) -> Result<Glob, String> {
        if is_plain(glob) {
            // picomatch matches such a glob against itself only (`is_match`
            // compares before running the regex): nothing to compile.
            return Ok(Glob { glob: glob.to_string(), re: Regex::never(), prefix: glob.to_string() });
        }
        let source = make_re_source(glob)?;
        // Compiled at the first path that gets past the prefix: a filter of
        // many globs under folders loads without compiling the programs of
        // folders no file is in (the source is still checked here).
        let re = Regex::new_deferred(&source)
            .map_err(|e| format!("the glob compiles to an invalid regular expression ({e})"))?;
        Ok(Glob { glob: glob.to_string(), re, prefix: literal_prefix(glob) })
    }

    /// Like picomatch: an invalid glob matches nothing (`/$^/`).
    pub fn new_lenient(glob: &str) -> Result<Glob, String> {
        let source = make_re_source(glob)?;
        let re = Regex::new(&source).unwrap_or_else(|_| Regex::never());
        Ok(Glob { glob: glob.to_string(), re, prefix: literal_prefix(glob) })
    }

    /// `picomatch(glob)(input)`.
    pub fn is_match(&self, input: &str) -> bool {
        if input.is_empty() {
            return false;
        }
        if input == self.glob {
            return true;
        }
        if !input.starts_with(self.prefix.as_str()) {
            return false;
        }
        self.re.is_match(input)
    }
}

/// `picomatch.isMatch(input, glob)`; an invalid pattern is an error.
pub fn is_match(glob: &str, input: &str) -> Result<bool, String> {
    Ok(Glob::new_lenient(glob)?.is_match(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extglobs_that_picomatch_cannot_compile_are_errors() {
        // picomatch 4.0.7 throws "Cannot set properties of undefined (setting 'type')".
        let g = "{(..{%**\u{15}**********2*(**\u{1})*******..***(.*.js||js.}a*)";
        assert!(make_re_source(g).is_err(), "{g}");
    }

    #[test]
    fn dollar_runs_match_as_in_picomatch() {
        // picomatch("$$")("$") is true: `$$` becomes `\$$`.
        assert!(is_match("$$", "$").unwrap_or(false));
        assert!(Glob::new("$$").is_ok_and(|g| g.is_match("$") && g.is_match("$$")));
    }

    #[test]
    fn backslash_runs_past_the_end_terminate() {
        // picomatch 4.0.7 never returns for these (its end-of-input test is `===`).
        for g in ["(\\\\", "a(\\\\\\", "(a|b\\\\"] {
            assert!(make_re_source(g).is_ok(), "{g}");
        }
    }

    #[test]
    fn sources_match_picomatch() {
        // Sources printed by picomatch 4.0.7 (`picomatch.makeRe(g).source`).
        let cases =
            [("*.js", "^(?:(?!\\.)(?=.)[^/]*?\\.js\\/?)$"), ("**", "^(?:(?!\\.)(?:(?:(?!(?:^|\\/)\\.).)*?)\\/?)$")];
        for (g, want) in cases {
            assert_eq!(make_re_source(g).unwrap_or_default(), want, "{g}");
        }
    }

    #[test]
    fn matches() {
        let t = |g: &str, s: &str| is_match(g, s).unwrap_or(false);
        assert!(t("*.js", "a.js"));
        assert!(!t("*.js", "a/b.js"));
        assert!(!t("*.js", ".a.js"));
        assert!(t("src/**", "src/a/b.js"));
        assert!(t("src/**", "src"));
        assert!(!t("src/**", "src/.git/x"));
        assert!(t("**/*.test.js", "a/b/c.test.js"));
        assert!(t("{a,b}/*.js", "b/x.js"));
        assert!(t("@(a|b).js", "a.js"));
        assert!(!t("!(a).js", "a.js"));
        assert!(t("!(a).js", "b.js"));
        assert!(t("[abc].js", "b.js"));
        assert!(t("express", "express"));
        assert!(t("@scope/*", "@scope/name"));
        assert!(t("Cart.*", "Cart.addItem"));
        assert!(t("!foo", "bar"));
        assert!(!t("!foo", "foo"));
    }
}

#[cfg(test)]
mod differential {
    use super::Glob;

    /// The picomatch differential test: `test/fixtures/filter-glob/cases.json`
    /// holds what picomatch answers for every (pattern, path) pair of the
    /// corpus (`node test/fixtures/filter-glob/corpus.js` regenerates it;
    /// `test/unit/filter-glob.test.ts` compares live against picomatch).
    #[test]
    fn agrees_with_picomatch() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../test/fixtures/filter-glob/cases.json");
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let paths: Vec<&str> =
            v["paths"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
        let mut pairs = 0;
        let mut failures = Vec::new();
        for case in v["cases"].as_array().into_iter().flatten() {
            let pattern = case["pattern"].as_str().unwrap_or_default();
            if case.get("error").is_some() {
                assert!(Glob::new_lenient(pattern).is_err(), "{pattern}: picomatch throws");
                continue;
            }
            let g = Glob::new_lenient(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            let matching: Vec<&str> =
                case["matching"].as_array().map(|a| a.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
            for p in &paths {
                pairs += 1;
                let want = matching.contains(p);
                if g.is_match(p) != want {
                    failures.push(format!(
                        "{pattern:?} vs {p:?}: picomatch {want}; ours {} (picomatch source {}, ours {:?})",
                        !want,
                        case["source"],
                        super::make_re_source(pattern)
                    ));
                }
            }
        }
        assert!(pairs >= 2000, "only {pairs} pairs");
        assert!(failures.is_empty(), "{} of {pairs} pairs disagree:\n{}", failures.len(), failures.join("\n"));
    }
}
