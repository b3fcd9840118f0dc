# noderec — `just` lists the recipes. `just ready` is what CI runs.

# List the recipes
default:
    @just --list

# Build the Rust addon (release) and the TypeScript facade
build:
    npm run build

# The checks, then every test: Rust unit tests, then vitest (unit + integration, spawning node)
test:
    npm test

# The checks alone: cargo fmt --check, clippy (all targets, warnings as errors), tsc --noEmit
lint:
    npm run check

# Format Rust
fmt:
    cargo fmt --all

# Benchmarks: print the figures table (never part of the tests)
bench:
    npm run bench

# What CI runs (.ci/run: npm install, then this): fmt check, clippy -D warnings, tsc --noEmit, then the tests
ready:
    npm test

# Fuzz every target for SECONDS each (nightly + cargo-fuzz: `rustup toolchain install nightly`, `cargo install cargo-fuzz`).
# New corpus entries land in fuzz/corpus/<target>, crashes in fuzz/artifacts/<target>; `cargo test` replays both.
fuzz SECONDS="300":
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    declare -A LEN=([trace_reader]=65536 [filter_loader]=16384 [selector]=256 [glob]=256 [jsregex]=1024 [instrument]=8192)
    for t in trace_reader filter_loader selector glob jsregex instrument; do
        cargo +nightly fuzz run -O "$t" -- -max_total_time={{SECONDS}} -rss_limit_mb=2048 -max_len=${LEN[$t]} -timeout=10 -print_final_stats=1
    done

# Minimize the checked-in fuzz corpora by edge coverage (run after `just fuzz`, before committing them)
fuzz-cmin:
    #!/usr/bin/env bash
    set -euo pipefail
    cd fuzz
    for t in trace_reader filter_loader selector glob jsregex instrument; do
        cargo +nightly fuzz build -O "$t"
        rm -rf "corpus/$t.min" && mkdir "corpus/$t.min"
        "target/x86_64-unknown-linux-gnu/release/$t" -merge=1 -use_counters=0 -rss_limit_mb=2048 -timeout=10 "corpus/$t.min" "corpus/$t"
        rm -rf "corpus/$t" && mv "corpus/$t.min" "corpus/$t"
    done
