#!/usr/bin/env node
// The clock thread's own cost while the program is busy: runs the
// object-heavy workload recorded (every call and value, BENCH_SCALE default
// 0.25; BENCH_WORKLOAD another file of bench/workloads, BENCH_SCOPE the
// recorder's scope, default all; BENCH_VALUES=0 values off) and reads the `noderec-clock` thread's CPU time and wake-ups
// (voluntary context switches) from /proc/<pid>/task/* every 20 ms until
// the process ends; prints them per second of the run (median of
// BENCH_RUNS, default 5). Linux only.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NODE, cleanEnv, median } = require('./common');

const REGISTER = path.join(__dirname, '..', 'js', 'dist', 'register.js');
const VALUES = process.env.BENCH_VALUES || '1';
const WORKLOAD = path.join(__dirname, 'workloads', process.env.BENCH_WORKLOAD || 'objects.js');
const SCOPE = process.env.BENCH_SCOPE || 'all';
const RUNS = Number(process.env.BENCH_RUNS || 5);
const TICKS = 100; // USER_HZ: /proc's stat times are in 1/100 s

/** A thread's CPU ms from its /proc stat. */
function cpuMsOf(stat) {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS;
}

/** The main thread's CPU ms, or null once gone. */
function mainThread(pid) {
  try {
    return cpuMsOf(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** The clock thread's [cpu ms, voluntary switches], or null once gone. */
function clockThread(pid) {
  let tasks;
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tasks) {
    try {
      const dir = `/proc/${pid}/task/${tid}`;
      if (fs.readFileSync(`${dir}/comm`, 'utf8').trim() !== 'noderec-clock') continue;
      const cpuMs = cpuMsOf(fs.readFileSync(`${dir}/stat`, 'utf8'));
      const sw = Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`${dir}/status`, 'utf8'))[1]);
      return [cpuMs, sw];
    } catch {
      return null;
    }
  }
  return null;
}

function once() {
  return new Promise((resolve, reject) => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-clock-'));
    const t0 = process.hrtime.bigint();
    const child = spawn(NODE, ['--require', REGISTER, WORKLOAD], {
      env: cleanEnv({ NODEREC_OUT_DIR: outDir, BENCH_SCALE: process.env.BENCH_SCALE || '0.25', NODEREC_SCOPE: process.env.BENCH_SCOPE || 'all', NODEREC_CAPTURE_VALUES: VALUES }),
      stdio: 'ignore',
    });
    let last = [0, 0];
    let main = 0;
    const poll = setInterval(() => {
      const c = clockThread(child.pid);
      if (c !== null) last = c;
      const m = mainThread(child.pid);
      if (m !== null) main = m;
    }, 20);
    child.on('exit', (code) => {
      clearInterval(poll);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      fs.rmSync(outDir, { recursive: true, force: true });
      if (code !== 0) return reject(new Error(`workload exited ${code}`));
      resolve({ cpuMsPerS: last[0] / wallS, wakesPerS: last[1] / wallS, wallS, mainMs: main });
    });
  });
}

(async () => {
  const rs = [];
  for (let i = 0; i < RUNS; i++) rs.push(await once());
  const load = os.loadavg()[0].toFixed(1);
  const m = (k) => median(rs.map((r) => r[k]));
  console.log(`| measure (${path.basename(WORKLOAD)}, scope ${SCOPE}, median of ${RUNS}, load ${load}) | value |`);
  console.log(`|---|---|`);
  console.log(`| wall of a run, s | ${m('wallS').toFixed(2)} |`);
  console.log(`| main thread CPU of a run, ms (to the last poll) | ${m('mainMs').toFixed(0)} |`);
  console.log(`| clock thread CPU, ms per second of the run | ${m('cpuMsPerS').toFixed(1)} |`);
  console.log(`| clock thread wake-ups per second | ${m('wakesPerS').toFixed(0)} |`);
  console.log(`| CPU per wake-up, µs | ${((m('cpuMsPerS') * 1000) / m('wakesPerS')).toFixed(1)} |`);
})();
