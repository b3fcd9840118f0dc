#!/usr/bin/env node
// The cost of the secrets checks (js/runtime/secrets.ts) per string value:
// the value encoder writing a corpus of ordinary strings (identifiers,
// paths, sentences, JSON, URLs without credentials — none holds a secret)
// with the default filter's [secrets] on and off, and scrubString alone.
// CPU time per string, best of several rounds (the figures are noisy on a
// shared machine). `node bench/secrets.js` prints a table;
// `require('./secrets').run()` returns the rows.
'use strict';
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const enc = require(path.join(ROOT, 'js', 'dist', 'runtime', 'value-encoder.js'));
const secrets = require(path.join(ROOT, 'js', 'dist', 'runtime', 'secrets.js'));

const STRINGS = [
  'alpha',
  'handleRequest',
  'user-42',
  'GET',
  '/api/v1/items/42',
  'src/components/Button.tsx',
  'application/json; charset=utf-8',
  'The quick brown fox jumps over the lazy dog',
  'SELECT id, name FROM users WHERE active = true',
  '{"id":42,"name":"Ada","tags":["x","y"]}',
  'https://example.com/search?q=noderec&page=2',
  'ada@example.com',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.',
  'line one\nline two\nline three',
];
const DEFAULT = {
  strings: ['url-password', 'url-params', 'header-lines', 'auth-scheme', 'jwt', 'private-key', 'aws-key-id'],
  pairs: true,
  envAllow: ['PATH'],
};

function cpuNsPer(fn, n) {
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    const c = process.cpuUsage();
    fn(n);
    const d = process.cpuUsage(c);
    best = Math.min(best, ((d.user + d.system) * 1000) / n);
  }
  return best;
}

function encodeAll(n) {
  for (let i = 0; i < n; i++) {
    enc.writeValue(STRINGS[i % STRINGS.length]);
    if (enc.arena.pos > 1 << 20) enc.resetArena();
  }
  enc.resetArena();
}

function scrubAll(n) {
  let k = 0;
  for (let i = 0; i < n; i++) k += secrets.scrubString(STRINGS[i % STRINGS.length]).length;
  return k;
}

function run() {
  const N = 2_000_000;
  enc.setBounds(3, 32, 256);
  secrets.resetSecrets();
  encodeAll(N / 4); // warm up
  const off = cpuNsPer(encodeAll, N);
  secrets.configureSecrets(DEFAULT, () => 0);
  secrets.setSecretsWindow(256);
  encodeAll(N / 4);
  const on = cpuNsPer(encodeAll, N);
  const scrub = cpuNsPer(scrubAll, N);
  secrets.resetSecrets();
  const avg = STRINGS.reduce((a, s) => a + s.length, 0) / STRINGS.length;
  return [
    [`encode one string (avg ${avg.toFixed(0)} chars), [secrets] off`, `${off.toFixed(1)} ns`],
    ['same, the default [secrets] on', `${on.toFixed(1)} ns`],
    ['  difference per string', `${(on - off).toFixed(1)} ns`],
    ['scrubString alone (no secret in the string)', `${scrub.toFixed(1)} ns`],
  ];
}

module.exports = { run };

if (require.main === module) {
  const rows = run();
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`${'secrets checks (CPU time per string, best of 7)'.padEnd(w)}  value`);
  for (const r of rows) console.log(`${r[0].padEnd(w)}  ${r[1]}`);
}
