//! The AST walk: builds the function table and emits the probe insertions.
//!
//! Openers are emitted on entering a node, closers on leaving it (see `splice`).

use oxc_ast::ast::{
    ArrowFunctionExpression, AssignmentExpression, AssignmentPattern, AwaitExpression, CatchClause, Class,
    Directive, ExportDefaultDeclaration, ExportDefaultDeclarationKind, Expression, FormalParameter,
    FormalParameters, Function, FunctionBody, MethodDefinition, MethodDefinitionKind, ObjectProperty, Program,
    PropertyDefinition, PropertyKey, PropertyKind, ReturnStatement, StaticBlock, VariableDeclarator,
    YieldExpression, AccessorProperty, BindingPattern, Decorator,
};
use oxc_ast_visit::{walk, Visit};
use oxc_span::GetSpan;
use oxc_syntax::scope::ScopeFlags;

use super::lines::LineIndex;
use super::names::{self, ANONYMOUS, MODULE};
use super::scopes;
use super::source_map::InputMap;
use super::splice::Splicer;
use super::{Decider, FnInfo, FnKind, ModuleKind};

/// Body end of every function and static block.
const BODY_END: &str = ";__nr$.r($nr$a,void 0)}finally{__nr$.f($nr$a)}";
/// Module end.
const MODULE_END: &str = ";__nr$.r($nr$a,void 0)";

/// A function-like scope being walked.
#[derive(Clone, Copy)]
struct Frame {
    /// Index in the function table.
    index: u32,
    /// Whether `$nr$a` is this frame's token, i.e. probes may be emitted inside it
    /// (false for unrecorded functions and for field initializers).
    token: bool,
    is_async: bool,
    is_generator: bool,
}

/// What kind of call probe a function gets: `c*` or `m*` (with `this`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum CallKind {
    Plain,
    WithThis,
}

pub(crate) struct Instrumenter<'s, 'd> {
    source: &'s str,
    lines: LineIndex<'s>,
    map: Option<InputMap>,
    decider: &'d dyn Decider,
    out: Splicer,
    functions: Vec<super::FnInfo>,
    frames: Vec<Frame>,
    /// Names of the enclosing classes, innermost last.
    classes: Vec<String>,
    /// The name the next function, arrow or class starting at this offset is bound to.
    hint: Option<(u32, String)>,
}

impl<'s, 'd> Instrumenter<'s, 'd> {
    /// Walks `program` and returns the code, the prologue offset and the function table.
    pub(crate) fn run(
        source: &'s str,
        program: &Program<'_>,
        kind: ModuleKind,
        decider: &'d dyn Decider,
    ) -> (String, usize, Vec<FnInfo>) {
        let mut this = Instrumenter {
            source,
            lines: LineIndex::new(source),
            map: InputMap::from_source(source),
            decider,
            out: Splicer::with_source_len(source.len()),
            functions: Vec::with_capacity(source.len() / 256 + 1),
            frames: Vec::with_capacity(32),
            classes: Vec::new(),
            hint: None,
        };
        let module = this.info(MODULE.to_string(), FnKind::Module, 0, Vec::new(), kind == ModuleKind::Module, false);
        this.functions.push(module);
        this.visit_program(program);
        let Instrumenter { out, functions, .. } = this;
        let (code, prologue_at) = out.apply(source);
        (code, prologue_at, functions)
    }

    /// Builds a table entry, its position mapped through the input source map if any.
    fn info(&mut self, name: String, kind: FnKind, offset: u32, params: Vec<String>, is_async: bool, is_generator: bool) -> FnInfo {
        let (mut line, mut col) = self.lines.position(offset);
        let mut source = None;
        if let Some(map) = &self.map {
            if let Some(orig) = map.lookup(line - 1, col) {
                line = orig.line + 1;
                col = orig.col;
                source = orig.source.map(str::to_string);
            }
        }
        FnInfo { name, kind, line, col, params, is_async, is_generator, source }
    }

    /// Adds a function entry, asking the decider; returns its index and whether it is recorded.
    fn add_function(&mut self, info: FnInfo) -> (u32, bool) {
        let recorded = self.decider.record_function(&info);
        let index = self.functions.len() as u32;
        self.functions.push(info);
        (index, recorded)
    }

    /// Adds an `await`/`yield` site of the innermost frame; returns its index and the frame.
    fn add_site(&mut self, kind: FnKind, offset: u32) -> (u32, Frame) {
        let frame = self.frame();
        let name = self.functions[frame.index as usize].name.clone();
        let (is_async, is_generator) = match kind {
            FnKind::Await => (true, frame.is_generator),
            _ => (frame.is_async, true),
        };
        let info = self.info(name, kind, offset, Vec::new(), is_async, is_generator);
        let index = self.functions.len() as u32;
        self.functions.push(info);
        (index, frame)
    }

    fn frame(&self) -> Frame {
        // The module frame is pushed before anything else and popped last.
        self.frames.last().copied().unwrap_or(Frame { index: 0, token: false, is_async: false, is_generator: false })
    }

    fn take_hint(&mut self, start: u32) -> Option<String> {
        match self.hint.take() {
            Some((at, name)) if at == start => Some(name),
            _ => None,
        }
    }

    fn set_hint(&mut self, expr: &Expression<'_>, name: impl FnOnce() -> Option<String>) {
        if let Some(start) = names::nameable_start(expr) {
            if let Some(name) = name() {
                self.hint = Some((start, name));
            }
        }
    }

    fn class_member_name(&self, member: &str) -> String {
        let class = self.classes.last().map_or(ANONYMOUS, String::as_str);
        format!("{class}.{member}")
    }

    /// Writes `const $nr$a=__nr$.cK(__nr$b+i,...);try{` (a leading `;` when the body's last
    /// directive has none).
    fn emit_call(&mut self, at: u32, semicolon: bool, index: u32, call: CallKind) {
        let Instrumenter { out, functions, .. } = self;
        let params = &functions[index as usize].params;
        out.insert_with(at, |t| {
            if semicolon {
                t.push(';');
            }
            t.push_str("const $nr$a=");
            write_call(t, index, call, params);
            t.push_str(";try{");
        });
    }

    /// Start of a body's statements (after `{` and its directives), and whether a `;` is
    /// needed to end the last directive.
    fn body_start(&self, open_brace: u32, directives: &[Directive<'_>]) -> (u32, bool) {
        match directives.last() {
            Some(d) => (d.span.end, self.source.as_bytes()[d.span.end as usize - 1] != b';'),
            None => (open_brace + 1, false),
        }
    }

    /// A function with its own body: declaration, expression, method, accessor, constructor.
    fn function_like(&mut self, f: &Function<'_>, kind: FnKind, name: String, offset: u32, call: CallKind) {
        self.hint = None;
        let params = param_names(&f.params);
        let info = self.info(name, kind, offset, params, f.r#async, f.generator);
        let (index, mut recorded) = self.add_function(info);
        recorded &= f.body.as_ref().is_some_and(|b| !scopes::wrapping_breaks(&b.statements));
        self.frames.push(Frame { index, token: recorded, is_async: f.r#async, is_generator: f.generator });
        if let Some(id) = &f.id {
            self.visit_binding_identifier(id);
        }
        self.visit_formal_parameters(&f.params);
        if let Some(body) = &f.body {
            self.instrumented_body(body, index, recorded, call);
        }
        self.frames.pop();
    }

    fn instrumented_body(&mut self, body: &FunctionBody<'_>, index: u32, recorded: bool, call: CallKind) {
        if recorded {
            let (at, semicolon) = self.body_start(body.span.start, &body.directives);
            self.emit_call(at, semicolon, index, call);
        }
        self.visit_function_body(body);
        if recorded {
            self.out.insert(body.span.end - 1, BODY_END);
        }
    }

    /// A class field or accessor with an initializer: `x = (__nr$.m0(__nr$b+i,this),__nr$.rt(e))`.
    fn field(&mut self, key: &PropertyKey<'_>, value: Option<&Expression<'_>>, decorators: &[Decorator<'_>]) {
        for d in decorators {
            self.visit_decorator(d);
        }
        self.visit_property_key(key);
        let Some(value) = value else { return };
        let name = self.class_member_name(&names::key_name(key, self.source));
        let info = self.info(name.clone(), FnKind::Field, key.span().start, Vec::new(), false, false);
        let (index, recorded) = self.add_function(info);
        let span = value.span();
        if recorded {
            self.out.insert_fmt(span.start, format_args!("(__nr$.m0(__nr$b+{index},this),__nr$.rt("));
        }
        self.frames.push(Frame { index, token: false, is_async: false, is_generator: false });
        self.set_hint(value, || Some(name));
        self.visit_expression(value);
        self.frames.pop();
        if recorded {
            self.out.insert(span.end, "))");
        }
    }

    /// Offset of the `{` of a static block (after `static` and any comments).
    fn static_block_brace(&self, block: &StaticBlock<'_>) -> u32 {
        let bytes = self.source.as_bytes();
        let mut i = block.span.start as usize + "static".len();
        let end = block.span.end as usize;
        while i < end {
            match bytes[i] {
                b'{' => return i as u32,
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < end && !matches!(bytes[i], b'\n' | b'\r') {
                        i += 1;
                    }
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i += 2;
                    while i + 1 < end && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                        i += 1;
                    }
                    i += 2;
                }
                _ => i += 1,
            }
        }
        // Unreachable for a parsed static block; fall back to its first byte after `static`.
        block.span.start + "static".len() as u32
    }
}

/// Writes `__nr$.cK(__nr$b+i[,this],a,b,...)`.
fn write_call(t: &mut String, index: u32, call: CallKind, params: &[String]) {
    use std::fmt::Write as _;
    let n = params.len();
    let k = match (call, n) {
        (CallKind::Plain, 0) => "c",
        (CallKind::Plain, 1) => "c1",
        (CallKind::Plain, 2) => "c2",
        (CallKind::Plain, 3) => "c3",
        (CallKind::Plain, _) => "cn",
        (CallKind::WithThis, 0) => "m0",
        (CallKind::WithThis, 1) => "m1",
        (CallKind::WithThis, 2) => "m2",
        (CallKind::WithThis, 3) => "m3",
        (CallKind::WithThis, _) => "mn",
    };
    let _ = write!(t, "__nr$.{k}(__nr$b+{index}");
    if call == CallKind::WithThis {
        t.push_str(",this");
    }
    for p in params {
        t.push(',');
        t.push_str(p);
    }
    t.push(')');
}

fn param_names(params: &FormalParameters<'_>) -> Vec<String> {
    let mut out = Vec::with_capacity(params.items.len() + 1);
    for p in &params.items {
        names::push_bound_names(&p.pattern, &mut out);
    }
    if let Some(rest) = &params.rest {
        names::push_bound_names(&rest.rest.argument, &mut out);
    }
    out
}

impl<'a> Visit<'a> for Instrumenter<'_, '_> {
    fn visit_program(&mut self, it: &Program<'a>) {
        self.frames.push(Frame { index: 0, token: true, is_async: it.source_type.is_module(), is_generator: false });
        let prologue_at = match it.directives.last() {
            Some(d) => {
                let end = d.span.end;
                if self.source.as_bytes()[end as usize - 1] != b';' {
                    self.out.insert(end, ";");
                }
                end
            }
            None => match &it.hashbang {
                Some(h) => after_line_terminator(self.source, h.span.end),
                None => 0,
            },
        };
        self.out.mark_prologue(prologue_at);
        walk::walk_program(self, it);
        let end = it.body.last().map_or(prologue_at, |s| s.span().end);
        self.out.insert(end, MODULE_END);
        self.frames.pop();
    }

    fn visit_function(&mut self, it: &Function<'a>, _flags: ScopeFlags) {
        let hint = self.take_hint(it.span.start);
        let name = match &it.id {
            Some(id) => id.name.as_str().to_string(),
            None => hint.unwrap_or_else(|| ANONYMOUS.to_string()),
        };
        self.function_like(it, FnKind::Function, name, it.span.start, CallKind::Plain);
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        let name = self.take_hint(it.span.start).unwrap_or_else(|| ANONYMOUS.to_string());
        let params = param_names(&it.params);
        let info = self.info(name, FnKind::Arrow, it.span.start, params, it.r#async, false);
        let (index, mut recorded) = self.add_function(info);
        if let Some(body) = it.body.as_function_body() {
            recorded &= !scopes::wrapping_breaks(&body.statements);
        }
        self.frames.push(Frame { index, token: recorded, is_async: it.r#async, is_generator: false });
        self.visit_formal_parameters(&it.params);
        match it.body.as_expression() {
            None => {
                if let Some(body) = it.body.as_function_body() {
                    self.instrumented_body(body, index, recorded, CallKind::Plain);
                }
            }
            Some(expr) => {
                let span = expr.span();
                if recorded {
                    let Instrumenter { out, functions, .. } = self;
                    let params = &functions[index as usize].params;
                    out.insert_with(span.start, |t| {
                        t.push_str("{const $nr$a=");
                        write_call(t, index, CallKind::Plain, params);
                        t.push_str(";try{return __nr$.r($nr$a,");
                    });
                }
                self.visit_expression(expr);
                if recorded {
                    self.out.insert(span.end, ")}finally{__nr$.f($nr$a)}}");
                }
            }
        }
        self.frames.pop();
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        let hint = self.take_hint(it.span.start);
        let name = match &it.id {
            Some(id) => id.name.as_str().to_string(),
            None => hint.unwrap_or_else(|| ANONYMOUS.to_string()),
        };
        self.classes.push(name);
        walk::walk_class(self, it);
        self.classes.pop();
    }

    fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
        for d in &it.decorators {
            self.visit_decorator(d);
        }
        self.visit_property_key(&it.key);
        let (kind, call) = match it.kind {
            MethodDefinitionKind::Constructor => (FnKind::Constructor, CallKind::Plain),
            MethodDefinitionKind::Method => (FnKind::Method, CallKind::WithThis),
            MethodDefinitionKind::Get => (FnKind::Getter, CallKind::WithThis),
            MethodDefinitionKind::Set => (FnKind::Setter, CallKind::WithThis),
        };
        let member = match kind {
            FnKind::Constructor => "constructor".to_string(),
            _ => names::key_name(&it.key, self.source),
        };
        let name = self.class_member_name(&member);
        self.function_like(&it.value, kind, name, it.key.span().start, call);
    }

    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        self.field(&it.key, it.value.as_ref(), &it.decorators);
    }

    fn visit_accessor_property(&mut self, it: &AccessorProperty<'a>) {
        self.field(&it.key, it.value.as_ref(), &it.decorators);
    }

    fn visit_static_block(&mut self, it: &StaticBlock<'a>) {
        let name = self.class_member_name("<static>");
        let info = self.info(name, FnKind::StaticBlock, it.span.start, Vec::new(), false, false);
        let (index, mut recorded) = self.add_function(info);
        recorded &= !scopes::wrapping_breaks(&it.body);
        if recorded {
            let brace = self.static_block_brace(it);
            self.emit_call(brace + 1, false, index, CallKind::WithThis);
        }
        self.frames.push(Frame { index, token: recorded, is_async: false, is_generator: false });
        walk::walk_static_block(self, it);
        self.frames.pop();
        if recorded {
            self.out.insert(it.span.end - 1, BODY_END);
        }
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        let kind = match it.kind {
            PropertyKind::Get => Some(FnKind::Getter),
            PropertyKind::Set => Some(FnKind::Setter),
            PropertyKind::Init if it.method => Some(FnKind::Method),
            PropertyKind::Init => None,
        };
        match (kind, &it.value) {
            (Some(kind), Expression::FunctionExpression(f)) => {
                self.visit_property_key(&it.key);
                let name = names::key_name(&it.key, self.source);
                self.function_like(f, kind, name, it.key.span().start, CallKind::WithThis);
            }
            _ => {
                self.visit_property_key(&it.key);
                if !it.shorthand {
                    let source = self.source;
                    self.set_hint(&it.value, || Some(names::key_name(&it.key, source)));
                }
                self.visit_expression(&it.value);
            }
        }
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        self.visit_binding_pattern(&it.id);
        if let Some(init) = &it.init {
            self.set_hint(init, || names::binding_name(&it.id).map(str::to_string));
            self.visit_expression(init);
        }
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        self.visit_assignment_target(&it.left);
        if it.operator.is_assign() || it.operator.is_logical() {
            self.set_hint(&it.right, || names::target_name(&it.left));
        }
        self.visit_expression(&it.right);
    }

    fn visit_assignment_pattern(&mut self, it: &AssignmentPattern<'a>) {
        self.visit_binding_pattern(&it.left);
        self.set_hint(&it.right, || names::binding_name(&it.left).map(str::to_string));
        self.visit_expression(&it.right);
    }

    fn visit_formal_parameter(&mut self, it: &FormalParameter<'a>) {
        for d in &it.decorators {
            self.visit_decorator(d);
        }
        self.visit_binding_pattern(&it.pattern);
        if let Some(init) = &it.initializer {
            self.set_hint(init, || names::binding_name(&it.pattern).map(str::to_string));
            self.visit_expression(init);
        }
    }

    fn visit_export_default_declaration(&mut self, it: &ExportDefaultDeclaration<'a>) {
        let start = match &it.declaration {
            ExportDefaultDeclarationKind::FunctionDeclaration(f) if f.id.is_none() => Some(f.span.start),
            ExportDefaultDeclarationKind::ClassDeclaration(c) if c.id.is_none() => Some(c.span.start),
            other => other.as_expression().and_then(names::nameable_start),
        };
        if let Some(start) = start {
            self.hint = Some((start, "default".to_string()));
        }
        walk::walk_export_default_declaration(self, it);
    }

    fn visit_return_statement(&mut self, it: &ReturnStatement<'a>) {
        let frame = self.frame();
        match &it.argument {
            Some(arg) => {
                let span = arg.span();
                let sequence = matches!(arg, Expression::SequenceExpression(_));
                if frame.token {
                    self.out.insert(span.start, if sequence { "__nr$.r($nr$a,(" } else { "__nr$.r($nr$a," });
                }
                self.visit_expression(arg);
                if frame.token {
                    self.out.insert(span.end, if sequence { "))" } else { ")" });
                }
            }
            None => {
                if frame.token {
                    self.out.insert(it.span.start + "return".len() as u32, " __nr$.r($nr$a,void 0)");
                }
            }
        }
    }

    fn visit_await_expression(&mut self, it: &AwaitExpression<'a>) {
        let (site, frame) = self.add_site(FnKind::Await, it.span.start);
        let arg = it.argument.span();
        if frame.token {
            self.out.insert(it.span.start, "__nr$.rs($nr$a,");
            self.out.insert_fmt(arg.start, format_args!("__nr$.aw($nr$a,__nr$b+{site},"));
        }
        self.visit_expression(&it.argument);
        if frame.token {
            self.out.insert(arg.end, "))");
        }
    }

    fn visit_yield_expression(&mut self, it: &YieldExpression<'a>) {
        let (site, frame) = self.add_site(FnKind::Yield, it.span.start);
        match &it.argument {
            Some(arg) => {
                let span = arg.span();
                if frame.token {
                    self.out.insert(it.span.start, "__nr$.rs($nr$a,");
                    self.out.insert_fmt(span.start, format_args!("__nr$.yd($nr$a,__nr$b+{site},"));
                }
                self.visit_expression(arg);
                if frame.token {
                    self.out.insert(span.end, "))");
                }
            }
            None => {
                if frame.token {
                    self.out.insert(it.span.start, "__nr$.rs($nr$a,");
                    self.out.insert_fmt(
                        it.span.start + "yield".len() as u32,
                        format_args!(" __nr$.yd($nr$a,__nr$b+{site},void 0))"),
                    );
                }
            }
        }
    }

    fn visit_catch_clause(&mut self, it: &CatchClause<'a>) {
        if self.frame().token {
            let at = it.body.span.start + 1;
            match it.param.as_ref().map(|p| &p.pattern) {
                Some(BindingPattern::BindingIdentifier(id)) => {
                    let name = id.name.as_str();
                    self.out.insert_with(at, |t| {
                        t.push_str("__nr$.k($nr$a,");
                        t.push_str(name);
                        t.push_str(");");
                    });
                }
                _ => self.out.insert(at, "__nr$.k($nr$a);"),
            }
        }
        walk::walk_catch_clause(self, it);
    }
}

/// The offset just after the line terminator that ends at or after `at` (the end of the
/// source if there is none).
fn after_line_terminator(source: &str, at: u32) -> u32 {
    let rest = &source[at as usize..];
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' | '\u{2028}' | '\u{2029}' => return at + (i + c.len_utf8()) as u32,
            '\r' => {
                let next = if rest[i + 1..].starts_with('\n') { 2 } else { 1 };
                return at + (i + next) as u32;
            }
            _ => {}
        }
    }
    source.len() as u32
}
