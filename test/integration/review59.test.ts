// review59: reproductions for branch real23 (decisions.md 59). Each test
// compares a plain run with a recorded one; all fail at ab50065.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { fixture, NODE, NODE22, runNodeAsync } from '../helpers/run';

const F = (n: string): string => fixture('review59', n);
const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));

async function samePlainRecorded(f: string, node: string): Promise<void> {
  const plain = await runNodeAsync(F(f), { preload: 'none', node });
  const rec = await runNodeAsync(F(f), { node });
  expect(rec.stdout).toBe(plain.stdout);
  expect(rec.stderr).toBe(plain.stderr);
  expect(rec.code).toBe(plain.code);
}

describe('review59', () => {
  // fatal-report.ts decoratedAt: an error created while a require(esm)
  // module evaluated (its stack holds ModuleJobSync.runSync) but thrown
  // later elsewhere is reported at its creation, not at the throw.
  it('an error created during a require(esm) evaluation and thrown later is reported at the throw', async () => {
    for (const node of NODES) {
      const plain = await runNodeAsync(F('saved-later.cjs'), { preload: 'none', node });
      const rec = await runNodeAsync(F('saved-later.cjs'), { node });
      const head = (s: string): string => s.split('\n').slice(0, 3).join('\n');
      expect(head(plain.stderr)).toContain('throw globalThis.saved;');
      expect(head(rec.stderr)).toBe(head(plain.stderr));
      expect(rec.code).toBe(plain.code);
    }
  }, 120_000);

  // hooks/cjs.ts isEsmFile/packageType: on Node 20 every require() of a
  // .js file in a new directory calls the program's fs.readFileSync (per
  // ancestor directory), JSON.parse and path.dirname.
  it('require() of .js files does not call the program\'s fs.readFileSync / JSON.parse / path.dirname (Node 20)', async () => {
    await samePlainRecorded('fs-json.js', NODE);
  }, 120_000);

  // hooks/cjs.ts esmCompile: a stack captured at the top level of a
  // require(esm) module has the recorder's `_compile` frame more and loses
  // one at the bottom (documented in decisions.md 59 *Left*).
  it('a stack captured at the top level of a require(esm) module is the plain one (Node 20)', async () => {
    await samePlainRecorded('top-stack.cjs', NODE);
  }, 120_000);

  // Pre-existing (also at 75d15f1): Node 20.19+ detects module syntax in a
  // required .js file of a package without "type"; recorded, the replaced
  // Module.wrap compiles it as CommonJS: SyntaxError.
  it('require() of an ES-syntax .js without "type" works as plain (Node 20)', async () => {
    await samePlainRecorded('detect.cjs', NODE);
  }, 120_000);
});
