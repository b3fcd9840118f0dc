// Object-heavy workload (issue 9): a parser returning AST nodes through deep
// call chains (acorn parsing its own source) and a serializer/state machine
// passing one large state object to every call (js-yaml dumping and loading a
// document). Prints wall ms and peak RSS.
const fs = require('node:fs');
const path = require('node:path');
const acorn = require('acorn');
const yaml = require('js-yaml');

// BENCH_SCALE (default 1) shrinks the inputs for quick profiles.
const scale = Number(process.env.BENCH_SCALE || 1);
const full = fs.readFileSync(path.join(path.dirname(require.resolve('acorn')), 'acorn.js'), 'utf8');
const src = scale >= 1 ? full : fs.readFileSync(require.resolve('semver/classes/range.js'), 'utf8');
const doc = {
  service: 'noderec',
  replicas: 3,
  items: Array.from({ length: Math.round(1500 * scale) }, (_, i) => ({
    id: i,
    name: `item-${i}`,
    price: i * 1.25,
    tags: ['a', 'b', i % 2 ? 'odd' : 'even'],
    dims: { w: i % 7, h: i % 5, unit: 'cm' },
    active: i % 3 === 0,
  })),
};
// Each phase is timed too (phases.acorn / dump / load, ms), so a ratio can
// be read per kind of code: a parser returning nodes, a serializer, a parser
// passing one growing state object to every call.
const now = () => process.hrtime.bigint();
// BENCH_THREADS=1 (Linux): CPU ms per thread kind at each phase boundary
// (/proc schedstat): the main thread, noderec's threads by name, and the
// rest (V8's compiler and GC workers, Node's). Read between the phases.
const threadCpu = () => {
  const out = { main: 0, other: 0 };
  for (const t of fs.readdirSync('/proc/self/task')) {
    const ns = Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    const comm = fs.readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim();
    const k = t === String(process.pid) ? 'main' : comm.startsWith('noderec-') ? comm.slice(8) : 'other';
    out[k] = (out[k] || 0) + ns / 1e6;
  }
  return out;
};
const threads = process.env.BENCH_THREADS === '1';
const cpuMarks = [];
const mark = () => {
  if (threads) cpuMarks.push(threadCpu());
};
// BENCH_STOP=acorn|dump ends the work after that phase (the later phases
// then take 0 ms), BENCH_STOP=start does none of it (the modules loaded,
// the document built): cumulative runs give a count per phase under valgrind.
const stop = process.env.BENCH_STOP || '';
mark();
const t0 = now();
const ast = stop === 'start' ? { body: [] } : acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'script' });
const t1 = now();
mark();
const t1b = now();
const text = stop === 'start' || stop === 'acorn' ? '' : yaml.dump(doc);
const t2 = now();
mark();
const t2b = now();
const back = stop === 'start' || stop === 'acorn' || stop === 'dump' ? { items: [] } : yaml.load(text);
const t3 = now();
mark();
const phases = { acorn: Number(t1 - t0) / 1e6, dump: Number(t2 - t1b) / 1e6, load: Number(t3 - t2b) / 1e6 };
const ms = phases.acorn + phases.dump + phases.load;
// Per phase and thread kind, CPU ms (BENCH_THREADS=1).
let phaseCpu = null;
if (threads) {
  phaseCpu = {};
  ['acorn', 'dump', 'load'].forEach((k, i) => {
    const a = cpuMarks[i];
    const b = cpuMarks[i + 1];
    phaseCpu[k] = {};
    for (const n of Object.keys(b)) phaseCpu[k][n] = Math.round((b[n] - (a[n] || 0)) * 10) / 10;
  });
}
const ru = process.resourceUsage();
// CPU time of the main thread alone (Linux: /proc schedstat, ns on CPU), without
// the recorder's writer and clock threads; null elsewhere.
let mainCpuMs = null;
try {
  mainCpuMs = Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
} catch {
  // not Linux
}
process.stdout.write(JSON.stringify({ ms, phases, cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000, mainCpuMs, phaseCpu, statements: ast.body.length, items: back.items.length, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
