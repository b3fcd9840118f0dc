//! The AST walk: builds the function table and emits the probe insertions.
//!
//! Openers are emitted on entering a node, closers on leaving it (see `splice`).

use oxc_ast::ast::{
    AccessorProperty, Argument, ArrowFunctionExpression, AssignmentExpression, AssignmentPattern, AwaitExpression,
    BindingPattern, CallExpression, CatchClause, Class, Decorator, Directive, ExportDefaultDeclaration,
    ExportDefaultDeclarationKind, Expression, ExpressionStatement, FormalParameter, FormalParameters, Function,
    FunctionBody, MethodDefinition, MethodDefinitionKind, ObjectProperty, Program, PropertyDefinition, PropertyKey,
    PropertyKind, ReturnStatement, Statement, StaticBlock, VariableDeclarator, YieldExpression,
};
use std::collections::HashSet;

use oxc_ast_visit::{walk, Visit};
use oxc_span::GetSpan;
use oxc_syntax::scope::ScopeFlags;

use super::completion;
use super::inference::{self, Crossing};
use super::internal;
use super::istanbul;
use super::lines::LineIndex;
use super::names::{self, ANONYMOUS, MODULE};
use super::reexport;
use super::scopes;
use super::source_map::InputMap;
use super::splice::Splicer;
use super::suspension;
use super::{Action, Decider, FnInfo, FnKind, ModuleKind, TypedAction, ValuePlan};

/// Module end.
const MODULE_END: &str = ";__nr$.u($nr$a)";

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
    /// How the return value is recorded.
    ret: Ret,
    /// How errors caught by `catch` clauses are recorded.
    caught: Action,
    /// The function suspends (`await`, `yield`, `for await` in its own body): its
    /// `$nr$a` is a token and its `finally` calls `f` (probes.md: the two kinds of frame).
    suspends: bool,
}

impl Frame {
    fn new(index: u32, token: bool, is_async: bool, is_generator: bool) -> Frame {
        Frame { index, token, is_async, is_generator, ret: Ret::Plain, caught: Action::Allow, suspends: false }
    }

    fn with_plan(mut self, plan: Option<&ValuePlan>) -> Frame {
        if let Some(p) = plan {
            self.ret = match (p.ret_typed, p.ret) {
                (Some(t), _) => Ret::Typed(t),
                (None, Action::Allow) => Ret::Plain,
                (None, Action::Redact) => Ret::Redact,
                (None, Action::Drop) => Ret::Drop,
            };
            self.caught = p.caught;
        }
        self
    }

    fn suspending(mut self, suspends: bool) -> Frame {
        self.suspends = suspends;
        self
    }

    /// The return probe: `r`, or a variant from the value plan.
    fn ret_probe(&self) -> &'static str {
        match self.ret {
            Ret::Plain => "r",
            Ret::Redact => "rr",
            Ret::Drop => "rx",
            Ret::Typed(_) => "rv",
        }
    }

    /// The text after a returned expression of the given [`Wrap`] (its extra argument tells
    /// `original_source` what was added around the expression). `rv` takes the type classes
    /// it redacts and drops before that argument.
    fn ret_close(&self, wrap: Wrap, crossing: Crossing) -> String {
        let (close, mark) = match (wrap, crossing) {
            (Wrap::None, Crossing::Identity) => (")", ""),
            (Wrap::None, _) => ("", ""),
            (Wrap::Parens, Crossing::Identity) => ("))", ",1"),
            (Wrap::Parens, _) => (")", ",1"),
            (Wrap::Call, _) => {
                return match self.ret {
                    Ret::Typed(t) => format!(",{},{}))", t.redact, t.drop),
                    _ => "))".to_string(),
                };
            }
        };
        match self.ret {
            Ret::Typed(t) => format!("{close},__nr$.rv($nr$a,{},{}{mark}))", t.redact, t.drop),
            _ => format!("{close},__nr$.{}($nr$a{mark}))", self.ret_probe()),
        }
    }

    /// The text before a returned expression: `(__nr$v=` (or `((__nr$).prototype=` when
    /// it may carry functions V8 has not named: inference.rs) and the [`Wrap`]'s opener, or
    /// for an anonymous function definition the field initializer's probe, which takes
    /// the value as an argument (`(__nr$.fr($nr$a,`; `frr`, `frx`, `frv` by plan; in
    /// parentheses, so that `return(` of minified code needs no space).
    fn ret_open(&self, wrap: Wrap, crossing: Crossing) -> String {
        let (target, id) = (crossing.target(), if crossing == Crossing::Identity { inference::IDENTITY } else { "" });
        match (wrap, self.ret) {
            (Wrap::None, _) => format!("({target}={id}"),
            (Wrap::Parens, _) => format!("({target}={id}("),
            (Wrap::Call, Ret::Plain) => "(__nr$.fr($nr$a,".to_string(),
            (Wrap::Call, Ret::Redact) => "(__nr$.frr($nr$a,".to_string(),
            (Wrap::Call, Ret::Drop) => "(__nr$.frx($nr$a,".to_string(),
            (Wrap::Call, Ret::Typed(_)) => "(__nr$.frv($nr$a,".to_string(),
        }
    }

    /// A return of `undefined`: `return;` and the end of a body.
    fn ret_undefined(&self) -> &'static str {
        match self.ret {
            Ret::Plain => "__nr$.u($nr$a)",
            // `4`: no value (`original_source` tells it from `return void 0`).
            Ret::Redact => "__nr$.rr($nr$a,4)",
            Ret::Drop => "__nr$.rx($nr$a)",
            // The type class of `undefined` is known here.
            Ret::Typed(t) if t.redact & TYPE_UNDEFINED != 0 => "__nr$.rr($nr$a,4)",
            Ret::Typed(t) if t.drop & TYPE_UNDEFINED != 0 => "__nr$.rx($nr$a)",
            Ret::Typed(_) => "__nr$.u($nr$a)",
        }
    }

    /// The `finally` block's content.
    fn finally(&self) -> &'static str {
        if self.suspends {
            "__nr$.f($nr$a)"
        } else {
            "__nr$.d=$nr$a"
        }
    }

    /// Body end of a function or static block. Without the end-of-body probe
    /// when the body cannot reach its end (completion.rs): unreachable code
    /// shows as not run in coverage reports.
    fn body_end(&self, reachable: bool) -> String {
        if reachable {
            format!(";{}}}finally{{{}}}", self.ret_undefined(), self.finally())
        } else {
            format!("}}finally{{{}}}", self.finally())
        }
    }
}

/// The return probe of a function: `r`, or a variant from its value plan (`attr:`
/// patterns need none: the probes know each activation's function).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ret {
    Plain,
    Redact,
    Drop,
    /// By the value's type class (`rv`).
    Typed(TypedAction),
}

/// The `undefined` type class (bit 0 of `filter::model::TYPES`).
const TYPE_UNDEFINED: u16 = 1;

/// What a returned expression needs around it inside `(__nr$v=...)`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrap {
    None,
    /// `(e)`: an unparenthesized sequence `return a, b`.
    Parens,
    /// `(__nr$.fr($nr$a,e))`: an anonymous function definition. Assigned to `__nr$v` it
    /// would be named `__nr$v` (`(0,e)` keeps its `name` empty, but V8 still infers
    /// `__nr$v` for stack traces and coverage); a call argument gets no name.
    Call,
}

impl Wrap {
    /// A class with a field that names a function goes through the neutral target: the
    /// call's names would come before the field's (inference.rs).
    fn of(expr: &Expression<'_>, crossing: Crossing) -> Wrap {
        if matches!(expr, Expression::SequenceExpression(_)) {
            Wrap::Parens
        } else if names::is_anonymous_function_definition(expr) && crossing != Crossing::Neutral {
            Wrap::Call
        } else {
            Wrap::None
        }
    }
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
    /// Start of a CommonJS re-export getter to leave without probes (see `reexport`).
    plain_getter: Option<u32>,
    /// Start offsets of the expression statements being walked, innermost last.
    statements: Vec<u32>,
    /// The value plan of the module top level (catch clauses there).
    module_plan: Option<ValuePlan>,
    /// Starts of the `await`/`yield` expressions whose value the program assigns, declares
    /// or puts in a property without a call between (`inference::flowing_suspensions`).
    flows: std::collections::HashSet<u32>,
    /// Function declarations that get no probes (instrument/internal.rs).
    internal: HashSet<u32>,
    /// A function other than those got no probes.
    other_unrecorded: bool,
    /// Starts of the functions istanbul's counter function assigns to its name, which get
    /// no probes either (instrument/istanbul.rs).
    counters: HashSet<u32>,
}

impl<'s, 'd> Instrumenter<'s, 'd> {
    /// Walks `program` and returns the code, the prologue offset and the function table.
    /// `boundary`: a package file recorded at its boundary (`--scope project`): its internal
    /// functions get no probes (instrument/internal.rs), unless another of its functions
    /// gets none either.
    pub(crate) fn run(
        source: &'s str,
        program: &Program<'_>,
        kind: ModuleKind,
        decider: &'d dyn Decider,
        boundary: bool,
    ) -> (String, usize, Vec<FnInfo>, Vec<(u32, u32)>) {
        let internal = if boundary { internal::internal_functions(program, kind) } else { HashSet::new() };
        if internal.is_empty() {
            return Self::run_once(source, program, kind, decider, internal).0;
        }
        match Self::run_once(source, program, kind, decider, internal) {
            (_, true) => Self::run_once(source, program, kind, decider, HashSet::new()).0,
            (out, false) => out,
        }
    }

    /// One pass; the flag: a function other than the internal ones got no probes.
    #[allow(clippy::type_complexity)]
    fn run_once(
        source: &'s str,
        program: &Program<'_>,
        kind: ModuleKind,
        decider: &'d dyn Decider,
        internal: HashSet<u32>,
    ) -> ((String, usize, Vec<FnInfo>, Vec<(u32, u32)>), bool) {
        let mut this = Instrumenter {
            internal,
            other_unrecorded: false,
            counters: HashSet::new(),
            source,
            lines: LineIndex::new(source),
            map: InputMap::from_source(source),
            decider,
            out: Splicer::with_source_len(source.len()),
            functions: Vec::with_capacity(source.len() / 256 + 1),
            frames: Vec::with_capacity(32),
            classes: Vec::new(),
            hint: None,
            plain_getter: None,
            module_plan: None,
            statements: Vec::new(),
            flows: std::collections::HashSet::new(),
        };
        let module = this.info(MODULE.to_string(), FnKind::Module, 0, Vec::new(), kind == ModuleKind::Module, false);
        this.module_plan = decider.value_plan(&module);
        this.functions.push(module);
        this.visit_program(program);
        let Instrumenter { out, functions, other_unrecorded, .. } = this;
        let (code, prologue_at, edits) = out.apply(source);
        ((code, prologue_at, functions, edits), other_unrecorded)
    }

    /// Builds a table entry, its position mapped through the input source map if any.
    fn info(
        &mut self,
        name: String,
        kind: FnKind,
        offset: u32,
        params: Vec<String>,
        is_async: bool,
        is_generator: bool,
    ) -> FnInfo {
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

    /// Adds a function entry, asking the decider; returns its index, whether it is
    /// recorded and its value plan (`None`: plain probes).
    /// A function the input source map does not map (a helper a loader generated, such
    /// as esbuild's `__export`) is not the program's: it keeps its entry, without probes.
    fn add_function(&mut self, info: FnInfo) -> (u32, bool, Option<ValuePlan>) {
        self.add_function_spanning(info, None)
    }

    /// [`Self::add_function`] for a function whose generated span is known: a span the
    /// input map has no segment in is a loader's helper too ([`InputMap::unmapped_span`]).
    fn add_function_spanning(&mut self, mut info: FnInfo, span: Option<(u32, u32)>) -> (u32, bool, Option<ValuePlan>) {
        let mut generated = self.map.is_some() && info.source.is_none();
        if let (Some((start, end)), false) = (span, generated) {
            let (sl, sc) = self.lines.position(start);
            let (el, ec) = self.lines.position(end);
            generated = self.map.as_ref().is_some_and(|m| m.unmapped_span((sl - 1, sc), (el - 1, ec)));
            // Back to the start: the cursor is fastest moving forward from there.
            self.lines.position(start);
            if generated {
                info.source = None;
            }
        }
        let recorded = !generated && self.decider.record_function(&info);
        self.other_unrecorded |= !recorded;
        let plan = if recorded { self.decider.value_plan(&info) } else { None };
        let index = self.functions.len() as u32;
        self.functions.push(info);
        (index, recorded, plan)
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
        self.frames.last().copied().unwrap_or(Frame::new(0, false, false, false))
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

    /// Writes `;const $nr$a=__nr$.cK(__nr$b+i,...);try{` (`__nr$.t(...)` around the call in
    /// a function that suspends). The leading `;` ends a directive written without one and
    /// marks the text as inserted (probes.md, `original_source`).
    fn emit_call(&mut self, at: u32, frame: Frame, call: CallKind, plan: Option<&ValuePlan>) {
        let Instrumenter { out, functions, .. } = self;
        let params = &functions[frame.index as usize].params;
        out.insert_with(at, |t| {
            t.push_str(";const $nr$a=");
            write_opener_call(t, frame, call, params, plan);
            t.push_str(";try{");
        });
    }

    /// Start of a body's statements (after `{` and its directives).
    fn body_start(open_brace: u32, directives: &[Directive<'_>]) -> u32 {
        match directives.last() {
            Some(d) => d.span.end,
            None => open_brace + 1,
        }
    }

    /// A function with its own body: declaration, expression, method, accessor, constructor.
    fn function_like(&mut self, f: &Function<'_>, kind: FnKind, name: String, offset: u32, call: CallKind) {
        self.hint = None;
        if self.plain_getter == Some(f.span.start) {
            // Its body is `return a.b`: nothing inside to visit.
            self.plain_getter = None;
            return;
        }
        let params = param_names(&f.params);
        let info = self.info(name, kind, offset, params, f.r#async, f.generator);
        let (index, mut recorded, plan) = self.add_function_spanning(info, Some((offset, f.span.end)));
        let wraps = f.body.as_ref().is_some_and(|b| !scopes::wrapping_breaks(&b.statements));
        self.other_unrecorded |= recorded && !wraps;
        recorded &= wraps && !self.internal.contains(&f.span.start) && !self.coverage_counter(f);
        let suspends = f.body.as_ref().is_some_and(|b| suspension::suspends(b));
        let frame = Frame::new(index, recorded, f.r#async, f.generator).with_plan(plan.as_ref()).suspending(suspends);
        self.frames.push(frame);
        if let Some(id) = &f.id {
            self.visit_binding_identifier(id);
        }
        self.visit_formal_parameters(&f.params);
        if let Some(body) = &f.body {
            self.instrumented_body(body, frame, call, plan.as_ref());
        }
        self.frames.pop();
    }

    /// Whether `f` is istanbul's counter function or the one it puts in its place: the
    /// coverage tool's code, not the program's (instrument/istanbul.rs). Neither calls a
    /// function of the file, so leaving them without probes keeps internal functions
    /// (instrument/internal.rs) as they are.
    fn coverage_counter(&mut self, f: &Function<'_>) -> bool {
        if self.counters.remove(&f.span.start) {
            return true;
        }
        match istanbul::counter_function(f) {
            Some(inner) => {
                self.counters.extend(inner);
                true
            }
            None => false,
        }
    }

    fn instrumented_body(&mut self, body: &FunctionBody<'_>, frame: Frame, call: CallKind, plan: Option<&ValuePlan>) {
        if frame.token {
            let at = Self::body_start(body.span.start, &body.directives);
            self.emit_call(at, frame, call, plan);
        }
        self.visit_function_body(body);
        if frame.token {
            self.out.insert(body.span.end - 1, &frame.body_end(!completion::ends_abruptly(&body.statements)));
        }
    }

    /// A class field or accessor with an initializer: `x = __nr$.fr(__nr$.m0(__nr$b+i,this),e)`
    /// (`frv(...,e,redact,drop)` by type class).
    fn field(&mut self, key: &PropertyKey<'_>, value: Option<&Expression<'_>>, decorators: &[Decorator<'_>]) {
        for d in decorators {
            self.visit_decorator(d);
        }
        self.visit_property_key(key);
        let Some(value) = value else { return };
        let name = self.class_member_name(&names::key_name(key, self.source));
        let info = self.info(name.clone(), FnKind::Field, key.span().start, Vec::new(), false, false);
        let (index, mut recorded, plan) = self.add_function(info);
        // `handler = () => {}` names the arrow `handler`; wrapped in a probe call it would
        // stay anonymous. Creating a function calls nothing: no probes then.
        recorded &= !names::is_anonymous_function_definition(value);
        let span = value.span();
        let (this, ret) = plan.as_ref().map_or((Action::Allow, Action::Allow), |p| (p.this, p.ret));
        let typed = plan.as_ref().and_then(|p| p.ret_typed);
        // A value that may carry functions V8 names after the field (`x = c ? () => {} : 0`)
        // goes to the probe as a tagged template's substitution, which V8 does not treat as
        // a call: `__nr$.frt`${call}${e}`` (inference.rs). Plain plans only.
        let tagged = typed.is_none() && ret == Action::Allow && Crossing::of(value, true) == Crossing::Neutral;
        if recorded {
            let call = match this {
                Action::Allow => format!("__nr$.m0(__nr$b+{index},this)"),
                Action::Redact => format!("__nr$.m0(__nr$b+{index},__nr$.xt(this))"),
                Action::Drop => format!("__nr$.c(__nr$.dt(__nr$b+{index}))"),
            };
            let fr = match (typed, ret) {
                (Some(_), _) => "frv",
                (None, Action::Allow) => "fr",
                (None, Action::Redact) => "frr",
                (None, Action::Drop) => "frx",
            };
            if tagged {
                self.out.insert_fmt(span.start, format_args!("__nr$.frt`${{{call}}}${{"));
            } else {
                self.out.insert_fmt(span.start, format_args!("__nr$.{fr}({call},"));
            }
        }
        self.frames.push(Frame::new(index, false, false, false));
        self.set_hint(value, || Some(name));
        self.visit_expression(value);
        self.frames.pop();
        if recorded {
            match typed {
                Some(t) => self.out.insert_fmt(span.end, format_args!(",{},{})", t.redact, t.drop)),
                None if tagged => self.out.insert(span.end, "}`"),
                None => self.out.insert(span.end, ")"),
            }
        }
    }

    /// An `await e` or `yield e` (`probe`: `aw` or `yd`) starting at `start`:
    /// `(__nr$v=await (__nr$v=e,__nr$.aw($nr$a,__nr$b+s)),__nr$.rs($nr$a))`. The operand is
    /// computed before any probe is called, so nothing of ours is live in the frame while it
    /// runs; values cross in `__nr$v`. An operand that may carry a function V8 has not named
    /// yet crosses through `(__nr$).prototype=` both ways, which names it as the context
    /// would (inference.rs), where `__nr$v=` would name it `__nr$v`.
    fn suspension(
        &mut self,
        start: u32,
        arg: Option<&Expression<'_>>,
        site: u32,
        frame: Frame,
        probe: &str,
        visit: impl FnOnce(&mut Self),
    ) {
        let Some(arg) = arg else { return };
        let span = arg.span();
        let crossing = Crossing::of(arg, self.flows.contains(&start));
        let (target, id) = (crossing.target(), if crossing == Crossing::Identity { inference::IDENTITY } else { "" });
        // At the start of a statement, a `(` would continue the previous line when it has no
        // `;` (`log()\nawait x` would call log's result): `0,` first (and `3` to the resumption
        // probe, for `original_source`).
        let first = self.statements.last() == Some(&start);
        if frame.token {
            self.out.insert_fmt(start, format_args!("{}({target}=", if first { "0," } else { "" }));
            self.out.insert_fmt(span.start, format_args!("({target}={id}"));
        }
        visit(self);
        if frame.token {
            let resume = if first { ",3" } else { "" };
            let close = if id.is_empty() { "" } else { ")" };
            self.out.insert_fmt(
                span.end,
                format_args!("{close},__nr$.{probe}($nr$a,__nr$b+{site})),__nr$.rs($nr$a{resume}))"),
            );
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

/// Writes the call probe of a body opener: `__nr$.cK(...)`, or `__nr$.t(__nr$.cK(...))` in a
/// function that suspends.
fn write_opener_call(t: &mut String, frame: Frame, call: CallKind, params: &[String], plan: Option<&ValuePlan>) {
    if frame.suspends {
        t.push_str("__nr$.t(");
        write_call(t, frame.index, call, params, plan);
        t.push(')');
    } else {
        write_call(t, frame.index, call, params, plan);
    }
}

/// Writes `__nr$.cK(__nr$b+i[,this],a,b,...)`, with the value plan's variants: a
/// redacted value is passed as `__nr$.xa(a)` (`__nr$.xt(this)`), a dropped argument
/// as `__nr$.xd()`, and a dropped `this` gives the plain probe with `__nr$.dt(id)`.
fn write_call(t: &mut String, index: u32, call: CallKind, params: &[String], plan: Option<&ValuePlan>) {
    use std::fmt::Write as _;
    let this = plan.map_or(Action::Allow, |p| p.this);
    let call = if call == CallKind::WithThis && this == Action::Drop { CallKind::Plain } else { call };
    let dropped_this = plan.is_some() && this == Action::Drop;
    let n = params.len();
    let k = match (call, n) {
        (CallKind::Plain, 0) => "c",
        (CallKind::Plain, 1) => "c1",
        (CallKind::Plain, 2) => "c2",
        (CallKind::Plain, 3) => "c3",
        (CallKind::Plain, 4) => "c4",
        (CallKind::Plain, 5) => "c5",
        (CallKind::Plain, 6) => "c6",
        (CallKind::Plain, _) => "cn",
        (CallKind::WithThis, 0) => "m0",
        (CallKind::WithThis, 1) => "m1",
        (CallKind::WithThis, 2) => "m2",
        (CallKind::WithThis, 3) => "m3",
        (CallKind::WithThis, _) => "mn",
    };
    if dropped_this {
        let _ = write!(t, "__nr$.{k}(__nr$.dt(__nr$b+{index})");
    } else {
        let _ = write!(t, "__nr$.{k}(__nr$b+{index}");
    }
    if call == CallKind::WithThis {
        t.push_str(if this == Action::Redact { ",__nr$.xt(this)" } else { ",this" });
    }
    for (i, p) in params.iter().enumerate() {
        t.push(',');
        if let Some(ty) = plan.and_then(|pl| pl.params_typed.get(i)).copied().flatten() {
            let _ = write!(t, "__nr$.xv({p},{},{})", ty.redact, ty.drop);
            continue;
        }
        match plan.and_then(|pl| pl.params.get(i)).copied().unwrap_or(Action::Allow) {
            Action::Allow => t.push_str(p),
            Action::Redact => {
                t.push_str("__nr$.xa(");
                t.push_str(p);
                t.push(')');
            }
            Action::Drop => t.push_str("__nr$.xd()"),
        }
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
        // The module's `$nr$a` is a token (prologue: `__nr$.t(__nr$.c(...))`): its body is
        // not wrapped in `try`, and an ES module's top level may await.
        let module = Frame::new(0, true, it.source_type.is_module(), false)
            .with_plan(self.module_plan.as_ref())
            .suspending(true);
        // The module's own return probe stays plain (its value is always `undefined`).
        self.frames.push(Frame { ret: Ret::Plain, ..module });
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
        let (index, mut recorded, plan) = self.add_function_spanning(info, Some((it.span.start, it.span.end)));
        let suspends = match it.body.as_expression() {
            Some(expr) => suspension::expression_suspends(expr),
            None => it.body.as_function_body().is_some_and(|b| suspension::suspends(b)),
        };
        if let Some(body) = it.body.as_function_body() {
            let wraps = !scopes::wrapping_breaks(&body.statements);
            self.other_unrecorded |= recorded && !wraps;
            recorded &= wraps;
        }
        let frame = Frame::new(index, recorded, it.r#async, false).with_plan(plan.as_ref()).suspending(suspends);
        self.frames.push(frame);
        self.visit_formal_parameters(&it.params);
        match it.body.as_expression() {
            None => {
                if let Some(body) = it.body.as_function_body() {
                    self.instrumented_body(body, frame, CallKind::Plain, plan.as_ref());
                }
            }
            Some(expr) => {
                let span = expr.span();
                let crossing = Crossing::of(expr, false);
                let wrap = Wrap::of(expr, crossing);
                if recorded {
                    let Instrumenter { out, functions, .. } = self;
                    let params = &functions[index as usize].params;
                    out.insert_with(span.start, |t| {
                        t.push_str("{const $nr$a=");
                        write_opener_call(t, frame, CallKind::Plain, params, plan.as_ref());
                        t.push_str(";try{return ");
                        t.push_str(&frame.ret_open(wrap, crossing));
                    });
                }
                self.visit_expression(expr);
                if recorded {
                    let close = frame.ret_close(wrap, crossing);
                    self.out.insert(span.end, &format!("{close}}}finally{{{}}}}}", frame.finally()));
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
        let mut info = self.info(name, FnKind::StaticBlock, it.span.start, Vec::new(), false, false);
        if self.map.is_some() && keep_names_block(it) {
            // esbuild's `static { __name(this, "C") }` (tsx, --keep-names): the loader's.
            info.source = None;
        }
        let (index, mut recorded, plan) = self.add_function_spanning(info, Some((it.span.start, it.span.end)));
        let wraps = !scopes::wrapping_breaks(&it.body);
        self.other_unrecorded |= recorded && !wraps;
        recorded &= wraps;
        let frame = Frame::new(index, recorded, false, false).with_plan(plan.as_ref());
        if recorded {
            let brace = self.static_block_brace(it);
            self.emit_call(brace + 1, frame, CallKind::WithThis, plan.as_ref());
        }
        self.frames.push(frame);
        walk::walk_static_block(self, it);
        self.frames.pop();
        if recorded {
            self.out.insert(it.span.end - 1, &frame.body_end(!completion::ends_abruptly(&it.body)));
        }
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Some(start) = reexport::getter_start(it) {
            self.plain_getter = Some(start);
        }
        // esbuild's keepNames (tsx): `const f = __name((x) => {...}, "f")`; the
        // function is named by the second argument, as `__name` names it.
        if let (Expression::Identifier(callee), [f, Argument::StringLiteral(name)]) =
            (&it.callee, it.arguments.as_slice())
        {
            if callee.name == "__name" {
                if let Some(f) = f.as_expression() {
                    self.set_hint(f, || Some(name.value.to_string()));
                }
            }
        }
        walk::walk_call_expression(self, it);
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
                    inference::flowing_suspensions(&it.value, &mut self.flows);
                }
                self.visit_expression(&it.value);
            }
        }
    }

    fn visit_variable_declarator(&mut self, it: &VariableDeclarator<'a>) {
        self.visit_binding_pattern(&it.id);
        if let Some(init) = &it.init {
            self.set_hint(init, || names::binding_name(&it.id).map(str::to_string));
            if matches!(it.id, BindingPattern::BindingIdentifier(_)) {
                inference::flowing_suspensions(init, &mut self.flows);
            }
            self.visit_expression(init);
        }
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        self.visit_assignment_target(&it.left);
        if it.operator.is_assign() || it.operator.is_logical() {
            self.set_hint(&it.right, || names::target_name(&it.left));
            inference::flowing_suspensions(&it.right, &mut self.flows);
        }
        self.visit_expression(&it.right);
    }

    fn visit_assignment_pattern(&mut self, it: &AssignmentPattern<'a>) {
        self.visit_binding_pattern(&it.left);
        self.set_hint(&it.right, || names::binding_name(&it.left).map(str::to_string));
        inference::flowing_suspensions(&it.right, &mut self.flows);
        self.visit_expression(&it.right);
    }

    fn visit_formal_parameter(&mut self, it: &FormalParameter<'a>) {
        for d in &it.decorators {
            self.visit_decorator(d);
        }
        self.visit_binding_pattern(&it.pattern);
        if let Some(init) = &it.initializer {
            self.set_hint(init, || names::binding_name(&it.pattern).map(str::to_string));
            inference::flowing_suspensions(init, &mut self.flows);
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
                let crossing = Crossing::of(arg, false);
                let wrap = Wrap::of(arg, crossing);
                if frame.token {
                    self.out.insert(span.start, &frame.ret_open(wrap, crossing));
                }
                self.visit_expression(arg);
                if frame.token {
                    self.out.insert(span.end, &frame.ret_close(wrap, crossing));
                }
            }
            None => {
                if frame.token {
                    self.out
                        .insert_fmt(it.span.start + "return".len() as u32, format_args!(" {}", frame.ret_undefined()));
                }
            }
        }
    }

    fn visit_expression_statement(&mut self, it: &ExpressionStatement<'a>) {
        self.statements.push(it.span.start);
        walk::walk_expression_statement(self, it);
        self.statements.pop();
    }

    fn visit_await_expression(&mut self, it: &AwaitExpression<'a>) {
        let (site, frame) = self.add_site(FnKind::Await, it.span.start);
        self.suspension(it.span.start, Some(&it.argument), site, frame, "aw", |this| {
            this.visit_expression(&it.argument);
        });
    }

    fn visit_yield_expression(&mut self, it: &YieldExpression<'a>) {
        let (site, frame) = self.add_site(FnKind::Yield, it.span.start);
        match &it.argument {
            Some(arg) => {
                self.suspension(it.span.start, Some(arg), site, frame, "yd", |this| this.visit_expression(arg))
            }
            None => {
                if frame.token {
                    let keyword_end = it.span.start + "yield".len() as u32;
                    let first = self.statements.last() == Some(&it.span.start);
                    self.out.insert(it.span.start, if first { "0,(__nr$v=" } else { "(__nr$v=" });
                    let resume = if first { ",3" } else { "" };
                    self.out.insert_fmt(
                        keyword_end,
                        format_args!(" (__nr$v=void 0,__nr$.yd($nr$a,__nr$b+{site},4)),__nr$.rs($nr$a{resume}))"),
                    );
                }
            }
        }
    }

    fn visit_catch_clause(&mut self, it: &CatchClause<'a>) {
        let frame = self.frame();
        if frame.token {
            let at = it.body.span.start + 1;
            match it.param.as_ref().map(|p| &p.pattern) {
                Some(BindingPattern::BindingIdentifier(id)) => {
                    let name = id.name.as_str();
                    self.out.insert_with(at, |t| {
                        use std::fmt::Write as _;
                        match frame.caught {
                            // A synchronous frame records by stores (probes.md, *Catches*).
                            Action::Allow if !frame.suspends => {
                                let _ = write!(t, "__nr$.Q=$nr$a,__nr$.e={name};");
                            }
                            Action::Allow => {
                                t.push_str("__nr$.k($nr$a,");
                                t.push_str(name);
                                t.push_str(");");
                            }
                            Action::Redact => {
                                let _ = write!(t, "__nr$.kr($nr$a,{name});");
                            }
                            Action::Drop => t.push_str("__nr$.kx($nr$a);"),
                        }
                    });
                }
                _ if !frame.suspends => self.out.insert(at, "__nr$.Q=$nr$a;"),
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
    for (i, c) in rest.char_indices() {
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

/// A static block made only of `__name(this, "...")` calls: what esbuild's `keepNames`
/// (on in tsx) adds to every class.
fn keep_names_block(block: &StaticBlock<'_>) -> bool {
    !block.body.is_empty()
        && block.body.iter().all(|s| match s {
            Statement::ExpressionStatement(e) => match &e.expression {
                Expression::CallExpression(call) => {
                    matches!(&call.callee, Expression::Identifier(id) if id.name == "__name")
                        && matches!(call.arguments.first(), Some(Argument::ThisExpression(_)))
                }
                _ => false,
            },
            _ => false,
        })
}
