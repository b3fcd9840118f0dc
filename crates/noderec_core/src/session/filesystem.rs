//! Trace directories: naming, creation, atomic file replacement.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// UTC date-time parts of a Unix time in milliseconds.
pub fn utc_parts(ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    (y, mo, d, (sod / 3600) as u32, ((sod % 3600) / 60) as u32, (sod % 60) as u32, ms.rem_euclid(1000) as u32)
}

/// `2024-05-01T12:00:00.123Z`
pub fn iso8601(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = utc_parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `20240501T120000`
pub fn compact_stamp(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = utc_parts(ms);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}")
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Keeps a program name safe as a directory name component.
pub fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' })
        .take(64)
        .collect();
    if s.is_empty() {
        "program".into()
    } else {
        s
    }
}

/// Creates `<out>/<program>-<UTC stamp>-<pid>/` (with a numeric suffix if taken).
pub fn create_trace_dir(out: &Path, program: &str, start_ms: i64, pid: u32) -> Result<PathBuf> {
    std::fs::create_dir_all(out).map_err(|e| Error::TraceDirCreate { path: out.display().to_string(), source: e })?;
    let base = format!("{}-{}-{}", sanitize(program), compact_stamp(start_ms), pid);
    for n in 0..1000 {
        let name = if n == 0 { base.clone() } else { format!("{base}-{n}") };
        let dir = out.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::TraceDirCreate { path: dir.display().to_string(), source: e }),
        }
    }
    Err(Error::TraceDirCreate {
        path: out.join(base).display().to_string(),
        source: std::io::Error::other("too many traces with the same name"),
    })
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers
/// see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(format!("write {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(format!("rename {} to {}", tmp.display(), path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_709_251_199_999), "2024-02-29T23:59:59.999Z");
        assert_eq!(compact_stamp(951_782_400_000), "20000229T000000");
    }

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize("my app/x.js"), "my_app_x.js");
        assert_eq!(sanitize(""), "program");
    }
}
