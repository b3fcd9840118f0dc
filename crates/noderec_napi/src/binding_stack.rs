//! The main thread's stack room (`host::stack`).

use napi_derive::napi;
use noderec_core::host::stack;

/// What `stackGrow` did: the room between the top of the main thread's
/// stack and V8's limit, in KiB, before (estimated) and after; or why it
/// left the limit alone.
#[napi(object)]
pub struct StackRoom {
    pub before_kib: u32,
    pub after_kib: u32,
    /// Why the limit did not move (null: it moved).
    pub unchanged: Option<String>,
}

/// Moves V8's stack limit on the main thread so that the program has
/// `percent`% of the room V8's `--stack-size` (`stackSizeKib`) gives it.
#[napi]
pub fn stack_grow(stack_size_kib: u32, percent: u32) -> StackRoom {
    match stack::grow(stack_size_kib, percent) {
        Ok(r) => StackRoom { before_kib: r.before_kib, after_kib: r.after_kib, unchanged: None },
        Err(why) => StackRoom {
            before_kib: stack_size_kib,
            after_kib: stack_size_kib,
            unchanged: Some(why.describe().to_string()),
        },
    }
}

/// Notes that a worker gets `givenMb` MiB of stack (`resourceLimits.stackSizeMb`)
/// where the program gave or would get `seenMb` (host::stack, worker threads).
#[napi]
pub fn worker_stack_note(given_mb: f64, seen_mb: f64) {
    stack::note_worker_stack(given_mb, seen_mb);
}

/// The `stackSizeMb` the program sees for a worker given `givenMb` by the
/// recorder; null when the recorder did not change it.
#[napi]
pub fn worker_stack_view(given_mb: f64) -> Option<f64> {
    stack::worker_stack_view(given_mb)
}
