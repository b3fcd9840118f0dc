//! Runs instrumented real libraries in Node with a stub runtime and checks they behave
//! exactly as the originals (skipped when `node` or the libraries are missing).

// Test helpers may panic on setup failures.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use noderec_core::instrument::{instrument, prologue, ModuleKind, RecordAll};

/// A runtime that records nothing but checks that every call event is closed once.
const STUB: &str = r#"
let next = 0, calls = 0, closed = 0, returns = 0, catches = 0, sites = 0, fields = 0;
const tok = [];
const suspended = new Set();
let hi = 0;
// Entries above the height the program restored (a synchronous function's finally) were
// left: each counts as closed once.
// A catch clause of a synchronous function stores its activation's height through Q (q,
// and d to -1; a finally may lower d since): it is counted here, at the next probe.
function sync() {
  if (rt.q !== -1) {
    const i = rt.q;
    rt.q = -1; rt.e = undefined;
    if (i >= hi) throw new Error('catch of unknown height ' + i);
    catches++;
    while (hi > i + 1) { hi--; closed++; }
    if (rt.d < 0) rt.d = hi;
  }
  if (rt.d > hi) throw new Error('height ' + rt.d + ' above the recorded stack ' + hi);
  while (hi > rt.d) { hi--; closed++; }
}
function call() { sync(); calls++; const d = rt.d; tok[d] = ++next; rt.d = hi = d + 1; return d; }
function find(x) {
  sync();
  if (x >= 0) { if (x >= hi) throw new Error('unknown height ' + x); return x; }
  let i = hi - 1;
  while (i >= 0 && tok[i] !== -x) i--;
  return i;
}
function known(x) { if (find(x) < 0) throw new Error('unknown activation ' + x); }
const rt = {
  d: 0, q: -1, e: undefined,
  c: call, c1: call, c2: call, c3: call, c4: call, c5: call, c6: call, cn: call, m0: call, m1: call, m2: call, m3: call, mn: call,
  t(d) { return -tok[d]; },
  r(x) { const v = __nr$v; __nr$v = undefined; returns++; const i = find(x); if (i < 0) throw new Error('unknown ' + x); closed += hi - i; hi = rt.d = i; return v; },
  u(x) { returns++; const i = find(x); if (i < 0) throw new Error('unknown ' + x); closed += hi - i; hi = rt.d = i; },
  f(x) {
    // A return popped the activation already; still here: left by an exception.
    const i = find(x);
    if (i >= 0) { closed += hi - i; hi = rt.d = i; }
    else if (suspended.delete(-x)) closed++;
  },
  fr(x, v) { fields++; known(x); closed += hi - x; hi = rt.d = x; return v; },
  frt(_s, x, v) { return rt.fr(x, v); },
  V(v) { return v; },
  set prototype(v) { __nr$v = v; },
  k(x, e) { catches++; known(x); },
  set Q(x) { if (rt.q !== -1) sync(); rt.q = x; rt.d = -1; },
  aw(x, s) { const v = __nr$v; __nr$v = undefined; sites++; const i = find(x); suspended.add(-x); hi = rt.d = i; return v; },
  yd(x, s) { const v = __nr$v; __nr$v = undefined; sites++; const i = find(x); suspended.add(-x); hi = rt.d = i; return v; },
  rs(x) { const v = __nr$v; __nr$v = undefined; sync(); suspended.delete(-x); tok[rt.d] = -x; rt.d = hi = rt.d + 1; return v; },
};
globalThis.__stubRt = rt;
require('vm').runInThisContext('const __nr$ = this.__stubRt; let __nr$v;');
delete globalThis.__stubRt;
process.on('exit', () => {
  // Module activations are never closed (no finally); everything else must be.
  sync();
  process.stderr.write(`stub: calls=${calls} closed=${closed} open=${hi} returns=${returns} catches=${catches} sites=${sites} fields=${fields}\n`);
});
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn node_available() -> bool {
    Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Writes the instrumented copy of `rel` (with prologue) under `dir`.
fn instrumented_copy(rel: &str, kind: ModuleKind, dir: &Path, name: &str) -> Option<PathBuf> {
    let src = std::fs::read_to_string(root().join("node_modules").join(rel)).ok()?;
    let out = instrument(&src, rel, kind, &RecordAll).expect("instrument");
    let mut code = out.code;
    code.insert_str(out.prologue_at, &prologue(1000));
    let path = dir.join(name);
    std::fs::write(&path, code).expect("write");
    Some(path)
}

fn run_node(dir: &Path, script: &str) -> (String, String) {
    let out = Command::new("node").arg("-e").arg(script).current_dir(dir).output().expect("node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "node failed:\n{stderr}");
    (stdout, stderr)
}

#[test]
fn instrumented_libraries_behave_like_the_originals() {
    if !node_available() {
        eprintln!("node not found; skipped");
        return;
    }
    let dir = std::env::temp_dir().join(format!("noderec-instrument-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    std::fs::write(dir.join("stub.cjs"), STUB).expect("stub");
    let nm = root().join("node_modules");
    let nm = nm.display();

    let cases: [(&str, ModuleKind, &str, &str); 3] = [
        (
            "acorn/dist/acorn.js",
            ModuleKind::CommonJs,
            "acorn.cjs",
            "const src = require('fs').readFileSync(LIB + '/acorn/dist/acorn.js', 'utf8');
             const ast = A.parse(src, { ecmaVersion: 'latest', locations: true });
             let bad = 0; try { A.parse('let = = ;', { ecmaVersion: 'latest' }) } catch (e) { bad = e.pos }
             console.log(JSON.stringify(ast).length, bad);",
        ),
        (
            "marked/lib/marked.esm.js",
            ModuleKind::Module,
            "marked.mjs",
            "const md = require('fs').readFileSync(LIB + '/marked/README.md', 'utf8');
             console.log(A.marked.parse(md + '\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n').length);",
        ),
        (
            "typescript/lib/typescript.js",
            ModuleKind::CommonJs,
            "typescript.cjs",
            "const r = A.transpileModule('class A<T> { x: T; constructor(x: T) { this.x = x } async *g() { yield await 1 } }', { compilerOptions: { target: A.ScriptTarget.ES5 } });
             console.log(r.outputText.length);",
        ),
    ];
    for (rel, kind, name, body) in cases {
        let Some(path) = instrumented_copy(rel, kind, &dir, name) else { continue };
        let load = |file: &str| match kind {
            ModuleKind::CommonJs => format!("require('{file}')"),
            ModuleKind::Module => format!("await import('file://{file}')"),
        };
        let original =
            format!("(async () => {{ const LIB = '{nm}'; const A = {};\n{body} }})()", load(&format!("{nm}/{rel}")));
        let probed = format!(
            "require('./stub.cjs'); (async () => {{ const LIB = '{nm}'; const A = {};\n{body} }})()",
            load(&path.display().to_string())
        );
        let (want, _) = run_node(&dir, &original);
        let (got, stats) = run_node(&dir, &probed);
        assert_eq!(got, want, "{rel}: output differs");
        let calls: u64 = stat(&stats, "calls");
        let closed: u64 = stat(&stats, "closed");
        assert!(calls > 100, "{rel}: too few calls: {stats}");
        // Every function activation is closed; only module tokens (which are closed by the
        // module-end `r`, not `f`) may stay open.
        assert!(calls - closed <= 2, "{rel}: unclosed activations: {stats}");
        eprintln!("{rel}: {stats}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn stat(stats: &str, key: &str) -> u64 {
    let pat = format!("{key}=");
    stats
        .split_whitespace()
        .find_map(|w| w.strip_prefix(&pat))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {stats}"))
}
