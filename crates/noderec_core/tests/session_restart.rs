//! A session that finished while a worker still used it (the main thread's
//! API stop() and start(), decisions.md 38 and 39): a module table
//! registered into it is defined in the session running now, and a batch
//! handed to it — a held one too — is dropped and counted by the next
//! session to finish. One
//! test: sessions are process-wide.

use noderec_core::session::lifecycle::{self, FnDef, StartOptions, SESSION_ENDED};
use noderec_core::session::metadata::Metadata;
use noderec_core::trace::reader::read_trace;

fn options(out: &std::path::Path, program: &str) -> StartOptions {
    StartOptions {
        out_dir: out.display().to_string(),
        program: program.into(),
        root: out.display().to_string(),
        pid: std::process::id(),
        ..StartOptions::default()
    }
}

fn func(name: &str) -> FnDef {
    FnDef { name: name.into(), kind: "function", line: 1, col: 0, flags: 0, params: vec![], source: None }
}

#[test]
fn a_finished_session_still_used_by_a_worker() {
    let out = std::env::temp_dir().join(format!("noderec-restart-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("out dir");
    let one = lifecycle::start(&options(&out, "one")).expect("start one");
    one.finish(Some(0), None, "complete").expect("finish one");
    let two = lifecycle::start(&options(&out, "two")).expect("start two");
    assert_ne!(one.id, two.id);

    // A worker instrumented a module for session one, which finished meanwhile.
    let base = one.register_functions(&out.join("late.js").display().to_string(), &[func("late"), func("later")]);
    let base = base.expect("registering into a finished session is no error");
    // Its batch of 5 events for session one is dropped.
    let words = [0i32; 15];
    let r = one.hand_over(9, -1, words.as_ptr(), 5, std::ptr::null(), 0, 0, 0, 0, || (words.to_vec(), vec![]));
    assert_eq!(r.expect("hand over"), SESSION_ENDED);
    // So is a held batch (a clearing run's, hold = run 1) of 5 more: it went
    // to the outbox, where it stayed, neither written nor counted, and the
    // worker was not told (review of decision 39).
    let r = one.hand_over(9, -1, words.as_ptr(), 5, std::ptr::null(), 0, 1, 1, 0, || (words.to_vec(), vec![]));
    assert_eq!(r.expect("held hand over"), SESSION_ENDED, "a held batch for a finished session");

    let meta = two.finish(Some(0), None, "complete").expect("finish two");
    let t = read_trace(&two.dir.join("trace.nrt")).expect("read two");
    let names: Vec<&str> = [base, base + 1].iter().filter_map(|id| t.funcs.get(id)).map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["late", "later"], "the table is defined in the session running now");
    assert_eq!(meta.events_dropped_before_join, 10);
    assert_eq!(Metadata::load(&two.dir).expect("metadata").events_dropped_before_join, 10);
    assert_eq!(Metadata::load(&one.dir).expect("metadata").events_dropped_after_stop, 0);
    std::fs::remove_dir_all(&out).ok();
}
