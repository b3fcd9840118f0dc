#!/usr/bin/env node
// `npm run build:ts` (after tsc): writes the V8 code cache of noderec's own
// modules (js/code-cache.ts; design-docs/decisions.md 33) for the Node that
// runs the build, and for the `node22` devDependency's Node when it is
// installed. Each is made by a recorded run of an empty program: the cache
// holds the code V8 compiled for the start and the end of a recording.
//
//   node scripts/code-cache.js [node ...]   the Nodes to write a cache for
//
// A Node the cache cannot be made with is skipped with one line saying so:
// recording works the same without the cache, only its start is slower.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'js', 'dist');
const CACHE_DIR = path.join(DIST, '.code-cache');

const { systemNode } = require('./system-node');

const nodes = process.argv.length > 2 ? process.argv.slice(2) : [systemNode(), path.join(ROOT, 'node_modules', 'node22', 'bin', 'node')].filter((n) => fs.existsSync(n));

// Caches of other builds are stale (their entries would not match these files).
fs.rmSync(CACHE_DIR, { recursive: true, force: true });

const program = `
const cc = require(${JSON.stringify(path.join(DIST, 'code-cache.js'))});
cc.produceCodeCache();
require(${JSON.stringify(path.join(DIST, 'register.js'))});
// Node 20's module-hooks thread loads noderec's ES module loader, which the main thread does not.
cc.withCodeCache(() => require(${JSON.stringify(path.join(DIST, 'hooks', 'esm-loader.js'))}));
process.on('exit', () => { process.stdout.write(cc.writeCodeCache() + '\\n'); });
`;

for (const node of [...new Set(nodes)]) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-code-cache-'));
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NODEREC_') && k !== 'NODE_OPTIONS') env[k] = v;
  env.NODEREC_OUT_DIR = out;
  env.NODEREC_NO_CACHE = '1';
  const r = spawnSync(node, ['-e', program], { env, encoding: 'utf8' });
  fs.rmSync(out, { recursive: true, force: true });
  if (r.status !== 0 || !r.stdout.trim()) {
    process.stderr.write(`noderec: no code cache for ${node} (exit ${r.status}): ${(r.stderr || '').trim().split('\n').pop()}\n`);
    continue;
  }
  process.stdout.write(`noderec: code cache ${path.relative(ROOT, r.stdout.trim())}\n`);
}
