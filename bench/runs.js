#!/usr/bin/env node
// Runs and spans (issue 13): the cost of run(), span(), startSpan().end()
// and log() per call, and the probes' cost per call+return pair with no run
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
