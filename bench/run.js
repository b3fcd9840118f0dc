#!/usr/bin/env node
// `npm run bench`: prints the figures table of the recording core (issue 2).
// Each figure is measured on this machine; targets are from the issue.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const { native } = require(path.join(ROOT, 'js', 'dist', 'native.js'));
const RUNS = Number(process.env.BENCH_RUNS || 5);
// The workload file: big enough to matter, small enough to record fully:
// acorn's own source, five times over, each copy in its own function.
function bigFile() {
  if (process.env.BENCH_FILE) return process.env.BENCH_FILE;
  const dir = path.join(__dirname, '.data');
  const file = path.join(dir, 'acorn-x5.js');
  if (!fs.existsSync(file)) {
    const src = fs.readFileSync(path.join(ROOT, 'node_modules', 'acorn', 'dist', 'acorn.js'), 'utf8');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(file, Array.from({ length: 5 }, () => `(function () {\n${src}\n})();\n`).join(''));
  }
  return file;
}
const BIG = bigFile();
const HUGE = path.join(ROOT, 'node_modules', 'typescript', 'lib', 'typescript.js');

const { NODE, cleanEnv: env, median } = require('./common');

function run(args, extraEnv, recorded) {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-'));
  const full = recorded ? ['--require', REGISTER, ...args] : args;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(NODE, full, { env: env({ NODEREC_OUT_DIR: outDir, ...extraEnv }), maxBuffer: 64 << 20 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.toString().trim().split('\n').pop());
  let meta = null;
  if (recorded) {
    const dir = fs.readdirSync(outDir).map((n) => path.join(outDir, n))[0];
    meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  return { out, meta, wallMs };
}


function micro(which, extraEnv) {
  const script = path.join(__dirname, 'workloads', 'micro.js');
  const n = String(2e7);
  const plain = median(Array.from({ length: 3 }, () => run([script, which, n], {}, false).out.ns));
  const rec = median(Array.from({ length: 3 }, () => run([script, which, n], extraEnv, true).out.ns));
  return { plain, rec, cost: rec - plain };
}

function workload(extraEnv) {
  const script = path.join(__dirname, 'workloads', 'acorn.js');
  const plain = [];
  const rec = [];
  let meta = null;
  let rssPlain = [];
  let rssRec = [];
  for (let i = 0; i < RUNS; i++) {
    const p = run([script, BIG], {}, false);
    plain.push(p.wallMs);
    rssPlain.push(p.out.maxRssKb);
    const r = run([script, BIG], extraEnv, true);
    rec.push(r.wallMs);
    rssRec.push(r.out.maxRssKb);
    meta = r.meta;
  }
  return { plain: median(plain), rec: median(rec), meta, rssPlainKb: median(rssPlain), rssRecKb: median(rssRec) };
}

function markedWorkload() {
  const script = path.join(__dirname, 'workloads', 'marked.mjs');
  const plain = [];
  const rec = [];
  const recNv = [];
  let docBytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const p = run([script, '1000'], {}, false);
    plain.push(p.wallMs);
    docBytes = p.out.docBytes;
    rec.push(run([script, '1000'], {}, true).wallMs);
    recNv.push(run([script, '1000'], { NODEREC_CAPTURE_VALUES: '0' }, true).wallMs);
  }
  return { plain: median(plain), rec: median(rec), recNv: median(recNv), docBytes };
}

function instrumentThroughput() {
  const src = fs.readFileSync(HUGE, 'utf8');
  const mb = Buffer.byteLength(src) / 1e6;
  native().instrumentSource(src, HUGE, false); // warm up
  const ours = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    native().instrumentSource(src, HUGE, false);
    ours.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const { createInstrumenter } = require('istanbul-lib-instrument');
  const inst = createInstrumenter({ esModules: false, compact: true, produceSourceMap: false });
  const t0 = process.hrtime.bigint();
  inst.instrumentSync(src, HUGE);
  const istanbulMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return { mb, oursMs: median(ours), istanbulMs };
}

function fmt(n, d = 1) {
  return Number.isFinite(n) ? n.toFixed(d) : String(n);
}

function main() {
  const rows = [];
  const row = (measure, value, target, ok) => rows.push([measure, value, target, ok === null ? '' : ok ? 'met' : 'MISSED']);
  console.error(`node ${NODE} (${spawnSync(NODE, ['-v']).stdout.toString().trim()}), ${os.cpus().length} cpus: ${os.cpus()[0].model}`);

  const m0 = micro('noop', {});
  row('probe cost per call+return, no arguments', `${fmt(m0.cost)} ns (plain ${fmt(m0.plain)}, recorded ${fmt(m0.rec)})`, '<= 15 ns', m0.cost <= 15);
  const m0v = micro('noop', { NODEREC_CAPTURE_VALUES: '0' });
  row('  same, values off', `${fmt(m0v.cost)} ns`, '', null);
  const m2 = micro('add', {});
  row('probe cost, 2 small int args + int return', `${fmt(m2.cost)} ns (plain ${fmt(m2.plain)}, recorded ${fmt(m2.rec)})`, '<= 40 ns', m2.cost <= 40);

  const w = workload({});
  const ratio = w.rec / w.plain;
  const events = w.meta.events;
  row(
    `acorn parsing ${path.basename(BIG)} (${fmt(fs.statSync(BIG).size / 1e6, 2)} MB), recorded/plain wall, median of ${RUNS}`,
    `${fmt(ratio, 2)}x (${fmt(w.plain, 0)} ms -> ${fmt(w.rec, 0)} ms, ${events} events, every call and value)`,
    '<= 3x',
    ratio <= 3,
  );
  const writerRate = events / (w.meta.writer_busy_ms / 1000);
  row('trace size with values', `${fmt(w.meta.trace_bytes / events, 2)} bytes/event`, '', null);
  row('writer throughput with values (events / writer busy time)', `${fmt(writerRate / 1e6, 1)} M events/s`, '', null);
  const wn = workload({ NODEREC_CAPTURE_VALUES: '0' });
  const writerRateNv = wn.meta.events / (wn.meta.writer_busy_ms / 1000);
  row('writer throughput, calls without values', `${fmt(writerRateNv / 1e6, 1)} M events/s`, '>= 20M events/s', writerRateNv >= 20e6);
  row('trace size, calls without values', `${fmt(wn.meta.trace_bytes / wn.meta.events, 2)} bytes/event`, '<= 6 bytes/event', wn.meta.trace_bytes / wn.meta.events <= 6);
  row('  recorded/plain without values', `${fmt(wn.rec / wn.plain, 2)}x`, '', null);
  const rss = (w.rssRecKb - w.rssPlainKb) / 1024;
  row('peak RSS recorded minus plain', `${fmt(rss, 1)} MiB (plain ${fmt(w.rssPlainKb / 1024, 0)} MiB)`, '<= 64 MiB', rss <= 64);

  const mk = markedWorkload();
  row(`marked rendering a ${fmt(mk.docBytes / 1e3, 0)} kB document, recorded/plain, median of ${RUNS}`, `${fmt(mk.rec / mk.plain, 2)}x with values (${fmt(mk.plain, 0)} -> ${fmt(mk.rec, 0)} ms); ${fmt(mk.recNv / mk.plain, 2)}x without`, '<= 3x', mk.rec / mk.plain <= 3);
  const it = instrumentThroughput();
  const ours = it.mb / (it.oursMs / 1000);
  const ist = it.mb / (it.istanbulMs / 1000);
  row(`instrumentation, typescript.js (${fmt(it.mb, 1)} MB)`, `${fmt(ours, 1)} MB/s (${fmt(it.oursMs, 0)} ms)`, '>= 30 MB/s', ours >= 30);
  row('  istanbul (istanbul-lib-instrument), same file', `${fmt(ist, 2)} MB/s (${fmt(it.istanbulMs, 0)} ms); ratio ${fmt(ours / ist, 1)}x`, '>= 10x', ours / ist >= 10);

  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['measure', 'measured', 'target', ''][i].length));
  const line = (r) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(['measure', 'measured', 'target', '']));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  // The other benches, each printing its own table. exports.js records 1M
  // events here (its own default, 10M, writes ~5 GB of exports).
  const extras = {
    'values.js': {},
    'filter.js': {},
    'io.js': {},
    'stack-depth.js': {},
    'idle.js': {},
    'secrets.js': {},
    'scope.js': {},
    'runs.js': {},
    'http-bridge.js': {},
    'exports.js': { BENCH_EXPORT_EVENTS: process.env.BENCH_EXPORT_EVENTS || '1000000' },
  };
  for (const [extra, extraEnv] of Object.entries(extras)) {
    const p = path.join(__dirname, extra);
    if (fs.existsSync(p)) {
      console.log(`\n${extra}:`);
      spawnSync(NODE, [p], { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
    }
  }
}

main();
