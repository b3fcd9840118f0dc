//! Decisions for files, functions and values, cached.
//!
//! Evaluation (design-docs/filters.md): the effective `default_exec` and
//! `default_value_action` are those of the last file of the chain that sets
//! them; then every rule of the chain, in file order, that matches the
//! file (pkg:, file:) or the function (fn:) overrides the `exec` and
//! `value_default` it sets, and puts its value patterns in front of those
//! collected so far (the most recently matching rule first). A value takes
//! the action of the first pattern that matches it, else `value_default`.
//! A file is not instrumented at all when its exec is `skip` and no later
//! `fn:` rule could set `trace` again.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::model::{Action, Chain, Exec, Rule, ALL_TYPES, TYPES};
use super::selector::Kind;
use super::summary::{FilterStats, FilterSummary, KindCounts};
use crate::instrument::{Decider, FnInfo, FnKind, TypedAction, ValuePlan};

/// The `object` type class.
const OBJECT: u16 = 1 << 8;

/// FxHash: a fast non-cryptographic hasher for the decision caches.
#[derive(Default, Clone, Copy)]
pub struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
        self.0 = h;
    }
}

type FxBuild = BuildHasherDefault<Fx>;

/// The decision for one file.
#[derive(Debug)]
pub struct FileDecision {
    /// Dense id of the file within the engine.
    pub id: u32,
    /// Whether the file is instrumented.
    pub record: bool,
    /// Path relative to the project root (`/`), or absolute outside it.
    pub rel: String,
    /// The owning package, if any.
    pub pkg: Option<Arc<str>>,
    /// Indices of the matching pkg:/file: rules, in chain order.
    matched: Vec<u32>,
}

/// The decision for one function.
#[derive(Debug, Clone)]
pub struct FnDecision {
    pub record: bool,
    pub plan: ValuePlan,
    /// Session id of the function's attr rule set (0: none).
    pub attr: u32,
}

/// Cached function decisions with the same key hash: (file id, name, parameters, decision).
type FnBucket = Vec<(u32, String, Vec<String>, Arc<FnDecision>)>;

#[derive(Default)]
struct State {
    files: HashMap<String, Arc<FileDecision>, FxBuild>,
    fns: HashMap<u64, FnBucket, FxBuild>,
    pkg_dirs: HashMap<PathBuf, Option<Arc<str>>, FxBuild>,
    attr_sets: Vec<Vec<(u32, u32)>>,
    attr_ids: HashMap<Vec<(u32, u32)>, u32>,
    skipped: HashSet<String>,
    instrumented: HashSet<String>,
}

/// Run-time statistics.
#[derive(Default)]
pub struct Stats {
    pub files_instrumented: AtomicU64,
    pub files_skipped: AtomicU64,
    pub functions_skipped: AtomicU64,
    /// arg, ret, this, attr
    pub redacted: [AtomicU64; 4],
    pub dropped: [AtomicU64; 4],
}

/// A loaded chain, ready to decide.
pub struct Engine {
    chain: Arc<Chain>,
    /// The rules in force, in chain order, as (file, rule) indices into `chain`.
    rules: Vec<(u32, u32)>,
    default_exec: Exec,
    default_value: Action,
    file_rules: Vec<u32>,
    fn_rules: Vec<u32>,
    last_fn_trace: Option<u32>,
    has_attr: bool,
    root: PathBuf,
    hash: String,
    state: Mutex<State>,
    pub stats: Stats,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Engine {
    /// Builds the engine for `chain`; `root` is the project root (`file:`
    /// paths are relative to it).
    pub fn new(chain: impl Into<Arc<Chain>>, root: &Path) -> Engine {
        let chain: Arc<Chain> = chain.into();
        let start = chain.files.iter().rposition(|f| !f.inherit).unwrap_or(0);
        let mut default_exec = Exec::Trace;
        let mut default_value = Action::Allow;
        let mut rules = Vec::new();
        for (fi, f) in chain.files.iter().enumerate().skip(start) {
            if let Some(e) = f.scope.default_exec {
                default_exec = e;
            }
            if let Some(a) = f.scope.default_value_action {
                default_value = a;
            }
            rules.extend((0..f.scope.rules.len()).map(|ri| (fi as u32, ri as u32)));
        }
        let mut file_rules = Vec::new();
        let mut fn_rules = Vec::new();
        let mut last_fn_trace = None;
        let mut has_attr = false;
        for (i, &(fi, ri)) in rules.iter().enumerate() {
            let r = &chain.files[fi as usize].scope.rules[ri as usize];
            if r.selector.kind == Kind::Fn {
                fn_rules.push(i as u32);
                if r.exec == Some(Exec::Trace) {
                    last_fn_trace = Some(i as u32);
                }
            } else {
                file_rules.push(i as u32);
            }
            has_attr |= r.value_patterns.iter().any(|p| p.selector.kind == Kind::Attr);
        }
        let hash = chain.hash();
        let mut state = State::default();
        state.attr_sets.push(Vec::new()); // id 0: no attr patterns
        Engine {
            chain,
            rules,
            default_exec,
            default_value,
            file_rules,
            fn_rules,
            last_fn_trace,
            has_attr,
            root: root.to_path_buf(),
            hash,
            state: Mutex::new(state),
            stats: Stats::default(),
        }
    }

    /// Rule `i` of the rules in force.
    #[inline]
    fn rule(&self, i: u32) -> &Rule {
        let (f, r) = self.rules[i as usize];
        &self.chain.files[f as usize].scope.rules[r as usize]
    }

    /// The chain's content hash (part of the instrumentation cache key).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The chain.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Whether any rule has `attr:` patterns.
    pub fn has_attr(&self) -> bool {
        self.has_attr
    }

    /// The path as `file:` selectors see it.
    pub fn relative(&self, abs: &str) -> String {
        match Path::new(abs).strip_prefix(&self.root) {
            Ok(rel) if !self.root.as_os_str().is_empty() => rel.to_string_lossy().replace('\\', "/"),
            _ => abs.replace('\\', "/"),
        }
    }

    /// Evaluates the file-level rules (no cache, no file system): whether
    /// the file is recorded and the matching rules.
    pub fn evaluate_file(&self, rel: &str, pkg: Option<&str>) -> (bool, Vec<u32>) {
        let mut matched = Vec::new();
        let mut exec = self.default_exec;
        let mut last_exec = None;
        for &i in &self.file_rules {
            let r = self.rule(i);
            let hit = match r.selector.kind {
                Kind::Pkg => pkg.is_some_and(|p| r.selector.is_match(p)),
                _ => r.selector.is_match(rel),
            };
            if hit {
                matched.push(i);
                if let Some(e) = r.exec {
                    exec = e;
                    last_exec = Some(i);
                }
            }
        }
        let record = exec == Exec::Trace || self.last_fn_trace.is_some_and(|t| last_exec.is_none_or(|l| t > l));
        (record, matched)
    }

    /// The decision for a file (cached by absolute path).
    pub fn decide_file(&self, abs: &str) -> Arc<FileDecision> {
        if let Some(d) = lock(&self.state).files.get(abs) {
            return Arc::clone(d);
        }
        let rel = self.relative(abs);
        let pkg = self.package_of(abs);
        let (record, matched) = self.evaluate_file(&rel, pkg.as_deref());
        let mut st = lock(&self.state);
        let id = st.files.len() as u32;
        let d = Arc::new(FileDecision { id, record, rel, pkg, matched });
        st.files.insert(abs.to_string(), Arc::clone(&d));
        d
    }

    /// The npm package owning `abs`: the `name` of the nearest package.json
    /// that has one (cached per directory).
    pub fn package_of(&self, abs: &str) -> Option<Arc<str>> {
        let start = Path::new(abs).parent()?.to_path_buf();
        let mut visited = Vec::new();
        let mut dir = Some(start.as_path());
        let mut found: Option<Arc<str>> = None;
        while let Some(d) = dir {
            if let Some(hit) = lock(&self.state).pkg_dirs.get(d) {
                found = hit.clone();
                break;
            }
            visited.push(d.to_path_buf());
            if let Ok(bytes) = std::fs::read(d.join("package.json")) {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                    if let Some(n) = v.get("name").and_then(|n| n.as_str()) {
                        if !n.is_empty() {
                            found = Some(Arc::from(n));
                            break;
                        }
                    }
                }
            }
            dir = d.parent();
        }
        let mut st = lock(&self.state);
        for d in visited {
            st.pkg_dirs.insert(d, found.clone());
        }
        found
    }

    fn fn_key(file: u32, name: &str, params: &[String]) -> u64 {
        let mut h = Fx::default();
        file.hash(&mut h);
        name.hash(&mut h);
        params.hash(&mut h);
        h.finish()
    }

    /// The decision for a function of a file (cached by file, name and parameters).
    pub fn decide_function(&self, file: &FileDecision, name: &str, params: &[String]) -> Arc<FnDecision> {
        let key = Self::fn_key(file.id, name, params);
        {
            let st = lock(&self.state);
            if let Some(list) = st.fns.get(&key) {
                for (f, n, p, d) in list {
                    if *f == file.id && n == name && p.as_slice() == params {
                        return Arc::clone(d);
                    }
                }
            }
        }
        let d = Arc::new(self.evaluate_function(file, name, params));
        lock(&self.state).fns.entry(key).or_default().push((
            file.id,
            name.to_string(),
            params.to_vec(),
            Arc::clone(&d),
        ));
        d
    }

    /// Evaluates a function's decision (no cache).
    pub fn evaluate_function(&self, file: &FileDecision, name: &str, params: &[String]) -> FnDecision {
        let mut exec = self.default_exec;
        let mut vd = self.default_value;
        // Rules with value patterns, most recent first.
        let mut with_patterns: Vec<u32> = Vec::new();
        let mut apply = |i: u32, exec: &mut Exec, vd: &mut Action| {
            let r = self.rule(i);
            if let Some(e) = r.exec {
                *exec = e;
            }
            if let Some(a) = r.value_default {
                *vd = a;
            }
            if !r.value_patterns.is_empty() {
                with_patterns.push(i);
            }
        };
        let (mut a, mut b) = (0usize, 0usize);
        let fm = &file.matched;
        let fr = &self.fn_rules;
        loop {
            // Next fn rule that matches.
            while b < fr.len() && !self.rule(fr[b]).selector.is_match(name) {
                b += 1;
            }
            match (fm.get(a), fr.get(b)) {
                (Some(&x), Some(&y)) if x < y => {
                    apply(x, &mut exec, &mut vd);
                    a += 1;
                }
                (Some(&x), None) => {
                    apply(x, &mut exec, &mut vd);
                    a += 1;
                }
                (_, Some(&y)) => {
                    apply(y, &mut exec, &mut vd);
                    b += 1;
                }
                (None, None) => break,
            }
        }
        // The most recently matching rule first.
        with_patterns.reverse();
        // Per type class, the action of the first pattern of `kind` that
        // matches `s` and applies to the class (`types`), else `vd`.
        let decide = |kind: Kind, s: &str| -> (Action, Option<TypedAction>) {
            let mut per = [vd; TYPES.len()];
            let mut left = ALL_TYPES;
            'rules: for &i in &with_patterns {
                for p in &self.rule(i).value_patterns {
                    if p.selector.kind == kind && left & p.types != 0 && p.selector.is_match(s) {
                        for (b, a) in per.iter_mut().enumerate() {
                            if left & p.types & (1 << b) != 0 {
                                *a = p.action;
                            }
                        }
                        left &= !p.types;
                        if left == 0 {
                            break 'rules;
                        }
                    }
                }
            }
            if per.iter().all(|a| *a == per[0]) {
                return (per[0], None);
            }
            let mask =
                |want: Action| per.iter().enumerate().filter(|(_, a)| **a == want).fold(0u16, |m, (b, _)| m | 1 << b);
            (Action::Allow, Some(TypedAction { redact: mask(Action::Redact), drop: mask(Action::Drop) }))
        };
        let (param_actions, params_typed): (Vec<Action>, Vec<Option<TypedAction>>) =
            params.iter().map(|p| decide(Kind::Arg, p)).unzip();
        let (ret, ret_typed) = decide(Kind::Ret, name);
        // `this` is an object (or undefined in strict code): its class decides.
        let this = match decide(Kind::This, name) {
            (a, None) => a,
            (_, Some(t)) if t.redact & OBJECT != 0 => Action::Redact,
            (_, Some(t)) if t.drop & OBJECT != 0 => Action::Drop,
            _ => Action::Allow,
        };
        let params_typed = if params_typed.iter().any(Option::is_some) { params_typed } else { Vec::new() };
        let plan = ValuePlan { params: param_actions, params_typed, ret_typed, this, ret, caught: vd, attr: false };
        let mut attr_list = Vec::new();
        for &i in &with_patterns {
            for (j, p) in self.rule(i).value_patterns.iter().enumerate() {
                if p.selector.kind == Kind::Attr {
                    attr_list.push((i, j as u32));
                }
            }
        }
        let attr = if attr_list.is_empty() { 0 } else { self.intern_attr(attr_list) };
        let plan = ValuePlan { attr: attr != 0, ..plan };
        FnDecision { record: exec == Exec::Trace, plan, attr }
    }

    fn intern_attr(&self, list: Vec<(u32, u32)>) -> u32 {
        let mut st = lock(&self.state);
        if let Some(&id) = st.attr_ids.get(&list) {
            return id;
        }
        let id = st.attr_sets.len() as u32;
        st.attr_sets.push(list.clone());
        st.attr_ids.insert(list, id);
        id
    }

    /// The action for an object key under attr rule set `set`: the first
    /// matching `attr:` pattern, else allow.
    pub fn attr_action(&self, set: u32, key: &str) -> Action {
        let list = match lock(&self.state).attr_sets.get(set as usize) {
            Some(l) => l.clone(),
            None => return Action::Allow,
        };
        for (i, j) in list {
            let p = &self.rule(i).value_patterns[j as usize];
            if p.selector.is_match(key) {
                return p.action;
            }
        }
        Action::Allow
    }

    /// Counts a file that is not instrumented (once per path).
    pub fn note_skipped_file(&self, abs: &str) {
        if lock(&self.state).skipped.insert(abs.to_string()) {
            self.stats.files_skipped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts an instrumented file (once per path) and its skipped functions.
    pub fn note_instrumented_file(&self, abs: &str, functions_skipped: u64) {
        if lock(&self.state).instrumented.insert(abs.to_string()) {
            self.stats.files_instrumented.fetch_add(1, Ordering::Relaxed);
            self.stats.functions_skipped.fetch_add(functions_skipped, Ordering::Relaxed);
        }
    }

    /// Adds run-time value counts (arg, ret, this, attr) reported by a thread.
    pub fn add_value_counts(&self, redacted: [u64; 4], dropped: [u64; 4]) {
        for k in 0..4 {
            self.stats.redacted[k].fetch_add(redacted[k], Ordering::Relaxed);
            self.stats.dropped[k].fetch_add(dropped[k], Ordering::Relaxed);
        }
    }

    /// The chain and statistics for metadata.json.
    pub fn summary(&self) -> FilterSummary {
        let s = &self.stats;
        let counts = |a: &[AtomicU64; 4]| KindCounts {
            arg: a[0].load(Ordering::Relaxed),
            ret: a[1].load(Ordering::Relaxed),
            this: a[2].load(Ordering::Relaxed),
            attr: a[3].load(Ordering::Relaxed),
        };
        FilterSummary {
            chain: self.chain.entries(),
            stats: FilterStats {
                files_instrumented: s.files_instrumented.load(Ordering::Relaxed),
                files_skipped: s.files_skipped.load(Ordering::Relaxed),
                functions_skipped: s.functions_skipped.load(Ordering::Relaxed),
                values_redacted: counts(&s.redacted),
                values_dropped: counts(&s.dropped),
            },
        }
    }

    /// Whether a `pkg:`/`file:` rule that sets `exec = "trace"` decides the
    /// file (the last matching rule with an `exec`): a filter naming a
    /// package records it in full under `--scope project`.
    pub fn traced_explicitly(&self, file: &FileDecision) -> bool {
        file.matched.iter().rev().find_map(|&i| self.rule(i).exec) == Some(Exec::Trace)
    }

    /// A decider for one file, for the instrumenter.
    pub fn file_decider(&self, abs: &str) -> FileDecider<'_> {
        FileDecider { engine: self, file: self.decide_file(abs) }
    }
}

/// The instrumenter's view of the engine for one file.
pub struct FileDecider<'e> {
    engine: &'e Engine,
    pub file: Arc<FileDecision>,
}

impl Decider for FileDecider<'_> {
    fn record_file(&self, _path: &str) -> bool {
        self.file.record
    }
    fn record_function(&self, info: &FnInfo) -> bool {
        self.engine.decide_function(&self.file, &info.name, &info.params).record
    }
    fn value_plan(&self, info: &FnInfo) -> Option<ValuePlan> {
        if matches!(info.kind, FnKind::Await | FnKind::Yield) {
            return None;
        }
        let d = self.engine.decide_function(&self.file, &info.name, &info.params);
        if d.plan.is_plain() {
            None
        } else {
            Some(d.plan.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::loader::{parse_str, DEFAULT_TOML};

    fn engine(files: &[&str]) -> Engine {
        let mut chain = Chain::default();
        chain.files.push(parse_str(DEFAULT_TOML, "default.toml", true).unwrap_or_else(|e| panic!("{e}")));
        for (i, f) in files.iter().enumerate() {
            chain.files.push(parse_str(f, &format!("f{i}.toml"), false).unwrap_or_else(|e| panic!("{e}")));
        }
        Engine::new(chain, Path::new("/proj"))
    }

    fn file(e: &Engine, rel: &str, pkg: Option<&str>) -> FileDecision {
        let (record, matched) = e.evaluate_file(rel, pkg);
        FileDecision { id: 0, record, rel: rel.into(), pkg: pkg.map(Arc::from), matched }
    }

    const META: &str = "[meta]\nname = \"t\"\nversion = 1\n";

    #[test]
    fn default_records_everything_and_redacts_secrets() {
        let e = engine(&[]);
        let f = file(&e, "node_modules/express/index.js", Some("express"));
        assert!(f.record);
        let d = e.evaluate_function(&f, "login", &["user".into(), "password".into(), "apiKey".into()]);
        assert!(d.record);
        assert_eq!(d.plan.params, vec![Action::Allow, Action::Redact, Action::Redact]);
        assert_eq!(d.plan.ret, Action::Allow);
        assert!(d.attr != 0);
        for k in [
            "password",
            "Authorization",
            "x-api-key",
            "set-cookie",
            "refresh_token",
            "clientSecret",
            "sessionId",
            "cvv",
            "ssn",
            "privateKey",
            "jwt",
            "iban",
            "bearer",
            "credentials",
            "passwd",
            "pwd",
            "access_token",
            "creditCard",
            "ssh_key",
            "x-auth-token",
        ] {
            assert_eq!(e.attr_action(d.attr, k), Action::Redact, "{k}");
        }
        for k in ["author", "name", "user", "id", "amount", "passenger", "tokenizer_x"] {
            let want = if k.contains("token") { Action::Redact } else { Action::Allow };
            assert_eq!(e.attr_action(d.attr, k), want, "{k}");
        }
    }

    #[test]
    fn typed_patterns_decide_by_the_value_type_class() {
        let f = format!(
            "{META}[[scope.rules]]\nselector = \"file:**\"\n\
             [[scope.rules.value_patterns]]\nselector = \"arg:tok\"\ntypes = [\"string\", \"object\"]\naction = \"redact\"\n\
             [[scope.rules.value_patterns]]\nselector = \"arg:tok\"\ntypes = [\"bigint\"]\naction = \"drop\"\n\
             [[scope.rules.value_patterns]]\nselector = \"ret:getIt\"\ntypes = [\"string\"]\naction = \"redact\"\n\
             [[scope.rules.value_patterns]]\nselector = \"arg:plain\"\ntypes = [\"number\"]\naction = \"allow\"\n"
        );
        let e = engine(&[&f]);
        let fd = file(&e, "src/a.js", None);
        let d = e.evaluate_function(&fd, "getIt", &["tok".into(), "plain".into(), "x".into()]);
        let string = 1 << 5;
        let object = 1 << 8;
        let bigint = 1 << 4;
        assert_eq!(d.plan.params_typed[0], Some(TypedAction { redact: string | object, drop: bigint }));
        // An allow limited to numbers over an allow default changes nothing.
        assert_eq!(d.plan.params_typed[1], None);
        assert_eq!(d.plan.params[1], Action::Allow);
        assert_eq!(d.plan.params_typed[2], None);
        assert_eq!(d.plan.ret_typed, Some(TypedAction { redact: string, drop: 0 }));
        assert!(!d.plan.is_plain());
        // The default's untyped patterns still apply to every type.
        let d = e.evaluate_function(&fd, "other", &["password".into()]);
        assert_eq!(d.plan.params, vec![Action::Redact]);
        assert!(d.plan.params_typed.is_empty());
        assert_eq!(d.plan.ret_typed, None);
    }

    #[test]
    fn rules_override_in_order_and_patterns_accumulate() {
        let user = format!(
            "{META}[scope]\ndefault_value_action = \"allow\"\n\
             [[scope.rules]]\nselector = \"pkg:express\"\nexec = \"skip\"\n\
             [[scope.rules]]\nselector = \"file:src/billing/**\"\nvalue_default = \"redact\"\n\
             [[scope.rules.value_patterns]]\nselector = \"arg:amount\"\naction = \"allow\"\n\
             [[scope.rules]]\nselector = \"fn:Cart.*\"\nvalue_default = \"drop\"\n\
             [[scope.rules]]\nselector = \"fn:internal*\"\nexec = \"skip\"\n"
        );
        let cli = format!(
            "{META}[[scope.rules]]\nselector = \"fn:Cart.addItem\"\nvalue_default = \"allow\"\n\
             [[scope.rules.value_patterns]]\nselector = \"attr:password\"\naction = \"allow\"\n\
             [[scope.rules.value_patterns]]\nselector = \"ret:Cart.*\"\naction = \"redact\"\n"
        );
        let e = engine(&[&user, &cli]);
        assert!(!file(&e, "node_modules/express/lib/router.js", Some("express")).record);
        let billing = file(&e, "src/billing/pay.js", Some("app"));
        let d = e.evaluate_function(&billing, "charge", &["amount".into(), "card".into(), "password".into()]);
        assert_eq!(d.plan.params, vec![Action::Allow, Action::Redact, Action::Redact]);
        assert_eq!(d.plan.ret, Action::Redact);
        let d = e.evaluate_function(&billing, "Cart.total", &["x".into()]);
        assert_eq!(d.plan.params, vec![Action::Drop]);
        assert_eq!(d.plan.ret, Action::Drop);
        // The CLI rule is more recent: allow by default, ret redacted, and
        // its attr:password allow comes before the default's redact.
        let d = e.evaluate_function(&billing, "Cart.addItem", &["item".into(), "amount".into()]);
        assert_eq!(d.plan.params, vec![Action::Allow, Action::Allow]);
        assert_eq!(d.plan.ret, Action::Redact);
        assert_eq!(e.attr_action(d.attr, "password"), Action::Allow);
        assert_eq!(e.attr_action(d.attr, "token"), Action::Redact);
        assert!(!e.evaluate_function(&billing, "internalHelper", &[]).record);
        assert!(e.evaluate_function(&billing, "helper", &[]).record);
    }

    #[test]
    fn skip_by_default_with_fn_trace_keeps_files_instrumented() {
        let f = format!(
            "{META}[scope]\ndefault_exec = \"skip\"\n[[scope.rules]]\nselector = \"fn:handle*\"\nexec = \"trace\"\n"
        );
        let e = engine(&[&f]);
        let fd = file(&e, "src/a.js", None);
        assert!(fd.record, "a later fn: trace rule may apply");
        assert!(e.evaluate_function(&fd, "handleRequest", &[]).record);
        assert!(!e.evaluate_function(&fd, "other", &[]).record);
        let g = format!("{f}[[scope.rules]]\nselector = \"file:vendor/**\"\nexec = \"skip\"\n");
        let e = engine(&[&g]);
        assert!(!file(&e, "vendor/x.js", None).record, "the file rule comes after the fn rule");
    }

    #[test]
    fn inherit_false_drops_earlier_files() {
        let f = "[meta]\nname = \"t\"\nversion = 1\ninherit = false\n".to_string();
        let e = engine(&[&f]);
        let fd = file(&e, "src/a.js", None);
        let d = e.evaluate_function(&fd, "login", &["password".into()]);
        assert_eq!(d.plan.params, vec![Action::Allow]);
        assert_eq!(d.attr, 0);
        assert!(!e.has_attr());
    }

    #[test]
    fn caches_and_packages() {
        let dir = std::env::temp_dir().join(format!("noderec-filter-pkg-{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir.join("node_modules/@scope/lib/dist"));
        let _ = std::fs::write(dir.join("package.json"), r#"{"name":"my-app"}"#);
        let _ = std::fs::write(dir.join("node_modules/@scope/lib/package.json"), r#"{"name":"@scope/lib"}"#);
        let _ = std::fs::write(dir.join("node_modules/@scope/lib/dist/package.json"), r#"{"type":"module"}"#);
        let f = format!("{META}[[scope.rules]]\nselector = \"pkg:@scope/*\"\nexec = \"skip\"\n");
        let mut chain = Chain::default();
        chain.files.push(parse_str(&f, "f.toml", true).unwrap_or_else(|e| panic!("{e}")));
        let e = Engine::new(chain, &dir);
        let lib = dir.join("node_modules/@scope/lib/dist/index.js").display().to_string();
        let own = dir.join("src/index.js").display().to_string();
        let d = e.decide_file(&lib);
        assert_eq!(d.pkg.as_deref(), Some("@scope/lib"));
        assert!(!d.record);
        let d2 = e.decide_file(&own);
        assert_eq!(d2.pkg.as_deref(), Some("my-app"));
        assert_eq!(d2.rel, "src/index.js");
        assert!(d2.record);
        assert!(Arc::ptr_eq(&e.decide_file(&own), &d2));
        let a = e.decide_function(&d2, "f", &["x".into()]);
        assert!(Arc::ptr_eq(&a, &e.decide_function(&d2, "f", &["x".into()])));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
