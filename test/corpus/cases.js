// The transparency corpus: small projects that use real runners from npm,
// launched the way people launch them. Each runs plain and under
// `noderec record`; test/integration/corpus.test.ts compares the two and
// bench/corpus.js prints pass counts and wall times.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'js', 'bin', 'noderec.js');
const NODE22 = path.join(ROOT, 'node_modules', 'node22', 'bin', 'node');

/** The machine's node: the first on PATH outside node_modules (npm scripts
 * put node_modules/.bin, which holds the Node 22 of the `node22`
 * devDependency, first). */
function machineNode() {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (d.length === 0 || d.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const p = path.join(d, 'node');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return process.execPath;
}

/** The Node versions the corpus runs on: the machine's (20) and Node 22. */
const NODES = [
  { name: `node ${spawnSync(machineNode(), ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim().split('.')[0]}`, bin: machineNode() },
  { name: 'node 22', bin: NODE22 },
].filter((n) => fs.existsSync(n.bin));

/** How to count passed and failed tests in a runner's output. */
const counters = {
  // `# pass N` (TAP: node --test on Node 20 and 22 without a terminal, tape)
  // or `ℹ pass N` (the spec reporter, node --test's default from Node 23 on).
  tapSummary: (out) => ({ pass: num(/^(?:#|ℹ) pass\s+(\d+)$/m, out), fail: num(/^(?:#|ℹ) fail\s+(\d+)$/m, out) }),
  mocha: (out) => ({ pass: num(/(\d+) passing/, out), fail: num(/(\d+) failing/, out) }),
  tap: (out) => {
    const m = /# \{ total: \d+, pass: (\d+), fail: (\d+)/.exec(out);
    return m ? { pass: Number(m[1]), fail: Number(m[2]) } : { pass: null, fail: null };
  },
  jest: (out) => ({ pass: num(/^Tests:.*?(\d+) passed/m, out), fail: num(/^Tests:.*?(\d+) failed/m, out) }),
  vitest: (out) => ({ pass: num(/^\s+Tests\s.*?(\d+) passed/m, out), fail: num(/^\s+Tests\s.*?(\d+) failed/m, out) }),
  // ava: a line per test, `✔ name` or `✘ [fail]: name`.
  ava: (out) => ({ pass: (out.match(/^\s*✔ /gm) ?? []).length, fail: (out.match(/^\s*✘ /gm) ?? []).length }),
  none: () => ({ pass: null, fail: null }),
};

function num(re, s) {
  const m = re.exec(s);
  return m ? Number(m[1]) : null;
}

/**
 * name, dir, the command as a person types it, how to count, the counts
 * expected, and where the code under test must show in the trace.
 */
const CASES = [
  { name: 'node:test', dir: 'node-test', cmd: ['npm', 'test'], count: 'tapSummary', expect: { pass: 2, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.js', line: 4 } },
  { name: 'mocha', dir: 'mocha', cmd: ['npx', 'mocha'], count: 'mocha', expect: { pass: 2, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.js', line: 4 } },
  { name: 'tape', dir: 'tape', cmd: ['npm', 'test'], count: 'tapSummary', expect: { pass: 2, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.js', line: 4 } },
  { name: 'tap', dir: 'tap', cmd: ['npx', 'tap'], count: 'tap', expect: { pass: 2, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.js', line: 4 } },
  // No timings cached: jest runs the two files in worker processes (one trace each).
  { name: 'jest (babel-jest, TypeScript, 2 workers)', dir: 'jest', cmd: ['npx', 'jest', '--maxWorkers=2'], fresh: ['.jest-cache'], count: 'jest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  { name: 'vitest (TypeScript)', dir: 'vitest', cmd: ['npm', 'test'], count: 'vitest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  // Not recognized as jest by its entry script: the project's config uses noderec/jest-transformer.
  { name: 'jest from a script, noderec/jest-transformer', dir: 'jest-script', cmd: ['npm', 'test'], fresh: ['.jest-cache'], count: 'jest', expect: { pass: 3, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  { name: 'jest in band', dir: 'jest', cmd: ['npx', 'jest', '--runInBand'], count: 'jest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  // Only the plugin in its config: the config-free integration is off (test-only switch).
  { name: 'vitest with noderec/vite-plugin', dir: 'vitest-plugin', cmd: ['npm', 'test'], env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_NO_RUNNER_PATCH: '1' }, count: 'vitest', expect: { pass: 3, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  { name: 'vitest, threads pool', dir: 'vitest', cmd: ['npx', 'vitest', 'run', '--pool=threads'], count: 'vitest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  // vitest 4 (its own node_modules, see scripts/prepare.js): vite's module runner.
  { name: 'vitest 4 (TypeScript)', dir: 'vitest4', cmd: ['npm', 'test'], count: 'vitest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  { name: 'vitest 4, vmThreads pool', dir: 'vitest4', cmd: ['npx', 'vitest', 'run', '--pool=vmThreads'], count: 'vitest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  { name: 'vitest, vmForks pool', dir: 'vitest', cmd: ['npx', 'vitest', 'run', '--pool=vmForks'], count: 'vitest', expect: { pass: 7, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.ts', line: 8 } },
  // An ES module project; ava runs each test file in a worker thread.
  { name: 'ava (ES modules, worker threads)', dir: 'ava', cmd: ['npx', 'ava'], count: 'ava', expect: { pass: 3, fail: 1 }, code: { fn: 'lineTotal', file: 'src/calc.js', line: 4 } },
  { name: 'program (vm, eval worker, own SIGTERM handler, #! bin)', dir: 'program', cmd: ['./main.js'], count: 'none', expect: { pass: null, fail: null }, code: { fn: 'lineTotal', file: 'main.js', line: 7 } },
];

/** The environment of a run on `node` (one of NODES): no recorder settings
 * inherited, that node and the project's bins first on PATH. */
function env(extra = {}, node = NODES[NODES.length - 1]) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('NODEREC_') || k === 'NODE_OPTIONS' || k.startsWith('VITEST') || k === 'NODE_ENV' || k.startsWith('JEST_') || k.startsWith('TAP')) continue;
    if (k.startsWith('npm_')) continue;
    out[k] = v;
  }
  out.PATH = [path.dirname(node.bin), path.join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(path.delimiter);
  out.FORCE_COLOR = '0';
  out.NO_COLOR = '1';
  out.CI = '1';
  return { ...out, ...extra };
}

/** Makes `node` the one npm scripts and `npx` run a project's bins with:
 * they put the `node_modules/.bin` of the project and of every directory
 * above it in front of PATH, and the repository's holds the `node22`
 * devDependency's `node`. The project's own (gitignored) comes first. */
function useNode(cwd, node, cmd) {
  const bin = path.join(cwd, 'node_modules', '.bin');
  fs.mkdirSync(bin, { recursive: true });
  const link = path.join(bin, 'node');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(node.bin, link);
  // `npx <bin>` of a bin the project does not hold itself runs it with the
  // .bin of the directory that holds it first on PATH: the repository's,
  // whose `node` is Node 22. A link in the project's own .bin keeps `node`
  // the one chosen above.
  // A project with its own runner (vitest4) keeps it.
  if (cmd[0] === 'npx' && !fs.existsSync(path.join(bin, cmd[1]))) {
    fs.symlinkSync(path.join(ROOT, 'node_modules', '.bin', cmd[1]), path.join(bin, cmd[1]));
    return true;
  }
  return false;
}

/** Runs a case on `node` (one of NODES, default Node 22), plain, or
 * recorded into `outDir` (asynchronously: a test worker blocked for a minute
 * misses its runner's heartbeats). */
function run(c, recorded, outDir, node = NODES[NODES.length - 1]) {
  const cwd = path.join(__dirname, c.dir);
  for (const f of c.fresh ?? []) fs.rmSync(path.join(cwd, f), { recursive: true, force: true });
  const linked = useNode(cwd, node, c.cmd);
  const argv = recorded ? [node.bin, CLI, 'record', '--out-dir', outDir, '--', ...c.cmd] : c.cmd;
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env: env(c.env ?? {}, node), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    let error;
    child.on('error', (e) => (error = e));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(path.join(cwd, 'node_modules', '.bin', 'node'), { force: true });
      if (linked) fs.rmSync(path.join(cwd, 'node_modules', '.bin', c.cmd[1]), { force: true });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      resolve({ code, signal, stdout, stderr, ms, counts: counters[c.count](`${stdout}\n${stderr}`), error });
    });
  });
}

/** Output lines as compared: timings, columns and noderec's own summary
 * lines taken out, sorted (parallel runners report files in any order). */
function normalized(text) {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('noderec: '))
    .map((l) =>
      l
        .replace(/^(\s*)(Time:|Start at|Duration).*$/, '$1$2 T')
        .replace(/(duration_ms:?|time=)\s*[\d.]+(ms)?/g, '$1 T')
        .replace(/\s\(\d+(\.\d+)?\s?m?s\)/g, '')
        .replace(/\b\d+(\.\d+)?\s?(ms|s)\b/g, 'T')
        .replace(/:(\d+):\d+\)/g, ':$1:C)')
        .replace(/:(\d+):\d+$/g, ':$1:C')
        .trimEnd(),
    )
    .filter((l) => l.length > 0)
    .sort();
}

/** Trace directories of a `noderec record` out dir. */
function traces(outDir) {
  const out = [];
  for (const run of fs.existsSync(outDir) ? fs.readdirSync(outDir) : []) {
    const rd = path.join(outDir, run);
    if (!fs.statSync(rd).isDirectory()) continue;
    for (const t of fs.readdirSync(rd)) if (fs.existsSync(path.join(rd, t, 'metadata.json'))) out.push(path.join(rd, t));
  }
  return out;
}

/** Calls of `fn` in the traces of a run, read back through `noderec calls`. */
function callsOf(outDir, fn) {
  const rows = [];
  for (const dir of traces(outDir)) {
    const r = spawnSync(process.execPath, [CLI, 'calls', dir, '--fn', fn, '--json', '--limit', '0'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`noderec calls ${dir}: ${r.stderr}`);
    for (const l of r.stdout.split('\n')) if (l.trim() !== '') rows.push({ dir, ...JSON.parse(l) });
  }
  return rows;
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-corpus-'));
}

module.exports = { CASES, NODES, run, normalized, traces, callsOf, tempDir, env };
