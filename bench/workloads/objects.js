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
const t0 = process.hrtime.bigint();
const ast = acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'script' });
const text = yaml.dump(doc);
const back = yaml.load(text);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
const ru = process.resourceUsage();
// CPU time of the main thread alone (Linux: /proc schedstat, ns on CPU), without
// the recorder's writer and clock threads; null elsewhere.
let mainCpuMs = null;
try {
  mainCpuMs = Number(fs.readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
} catch {
  // not Linux
}
process.stdout.write(JSON.stringify({ ms, cpuMs: (ru.userCPUTime + ru.systemCPUTime) / 1000, mainCpuMs, statements: ast.body.length, items: back.items.length, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
