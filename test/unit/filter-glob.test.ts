// The picomatch differential test: the Rust glob engine (native globMatch)
// and picomatch agree on every (pattern, path) pair of the corpus.
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { patterns, paths } = require('../fixtures/filter-glob/corpus.js') as { patterns: string[]; paths: string[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('../../js/dist/native.js').native() as { globMatch(p: string, s: string): boolean };

describe('globs follow picomatch', () => {
  it('on every pair of the corpus (patterns x paths)', () => {
    let pairs = 0;
    const diff: string[] = [];
    for (const p of patterns) {
      const m = picomatch(p);
      for (const s of paths) {
        pairs++;
        const want = m(s);
        const got = native.globMatch(p, s);
        if (want !== got) diff.push(`${JSON.stringify(p)} vs ${JSON.stringify(s)}: picomatch ${want}, noderec ${got}`);
      }
    }
    expect(pairs).toBeGreaterThanOrEqual(2000);
    expect(diff).toEqual([]);
  });

  it('on generated patterns', () => {
    // Patterns assembled from glob pieces, matched against the corpus paths.
    const pieces = ['*', '**', '?', 'a', 'src', '.', '/', '{a,b}', '[a-c]', '@(x|y)', '!(a)', '+(a|b)', '*.js', '.*', '\\*'];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const diff: string[] = [];
    let pairs = 0;
    for (let i = 0; i < 300; i++) {
      let p = '';
      const len = 1 + rnd(4);
      for (let j = 0; j < len; j++) p += pieces[rnd(pieces.length)];
      const m = picomatch(p);
      for (let k = 0; k < 20; k++) {
        const s = paths[rnd(paths.length)];
        pairs++;
        if (m(s) !== native.globMatch(p, s)) diff.push(`${JSON.stringify(p)} vs ${JSON.stringify(s)}: picomatch ${m(s)}`);
      }
    }
    expect(pairs).toBe(6000);
    expect(diff).toEqual([]);
  });
});
