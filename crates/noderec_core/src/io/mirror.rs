//! The fd mirror (`NODEREC_CAPTURE_IO=proxies+fd`): fds 1 and 2 are pointed
//! at a pipe (or, when they are a terminal, a pseudo-terminal in raw mode, so
//! `isatty` stays true), and one reader thread per destination forwards every
//! byte to a duplicate of the original fd, unchanged and in order, then hands
//! the bytes the stream proxies did not announce to JavaScript.
//!
//! When fds 1 and 2 share a destination (`2>&1`, the same terminal) they
//! share one channel, so their relative order is kept too; bytes only the
//! mirror saw are then reported as stdout. libuv's own descriptor for the
//! stream (a TTY is reopened, see design-docs/io-capture.md) is redirected
//! with them so that stream writes and bypassing writes travel the same way.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::dedup::Matcher;

/// Raised (1) when mirror-only bytes wait to be drained; the main thread's
/// probes check it at every call/return boundary (with the JS-side flag).
pub static PENDING_FLAG: AtomicI32 = AtomicI32::new(0);

/// Mirror-only bytes kept for JavaScript at most; more are dropped (counted).
pub const MAX_PENDING: usize = 16 << 20;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What an fd refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    /// A terminal.
    Tty,
    /// A pipe or FIFO.
    Pipe,
    /// A regular file.
    File,
    /// A socket.
    Socket,
    /// A character device that is not a terminal (`/dev/null`), or other.
    Other,
    /// Not open.
    Closed,
}

impl FdKind {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            FdKind::Tty => "tty",
            FdKind::Pipe => "pipe",
            FdKind::File => "file",
            FdKind::Socket => "socket",
            FdKind::Other => "other",
            FdKind::Closed => "closed",
        }
    }
}

fn fstat(fd: RawFd) -> Option<libc::stat> {
    // SAFETY: fstat writes into the zeroed struct; any fd value is allowed.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then_some(st)
    }
}

/// Classifies `fd`.
pub fn fd_kind(fd: RawFd) -> FdKind {
    let Some(st) = fstat(fd) else { return FdKind::Closed };
    // SAFETY: isatty only inspects the fd.
    if unsafe { libc::isatty(fd) } == 1 {
        return FdKind::Tty;
    }
    match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO => FdKind::Pipe,
        libc::S_IFREG => FdKind::File,
        libc::S_IFSOCK => FdKind::Socket,
        _ => FdKind::Other,
    }
}

/// Identity of what an fd refers to (same pipe, file or terminal).
#[allow(clippy::unnecessary_cast)] // the field types differ between platforms
fn identity(fd: RawFd) -> Option<(u64, u64, u64)> {
    let st = fstat(fd)?;
    Some((st.st_dev as u64, st.st_ino as u64, st.st_rdev as u64))
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn cloexec_dup(fd: RawFd) -> Result<RawFd, String> {
    // SAFETY: plain fcntl on an fd we were given.
    let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
    if d < 0 {
        return Err(format!("dup fd {fd}: {}", std::io::Error::last_os_error()));
    }
    Ok(d)
}

fn close(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: we own fd.
        unsafe { libc::close(fd) };
    }
}

/// Opens a pseudo-terminal in raw mode with the window size of `like`;
/// returns (master, slave).
fn open_pty(like: RawFd) -> Result<(RawFd, RawFd), String> {
    let err = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    // SAFETY: standard POSIX pty calls on fds we own; buffers are sized.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 {
            return Err(err("posix_openpt"));
        }
        if libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            let e = err("unlockpt");
            close(m);
            return Err(e);
        }
        let mut name = [0 as libc::c_char; 128];
        if libc::ptsname_r(m, name.as_mut_ptr(), name.len()) != 0 {
            let e = err("ptsname");
            close(m);
            return Err(e);
        }
        let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if s < 0 {
            let e = err("open pty slave");
            close(m);
            return Err(e);
        }
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(s, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(s, libc::TCSANOW, &t);
        }
        copy_winsize(like, m);
        Ok((m, s))
    }
}

/// Copies the window size of terminal `from` to pty master `to` when it differs.
fn copy_winsize(from: RawFd, to: RawFd) {
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ read/write a winsize struct.
    unsafe {
        let mut a: libc::winsize = std::mem::zeroed();
        let mut b: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut a) == 0
            && (libc::ioctl(to, libc::TIOCGWINSZ, &mut b) != 0 || a.ws_row != b.ws_row || a.ws_col != b.ws_col)
        {
            libc::ioctl(to, libc::TIOCSWINSZ, &a);
        }
    }
}

/// Writes all of `buf` to `fd`, waiting when it is non-blocking and full.
fn write_all(fd: RawFd, mut buf: &[u8]) -> Result<(), i32> {
    while !buf.is_empty() {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            buf = &buf[n as usize..];
            continue;
        }
        match errno() {
            libc::EINTR => {}
            libc::EAGAIN => {
                let mut p = libc::pollfd { fd, events: libc::POLLOUT, revents: 0 };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, 1000) };
            }
            e => return Err(e),
        }
    }
    Ok(())
}

struct ChanState {
    matcher: Matcher,
    /// Forwarding failed (the destination went away): targets are restored.
    broken: bool,
    /// Targets are restored and the channel is drained.
    closed: bool,
}

struct Channel {
    read_fd: RawFd,
    /// Duplicate of the original destination; bytes are forwarded to it.
    forward: RawFd,
    /// Streams this channel carries (1, 2 or both).
    streams: Vec<u8>,
    /// (fd that now points into the channel, duplicate of what it was).
    targets: Vec<(RawFd, RawFd)>,
    tty: bool,
    state: Mutex<ChanState>,
}

/// Counters of the mirror.
#[derive(Debug, Default)]
pub struct MirrorStats {
    /// Bytes read from the mirror (all of them forwarded).
    pub bytes: AtomicU64,
    /// Bytes seen only by the mirror (reported as `mirror` chunks).
    pub mirror_only: AtomicU64,
    /// Mirror-only bytes dropped because JavaScript did not drain them.
    pub dropped: AtomicU64,
    /// Forwarding errors (e.g. EPIPE).
    pub forward_errors: AtomicU64,
}

/// Mirror-only runs `(stream, bytes)` waiting for JavaScript, and their total size.
type PendingRuns = (Vec<(u8, Vec<u8>)>, usize);

/// Streams grouped by destination identity.
type Groups<'a> = Vec<((u64, u64, u64), Vec<&'a Target>)>;

struct Shared {
    pending: Mutex<PendingRuns>,
    stats: MirrorStats,
    stop: AtomicBool,
}

struct Mirror {
    channels: Vec<Arc<Channel>>,
    threads: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
}

static MIRROR: Mutex<Option<Mirror>> = Mutex::new(None);

/// One standard stream to mirror: its fd (1 or 2) and the other fds that
/// write to the same place (libuv's reopened terminal fd).
#[derive(Debug, Clone)]
pub struct Target {
    /// 1 or 2.
    pub stream: u8,
    /// Extra fds (ignored unless they refer to the same thing as `stream`).
    pub extra: Vec<RawFd>,
}

/// What `start` set up, for logs and metadata.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// Per stream: (stream, kind of the original destination, channel index or -1).
    pub streams: Vec<(u8, FdKind, i32)>,
}

impl Channel {
    fn restore(&self) {
        for &(t, saved) in &self.targets {
            // SAFETY: both fds are open; dup2 is atomic.
            unsafe { libc::dup2(saved, t) };
        }
    }

    /// Reads what is available, forwards it and records the unannounced
    /// part. Returns false at end of input.
    fn pump(&self, st: &mut ChanState, shared: &Shared, buf: &mut [u8]) -> bool {
        loop {
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n == 0 {
                return false;
            }
            if n < 0 {
                return match errno() {
                    libc::EINTR => continue,
                    libc::EAGAIN => true,
                    _ => false, // EIO: no pty slave open any more
                };
            }
            let data = &buf[..n as usize];
            shared.stats.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            if !st.broken {
                if let Err(_e) = write_all(self.forward, data) {
                    // The destination is gone (EPIPE, ...). Step aside: the
                    // program's next write meets the error itself.
                    shared.stats.forward_errors.fetch_add(1, Ordering::Relaxed);
                    st.broken = true;
                    self.restore();
                }
            }
            let mut runs = Vec::new();
            st.matcher.feed(data, &mut runs);
            if !runs.is_empty() {
                let stream = self.streams[0];
                let mut p = lock(&shared.pending);
                for r in runs {
                    shared.stats.mirror_only.fetch_add(r.len() as u64, Ordering::Relaxed);
                    if p.1 + r.len() > MAX_PENDING {
                        shared.stats.dropped.fetch_add(r.len() as u64, Ordering::Relaxed);
                        continue;
                    }
                    p.1 += r.len();
                    match p.0.last_mut() {
                        Some((s, b)) if *s == stream && b.len() < 64 << 10 => b.extend_from_slice(&r),
                        _ => p.0.push((stream, r)),
                    }
                }
                drop(p);
                PENDING_FLAG.store(1, Ordering::Release);
            }
            if (n as usize) < buf.len() {
                return true;
            }
        }
    }
}

fn run(ch: Arc<Channel>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let mut p = libc::pollfd { fd: ch.read_fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 100) };
        let mut st = lock(&ch.state);
        if st.closed {
            return;
        }
        if ch.tty && !st.broken {
            copy_winsize(ch.forward, ch.read_fd);
        }
        let more = ch.pump(&mut st, &shared, &mut buf);
        drop(st);
        if !more || shared.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// Points the standard streams in `targets` into the mirror. Fails when a
/// mirror is already running or the fds cannot be set up (nothing is
/// changed then).
pub fn start(targets: &[Target]) -> Result<StartInfo, String> {
    let mut cur = lock(&MIRROR);
    if cur.is_some() {
        return Err("the fd mirror is already running".into());
    }
    let mut info = StartInfo { streams: Vec::new() };
    // Group streams by destination.
    let mut groups: Groups<'_> = Vec::new();
    for t in targets {
        let fd = RawFd::from(t.stream);
        let kind = fd_kind(fd);
        info.streams.push((t.stream, kind, -1));
        let Some(id) = identity(fd) else { continue };
        match groups.iter_mut().find(|g| g.0 == id) {
            Some(g) => g.1.push(t),
            None => groups.push((id, vec![t])),
        }
    }
    let shared = Arc::new(Shared {
        pending: Mutex::new((Vec::new(), 0)),
        stats: MirrorStats::default(),
        stop: AtomicBool::new(false),
    });
    let mut channels = Vec::new();
    for (gi, (id, ts)) in groups.iter().enumerate() {
        let primary = RawFd::from(ts[0].stream);
        let forward = cloexec_dup(primary)?;
        let tty = fd_kind(primary) == FdKind::Tty;
        let (read_fd, write_fd) = if tty {
            match open_pty(primary) {
                Ok(p) => p,
                Err(e) => {
                    close(forward);
                    return Err(e);
                }
            }
        } else {
            let mut p = [0 as RawFd; 2];
            // SAFETY: p has room for two fds.
            if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                close(forward);
                return Err(format!("pipe: {}", std::io::Error::last_os_error()));
            }
            (p[0], p[1])
        };
        // SAFETY: fcntl on our read end.
        unsafe {
            let fl = libc::fcntl(read_fd, libc::F_GETFL);
            libc::fcntl(read_fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        let mut fds: Vec<RawFd> = Vec::new();
        for t in ts {
            fds.push(RawFd::from(t.stream));
            for &x in &t.extra {
                if x > 2 && !fds.contains(&x) && identity(x).as_ref() == Some(id) {
                    fds.push(x);
                }
            }
        }
        let mut redirected = Vec::new();
        for &fd in &fds {
            let saved = cloexec_dup(fd)?;
            // SAFETY: write_fd and fd are open.
            unsafe { libc::dup2(write_fd, fd) };
            redirected.push((fd, saved));
        }
        close(write_fd);
        let streams: Vec<u8> = ts.iter().map(|t| t.stream).collect();
        for s in &mut info.streams {
            if streams.contains(&s.0) {
                s.2 = gi as i32;
            }
        }
        channels.push(Arc::new(Channel {
            read_fd,
            forward,
            streams,
            targets: redirected,
            tty,
            state: Mutex::new(ChanState { matcher: Matcher::default(), broken: false, closed: false }),
        }));
    }
    let mut threads = Vec::new();
    for ch in &channels {
        let (c2, s2) = (Arc::clone(ch), Arc::clone(&shared));
        let j = std::thread::Builder::new().name("noderec-io-mirror".into()).spawn(move || run(c2, s2));
        match j {
            Ok(j) => threads.push(j),
            Err(e) => {
                for c in &channels {
                    c.restore();
                }
                return Err(format!("start mirror thread: {e}"));
            }
        }
    }
    *cur = Some(Mirror { channels, threads, shared });
    Ok(info)
}

/// True while the mirror runs.
pub fn running() -> bool {
    lock(&MIRROR).is_some()
}

/// Announces bytes that `stream`'s proxy is about to write.
pub fn expect(stream: u8, bytes: &[u8]) {
    let ch = {
        let m = lock(&MIRROR);
        let Some(m) = m.as_ref() else { return };
        match m.channels.iter().find(|c| c.streams.contains(&stream)) {
            Some(c) => Arc::clone(c),
            None => return,
        }
    };
    lock(&ch.state).matcher.expect(bytes);
}

/// Takes the mirror-only chunks waiting for JavaScript.
pub fn drain() -> Vec<(u8, Vec<u8>)> {
    PENDING_FLAG.store(0, Ordering::Release);
    let shared = match lock(&MIRROR).as_ref() {
        Some(m) => Arc::clone(&m.shared),
        None => return Vec::new(),
    };
    let mut p = lock(&shared.pending);
    p.1 = 0;
    std::mem::take(&mut p.0)
}

/// A duplicate of the original destination of `stream` (for the recorder's
/// own log lines, which must not be captured), or -1 when not mirrored.
pub fn original_fd(stream: u8) -> RawFd {
    lock(&MIRROR)
        .as_ref()
        .and_then(|m| m.channels.iter().find(|c| c.streams.contains(&stream)))
        .map_or(-1, |c| c.forward)
}

/// Final figures of a stopped mirror.
#[derive(Debug, Clone, Default)]
pub struct StopInfo {
    /// Bytes read (and forwarded).
    pub bytes: u64,
    /// Bytes only the mirror saw.
    pub mirror_only: u64,
    /// Mirror-only bytes dropped (JavaScript did not drain in time).
    pub dropped: u64,
    /// Announced bytes never seen.
    pub lost: u64,
    /// Forwarding errors.
    pub forward_errors: u64,
    /// The last mirror-only chunks.
    pub chunks: Vec<(u8, Vec<u8>)>,
}

/// Restores fds 1 and 2 (and libuv's fds), forwards and records what is
/// still in the channels, stops the threads.
pub fn stop() -> Option<StopInfo> {
    let m = lock(&MIRROR).take()?;
    m.shared.stop.store(true, Ordering::Relaxed);
    let mut buf = vec![0u8; 64 << 10];
    let mut lost = 0;
    for ch in &m.channels {
        let mut st = lock(&ch.state);
        ch.restore();
        // A pty hands written bytes to its master a moment later: wait a little.
        for _ in 0..if ch.tty { 5 } else { 1 } {
            if !ch.pump(&mut st, &m.shared, &mut buf) {
                break;
            }
            if ch.tty {
                let mut p = libc::pollfd { fd: ch.read_fd, events: libc::POLLIN, revents: 0 };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, 10) };
            }
        }
        st.closed = true;
        lost += st.matcher.lost + st.matcher.outstanding() as u64;
    }
    // The threads see `closed` after their next poll (at most 100 ms) and
    // end; they are not waited for, so that exit is not delayed.
    drop(m.threads);
    for ch in &m.channels {
        close(ch.read_fd);
        for &(_, saved) in &ch.targets {
            close(saved);
        }
        close(ch.forward);
    }
    let s = &m.shared.stats;
    let chunks = std::mem::take(&mut lock(&m.shared.pending).0);
    PENDING_FLAG.store(0, Ordering::Release);
    Some(StopInfo {
        bytes: s.bytes.load(Ordering::Relaxed),
        mirror_only: s.mirror_only.load(Ordering::Relaxed),
        dropped: s.dropped.load(Ordering::Relaxed),
        lost,
        forward_errors: s.forward_errors.load(Ordering::Relaxed),
        chunks,
    })
}
