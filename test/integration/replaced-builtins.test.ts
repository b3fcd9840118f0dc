// Recording runs none of the program's code (issue 8): a program's
// replacements of built-in methods and getters are never called by the
// probes, the encoder or the IO capture. Each fixture replaces some
// built-ins with counting versions and prints its own count last; recorded,
// the count and the exit code must be those of the plain run (review48).
import { describe, expect, it } from 'vitest';

import { fixture, runNodeAsync } from '../helpers/run';

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
