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
