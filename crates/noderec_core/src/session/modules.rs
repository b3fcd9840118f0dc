//! Loading a module into the session: instrument it (or take it from the
//! on-disk cache), register its function table, and put the prologue in.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::lifecycle::{FnDef, Session};
use crate::error::Result;
use crate::host::filesystem::DirHandle;
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
    #[serde(default)]
    edits: Vec<(u32, u32)>,
}

/// What was inserted into a loaded file: enough to map a position in the running code
/// back to the file (see [`edit_map`]). Kept for every instrumented file of the process.
struct FileEdits {
    /// SHA-256 of the source that was instrumented.
    source_sha: [u8; 32],
    /// `(byte offset in the source, UTF-16 length inserted there)`, in order.
    edits: Vec<(u32, u32)>,
}

/// `--scope project` (the default): package files (under `node_modules` below the
/// project root) are recorded only at their boundary (design-docs/probes.md, *Scope*).
static PROJECT_SCOPE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets the scope for the files loaded from now on: `true` for `project`, `false` for
/// `all`.
pub fn set_project_scope(on: bool) {
    PROJECT_SCOPE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `path` is package code recorded only at its boundary: `--scope project`, a
/// `node_modules` directory below the project root on its path, and no filter rule
/// that traces it explicitly.
fn boundary_only(session: &Session, path: &str) -> bool {
    if !PROJECT_SCOPE.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    let rel = match std::path::Path::new(path).strip_prefix(&session.root) {
        Ok(rel) if !session.root.as_os_str().is_empty() => rel.to_path_buf(),
        _ => PathBuf::from(path),
    };
    if !rel.components().any(|c| c.as_os_str() == "node_modules") {
        return false;
    }
    match &session.filter {
        Some(f) => !f.traced_explicitly(&f.decide_file(path)),
        None => true,
    }
}

static EDITS: std::sync::Mutex<Option<std::collections::HashMap<String, FileEdits>>> = std::sync::Mutex::new(None);

fn sha256(text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    h.finalize().into()
}

/// The comment that makes V8 note a source map URL for a file that has none, so that
/// Node's report of an uncaught exception asks the source map machinery for the line
/// to print (runtime/fatal-report.ts). `data:,` holds no map: with source maps enabled
/// by the program, Node finds nothing there and changes nothing.
const SOURCE_MAP_STUB: &str = "\n//# sourceMappingURL=data:,";

/// What the uncaught-error report needs to print a line as the program wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditMap {
    /// The file's source, as instrumented.
    pub source: String,
    /// Per 0-based line, the insertions on it as `(generated UTF-16 column, UTF-16 length)`.
    pub lines: std::collections::BTreeMap<u32, Vec<(u32, u32)>>,
}

/// For a file loaded in this process: its source (read again from disk, and only if it is
/// still the text that was instrumented) and, per 0-based line, the insertions on it.
pub fn edit_map(path: &str) -> Option<EditMap> {
    let (sha, edits) = {
        let all = EDITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let f = all.as_ref()?.get(path)?;
        (f.source_sha, f.edits.clone())
    };
    let source = std::fs::read_to_string(path).ok()?;
    if sha256(&source) != sha {
        return None;
    }
    let mut lines: std::collections::BTreeMap<u32, Vec<(u32, u32)>> = std::collections::BTreeMap::new();
    let mut index = crate::instrument::LineIndex::new(&source);
    let mut shift_line = u32::MAX;
    let mut shift = 0u32;
    for (at, len) in edits {
        if len == 0 {
            continue;
        }
        let (line, col) = index.position(at);
        if line != shift_line {
            shift_line = line;
            shift = 0;
        }
        lines.entry(line - 1).or_default().push((col + shift, len));
        shift += len;
    }
    Some(EditMap { source, lines })
}

/// The key of a file's coverage map in the instrumentation cache (js/hooks/coverage-map.ts):
/// the map depends on the source and the insertions (the prologue's length with them) only,
/// and on what the caller puts in `salt` (the URL the map names, the map builder's version).
/// `None` unless `path` was instrumented in this process and the file on disk is still the
/// text that was instrumented (the tools read that file: a map to other text would be wrong).
fn coverage_map_key(path: &str, salt: &str) -> Option<String> {
    let (sha, edits) = {
        let all = EDITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let f = all.as_ref()?.get(path)?;
        (f.source_sha, f.edits.clone())
    };
    let bytes = std::fs::read(path).ok()?;
    let mut h = Sha256::new();
    h.update(&bytes);
    if <[u8; 32]>::from(h.finalize()) != sha {
        return None;
    }
    let mut h = Sha256::new();
    h.update(b"coverage-map\0");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0]);
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(path.as_bytes());
    h.update([0]);
    h.update(sha);
    for (at, len) in edits {
        h.update(at.to_le_bytes());
        h.update(len.to_le_bytes());
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A coverage map stored by [`store_coverage_map`] for this file as it is now (same
/// source, same insertions, same `salt`), if the session has a cache.
pub fn cached_coverage_map(session: &Session, path: &str, salt: &str) -> Option<String> {
    use std::io::Read as _;
    let dir = session.cache()?;
    let key = coverage_map_key(path, salt)?;
    let f = dir.open_own_dir(&key[..2]).ok()?.open_file(&key[2..]).ok()?;
    let mut text = String::new();
    f.take(MAX_CACHE_ENTRY).read_to_string(&mut text).ok()?;
    // The text goes after the program's code: only a map comment is taken (a
    // cut or foreign file is built again).
    let data = text.strip_prefix(COVERAGE_MAP_PREFIX)?;
    if !data.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=') {
        return None;
    }
    Some(text)
}

/// How a coverage map comment starts (js/hooks/coverage-map.ts); base64 follows.
const COVERAGE_MAP_PREFIX: &str = "\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,";

/// Keeps a file's coverage map in the session's cache (nothing without a cache, or when
/// the file on disk is no longer the text that was instrumented).
pub fn store_coverage_map(session: &Session, path: &str, salt: &str, text: &str) {
    let Some(dir) = session.cache() else { return };
    if let Some(key) = coverage_map_key(path, salt) {
        cache_write(dir, &key, text.as_bytes());
    }
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

fn cache_key(source: &str, path: &str, kind: ModuleKind, scope: &str, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update([0, matches!(kind, ModuleKind::Module) as u8, 0]);
    h.update(scope.as_bytes());
    h.update([0]);
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
    match prepare(session, source, path, kind, decider, salt)? {
        Some(entry) => link(session, source, path, entry).map(Some),
        None => Ok(None),
    }
}

/// Instruments `source` for a process other than this one (a test runner
/// that transforms in one process and runs the code in another): the
/// function table travels in the code, and the process that runs it
/// registers it with `__nr$.reg` ([`link_portable`]) for its own session.
pub fn load_module_portable(
    session: &Session,
    source: &str,
    path: &str,
    kind: ModuleKind,
    decider: &dyn Decider,
    salt: &str,
) -> Result<Option<String>> {
    let Some(entry) = prepare(session, source, path, kind, decider, salt)? else { return Ok(None) };
    let at = entry.prologue_at.min(entry.code.len());
    let table = serde_json::to_string(&PortableTable { path: path.to_string(), functions: entry.functions })
        .map_err(|e| crate::error::Error::Internal { message: format!("function table: {e}") })?;
    let literal = serde_json::to_string(&table)
        .map_err(|e| crate::error::Error::Internal { message: format!("function table: {e}") })?;
    let mut code = entry.code;
    if code.is_char_boundary(at) {
        code.insert_str(at, &instrument::prologue_registering(&literal));
    }
    Ok(Some(code))
}

#[derive(Serialize, Deserialize)]
struct PortableTable {
    path: String,
    functions: Vec<CachedFn>,
}

/// Registers a function table carried by code from [`load_module_portable`]
/// in `session`. Returns the base id and the `attr:` rule spec for the
/// probes (`"first,len"` or `"[ids]"`), if the filters have attr rules.
pub fn link_portable(session: &Session, table_json: &str) -> Result<(u32, Option<String>)> {
    let t: PortableTable = serde_json::from_str(table_json)
        .map_err(|e| crate::error::Error::Internal { message: format!("function table: {e}") })?;
    let (base, attr, _) = register(session, &t.path, t.functions)?;
    Ok((base, attr))
}

fn prepare(
    session: &Session,
    source: &str,
    path: &str,
    kind: ModuleKind,
    decider: &dyn Decider,
    salt: &str,
) -> Result<Option<CacheEntry>> {
    if !decider.record_file(path) {
        if let Some(f) = &session.filter {
            f.note_skipped_file(path);
        }
        return Ok(None);
    }
    // A package file at its boundary is instrumented without probes in its internal
    // functions, so the key tells the scopes apart.
    let boundary = boundary_only(session, path);
    let key = cache_key(source, path, kind, if boundary { "b" } else { "" }, salt);
    let cache = session.cache();
    let cached: Option<CacheEntry> = cache.and_then(|d| cache_read(d, &key));
    let entry = match cached {
        Some(e) => e,
        None => {
            let out = instrument::instrument_scoped(source, path, kind, decider, boundary)?;
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
                edits: out.edits,
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
    Ok(Some(entry))
}

/// Registers the entry's functions, inserts its prologue (and the source map stub), and
/// keeps the file's insertions for the uncaught-error report ([`edit_map`]).
fn link(session: &Session, source: &str, path: &str, entry: CacheEntry) -> Result<String> {
    let (base, attr_spec, n_defs) = register(session, path, entry.functions)?;
    let mut code = entry.code;
    let mut edits = entry.edits;
    let at = entry.prologue_at.min(code.len());
    if code.is_char_boundary(at) {
        let mut prologue = match &attr_spec {
            Some(spec) => instrument::prologue_with_attr(base, spec),
            None => instrument::prologue(base),
        };
        if boundary_only(session, path) {
            prologue = instrument::prologue_boundary(&prologue, n_defs);
        }
        if super::activation::is_activation_file(path) {
            prologue.insert_str(0, &super::activation::announce(base, n_defs));
        }
        code.insert_str(at, &prologue);
        // The prologue's place is the edit of length 0.
        if let Some(e) = edits.iter_mut().find(|e| e.1 == 0) {
            e.1 = prologue.len() as u32;
        }
    }
    if !source.contains("sourceMappingURL") {
        code.push_str(SOURCE_MAP_STUB);
    }
    let mut all = EDITS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    all.get_or_insert_with(Default::default).insert(path.to_string(), FileEdits { source_sha: sha256(source), edits });
    Ok(code)
}

/// Filter statistics and decisions, then the table: base id, `attr:` spec, count.
fn register(session: &Session, path: &str, functions: Vec<CachedFn>) -> Result<(u32, Option<String>, u32)> {
    // Filters: count the functions they skip, and register the `attr:` rule set of each
    // function (session ids, so never in the cached code) in the prologue.
    let mut attr_spec = None;
    if let Some(f) = &session.filter {
        let file = f.decide_file(path);
        let mut skipped = 0u64;
        let mut ids = Vec::with_capacity(functions.len());
        for (i, func) in functions.iter().enumerate() {
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
    let defs: Vec<FnDef> = functions
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
    Ok((base, attr_spec, n_defs))
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
