#!/usr/bin/env node
// `node bench/query.js`: the query layer on a 10M-event trace with values
// (issue 12): index build speed and peak memory (in a fresh process), then
// getTrace + the first timeline page, mean of 100, with the index built.
// Targets: < 100 ms per query, build >= 5M events/s, peak <= 256 MiB.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { NODE, cleanEnv } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const ITER = Number(process.env.BENCH_QUERY_ITER || 2.5e6);

function record() {
  const cached = path.join(__dirname, '.data', `query-${ITER}`);
  const existing = fs.existsSync(cached) ? fs.readdirSync(cached).map((n) => path.join(cached, n)).find((d) => fs.existsSync(path.join(d, 'trace.nrt'))) : undefined;
  if (existing) return existing;
  fs.mkdirSync(cached, { recursive: true });
  const r = spawnSync(NODE, ['--require', REGISTER, path.join(__dirname, 'workloads', 'shop-loop.js'), String(ITER)], {
    env: cleanEnv({ NODEREC_OUT_DIR: cached }),
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`recording failed: ${r.stderr}`);
  return fs.readdirSync(cached).map((n) => path.join(cached, n)).find((d) => fs.existsSync(path.join(d, 'trace.nrt')));
}

const dir = record();
const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });

// Build in a fresh process: time and peak RSS (and the RSS of node itself before it).
const child = `
const { TraceIndex } = require(${JSON.stringify(path.join(ROOT, 'js', 'native', 'binding.js'))});
const before = process.resourceUsage().maxRSS;
const t0 = process.hrtime.bigint();
const ix = TraceIndex.open(${JSON.stringify(dir)});
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(JSON.stringify({ ms, events: ix.info().events, rssBeforeKiB: before, peakKiB: process.resourceUsage().maxRSS }));
`;
const b = spawnSync(NODE, ['-e', child], { env: cleanEnv({}), maxBuffer: 1 << 20 });
if (b.status !== 0) throw new Error(`index build failed: ${b.stderr}`);
const build = JSON.parse(b.stdout.toString());

// Queries with the index built: through the public API (index kept open, as
// the viewer does) and opening the index afresh for each query (as a CLI call does).
const api = require(path.join(ROOT, 'js', 'dist', 'index.js'));
const { TraceIndex } = require(path.join(ROOT, 'js', 'native', 'binding.js'));
const N = 100;
const time = (f) => {
  f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) f();
  return Number(process.hrtime.bigint() - t0) / 1e6 / N;
};
const warm = time(() => {
  api.getTrace(dir);
  api.timeline(dir, { limit: 100 });
});
const cold = time(() => {
  const ix = TraceIndex.open(dir);
  ix.info();
  ix.timeline({ limit: 100 });
});
const flame = time(() => {
  const ix = TraceIndex.open(dir);
  const t = ix.info().threads[0];
  ix.flame(t.id, t.firstNs, t.lastNs, 1280);
});
const idxBytes = fs.readdirSync(path.join(dir, 'index')).reduce((n, f) => n + fs.statSync(path.join(dir, 'index', f)).size, 0);
const rows = [
  ['trace', `${meta.events.toLocaleString()} events, ${(meta.trace_bytes / 1048576).toFixed(1)} MiB (values captured)`],
  ['index build', `${(build.ms / 1000).toFixed(2)} s = ${((build.events / build.ms) * 1000 / 1e6).toFixed(2)} M events/s (target >= 5)`],
  ['peak RSS while building', `${(build.peakKiB / 1024).toFixed(0)} MiB (node alone before: ${(build.rssBeforeKiB / 1024).toFixed(0)} MiB; target <= 256)`],
  ['index size', `${(idxBytes / 1048576).toFixed(1)} MiB`],
  ['getTrace + first timeline page (index open)', `${warm.toFixed(2)} ms mean of ${N} (target < 100)`],
  ['same, opening the index each time', `${cold.toFixed(2)} ms mean of ${N}`],
  ['flame rectangles, whole thread at 1280 px (open each time)', `${flame.toFixed(2)} ms mean of ${N}`],
];
console.log(`node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0].model}), load ${os.loadavg()[0].toFixed(1)}`);
for (const [k, v] of rows) console.log(`${k.padEnd(58)} ${v}`);
