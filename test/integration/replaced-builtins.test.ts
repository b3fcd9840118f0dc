// Recording runs none of the program's code (issue 8): a program's
// replacements of built-in methods and getters are never called by the
// probes, the encoder or the IO capture. Each fixture replaces some
// built-ins with counting versions and prints its own count last; recorded,
// the count and the exit code must be those of the plain run (review48).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { fixture, NODE, NODE22, NODE24, runNodeAsync, tempDir } from '../helpers/run';

const CASES: [string, string][] = [
  ['charcode.js', 'String.prototype.charCodeAt (short ASCII strings through the probes)'],
  ['mapget.js', 'Map.prototype.get/set (long strings, a generator)'],
  ['species.js', 'Symbol.species of Array and the typed arrays (non-ASCII strings, new key sets)'],
  ['tasetsub.js', '%TypedArray%.prototype.set/subarray (100-byte writes to stdout)'],
  ['foreach.js', 'Map and Set forEach and their iterators\' next (a map and a set checked before each reference)'],
  ['mathminmax.js', 'Math.min/Math.max (the probes at every flush and when their package list grows)'],
];

describe('replaced built-ins are not called by the recorder', () => {
  for (const [f, what] of CASES) {
    it(what, async () => {
      const main = fixture('replaced-builtins', f);
      const plain = await runNodeAsync(main, { preload: 'none' });
      expect(plain.code).toBe(0);
      const rec = await runNodeAsync(main, { env: { NODEREC_SCOPE: 'all' } });
      expect(rec.stderr).toBe('');
      expect(rec.stdout).toBe(plain.stdout);
      expect(rec.code).toBe(0);
    }, 120_000);
  }
});

// The coverage map (decisions 53, 58) is built, or taken from the cache,
// while the program runs (review56): a cold cache, then a warm one.
describe('replaced built-ins are not called for the coverage map', () => {
  for (const [name, node] of [
    ['node 20', NODE],
    ['node 22', NODE22],
    ['node 24', NODE24],
  ] as const) {
    it(`fs.statSync, Date.now and string, array, RegExp and JSON methods (cold and warm cache, ${name})`, async () => {
      const main = fixture('coverage-builtins', 'main.js');
      const dir = tempDir();
      const env = { NODE_V8_COVERAGE: path.join(dir, 'cov'), NODEREC_CACHE_DIR: path.join(dir, 'cache') };
      const plain = await runNodeAsync(main, { node, preload: 'none', env });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toBe('lib 42\n');
      for (const run of ['cold', 'warm']) {
        const rec = await runNodeAsync(main, { node, env });
        expect({ run, stdout: rec.stdout, stderr: rec.stderr, code: rec.code }).toEqual({ run, stdout: plain.stdout, stderr: '', code: 0 });
      }
      // The map was built and kept: the warm run took it from the cache.
      expect(fs.readdirSync(path.join(dir, 'cache'), { recursive: true }).length).toBeGreaterThan(0);
    }, 120_000);
  }
});
