//! Write-then-read round trips of the trace format, and recovery from
//! damaged files.

// Test helpers may panic on setup failures.
#![allow(clippy::expect_used)]

use noderec_core::trace::reader::{read_trace, read_trace_bytes};
use noderec_core::trace::walk::walk;
use noderec_core::trace::writer::{FuncDef, Msg, WriterHandle};
use noderec_core::wire::format::{kind, HAS_VALUES, PAYLOAD_SHIFT};
use std::path::PathBuf;

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("noderec-rt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("trace.nrt")
}

fn head(k: u8, payload: u32, values: bool) -> i32 {
    (u32::from(k) | if values { HAS_VALUES } else { 0 } | (payload << PAYLOAD_SHIFT)) as i32
}

/// Value bytes: `int n` (tag 4, zigzag varint), small n only.
fn int(n: i32) -> Vec<u8> {
    vec![4, ((n << 1) ^ (n >> 31)) as u8]
}

/// Writes `batches` batches of fib-like call/return pairs on thread 0.
fn write_sample(path: &PathBuf, batches: usize) {
    let w = WriterHandle::spawn(std::fs::File::create(path).expect("create"), path, 0).expect("spawn writer");
    w.send(Msg::Path { id: 0, path: "src/app.js".into() }).expect("send");
    w.send(Msg::Func(FuncDef {
        id: 1,
        path: 0,
        name: "fib".into(),
        kind: "function".into(),
        line: 3,
        col: 0,
        flags: 0,
        params: vec!["n".into()],
    }))
    .expect("send");
    w.send(Msg::Thread { id: 0, name: "main".into() }).expect("send");
    for b in 0..batches {
        let mut words = Vec::new();
        let mut arena = Vec::new();
        for i in 0..100i32 {
            let t = (b * 1000 + i as usize * 3) as i32;
            // call fib(i): argc 1 => varint 2, then int(i)
            arena.push(2);
            arena.extend(int(i % 50));
            words.extend([head(kind::CALL, 1, true), t, arena.len() as i32]);
            arena.extend(int(i % 50 + 1));
            words.extend([head(kind::RETURN, 0, true), t + 1, arena.len() as i32]);
        }
        w.send(Msg::Events { thread: 0, words, arena, hold: 0, run: 0, lead: 0 }).expect("send");
        w.flush().expect("flush");
    }
    w.finish().expect("finish");
}

#[test]
fn write_then_read_round_trips() {
    let path = temp_file("roundtrip");
    write_sample(&path, 3);
    let t = read_trace(&path).expect("read");
    assert!(t.ended, "END record read");
    assert!(t.damage.is_none());
    assert_eq!(t.events.len(), 600);
    assert_eq!(t.paths.get(&0).map(String::as_str), Some("src/app.js"));
    let f = t.funcs.get(&1).expect("func");
    assert_eq!((f.name.as_str(), f.line, f.params.len()), ("fib", 3, 1));
    let first = t.events[0];
    assert_eq!((first.kind, first.payload, first.t_us), (kind::CALL, 1, 0));
    assert_eq!(t.blob(&first), &[2, 4, 0]);
    let ret = t.events[1];
    assert_eq!((ret.kind, ret.t_us), (kind::RETURN, 1));
    assert_eq!(t.blob(&ret), &[4, 2]);
    // Times come back in order across batches.
    assert!(t.events.windows(2).all(|w| w[0].t_us <= w[1].t_us));
    let steps = walk(&t);
    assert!(steps.iter().all(|s| s.func == Some(1)));
    assert_eq!(steps[599].activation, 300);
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_cut_file_reads_back_every_complete_chunk() {
    let path = temp_file("cut");
    write_sample(&path, 4);
    let full = std::fs::read(&path).expect("read file");
    let whole = read_trace_bytes(&full).expect("whole");
    assert_eq!(whole.events.len(), 800);
    // Cut the file at every length: the reader never fails and never returns
    // a partial chunk; what it returns is a prefix of the whole trace.
    let mut seen = std::collections::BTreeSet::new();
    for len in 17..full.len() {
        let t = read_trace_bytes(&full[..len]).expect("cut trace");
        assert!(t.events.len().is_multiple_of(200), "whole batches only, got {}", t.events.len());
        assert!(!t.ended);
        assert!(t.damage.is_some() || t.bytes_read == len as u64, "a cut at {len} inside a chunk is reported");
        assert!(t.bytes_read <= len as u64);
        seen.insert(t.events.len());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 200, 400, 600, 800]);
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_damaged_chunk_stops_the_reader_there() {
    let path = temp_file("damaged");
    write_sample(&path, 4);
    let mut bytes = std::fs::read(&path).expect("read file");
    // Find the third chunk and flip a byte in its body.
    let mut pos = 16usize;
    for _ in 0..2 {
        let clen = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        pos += 12 + clen;
    }
    bytes[pos + 12 + 3] ^= 0xff;
    let t = read_trace_bytes(&bytes).expect("damaged trace");
    assert_eq!(t.chunks, 2);
    assert_eq!(t.bytes_read as usize, pos);
    let msg = t.damage.expect("damage reported");
    assert!(msg.contains("checksum"), "{msg}");
    // One chunk per flushed batch: two whole batches read back.
    assert_eq!(t.events.len(), 400);
    std::fs::remove_file(&path).ok();
}

#[test]
fn the_header_is_checked() {
    assert!(read_trace_bytes(b"not a trace at all").is_err());
    let mut v = b"NRTRACE\0".to_vec();
    v.extend(99u32.to_le_bytes());
    v.extend(0u32.to_le_bytes());
    let e = read_trace_bytes(&v).expect_err("version");
    assert!(e.contains("version 99"));
}

#[test]
fn throws_take_the_error_of_the_catch_that_follows() {
    let path = temp_file("throw");
    let w = WriterHandle::spawn(std::fs::File::create(&path).expect("create"), &path, 0).expect("spawn");
    w.send(Msg::Path { id: 0, path: "a.js".into() }).expect("send");
    for (id, name) in [(1, "outer"), (2, "inner")] {
        w.send(Msg::Func(FuncDef {
            id,
            path: 0,
            name: name.into(),
            kind: "function".into(),
            line: id,
            col: 0,
            flags: 0,
            params: vec![],
        }))
        .expect("send");
    }
    // outer calls inner, inner throws, outer's catch clause receives the error (string "boom").
    let mut arena = Vec::new();
    arena.extend([6, 4, 4]);
    arena.extend(b"boom");
    let words = vec![
        head(kind::CALL, 1, false),
        0,
        0,
        head(kind::CALL, 2, false),
        0,
        0,
        head(kind::THROW, 0, false),
        1,
        0,
        head(kind::CATCH, 0, true),
        1,
        7,
        head(kind::RETURN, 0, false),
        2,
        0,
    ];
    w.send(Msg::Events { thread: 0, words, arena, hold: 0, run: 0, lead: 0 }).expect("send");
    w.finish().expect("finish");
    let t = read_trace(&path).expect("read");
    let steps = walk(&t);
    let throw = steps[2];
    assert_eq!(throw.func, Some(2));
    let src = throw.error_from.expect("error known");
    assert_eq!(t.blob(&t.events[src]), &[6, 4, 4, b'b', b'o', b'o', b'm']);
    assert_eq!(steps[3].func, Some(1), "the catch belongs to outer");
    assert_eq!(steps[4].func, Some(1));
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_cleared_run_leaves_its_lead_and_a_cleared_mark_and_activations_keep_their_numbers() {
    use noderec_core::wire::format::mark;
    let path = temp_file("cleared");
    let w = WriterHandle::spawn(std::fs::File::create(&path).expect("create"), &path, 0).expect("spawn");
    w.send(Msg::Path { id: 0, path: "a.js".into() }).expect("send");
    w.send(Msg::Func(FuncDef {
        id: 1,
        path: 0,
        name: "f".into(),
        kind: "function".into(),
        line: 1,
        col: 0,
        flags: 0,
        params: vec![],
    }))
    .expect("send");
    // Run 1 (held): its run-switch lead mark (blob: id 1), then f called twice.
    let words = vec![
        head(kind::MARK, mark::RUN_SWITCH, true),
        1,
        1,
        head(kind::CALL, 1, false),
        2,
        0,
        head(kind::RETURN, 0, false),
        3,
        0,
        head(kind::CALL, 1, false),
        4,
        0,
        head(kind::RETURN, 0, false),
        5,
        0,
    ];
    w.send(Msg::Many(vec![
        Msg::Events { thread: 0, words, arena: vec![1], hold: 1, run: 1, lead: 1 },
        // Not held, but behind run 1: waits for it.
        Msg::Events {
            thread: 0,
            words: vec![head(kind::CALL, 1, false), 6, 0, head(kind::RETURN, 0, false), 7, 0],
            arena: vec![],
            hold: 0,
            run: 0,
            lead: 0,
        },
        Msg::Settle { thread: 0, runs: vec![1], keep: false },
    ]))
    .expect("send");
    w.finish().expect("finish");
    let t = read_trace(&path).expect("read");
    let kinds: Vec<(u8, u32)> = t.events.iter().map(|e| (e.kind, e.payload)).collect();
    assert_eq!(
        kinds,
        [(kind::MARK, mark::RUN_SWITCH), (kind::MARK, mark::CLEARED), (kind::CALL, 1), (kind::RETURN, 0)]
    );
    // run 1, 4 events, 2 calls
    assert_eq!(t.blob(&t.events[1]), &[1, 4, 2]);
    let steps = walk(&t);
    assert_eq!(steps[2].activation, 3, "the calls cleared keep their numbers");
    std::fs::remove_file(&path).ok();
}

/// The writer copies value spans of every length, short ones as fixed
/// 16-byte moves: spans of 0 to 40 bytes and a long one, events without
/// values between them, the last span ending at the arena's end, read back
/// byte for byte.
#[test]
fn value_spans_of_every_length_read_back() {
    let path = temp_file("spans");
    let w = WriterHandle::spawn(std::fs::File::create(&path).expect("create"), &path, 0).expect("spawn writer");
    w.send(Msg::Thread { id: 0, name: "main".into() }).expect("send");
    let mut lens: Vec<usize> = (0..=40).collect();
    lens.push(300);
    lens.extend([3, 1]);
    let mut words = Vec::new();
    let mut arena = Vec::new();
    let mut want = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        let blob: Vec<u8> = (0..len).map(|k| (i * 31 + k * 7) as u8).collect();
        arena.extend(&blob);
        words.extend([head(kind::OUTPUT, 1, true), i as i32, arena.len() as i32]);
        want.push(Some(blob));
        words.extend([head(kind::THROW, 0, false), i as i32, 0]);
        want.push(None);
    }
    w.send(Msg::Events { thread: 0, words, arena, hold: 0, run: 0, lead: 0 }).expect("send");
    w.finish().expect("finish");
    let t = read_trace(&path).expect("read");
    assert!(t.damage.is_none());
    assert_eq!(t.events.len(), want.len());
    for (e, w) in t.events.iter().zip(&want) {
        match w {
            Some(b) => assert_eq!(t.blob(e), b.as_slice()),
            None => assert_eq!(e.kind, kind::THROW),
        }
    }
}

/// Events without values, their heads and time steps at every varint
/// length the writer meets (payloads up to 2^26, steps from 0 to 2^31 µs,
/// the 32-bit time the probes write wrapping on the way; a step of 2^32 µs
/// or more cannot be told from a shorter one), in batches of one to many
/// events, read back exactly.
#[test]
fn heads_and_time_steps_of_every_length_read_back() {
    let path = temp_file("varints");
    let w = WriterHandle::spawn(std::fs::File::create(&path).expect("create"), &path, 0).expect("spawn writer");
    w.send(Msg::Thread { id: 0, name: "main".into() }).expect("send");
    let payloads: Vec<u32> = (0..27).flat_map(|b| [(1u32 << b) - 1, 1u32 << b]).filter(|&p| p < 1 << 26).collect();
    let steps: Vec<u64> = (0..32).flat_map(|b| [(1u64 << b) - 1, 1u64 << b, (1u64 << b) + 1]).collect();
    let kinds = [kind::CALL, kind::RETURN, kind::THROW, kind::AWAIT];
    let mut want = Vec::new();
    let mut t = 5u64;
    let mut i = 0usize;
    for size in [1usize, 2, 7, 200] {
        let mut words = Vec::new();
        for _ in 0..size {
            let p = payloads[i % payloads.len()];
            let k = kinds[i % kinds.len()];
            t += steps[(i * 7) % steps.len()];
            words.extend([head(k, p, false), t as u32 as i32, 0]);
            want.push((k, p, t));
            i += 1;
        }
        w.send(Msg::Events { thread: 0, words, arena: Vec::new(), hold: 0, run: 0, lead: 0 }).expect("send");
    }
    w.finish().expect("finish");
    let tr = read_trace(&path).expect("read");
    assert!(tr.damage.is_none());
    let got: Vec<(u8, u32, u64)> = tr.events.iter().map(|e| (e.kind, e.payload, e.t_us)).collect();
    assert_eq!(got.len(), want.len());
    // Times are read back relative to the first event's.
    let t0 = want[0].2 - got[0].2;
    let want: Vec<(u8, u32, u64)> = want.iter().map(|&(k, p, t)| (k, p, t - t0)).collect();
    assert_eq!(got, want);
    std::fs::remove_file(&path).ok();
}
