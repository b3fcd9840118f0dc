// Issue 8, defect 4: Function.prototype.toString shows what the program
// wrote, so that code shipping a function's source elsewhere (vm, eval'd
// workers) or reading its parameter names works recorded.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { events, fixture, NODE, NODE22, onlyTrace, runNode } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));

describe('function source text', () => {
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    for (const file of ['main.js', 'main.mjs']) {
      it(`String(f) of every function kind and class is its original text; vm, eval'd workers and parameter parsing work (${file}, ${name})`, () => {
        const f = fixture('function-source', file);
        const plain = runNode(f, { node, preload: 'none' });
        expect(plain.code).toBe(0);
        const rec = runNode(f, { node });
        expect(rec.stderr).toBe(plain.stderr);
        expect(rec.code).toBe(0);
        expect(JSON.parse(rec.stdout)).toEqual(JSON.parse(plain.stdout));
        expect(rec.stdout).toBe(plain.stdout);
        // And the functions were recorded.
        const evs = events(onlyTrace(rec.outDir));
        expect(evs.some((e) => e.kind === 'call' && e.fn === 'Cart.constructor')).toBe(true);
      });
    }
  }
});
