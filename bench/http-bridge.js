#!/usr/bin/env node
// The cost of the http bridges (js/bridges.ts) per request: a recorded
// process serves keep-alive loopback requests to itself (a client span and
// a server span per request) in rounds with the bridges subscribed and
// unsubscribed. Prints µs per request of each, and the difference.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const NODE = process.env.BENCH_NODE || process.execPath;
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-http-'));
try {
  const r = spawnSync(NODE, ['--require', path.join(ROOT, 'js', 'dist', 'register.js'), path.join(__dirname, 'workloads', 'runs', 'http.js')], {
    env: { ...process.env, NODEREC_OUT_DIR: out, NODEREC_BRIDGES_MODULE: path.join(ROOT, 'js', 'dist', 'bridges.js') },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`http.js failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(`http bridges, ${path.basename(NODE)} ${spawnSync(NODE, ['--version'], { encoding: 'utf8' }).stdout.trim()}, recorded process, keep-alive loopback GET:`);
  console.log(`  bridges on   ${m.onUs.toFixed(1)} µs per request (client + server span)`);
  console.log(`  bridges off  ${m.offUs.toFixed(1)} µs per request`);
  console.log(`  cost         ${(m.onUs - m.offUs).toFixed(1)} µs per request (noisy: medians of 5 rounds of 2,000)`);
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
