// Shared by the benchmark scripts: which node to run, a clean environment,
// and the median.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The machine's node: npm scripts put node_modules/.bin (which holds the
 * Node 22 of the `node22` devDependency) first on PATH. */
function systemNode() {
  for (const d of (process.env.PATH || '').split(path.delimiter)) {
    if (!d || d.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const p = path.join(d, 'node');
    if (fs.existsSync(p)) return p;
  }
  return process.execPath;
}

/** The node the benchmarks run: BENCH_NODE, else the machine's. */
const NODE = process.env.BENCH_NODE || systemNode();

/** process.env without NODEREC_* and NODE_OPTIONS, plus `extra`. The
 * engine's benchmarks record everything (NODEREC_SCOPE=all: every function
 * of node_modules too), as before --scope project became the default. */
function cleanEnv(extra) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NODEREC_') && k !== 'NODE_OPTIONS') e[k] = v;
  return { ...e, NODEREC_SCOPE: 'all', ...extra };
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

module.exports = { NODE, cleanEnv, median };
