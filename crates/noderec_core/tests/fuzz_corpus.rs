//! Replays every input checked in for the fuzz targets — the minimized
//! corpus (`fuzz/corpus/<target>/`) and every crash found
//! (`fuzz/artifacts/<target>/`) — through the same checks the targets run
//! (`noderec_core::fuzz`), on stable Rust without a fuzzer.

use std::path::PathBuf;

use noderec_core::fuzz::{check, TARGETS};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz").join(kind).join(target);
    let mut out: Vec<PathBuf> =
        std::fs::read_dir(&dir).map_or_else(|_| Vec::new(), |rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect());
    out.retain(|p| p.is_file());
    out.sort();
    out
}

#[test]
fn every_corpus_and_crash_input_passes() {
    let mut failures = Vec::new();
    let mut total = 0;
    for t in TARGETS {
        let corpus = inputs("corpus", t);
        assert!(!corpus.is_empty(), "no corpus checked in for {t}");
        for p in corpus.iter().chain(inputs("artifacts", t).iter()) {
            total += 1;
            let data = std::fs::read(p).unwrap_or_default();
            let r = std::panic::catch_unwind(|| check(t, &data));
            match r {
                Ok(Ok(())) => {}
                Ok(Err(m)) => failures.push(format!("{}: {m}", p.display())),
                Err(_) => failures.push(format!("{}: panicked", p.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{} of {total} inputs fail:\n{}", failures.len(), failures.join("\n"));
}
