//! The original text of an instrumented function: what `Function.prototype.toString`
//! must return (issue 8: code that ships a function's source to another realm).
//!
//! The instrumenter only inserts text, never on a new line, and every insertion has a
//! shape recognizable in the instrumented code's syntax tree (probes.md lists them, with
//! the marks that tell `(e)` and `(0,e)` wrappers and `0,` prefixes from the program's own
//! parentheses). This parses the function's text, finds each insertion from its node,
//! checks that the text to remove is exactly one of ours (no line break, the expected
//! ends) and removes it. Anything that does not match exactly is left alone; when the
//! text does not parse, there is no answer.

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    AccessorProperty, Argument, ArrowFunctionExpression, AssignmentTarget, CallExpression, CatchClause, Expression,
    FunctionBody, ParenthesizedExpression, Program, PropertyDefinition, ReturnStatement, Statement, StaticBlock,
};
use oxc_ast_visit::{walk, Visit};
use oxc_parser::{ParseOptions, Parser};
use oxc_span::{GetSpan, SourceType, Span};

/// The original source of an instrumented function, class or method (as V8's
/// `Function.prototype.toString` gives it), or `None` when `text` holds no insertion of
/// ours or cannot be parsed.
pub fn original_source(text: &str) -> Option<String> {
    // `__nr$`: a class whose only insertions are field probes has no `$nr$a`.
    if !text.contains("__nr$") {
        return None;
    }
    // A function, arrow or class is an expression; a method, getter or setter is a class
    // member (or an object literal member: `get constructor() {}`).
    const WRAPS: [(&str, &str, bool); 4] =
        [("(", ")", false), ("(", ")", true), ("(class{", "})", false), ("({", "})", false)];
    for (open, close, module) in WRAPS {
        let wrapped = format!("{open}{text}{close}");
        if let Some(out) = strip(&wrapped, module) {
            let inner = out.get(open.len()..out.len() - close.len())?;
            return (inner != text).then(|| inner.to_string());
        }
    }
    None
}

/// Parses `code` and removes every insertion found; `None` if it does not parse.
fn strip(code: &str, module: bool) -> Option<String> {
    let allocator = Allocator::default();
    let source_type = if module { SourceType::mjs() } else { SourceType::script() };
    let parsed = Parser::new(&allocator, code, source_type).with_options(ParseOptions::default()).parse();
    if parsed.panicked || parsed.diagnostics.has_errors() {
        return None;
    }
    let mut finder = Finder { code, cuts: Vec::new() };
    finder.visit_program(&parsed.program);
    Some(finder.apply())
}

struct Finder<'c> {
    code: &'c str,
    /// Byte ranges to remove.
    cuts: Vec<Span>,
}

impl Finder<'_> {
    fn text(&self, from: u32, to: u32) -> &str {
        self.code.get(from as usize..to as usize).unwrap_or("")
    }

    /// Cuts `[from, to)` if it is inserted text: no line break, and starting with `starts`
    /// and ending with `ends` (either may be empty).
    fn cut(&mut self, from: u32, to: u32, starts: &str, ends: &str) -> bool {
        if from > to {
            return false;
        }
        let t = self.text(from, to);
        let ok = t.len() == (to - from) as usize
            && t.starts_with(starts)
            && t.ends_with(ends)
            && !t.contains(['\n', '\r', '\u{2028}', '\u{2029}']);
        if ok && from < to {
            self.cuts.push(Span::new(from, to));
        }
        ok
    }

    fn apply(mut self) -> String {
        self.cuts.sort_unstable_by_key(|s| s.start);
        let mut out = String::with_capacity(self.code.len());
        let mut at = 0usize;
        for c in &self.cuts {
            let (s, e) = (c.start as usize, c.end as usize);
            if s < at {
                continue; // overlapping: never produced by the instrumenter
            }
            out.push_str(&self.code[at..s]);
            at = e;
        }
        out.push_str(&self.code[at..]);
        out
    }

    /// A body opener and end (function bodies, static blocks): `;const $nr$a=...;try{`
    /// ... `;__nr$.u($nr$a)}finally{...}`.
    fn body(&mut self, statements: &[Statement<'_>]) {
        let Some(i) = statements.iter().position(|s| frame_declaration(s)) else { return };
        let Some(Statement::TryStatement(tr)) = statements.get(i + 1) else { return };
        if statements.len() != i + 2 || !our_finally(self, tr.finalizer.as_deref().map(GetSpan::span)) {
            return;
        }
        let decl = statements[i].span();
        let block_open = tr.block.span.start + 1;
        if decl.start == 0 || self.text(decl.start - 1, decl.start) != ";" {
            return;
        }
        // The end probe: the block's last statement, right after a `;` of ours;
        // none when the body cannot reach its end (completion.rs).
        let end = match tr.block.body.last() {
            Some(Statement::ExpressionStatement(end)) if is_end_probe(&end.expression) && end.span.start > 0 => {
                (end.span.start - 1, ";__nr$.")
            }
            _ => (tr.block.span.end - 1, "}finally{"),
        };
        if self.cut(decl.start - 1, block_open, ";const $nr$a=__nr$.", ";try{") {
            self.cut(end.0, tr.span.end, end.1, "}");
        }
    }

    /// The opener of an arrow with an expression body: `{const $nr$a=...;try{return ` and
    /// `}finally{...}}` around the return's argument.
    fn arrow_body(&mut self, body: &FunctionBody<'_>) -> bool {
        let [decl, Statement::TryStatement(tr)] = body.statements.as_slice() else { return false };
        if !frame_declaration(decl) || decl.span().start != body.span.start + 1 {
            return false;
        }
        if !our_finally(self, tr.finalizer.as_deref().map(GetSpan::span)) {
            return false;
        }
        let [Statement::ReturnStatement(ret)] = tr.block.body.as_slice() else { return false };
        let Some(arg) = &ret.argument else { return false };
        let arg = arg.span();
        if self.cut(body.span.start, arg.start, "{const $nr$a=__nr$.", "return ") {
            self.cut(arg.end, body.span.end, "}finally{", "}}");
            return true;
        }
        false
    }

    /// `(__nr$v=x,__nr$.r($nr$a[,m]))` and `(__nr$v=await (__nr$v=x,__nr$.aw(...)),__nr$.rs(...))`.
    fn wrapper(&mut self, p: &ParenthesizedExpression<'_>) {
        let Expression::SequenceExpression(seq) = &p.expression else { return };
        let [Expression::AssignmentExpression(assign), Expression::CallExpression(probe)] = seq.expressions.as_slice()
        else {
            return;
        };
        let Some(v) = value_target(&assign.left) else { return };
        let x = &assign.right;
        // `__nr$.V(e)` (inference.rs).
        let (x, id) = match identity_arg(x) {
            Some(e) => (e, "V("),
            None => (x, ""),
        };
        match probe_name(probe) {
            Some(name @ ("r" | "rr" | "rx" | "rv")) => {
                // `rv($nr$a,redact,drop[,m])`: the type classes come before the mark.
                let fixed = if name == "rv" { 3 } else { 1 };
                let (inner, open_end) = match mark(probe, fixed) {
                    // `(e)`: a sequence parenthesized by us.
                    Some(1) => match x {
                        Expression::ParenthesizedExpression(q) => {
                            (q.expression.span(), if id.is_empty() { "=(" } else { "V((" })
                        }
                        _ => return,
                    },
                    // `(0,e)`: an anonymous function kept anonymous.
                    Some(2) if id.is_empty() => match zero_comma(x) {
                        Some(e) => (e, "(0,"),
                        None => return,
                    },
                    None => (x.span(), if id.is_empty() { "=" } else { "V(" }),
                    _ => return,
                };
                if self.cut(p.span.start, inner.start, &format!("({v}"), open_end) {
                    self.cut(inner.end, p.span.end, "", "))");
                }
            }
            Some("rs") => self.suspension(p, v, x, mark(probe, 1)),
            _ => {}
        }
    }

    /// The inside of `(v=await (w=x,__nr$.aw(...)),__nr$.rs(...))` (`v`, `w`: `__nr$v` or
    /// `(__nr$).prototype`).
    fn suspension(&mut self, p: &ParenthesizedExpression<'_>, v: &str, x: &Expression<'_>, resume_mark: Option<u32>) {
        let (keyword_end, arg) = match x {
            Expression::AwaitExpression(a) => (a.span.start + 5, Some(&a.argument)),
            Expression::YieldExpression(y) => (y.span.start + if y.delegate { 6 } else { 5 }, y.argument.as_ref()),
            _ => return,
        };
        let Some(Expression::ParenthesizedExpression(q)) = arg else { return };
        let Expression::SequenceExpression(seq) = &q.expression else { return };
        let [Expression::AssignmentExpression(assign), Expression::CallExpression(probe)] = seq.expressions.as_slice()
        else {
            return;
        };
        let Some(w) = value_target(&assign.left) else { return };
        if !matches!(probe_name(probe), Some("aw" | "yd")) {
            return;
        }
        let start = x.span().start;
        // `0,` before a statement's first `(`.
        let prefix = if resume_mark == Some(3) { 2 } else { 0 };
        if prefix > 0 && self.text(p.span.start.saturating_sub(2), p.span.start) != "0," {
            return;
        }
        if !self.cut(p.span.start - prefix, start, if prefix > 0 { "0,(" } else { "(" }, &format!("{v}=")) {
            return;
        }
        match mark(probe, 2) {
            // A bare `yield`.
            Some(4) if w == PLAIN => {
                self.cut(keyword_end, p.span.end, " (__nr$v=void 0,__nr$.yd(", "))");
            }
            // `(0,e)`: an anonymous function, until the neutral target replaced it.
            Some(2) if w == PLAIN => {
                if let Some(e) = zero_comma(&assign.right) {
                    if self.cut(q.span.start, e.start, "(__nr$v=", "(0,") {
                        self.cut(e.end, p.span.end, "),__nr$.", "))");
                    }
                }
            }
            None => {
                let (e, open_end, close_start) = match identity_arg(&assign.right) {
                    Some(e) => (e.span(), "V(", "),__nr$."),
                    None => (assign.right.span(), "=", ",__nr$."),
                };
                if self.cut(q.span.start, e.start, &format!("({w}="), open_end) {
                    self.cut(e.end, p.span.end, close_start, "))");
                }
            }
            _ => {}
        }
    }
}

impl<'a> Visit<'a> for Finder<'_> {
    fn visit_program(&mut self, it: &Program<'a>) {
        walk::walk_program(self, it);
    }

    fn visit_function_body(&mut self, it: &FunctionBody<'a>) {
        self.body(&it.statements);
        walk::walk_function_body(self, it);
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        self.visit_formal_parameters(&it.params);
        match it.body.as_function_body() {
            Some(body) => {
                if !self.arrow_body(body) {
                    self.body(&body.statements);
                }
                for s in &body.statements {
                    self.visit_statement(s);
                }
            }
            None => {
                if let Some(e) = it.body.as_expression() {
                    self.visit_expression(e);
                }
            }
        }
    }

    fn visit_static_block(&mut self, it: &StaticBlock<'a>) {
        self.body(&it.body);
        walk::walk_static_block(self, it);
    }

    fn visit_parenthesized_expression(&mut self, it: &ParenthesizedExpression<'a>) {
        self.wrapper(it);
        walk::walk_parenthesized_expression(self, it);
    }

    fn visit_return_statement(&mut self, it: &ReturnStatement<'a>) {
        // `return;` became `return __nr$.u($nr$a)` (or rx, or rr with mark 4).
        if let Some(Expression::CallExpression(call)) = &it.argument {
            let bare = match probe_name(call) {
                Some("u" | "rx") => call.arguments.len() == 1,
                Some("rr") => mark(call, 1) == Some(4),
                _ => false,
            };
            if bare {
                let keyword_end = it.span.start + 6;
                self.cut(keyword_end, call.span.end, " __nr$.", ")");
                return;
            }
        }
        // An anonymous function definition: `return (__nr$.fr($nr$a,e))`.
        if let Some(Expression::ParenthesizedExpression(p)) = &it.argument {
            if let Expression::CallExpression(call) = &p.expression {
                if matches!(call.arguments.first(), Some(Argument::Identifier(id)) if id.name == "$nr$a")
                    && self.field(&p.expression)
                {
                    self.cut(p.span.start, p.span.start + 1, "(", "");
                    self.cut(p.span.end - 1, p.span.end, ")", "");
                }
            }
        }
        walk::walk_return_statement(self, it);
    }

    fn visit_catch_clause(&mut self, it: &CatchClause<'a>) {
        if let Some(Statement::ExpressionStatement(s)) = it.body.body.first() {
            if let Expression::CallExpression(call) = &s.expression {
                if matches!(probe_name(call), Some("k" | "kr" | "kx")) && s.span.start == it.body.span.start + 1 {
                    self.cut(s.span.start, s.span.end, "__nr$.k", ");");
                }
            }
            // A synchronous function's catch by stores: `__nr$.Q=$nr$a[,__nr$.e=e];`.
            let first = match &s.expression {
                Expression::SequenceExpression(seq) if seq.expressions.len() == 2 => seq.expressions.first(),
                e => Some(e),
            };
            if let Some(Expression::AssignmentExpression(a)) = first {
                let target = match &a.left {
                    AssignmentTarget::StaticMemberExpression(m) => {
                        matches!(&m.object, Expression::Identifier(o) if o.name == "__nr$") && m.property.name == "Q"
                    }
                    _ => false,
                };
                if target && s.span.start == it.body.span.start + 1 {
                    self.cut(s.span.start, s.span.end, "__nr$.Q=$nr$a", ";");
                }
            }
        }
        walk::walk_catch_clause(self, it);
    }

    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        if let Some(v) = &it.value {
            let _ = self.field(v);
        }
        walk::walk_property_definition(self, it);
    }

    fn visit_accessor_property(&mut self, it: &AccessorProperty<'a>) {
        if let Some(v) = &it.value {
            let _ = self.field(v);
        }
        walk::walk_accessor_property(self, it);
    }
}

impl Finder<'_> {
    /// `x = __nr$.fr(__nr$.m0(__nr$b+i,this),e)` (`frv(...,e,redact,drop)`).
    /// Also `return (__nr$.fr($nr$a,e))` (an anonymous function definition): true when cut.
    fn field(&mut self, value: &Expression<'_>) -> bool {
        if let Expression::TaggedTemplateExpression(t) = value {
            // `__nr$.frt`${call}${e}`` (inference.rs).
            let tag = match &t.tag {
                Expression::StaticMemberExpression(m) => {
                    matches!(&m.object, Expression::Identifier(o) if o.name == "__nr$") && m.property.name == "frt"
                }
                _ => false,
            };
            let [_, e] = t.quasi.expressions.as_slice() else { return false };
            if !tag || t.quasi.quasis.iter().any(|q| !q.value.raw.is_empty()) {
                return false;
            }
            let e = e.span();
            return self.cut(t.span.start, e.start, "__nr$.frt`${", "}${") && self.cut(e.end, t.span.end, "}`", "}`");
        }
        let Expression::CallExpression(call) = value else { return false };
        let typed = match probe_name(call) {
            Some("fr" | "frr" | "frx") if call.arguments.len() == 2 => false,
            Some("frv") if call.arguments.len() == 4 => true,
            _ => return false,
        };
        let Some(e) = call.arguments[1].as_expression() else { return false };
        let e = e.span();
        self.cut(call.span.start, e.start, "__nr$.fr", ",")
            && self.cut(e.end, call.span.end, if typed { "," } else { ")" }, ")")
    }
}

/// `const $nr$a = <probe call>`.
fn frame_declaration(s: &Statement<'_>) -> bool {
    let Statement::VariableDeclaration(d) = s else { return false };
    let [decl] = d.declarations.as_slice() else { return false };
    let oxc_ast::ast::BindingPattern::BindingIdentifier(id) = &decl.id else { return false };
    id.name == "$nr$a" && matches!(&decl.init, Some(Expression::CallExpression(c)) if probe_name(c).is_some())
}

/// `{__nr$.d=$nr$a}` or `{__nr$.f($nr$a)}`.
fn our_finally(f: &Finder<'_>, span: Option<Span>) -> bool {
    span.is_some_and(|s| matches!(f.text(s.start, s.end), "{__nr$.d=$nr$a}" | "{__nr$.f($nr$a)}"))
}

/// The end-of-body probe: `__nr$.u($nr$a)`, `__nr$.rx($nr$a)`, `__nr$.rr($nr$a,4)`.
fn is_end_probe(e: &Expression<'_>) -> bool {
    let Expression::CallExpression(call) = e else { return false };
    match probe_name(call) {
        Some("u" | "rx") => call.arguments.len() == 1,
        Some("rr") => mark(call, 1) == Some(4),
        _ => false,
    }
}

/// The probe name of `__nr$.name(...)`.
fn probe_name<'a>(call: &'a CallExpression<'_>) -> Option<&'a str> {
    let Expression::StaticMemberExpression(m) = &call.callee else { return None };
    let Expression::Identifier(obj) = &m.object else { return None };
    (obj.name == "__nr$").then_some(m.property.name.as_str())
}

/// The numeric mark after the first `fixed` arguments (`__nr$.r($nr$a,1)`: mark 1).
fn mark(call: &CallExpression<'_>, fixed: usize) -> Option<u32> {
    match call.arguments.get(fixed) {
        Some(Argument::NumericLiteral(n)) if n.value.fract() == 0.0 && n.value >= 0.0 && n.value < 16.0 => {
            Some(n.value as u32)
        }
        _ => None,
    }
}

const PLAIN: &str = "__nr$v";

/// The text of a target values cross through: `__nr$v` or `(__nr$).prototype`
/// (inference.rs).
fn value_target(t: &AssignmentTarget<'_>) -> Option<&'static str> {
    match t {
        AssignmentTarget::AssignmentTargetIdentifier(id) if id.name == PLAIN => Some(PLAIN),
        AssignmentTarget::StaticMemberExpression(m) if m.property.name == "prototype" => match &m.object {
            Expression::ParenthesizedExpression(o) => {
                matches!(&o.expression, Expression::Identifier(r) if r.name == "__nr$").then_some("(__nr$).prototype")
            }
            _ => None,
        },
        _ => None,
    }
}

/// `__nr$.V(e)`: `e`.
fn identity_arg<'a, 'b>(x: &'a Expression<'b>) -> Option<&'a Expression<'b>> {
    let Expression::CallExpression(call) = x else { return None };
    if probe_name(call) != Some("V") {
        return None;
    }
    match call.arguments.as_slice() {
        [a] => a.as_expression(),
        _ => None,
    }
}

/// `(0,e)`: the span of `e`.
fn zero_comma(x: &Expression<'_>) -> Option<Span> {
    let Expression::ParenthesizedExpression(q) = x else { return None };
    let Expression::SequenceExpression(seq) = &q.expression else { return None };
    match seq.expressions.as_slice() {
        [Expression::NumericLiteral(z), e] if z.value == 0.0 => Some(e.span()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::original_source;
    use crate::instrument::{instrument, ModuleKind, RecordAll};
    use oxc_allocator::Allocator;
    use oxc_ast::ast::{
        ArrowFunctionExpression, Class, Expression, Function, MethodDefinition, ObjectProperty, PropertyKind,
    };
    use oxc_ast_visit::{walk, Visit};
    use oxc_parser::{ParseOptions, Parser};
    use oxc_span::{GetSpan, SourceType};
    use oxc_syntax::scope::ScopeFlags;

    /// The texts V8 gives for every function, arrow, class and method of `code`, in source
    /// order (methods from their key, as `Function.prototype.toString` does).
    fn function_texts(code: &str, kind: ModuleKind) -> Vec<String> {
        struct Texts<'c> {
            code: &'c str,
            out: Vec<String>,
        }
        impl<'a> Visit<'a> for Texts<'_> {
            fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
                self.out.push(self.code[it.span.start as usize..it.span.end as usize].to_string());
                walk::walk_function(self, it, flags);
            }
            fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
                self.out.push(self.code[it.span.start as usize..it.span.end as usize].to_string());
                walk::walk_arrow_function_expression(self, it);
            }
            fn visit_class(&mut self, it: &Class<'a>) {
                self.out.push(self.code[it.span.start as usize..it.span.end as usize].to_string());
                walk::walk_class(self, it);
            }
            fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
                match (&it.value, it.method || it.kind != PropertyKind::Init) {
                    (Expression::FunctionExpression(f), true) => {
                        self.out.push(self.code[it.span.start as usize..it.span.end as usize].to_string());
                        self.visit_property_key(&it.key);
                        for p in &f.params.items {
                            self.visit_formal_parameter(p);
                        }
                        if let Some(b) = &f.body {
                            self.visit_function_body(b);
                        }
                    }
                    _ => walk::walk_object_property(self, it),
                }
            }
            fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
                // From the key (after `static`), as V8 prints methods.
                let mut start = it.span.start as usize;
                if it.r#static {
                    start += self.code[start..].find("static").map_or(0, |i| i + "static".len());
                    start += self.code[start..].len() - self.code[start..].trim_start().len();
                }
                self.out.push(self.code[start..it.span.end as usize].to_string());
                self.visit_property_key(&it.key);
                // The method's function node spans only the parameters and body: skip it.
                for p in &it.value.params.items {
                    self.visit_formal_parameter(p);
                }
                if let Some(b) = &it.value.body {
                    self.visit_function_body(b);
                }
            }
        }
        let allocator = Allocator::default();
        let st = if kind == ModuleKind::Module { SourceType::mjs() } else { SourceType::script() };
        let opts = ParseOptions { allow_return_outside_function: true, ..ParseOptions::default() };
        let parsed = Parser::new(&allocator, code, st).with_options(opts).parse();
        assert!(!parsed.panicked && !parsed.diagnostics.has_errors(), "parse failed: {code}");
        let mut t = Texts { code, out: Vec::new() };
        t.visit_program(&parsed.program);
        let _ = parsed.program.span();
        t.out
    }

    /// Every function of `src` instrumented and reversed gives its original text back.
    #[track_caller]
    fn round_trip(src: &str, kind: ModuleKind) {
        let out = instrument(src, "t.js", kind, &RecordAll).expect("instrument");
        let originals = function_texts(src, kind);
        let instrumented = function_texts(&out.code, kind);
        assert_eq!(originals.len(), instrumented.len());
        for (orig, instr) in originals.iter().zip(&instrumented) {
            let back = original_source(instr).unwrap_or_else(|| instr.clone());
            assert_eq!(&back, orig, "\ninstrumented: {instr}");
        }
    }

    #[test]
    fn every_kind_of_function_round_trips() {
        round_trip(
            "function add(a, b) {\n  return a + b;\n}\nconst f = x => x * 2, g = async () => ({a: 1});\n\
             function none() { if (x) return; return }\nfunction seq(a) { return a, 1 }\n\
             function anon() { return () => 1 }\nfunction strict() { 'use strict'\n return 1 }\n\
             function semi() { \"use strict\"; return 2; }\nfunction empty() {}\n\
             function c() { try { a() } catch { b() } try {} catch ({x}) {} }\nasync function k() { try { await a } catch (e) {} }\n",
            ModuleKind::CommonJs,
        );
        round_trip(
            "class Cart extends Base {\n  items = [];\n  #n = 0;\n  static k = () => 1;\n  h = () => {};\n  constructor(a) { super(a); }\n  \
             get total() { return 1 }\n  set total(v) {}\n  static make() { return new Cart() }\n  async *gen() { yield; yield 1; yield* g(); await x }\n  \
             [Symbol.iterator]() { return this }\n  #p() { try { f() } catch (e) { return e } }\n  static { init() }\n}\n",
            ModuleKind::CommonJs,
        );
        round_trip(
            "const o = { m(a) { return a }, get x() { return 1 }, set x(v) {}, async n() { await 1 }, *g() { yield 2 } };\n\
             async function load(u) {\n  log()\n  await u\n  const r = await fetch(u)\n  return await r.json()\n}\n\
             function* gen() {\n  a()\n  yield\n  return yield* inner()\n}\n\
             async function w() { return await function () {} }\n",
            ModuleKind::CommonJs,
        );
        round_trip(
            "export async function top() { return import.meta.url }\nawait top();\nexport default class { m() { return 1 } }\n",
            ModuleKind::Module,
        );
        // Values that may carry a function V8 has not named (inference.rs).
        round_trip(
            "async function a(c) { const f = await (c ? () => 1 : 0); g(await (() => 2)); await (x || function () {}); return f }\n\
             function* y(c) { yield () => 1; const h = yield c && (() => 2); yield* [() => 3] }\n\
             function r(c) { return c ? () => 1 : 0 }\nfunction s(c) { return c, () => 1 }\nconst t = (c) => c || (() => 1);\n\
             function o(c) { return { k: c ? () => 1 : 0 } }\nfunction k() { return class { static x = c ? () => 1 : 0; y = null || function () {} } }\n\
             class F { a = c ? () => 1 : 0; b = (0, () => 2) }\n",
            ModuleKind::CommonJs,
        );
        round_trip(
            "const t = await (() => 1);\nlet u; u = await (c ? function () {} : 0);\nawait (() => 2);\n",
            ModuleKind::Module,
        );
        // Minified.
        round_trip(
            "function a(b){return{c:b}}function d(){return[1]}async function e(){await(x);return\"s\"}function*f(){yield[1];yield*x}",
            ModuleKind::CommonJs,
        );
    }

    #[test]
    fn text_without_insertions_has_no_answer() {
        assert_eq!(original_source("function f() { return 1 }"), None);
        assert_eq!(original_source("function f() { return '$nr$a' }"), None);
        assert_eq!(original_source("not ( javascript $nr$a"), None);
    }

    #[test]
    fn look_alikes_written_by_the_program_are_kept() {
        // Only exact insertions are removed.
        let t = "function f() { const s = ';const $nr$a=__nr$.c(1);try{'; return s }";
        assert_eq!(original_source(t), None);
    }

    #[test]
    fn real_libraries_round_trip() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules");
        for (rel, kind) in [
            ("acorn/dist/acorn.js", ModuleKind::CommonJs),
            ("marked/lib/marked.esm.js", ModuleKind::Module),
            ("semver/classes/range.js", ModuleKind::CommonJs),
        ] {
            let Ok(src) = std::fs::read_to_string(root.join(rel)) else { continue };
            round_trip(&src, kind);
        }
    }
}
