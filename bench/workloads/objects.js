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
const t0 = now();
const ast = acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'script' });
const t1 = now();
const text = yaml.dump(doc);
const t2 = now();
const back = yaml.load(text);
const t3 = now();
const ms = Number(t3 - t0) / 1e6;
const phases = { acorn: Number(t1 - t0) / 1e6, dump: Number(t2 - t1) / 1e6, load: Number(t3 - t2) / 1e6 };
const ru = process.resourceUsage();
// CPU time of the main thread alone (Linux: /proc schedstat, ns on CPU), without
// the recorder's writer and clock threads; null elsewhere.
let mainCpuMs = null;
try {
  mainCpuMs = Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
} catch {
  // not Linux
}
process.stdout.write(JSON.stringify({ ms, phases, cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000, mainCpuMs, statements: ast.body.length, items: back.items.length, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
