#!/usr/bin/env node
// An idle recorded process (a server between requests, a test worker waiting
// on a child): the CPU the recorder uses while the program's event loop waits,
// per second, plain vs recorded (median of BENCH_RUNS, default 5). The
// published clock slows to 1 ms steps once no JavaScript thread has run for
// 2 ms (session/clock.rs), instead of waking every 100 µs.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NODE, cleanEnv, median } = require('./common');

const REGISTER = path.join(__dirname, '..', 'js', 'dist', 'register.js');
const WORKLOAD = path.join(__dirname, 'workloads', 'idle.js');
const RUNS = Number(process.env.BENCH_RUNS || 5);
const MS = 2000;

function cpuPerSecond(recorded) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-idle-'));
  const args = recorded ? ['--require', REGISTER, WORKLOAD, String(MS)] : [WORKLOAD, String(MS)];
  const r = spawnSync(NODE, args, { env: cleanEnv({ NODEREC_OUT_DIR: outDir }) });
  fs.rmSync(outDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`idle workload failed: ${r.stderr}`);
  return JSON.parse(r.stdout.toString().trim().split('\n').pop()).cpuMs / (MS / 1000);
}

const plain = [];
const rec = [];
for (let i = 0; i < RUNS; i++) {
  plain.push(cpuPerSecond(false));
  rec.push(cpuPerSecond(true));
}
const load = os.loadavg()[0].toFixed(1);
console.log(`| measure | plain | recorded |`);
console.log(`|---|---|---|`);
console.log(`| CPU of an idle process, ms per second waited (median of ${RUNS}, load ${load}) | ${median(plain).toFixed(1)} | ${median(rec).toFixed(1)} |`);
