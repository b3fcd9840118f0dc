#!/usr/bin/env node
// Export throughput (issue 14): records a workload of BENCH_EXPORT_EVENTS
// events (default 10M: calls with small arguments and returns, on one
// thread), then exports it once per format with the CLI, and prints per
// format: wall time, events/s, output bytes per event, peak RSS of the
// export process (/usr/bin/time). One run per format: figures are noisy on
// a shared machine. `--json` prints one JSON object.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { NODE, cleanEnv } = require('./common');

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'js', 'bin', 'noderec.js');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const EVENTS = Number(process.env.BENCH_EXPORT_EVENTS || 10_000_000);
const FORMATS = (process.env.BENCH_EXPORT_FORMATS || 'jsonl,chrome,speedscope,perfetto,otlp,parquet').split(',');

const WORKLOAD = `
function deposit(acct, n) { acct.balance += n; return acct.balance; }
function step(i) { return deposit(acct, i & 7); }
const acct = { owner: 'ada', balance: 0 };
const calls = ${Math.ceil(EVENTS / 4)};
for (let i = 0; i < calls; i++) step(i);
`;

function main() {
  const json = process.argv.includes('--json');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-bench-exports-'));
  try {
    const script = path.join(work, 'workload.js');
    fs.writeFileSync(script, WORKLOAD);
    const out = path.join(work, 'traces');
    const rec = spawnSync(NODE, ['--require', REGISTER, script], { env: cleanEnv({ NODEREC_OUT_DIR: out }), stdio: 'inherit' });
    if (rec.status !== 0) throw new Error('recording failed');
    const dir = path.join(out, fs.readdirSync(out)[0]);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
    const traceBytes = fs.statSync(path.join(dir, 'trace.nrt')).size;
    const rows = [];
    for (const f of FORMATS) {
      const file = path.join(work, `out.${f}`);
      const args = ['export', dir, '--format', f, '-o', file, '--no-progress'];
      if (f === 'otlp') args.push('--min-duration', '0');
      const t0 = process.hrtime.bigint();
      const r = spawnSync('/usr/bin/time', ['-f', '%M', NODE, CLI, ...args], { encoding: 'utf8', env: cleanEnv({}) });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`export ${f} failed: ${r.stderr}`);
      const rssKb = Number(r.stderr.trim().split('\n').pop());
      const bytes = fs.statSync(file).size;
      rows.push({ format: f, seconds: s, eventsPerS: meta.events / s, bytesPerEvent: bytes / meta.events, bytes, peakRssMiB: rssKb / 1024 });
      fs.rmSync(file);
    }
    const result = { events: meta.events, traceBytes, rows };
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
      return;
    }
    console.log(`trace: ${meta.events.toLocaleString('en')} events, ${(traceBytes / 2 ** 20).toFixed(1)} MiB (${(traceBytes / meta.events).toFixed(2)} B/event)`);
    console.log('| format | time | events/s | output bytes/event | output size | peak RSS |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.format} | ${r.seconds.toFixed(1)} s | ${(r.eventsPerS / 1e6).toFixed(2)} M | ${r.bytesPerEvent.toFixed(2)} | ${(r.bytes / 2 ** 20).toFixed(0)} MiB | ${r.peakRssMiB.toFixed(0)} MiB |`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
