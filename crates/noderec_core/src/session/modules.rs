//! Loading a module into the session: instrument it (or take it from the
//! on-disk cache), register its function table, and put the prologue in.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::filesystem::DirHandle;
use super::lifecycle::{FnDef, Session};
use crate::error::Result;
use crate::instrument::{self, Decider, ModuleKind};

#[derive(Serialize, Deserialize)]
struct CachedFn {
    name: String,
    kind: String,
    line: u32,
    col: u32,
    flags: u8,
    params: Vec<String>,
    source: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    prologue_at: usize,
    functions: Vec<CachedFn>,
    code: String,
}

/// Where instrumented modules are cached when the policy names no
/// directory (`NODEREC_CACHE_DIR`, passed in as a start option):
/// `$XDG_CACHE_HOME/noderec`, else `~/.cache/noderec`, else the temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("noderec");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache").join("noderec");
    }
    // SAFETY: geteuid has no preconditions.
    std::env::temp_dir().join(format!("noderec-cache-{}", unsafe { libc::geteuid() }))
}

/// Largest cache entry read back (a module's instrumented code and table).
const MAX_CACHE_ENTRY: u64 = 512 << 20;

/// Reads a cache entry: `<dir>/<key[..2]>/<key[2..]>`, each step opened
/// without following symlinks and only if it belongs to this user.
fn cache_read(dir: &DirHandle, key: &str) -> Option<CacheEntry> {
    use std::io::Read as _;
    let f = dir.open_own_dir(&key[..2]).ok()?.open_file(&key[2..]).ok()?;
    let mut bytes = Vec::new();
    f.take(MAX_CACHE_ENTRY).read_to_end(&mut bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes a cache entry (0700 directory, 0600 file, temporary file and rename).
fn cache_write(dir: &DirHandle, key: &str, bytes: &[u8]) {
    let sub = match dir.create_dir(&key[..2]) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match dir.open_own_dir(&key[..2]) {
            Ok(d) => d,
            Err(_) => return,
        },
        Err(_) => return,
    };
    // A cache that cannot be written only costs speed.
    let _ = sub.write_atomic(&key[2..], bytes);
}

fn kind_name(k: instrument::FnKind) -> &'static str {
    k.as_str()
}

fn cache_key(source: &str, path: &str, kind: ModuleKind, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0, matches!(kind, ModuleKind::Module) as u8, 0]);
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(source.as_bytes());
    let d = h.finalize();
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Instruments `source` for `session`. Returns `None` when the decider
/// skips the whole file (the caller then runs the source untouched).
pub fn load_module(
    session: &Session,
    source: &str,
    path: &str,
    kind: ModuleKind,
    decider: &dyn Decider,
    salt: &str,
) -> Result<Option<String>> {
    if !decider.record_file(path) {
        if let Some(f) = &session.filter {
            f.note_skipped_file(path);
        }
        return Ok(None);
    }
    let key = cache_key(source, path, kind, salt);
    let cache = session.cache();
    let cached: Option<CacheEntry> = cache.and_then(|d| cache_read(d, &key));
    let entry = match cached {
        Some(e) => e,
        None => {
            let out = instrument::instrument(source, path, kind, decider)?;
            let e = CacheEntry {
                prologue_at: out.prologue_at,
                functions: out
                    .functions
                    .iter()
                    .map(|f| CachedFn {
                        name: f.name.clone(),
                        kind: kind_name(f.kind).to_string(),
                        line: f.line,
                        col: f.col,
                        flags: u8::from(f.is_async) | (u8::from(f.is_generator) << 1),
                        params: f.params.clone(),
                        source: f.source.clone(),
                    })
                    .collect(),
                code: out.code,
            };
            if let Some(d) = cache {
                if let Ok(bytes) = serde_json::to_vec(&e) {
                    cache_write(d, &key, &bytes);
                }
            }
            e
        }
    };
    if entry.functions.is_empty() {
        return Ok(None);
    }
    // Filters: count the functions they skip, and register the `attr:` rule set of each
    // function (session ids, so never in the cached code) in the prologue.
    let mut attr_spec = None;
    if let Some(f) = &session.filter {
        let file = f.decide_file(path);
        let mut skipped = 0u64;
        let mut ids = Vec::with_capacity(entry.functions.len());
        for (i, func) in entry.functions.iter().enumerate() {
            // None: never runs a probe (an await/yield site, a skipped function).
            let id = match func.kind.as_str() {
                "await" | "yield" => None,
                _ => {
                    let d = f.decide_function(&file, &func.name, &func.params);
                    if i > 0 && !d.record {
                        skipped += 1;
                    }
                    d.record.then_some(d.attr)
                }
            };
            ids.push(id);
        }
        f.note_instrumented_file(path, skipped);
        if f.has_attr() {
            let mut known = ids.iter().flatten();
            let first = known.next().copied().unwrap_or(0);
            attr_spec = Some(if known.all(|&x| x == first) {
                format!("{first},{}", ids.len())
            } else {
                let list: Vec<String> = ids.iter().map(|x| x.unwrap_or(0).to_string()).collect();
                format!("[{}]", list.join(","))
            });
        }
    }
    let defs: Vec<FnDef> = entry
        .functions
        .into_iter()
        .map(|f| FnDef {
            name: f.name,
            kind: static_kind(&f.kind),
            line: f.line,
            col: f.col,
            flags: f.flags,
            params: f.params,
            source: f.source,
        })
        .collect();
    let n_defs = defs.len() as u32;
    let base = session.register_functions(path, &defs)?;
    let mut code = entry.code;
    let at = entry.prologue_at.min(code.len());
    if code.is_char_boundary(at) {
        let prologue = match &attr_spec {
            Some(spec) => instrument::prologue_with_attr(base, spec),
            None => instrument::prologue(base),
        };
        code.insert_str(at, &prologue);
        if super::activation::is_activation_file(path) {
            code.insert_str(at, &super::activation::announce(base, n_defs));
        }
    }
    Ok(Some(code))
}

fn static_kind(k: &str) -> &'static str {
    const KINDS: [&str; 11] = [
        "module",
        "function",
        "arrow",
        "method",
        "getter",
        "setter",
        "constructor",
        "field",
        "static-block",
        "await",
        "yield",
    ];
    KINDS.iter().find(|x| **x == k).copied().unwrap_or("function")
}
