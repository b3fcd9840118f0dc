// A small app that uses a few packages (marked, js-yaml, semver,
// yargs-parser, acorn), for `bench/scope.js`: its own functions are few, the
// packages do most of the calls. Prints {"ms": <work time>} last.
'use strict';
const { marked } = require('marked');
const yaml = require('js-yaml');
const semver = require('semver');
const parseArgs = require('yargs-parser');
const acorn = require('acorn');

const CONFIG = `
name: shop
version: 1.4.2
features: [cart, search, checkout]
limits: { items: 50, sessions: 200 }
`;

function loadConfig(text) {
  return yaml.load(text);
}

function renderPage(title, items) {
  const md = `# ${title}\n\n` + items.map((it) => `* **${it.name}** — ${it.price} EUR`).join('\n');
  return marked.parse(md);
}

function compatible(version, ranges) {
  return ranges.filter((r) => semver.satisfies(version, r));
}

function countFunctions(source) {
  let n = 0;
  const ast = acorn.parse(source, { ecmaVersion: 'latest' });
  (function walk(node) {
    if (node === null || typeof node !== 'object') return;
    if (node.type === 'FunctionDeclaration' || node.type === 'ArrowFunctionExpression') n++;
    for (const k of Object.keys(node)) {
      const v = node[k];
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v.type === 'string') walk(v);
    }
  })(ast);
  return n;
}

function main() {
  const t0 = process.hrtime.bigint();
  const rounds = Number(process.env.BENCH_ROUNDS || 200);
  let out = 0;
  for (let i = 0; i < rounds; i++) {
    const cfg = loadConfig(CONFIG);
    const args = parseArgs(['--port', String(3000 + i), '--verbose', 'serve']);
    const items = cfg.features.map((f, j) => ({ name: f, price: (j + 1) * args.port / 1000 }));
    out += renderPage(cfg.name, items).length;
    out += compatible(cfg.version, ['^1.0.0', '~1.4.0', '>=2']).length;
    out += countFunctions('function a() { return () => 1; } const b = (x) => x * 2;');
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(JSON.stringify({ out, ms }));
}

main();
