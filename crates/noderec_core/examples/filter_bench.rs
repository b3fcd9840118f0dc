//! The filter engine's benchmark (`bench/filter.js` runs it): reads
//! `{"paths", "files", "functions", "iterations"}` as JSON on standard input
//! and prints the figures as JSON. Outside the addon, so the shipped binary
//! carries no benchmark code.

#![allow(clippy::print_stdout)] // a command-line tool: its output is the figures

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use noderec_core::filter::loader::load_chain_uncached;
use noderec_core::filter::Engine;

fn run(
    paths: Vec<String>,
    files: Vec<String>,
    functions: Vec<String>,
    iterations: u32,
) -> Result<serde_json::Value, String> {
    let mut load_ms = f64::MAX;
    let mut chain = None;
    for _ in 0..5 {
        let t = Instant::now();
        let c = load_chain_uncached(&paths).map_err(|e| e.to_string())?;
        load_ms = load_ms.min(t.elapsed().as_secs_f64() * 1000.0);
        chain = Some(c);
    }
    let Some(chain) = chain else { return Err("no chain".into()) };
    let rules: u32 = chain.files.iter().map(|f| f.scope.rules.len() as u32).sum();
    let root = "/bench/project";
    let engine = Engine::new(chain, Path::new(root));
    let abs: Vec<String> = files.iter().map(|f| format!("{root}/{f}")).collect();
    let n = iterations.max(1) as usize;
    let params = vec!["a".to_string(), "b".to_string()];
    // Warm the caches (package lookups find no package.json under /bench).
    let decisions: Vec<_> = abs.iter().map(|a| engine.decide_file(a)).collect();
    for d in &decisions {
        for f in &functions {
            engine.decide_function(d, f, &params);
        }
    }
    let per_s = |elapsed: f64| n as f64 / elapsed.max(1e-9);
    let t = Instant::now();
    let mut keep = 0usize;
    for i in 0..n {
        keep += usize::from(engine.decide_file(&abs[i % abs.len()]).record);
    }
    let cached_file_per_s = per_s(t.elapsed().as_secs_f64());
    let t = Instant::now();
    for i in 0..n {
        let d = &decisions[i % decisions.len()];
        keep +=
            usize::from(engine.decide_function(d, &functions[(i / decisions.len()) % functions.len()], &params).record);
    }
    let cached_fn_per_s = per_s(t.elapsed().as_secs_f64());
    let t = Instant::now();
    for i in 0..n {
        let f = &files[i % files.len()];
        keep += usize::from(engine.evaluate_file(f, Some("bench-pkg")).0);
    }
    let uncached_file_per_s = per_s(t.elapsed().as_secs_f64());
    let t = Instant::now();
    for i in 0..n {
        let d = &decisions[i % decisions.len()];
        keep += usize::from(
            engine.evaluate_function(d, &functions[(i / decisions.len()) % functions.len()], &params).record,
        );
    }
    let uncached_fn_per_s = per_s(t.elapsed().as_secs_f64());
    std::hint::black_box(keep);
    Ok(serde_json::json!({
        "rules": rules,
        "loadMs": load_ms,
        "cachedFilePerS": cached_file_per_s,
        "cachedFnPerS": cached_fn_per_s,
        "uncachedFilePerS": uncached_file_per_s,
        "uncachedFnPerS": uncached_fn_per_s,
    }))
}

fn main() {
    let mut input = String::new();
    let parsed = std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_str::<serde_json::Value>(&input).map_err(|e| e.to_string()));
    let strings = |v: &serde_json::Value, k: &str| -> Vec<String> {
        v[k].as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let result = parsed.and_then(|v| {
        let iterations = v["iterations"].as_u64().map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX));
        run(strings(&v, "paths"), strings(&v, "files"), strings(&v, "functions"), iterations)
    });
    match result {
        Ok(figures) => println!("{figures}"),
        Err(e) => {
            println!("{}", serde_json::json!({ "error": e }));
            std::process::exit(1);
        }
    }
}
