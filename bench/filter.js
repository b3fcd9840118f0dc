#!/usr/bin/env node
// Trace filter benchmarks (issue 3): decisions per second with a 50-rule
// chain (cached and uncached), chain load time, and the recording-core
// workload recorded with a filter that skips all but one file.
// `node bench/filter.js` prints a table; `require('./filter').run()` returns the rows.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
const DEFAULT = path.join(ROOT, 'filters', 'default.toml');
// The engine's timing loop is a Rust example of the core, not part of the
// addon: built once here with cargo (the benchmarks are a developer's tool).
function filterBench(paths, files, functions, iterations) {
  const r = spawnSync('cargo', ['run', '--release', '--quiet', '-p', 'noderec_core', '--example', 'filter_bench'], {
    cwd: ROOT,
    input: JSON.stringify({ paths, files, functions, iterations }),
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const out = (r.stdout || '').trim();
  if (r.status !== 0) throw new Error(`filter_bench: ${out || r.stderr || r.error}`);
  return JSON.parse(out);
}
const RUNS = Number(process.env.BENCH_RUNS || 5);

/** A 50-rule filter: pkg, file and fn selectors, globs, regexes and literals, value patterns. */
function fiftyRules(dir) {
  const rules = [];
  for (let i = 0; i < 50; i++) {
    const sel = [
      `pkg:@scope${i}/*`,
      `file:src/module${i}/**/*.js`,
      `fn:Handler${i}.*`,
      `file:regex:^lib/v${i}/.*\\.m?js$`,
      `pkg:literal:dep-${i}`,
    ][i % 5];
    let r = `[[scope.rules]]\nselector = "${sel.replace(/\\/g, '\\\\')}"\n`;
    r += i % 3 === 0 ? 'exec = "skip"\n' : 'value_default = "allow"\n';
    if (i % 4 === 0) r += `[[scope.rules.value_patterns]]\nselector = "arg:secret${i}"\naction = "redact"\n`;
    rules.push(r);
  }
  const file = path.join(dir, 'fifty.toml');
  fs.writeFileSync(file, `[meta]\nname = "bench-50"\nversion = 1\n\n${rules.join('\n')}`);
  return file;
}

/** A generated filter of `n` rules (fn: literals, file: globs, fn: regexes;
 * one value pattern every 4 rules), as a large shared filter might be. */
function manyRules(dir, n) {
  const parts = ['[meta]\nname = "many"\nversion = 1\n'];
  for (let i = 0; i < n; i++) {
    const sel = [`fn:generated${i}`, `file:src/m${i}/**/*.js`, `fn:regex:^H${i}\\\\.`][i % 3];
    parts.push(`[[scope.rules]]\nselector = "${sel}"\nexec = "skip"\n`);
    if (i % 4 === 0) parts.push(`[[scope.rules.value_patterns]]\nselector = "arg:secret${i}"\naction = "redact"\n`);
  }
  const file = path.join(dir, `rules-${n}.toml`);
  fs.writeFileSync(file, parts.join(''));
  return file;
}

const { NODE, cleanEnv, median } = require('./common');

/** The recording-core workload (acorn parsing acorn x5), plain and recorded
 * with a filter that instruments only the driver script. */
function skipAllButOne(dir) {
  const big = path.join(dir, 'acorn-x5.js');
  const src = fs.readFileSync(path.join(ROOT, 'node_modules', 'acorn', 'dist', 'acorn.js'), 'utf8');
  fs.writeFileSync(big, Array.from({ length: 5 }, () => `(function () {\n${src}\n})();\n`).join(''));
  const filter = path.join(dir, 'one-file.toml');
  fs.writeFileSync(
    filter,
    '[meta]\nname = "one-file"\nversion = 1\n[scope]\ndefault_exec = "skip"\n[[scope.rules]]\nselector = "file:bench/workloads/acorn.js"\nexec = "trace"\n',
  );
  const script = path.join(__dirname, 'workloads', 'acorn.js');
  const once = (recorded) => {
    const outDir = fs.mkdtempSync(path.join(dir, 'out-'));
    const args = recorded ? ['--require', REGISTER, script, big] : [script, big];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(NODE, args, { env: cleanEnv({ NODEREC_OUT_DIR: outDir, NODEREC_TRACE_FILTER: filter }), maxBuffer: 64 << 20 });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`workload failed: ${r.stderr}`);
    const inner = JSON.parse(r.stdout.toString().trim().split('\n').pop()).ms;
    let meta = null;
    if (recorded) {
      const d = fs.readdirSync(outDir).map((n) => path.join(outDir, n))[0];
      meta = JSON.parse(fs.readFileSync(path.join(d, 'metadata.json'), 'utf8'));
    }
    return { ms, inner, meta };
  };
  once(false);
  once(true); // warm the instrumentation cache
  const plain = [];
  const rec = [];
  const plainIn = [];
  const recIn = [];
  let meta = null;
  for (let i = 0; i < RUNS; i++) {
    const p = once(false);
    plain.push(p.ms);
    plainIn.push(p.inner);
    const r = once(true);
    rec.push(r.ms);
    recIn.push(r.inner);
    meta = r.meta;
  }
  return { plain: median(plain), rec: median(rec), plainIn: median(plainIn), recIn: median(recIn), meta };
}

function run() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-filter-bench-'));
  try {
    const chain = [DEFAULT, fiftyRules(dir)];
    const files = [];
    for (let i = 0; i < 200; i++) files.push(['src/module7/a/b.js', `node_modules/dep-${i}/lib/index.js`, `lib/v${i % 60}/x.mjs`, `src/app/file${i}.js`][i % 4]);
    const functions = [];
    for (let i = 0; i < 100; i++) functions.push(i % 2 ? `Handler${i % 60}.handle` : `helper${i}`);
    const b = filterBench(chain, files, functions, 2_000_000);
    const u = filterBench(chain, files, functions, 200_000);
    const big = filterBench([manyRules(dir, 100_000)], ['src/a.js'], ['f'], 1000);
    const w = skipAllButOne(dir);
    const ratio = w.recIn / w.plainIn;
    const wallRatio = w.rec / w.plain;
    const rows = [
      ['rules in the chain (default + 50)', String(b.rules), '', ''],
      ['cached file decisions', `${(b.cachedFilePerS / 1e6).toFixed(1)} M/s`, '>= 5 M/s', b.cachedFilePerS >= 5e6],
      ['cached function decisions', `${(b.cachedFnPerS / 1e6).toFixed(1)} M/s`, '>= 5 M/s', b.cachedFnPerS >= 5e6],
      ['uncached file decisions', `${(u.uncachedFilePerS / 1e3).toFixed(0)} k/s`, '>= 200 k/s', u.uncachedFilePerS >= 2e5],
      ['uncached function decisions', `${(u.uncachedFnPerS / 1e3).toFixed(0)} k/s`, '>= 200 k/s', u.uncachedFnPerS >= 2e5],
      ['load the 51-rule chain (best of 5)', `${b.loadMs.toFixed(2)} ms`, '< 5 ms', b.loadMs < 5],
      ['load a 100,000-rule filter (best of 5, wall time)', `${big.loadMs.toFixed(0)} ms`, '< 1000 ms', big.loadMs < 1000],
      [
        `workload skipping all but one file: recorded / plain, the workload (${w.recIn.toFixed(0)} / ${w.plainIn.toFixed(0)} ms, ${w.meta.filter.stats.files_skipped} file skipped)`,
        `${ratio.toFixed(3)}x`,
        '<= 1.1x',
        ratio <= 1.1,
      ],
      [
        `  same, whole process wall time incl. the recorder's fixed start-up (${w.rec.toFixed(0)} / ${w.plain.toFixed(0)} ms)`,
        `${wallRatio.toFixed(3)}x`,
        '',
        '',
      ],
    ];
    return rows;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { run };

if (require.main === module) {
  const rows = run();
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => String(r[i]).length), 6));
  console.log(`${'filters'.padEnd(w[0])}  ${'value'.padEnd(w[1])}  ${'target'.padEnd(w[2])}  status`);
  for (const r of rows) {
    const ok = r[3] === '' ? '' : r[3] ? 'met' : 'MISSED';
    console.log(`${r[0].padEnd(w[0])}  ${String(r[1]).padEnd(w[1])}  ${String(r[2]).padEnd(w[2])}  ${ok}`);
  }
}
