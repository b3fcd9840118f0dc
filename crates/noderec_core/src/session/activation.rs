//! The activation path (`NODEREC_ACTIVATION_PATH`): the file whose first
//! called function opens the recording window. When that file is loaded, a
//! statement telling the probes its function id range is put before the
//! prologue (same line, so line numbers do not move).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static ACTIVATION: Mutex<Option<PathBuf>> = Mutex::new(None);

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Sets (or, with an empty path, clears) the activation file.
pub fn set(path: &str) {
    let v = if path.is_empty() { None } else { Some(canonical(Path::new(path))) };
    *ACTIVATION.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = v;
}

/// Whether `path` (a module's absolute path) is the activation file.
pub fn is_activation_file(path: &str) -> bool {
    let a = ACTIVATION.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    match a.as_ref() {
        None => false,
        Some(a) => Path::new(path) == a || canonical(Path::new(path)) == *a,
    }
}

/// The statement announcing the activation file's call ids `[lo, hi)` to the
/// probes: every function of the file except its module top level.
pub fn announce(base: u32, count: u32) -> String {
    format!("__nr$.act({},{});", base + 1, base + count)
}
