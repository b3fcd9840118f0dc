//! Index and queries against brute-force scans of the same traces (the
//! reader and `trace::walk`, which the exports use).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::build::{open_or_build, IndexBuilder};
use super::index::{flag, Index, NO_EVENT};
use super::queries::{self, TimelineQuery};
use crate::trace::reader::read_trace;
use crate::trace::walk::walk;
use crate::wire::format::{kind, put_str, put_varint, record, HAS_VALUES, MAGIC, PAYLOAD_SHIFT, VERSION};
use crate::wire::tag;

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Ev {
    thread: u32,
    head: u32,
    t_us: u64,
    blob: Option<Vec<u8>>,
}

fn int(v: i64) -> Vec<u8> {
    let mut b = vec![tag::INT];
    put_varint(&mut b, ((v << 1) ^ (v >> 63)) as u64);
    b
}

fn obj(props: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = vec![tag::OBJECT];
    let s = |b: &mut Vec<u8>, s: &str| {
        put_varint(b, s.len() as u64);
        put_varint(b, s.len() as u64);
        b.extend_from_slice(s.as_bytes());
    };
    s(&mut b, "Cart");
    put_varint(&mut b, props.len() as u64);
    put_varint(&mut b, props.len() as u64);
    for (k, v) in props {
        s(&mut b, k);
        b.extend_from_slice(v);
    }
    b
}

fn call_blob(args: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    put_varint(&mut b, args.len() as u64 * 2);
    for a in args {
        b.extend_from_slice(a);
    }
    b
}

/// Writes a trace file: FUNC records first, then events in EVENTS records
/// of at most `per_chunk` events (one chunk each), then END when `end`.
fn write_trace(path: &Path, funcs: &[&str], events: &[Ev], per_chunk: usize, end: bool) -> Vec<u64> {
    let mut file = Vec::new();
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&VERSION.to_le_bytes());
    file.extend_from_slice(&0u32.to_le_bytes());
    let mut ends = Vec::new();
    let mut chunk = |payload: &[u8], file: &mut Vec<u8>| {
        let c = zstd::bulk::compress(payload, 1).unwrap();
        file.extend_from_slice(&(c.len() as u32).to_le_bytes());
        file.extend_from_slice(&crc32fast::hash(&c).to_le_bytes());
        file.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        file.extend_from_slice(&c);
        ends.push(file.len() as u64);
    };
    let mut p = Vec::new();
    p.push(record::PATH);
    put_varint(&mut p, 0);
    put_str(&mut p, "app.js");
    for (i, f) in funcs.iter().enumerate() {
        p.push(record::FUNC);
        put_varint(&mut p, i as u64 + 1);
        put_varint(&mut p, 0);
        put_str(&mut p, f);
        put_str(&mut p, "function");
        put_varint(&mut p, i as u64 + 1);
        put_varint(&mut p, 0);
        p.push(0);
        put_varint(&mut p, 1);
        put_str(&mut p, "cart");
    }
    chunk(&p, &mut file);
    // Group events into records: consecutive events of one thread.
    let mut i = 0;
    while i < events.len() {
        let th = events[i].thread;
        let mut j = i;
        while j < events.len() && events[j].thread == th && j - i < per_chunk {
            j += 1;
        }
        let mut p = vec![record::EVENTS];
        put_varint(&mut p, u64::from(th));
        put_varint(&mut p, (j - i) as u64);
        put_varint(&mut p, events[i].t_us);
        let mut prev = events[i].t_us;
        for e in &events[i..j] {
            let head = e.head | if e.blob.is_some() { HAS_VALUES } else { 0 };
            put_varint(&mut p, u64::from(head));
            put_varint(&mut p, e.t_us - prev);
            prev = e.t_us;
            if let Some(b) = &e.blob {
                put_varint(&mut p, b.len() as u64);
                p.extend_from_slice(b);
            }
        }
        if end && j == events.len() {
            p.push(record::END);
            put_varint(&mut p, events.len() as u64);
        }
        chunk(&p, &mut file);
        i = j;
    }
    std::fs::write(path, &file).unwrap();
    ends
}

fn head(k: u8, payload: u32) -> u32 {
    u32::from(k) | (payload << PAYLOAD_SHIFT)
}

/// A random program on `threads` threads: nested calls, returns, throws
/// caught by a catch, awaits and resumes, with values.
fn random_events(seed: u64, n: usize, threads: u32, funcs: u32) -> Vec<Ev> {
    let mut r = Rng(seed);
    let mut out = Vec::new();
    struct T {
        stack: Vec<u64>,
        suspended: Vec<u64>,
        acts: u64,
        t: u64,
    }
    let mut ts: Vec<T> = (0..threads).map(|_| T { stack: vec![], suspended: vec![], acts: 0, t: 1 }).collect();
    let mut th = 0usize;
    for _ in 0..n {
        if r.below(50) == 0 {
            th = r.below(u64::from(threads)) as usize;
        }
        let s = &mut ts[th];
        // Several events share a clock value; sometimes time jumps.
        if r.below(3) == 0 {
            s.t += 1 + r.below(300);
        }
        let t_us = s.t;
        let thread = th as u32;
        let roll = r.below(100);
        if s.stack.is_empty() && !s.suspended.is_empty() && roll < 20 {
            let k = r.below(s.suspended.len() as u64) as usize;
            let a = s.suspended.remove(k);
            let mut b = Vec::new();
            put_varint(&mut b, a);
            s.stack.push(a);
            out.push(Ev { thread, head: head(kind::RESUME, 0), t_us, blob: Some(b) });
        } else if s.stack.is_empty() || (roll < 45 && s.stack.len() < 30) {
            s.acts += 1;
            s.stack.push(s.acts);
            let f = 1 + r.below(u64::from(funcs)) as u32;
            let v = r.below(5) as i64;
            let blob = call_blob(&[obj(&[("n", int(v)), ("total", int(v * 10))])]);
            out.push(Ev { thread, head: head(kind::CALL, f), t_us, blob: Some(blob) });
        } else if roll < 80 {
            s.stack.pop();
            out.push(Ev { thread, head: head(kind::RETURN, 0), t_us, blob: Some(int(r.below(3) as i64)) });
        } else if roll < 88 {
            s.stack.pop();
            out.push(Ev { thread, head: head(kind::THROW, 0), t_us, blob: None });
            if !s.stack.is_empty() && r.below(2) == 0 {
                out.push(Ev { thread, head: head(kind::CATCH, 0), t_us, blob: Some(int(-7)) });
            }
        } else if roll < 94 {
            let a = s.stack.pop().unwrap();
            s.suspended.push(a);
            out.push(Ev { thread, head: head(kind::AWAIT, 0), t_us, blob: None });
        } else {
            let mut b = Vec::new();
            put_varint(&mut b, 3);
            b.extend_from_slice(b"hi\n");
            out.push(Ev { thread, head: head(kind::OUTPUT, 1), t_us, blob: Some(b) });
        }
    }
    out
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("noderec-query-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[derive(Debug, PartialEq)]
struct BruteAct {
    start: u64,
    end: u64,
    parent: u64,
    depth: u32,
    func: u32,
    finished: bool,
    threw: bool,
    error_ev: Option<usize>,
}

/// Activations per thread from the reader and `walk`, plus per-function
/// inclusive time as the length of the union of on-stack intervals.
/// Per function id: (calls, throws, inclusive ns as the union of on-stack intervals).
type BruteFns = HashMap<u32, (u64, u64, u64)>;

fn brute(dir: &Path) -> (HashMap<(u32, u64), BruteAct>, BruteFns, u64) {
    let t = read_trace(&dir.join("trace.nrt")).unwrap();
    let steps = walk(&t);
    let mut acts: HashMap<(u32, u64), BruteAct> = HashMap::new();
    let mut stacks: HashMap<u32, Vec<u64>> = HashMap::new();
    // Per function: on-stack intervals (for the union), calls, throws.
    let mut intervals: HashMap<(u32, u32), Vec<(u64, u64)>> = HashMap::new();
    let mut open_stretch: HashMap<(u32, u64), u64> = HashMap::new();
    let mut counts: HashMap<u32, (u64, u64)> = HashMap::new();
    let last = steps.iter().map(|s| s.t_ns).max().unwrap_or(0);
    let mut last_per_thread: HashMap<u32, u64> = HashMap::new();
    for s in &steps {
        let e = &t.events[s.index];
        last_per_thread.insert(e.thread, s.t_ns);
        let st = stacks.entry(e.thread).or_default();
        match e.kind {
            kind::CALL => {
                acts.insert(
                    (e.thread, s.activation),
                    BruteAct {
                        start: s.t_ns,
                        end: s.t_ns,
                        parent: st.last().copied().unwrap_or(0),
                        depth: s.depth,
                        func: e.payload,
                        finished: false,
                        threw: false,
                        error_ev: None,
                    },
                );
                st.push(s.activation);
                open_stretch.insert((e.thread, s.activation), s.t_ns);
                counts.entry(e.payload).or_default().0 += 1;
            }
            kind::RESUME => {
                st.push(s.activation);
                open_stretch.insert((e.thread, s.activation), s.t_ns);
            }
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD => {
                st.pop();
                if let Some(a) = acts.get_mut(&(e.thread, s.activation)) {
                    a.end = s.t_ns;
                    if matches!(e.kind, kind::RETURN | kind::THROW) {
                        a.finished = true;
                    }
                    if e.kind == kind::THROW {
                        a.threw = true;
                        a.error_ev = s.error_from.map(|i| steps[i].index);
                        counts.entry(a.func).or_default().1 += 1;
                    }
                    if let Some(t0) = open_stretch.remove(&(e.thread, s.activation)) {
                        intervals.entry((a.func, e.thread)).or_default().push((t0, s.t_ns));
                    }
                }
            }
            _ => {}
        }
    }
    for ((th, _), a) in acts.iter_mut() {
        if !a.finished {
            a.end = a.end.max(last_per_thread[th]);
        }
    }
    // Stretches still on a stack at the end last to the thread's last time.
    for ((th, n), t0) in open_stretch {
        let f = acts[&(th, n)].func;
        intervals.entry((f, th)).or_default().push((t0, last_per_thread[&th]));
    }
    let mut stats = HashMap::new();
    let threads: Vec<u32> = last_per_thread.keys().copied().collect();
    for (f, (calls, throws)) in counts {
        let mut total = 0u64;
        for &th in &threads {
            let mut iv = intervals.remove(&(f, th)).unwrap_or_default();
            iv.sort();
            let mut cur = None::<(u64, u64)>;
            for (a, b) in iv {
                match cur {
                    Some((s, e)) if a <= e => cur = Some((s, e.max(b))),
                    Some((s, e)) => {
                        total += e - s;
                        cur = Some((a, b));
                    }
                    None => cur = Some((a, b)),
                }
            }
            if let Some((s, e)) = cur {
                total += e - s;
            }
        }
        stats.insert(f, (calls, throws, total));
    }
    (acts, stats, last)
}

#[track_caller]
fn check_against_brute(dir: &Path, ix: &Index) {
    let (acts, stats, _) = brute(dir);
    let total: u64 = ix.meta.threads.iter().map(|t| t.acts).sum();
    assert_eq!(total as usize, acts.len(), "activation count");
    let t = read_trace(&dir.join("trace.nrt")).unwrap();
    for th in &ix.meta.threads {
        for (i, a) in ix.acts(th.id, 1, th.acts as usize).iter().enumerate() {
            let n = i as u64 + 1;
            let b = &acts[&(th.id, n)];
            assert_eq!(
                (a.start_ns, a.end_ns, u64::from(a.parent), u32::from(a.depth), a.func),
                (b.start, b.end, b.parent, b.depth, b.func),
                "thread {} act {n}",
                th.id
            );
            assert_eq!(a.finished(), b.finished, "finished {n}");
            assert_eq!(a.flags & flag::THREW != 0, b.threw, "threw {n}");
            assert_eq!(t.events[a.call_ev as usize].kind, kind::CALL);
            if b.threw {
                match b.error_ev {
                    Some(ev) => assert_eq!(a.end_ev as usize, ev, "error event of {n}"),
                    None => assert_eq!(t.events[a.end_ev as usize].kind, kind::THROW),
                }
            } else if b.finished {
                assert_eq!(t.events[a.end_ev as usize].kind, kind::RETURN);
            } else {
                assert_eq!(a.end_ev, NO_EVENT);
            }
        }
    }
    for s in &ix.meta.stats {
        let (calls, throws, incl) = stats[&s.id];
        assert_eq!((s.calls, s.throws, s.incl_ns), (calls, throws, incl), "stats of fn {}", s.id);
        assert!(s.self_ns <= s.incl_ns.max(s.self_ns), "self");
    }
}

fn build(dir: &Path) -> Index {
    let _ = std::fs::remove_dir_all(dir.join("index"));
    open_or_build(dir).unwrap()
}

#[test]
fn index_matches_a_brute_force_scan() {
    for (seed, threads, per_chunk) in [(7u64, 1u32, 50usize), (99, 3, 17), (12345, 2, 4000)] {
        let dir = tmp(&format!("brute-{seed}"));
        let evs = random_events(seed, 20_000, threads, 6);
        write_trace(&dir.join("trace.nrt"), &["a", "b", "c", "handle", "handleX", "zed"], &evs, per_chunk, true);
        let ix = if seed == 99 {
            // A small window: old records are written while still open and rewritten in place.
            let b = IndexBuilder::new(&dir, &dir.join("index.small")).unwrap().with_window(8);
            let mut b = b;
            b.advance().unwrap();
            let p = b.finish(true).unwrap();
            Index::open(&dir, &p).unwrap()
        } else {
            build(&dir)
        };
        assert!(ix.meta.complete && ix.meta.ended && ix.meta.damage.is_none());
        assert_eq!(ix.meta.events as usize, evs.len());
        check_against_brute(&dir, &ix);
        // A second open uses the stored index.
        let again = open_or_build(&dir).unwrap();
        assert_eq!(again.meta.events, ix.meta.events);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn recursion_counts_the_outermost_activation_once() {
    let dir = tmp("recursion");
    // fib(3) -> fib(2) -> fib(1); then main returns: times in µs.
    let mut evs = Vec::new();
    let mut ev = |k, p, t| evs.push(Ev { thread: 0, head: head(k, p), t_us: t, blob: None });
    ev(kind::CALL, 2, 0); // main
    ev(kind::CALL, 1, 1000); // fib
    ev(kind::CALL, 1, 2000);
    ev(kind::CALL, 1, 3000);
    ev(kind::RETURN, 0, 4000);
    ev(kind::RETURN, 0, 5000);
    ev(kind::RETURN, 0, 6000);
    ev(kind::RETURN, 0, 10000);
    write_trace(&dir.join("trace.nrt"), &["fib", "main"], &evs, 100, true);
    let ix = build(&dir);
    let fib = ix.meta.stats.iter().find(|s| s.id == 1).unwrap();
    let main = ix.meta.stats.iter().find(|s| s.id == 2).unwrap();
    assert_eq!(main.incl_ns, 10_000_000);
    assert_eq!(fib.incl_ns, 5_000_000, "the outermost fib, once");
    assert_eq!(fib.self_ns, 5_000_000);
    assert_eq!(main.self_ns, 5_000_000);
    assert_eq!(fib.calls, 3);
    check_against_brute(&dir, &ix);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cut_trace_indexes_its_complete_chunks() {
    let dir = tmp("cut");
    let evs = random_events(5, 5000, 2, 4);
    let ends = write_trace(&dir.join("trace.nrt"), &["a", "b", "c", "d"], &evs, 100, false);
    let p = dir.join("trace.nrt");
    let data = std::fs::read(&p).unwrap();
    let cut = ends[ends.len() / 2] as usize + 7;
    std::fs::write(&p, &data[..cut]).unwrap();
    let ix = build(&dir);
    assert!(ix.meta.complete);
    assert!(!ix.meta.ended);
    assert!(ix.meta.damage.as_deref().unwrap_or("").contains("cut chunk"), "{:?}", ix.meta.damage);
    let t = read_trace(&p).unwrap();
    assert_eq!(ix.meta.events as usize, t.events.len());
    assert!(t.events.len() < evs.len());
    check_against_brute(&dir, &ix);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_index_grows_with_a_trace_being_written() {
    let dir = tmp("grow");
    let evs = random_events(77, 8000, 2, 5);
    let p = dir.join("trace.nrt");
    let ends = write_trace(&p, &["a", "b", "c", "d", "e"], &evs, 64, true);
    let full = std::fs::read(&p).unwrap();
    let out = dir.join("index.live");
    // Write the file in steps, some cutting a chunk in the middle.
    std::fs::write(&p, &full[..ends[3] as usize + 5]).unwrap();
    let mut b = IndexBuilder::new(&dir, &out).unwrap();
    let mut seen = 0;
    for k in [ends.len() / 4, ends.len() / 2, ends.len() - 1] {
        std::fs::write(&p, &full[..ends[k] as usize]).unwrap();
        seen += b.advance().unwrap();
        let partial = Index::open(&dir, &out).unwrap();
        // Every activation on disk starts before the events still to come,
        // and the counts only grow.
        assert!(partial.meta.events <= evs.len() as u64);
        assert_eq!(partial.meta.events, seen);
    }
    assert!(b.at_end());
    let done = b.finish(true).unwrap();
    let ix = Index::open(&dir, &done).unwrap();
    check_against_brute(&dir, &ix);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn timeline_and_values_match_the_calls_query() {
    let dir = tmp("timeline");
    let evs = random_events(31, 6000, 2, 6);
    write_trace(&dir.join("trace.nrt"), &["a", "b", "c", "handle", "handleX", "zed"], &evs, 333, true);
    let mut ix = build(&dir);
    let t = read_trace(&dir.join("trace.nrt")).unwrap();
    let q = crate::query::calls::CallQuery { fn_glob: Some("handle*".into()), min_ns: 0, limit: 0, only: None };
    let mut want: Vec<serde_json::Value> =
        crate::query::calls::calls(&t, &q).unwrap().iter().map(|s| serde_json::from_str(s).unwrap()).collect();
    want.sort_by_key(|v| (v["thread"].as_u64(), v["activation"].as_u64()));
    // Page through with a small page size.
    let mut got = Vec::new();
    let mut cursor = None;
    loop {
        let page = queries::timeline(
            &mut ix,
            &TimelineQuery {
                fn_glob: Some("handle*".into()),
                limit: 37,
                cursor: cursor.clone(),
                values: true,
                ..TimelineQuery::default()
            },
        )
        .unwrap();
        got.extend(page.rows);
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(u64::from(g.act), w["activation"].as_u64().unwrap());
        if w.get("finished").is_none() {
            // (`calls` ends unfinished ones at the last event of any thread.)
            assert_eq!(g.dur_ns, w["dur"].as_u64().unwrap(), "dur of {}", g.act);
        }
        let v = g.values.as_ref().unwrap();
        assert_eq!(serde_json::to_value(&v.args).unwrap(), w["args"]);
        if w.get("threw").is_some() {
            assert!(g.threw);
            assert_eq!(v.error.as_ref(), w.get("error"));
        } else if w.get("finished").is_none() {
            assert_eq!(v.value.as_ref(), w.get("value"));
        }
    }
    // Time range and minimum duration.
    let mid = got[got.len() / 2].start_ns;
    let page = queries::timeline(
        &mut ix,
        &TimelineQuery { from_ns: Some(mid), limit: 1000, min_dur_ns: 1, ..TimelineQuery::default() },
    )
    .unwrap();
    assert!(page.rows.iter().all(|r| r.start_ns >= mid && r.dur_ns >= 1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn children_flame_and_history() {
    let dir = tmp("flame");
    let evs = random_events(4242, 10_000, 1, 4);
    write_trace(&dir.join("trace.nrt"), &["a", "b", "c", "d"], &evs, 500, true);
    let mut ix = build(&dir);
    let (acts, _, last) = brute(&dir);
    // Children of every activation with children = brute force parent links.
    let mut kids: HashMap<u64, Vec<u64>> = HashMap::new();
    for ((_, n), a) in &acts {
        kids.entry(a.parent).or_default().push(*n);
    }
    for (p, mut want) in kids.into_iter().take(200) {
        want.sort_unstable();
        let got: Vec<u64> = queries::children(&mut ix, 0, p, 100_000, 0, &Default::default())
            .iter()
            .map(|r| u64::from(r.act))
            .collect();
        assert_eq!(got, want, "children of {p}");
    }
    // Flame chart: every activation at least a pixel wide is drawn once, and
    // the narrower ones are inside clusters.
    let (from, to, px) = (0u64, last + 1, 800u32);
    let ns_px = (to - from) / u64::from(px);
    let rects = queries::flame(&ix, 0, from, to, px, 1_000_000);
    let wide: Vec<u64> = {
        let mut v: Vec<u64> = acts.iter().filter(|(_, a)| a.end - a.start >= ns_px).map(|((_, n), _)| *n).collect();
        v.sort_unstable();
        v
    };
    let drawn: Vec<u64> =
        rects.iter().filter(|r| r.count == 1 && r.end_ns - r.start_ns >= ns_px).map(|r| u64::from(r.act)).collect();
    let mut d = drawn.clone();
    d.sort_unstable();
    d.dedup();
    assert_eq!(d.len(), drawn.len(), "drawn twice");
    for w in &wide {
        let inside = d.binary_search(w).is_ok()
            || rects
                .iter()
                .any(|r| r.count > 1 && u64::from(r.act) <= *w && *w < u64::from(r.act) + u64::from(r.count));
        assert!(inside, "activation {w} is missing from the flame chart");
    }
    assert!(rects.len() < acts.len(), "clusters merge narrow activations ({} rects)", rects.len());
    // Value history of the first argument's `total` for function b.
    let h = queries::value_history(&mut ix, "b", "cart.total", 50, &Default::default()).unwrap();
    assert!(!h.is_empty());
    for w in h.windows(2) {
        assert!(w[0].start_ns <= w[1].start_ns);
        let changed = w[0].value != w[1].value;
        assert_eq!(!w[1].changes.is_empty(), changed);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_finds_changed_returns() {
    let a = tmp("cmp-a");
    let b = tmp("cmp-b");
    let mk = |r: i64| {
        vec![
            Ev { thread: 0, head: head(kind::CALL, 1), t_us: 1, blob: Some(call_blob(&[int(1)])) },
            Ev { thread: 0, head: head(kind::CALL, 2), t_us: 2, blob: Some(call_blob(&[int(1)])) },
            Ev { thread: 0, head: head(kind::RETURN, 0), t_us: 3, blob: Some(int(r)) },
            Ev { thread: 0, head: head(kind::RETURN, 0), t_us: 4, blob: Some(int(5)) },
        ]
    };
    write_trace(&a.join("trace.nrt"), &["main", "price"], &mk(10), 100, true);
    write_trace(&b.join("trace.nrt"), &["main", "price"], &mk(11), 100, true);
    let (ia, ib) = (build(&a), build(&b));
    let rows = queries::compare(&ia, &ib);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].name, "price");
    assert_eq!(rows[0].differs, vec!["returns"]);
    assert!(queries::compare(&ia, &ia).is_empty());
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn live_index_folders_of_viewers_that_are_gone_are_removed() {
    use super::build::remove_stale_live_indexes;
    let dir = tmp("stale-live");
    let dead = dir.join("index.live-999999999-1");
    let own = dir.join(format!("index.live-{}-2", std::process::id()));
    let other = dir.join("index");
    for d in [&dead, &own, &other] {
        std::fs::create_dir_all(d.join("sub")).unwrap();
    }
    // A file (not a folder) with the name is left alone.
    std::fs::write(dir.join("index.live-999999998-3"), b"x").unwrap();
    remove_stale_live_indexes(&dir);
    assert!(!dead.exists());
    assert!(own.exists() && other.exists());
    assert!(dir.join("index.live-999999998-3").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_symlinked_index_folder_or_file_is_refused() {
    let dir = tmp("symlinked");
    let evs = random_events(5, 500, 1, 3);
    write_trace(&dir.join("trace.nrt"), &["a", "b", "c"], &evs, 100, true);
    let ix = build(&dir);
    drop(ix);
    // The index folder moved elsewhere and a symlink put in its place.
    let elsewhere = tmp("symlinked-elsewhere");
    let moved = elsewhere.join("index");
    std::fs::rename(dir.join("index"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, dir.join("index")).unwrap();
    let e = open_or_build(&dir).err().expect("a symlinked index folder is refused");
    assert_eq!(e.code(), "ERR_UNSAFE_INDEX", "{e}");
    assert!(e.to_string().contains("index"), "{e}");
    // Nothing was written through the link, and the link is still there.
    assert!(std::fs::symlink_metadata(dir.join("index")).unwrap().file_type().is_symlink());
    std::fs::remove_file(dir.join("index")).unwrap();
    std::fs::rename(&moved, dir.join("index")).unwrap();
    assert!(open_or_build(&dir).is_ok());
    // A file of the index replaced by a symlink.
    let acts = dir.join("index").join("acts-0.bin");
    let copy = elsewhere.join("acts-0.bin");
    std::fs::copy(&acts, &copy).unwrap();
    std::fs::remove_file(&acts).unwrap();
    std::os::unix::fs::symlink(&copy, &acts).unwrap();
    let e = open_or_build(&dir).err().expect("a symlinked index file is refused");
    assert_eq!(e.code(), "ERR_UNSAFE_INDEX", "{e}");
    assert!(e.to_string().contains("acts-0.bin"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&elsewhere);
}

/// A string value.
fn vstr(s: &str) -> Vec<u8> {
    let mut b = vec![tag::STRING];
    put_varint(&mut b, s.len() as u64);
    put_varint(&mut b, s.len() as u64);
    b.extend_from_slice(s.as_bytes());
    b
}

fn run_start(id: u64, parent: u64, meta: &[(&str, &str)]) -> Option<Vec<u8>> {
    let mut b = Vec::new();
    put_varint(&mut b, id);
    put_varint(&mut b, parent);
    let props: Vec<(&str, Vec<u8>)> = meta.iter().map(|(k, v)| (*k, vstr(v))).collect();
    b.extend_from_slice(&obj(&props));
    Some(b)
}

fn mark_id(id: u64) -> Option<Vec<u8>> {
    let mut b = Vec::new();
    put_varint(&mut b, id);
    Some(b)
}

#[test]
fn runs_in_the_index_match_the_streaming_reader() {
    use crate::wire::format::mark as m;
    let dir = tmp("runs");
    let mk = |thread, k, payload, t_us, blob| Ev { thread, head: head(k, payload), t_us, blob };
    let evs = vec![
        mk(0, kind::MARK, m::RUN_START, 10, run_start(1, 0, &[("runId", "a"), ("domain", "d")])),
        mk(0, kind::CALL, 1, 11, None),
        mk(0, kind::RETURN, 0, 12, None),
        mk(0, kind::MARK, m::RUN_START, 13, run_start(2, 1, &[("runId", "a.1")])),
        mk(0, kind::CALL, 2, 14, None),
        mk(0, kind::MARK, m::RUN_SWITCH, 15, mark_id(0)),
        mk(0, kind::CALL, 3, 16, None),
        mk(0, kind::RETURN, 0, 17, None),
        mk(1, kind::MARK, m::RUN_START, 10, run_start(1, 0, &[("runId", "b"), ("parentRunId", "a")])),
        mk(1, kind::CALL, 1, 12, None),
        mk(1, kind::RETURN, 0, 13, None),
        mk(1, kind::MARK, m::RUN_END, 14, mark_id(1)),
        mk(1, kind::MARK, m::RUN_SWITCH, 14, mark_id(0)),
        mk(1, kind::MARK, m::RUN_START, 15, run_start(2, 0, &[("runId", "empty"), ("sampleId", "7")])),
        mk(1, kind::MARK, m::RUN_END, 16, mark_id(2)),
        mk(1, kind::MARK, m::RUN_SWITCH, 16, mark_id(0)),
        mk(0, kind::MARK, m::RUN_SWITCH, 18, mark_id(2)),
        mk(0, kind::RETURN, 0, 19, None),
        mk(0, kind::MARK, m::RUN_END, 20, mark_id(2)),
        mk(0, kind::MARK, m::RUN_END, 21, mark_id(1)),
    ];
    for per_chunk in [3, 100] {
        write_trace(&dir.join("trace.nrt"), &["f", "g", "h"], &evs, per_chunk, true);
        let mut ix = build(&dir);
        // The streaming reader (noderec ls --runs) gives the same runs and counts.
        let mut chunks = crate::trace::reader::ChunkReader::open(&dir.join("trace.nrt")).unwrap();
        let (rows, _) = crate::export::stream::runs_of(&mut chunks).unwrap();
        let got: Vec<_> = ix.meta.runs.iter().map(|r| (r.run_id.clone(), r.thread, r.events)).collect();
        let want: Vec<_> = rows.iter().map(|r| (r.run_id.clone(), r.thread, r.events)).collect();
        assert_eq!(got, want);
        // A run-end mark names its run by id, whatever run is current.
        assert!(ix.meta.runs.iter().all(|r| r.ended));
        assert_eq!((ix.meta.runs[0].start_ns, ix.meta.runs[0].end_ns), (10_000, 21_000));
        assert_eq!(ix.meta.runs[1].domain.as_deref(), Some("d"), "a nested run inherits its parent's domain");
        assert_eq!(ix.meta.runs[1].parent_run_id.as_deref(), Some("a"));
        assert_eq!(ix.meta.runs[3].sample_id.as_deref(), Some("7"));
        // Each activation's run is the run at its call.
        let runs_of_acts = |ix: &mut Index, f: queries::RunFilter| -> Vec<(u32, String, Option<String>)> {
            let q = TimelineQuery { runs: f, limit: 100, ..TimelineQuery::default() };
            queries::timeline(ix, &q).unwrap().rows.into_iter().map(|r| (r.thread, r.name, r.run)).collect()
        };
        assert_eq!(
            runs_of_acts(&mut ix, queries::RunFilter::default()),
            vec![
                (0, "f".into(), Some("a".into())),
                (0, "g".into(), Some("a.1".into())),
                (0, "h".into(), None),
                (1, "f".into(), Some("b".into())),
            ]
        );
        // `run` follows nesting on the thread and `parentRunId` across threads.
        let a = queries::RunFilter { run: Some("a".into()), ..Default::default() };
        assert_eq!(runs_of_acts(&mut ix, a).iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["f", "g", "f"]);
        let d = queries::RunFilter { domain: Some("d".into()), ..Default::default() };
        assert_eq!(runs_of_acts(&mut ix, d).len(), 2);
        let none = queries::RunFilter { sample: Some("7".into()), ..Default::default() };
        assert!(runs_of_acts(&mut ix, none).is_empty(), "the empty run has no calls");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
