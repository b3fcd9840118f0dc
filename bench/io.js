#!/usr/bin/env node
// IO capture benchmark (issue 5): `console.log` of short lines in a loop,
// recorded (NODEREC_CAPTURE_IO=proxies, the default) / plain. Target ≤ 1.5×.
//
// The loop is timed inside the child (startup excluded), with stdout going to
// a pipe that the parent drains, and to /dev/null. The median of BENCH_RUNS
// runs is used. Prints one line per destination, and with --json one JSON
// object (for bench/run.js).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const RUNS = Number(process.env.BENCH_RUNS || 5);
const LINES = Number(process.env.BENCH_LINES || 200000);
const NODE = process.env.BENCH_NODE || process.execPath;

const WORKLOAD = `
const n = ${LINES};
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) console.log('short line ' + i);
const ns = Number(process.hrtime.bigint() - t0);
require('fs').writeFileSync(process.env.BENCH_RESULT, String(ns));
`;

function env(extra) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NODEREC_') && k !== 'NODE_OPTIONS') e[k] = v;
  return { ...e, NODEREC_SCOPE: 'all', ...extra };
}

function once(dir, script, recorded, mode, dest) {
  const result = path.join(dir, `result-${Math.random().toString(36).slice(2)}`);
  const outDir = path.join(dir, 'traces');
  const args = recorded ? ['--require', REGISTER, script] : [script];
  const devnull = dest === 'devnull' ? fs.openSync('/dev/null', 'w') : null;
  const child = spawn(NODE, args, {
    env: env({ BENCH_RESULT: result, NODEREC_OUT_DIR: outDir, NODEREC_CAPTURE_IO: mode }),
    stdio: ['ignore', devnull ?? 'pipe', 'inherit'],
  });
  if (child.stdout) child.stdout.resume();
  return new Promise((resolve, reject) => {
    child.on('close', (code) => {
      if (devnull !== null) fs.closeSync(devnull);
      if (code !== 0) return reject(new Error(`benchmark child exited with ${code}`));
      const ns = Number(fs.readFileSync(result, 'utf8'));
      fs.rmSync(outDir, { recursive: true, force: true });
      resolve(ns);
    });
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function measure(dest, mode) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-io-'));
  const script = path.join(dir, 'console-loop.js');
  fs.writeFileSync(script, WORKLOAD);
  const plain = [];
  const rec = [];
  // Interleaved so that machine noise hits both alike.
  for (let i = 0; i < RUNS; i++) {
    plain.push(await once(dir, script, false, mode, dest));
    rec.push(await once(dir, script, true, mode, dest));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const p = median(plain);
  const r = median(rec);
  return { dest, mode, lines: LINES, plain_ns_per_line: p / LINES, recorded_ns_per_line: r / LINES, ratio: r / p };
}

async function main() {
  const json = process.argv.includes('--json');
  const rows = [];
  for (const dest of ['pipe', 'devnull']) rows.push(await measure(dest, 'proxies'));
  if (process.argv.includes('--fd')) rows.push(await measure('pipe', 'proxies+fd'));
  if (json) {
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  for (const r of rows) {
    process.stdout.write(
      `console.log x${r.lines} to ${r.dest.padEnd(7)} (${r.mode}): plain ${r.plain_ns_per_line.toFixed(0)} ns/line, ` +
        `recorded ${r.recorded_ns_per_line.toFixed(0)} ns/line, recorded/plain ${r.ratio.toFixed(2)}x (target <= 1.5x)\n`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
