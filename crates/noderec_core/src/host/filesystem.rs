//! Trace directories: naming, creation, atomic file replacement.
//!
//! Every directory noderec creates is mode 0700 and every file 0600,
//! whatever the umask (traces hold argument values and the environment).
//! Files are created relative to a directory handle opened once
//! (`openat`), with `O_CREAT | O_EXCL | O_NOFOLLOW`, so a renamed directory
//! or a planted symlink can never make the recorder write elsewhere.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
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

/// Creates `<out>/<program>-<UTC stamp>-<pid>/` (with a numeric suffix if
/// taken), mode 0700, inside the out dir opened and checked once (see
/// [`DirHandle::open_out_dir`]).
pub fn create_trace_dir(out: &Path, program: &str, start_ms: i64, pid: u32) -> Result<DirHandle> {
    let parent = DirHandle::open_out_dir(out)?;
    let base = format!("{}-{}-{}", sanitize(program), compact_stamp(start_ms), pid);
    for n in 0..1000 {
        let name = if n == 0 { base.clone() } else { format!("{base}-{n}") };
        match parent.create_dir(&name) {
            Ok(d) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::TraceDirCreate { path: out.join(&name).display().to_string(), source: e }),
        }
    }
    Err(Error::TraceDirCreate {
        path: out.join(base).display().to_string(),
        source: std::io::Error::other("too many traces with the same name"),
    })
}

/// Mode of every directory noderec creates (whatever the umask).
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file noderec creates (whatever the umask).
pub const FILE_MODE: u32 = 0o600;

fn cname(name: &str) -> std::io::Result<CString> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("not a plain file name: {name:?}")));
    }
    CString::new(name).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "file name with a NUL byte"))
}

fn cpath(p: &Path) -> std::io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path with a NUL byte"))
}

fn check(rc: libc::c_int) -> std::io::Result<libc::c_int> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn fd_stat(fd: &impl AsRawFd) -> std::io::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat writes a `struct stat` into the buffer we own.
    check(unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) })?;
    // SAFETY: fstat succeeded, so the struct is initialized.
    Ok(unsafe { st.assume_init() })
}

/// `st_mode` as u32 (it is u16 on some systems).
#[allow(clippy::unnecessary_cast)]
fn mode_of(st: &libc::stat) -> u32 {
    st.st_mode as u32
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn file_type_name(mode: u32) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFIFO => "a FIFO",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        libc::S_IFLNK => "a symbolic link",
        _ => "not a regular file",
    }
}

/// Why a directory that receives traces is not safe to use, or `None`. A
/// group/world-writable directory with the sticky bit is accepted (others
/// cannot rename or remove our entries there).
fn unsafe_dir_reason(st: &libc::stat) -> Option<String> {
    let me = euid();
    let mode = mode_of(st);
    if st.st_uid != me && st.st_uid != 0 {
        return Some(format!("it is owned by user id {}, not by this user (id {me}) or root", st.st_uid));
    }
    let open = mode & 0o022;
    if open != 0 && mode & 0o1000 == 0 {
        let who = if mode & 0o002 != 0 { "all users" } else { "its group" };
        return Some(format!(
            "it is writable by {who} without the sticky bit (mode {:04o}), so another user could swap or plant files in it",
            mode & 0o7777
        ));
    }
    None
}

/// A directory opened once: noderec creates its files relative to this
/// handle (`openat`), never through a path that could be swapped, and every
/// file with `O_CREAT | O_EXCL | O_NOFOLLOW`.
#[derive(Debug)]
pub struct DirHandle {
    fd: OwnedFd,
    path: PathBuf,
}

impl DirHandle {
    /// The out dir that receives trace directories: created (0700, with any
    /// missing parents) when it does not exist, then opened and checked. A
    /// directory owned by another user (root excepted), or writable by its
    /// group or by everyone without the sticky bit, is refused with
    /// `ERR_UNSAFE_OUT_DIR`.
    pub fn open_out_dir(path: &Path) -> Result<DirHandle> {
        let create_err = |e: std::io::Error| Error::TraceDirCreate { path: path.display().to_string(), source: e };
        let created = if path.is_dir() {
            false
        } else {
            std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path).map_err(create_err)?;
            true
        };
        let c = cpath(path).map_err(create_err)?;
        // SAFETY: `c` is a valid NUL-terminated path.
        let fd = check(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })
            .map_err(create_err)?;
        // SAFETY: `fd` was just returned by open and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fd_stat(&fd).map_err(create_err)?;
        if created && st.st_uid == euid() {
            // SAFETY: fchmod on a descriptor we own.
            check(unsafe { libc::fchmod(fd.as_raw_fd(), DIR_MODE as libc::mode_t) }).map_err(create_err)?;
        } else if let Some(why) = unsafe_dir_reason(&st) {
            return Err(Error::UnsafeDir { path: path.display().to_string(), message: why });
        }
        Ok(DirHandle { fd, path: path.to_path_buf() })
    }

    /// An existing trace directory, opened without following a symlink at
    /// its last component, that must belong to this user.
    pub fn open_trace_dir(path: &Path) -> Result<DirHandle> {
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => Error::TraceMissing { path: path.display().to_string() },
            _ => Error::io(format!("open {}", path.display()), e),
        };
        let c = cpath(path).map_err(io)?;
        // SAFETY: `c` is a valid NUL-terminated path.
        let fd = check(unsafe {
            libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        })
        .map_err(io)?;
        // SAFETY: `fd` was just returned by open.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fd_stat(&fd).map_err(io)?;
        if st.st_uid != euid() {
            return Err(Error::UnsafeDir {
                path: path.display().to_string(),
                message: format!(
                    "the trace directory is owned by user id {}, not by this user (id {})",
                    st.st_uid,
                    euid()
                ),
            });
        }
        Ok(DirHandle { fd, path: path.to_path_buf() })
    }

    /// The path the directory was opened at (for messages; it may have been
    /// renamed since).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the sub-directory `name` (mode 0700 whatever the umask) and
    /// opens it. `AlreadyExists` when the name is taken (by anything,
    /// symlinks included).
    pub fn create_dir(&self, name: &str) -> std::io::Result<DirHandle> {
        let c = cname(name)?;
        // SAFETY: valid directory descriptor and NUL-terminated name.
        check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), DIR_MODE as libc::mode_t) })?;
        let child = self.open_own_dir(name)?;
        // SAFETY: fchmod on a descriptor we own.
        check(unsafe { libc::fchmod(child.fd.as_raw_fd(), DIR_MODE as libc::mode_t) })?;
        Ok(child)
    }

    /// Opens the existing sub-directory `name` without following a symlink;
    /// it must belong to this user.
    pub fn open_own_dir(&self, name: &str) -> std::io::Result<DirHandle> {
        let c = cname(name)?;
        // SAFETY: valid directory descriptor and NUL-terminated name.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: `fd` was just returned by openat.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fd_stat(&fd)?;
        if st.st_uid != euid() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{name} is owned by another user"),
            ));
        }
        Ok(DirHandle { fd, path: self.path.join(name) })
    }

    /// Creates the file `name` (mode 0600 whatever the umask) with
    /// `O_CREAT | O_EXCL | O_NOFOLLOW`: an existing file or symlink of that
    /// name is an error, never written through.
    pub fn create_file(&self, name: &str) -> std::io::Result<File> {
        let c = cname(name)?;
        // SAFETY: valid directory descriptor and NUL-terminated name.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                FILE_MODE as libc::c_uint,
            )
        })?;
        // SAFETY: `fd` was just returned by openat.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: fchmod on a descriptor we own.
        check(unsafe { libc::fchmod(fd.as_raw_fd(), FILE_MODE as libc::mode_t) })?;
        Ok(File::from(fd))
    }

    /// Opens the regular file `name` for reading without following a symlink.
    pub fn open_file(&self, name: &str) -> std::io::Result<File> {
        let c = cname(name)?;
        // SAFETY: valid directory descriptor and NUL-terminated name.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: `fd` was just returned by openat.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = fd_stat(&fd)?;
        if mode_of(&st) & libc::S_IFMT != libc::S_IFREG || st.st_uid != euid() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{name} is not a regular file of this user"),
            ));
        }
        Ok(File::from(fd))
    }

    fn unlink(&self, name: &str) {
        if let Ok(c) = cname(name) {
            // SAFETY: valid directory descriptor and NUL-terminated name.
            unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) };
        }
    }

    /// Replaces the file `name` with `bytes` atomically: a new temporary file
    /// (`O_EXCL | O_NOFOLLOW`, 0600) in this directory, then `renameat`.
    /// Readers see the old or the new content, never a mix; a failure
    /// leaves no temporary file behind.
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let what = |op: &str, e: std::io::Error| Error::io(format!("{op} {}", self.path.join(name).display()), e);
        let mut last = None;
        for n in 0..16u32 {
            let tmp = format!(".{name}.tmp{}-{n}", std::process::id());
            let mut f = match self.create_file(&tmp) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    last = Some(e);
                    continue;
                }
                Err(e) => return Err(what("write", e)),
            };
            let written = f.write_all(bytes).and_then(|()| f.flush());
            drop(f);
            if let Err(e) = written {
                self.unlink(&tmp);
                return Err(what("write", e));
            }
            let (a, b) = (cname(&tmp).map_err(|e| what("write", e))?, cname(name).map_err(|e| what("write", e))?);
            // SAFETY: valid directory descriptors and NUL-terminated names.
            let rc = check(unsafe { libc::renameat(self.fd.as_raw_fd(), a.as_ptr(), self.fd.as_raw_fd(), b.as_ptr()) });
            if let Err(e) = rc {
                self.unlink(&tmp);
                return Err(what("rename into", e));
            }
            return Ok(());
        }
        Err(what("write", last.unwrap_or_else(|| std::io::Error::other("no free temporary name"))))
    }

    /// Like [`write_atomic`](Self::write_atomic); when the disk is full (or
    /// the quota reached) the existing regular file `name` is overwritten in
    /// place instead — its blocks are already allocated, so a final status
    /// still reaches a full disk.
    pub fn write_replace(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let err = match self.write_atomic(name, bytes) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let full = matches!(&err, Error::Io { source, .. } if matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)));
        if !full {
            return Err(err);
        }
        let Ok(c) = cname(name) else { return Err(err) };
        // SAFETY: valid directory descriptor and NUL-terminated name.
        let fd = unsafe {
            libc::openat(self.fd.as_raw_fd(), c.as_ptr(), libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        };
        if fd < 0 {
            return Err(err);
        }
        // SAFETY: `fd` was just returned by openat.
        let mut f = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        let regular = fd_stat(&f).is_ok_and(|st| mode_of(&st) & libc::S_IFMT == libc::S_IFREG);
        if !regular {
            return Err(err);
        }
        let done = f.write_all(bytes).and_then(|()| f.set_len(bytes.len() as u64));
        done.map_err(|_| err)
    }
}

/// Opens a file to read it, refusing anything that is not a regular file
/// (a FIFO would block forever, `/dev/zero` never ends) without blocking on
/// it. Returns the file and its length.
pub fn open_regular(path: &Path) -> std::io::Result<(File, u64)> {
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path)?;
    let st = fd_stat(&f)?;
    let mode = mode_of(&st);
    if mode & libc::S_IFMT != libc::S_IFREG {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is {}, not a regular file", file_type_name(mode)),
        ));
    }
    // Back to blocking reads (regular files never block anyway).
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(f.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok((f, st.st_size as u64))
}

/// Reads a whole regular file of at most `limit` bytes (see [`open_regular`]).
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let (f, len) = open_regular(path)?;
    if len > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is {len} bytes, more than the {limit} accepted", path.display()),
        ));
    }
    let mut out = Vec::with_capacity(len as usize);
    f.take(limit + 1).read_to_end(&mut out)?;
    if out.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} grew past {limit} bytes", path.display()),
        ));
    }
    Ok(out)
}

/// Creates `path` and its missing parents with mode 0700, then checks the
/// last one: a directory noderec reads code from (the instrumentation
/// cache) must belong to this user, or another user could plant code in it.
/// One of this user's that others could write to is set to 0700 (what they
/// may have put there is not used: entries must belong to this user too).
/// Returns the handle, or why the directory is refused.
pub fn open_private_dir(path: &Path) -> std::result::Result<DirHandle, String> {
    if !path.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(path)
            .map_err(|e| format!("cannot create it: {e}"))?;
    }
    let c = cpath(path).map_err(|e| e.to_string())?;
    // SAFETY: `c` is a valid NUL-terminated path.
    let fd = check(unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) })
        .map_err(|e| e.to_string())?;
    // SAFETY: `fd` was just returned by open.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = fd_stat(&fd).map_err(|e| e.to_string())?;
    if st.st_uid != euid() {
        return Err(format!("it is owned by user id {}, not by this user (id {})", st.st_uid, euid()));
    }
    if mode_of(&st) & 0o077 != 0 {
        // SAFETY: fchmod on a descriptor we own.
        check(unsafe { libc::fchmod(fd.as_raw_fd(), DIR_MODE as libc::mode_t) }).map_err(|e| e.to_string())?;
    }
    Ok(DirHandle { fd, path: path.to_path_buf() })
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
