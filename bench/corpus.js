#!/usr/bin/env node
// The transparency corpus (test/corpus/), each case once plain and once under
// `noderec record`: passed/failed counts and wall time. Prints a table; never
// part of the tests. Figures are single runs on whatever the machine is doing.
//
//   node bench/corpus.js            every case, on each Node of NODES (20, 22)
//   node bench/corpus.js jest tap   cases whose name contains a word
'use strict';
const os = require('node:os');

const { CASES, NODES, run, tempDir, traces } = require('../test/corpus/cases.js');

function counts(c) {
  return c.pass === null ? '-' : `${c.pass} passed, ${c.fail} failed`;
}

function ending(r) {
  return r.signal !== null ? r.signal : `exit ${r.code}`;
}

async function main() {
  const words = process.argv.slice(2);
  const cases = CASES.filter((c) => words.length === 0 || words.some((w) => c.name.includes(w)));
  const rows = [];
  for (const node of NODES) {
    for (const c of cases) {
      const plain = await run(c, false, undefined, node);
      const outDir = tempDir();
      const rec = await run(c, true, outDir, node);
      rows.push([node.name, c.name, c.cmd.join(' '), counts(plain.counts), counts(rec.counts), ending(plain), ending(rec), `${(plain.ms / 1000).toFixed(2)} s`, `${(rec.ms / 1000).toFixed(2)} s`, `${(rec.ms / plain.ms).toFixed(1)}×`, String(traces(outDir).length)]);
      process.stderr.write(`${node.name}, ${c.name}: done\n`);
    }
  }
  const head = ['node', 'runner', 'command', 'plain', 'recorded', 'plain end', 'recorded end', 'plain wall', 'recorded wall', 'ratio', 'traces'];
  console.log(`Transparency corpus — ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${NODES.map((n) => n.name).join(' and ')}, one run each`);
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
