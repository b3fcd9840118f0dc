//! Replays a trace's events per thread: which activation each event belongs
//! to, at what depth, at what interpolated time, and which error a `throw`
//! carried (known from the `catch` that received it, or from the uncaught
//! exception record).

use std::collections::HashMap;

use super::reader::Trace;
use crate::wire::format::kind;

/// The longest span (µs) over which events that share a stamped time are
/// spread (see trace-format.md *Time*; the published clock's period before
/// decision 35, about its exact reads' interval since).
pub const TICK_US: u64 = 100;
/// CATCH payload meaning the error was not caught by the program.
pub const CATCH_UNCAUGHT: u32 = 1;

/// One event with its context resolved.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Index into `Trace::events`.
    pub index: usize,
    /// Function (for call/return/throw/resume/catch) of the activation.
    pub func: Option<u32>,
    /// Await/yield site (for await, yield and the resume that follows).
    pub site: Option<u32>,
    /// Activation id (per thread, 1-based: the n-th call).
    pub activation: u64,
    /// Stack depth of the activation (0 = called from the event loop).
    pub depth: u32,
    /// Nanoseconds since the trace started (interpolated within a tick).
    pub t_ns: u64,
    /// For a throw: the event whose value blob holds the error.
    pub error_from: Option<usize>,
}

#[derive(Clone, Copy)]
struct Open {
    act: u64,
    func: u32,
}

#[derive(Default)]
struct ThreadState {
    stack: Vec<Open>,
    act_func: Vec<u32>,
    act_site: HashMap<u64, u32>,
    pending_throws: Vec<usize>,
}

/// Resolves every event of `t`, in file order.
pub fn walk(t: &Trace) -> Vec<Step> {
    let times = interpolate(t);
    let mut threads: HashMap<u32, ThreadState> = HashMap::new();
    let mut steps: Vec<Step> = Vec::with_capacity(t.events.len());
    for (i, e) in t.events.iter().enumerate() {
        let st = threads.entry(e.thread).or_default();
        let mut step =
            Step { index: i, func: None, site: None, activation: 0, depth: 0, t_ns: times[i], error_from: None };
        match e.kind {
            kind::CALL => {
                st.act_func.push(e.payload);
                let act = st.act_func.len() as u64;
                step.depth = st.stack.len() as u32;
                st.stack.push(Open { act, func: e.payload });
                step.func = Some(e.payload);
                step.activation = act;
                st.pending_throws.clear();
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                if let Some(top) = st.stack.pop() {
                    step.func = Some(top.func).filter(|&f| f != CLEARED_FN);
                    step.activation = top.act;
                    step.depth = st.stack.len() as u32;
                }
                match e.kind {
                    kind::THROW => st.pending_throws.push(i),
                    kind::RETURN => st.pending_throws.clear(),
                    _ => {
                        step.site = Some(e.payload);
                        st.act_site.insert(step.activation, e.payload);
                    }
                }
            }
            kind::RESUME => {
                let act = resume_activation(t, e);
                let func =
                    act.checked_sub(1).and_then(|a| st.act_func.get(a as usize)).copied().filter(|&f| f != CLEARED_FN);
                step.depth = st.stack.len() as u32;
                step.activation = act;
                step.func = func;
                step.site = st.act_site.get(&act).copied();
                if let Some(f) = func {
                    st.stack.push(Open { act, func: f });
                } else if act > 0 && act <= st.act_func.len() as u64 {
                    // Called in events a run cleared: on the stack until it suspends or ends.
                    st.stack.push(Open { act, func: CLEARED_FN });
                }
            }
            kind::OUTPUT | kind::MARK => {
                if e.kind == kind::MARK && e.payload == crate::wire::format::mark::CLEARED {
                    // The activations called in the events cleared keep their numbers.
                    let blob = t.blob(e);
                    let mut pos = 0;
                    let mut next = || crate::wire::format::read_varint(blob, &mut pos).unwrap_or(0);
                    let (_run, _events, calls) = (next(), next(), next());
                    let len = st.act_func.len() + usize::try_from(calls).unwrap_or(0);
                    st.act_func.resize(len, CLEARED_FN);
                }
                // Output and marks belong to the top activation; the stack is unchanged.
                if let Some(top) = st.stack.last() {
                    step.func = Some(top.func).filter(|&f| f != CLEARED_FN);
                    step.activation = top.act;
                    step.depth = st.stack.len().saturating_sub(1) as u32;
                }
            }
            kind::CATCH => {
                if let Some(top) = st.stack.last() {
                    step.func = Some(top.func).filter(|&f| f != CLEARED_FN);
                    step.activation = top.act;
                    step.depth = st.stack.len().saturating_sub(1) as u32;
                }
                if e.val_len > 0 {
                    for &ti in &st.pending_throws {
                        if let Some(s) = steps.get_mut(ti) {
                            s.error_from = Some(i);
                        }
                    }
                }
                st.pending_throws.clear();
            }
            _ => {}
        }
        steps.push(step);
    }
    steps
}

/// The function of an activation whose call a run cleared (unknown).
const CLEARED_FN: u32 = u32::MAX;

fn resume_activation(t: &Trace, e: &super::reader::Event) -> u64 {
    let blob = t.blob(e);
    let mut pos = 0;
    crate::wire::format::read_varint(blob, &mut pos).unwrap_or(0)
}

/// Nanosecond times: the published µs clock, with events that share a tick
/// spread evenly over the time to the next tick (at most one tick period).
fn interpolate(t: &Trace) -> Vec<u64> {
    let mut out = vec![0u64; t.events.len()];
    let cap = crate::wire::format::spread_cap_us(t.flags, TICK_US);
    let mut by_thread: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, e) in t.events.iter().enumerate() {
        by_thread.entry(e.thread).or_default().push(i);
    }
    for idx in by_thread.values() {
        let mut s = 0;
        while s < idx.len() {
            let tu = t.events[idx[s]].t_us;
            let mut e = s;
            while e < idx.len() && t.events[idx[e]].t_us == tu {
                e += 1;
            }
            let next = if e < idx.len() { t.events[idx[e]].t_us } else { tu + 1 };
            let span_ns = (next - tu).min(cap) * 1000;
            let n = (e - s) as u64;
            for (k, &ix) in idx[s..e].iter().enumerate() {
                out[ix] = tu * 1000 + span_ns * k as u64 / n;
            }
            s = e;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::reader::{Event, Trace};
    use super::interpolate;
    use crate::wire::format::{flags, kind};

    #[test]
    fn a_precise_trace_spreads_a_shared_microsecond_over_one_microsecond_only() {
        let ev = |kind: u8, t_us: u64| Event { thread: 0, kind, payload: 1, t_us, val_off: 0, val_len: 0 };
        let events = vec![ev(kind::RETURN, 20), ev(kind::CALL, 20), ev(kind::RETURN, 3020)];
        let published = Trace { events: events.clone(), ..Trace::default() };
        assert_eq!(interpolate(&published), vec![20_000, 70_000, 3_020_000]);
        let precise = Trace { events, flags: flags::PRECISE_CLOCK, ..Trace::default() };
        assert_eq!(interpolate(&precise), vec![20_000, 20_500, 3_020_000]);
    }
}
