//! Room on the main thread's stack for the recorded program's recursion
//! (issue 8, defect 5).
//!
//! An instrumented function's frame is larger than the original's: the
//! probes' activation value and, in the interpreter, the three registers V8
//! keeps for the `try/finally` that closes an activation when it throws
//! (design-docs/decisions.md 9). With V8's stack limit unchanged, the deepest
//! recursion that works recorded is 73-90% of the plain one, so a program
//! that recurses 8,000 deep plain can throw `RangeError` recorded. The frames
//! cannot shrink further without losing what the trace needs, so the
//! recorder gives the stack back the room its frames take: it moves V8's
//! stack limit down by the same proportion (`NODEREC_STACK_ROOM`, percent of
//! V8's `--stack-size`, 160 by default).
//!
//! V8's limit is an address: the isolate was created with
//! `limit = (stack position then) - stack_size KiB`, and only the public
//! `v8::Isolate::SetStackLimit` moves it. N-API exposes neither the isolate
//! nor the limit, so the two C++ functions are looked up in the process by
//! their (Itanium ABI) names at run time; if they are not there (another
//! ABI, a Node built without exported V8 symbols), nothing changes. Only the
//! main thread: a worker's stack is an allocation of fixed size whose limit
//! Node derives from `resourceLimits.stackSizeMb`; the thread creating a
//! worker asks for a larger one instead (js/stack-room.ts), and the table
//! below lets the worker show the program the size it gave.
//!
//! The new limit stays at least [`NATIVE_HEADROOM`] above the lowest address
//! the thread's stack may grow to (its `RLIMIT_STACK`), so native code called
//! from the deepest JavaScript frame (the writer, a regular expression, JSON,
//! another addon) keeps megabytes of room, as it has without the recorder
//! (about 7 MiB with the usual 8 MiB stack; 6.5 MiB after the default room).
//! A smaller stack is left as it is. The limit moves once per process, and
//! only down.

use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes kept between the new limit and the end of the thread's stack.
pub const NATIVE_HEADROOM: usize = 4 << 20;

static MOVED: AtomicBool = AtomicBool::new(false);

/// What [`grow`] did, in KiB of room between the top of the stack and V8's
/// limit (`before` estimated from the V8 stack size given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Room {
    pub before_kib: u32,
    pub after_kib: u32,
}

/// Why the limit was not moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unchanged {
    /// Not the process's main thread.
    NotMainThread,
    /// The platform has no way here to find the stack's bounds.
    Unsupported,
    /// `v8::Isolate::GetCurrent` / `SetStackLimit` are not exported by this
    /// process (or no isolate is entered on this thread).
    NoV8Symbols,
    /// The thread's stack (its rlimit) has no more room than V8 already uses
    /// and the native headroom.
    NoRoom,
    /// The limit was moved already in this process.
    Moved,
}

impl Unchanged {
    pub fn describe(self) -> &'static str {
        match self {
            Unchanged::NotMainThread => "not the main thread",
            Unchanged::Unsupported => "the stack's bounds are unknown on this platform",
            Unchanged::NoV8Symbols => "this node does not export v8::Isolate::SetStackLimit",
            Unchanged::NoRoom => "the thread's stack has no room beyond V8's limit and 4 MiB for native code",
            Unchanged::Moved => "the limit was moved already",
        }
    }
}

/// The room V8 gets for `stack_size_kib` (its `--stack-size`) scaled by
/// `percent`, bounded by a stack of `stack_bytes` that already has
/// `used_bytes` in use above the current position: the new distance from
/// the top of the stack to the limit, or `None` when that is not more than
/// V8 has already.
pub fn plan(stack_size_kib: u32, percent: u32, stack_bytes: usize, used_bytes: usize) -> Option<usize> {
    let before = stack_size_kib as usize * 1024 + used_bytes;
    let wanted = (stack_size_kib as usize * 1024).saturating_mul(percent as usize) / 100 + used_bytes;
    let most = stack_bytes.checked_sub(NATIVE_HEADROOM)?;
    let after = wanted.min(most);
    (after > before).then_some(after)
}

/// Moves V8's stack limit of the current (main) thread so that it has
/// `percent`% of the room `stack_size_kib` gives. Call it from JavaScript
/// (the isolate must be entered on this thread).
pub fn grow(stack_size_kib: u32, percent: u32) -> Result<Room, Unchanged> {
    if MOVED.load(Ordering::Acquire) {
        return Err(Unchanged::Moved);
    }
    let r = imp::grow(stack_size_kib, percent)?;
    MOVED.store(true, Ordering::Release);
    Ok(r)
}

/// Worker threads' stack room (decisions.md 21). A worker's stack is a
/// thread of `resourceLimits.stackSizeMb` that the recorder in the thread
/// creating the worker enlarges; the worker's own recorder shows the program
/// the value it would see without the recorder. The two threads share this
/// process-wide table: the `stackSizeMb` given to node (its bits) -> the
/// value the program sees. Filled before the worker starts, so its preload
/// always finds its entry; one entry per distinct value, so it stays small.
static WORKER_VIEWS: std::sync::Mutex<Vec<(u64, f64)>> = std::sync::Mutex::new(Vec::new());

/// Notes that a worker is created with `given` MiB of stack where the
/// program would have had `seen` (what `resourceLimits.stackSizeMb` shows it).
pub fn note_worker_stack(given: f64, seen: f64) {
    let mut v = WORKER_VIEWS.lock().unwrap_or_else(|e| e.into_inner());
    let key = given.to_bits();
    match v.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 = seen,
        None => v.push((key, seen)),
    }
}

/// What the program sees for a worker given `given` MiB of stack by the
/// recorder (None: the recorder did not change it).
pub fn worker_stack_view(given: f64) -> Option<f64> {
    let v = WORKER_VIEWS.lock().unwrap_or_else(|e| e.into_inner());
    v.iter().find(|(k, _)| *k == given.to_bits()).map(|e| e.1)
}

#[cfg(any(target_os = "linux", target_os = "macos"))]
mod imp {
    use super::{plan, Room, Unchanged};
    use std::ffi::{c_void, CStr};

    type GetCurrent = unsafe extern "C" fn() -> *mut c_void;
    type SetStackLimit = unsafe extern "C" fn(*mut c_void, usize);

    const GET_CURRENT: &CStr = c"_ZN2v87Isolate10GetCurrentEv";
    const SET_STACK_LIMIT: &CStr = c"_ZN2v87Isolate13SetStackLimitEm";

    fn symbol(name: &CStr) -> Option<*mut c_void> {
        // SAFETY: `name` is a NUL-terminated string; RTLD_DEFAULT searches
        // the symbols already loaded into the process and loads nothing.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        (!p.is_null()).then_some(p)
    }

    /// (top of the main thread's stack, its size), or the reason not to go on.
    #[cfg(target_os = "linux")]
    fn bounds() -> Result<(usize, usize), Unchanged> {
        // SAFETY: plain syscalls without arguments.
        if unsafe { libc::syscall(libc::SYS_gettid) } != libc::c_long::from(unsafe { libc::getpid() }) {
            return Err(Unchanged::NotMainThread);
        }
        // SAFETY: `attr` is initialized by pthread_getattr_np before it is
        // read and destroyed once; the out-pointers point at locals.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
                return Err(Unchanged::Unsupported);
            }
            let mut addr: *mut c_void = std::ptr::null_mut();
            let mut size: libc::size_t = 0;
            let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
            libc::pthread_attr_destroy(&mut attr);
            if rc != 0 || addr.is_null() || size == 0 {
                return Err(Unchanged::Unsupported);
            }
            Ok((addr as usize + size, size))
        }
    }

    #[cfg(target_os = "macos")]
    fn bounds() -> Result<(usize, usize), Unchanged> {
        // SAFETY: pthread_main_np and the two getters only read the calling
        // thread's descriptor.
        unsafe {
            if libc::pthread_main_np() == 0 {
                return Err(Unchanged::NotMainThread);
            }
            let me = libc::pthread_self();
            let top = libc::pthread_get_stackaddr_np(me) as usize;
            let size = libc::pthread_get_stacksize_np(me);
            if top == 0 || size == 0 {
                return Err(Unchanged::Unsupported);
            }
            Ok((top, size))
        }
    }

    pub(super) fn grow(stack_size_kib: u32, percent: u32) -> Result<Room, Unchanged> {
        let (top, size) = bounds()?;
        let here = 0u8;
        let sp = std::ptr::addr_of!(here) as usize;
        if sp > top || top - sp > size {
            return Err(Unchanged::Unsupported);
        }
        // The stack above this frame was in use when V8 set its limit too,
        // give or take the preload's frames: count it as V8's.
        let used = top - sp;
        let after = plan(stack_size_kib, percent, size, used).ok_or(Unchanged::NoRoom)?;
        let (Some(get), Some(set)) = (symbol(GET_CURRENT), symbol(SET_STACK_LIMIT)) else {
            return Err(Unchanged::NoV8Symbols);
        };
        // SAFETY: the symbols are V8's `static Isolate* Isolate::GetCurrent()`
        // and `void Isolate::SetStackLimit(uintptr_t)` (a member function:
        // `this` is the first argument in the Itanium C++ ABI, which is the C
        // calling convention on the platforms this module is built for).
        // GetCurrent returns the isolate entered on this thread or null;
        // SetStackLimit only stores the limit in that isolate's stack guard
        // (keeping a pending interrupt's limit in force).
        unsafe {
            let get: GetCurrent = std::mem::transmute::<*mut c_void, GetCurrent>(get);
            let set: SetStackLimit = std::mem::transmute::<*mut c_void, SetStackLimit>(set);
            let isolate = get();
            if isolate.is_null() {
                return Err(Unchanged::NoV8Symbols);
            }
            set(isolate, top - after);
        }
        let kib = |b: usize| u32::try_from(b / 1024).unwrap_or(u32::MAX);
        Ok(Room { before_kib: kib(stack_size_kib as usize * 1024 + used), after_kib: kib(after) })
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod imp {
    use super::{Room, Unchanged};
    pub(super) fn grow(_stack_size_kib: u32, _percent: u32) -> Result<Room, Unchanged> {
        Err(Unchanged::Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_views_are_found_by_the_given_size() {
        note_worker_stack(6.2875, 4.0);
        note_worker_stack(1.5, 1.25);
        note_worker_stack(6.2875, 4.0);
        assert_eq!(worker_stack_view(6.2875), Some(4.0));
        assert_eq!(worker_stack_view(1.5), Some(1.25));
        assert_eq!(worker_stack_view(4.0), None);
    }

    #[test]
    fn plan_scales_v8s_room_and_keeps_the_used_part() {
        // 984 KiB at 160%, 8 MiB stack, 20 KiB in use.
        let after = plan(984, 160, 8 << 20, 20 << 10).unwrap();
        assert_eq!(after, 984 * 1024 * 160 / 100 + (20 << 10));
    }

    #[test]
    fn plan_is_bounded_by_the_stack_less_the_native_headroom() {
        let after = plan(984, 1000, 8 << 20, 0).unwrap();
        assert_eq!(after, (8 << 20) - NATIVE_HEADROOM);
    }

    #[test]
    fn plan_never_takes_room_away() {
        assert_eq!(plan(984, 100, 8 << 20, 0), None);
        assert_eq!(plan(984, 90, 8 << 20, 0), None);
        // A stack smaller than V8's room plus the headroom: nothing to give.
        assert_eq!(plan(984, 140, 1 << 20, 0), None);
        assert_eq!(plan(984, 160, 2 << 20, 0), None);
        assert_eq!(plan(984, 160, (4 << 20) + (900 << 10), 0), None);
        // 5 MiB: 1 MiB past the headroom, a little more than V8 has.
        assert_eq!(plan(984, 160, 5 << 20, 0), Some(1 << 20));
    }
}
