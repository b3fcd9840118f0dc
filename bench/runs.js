#!/usr/bin/env node
// Runs and spans (issue 13): the cost of run(), span(), startSpan().end()
// and log() per call, of a clearing run and of its per-switch flush, and the probes' cost per call+return pair with no run
// ever started, with the run-switch hooks installed but no run active, and
// inside a run. Figures are medians of BENCH_RUNS (default 5) processes.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const NODE = process.env.BENCH_NODE || process.execPath;
const RUNS = Number(process.env.BENCH_RUNS || 5);
const script = path.join(__dirname, 'workloads', 'runs', 'micro.js');

function once(mode) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-runs-'));
  try {
    const r = spawnSync(NODE, ['--require', path.join(ROOT, 'js', 'dist', 'register.js'), script], {
      env: { ...process.env, MODE: mode, NODEREC_OUT_DIR: out, NODEREC_API: path.join(ROOT, 'js', 'dist', 'index.js') },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`micro.js ${mode} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const res = {};
for (const mode of ['none', 'hooked', 'inside']) {
  const all = [];
  for (let i = 0; i < RUNS; i++) all.push(once(mode));
  for (const k of Object.keys(all[0])) {
    if (k !== 'mode') res[`${mode}.${k}`] = median(all.map((x) => x[k]));
  }
}
console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, ${os.cpus().length} cpus, node ${spawnSync(NODE, ['-v'], { encoding: 'utf8' }).stdout.trim()}`);
for (const [k, v] of Object.entries(res)) console.log(`${k.padEnd(32)} ${v.toFixed(1)} ns`);

// Memory over 10,000 sequential runs (test/fixtures/runs/many.js: each run
// awaits, leaves a timer behind and passes a fresh object through an
// instrumented function), per clear mode: heap and RSS after a GC at run
// 1,000 and at the end, and the trace's size (with 'current' and 'all' the
// runs' own events are cleared; the leftover timers' calls, outside the
// runs, stay). One process per mode.
const many = path.join(ROOT, 'test', 'fixtures', 'runs', 'many.js');
const dirSize = (d) => fs.readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? dirSize(path.join(d, e.name)) : fs.statSync(path.join(d, e.name)).size), 0);
for (const clear of ['none', 'current', 'all']) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-runs-'));
  try {
    const r = spawnSync(NODE, ['--require', path.join(ROOT, 'js', 'dist', 'register.js'), many], {
      env: { ...process.env, CLEAR: clear, NODEREC_OUT_DIR: out, NODEREC_API: path.join(ROOT, 'js', 'dist', 'index.js') },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`many.js failed: ${r.stderr}`);
    const m = JSON.parse(r.stdout);
    const mb = (x) => (x / 1048576).toFixed(1);
    console.log(`10,000 runs, clear ${clear.padEnd(8)} heap ${mb(m.at1k.heap)} -> ${mb(m.end.heap)} MB, rss ${mb(m.at1k.rss)} -> ${mb(m.end.rss)} MB, trace ${mb(dirSize(out))} MB`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}
