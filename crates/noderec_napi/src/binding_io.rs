//! IO capture: the fd mirror of `proxies+fd` and its pending-output flag.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{ArrayBuffer, Buffer, Function, Uint8Array};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::{Env, Status};
use napi_derive::napi;

use crate::binding_errors::coded;
use napi::Result;

/// How a standard stream was set up by `ioMirrorStart`.
#[napi(object)]
pub struct BindingIoStream {
    /// 1 or 2.
    pub stream: u32,
    /// What the fd referred to: tty, pipe, file, socket, other, closed.
    pub kind: String,
    /// Whether it is now mirrored.
    pub mirrored: bool,
}

/// Final figures of the mirror.
#[napi(object)]
pub struct BindingIoStop {
    /// Bytes read and forwarded.
    pub bytes: f64,
    /// Bytes only the mirror saw.
    pub mirror_only: f64,
    /// Mirror-only bytes dropped.
    pub dropped: f64,
    /// Bytes the proxies announced that never came through the fd.
    pub lost: f64,
    /// Forwarding errors (the destination went away).
    pub forward_errors: f64,
    /// The last mirror-only chunks, encoded as by `ioDrain`.
    pub chunks: Option<Buffer>,
}

/// What fd `fd` refers to: tty, pipe, file, socket, other, closed.
#[napi]
pub fn io_fd_kind(fd: i32) -> String {
    #[cfg(unix)]
    {
        noderec_core::io::mirror::fd_kind(fd).name().to_string()
    }
    #[cfg(not(unix))]
    {
        let _ = fd;
        "other".to_string()
    }
}

/// A 4-byte ArrayBuffer over the mirror's pending flag (the main thread
/// checks it at call/return boundaries). Call once per process.
#[napi]
pub fn io_flag_buffer(env: &Env) -> Result<ArrayBuffer<'_>> {
    #[cfg(unix)]
    {
        let p = noderec_core::io::mirror::PENDING_FLAG.as_ptr().cast::<u8>();
        // SAFETY: a static, never freed; handed out once per process by the facade.
        unsafe { ArrayBuffer::from_external(env, p, 4, (), |_, ()| {}) }
            .map_err(|e| coded("ERR_INTERNAL", &e.to_string()).into_napi(env))
    }
    #[cfg(not(unix))]
    {
        Err(coded("ERR_INTERNAL", "the fd mirror needs a POSIX system").into_napi(env))
    }
}

/// Starts the fd mirror. `extra1`/`extra2` are the fds libuv writes stdout /
/// stderr through when they differ from 1 and 2 (a reopened terminal).
#[napi]
pub fn io_mirror_start(
    env: &Env,
    streams: Vec<u32>,
    extra1: Vec<i32>,
    extra2: Vec<i32>,
) -> Result<Vec<BindingIoStream>> {
    #[cfg(unix)]
    {
        use noderec_core::io::mirror;
        let targets: Vec<mirror::Target> = streams
            .iter()
            .filter(|&&s| s == 1 || s == 2)
            .map(|&s| mirror::Target { stream: s as u8, extra: if s == 1 { extra1.clone() } else { extra2.clone() } })
            .collect();
        let info = mirror::start(&targets).map_err(|m| coded("ERR_IO", &m).into_napi(env))?;
        Ok(info
            .streams
            .into_iter()
            .map(|(s, k, ch)| BindingIoStream { stream: u32::from(s), kind: k.name().to_string(), mirrored: ch >= 0 })
            .collect())
    }
    #[cfg(not(unix))]
    {
        let _ = (streams, extra1, extra2);
        Err(coded("ERR_IO", "the fd mirror needs a POSIX system").into_napi(env))
    }
}

fn encode(chunks: Vec<(u8, Vec<u8>)>) -> Option<Buffer> {
    if chunks.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.1.len() + 6).sum());
    for (s, b) in chunks {
        out.push(s);
        out.extend_from_slice(&(b.len() as u32).to_le_bytes());
        out.extend_from_slice(&b);
    }
    Some(out.into())
}

/// Takes the bytes only the mirror saw: `u8 stream, u32 LE length, bytes`
/// repeated, or null. Clears the pending flag.
#[napi]
pub fn io_drain() -> Option<Buffer> {
    #[cfg(unix)]
    {
        encode(noderec_core::io::mirror::drain())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Announces bytes a stream proxy is about to write (de-duplication).
#[napi]
pub fn io_expect(stream: u32, bytes: Uint8Array) {
    #[cfg(unix)]
    noderec_core::io::mirror::expect(stream as u8, &bytes);
    #[cfg(not(unix))]
    let _ = (stream, bytes);
}

/// A duplicate of the original destination of stream 1 or 2 while the
/// mirror runs (write recorder log lines there), else -1.
#[napi]
pub fn io_original_fd(stream: u32) -> i32 {
    #[cfg(unix)]
    {
        noderec_core::io::mirror::original_fd(stream as u8)
    }
    #[cfg(not(unix))]
    {
        let _ = stream;
        -1
    }
}

/// Restores the fds and stops the mirror; null when it was not running.
#[napi]
pub fn io_mirror_stop() -> Option<BindingIoStop> {
    #[cfg(unix)]
    {
        noderec_core::io::mirror::stop().map(|s| BindingIoStop {
            bytes: s.bytes as f64,
            mirror_only: s.mirror_only as f64,
            dropped: s.dropped as f64,
            lost: s.lost as f64,
            forward_errors: s.forward_errors as f64,
            chunks: encode(s.chunks),
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Registers this thread's output idle timer: `onIdle` is called on this
/// thread (through a threadsafe function, in the poll phase, never between
/// two of the program's timers) when an armed delay has passed. It does not
/// keep the event loop alive. Returns the timer's id.
#[napi]
pub fn io_idle_register(env: &Env, on_idle: Function<u32, ()>) -> Result<u32> {
    let tsfn = on_idle
        .build_threadsafe_function::<u32>()
        .callee_handled::<false>()
        .weak::<true>()
        .build()
        .map_err(|e| coded("ERR_INTERNAL", &format!("cannot create the output idle timer: {e}")).into_napi(env))?;
    // A closed thread (a worker that ended) answers Closing: the entry goes away.
    let fire = Arc::new(move || tsfn.call(0, ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok);
    Ok(noderec_core::io::idle::register(fire))
}

/// Arms timer `id` to call its `onIdle` once, `delayUs` microseconds from now.
#[napi]
pub fn io_idle_arm(env: &Env, id: u32, delay_us: u32) -> Result<()> {
    noderec_core::io::idle::arm(id, Duration::from_micros(u64::from(delay_us)))
        .map_err(|m| coded("ERR_INTERNAL", &m).into_napi(env))
}

/// Removes timer `id` (capture uninstalled).
#[napi]
pub fn io_idle_unregister(id: u32) {
    noderec_core::io::idle::unregister(id);
}
