#!/usr/bin/env node
// Recursion depth, plain vs recorded (issue 8, defect 5): the deepest
// recursion that works, per function shape, on the machine's Node and on
// Node 22. `first run`: the first descent of a fresh function (interpreter
// and baseline frames); `optimized`: after a warm-up (optimized frames).
// Target: recorded >= 90% of plain. BENCH_STACK_ROOM sets NODEREC_STACK_ROOM
// (100: the frames alone). The `worker:` rows run the same shapes in a
// worker thread created with default options (its own 4 MiB stack).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { NODE, cleanEnv } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const WORKLOAD = path.join(__dirname, 'workloads', 'stack-depth.js');
const IN_WORKER = path.join(__dirname, 'workloads', 'in-worker.js');
const NODE22 = path.join(ROOT, 'node_modules', 'node22', 'bin', 'node');

function depths(node, recorded, inWorker) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-depth-'));
  const script = inWorker ? [IN_WORKER, WORKLOAD] : [WORKLOAD];
  const args = recorded ? ['--require', REGISTER, ...script] : script;
  // The async shape makes Node print "Exception in PromiseRejectCallback" at the overflow.
  const room = process.env.BENCH_STACK_ROOM ? { NODEREC_STACK_ROOM: process.env.BENCH_STACK_ROOM } : {};
  const r = spawnSync(node, args, { env: cleanEnv({ NODEREC_OUT_DIR: outDir, ...room }), maxBuffer: 64 << 20 });
  fs.rmSync(outDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${node} ${args.join(' ')}: exit ${r.status}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop());
}

const pct = (a, b) => `${((a / b) * 100).toFixed(0)}%`;

function main() {
  const rows = [['node', 'shape', 'first run: plain', 'recorded', 'ratio', 'optimized: plain', 'recorded', 'ratio']];
  for (const node of [NODE, NODE22]) {
    if (!fs.existsSync(node)) continue;
    const version = spawnSync(node, ['-v']).stdout.toString().trim();
    for (const inWorker of [false, true]) {
      const plain = depths(node, false, inWorker);
      const rec = depths(node, true, inWorker);
      for (const shape of Object.keys(plain)) {
        const p = plain[shape];
        const q = rec[shape];
        const name = inWorker ? `worker: ${shape}` : shape;
        rows.push([version, name, String(p.cold), String(q.cold), pct(q.cold, p.cold), String(p.hot), String(q.hot), pct(q.hot, p.hot)]);
      }
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(rows[0]));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows.slice(1)) console.log(line(r));
}

main();
