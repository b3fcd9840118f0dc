//! A small regular-expression engine with JavaScript syntax and semantics
//! (no flags, as `new RegExp(source)`), for boolean matching only.
//!
//! Why not a crate: picomatch compiles globs to JavaScript regular
//! expressions full of lookaheads (`(?!\.)`), which the `regex` family does
//! not support, and `regex:` selectors should mean what they mean in
//! JavaScript. Matching is a Pike VM (Thompson NFA simulation): linear in
//! the input for a given pattern, no catastrophic backtracking. A lookahead
//! is evaluated as an anchored sub-match at the position (memoized per
//! position), which for a yes/no answer is exactly JavaScript's semantics.
//!
//! Supported: alternation, groups (`(…)`, `(?:…)`, `(?<name>…)`),
//! lookaheads `(?=…)` `(?!…)`, quantifiers `* + ? {n} {n,} {n,m}` (lazy or
//! not: irrelevant for a yes/no answer), `.`, classes with ranges and
//! negation, `\d \D \w \W \s \S \b \B`, `\n \r \t \v \f \0 \xHH \uHHHH \cX`,
//! identity escapes, `^` and `$`. A leading `(?i)` (an extension) makes the
//! match case-insensitive. Not supported (an error): backreferences and
//! lookbehinds. Characters are Unicode scalar values (JavaScript without the
//! `u` flag sees UTF-16 units; only astral characters differ).

use std::cell::RefCell;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Regex {
    progs: Vec<Vec<Inst>>,
    classes: Vec<Class>,
    icase: bool,
    /// The pattern is `^` + a literal + `$`: compare strings.
    exact: Option<String>,
    /// A literal every match starts with, when the pattern begins with `^`.
    prefix: String,
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(u32),
    Split(u32, u32),
    Jmp(u32),
    Start,
    End,
    WordB(bool),
    Look(u32, bool),
    Match,
}

#[derive(Debug, Clone, Default)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn contains(&self, c: char, icase: bool) -> bool {
        let hit = |x: char| self.ranges.iter().any(|&(a, b)| a <= x && x <= b);
        let mut r = hit(c);
        if !r && icase {
            let l = fold(c);
            r = hit(l) || c.to_uppercase().next().is_some_and(hit);
        }
        r != self.negated
    }
}

fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(x), None) => x,
            _ => c,
        }
    }
}

fn is_line_term(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

// ---- parser ---------------------------------------------------------------

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(char),
    Any,
    Class(Class),
    Start,
    End,
    WordB(bool),
    Look(Box<Node>, bool),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
    groups: u32,
    /// Names of the named groups so far (JavaScript rejects a repeated name).
    names: Vec<String>,
}

const MAX_REPEAT: u32 = 1000;

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn err<T>(&self, msg: &str) -> Result<T, String> {
        Err(format!("{msg} at position {}", self.i))
    }

    fn alt(&mut self, depth: u32) -> Result<Node, String> {
        if depth > 200 {
            return self.err("too deeply nested");
        }
        let mut alts = vec![self.concat(depth)?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.concat(depth)?);
        }
        Ok(if alts.len() == 1 { alts.pop().unwrap_or(Node::Empty) } else { Node::Alt(alts) })
    }

    fn concat(&mut self, depth: u32) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom(depth)?;
            let quantifiable = !matches!(atom, Node::Start | Node::End | Node::WordB(_));
            let atom = self.quantifier(atom, quantifiable)?;
            items.push(atom);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// `{n}`, `{n,}`, `{n,m}` at the current position, if it is one.
    fn braces(&self) -> Option<(usize, u32, Option<u32>)> {
        let s = self.s;
        let mut j = self.i + 1;
        let num = |j: &mut usize| -> Option<u32> {
            let st = *j;
            let mut v: u64 = 0;
            while *j < s.len() && s[*j].is_ascii_digit() {
                v = (v * 10 + u64::from(s[*j] as u32 - '0' as u32)).min(u64::from(u32::MAX));
                *j += 1;
            }
            if *j == st {
                None
            } else {
                Some(v as u32)
            }
        };
        let min = num(&mut j)?;
        let max = if s.get(j) == Some(&',') {
            j += 1;
            if s.get(j) == Some(&'}') {
                None
            } else {
                Some(num(&mut j)?)
            }
        } else {
            Some(min)
        };
        if s.get(j) != Some(&'}') {
            return None;
        }
        Some((j + 1, min, max))
    }

    fn quantifier(&mut self, atom: Node, quantifiable: bool) -> Result<Node, String> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.i += 1;
                (0, None)
            }
            Some('+') => {
                self.i += 1;
                (1, None)
            }
            Some('?') => {
                self.i += 1;
                (0, Some(1))
            }
            Some('{') => match self.braces() {
                Some((end, min, max)) => {
                    self.i = end;
                    if max.is_some_and(|m| m < min) {
                        return self.err("numbers out of order in {} quantifier");
                    }
                    (min, max)
                }
                None => return Ok(atom),
            },
            _ => return Ok(atom),
        };
        if !quantifiable {
            return self.err("nothing to repeat");
        }
        if self.peek() == Some('?') {
            self.i += 1; // lazy: same yes/no answer
        }
        if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
            return self.err("repetition count too large");
        }
        if matches!(self.peek(), Some('*' | '+' | '?')) || (self.peek() == Some('{') && self.braces().is_some()) {
            return self.err("nothing to repeat");
        }
        Ok(Node::Repeat(Box::new(atom), min, max))
    }

    fn atom(&mut self, depth: u32) -> Result<Node, String> {
        let Some(c) = self.peek() else { return self.err("unexpected end") };
        self.i += 1;
        match c {
            '.' => Ok(Node::Any),
            '^' => Ok(Node::Start),
            '$' => Ok(Node::End),
            '*' | '+' | '?' => {
                self.i -= 1;
                self.err("nothing to repeat")
            }
            '{' => {
                self.i -= 1;
                if self.braces().is_some() {
                    return self.err("nothing to repeat");
                }
                self.i += 1;
                Ok(Node::Char('{'))
            }
            '[' => self.class(),
            '(' => {
                let mut look = None;
                if self.peek() == Some('?') {
                    match self.s.get(self.i + 1) {
                        Some(':') => self.i += 2,
                        Some('=') => {
                            self.i += 2;
                            look = Some(false);
                        }
                        Some('!') => {
                            self.i += 2;
                            look = Some(true);
                        }
                        Some('<') if matches!(self.s.get(self.i + 2), Some('=' | '!')) => {
                            return self.err("lookbehind is not supported");
                        }
                        Some('<') => {
                            // A group name is an identifier: it starts with a
                            // letter, `$` or `_` (the differential fuzz test found
                            // `(?<3>` accepted here and refused by JavaScript).
                            let mut j = self.i + 2;
                            while j < self.s.len()
                                && (self.s[j].is_alphanumeric() || self.s[j] == '_' || self.s[j] == '$')
                            {
                                j += 1;
                            }
                            let first = self.s.get(self.i + 2).copied().unwrap_or('0');
                            if j == self.i + 2
                                || self.s.get(j) != Some(&'>')
                                || !(first.is_alphabetic() || first == '_' || first == '$')
                            {
                                return self.err("invalid group name");
                            }
                            let name: String = self.s[self.i + 2..j].iter().collect();
                            if self.names.contains(&name) {
                                return self.err("duplicate group name");
                            }
                            self.names.push(name);
                            self.i = j + 1;
                            self.groups += 1;
                        }
                        _ => return self.err("invalid group"),
                    }
                } else {
                    self.groups += 1;
                }
                let inner = self.alt(depth + 1)?;
                if self.peek() != Some(')') {
                    return self.err("unterminated group");
                }
                self.i += 1;
                Ok(match look {
                    Some(neg) => Node::Look(Box::new(inner), neg),
                    None => inner,
                })
            }
            ')' => {
                self.i -= 1;
                self.err("unmatched ')'")
            }
            '\\' => self.escape(false).map(|e| match e {
                Esc::Char(c) => Node::Char(c),
                Esc::Class(cl) => Node::Class(cl),
                Esc::WordB(b) => Node::WordB(b),
            }),
            c => Ok(Node::Char(c)),
        }
    }

    fn hex(&mut self, n: usize) -> Option<char> {
        let s: String = self.s.get(self.i..self.i + n)?.iter().collect();
        let v = u32::from_str_radix(&s, 16).ok()?;
        if s.chars().all(|c| c.is_ascii_hexdigit()) {
            self.i += n;
            char::from_u32(v).or(Some('\u{fffd}'))
        } else {
            None
        }
    }

    fn escape(&mut self, in_class: bool) -> Result<Esc, String> {
        let Some(c) = self.peek() else { return self.err("\\ at end of pattern") };
        self.i += 1;
        let class = |neg: bool, ranges: &[(char, char)]| Esc::Class(Class { negated: neg, ranges: ranges.to_vec() });
        const DIGIT: &[(char, char)] = &[('0', '9')];
        const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
        Ok(match c {
            'd' => class(false, DIGIT),
            'D' => class(true, DIGIT),
            'w' => class(false, WORD),
            'W' => class(true, WORD),
            's' | 'S' => {
                let ranges = [
                    ('\t', '\r'),
                    (' ', ' '),
                    ('\u{a0}', '\u{a0}'),
                    ('\u{1680}', '\u{1680}'),
                    ('\u{2000}', '\u{200a}'),
                    ('\u{2028}', '\u{2029}'),
                    ('\u{202f}', '\u{202f}'),
                    ('\u{205f}', '\u{205f}'),
                    ('\u{3000}', '\u{3000}'),
                    ('\u{feff}', '\u{feff}'),
                ];
                class(c == 'S', &ranges)
            }
            'b' if in_class => Esc::Char('\u{8}'),
            'b' => Esc::WordB(true),
            'B' if !in_class => Esc::WordB(false),
            'n' => Esc::Char('\n'),
            'r' => Esc::Char('\r'),
            't' => Esc::Char('\t'),
            'v' => Esc::Char('\u{b}'),
            'f' => Esc::Char('\u{c}'),
            '0' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => Esc::Char('\0'),
            '1'..='9' if !in_class => return self.err("backreferences are not supported"),
            '0'..='7' => {
                // Legacy octal escape (Annex B).
                let mut v = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') if v * 8 + (d as u32 - '0' as u32) <= 0o377 => {
                            v = v * 8 + (d as u32 - '0' as u32);
                            self.i += 1;
                        }
                        _ => break,
                    }
                }
                Esc::Char(char::from_u32(v).unwrap_or('\0'))
            }
            'x' => match self.hex(2) {
                Some(ch) => Esc::Char(ch),
                None => Esc::Char('x'),
            },
            'u' => match self.hex(4) {
                Some(ch) => Esc::Char(ch),
                None => Esc::Char('u'),
            },
            'c' => match self.peek() {
                Some(l) if l.is_ascii_alphabetic() => {
                    self.i += 1;
                    Esc::Char(char::from_u32(l as u32 % 32).unwrap_or('\0'))
                }
                _ => {
                    self.i -= 1;
                    Esc::Char('\\')
                }
            },
            'k' if !in_class => return self.err("backreferences are not supported"),
            other => Esc::Char(other),
        })
    }

    fn class(&mut self) -> Result<Node, String> {
        let mut cl = Class::default();
        if self.peek() == Some('^') {
            cl.negated = true;
            self.i += 1;
        }
        loop {
            let Some(c) = self.peek() else { return self.err("unterminated character class") };
            if c == ']' {
                self.i += 1;
                break;
            }
            self.i += 1;
            let item = if c == '\\' { self.escape(true)? } else { Esc::Char(c) };
            match item {
                Esc::Char(ch) => {
                    // A range `a-b`?
                    if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|&n| n != ']') {
                        let save = self.i;
                        self.i += 1;
                        let n = self.s[self.i];
                        self.i += 1;
                        let hi = if n == '\\' { self.escape(true)? } else { Esc::Char(n) };
                        match hi {
                            Esc::Char(h) => {
                                if h < ch {
                                    return self.err("range out of order in character class");
                                }
                                cl.ranges.push((ch, h));
                            }
                            Esc::Class(other) => {
                                // `a-\d`: Annex B treats `-` literally.
                                cl.ranges.push((ch, ch));
                                cl.ranges.push(('-', '-'));
                                push_class(&mut cl, &other);
                            }
                            Esc::WordB(_) => {
                                self.i = save;
                                cl.ranges.push((ch, ch));
                            }
                        }
                    } else {
                        cl.ranges.push((ch, ch));
                    }
                }
                Esc::Class(other) => push_class(&mut cl, &other),
                Esc::WordB(_) => {}
            }
        }
        Ok(Node::Class(cl))
    }
}

fn push_class(into: &mut Class, other: &Class) {
    if other.negated {
        // Complement of `other.ranges` over all scalar values.
        let mut rs = other.ranges.clone();
        rs.sort_unstable();
        let mut next = '\0' as u32;
        for (a, b) in rs {
            let (a, b) = (a as u32, b as u32);
            if a > next {
                push_range(into, next, a - 1);
            }
            next = next.max(b + 1);
        }
        if next <= 0x10ffff {
            push_range(into, next, 0x10ffff);
        }
    } else {
        into.ranges.extend_from_slice(&other.ranges);
    }
}

fn push_range(into: &mut Class, a: u32, b: u32) {
    // Skip the surrogate gap, which holds no scalar values.
    let lo = char::from_u32(a).unwrap_or('\u{e000}');
    let hi = char::from_u32(b).unwrap_or('\u{d7ff}');
    if lo <= hi {
        into.ranges.push((lo, hi));
    }
}

enum Esc {
    Char(char),
    Class(Class),
    WordB(bool),
}

// ---- compiler -------------------------------------------------------------

const MAX_INSTS: usize = 200_000;

struct Compiler {
    progs: Vec<Vec<Inst>>,
    classes: Vec<Class>,
}

impl Compiler {
    fn emit(&mut self, prog: usize, n: &Node) -> Result<(), String> {
        if self.progs[prog].len() > MAX_INSTS {
            return Err("pattern too large".into());
        }
        match n {
            Node::Empty => {}
            Node::Char(c) => self.progs[prog].push(Inst::Char(*c)),
            Node::Any => self.progs[prog].push(Inst::Any),
            Node::Class(c) => {
                self.classes.push(c.clone());
                self.progs[prog].push(Inst::Class(self.classes.len() as u32 - 1));
            }
            Node::Start => self.progs[prog].push(Inst::Start),
            Node::End => self.progs[prog].push(Inst::End),
            Node::WordB(b) => self.progs[prog].push(Inst::WordB(*b)),
            Node::Look(inner, neg) => {
                let id = self.progs.len();
                self.progs.push(Vec::new());
                self.emit(id, inner)?;
                self.progs[id].push(Inst::Match);
                self.progs[prog].push(Inst::Look(id as u32, *neg));
            }
            Node::Concat(items) => {
                for it in items {
                    self.emit(prog, it)?;
                }
            }
            Node::Alt(alts) => {
                let mut jumps = Vec::new();
                for (k, a) in alts.iter().enumerate() {
                    if k + 1 < alts.len() {
                        let split = self.progs[prog].len();
                        self.progs[prog].push(Inst::Split(0, 0));
                        self.emit(prog, a)?;
                        jumps.push(self.progs[prog].len());
                        self.progs[prog].push(Inst::Jmp(0));
                        let next = self.progs[prog].len() as u32;
                        self.progs[prog][split] = Inst::Split(split as u32 + 1, next);
                    } else {
                        self.emit(prog, a)?;
                    }
                }
                let end = self.progs[prog].len() as u32;
                for j in jumps {
                    self.progs[prog][j] = Inst::Jmp(end);
                }
            }
            Node::Repeat(inner, min, max) => {
                for _ in 0..*min {
                    self.emit(prog, inner)?;
                }
                match max {
                    None => {
                        // L: split body, end; body; jmp L
                        let l = self.progs[prog].len();
                        self.progs[prog].push(Inst::Split(0, 0));
                        self.emit(prog, inner)?;
                        self.progs[prog].push(Inst::Jmp(l as u32));
                        let end = self.progs[prog].len() as u32;
                        self.progs[prog][l] = Inst::Split(l as u32 + 1, end);
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.progs[prog].len());
                            self.progs[prog].push(Inst::Split(0, 0));
                            self.emit(prog, inner)?;
                        }
                        let end = self.progs[prog].len() as u32;
                        for s in splits {
                            self.progs[prog][s] = Inst::Split(s as u32 + 1, end);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The literal a match must start with (after `^`), and whether the whole
/// pattern is `^literal$`.
fn literal_parts(n: &Node) -> (String, bool) {
    let items: Vec<&Node> = match n {
        Node::Concat(v) => v.iter().collect(),
        other => vec![other],
    };
    // Flatten nested concatenations (non-capturing groups around literals).
    fn flat<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
        match n {
            Node::Concat(v) => v.iter().for_each(|x| flat(x, out)),
            other => out.push(other),
        }
    }
    let mut f = Vec::new();
    for i in items {
        flat(i, &mut f);
    }
    if !matches!(f.first(), Some(Node::Start)) {
        return (String::new(), false);
    }
    let mut prefix = String::new();
    let mut k = 1;
    while let Some(Node::Char(c)) = f.get(k) {
        prefix.push(*c);
        k += 1;
    }
    let exact = k + 1 == f.len() && matches!(f.get(k), Some(Node::End));
    (prefix, exact)
}

impl Regex {
    /// Compiles JavaScript regular-expression source.
    pub fn new(source: &str) -> Result<Regex, String> {
        let (src, icase) = match source.strip_prefix("(?i)") {
            Some(rest) => (rest, true),
            None => (source, false),
        };
        let chars: Vec<char> = src.chars().collect();
        let mut p = Parser { s: &chars, i: 0, groups: 0, names: Vec::new() };
        let node = p.alt(0)?;
        if p.i < chars.len() {
            return p.err("unmatched ')'");
        }
        let mut c = Compiler { progs: vec![Vec::new()], classes: Vec::new() };
        c.emit(0, &node)?;
        c.progs[0].push(Inst::Match);
        let (prefix, exact) = if icase { (String::new(), false) } else { literal_parts(&node) };
        let exact = if exact { Some(prefix.clone()) } else { None };
        Ok(Regex { progs: c.progs, classes: c.classes, icase, exact, prefix })
    }

    /// A pattern that never matches (what picomatch uses for an invalid regex).
    pub fn never() -> Regex {
        Regex {
            progs: vec![vec![Inst::Class(0), Inst::Match]],
            classes: vec![Class::default()],
            icase: false,
            exact: None,
            prefix: String::new(),
        }
    }

    /// `RegExp.prototype.test`: whether the pattern matches anywhere in `s`.
    pub fn is_match(&self, s: &str) -> bool {
        if let Some(e) = &self.exact {
            return s == e;
        }
        if !s.starts_with(self.prefix.as_str()) {
            return false;
        }
        SCRATCH.with(|sc| {
            let mut sc = sc.borrow_mut();
            let input: &mut Vec<char> = &mut sc.input;
            input.clear();
            input.extend(s.chars());
            let input = std::mem::take(&mut sc.input);
            let n_looks = self.progs.len();
            sc.memo.clear();
            if n_looks > 1 {
                sc.memo.resize(n_looks * (input.len() + 1), 0);
            }
            let r = self.run(&mut sc, &input, 0, 0, false, 0);
            sc.input = input;
            r
        })
    }

    fn run(&self, sc: &mut Scratch, input: &[char], prog: usize, start: usize, anchored: bool, depth: usize) -> bool {
        let insts = &self.progs[prog];
        if sc.levels.len() <= depth {
            sc.levels.push(Level::default());
        }
        let mut lv = std::mem::take(&mut sc.levels[depth]);
        lv.reset(insts.len());
        let mut found = false;
        let mut pos = start;
        'outer: loop {
            if (!anchored || pos == start) && self.add(sc, &mut lv, true, input, prog, 0, pos, depth) {
                found = true;
                break;
            }
            if lv.cur.is_empty() && (anchored || pos >= input.len()) {
                break;
            }
            if pos >= input.len() {
                break;
            }
            let c = input[pos];
            let cur = std::mem::take(&mut lv.cur);
            for &pc in &cur {
                let ok = match &insts[pc as usize] {
                    Inst::Char(x) => *x == c || (self.icase && fold(*x) == fold(c)),
                    Inst::Any => !is_line_term(c),
                    Inst::Class(k) => self.classes[*k as usize].contains(c, self.icase),
                    _ => false,
                };
                if ok && self.add(sc, &mut lv, false, input, prog, pc + 1, pos + 1, depth) {
                    found = true;
                    lv.cur = cur;
                    break 'outer;
                }
            }
            lv.cur = cur;
            std::mem::swap(&mut lv.cur, &mut lv.next);
            lv.next.clear();
            lv.next_gen();
            pos += 1;
        }
        sc.levels[depth] = lv;
        found
    }

    /// Adds `pc` and its epsilon closure at `pos` to the current (`to_cur`)
    /// or next list. Returns true when `Match` is reached.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        sc: &mut Scratch,
        lv: &mut Level,
        to_cur: bool,
        input: &[char],
        prog: usize,
        pc: u32,
        pos: usize,
        depth: usize,
    ) -> bool {
        let insts = &self.progs[prog];
        let mut stack = std::mem::take(&mut lv.stack);
        stack.clear();
        stack.push(pc);
        let mut matched = false;
        while let Some(pc) = stack.pop() {
            let (marks, gen) = if to_cur { (&mut lv.mark_cur, lv.gen_cur) } else { (&mut lv.mark_next, lv.gen_next) };
            if marks[pc as usize] == gen {
                continue;
            }
            marks[pc as usize] = gen;
            match &insts[pc as usize] {
                Inst::Match => {
                    matched = true;
                    break;
                }
                Inst::Jmp(t) => stack.push(*t),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Start => {
                    if pos == 0 {
                        stack.push(pc + 1);
                    }
                }
                Inst::End => {
                    if pos == input.len() {
                        stack.push(pc + 1);
                    }
                }
                Inst::WordB(want) => {
                    let a = pos > 0 && is_word(input[pos - 1]);
                    let b = pos < input.len() && is_word(input[pos]);
                    if (a != b) == *want {
                        stack.push(pc + 1);
                    }
                }
                Inst::Look(id, neg) => {
                    let slot = *id as usize * (input.len() + 1) + pos;
                    let r = match sc.memo[slot] {
                        1 => false,
                        2 => true,
                        _ => {
                            let r = self.run(sc, input, *id as usize, pos, true, depth + 1);
                            sc.memo[slot] = if r { 2 } else { 1 };
                            r
                        }
                    };
                    if r != *neg {
                        stack.push(pc + 1);
                    }
                }
                _ => {
                    if to_cur {
                        lv.cur.push(pc);
                    } else {
                        lv.next.push(pc);
                    }
                }
            }
        }
        lv.stack = stack;
        matched
    }
}

#[derive(Default)]
struct Level {
    cur: Vec<u32>,
    next: Vec<u32>,
    stack: Vec<u32>,
    mark_cur: Vec<u32>,
    mark_next: Vec<u32>,
    gen_cur: u32,
    gen_next: u32,
}

impl Level {
    fn reset(&mut self, n: usize) {
        self.cur.clear();
        self.next.clear();
        if self.mark_cur.len() < n {
            self.mark_cur.resize(n, 0);
            self.mark_next.resize(n, 0);
        }
        self.bump_cur();
        self.bump_next();
    }

    fn bump_cur(&mut self) {
        self.gen_cur = self.gen_cur.wrapping_add(1);
        if self.gen_cur == 0 {
            self.mark_cur.iter_mut().for_each(|m| *m = 0);
            self.gen_cur = 1;
        }
    }

    fn bump_next(&mut self) {
        self.gen_next = self.gen_next.wrapping_add(1);
        if self.gen_next == 0 {
            self.mark_next.iter_mut().for_each(|m| *m = 0);
            self.gen_next = 1;
        }
    }

    /// Moves to the next position: the `next` marks become current.
    fn next_gen(&mut self) {
        std::mem::swap(&mut self.mark_cur, &mut self.mark_next);
        std::mem::swap(&mut self.gen_cur, &mut self.gen_next);
        self.bump_next();
    }
}

#[derive(Default)]
struct Scratch {
    levels: Vec<Level>,
    memo: Vec<u8>,
    input: Vec<char>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(re: &str, s: &str) -> bool {
        Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}")).is_match(s)
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
    fn errors() {
        for bad in [
            "(",
            "a)",
            "*a",
            "a**",
            "[a",
            "\\1(a)",
            "(?<=a)b",
            "[z-a]",
            "a{3,2}",
            "\\",
            "(?<3>a)",
            "(?<a>x)(?<a>y)",
            "(?<>a)",
        ] {
            assert!(Regex::new(bad).is_err(), "{bad} should be an error");
        }
    }
}
