// Shared by the benchmark scripts: which node to run, a clean environment,
// and the median.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { systemNode } = require('../scripts/system-node');

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
