#!/usr/bin/env node
// An idle recorded process (a server between requests, a test worker waiting
// on a child): the CPU the recorder uses while the program's event loop waits,
// plain vs recorded (median of BENCH_RUNS, default 5). Each run waits 1 s and
// 5 s: the CPU per second waited is the difference over the 4 s between them
// (what the recorder keeps spending while nothing runs), the rest is a
// one-off cost after the start (the recorder finishing its own start-up).
// The published clock parks while no JavaScript thread runs
// (session/clock.rs): it used to wake every 100 µs, then every 1 ms.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NODE, cleanEnv, median } = require('./common');

const REGISTER = path.join(__dirname, '..', 'js', 'dist', 'register.js');
const WORKLOAD = path.join(__dirname, 'workloads', 'idle.js');
const RUNS = Number(process.env.BENCH_RUNS || 5);
const SHORT = 1000;
const LONG = 5000;

function cpuMs(recorded, ms) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-idle-'));
  const args = recorded ? ['--require', REGISTER, WORKLOAD, String(ms)] : [WORKLOAD, String(ms)];
  const r = spawnSync(NODE, args, { env: cleanEnv({ NODEREC_OUT_DIR: outDir }) });
  fs.rmSync(outDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`idle workload failed: ${r.stderr}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop()).cpuMs;
}

const runs = { plain: { short: [], long: [] }, rec: { short: [], long: [] } };
for (let i = 0; i < RUNS; i++) {
  for (const [k, recorded] of [['plain', false], ['rec', true]]) {
    runs[k].short.push(cpuMs(recorded, SHORT));
    runs[k].long.push(cpuMs(recorded, LONG));
  }
}
const perS = (k) => (median(runs[k].long) - median(runs[k].short)) / ((LONG - SHORT) / 1000);
const fixed = (k) => median(runs[k].short) - perS(k) * (SHORT / 1000);
const load = os.loadavg()[0].toFixed(1);
console.log(`| measure (median of ${RUNS}, load ${load}) | plain | recorded |`);
console.log(`|---|---|---|`);
console.log(`| CPU of an idle process, ms per second waited | ${perS('plain').toFixed(1)} | ${perS('rec').toFixed(1)} |`);
console.log(`| CPU of an idle process, one-off ms after the start | ${fixed('plain').toFixed(1)} | ${fixed('rec').toFixed(1)} |`);
