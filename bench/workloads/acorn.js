// Real workload: acorn parses a large JavaScript file. Prints wall ms and peak RSS.
const fs = require('node:fs');
const acorn = require('acorn');
const file = process.argv[2];
const src = fs.readFileSync(file, 'utf8');
const t0 = process.hrtime.bigint();
const ast = acorn.parse(src, { ecmaVersion: 'latest', sourceType: 'script' });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ ms, statements: ast.body.length, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
