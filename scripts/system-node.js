'use strict';
// The machine's node: npm scripts put node_modules/.bin (which holds the
// Node 22 of the `node22` devDependency) first on PATH, so `node` there is
// not the machine's. Used by scripts/code-cache.js and bench/common.js.
const fs = require('node:fs');
const path = require('node:path');

function systemNode() {
  for (const d of (process.env.PATH || '').split(path.delimiter)) {
    if (!d || d.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const p = path.join(d, 'node');
    if (fs.existsSync(p)) return p;
  }
  return process.execPath;
}

module.exports = { systemNode };
