// Shape witnesses (decisions.md 37, NODEREC_VALUE_SHAPE_WITNESS, off by
// default): fresh objects read with plain reads when V8 gives them the map
// of a private object of their keys. The recorded values must equal those of
// the descriptor-read encoding, no getter or trap may run, and the program
// must see what it sees without the recorder (its `%` syntax included).
import { describe, expect, it } from 'vitest';
import { NODE22, fixture, plainAndTwoRecordings } from '../helpers/run';

const MAIN = fixture('values-witness', 'main.js');

describe('shape witnesses', () => {
  for (const [node, label] of [[undefined, 'node 20'], [NODE22, 'node 22']] as const) {
    it(`fresh objects record as with descriptor reads; no getter or trap runs; process.env by its allow-list; % stays a syntax error (${label})`, () => {
      const { plain, on, off, a, b } = plainAndTwoRecordings(MAIN, node, { NODEREC_SCOPE: 'all' }, { NODEREC_VALUE_SHAPE_WITNESS: '1' }, { NODEREC_VALUE_SHAPE_WITNESS: '0' });
      expect(plain.code).toBe(0);
      expect(JSON.parse(plain.stdout)).toMatchObject({ ran: 0, natives: 'SyntaxError' });
      expect(on.stderr).toBe('');
      expect(on.code).toBe(0);
      expect(on.stdout).toBe(plain.stdout);
      expect(off.stdout).toBe(plain.stdout);
      expect(a.length).toBe(40 * 62 + 1);
      expect(a).toEqual(b);
      const text = JSON.stringify(a);
      expect(text).not.toContain('GETTER RAN');
      expect(text).not.toContain('secret-value');
      expect(text).toContain('"id":{"$":"accessor","get":true,"set":false}');
    });
  }
});
