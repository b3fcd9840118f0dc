#!/usr/bin/env node
// What V8's compilers spend on a recorded run of the object-heavy workload
// (issue 9, decisions.md 36): CPU per thread (main, V8's worker threads,
// noderec's writer and clock) and, with --trace, the TurboFan compilations
// (count and their summed `took` ms, the generated plan readers apart) and the
// deoptimizations.
//
//   node bench/jit.js [--scale 0.25] [--runs 5] [--trace] [root ...]
//
// Each root is a checkout with a build (js/dist); several roots are run in
// turn, BENCH_RUNS/--runs times each, alternating, and the medians printed
// (a build of main copied to /tmp against this one). Default root: this
// checkout. Timing figures are noisy on a shared machine: quote the load.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NODE, cleanEnv, median } = require('./common');

const args = process.argv.slice(2);
let scale = '1';
let runs = Number(process.env.BENCH_RUNS || 5);
let trace = false;
const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--scale') scale = args[++i];
  else if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--trace') trace = true;
  else roots.push(path.resolve(args[i]));
}
if (roots.length === 0) roots.push(path.join(__dirname, '..'));

const PRELOAD = path.join(__dirname, 'workloads', 'thread-cpu.js');

/** Counts of a --trace-opt --trace-deopt output. */
function traceCounts(text) {
  const c = { compiles: 0, compileMs: 0, readers: 0, readerMs: 0, eager: 0, marked: 0 };
  for (const line of text.split('\n')) {
    const m = /^\[completed compiling 0x\w+ <JSFunction (\S*) ?\(sfi.*took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/.exec(line);
    if (m) {
      const ms = Number(m[2]) + Number(m[3]) + Number(m[4]);
      c.compiles++;
      c.compileMs += ms;
      // (the generated readers are the only functions with no name)
      if (m[1] === '') {
        c.readers++;
        c.readerMs += ms;
      }
    } else if (line.startsWith('[bailout (kind: deopt-eager')) c.eager++;
    else if (line.startsWith('[marking dependent code')) c.marked++;
  }
  return c;
}

function once(root) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-jit-'));
  const flags = trace ? ['--trace-opt', '--trace-deopt'] : [];
  const r = spawnSync(
    NODE,
    [...flags, '--require', PRELOAD, '--require', path.join(root, 'js', 'dist', 'register.js'), path.join(__dirname, 'workloads', 'objects.js')],
    { env: cleanEnv({ NODEREC_OUT_DIR: outDir, BENCH_SCALE: scale }), maxBuffer: 1 << 28 },
  );
  fs.rmSync(outDir, { recursive: true, force: true });
  const stdout = r.stdout.toString();
  const stderr = r.stderr.toString();
  if (r.status !== 0) throw new Error(`objects.js failed under ${root}: ${stderr.slice(-2000)}`);
  const res = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{"ms"')));
  const threads = JSON.parse(/THREAD-CPU (.*)/.exec(stderr)[1]);
  const row = { wall: res.ms, main: threads.main, v8: threads.node || 0, writer: threads['noderec-writer'] || 0, clock: threads['noderec-clock'] || 0 };
  // (the trace ends at the workload's result: what follows is the exit)
  if (trace) Object.assign(row, traceCounts(stdout.slice(0, stdout.indexOf('{"ms"'))));
  return row;
}

const all = roots.map(() => []);
for (let i = 0; i < runs; i++) roots.forEach((root, j) => all[j].push(once(root)));
console.log(`object-heavy workload, scale ${scale}, ${runs} runs per build (medians; min–max), load ${os.loadavg()[0].toFixed(1)}`);
roots.forEach((root, j) => {
  const cols = Object.keys(all[j][0]);
  const cells = cols.map((k) => {
    const xs = all[j].map((r) => r[k]);
    return `${k} ${Math.round(median(xs))} (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;
  });
  console.log(`${root}\n  ${cells.join(', ')}`);
});
