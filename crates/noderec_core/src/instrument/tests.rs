//! Snapshot tests of the exact inserted text, plus structural checks (same line count,
//! output re-parses) on every case and on real files from node_modules.

use oxc_allocator::Allocator;
use oxc_parser::{ParseOptions, Parser};
use oxc_span::SourceType;

use super::lines::LineIndex;
use super::*;

const ESM: ModuleKind = ModuleKind::Module;
const CJS: ModuleKind = ModuleKind::CommonJs;

/// Instruments with [`RecordAll`] and checks the invariants every output must keep.
#[track_caller]
fn run(src: &str, kind: ModuleKind) -> Instrumented {
    let out = match instrument(src, "test.js", kind, &RecordAll) {
        Ok(out) => out,
        Err(e) => panic!("instrument failed: {e}"),
    };
    assert_invariants(src, &out, kind);
    out
}

#[track_caller]
fn assert_invariants(src: &str, out: &Instrumented, kind: ModuleKind) {
    assert_eq!(LineIndex::new(&out.code).line_count(), LineIndex::new(src).line_count(), "line count changed");
    assert!(out.code.is_char_boundary(out.prologue_at));
    let full = with_prologue(out);
    assert_parses(&full, kind);
}

fn with_prologue(out: &Instrumented) -> String {
    let mut full = out.code.clone();
    full.insert_str(out.prologue_at, &prologue(7));
    full
}

#[track_caller]
fn assert_parses(code: &str, kind: ModuleKind) {
    let allocator = Allocator::default();
    let (st, opts) = match kind {
        ModuleKind::Module => (SourceType::mjs(), ParseOptions::default()),
        ModuleKind::CommonJs => {
            (SourceType::script(), ParseOptions { allow_return_outside_function: true, ..ParseOptions::default() })
        }
    };
    let ret = Parser::new(&allocator, code, st).with_options(opts).parse();
    if ret.panicked || ret.diagnostics.has_errors() {
        let msgs: Vec<String> = ret.diagnostics.iter().map(|d| d.message.to_string()).collect();
        let shown: String = code.chars().take(3000).collect();
        panic!("instrumented code does not parse: {msgs:?}\n{shown}");
    }
}

/// Asserts the exact instrumented code (prologue not included).
#[track_caller]
fn snap(src: &str, kind: ModuleKind, expected: &str) -> Instrumented {
    let out = run(src, kind);
    assert_eq!(out.code, expected, "\n--- got:\n{}\n--- expected:\n{}\n", out.code, expected);
    out
}

/// `(name, kind)` of every table entry.
fn table(out: &Instrumented) -> Vec<(String, &'static str)> {
    out.functions.iter().map(|f| (f.name.clone(), f.kind.as_str())).collect()
}

#[track_caller]
fn names(src: &str, kind: ModuleKind) -> Vec<String> {
    run(src, kind).functions.into_iter().map(|f| f.name).collect()
}

// ---------------------------------------------------------------------------------------
// Function kinds

#[test]
fn function_declaration_with_return() {
    let out = snap(
        "function add(a, b) {\n  return a + b;\n}\n",
        ESM,
        "function add(a, b) {;const $nr$a=__nr$.c2(__nr$b+1,a,b);try{\n  return (__nr$v=a + b,__nr$.r($nr$a));\n}finally{__nr$.d=$nr$a}};__nr$.u($nr$a)\n",
    );
    assert_eq!(out.prologue_at, 0);
    assert_eq!(table(&out), [("<module>".into(), "module"), ("add".into(), "function")]);
    assert_eq!(out.functions[1].params, ["a", "b"]);
    assert_eq!((out.functions[1].line, out.functions[1].col), (1, 0));
}

#[test]
fn bare_return_and_sequence_return() {
    snap(
        "function f(x) { if (x) return; return x, 1 }",
        ESM,
        "function f(x) {;const $nr$a=__nr$.c1(__nr$b+1,x);try{ if (x) return __nr$.u($nr$a); return (__nr$v=(x, 1),__nr$.r($nr$a,1)) }finally{__nr$.d=$nr$a}};__nr$.u($nr$a)",
    );
}

/// A body that cannot reach its end gets no end-of-body probe: coverage tools would
/// report that unreachable code as not run (completion.rs). Only when sure.
/// esbuild's keepNames output (tsx): the name is `__name`'s second argument.
#[test]
fn esbuild_keep_names_wrapper_names_the_function() {
    let src = "const isDirSync = /* @__PURE__ */ __name((p) => {\n  return !!p;\n}, \"isDirSync\");\nconst g = __name(function () {}, \"g\");\n";
    assert_eq!(names(src, ESM), ["<module>", "isDirSync", "g"]);
}

#[test]
fn unreachable_body_end_has_no_probe() {
    let end = ";__nr$.u($nr$a)}finally";
    let cases = [
        ("function f(p) { try { return g(p) } catch { return false } }", false),
        ("function f(p) { if (p) { return 1 } else { throw new Error() } }", false),
        ("function f(p) { try { g() } finally { return 2 } }", false),
        ("function f(p) { { return 1 } }", false),
        ("class A { static { throw 1 } }", false),
        ("function f(p) { if (p) return 1 }", true),
        ("function f(p) { try { return g(p) } catch { h() } }", true),
        ("function f(p) { a: { if (p) break a; return 1 } }", true),
        ("function f(p) { switch (p) { default: return 1 } }", true),
        ("function f(p) { while (true) { try { return g() } catch { continue } } }", false),
        ("function f(p) { for (;;) { if (g()) return 1 } }", false),
        ("function f(p) { while (true) { if (g()) break; } }", true),
        ("function f(p) { for (;;) { for (const x of p) { if (x) break } return 1 } }", true),
        ("function f(p) { while (p) { return 1 } }", true),
        ("function f(p) { g() }", true),
    ];
    for (src, probe) in cases {
        let out = run(src, ESM);
        let body = &out.code[..out.code.rfind(";__nr$.u($nr$a)").expect("module end")];
        assert_eq!(body.contains(end), probe, "{src}\n{}", out.code);
        // The source text of the function is the original either way.
        let start = body.find(if src.starts_with("class") { "class" } else { "function" }).expect("start");
        assert_eq!(crate::instrument::original_source(&body[start..]).as_deref(), Some(src), "{}", out.code);
    }
}

#[test]
fn function_expression_named_after_binding() {
    let out = snap(
        "const f = function () { return 1 };",
        ESM,
        "const f = function () {;const $nr$a=__nr$.c(__nr$b+1);try{ return (__nr$v=1,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}};;__nr$.u($nr$a)",
    );
    assert_eq!(table(&out)[1], ("f".into(), "function"));
}

#[test]
fn arrow_with_block_body() {
    let out = snap(
        "const g = (x) => { return x };",
        ESM,
        "const g = (x) => {;const $nr$a=__nr$.c1(__nr$b+1,x);try{ return (__nr$v=x,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}};;__nr$.u($nr$a)",
    );
    assert_eq!(table(&out)[1], ("g".into(), "arrow"));
}

#[test]
fn arrow_with_expression_body() {
    let out = snap(
        "const f = x => x * 2, g = async () => ({a: 1})",
        ESM,
        "const f = x => {const $nr$a=__nr$.c1(__nr$b+1,x);try{return (__nr$v=x * 2,__nr$.r($nr$a))}finally{__nr$.d=$nr$a}}, g = async () => {const $nr$a=__nr$.c(__nr$b+2);try{return (__nr$v=({a: 1}),__nr$.r($nr$a))}finally{__nr$.d=$nr$a}};__nr$.u($nr$a)",
    );
    assert_eq!(table(&out)[1..], [("f".into(), "arrow"), ("g".into(), "arrow")]);
    assert!(out.functions[2].is_async);
}

#[test]
fn object_methods_getters_setters_pass_this() {
    let out = snap(
        "const o = { m(a) {}, get x() { return 1 }, set x(v) {}, k: function () {} };",
        ESM,
        "const o = { m(a) {;const $nr$a=__nr$.m1(__nr$b+1,this,a);try{;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}}, get x() {;const $nr$a=__nr$.m0(__nr$b+2,this);try{ return (__nr$v=1,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}}, set x(v) {;const $nr$a=__nr$.m1(__nr$b+3,this,v);try{;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}}, k: function () {;const $nr$a=__nr$.c(__nr$b+4);try{;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}} };;__nr$.u($nr$a)",
    );
    assert_eq!(
        table(&out)[1..],
        [("m".into(), "method"), ("x".into(), "getter"), ("x".into(), "setter"), ("k".into(), "function")]
    );
}

#[test]
fn class_method_getter_setter_constructor() {
    let out = snap(
        "class Cart extends Base {\n  constructor(items) { super(items); this.n = 0 }\n  add(a, b, c, d) { return this }\n  get total() { return 0 }\n  set total(v) {}\n}\n",
        ESM,
        "class Cart extends Base {\n  constructor(items) {;const $nr$a=__nr$.c1(__nr$b+1,items);try{ super(items); this.n = 0 ;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}}\n  add(a, b, c, d) {;const $nr$a=__nr$.mn(__nr$b+2,this,a,b,c,d);try{ return (__nr$v=this,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}}\n  get total() {;const $nr$a=__nr$.m0(__nr$b+3,this);try{ return (__nr$v=0,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}}\n  set total(v) {;const $nr$a=__nr$.m1(__nr$b+4,this,v);try{;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}}\n};__nr$.u($nr$a)\n",
    );
    assert_eq!(
        table(&out)[1..],
        [
            ("Cart.constructor".into(), "constructor"),
            ("Cart.add".into(), "method"),
            ("Cart.total".into(), "getter"),
            ("Cart.total".into(), "setter"),
        ]
    );
    assert_eq!((out.functions[2].line, out.functions[2].col), (3, 2));
}

#[test]
fn class_fields_instance_static_private() {
    let out = snap(
        "class A { x = 1; static y = f(); #z = () => 2; w; }",
        ESM,
        "class A { x = __nr$.fr(__nr$.m0(__nr$b+1,this),1); static y = __nr$.fr(__nr$.m0(__nr$b+2,this),f()); #z = () => {const $nr$a=__nr$.c(__nr$b+4);try{return (__nr$v=2,__nr$.r($nr$a))}finally{__nr$.d=$nr$a}}; w; };__nr$.u($nr$a)",
    );
    assert_eq!(
        table(&out)[1..],
        [("A.x".into(), "field"), ("A.y".into(), "field"), ("A.#z".into(), "field"), ("A.#z".into(), "arrow")]
    );
}

#[test]
fn static_block() {
    let out = snap(
        "class A { static /* c */ { init() } }",
        ESM,
        "class A { static /* c */ {;const $nr$a=__nr$.m0(__nr$b+1,this);try{ init() ;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}} };__nr$.u($nr$a)",
    );
    assert_eq!(table(&out)[1], ("A.<static>".into(), "static-block"));
}

#[test]
fn async_function_with_await_and_for_await() {
    let out = snap(
        "async function load(url) {\n  const r = await fetch(url);\n  for await (const x of r) {}\n  return await r.json();\n}",
        ESM,
        "async function load(url) {;const $nr$a=__nr$.t(__nr$.c1(__nr$b+1,url));try{\n  const r = (__nr$v=await (__nr$v=fetch(url),__nr$.aw($nr$a,__nr$b+2)),__nr$.rs($nr$a));\n  for await (const x of r) {}\n  return (__nr$v=(__nr$v=await (__nr$v=r.json(),__nr$.aw($nr$a,__nr$b+3)),__nr$.rs($nr$a)),__nr$.r($nr$a));\n}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)",
    );
    assert_eq!(table(&out)[1..], [("load".into(), "function"), ("load".into(), "await"), ("load".into(), "await")]);
    let site = &out.functions[2];
    assert_eq!((site.line, site.col, site.is_async), (2, 12, true));
}

#[test]
fn generator_with_yields() {
    let out = snap(
        "function* g() { yield; const x = yield 1; yield* h() }",
        ESM,
        "function* g() {;const $nr$a=__nr$.t(__nr$.c(__nr$b+1));try{ 0,(__nr$v=yield (__nr$v=void 0,__nr$.yd($nr$a,__nr$b+2,4)),__nr$.rs($nr$a,3)); const x = (__nr$v=yield (__nr$v=1,__nr$.yd($nr$a,__nr$b+3)),__nr$.rs($nr$a)); 0,(__nr$v=yield* (__nr$v=h(),__nr$.yd($nr$a,__nr$b+4)),__nr$.rs($nr$a,3)) ;__nr$.u($nr$a)}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)",
    );
    assert!(out.functions[1].is_generator);
    assert_eq!(table(&out)[2..], [("g".into(), "yield"), ("g".into(), "yield"), ("g".into(), "yield")]);
    assert_eq!(out.functions[4].col, 42);
}

#[test]
fn async_generator() {
    let out = snap(
        "async function* s() { yield await p }",
        ESM,
        "async function* s() {;const $nr$a=__nr$.t(__nr$.c(__nr$b+1));try{ 0,(__nr$v=yield (__nr$v=(__nr$v=await (__nr$v=p,__nr$.aw($nr$a,__nr$b+3)),__nr$.rs($nr$a)),__nr$.yd($nr$a,__nr$b+2)),__nr$.rs($nr$a,3)) ;__nr$.u($nr$a)}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)",
    );
    let f = &out.functions[1];
    assert!(f.is_async && f.is_generator);
    assert_eq!(table(&out)[2..], [("s".into(), "yield"), ("s".into(), "await")]);
}

#[test]
fn commonjs_top_level_return() {
    let out = snap(
        "if (done) return;\nmodule.exports = function () { return 1 }\nreturn 2",
        CJS,
        "if (done) return __nr$.u($nr$a);\nmodule.exports = function () {;const $nr$a=__nr$.c(__nr$b+1);try{ return (__nr$v=1,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}}\nreturn (__nr$v=2,__nr$.r($nr$a));__nr$.u($nr$a)",
    );
    assert_eq!(table(&out)[1], ("module.exports".into(), "function"));
}

#[test]
fn esm_top_level_await() {
    let out = snap(
        "import x from 'x';\nawait x();\nexport const y = 1;\n",
        ESM,
        "import x from 'x';\n0,(__nr$v=await (__nr$v=x(),__nr$.aw($nr$a,__nr$b+1)),__nr$.rs($nr$a,3));\nexport const y = 1;;__nr$.u($nr$a)\n",
    );
    assert_eq!(table(&out)[1], ("<module>".into(), "await"));
    assert_eq!(out.functions[1].line, 2);
}

#[test]
fn catch_clauses_of_synchronous_functions_are_stores() {
    let out = run("function f() { try { a() } catch (e) { b() } try {} catch { } }\nasync function g() { try { await a } catch (e) {} }", ESM).code;
    assert!(out.contains("catch (e) {__nr$.Q=$nr$a,__nr$.e=e; b() }"), "{out}");
    assert!(out.contains("catch {__nr$.Q=$nr$a; }"), "{out}");
    // An async function's `$nr$a` is a token: its catch calls the probe.
    assert!(out.contains("catch (e) {__nr$.k($nr$a,e);}"), "{out}");
}

#[test]
fn catch_clauses() {
    snap(
        "try { a() } catch (e) { b() }\ntry {} catch { }\ntry {} catch ({x}) {}",
        ESM,
        "try { a() } catch (e) {__nr$.k($nr$a,e); b() }\ntry {} catch {__nr$.k($nr$a); }\ntry {} catch ({x}) {__nr$.k($nr$a);};__nr$.u($nr$a)",
    );
}

#[test]
fn directive_prologue_stays_first() {
    let out = snap(
        "'use strict'\nfunction f() { \"use strict\"; return }\n",
        CJS,
        "'use strict';\nfunction f() { \"use strict\";;const $nr$a=__nr$.c(__nr$b+1);try{ return __nr$.u($nr$a) }finally{__nr$.d=$nr$a}};__nr$.u($nr$a)\n",
    );
    assert_eq!(out.prologue_at, "'use strict';".len());
    assert!(with_prologue(&out).starts_with("'use strict';const __nr$b=7         ,$nr$a=__nr$.t(__nr$.c(__nr$b));\n"));
    let out = run("\"use strict\"; // c\n'use asm';\nx()", CJS);
    assert_eq!(out.prologue_at, "\"use strict\"; // c\n'use asm';".len());
}

#[test]
fn hashbang() {
    let out = snap("#!/usr/bin/env node\r\nfoo()\n", CJS, "#!/usr/bin/env node\r\nfoo();__nr$.u($nr$a)\n");
    assert_eq!(out.prologue_at, "#!/usr/bin/env node\r\n".len());
    let out = run("#!/usr/bin/env node\n'use strict'\nfoo()", CJS);
    assert_eq!(out.prologue_at, "#!/usr/bin/env node\n'use strict';".len());
}

#[test]
fn module_end_before_trailing_comment_and_newline() {
    snap("foo() // trailing", CJS, "foo();__nr$.u($nr$a) // trailing");
    snap("foo()\n/* a */\n", CJS, "foo();__nr$.u($nr$a)\n/* a */\n");
    snap("", CJS, ";__nr$.u($nr$a)");
    snap("// only a comment", CJS, ";__nr$.u($nr$a)// only a comment");
}

#[test]
fn insertions_at_one_offset_nest_properly() {
    // Arrow body opener, then the await opener; inner closers first.
    snap(
        "const f = async x => await x",
        ESM,
        "const f = async x => {const $nr$a=__nr$.t(__nr$.c1(__nr$b+1,x));try{return (__nr$v=(__nr$v=await (__nr$v=x,__nr$.aw($nr$a,__nr$b+2)),__nr$.rs($nr$a)),__nr$.r($nr$a))}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)",
    );
}

#[test]
fn minified_keywords_stay_separated() {
    snap(
        "async function*f(){return{a:1}}async function g(){await(x);return\"s\"}function*h(){yield[1];yield*x}",
        ESM,
        "async function*f(){;const $nr$a=__nr$.c(__nr$b+1);try{return(__nr$v={a:1},__nr$.r($nr$a))}finally{__nr$.d=$nr$a}}async function g(){;const $nr$a=__nr$.t(__nr$.c(__nr$b+2));try{0,(__nr$v=await(__nr$v=(x),__nr$.aw($nr$a,__nr$b+3)),__nr$.rs($nr$a,3));return(__nr$v=\"s\",__nr$.r($nr$a))}finally{__nr$.f($nr$a)}}function*h(){;const $nr$a=__nr$.t(__nr$.c(__nr$b+4));try{0,(__nr$v=yield(__nr$v=[1],__nr$.yd($nr$a,__nr$b+5)),__nr$.rs($nr$a,3));0,(__nr$v=yield*(__nr$v=x,__nr$.yd($nr$a,__nr$b+6)),__nr$.rs($nr$a,3));__nr$.u($nr$a)}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)",
    );
}

#[test]
fn bodies_that_cannot_become_blocks_get_no_probes() {
    // A top-level function declaration is var-scoped in a body but lexical in a block.
    for src in [
        "function f() { var g; function g() {} return 1 }",
        "function f() { function g() {} if (x) { for (var g in y) {} } }",
        "function f() { function g() {} function g() {} }",
        "class A { static { var g; function g() {} } }",
    ] {
        let out = run(src, CJS);
        assert!(!out.code.contains("(__nr$b+1") && !out.code.contains("return __nr$"), "{}", out.code);
        assert_eq!(out.functions[1].name, if src.starts_with("class") { "A.<static>" } else { "f" });
    }
    // A function declaration alone is fine.
    assert!(run("function f() { function g() {} let h }", CJS).code.contains("__nr$.c(__nr$b+1)"));
}

#[test]
fn params_are_flattened() {
    let out = run("function f({a, b: [c, d = 1]}, e = 2, ...rest) {}", ESM);
    assert_eq!(out.functions[1].params, ["a", "c", "d", "e", "rest"]);
    assert!(out.code.contains("__nr$.c5(__nr$b+1,a,c,d,e,rest)"));
}

#[test]
fn call_probes_by_arity() {
    // Up to six parameters a probe of that arity (no rest array), then `cn`; methods `mn` past three.
    for (params, probe) in
        [("a,b,c", "c3"), ("a,b,c,d", "c4"), ("a,b,c,d,e", "c5"), ("a,b,c,d,e,f", "c6"), ("a,b,c,d,e,f,g", "cn")]
    {
        let out = run(&format!("function h({params}) {{}}"), CJS);
        assert!(out.code.contains(&format!("__nr$.{probe}(__nr$b+1,{params})")), "{}", out.code);
    }
    let out = run("class A { m(a,b,c,d) {} }", CJS);
    assert!(out.code.contains("__nr$.mn(__nr$b+1,this,a,b,c,d)"), "{}", out.code);
}

// ---------------------------------------------------------------------------------------
// Decider

struct Skip(&'static str);

impl Decider for Skip {
    fn record_file(&self, path: &str) -> bool {
        path != "skip.js"
    }
    fn record_function(&self, info: &FnInfo) -> bool {
        info.name != self.0
    }
}

#[test]
fn unrecorded_function_keeps_its_entry_and_nested_functions() {
    let src = "async function outer() { try { await a } catch (e) {} return () => { return 1 } }";
    let out = instrument(src, "a.js", ESM, &Skip("outer")).expect("instrument");
    assert_invariants(src, &out, ESM);
    assert_eq!(
        out.code,
        "async function outer() { try { await a } catch (e) {} return () => {;const $nr$a=__nr$.c(__nr$b+3);try{ return (__nr$v=1,__nr$.r($nr$a)) }finally{__nr$.d=$nr$a}} };__nr$.u($nr$a)"
    );
    assert_eq!(
        table(&out)[1..],
        [("outer".into(), "function"), ("outer".into(), "await"), ("<anonymous>".into(), "arrow")]
    );
}

/// Type-class plans (`types = [...]` value patterns): the argument through
/// `xv`, returns through `rv` (the value in `__nr$v`), a class field through
/// `frv`; a return of `undefined` gets the probe its class calls for.
struct Typed(u16, u16);

impl Decider for Typed {
    fn value_plan(&self, info: &FnInfo) -> Option<ValuePlan> {
        let t = TypedAction { redact: self.0, drop: self.1 };
        Some(ValuePlan {
            params: vec![Action::Allow; info.params.len()],
            params_typed: info.params.iter().map(|p| (p == "token").then_some(t)).collect(),
            ret_typed: Some(t),
            this: Action::Allow,
            ret: Action::Allow,
            caught: Action::Allow,
            attr: false,
        })
    }
}

#[test]
fn typed_plans_use_the_type_class_probes() {
    let src = "function next(token, n) { if (n) return; return token }\nlet g = (a) => a, h\nclass C { f = 1 }";
    let out = instrument(src, "a.js", CJS, &Typed(32, 16)).expect("instrument");
    assert_invariants(src, &out, CJS);
    assert!(out.code.contains("__nr$.c2(__nr$b+1,__nr$.xv(token,32,16),n)"), "{}", out.code);
    assert!(out.code.contains("return (__nr$v=token,__nr$.rv($nr$a,32,16))"), "{}", out.code);
    assert!(out.code.contains("return (__nr$v=a,__nr$.rv($nr$a,32,16))"), "{}", out.code);
    assert!(out.code.contains("if (n) return __nr$.u($nr$a);"), "{}", out.code);
    assert!(out.code.contains("__nr$.frv(__nr$.m0(__nr$b+"), "{}", out.code);
    assert!(out.code.contains(",1,32,16)"), "{}", out.code);
    // `undefined` redacted or dropped by class: the matching variant of `return;`.
    let red = instrument(src, "a.js", CJS, &Typed(1, 0)).expect("instrument");
    assert!(red.code.contains("if (n) return __nr$.rr($nr$a,4);"), "{}", red.code);
    let dropped = instrument(src, "a.js", CJS, &Typed(0, 1)).expect("instrument");
    assert!(dropped.code.contains("if (n) return __nr$.rx($nr$a);"), "{}", dropped.code);
}

#[test]
fn typed_plans_keep_the_original_source() {
    let src = "function next(token, n) { if (n) return; return token }";
    for t in [Typed(32, 16), Typed(1, 0), Typed(0, 1)] {
        let out = instrument(src, "a.js", CJS, &t).expect("instrument");
        let start = out.code.find("function next").expect("function");
        let end = out.code[start..].rfind('}').expect("end") + start + 1;
        assert_eq!(crate::instrument::original_source(&out.code[start..end]).as_deref(), Some(src), "{}", out.code);
    }
    let cls = "class C { f = 1; g = x }";
    let out = instrument(cls, "a.js", CJS, &Typed(32, 16)).expect("instrument");
    let start = out.code.find("class C").expect("class");
    let end = out.code[start..].rfind('}').expect("end") + start + 1;
    assert_eq!(crate::instrument::original_source(&out.code[start..end]).as_deref(), Some(cls), "{}", out.code);
}

#[test]
fn unrecorded_file_is_unchanged() {
    let out = instrument("syntax error (", "skip.js", ESM, &Skip("")).expect("not parsed");
    assert_eq!((out.code.as_str(), out.prologue_at, out.functions.len()), ("syntax error (", 0, 0));
}

// ---------------------------------------------------------------------------------------
// Names and positions

#[test]
fn qualified_names() {
    let src = "function decl() {}
const bound = function () {}, named = function inner() {};
obj.x = () => {};
a.b.c = function () {};
this.y = () => {};
exports.z ||= () => {};
const o = { key: function () {}, 'str': () => {}, [Symbol.iterator]() {}, 1: () => {} };
class C { static s() {} #p() {} [k]() {} }
const D = class { m() {} };
(function () {})();
function withDefault(cb = () => {}) {}
const { q = () => {} } = {};
export default () => {};
";
    assert_eq!(
        names(src, ESM),
        [
            "<module>",
            "decl",
            "bound",
            "inner",
            "obj.x",
            "a.b.c",
            "this.y",
            "exports.z",
            "key",
            "str",
            "[Symbol.iterator]",
            "1",
            "C.s",
            "C.#p",
            "C.[k]",
            "D.m",
            "<anonymous>",
            "withDefault",
            "cb",
            "q",
            "default",
        ]
    );
    assert_eq!(names("export default function () {}", ESM), ["<module>", "default"]);
    assert_eq!(names("export default class { m() {} }", ESM), ["<module>", "default.m"]);
    assert_eq!(names("module.exports = class { constructor() {} }", CJS), ["<module>", "module.exports.constructor"]);
}

#[test]
fn positions_count_utf16_units() {
    // 'é' is one UTF-16 unit, '😀' two; the line is the third.
    let src = "// x\n\nconst s = 'é😀'; const f = () => 1;\n";
    let out = run(src, ESM);
    let f = &out.functions[1];
    assert_eq!((f.line, f.col), (3, 27));
    let out = run("x\u{2028}const g = () => 1", ESM);
    assert_eq!((out.functions[1].line, out.functions[1].col), (2, 10));
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn parse_error_reports_line_and_column() {
    match instrument("let a = 1;\nlet b = ;\n", "bad.js", ESM, &RecordAll) {
        Err(Error::Instrument { path, message }) => {
            assert_eq!(path, "bad.js");
            assert!(message.starts_with("2:9: "), "{message}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(instrument("return 1", "m.mjs", ESM, &RecordAll).is_err());
    assert!(instrument("import x from 'y'", "c.cjs", CJS, &RecordAll).is_err());
}

// ---------------------------------------------------------------------------------------
// Input source maps

/// Base64 of a JSON text, for building data URLs in tests.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn positions_are_mapped_through_an_inline_source_map() {
    // Generated line 1 col 0 → src/a.ts line 10 col 2; generated line 2 col 0 → line 20 col 4.
    let map = r#"{"version":3,"sources":["a.ts"],"sourceRoot":"src","names":[],"mappings":"AASE;AAUE"}"#;
    for prefix in ["data:application/json;base64,", "data:application/json;charset=utf-8;base64,"] {
        let src =
            format!("function f() {{}}\nfunction g() {{}}\n//# sourceMappingURL={prefix}{}\n", base64(map.as_bytes()));
        let out = run(&src, ESM);
        let (f, g) = (&out.functions[1], &out.functions[2]);
        assert_eq!((f.line, f.col, f.source.as_deref()), (10, 2, Some("src/a.ts")));
        assert_eq!((g.line, g.col, g.source.as_deref()), (20, 4, Some("src/a.ts")));
    }
    // A broken map is ignored.
    let src = "function f() {}\n//# sourceMappingURL=data:application/json;base64,e30K!!\n";
    let f = &run(src, ESM).functions[1];
    assert_eq!((f.line, f.col, f.source.as_deref()), (1, 0, None));
}

#[test]
fn functions_the_input_map_does_not_map_get_no_probes() {
    // Line 1 (a loader's helper, as esbuild's `__export`) has no mapping; line 2 maps to
    // a.ts line 3.
    let map = r#"{"version":3,"sources":["a.ts"],"names":[],"mappings":";AAEA"}"#;
    let src = format!(
        "var __export = function (t, a) {{ return t; }};\nfunction g() {{ return 1; }}\n//# sourceMappingURL=data:application/json;base64,{}\n",
        base64(map.as_bytes())
    );
    let out = run(&src, ESM);
    assert_eq!(out.functions.len(), 3);
    let helper_line = out.code.lines().next().unwrap_or_default();
    assert!(!helper_line.contains("__nr$.c"), "the helper got probes: {helper_line}");
    let g_line = out.code.lines().nth(1).unwrap_or_default();
    assert!(g_line.contains("__nr$.c(__nr$b+2)"), "g lost its probes: {g_line}");
}

/// One VLQ field of a source map segment.
fn vlq(v: i64, out: &mut String) {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut n = if v < 0 { ((-v) << 1) | 1 } else { v << 1 };
    loop {
        let mut digit = n & 31;
        n >>= 5;
        if n > 0 {
            digit |= 32;
        }
        out.push(B64[digit as usize] as char);
        if n == 0 {
            break;
        }
    }
}

/// `mappings` for one generated line: segments (generated col, original line, original col).
fn one_line_mappings(segments: &[(i64, i64, i64)]) -> String {
    let (mut gc, mut ol, mut oc) = (0, 0, 0);
    let mut out = String::new();
    for (i, &(g, l, c)) in segments.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        vlq(g - gc, &mut out);
        vlq(0, &mut out);
        vlq(l - ol, &mut out);
        vlq(c - oc, &mut out);
        (gc, ol, oc) = (g, l, c);
    }
    out
}

#[test]
fn a_function_with_no_segment_inside_its_span_is_a_loader_helper() {
    // esbuild's CommonJS output of a TypeScript module: export getters (`h: () => h`)
    // sit after a segment mapped to the file's start but have none of their own; the
    // module's own function has segments inside.
    let line = "var x = {}; __export(x, { h: () => h }); function h(a) { return a; }";
    let col = |needle: &str| line.find(needle).unwrap_or_default() as i64;
    let mappings =
        one_line_mappings(&[(0, 0, 0), (col("function h"), 3, 0), (col("return a"), 4, 2), (col("a; }"), 4, 9)]);
    let map = format!(r#"{{"version":3,"sources":["a.ts"],"names":[],"mappings":"{mappings}"}}"#);
    let src = format!("{line}\n//# sourceMappingURL=data:application/json;base64,{}\n", base64(map.as_bytes()));
    let out = run(&src, ESM);
    let getter = out.functions.iter().find(|f| f.name == "h" && f.kind == FnKind::Arrow);
    let own = out.functions.iter().find(|f| f.name == "h" && f.kind == FnKind::Function);
    assert!(getter.is_some_and(|f| f.source.is_none()), "the getter is not classed as generated: {getter:?}");
    assert!(own.is_some_and(|f| f.line == 4 && f.source.as_deref() == Some("a.ts")), "{own:?}");
    // The getter has no probe; the function has.
    let getter_text = &out.code[out.code.find("h: ").unwrap_or_default()..];
    assert!(getter_text.starts_with("h: () => h"), "the getter got probes: {getter_text}");
    assert!(out.code.contains("__nr$.c"), "the function lost its probes");

    // A line-granular map (one segment per line) classes nothing by spans.
    let mappings = one_line_mappings(&[(0, 0, 0)]);
    let map = format!(r#"{{"version":3,"sources":["a.ts"],"names":[],"mappings":"{mappings}"}}"#);
    let src = format!("{line}\n//# sourceMappingURL=data:application/json;base64,{}\n", base64(map.as_bytes()));
    let out = run(&src, ESM);
    assert!(out.functions.iter().filter(|f| f.name == "h").all(|f| f.source.as_deref() == Some("a.ts")));
}

// ---------------------------------------------------------------------------------------
// Real files

fn node_modules_file(rel: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules").join(rel);
    std::fs::read_to_string(path).ok()
}

#[test]
fn real_files_stay_valid() {
    for (rel, kind) in [
        ("acorn/dist/acorn.js", CJS),
        ("acorn/dist/acorn.mjs", ESM),
        ("marked/lib/marked.esm.js", ESM),
        ("marked/lib/marked.umd.js", CJS),
        ("magic-string/dist/magic-string.cjs.js", CJS),
    ] {
        let Some(src) = node_modules_file(rel) else { continue };
        let out = run(&src, kind);
        assert!(out.functions.len() > 10, "{rel}");
    }
}

/// Throughput on typescript.js (~9 MB): `cargo test --release -p noderec_core instrument_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn instrument_throughput() {
    let Some(src) = node_modules_file("typescript/lib/typescript.js") else { return };
    let _ = instrument(&src, "typescript.js", CJS, &RecordAll).expect("instrument");
    let start = std::time::Instant::now();
    let runs = 5;
    let mut out = None;
    for _ in 0..runs {
        out = Some(instrument(&src, "typescript.js", CJS, &RecordAll).expect("instrument"));
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(runs);
    let mb = src.len() as f64 / 1e6;
    let out = out.expect("ran");
    println!(
        "typescript.js: {mb:.1} MB in {:.1} ms = {:.0} MB/s, {} table entries",
        secs * 1e3,
        mb / secs,
        out.functions.len()
    );
    assert_invariants(&src, &out, CJS);
}

/// Every parsable .js/.mjs/.cjs file under node_modules must give valid code with the same
/// line count: `cargo test --release -p noderec_core instrument_corpus -- --ignored --nocapture`.
#[test]
#[ignore]
fn instrument_corpus() {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, files);
            } else if p.extension().is_some_and(|x| x == "js" || x == "mjs" || x == "cjs") {
                files.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../node_modules"), &mut files);
    let (mut done, mut bytes) = (0, 0);
    for path in files {
        let Ok(src) = std::fs::read_to_string(&path) else { continue };
        let kinds: &[ModuleKind] = match path.extension().and_then(|x| x.to_str()) {
            Some("mjs") => &[ESM],
            Some("cjs") => &[CJS],
            _ => &[CJS, ESM],
        };
        for &kind in kinds {
            if let Ok(out) = instrument(&src, "x.js", kind, &RecordAll) {
                assert_eq!(
                    LineIndex::new(&out.code).line_count(),
                    LineIndex::new(&src).line_count(),
                    "{}",
                    path.display()
                );
                let full = with_prologue(&out);
                if let Ok(dump) = std::env::var("NODEREC_DUMP_DIR") {
                    let ext = if kind == ESM { "mjs" } else { "cjs" };
                    let _ = std::fs::write(format!("{dump}/{done}.{ext}"), &full);
                    let _ = std::fs::write(format!("{dump}/{done}.orig.{ext}"), &src);
                }
                let allocator = Allocator::default();
                let st = if kind == ESM { SourceType::mjs() } else { SourceType::script() };
                let opts = ParseOptions { allow_return_outside_function: kind == CJS, ..ParseOptions::default() };
                let ret = Parser::new(&allocator, &full, st).with_options(opts).parse();
                assert!(
                    !ret.panicked && !ret.diagnostics.has_errors(),
                    "{}: {:?}",
                    path.display(),
                    ret.diagnostics.first().map(|d| d.message.to_string())
                );
                done += 1;
                bytes += src.len();
                break;
            }
        }
    }
    println!("{done} files, {:.1} MB instrumented and re-parsed", bytes as f64 / 1e6);
}

#[test]
fn commonjs_reexport_getters_stay_visible_to_cjs_module_lexer() {
    let src = "\"use strict\";\nvar m_1 = require(\"./m\");\nObject.defineProperty(exports, \"a\", { enumerable: true, get: function () { return m_1.a; } });\nObject.defineProperty(module.exports, \"b\", { enumerable: true, get: function () { return m_1.b.c; } });\nObject.defineProperty(exports, \"c\", { get: function () { console.log(1); return m_1.c; } });\n";
    let out = run(src, ModuleKind::CommonJs);
    assert!(out.code.contains("get: function () { return m_1.a; }"), "{}", out.code);
    assert!(out.code.contains("get: function () { return m_1.b.c; }"), "{}", out.code);
    // A getter of another shape is recorded as usual.
    assert!(!out.code.contains("get: function () { console.log(1); return m_1.c; }"), "{}", out.code);
    assert!(out.functions.iter().any(|f| f.name == "get"));
    assert_invariants(src, &out, ModuleKind::CommonJs);
}

#[test]
fn await_and_yield_at_a_line_start_keep_automatic_semicolons() {
    // `log()\nawait x`: a `(` first would call log's result.
    snap(
        "async function f() {\n  log()\n  await x\n  if (a) await y\n}\n",
        CJS,
        "async function f() {;const $nr$a=__nr$.t(__nr$.c(__nr$b+1));try{\n  log()\n  0,(__nr$v=await (__nr$v=x,__nr$.aw($nr$a,__nr$b+2)),__nr$.rs($nr$a,3))\n  if (a) 0,(__nr$v=await (__nr$v=y,__nr$.aw($nr$a,__nr$b+3)),__nr$.rs($nr$a,3))\n;__nr$.u($nr$a)}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)\n",
    );
    snap(
        "function* g() {\n  a()\n  yield\n  b()\n  yield 1 + 2\n}\n",
        CJS,
        "function* g() {;const $nr$a=__nr$.t(__nr$.c(__nr$b+1));try{\n  a()\n  0,(__nr$v=yield (__nr$v=void 0,__nr$.yd($nr$a,__nr$b+2,4)),__nr$.rs($nr$a,3))\n  b()\n  0,(__nr$v=yield (__nr$v=1 + 2,__nr$.yd($nr$a,__nr$b+3)),__nr$.rs($nr$a,3))\n;__nr$.u($nr$a)}finally{__nr$.f($nr$a)}};__nr$.u($nr$a)\n",
    );
}

#[test]
fn anonymous_functions_keep_their_names() {
    // `__nr$v=` would name an anonymous function `__nr$v` (V8's inferred name, in stack
    // traces): a returned or awaited one goes through a call (inference.rs).
    snap(
        "function f() { return () => 1 }\nasync function g() { return await function () {} }\nclass A { h = () => 2; k = f() }\n",
        CJS,
        "function f() {;const $nr$a=__nr$.c(__nr$b+1);try{ return (__nr$.fr($nr$a,() => {const $nr$a=__nr$.c(__nr$b+2);try{return (__nr$v=1,__nr$.r($nr$a))}finally{__nr$.d=$nr$a}})) }finally{__nr$.d=$nr$a}}\nasync function g() {;const $nr$a=__nr$.t(__nr$.c(__nr$b+3));try{ return (__nr$v=(__nr$v=await (__nr$v=__nr$.V(function () {;const $nr$a=__nr$.c(__nr$b+5);try{;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}}),__nr$.aw($nr$a,__nr$b+4)),__nr$.rs($nr$a)),__nr$.r($nr$a)) }finally{__nr$.f($nr$a)}}\nclass A { h = () => {const $nr$a=__nr$.c(__nr$b+7);try{return (__nr$v=2,__nr$.r($nr$a))}finally{__nr$.d=$nr$a}}; k = __nr$.fr(__nr$.m0(__nr$b+8,this),f()) };__nr$.u($nr$a)\n",
    );
}

#[test]
fn functions_named_by_the_program_keep_the_names_v8_infers() {
    // `const f = await e`, an object property and a class field name a function `e`
    // carries plain: the value crosses through `(__nr$).prototype=`, which pushes no name
    // (inference.rs); a field's value is a tagged template's substitution, not an argument.
    snap(
        "async function g(c) { const f = await (c ? () => 1 : 0); return { k: c || function () {} } }\nclass A { h = c ? () => 2 : 0 }\n",
        CJS,
        "async function g(c) {;const $nr$a=__nr$.t(__nr$.c1(__nr$b+1,c));try{ const f = ((__nr$).prototype=await ((__nr$).prototype=(c ? () => {const $nr$a=__nr$.c(__nr$b+3);try{return (__nr$v=1,__nr$.r($nr$a))}finally{__nr$.d=$nr$a}} : 0),__nr$.aw($nr$a,__nr$b+2)),__nr$.rs($nr$a)); return ((__nr$).prototype={ k: c || function () {;const $nr$a=__nr$.c(__nr$b+4);try{;__nr$.u($nr$a)}finally{__nr$.d=$nr$a}} },__nr$.r($nr$a)) }finally{__nr$.f($nr$a)}}\nclass A { h = __nr$.frt`${__nr$.m0(__nr$b+5,this)}${c ? () => {const $nr$a=__nr$.c(__nr$b+6);try{return (__nr$v=2,__nr$.r($nr$a))}finally{__nr$.d=$nr$a}} : 0}` };__nr$.u($nr$a)\n",
    );
}

// ---------------------------------------------------------------------------------------
// Package files at their boundary (`--scope project`): internal functions get no probes

#[track_caller]
fn run_boundary(src: &str, kind: ModuleKind, decider: &dyn Decider) -> Instrumented {
    let out = instrument_scoped(src, "pkg.js", kind, decider, true).expect("instrument");
    assert_invariants(src, &out, kind);
    out
}

/// Whether the function at table index `i` got its call probe.
fn probed(out: &Instrumented, i: u32) -> bool {
    out.code.contains(&format!("(__nr$b+{i}"))
}

#[test]
fn boundary_internal_functions_get_no_probes() {
    let src = "'use strict';\nfunction inner(x) { return x + 1 }\nfunction outer(a) { return inner(a) + inner(2) }\nmodule.exports = outer;";
    let out = run_boundary(src, CJS, &RecordAll);
    assert_eq!(table(&out)[1..], [("inner".into(), "function"), ("outer".into(), "function")]);
    assert!(!probed(&out, 1), "{}", out.code);
    assert!(probed(&out, 2), "{}", out.code);
    assert!(out.code.contains("function inner(x) { return x + 1 }"), "{}", out.code);
    // Not at the boundary: every function gets its probes.
    let all = run(src, CJS);
    assert!(probed(&all, 1) && probed(&all, 2), "{}", all.code);
    // An ES module is strict; nested declarations too; a function never called.
    let out = run_boundary(
        "function a() { function b() {} b() }\nfunction c() {}\nexport const x = () => a();\nfunction* g() { [].map(() => a()) }",
        ESM,
        &RecordAll,
    );
    assert!(!probed(&out, 1) && !probed(&out, 2) && !probed(&out, 3), "{}", out.code);
    assert!(probed(&out, 4), "{}", out.code);
}

#[test]
fn boundary_functions_used_as_values_keep_their_probes() {
    for use_ in [
        "module.exports = inner;",
        "module.exports = { inner };",
        "setTimeout(inner);",
        "inner.call(null);",
        "new inner();",
        "(inner)();",
        "(0, inner)();",
        "typeof inner;",
        "inner`x`;",
        "function outer(a = inner()) {}",
        "function outer(a = () => inner()) {}",
        "function g(inner) { return inner }",
        "eval('1'); inner();",
        "with (o) { inner() }",
        "module.exports = function* g() { inner() };",
        "module.exports = async function a() { await 0; inner() };",
        "module.exports = async () => { inner() };",
    ] {
        let strict = if use_.starts_with("with") { "" } else { "'use strict';\n" };
        let src = format!("{strict}function inner() {{}}\ninner();\n{use_}");
        let out = run_boundary(&src, CJS, &RecordAll);
        assert!(probed(&out, 1), "{use_}: {}", out.code);
    }
    // Sloppy code that reads `arguments` (`arguments.callee` hands the function out),
    // also from a nested function; one that does not is internal.
    let src = "function a() { return arguments.callee }\nfunction b() { return () => arguments }\nfunction c() { function d() { return arguments } return d() }\na(); b(); c();";
    let out = run_boundary(src, CJS, &RecordAll);
    assert_eq!(
        table(&out)[1..4],
        [("a".into(), "function"), ("b".into(), "function"), ("<anonymous>".into(), "arrow")]
    );
    assert!(probed(&out, 1) && probed(&out, 2) && probed(&out, 4) && probed(&out, 5), "{}", out.code);
    let out = run_boundary("function inner(x) { return x }\ninner(1);", CJS, &RecordAll);
    assert!(!probed(&out, 1), "{}", out.code);
    // `arguments` in strict code is harmless.
    let out = run_boundary("'use strict';\nfunction inner() { return arguments.length }\ninner();", CJS, &RecordAll);
    assert!(!probed(&out, 1), "{}", out.code);
    // Exported from an ES module.
    for src in
        ["export function inner() {}", "function inner() {}\nexport { inner };", "export default function inner() {}"]
    {
        let out = run_boundary(src, ESM, &RecordAll);
        assert!(probed(&out, 1), "{src}: {}", out.code);
    }
    // Async functions and generators keep theirs.
    let out = run_boundary("async function a() {}\nfunction* g() {}\na(); g();", ESM, &RecordAll);
    assert!(probed(&out, 1) && probed(&out, 2), "{}", out.code);
}

#[test]
fn boundary_internal_functions_keep_probes_when_another_function_has_none() {
    // `skipped` gets no probes (a filter rule): its call of `inner` would have no probe in
    // front of it, so the project could be the innermost recorded activation there.
    let src = "'use strict';\nfunction inner() {}\nfunction skipped() { inner() }\nmodule.exports = skipped;";
    let out = run_boundary(src, CJS, &Skip("skipped"));
    assert!(probed(&out, 1), "{}", out.code);
    assert!(!probed(&out, 2), "{}", out.code);
}
