# noderec — `just` lists the recipes. `just ready` is what CI runs.

# List the recipes
default:
    @just --list

# Build the Rust addon (release) and the TypeScript facade
build:
    npm run build

# Run every test: Rust unit tests, then vitest (unit + integration, spawning node)
test:
    npm test

# Type-check TypeScript and run clippy with warnings as errors
lint:
    npm run lint

# Format Rust and check formatting
fmt:
    cargo fmt --all

# Benchmarks: print the figures table (never part of the tests)
bench:
    npm run bench

# What CI runs: install (builds everything), then the test command
ready:
    npm install
    npm test
