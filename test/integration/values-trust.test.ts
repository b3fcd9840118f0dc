// Trusted objects (issue 9, second round; design-docs/values.md "Trusted
// objects"): objects verified to hold only data properties are read with
// plain reads until a definer is called on them. Every definer turning a data
// property into an accessor between two captures must never run it, the
// recorded values must equal those of the descriptor-read encoding
// (NODEREC_VALUE_REFS=0 keeps no memos, so trusts nothing), and the wrapped
// definers must look like the builtins.
import { describe, expect, it } from 'vitest';
import { NODE22, fixture, plainAndTwoRecordings } from '../helpers/run';

const MAIN = fixture('values-trust', 'main.js');

describe('trusted objects', () => {
  const cases: [string | undefined, Record<string, string>, string][] = [
    [undefined, {}, 'node 20'],
    [NODE22, {}, 'node 22'],
    // no compiled readers (js/runtime/value-encoder.ts, compilePlan)
    [undefined, { NODE_OPTIONS: '--disallow-code-generation-from-strings' }, 'node 20, no code generation from strings'],
    // memos (and what they know of trust) dropped at every value and every few values
    [undefined, { NODEREC_VALUE_MEMO_KIB: '0' }, 'node 20, memos dropped at every value'],
    [undefined, { NODEREC_VALUE_MEMO_KIB: '2' }, 'node 20, a 2 KiB memo budget'],
    // fresh objects read with plain reads by shape witnesses (decisions.md 37)
    [undefined, { NODEREC_VALUE_SHAPE_WITNESS: '1' }, 'node 20, shape witnesses'],
  ];
  for (const [node, env, label] of cases) {
    it(`no accessor made by any definer after verification runs; values equal the descriptor-read encoding; definers look like the builtins (${label})`, () => {
      const { plain, on, off, a, b } = plainAndTwoRecordings(MAIN, node, env, { NODEREC_VALUE_REFS: '1' }, { NODEREC_VALUE_REFS: '0' });
      expect(plain.code).toBe(0);
      expect(JSON.parse(plain.stdout).ran).toBe(0);
      expect(on.stderr).toBe('');
      expect(on.code).toBe(0);
      // No getter ran, and name, length, text, attributes, errors are the builtins'.
      expect(on.stdout).toBe(plain.stdout);
      expect(off.stdout).toBe(plain.stdout);
      expect(a.length).toBe(b.length);
      expect(a.length).toBeGreaterThan(80);
      expect(a).toEqual(b);
      const text = JSON.stringify(a);
      expect(text).not.toContain('GETTER RAN');
      // The accessors are recorded as accessors.
      expect(text).toContain('"a":{"$":"accessor","get":true,"set":false}');
      expect(text).toContain('"a":{"$":"accessor","get":false,"set":true}');
    });
  }
});
