#!/usr/bin/env node
// `node bench/scope.js`: events, trace size and time of `--scope project`
// (the default) and `--scope all` on a small app that uses a few packages
// (bench/workloads/scope-app). Figures are noisy on a shared machine.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { NODE, cleanEnv, median } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const APP = path.join(__dirname, 'workloads', 'scope-app', 'app.js');
const RUNS = Number(process.env.BENCH_RUNS || 3);

function once(scope) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-'));
  const args = scope === null ? [APP] : ['--require', REGISTER, APP];
  const env = cleanEnv({ NODEREC_OUT_DIR: outDir, ...(scope === null ? {} : { NODEREC_SCOPE: scope }) });
  const t0 = process.hrtime.bigint();
  const r = spawnSync(NODE, args, { env, cwd: ROOT, maxBuffer: 64 << 20 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`scope ${scope}: ${r.stderr}`);
  const work = JSON.parse(r.stdout.toString().trim().split('\n').pop()).ms;
  let events = 0;
  let bytes = 0;
  if (scope !== null) {
    const dir = path.join(outDir, fs.readdirSync(outDir)[0]);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    events = meta.events ?? meta.event_count ?? 0;
    bytes = fs.statSync(path.join(dir, 'trace.nrt')).size;
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  return { wallMs, work, events, bytes };
}

function measure(scope) {
  once(scope); // warm the instrumentation cache
  const runs = Array.from({ length: RUNS }, () => once(scope));
  return { wallMs: median(runs.map((r) => r.wallMs)), work: median(runs.map((r) => r.work)), events: runs[0].events, bytes: runs[0].bytes };
}

const plain = measure(null);
const rows = [['plain', plain], ['project', measure('project')], ['all', measure('all')]];
console.log('scope     events      trace bytes   wall ms   work ms   work recorded/plain');
for (const [name, m] of rows) {
  console.log(
    `${name.padEnd(9)} ${String(m.events).padStart(9)} ${String(m.bytes).padStart(14)} ${m.wallMs.toFixed(0).padStart(9)} ${m.work.toFixed(0).padStart(9)} ${(m.work / plain.work).toFixed(1).padStart(10)}×`,
  );
}
