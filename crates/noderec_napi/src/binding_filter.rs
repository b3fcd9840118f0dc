//! Filters: attr decisions for the value encoder, value statistics, glob
//! matching (for the picomatch differential test). The engine's benchmark
//! is `crates/noderec_core/examples/filter_bench.rs`, outside the addon.

use napi::Env;
use napi_derive::napi;
use noderec_core::filter::glob::Glob;
use noderec_core::filter::loader::load_chain;
use noderec_core::session::lifecycle;

use crate::binding_errors::guard;
use napi::Result;

/// `picomatch(pattern)(path)`, computed by the Rust engine (an invalid
/// pattern matches nothing, as in picomatch; one picomatch rejects throws).
#[napi]
pub fn glob_match(env: &Env, pattern: String, path: String) -> Result<bool> {
    guard(env, "globMatch", || {
        Glob::new_lenient(&pattern)
            .map(|g| g.is_match(&path))
            .map_err(|e| crate::binding_errors::coded("ERR_FILTER_SCHEMA", &e))
    })
}

/// The action (0 allow, 1 redact, 2 drop) for object key `key` under the
/// `attr:` rule set `set` of the running session.
#[napi]
pub fn filter_attr(set: u32, key: String) -> u32 {
    lifecycle::current().and_then(|s| s.filter.as_ref().map(|f| f.attr_action(set, &key).code())).unwrap_or(0)
}

/// Adds a thread's value counts: `[arg, ret, this, attr]` redacted, then dropped.
#[napi]
pub fn filter_stats(redacted: Vec<f64>, dropped: Vec<f64>) {
    if let Some(s) = lifecycle::current() {
        if let Some(f) = &s.filter {
            let take = |v: &[f64]| -> [u64; 4] {
                let mut o = [0u64; 4];
                for (i, x) in v.iter().take(4).enumerate() {
                    o[i] = if x.is_finite() && *x > 0.0 { *x as u64 } else { 0 };
                }
                o
            };
            f.add_value_counts(take(&redacted), take(&dropped));
        }
    }
}

/// Loads a chain (validation without recording) and returns its files.
#[napi]
pub fn filter_check(env: &Env, paths: Vec<String>) -> Result<Vec<BindingFilterFile>> {
    guard(env, "filterCheck", || {
        let chain = load_chain(&paths)?;
        Ok(chain
            .entries()
            .into_iter()
            .map(|e| BindingFilterFile { path: e.path, sha256: e.sha256, name: e.name, version: e.version })
            .collect())
    })
}

/// One file of a loaded filter chain.
#[napi(object)]
pub struct BindingFilterFile {
    /// Where it was read from.
    pub path: String,
    /// SHA-256 of its text.
    pub sha256: String,
    /// `[meta] name`.
    pub name: String,
    /// `[meta] version`.
    pub version: u32,
}

/// The chain's `[io]` table, each key from the last file that sets it.
#[napi(object)]
pub struct BindingIoFilter {
    /// Whether output is captured.
    pub capture: Option<bool>,
    /// The streams captured.
    #[napi(ts_type = "Array<'stdin' | 'stdout' | 'stderr'>")]
    pub streams: Option<Vec<String>>,
}

/// The chain's `[io]` table, each key from the last file that sets it.
#[napi]
pub fn filter_io(env: &Env, paths: Vec<String>) -> Result<BindingIoFilter> {
    guard(env, "filterIo", || {
        let io = load_chain(&paths)?.io();
        Ok(BindingIoFilter { capture: io.capture, streams: io.streams })
    })
}

/// `RegExp(source).test(input)` computed by the Rust engine (a leading
/// `(?i)` stands for the `i` flag); null when the engine refuses the
/// expression (for the differential test against JavaScript).
#[napi]
pub fn regex_match(source: String, input: String) -> Option<bool> {
    noderec_core::filter::jsregex::Regex::new(&source).ok().map(|r| r.is_match(&input))
}

/// The `[secrets]` settings of a filter chain, each key only when some file
/// of the chain sets it.
#[napi(object)]
#[derive(Default)]
pub struct BindingSecrets {
    /// Detectors run on every string value.
    pub strings: Option<Vec<String>>,
    /// Arrays of name/value pairs are checked like object keys.
    pub pairs: Option<bool>,
    /// `process.env`: the variables that keep their value.
    pub env_allow: Option<Vec<String>>,
}

/// The `[secrets]` settings of the running session's filter chain (none
/// set without a session).
#[napi]
pub fn session_secrets() -> BindingSecrets {
    let Some(s) = lifecycle::current() else { return BindingSecrets::default() };
    let Some(f) = s.filter.as_ref() else { return BindingSecrets::default() };
    let sec = f.chain().secrets();
    BindingSecrets { strings: sec.strings, pairs: sec.pairs, env_allow: sec.env_allow }
}
