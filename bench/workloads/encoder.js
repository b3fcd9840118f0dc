// Encoder throughput in encoded value bytes per second, in process (no
// recording): each kind of value is encoded into the arena over and over,
// with references off (every encoding is a full one). Rates are per CPU
// second of the process.
const path = require('node:path');
const fs = require('node:fs');
const enc = require('../../js/dist/runtime/value-encoder.js');
const acorn = require('acorn');

enc.setBounds(3, 32, 256);
enc.setValueBudget(1024);
// The definers are wrapped, as when recording (fresh arrays are read with
// plain reads). `trusted`: references on, and every value changed before
// each encoding: the full encoding of an object verified before (read with
// plain reads). Otherwise references off: every encoding is a first one
// (descriptor reads for objects).
const trusted = process.argv.includes('trusted');
enc.setTrust(require('../../js/dist/runtime/definers.js').installDefiners(enc.untrust));
if (!trusted) enc.setRefs(false);
// `witness`: shape witnesses on (NODEREC_VALUE_SHAPE_WITNESS, decisions.md 37).
if (process.argv.includes('witness') && !enc.setShapeWitness(true)) throw new Error('shape witnesses unavailable');
// `filtered`: under an attr: rule set (as with the default filter, which
// redacts secret-looking keys), every key needs a filter decision.
if (process.argv.includes('filtered')) {
  const secret = /pass|token|secret/i;
  enc.setAttrResolver((_set, key) => (secret.test(key) ? 1 : 0));
  enc.registerAttr(0, 1, 1);
  enc.attrFor(0);
}

// `checks`: the cost of checking that an unchanged object may be referred to,
// per object: an array of 32 small objects (js-yaml's parser keeps its
// events so), unchanged, captured again and again; each capture checks
// every element (Object.keys and one read per property) before writing a
// reference to the array. References and trust on, as when recording.
// `checks events`: the same with js-yaml 5's scalar events (11 keys, numbers
// and a boolean), which its parser state holds.
if (process.argv.includes('checks')) {
  enc.setRefs(true);
  const events = process.argv.includes('events')
    ? Array.from({ length: 32 }, (_, i) => ({ type: 4, valueStart: i * 10 + 1, valueEnd: i * 10 + 5, anchorStart: -1, anchorEnd: -1, tagStart: -1, tagEnd: -1, style: 1, chomping: 1, indent: -1, fast: true }))
    : Array.from({ length: 32 }, (_, i) => ({ type: 1, position: i, line: 2, tag: null, value: 'abc' + i }));
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      enc.writeValue(events);
      if (enc.arena.pos > 1 << 20) enc.resetArena();
    }
  };
  run(20000);
  const n = 200000;
  const c0 = process.cpuUsage();
  run(n);
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ nsPerObjectChecked: ((c.user + c.system) * 1000) / n / 32 }) + '\n');
  process.exit(0);
}

const ast = acorn.parse(fs.readFileSync(require.resolve('semver/classes/range.js'), 'utf8'), { ecmaVersion: 'latest' });
const nodes = [];
(function walk(n) {
  if (n && typeof n === 'object') {
    if (typeof n.type === 'string') nodes.push(n);
    for (const k of Object.keys(n)) walk(n[k]);
  }
})(ast);
const kinds = {
  'plain object of primitives': Array.from({ length: 64 }, (_, i) => ({ id: i, name: 'item-' + i, price: i * 1.5, active: i % 2 === 0, tag: null, start: 0 })),
  'array of ints': Array.from({ length: 64 }, (_, i) => Array.from({ length: 16 }, (_, j) => i * j)),
  'short strings': Array.from({ length: 64 }, (_, i) => 'identifier_' + i),
  'AST nodes (acorn)': nodes,
};
// `kind=<text>`: only the kinds whose name holds <text> (for a profile of one kind).
const only = process.argv.find((a) => a.startsWith('kind='));
const out = {};
for (const [name, values] of Object.entries(kinds)) {
  if (only !== undefined && !name.includes(only.slice(5))) continue;
  let bytes = 0;
  const run = (rounds) => {
    bytes = 0;
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (trusted && typeof v === 'object') {
          if (Array.isArray(v)) v[0] = r & 1;
          else v.start = r;
        }
        enc.writeValue(v);
        if (enc.arena.pos > 1 << 20) {
          bytes += enc.arena.pos;
          enc.resetArena();
        }
      }
    }
    bytes += enc.arena.pos;
    enc.resetArena();
  };
  run(200);
  // CPU time of this thread's process (less disturbed by a busy machine than wall time).
  const c0 = process.cpuUsage();
  const rounds = Math.max(1, Math.round((+process.env.ENC_VALUES || 2e5) / values.length));
  run(rounds);
  const c = process.cpuUsage(c0);
  const s = (c.user + c.system) / 1e6;
  out[name] = { mbPerS: bytes / 1e6 / s, bytesPerValue: bytes / (rounds * values.length), nsPerValue: (s * 1e9) / (rounds * values.length) };
}
process.stdout.write(JSON.stringify(out) + '\n');
