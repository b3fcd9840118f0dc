// Another realm's definers (decisions.md 42; design-docs/values.md
// "Trusted objects"): code in a vm context the program creates turns a
// property of a verified object of this realm into an accessor (each
// definer), or changes a prototype (each setter), between two captures.
// The getter counts its runs and calls an instrumented function. Before
// decision 42 the getter ran inside the encoder, its probes re-entered the
// recorder mid-encoding and the whole trace was lost (`ERR_INTERNAL bad value
// span`). Expected: the plain and recorded outputs are the same (no getter
// ran), the trace reads back, and the values equal those of the
// descriptor-read encoding (NODEREC_VALUE_REFS=0 trusts nothing).
import { describe, expect, it } from 'vitest';
import { NODE22, fixture, metadata, onlyTrace, plainAndTwoRecordings } from '../helpers/run';

const MAIN = fixture('values-trust', 'realms.js');

describe("another realm's definers on this realm's trusted objects", () => {
  const kinds: [string, string | undefined][] = [
    ['createContext', undefined],
    ['sharedContext', undefined],
    ['runInNewContext', undefined],
    ['scriptRunInNewContext', undefined],
    ['scriptRunInNewContextOptions', undefined],
    ['noStrings', undefined],
    ['microtask', undefined],
    ['compileFunction', undefined],
    ['createContext', NODE22],
    ['runInNewContext', NODE22],
    ['scriptRunInNewContext', NODE22],
  ];
  for (const [kind, node] of kinds) {
    it(`${kind}${node === undefined ? '' : ' (node 22)'}: no getter runs, the trace is complete, values equal the descriptor-read encoding`, () => {
      const env = { FIXTURE_REALM: kind };
      const { plain, on, off, a, b } = plainAndTwoRecordings(MAIN, node, env, { NODEREC_VALUE_REFS: '1' }, { NODEREC_VALUE_REFS: '0' });
      expect(plain.code).toBe(0);
      expect(JSON.parse(plain.stdout)).toEqual({ kind, ran: 0 });
      expect(on.stderr).toBe('');
      expect(on.stdout).toBe(plain.stdout);
      expect(on.code).toBe(0);
      expect(off.stdout).toBe(plain.stdout);
      const meta = metadata(onlyTrace(on.outDir));
      expect(meta.status).toBe('complete');
      expect(meta.events_dropped_reentrant).toBeUndefined();
      expect(a.length).toBeGreaterThan(200);
      expect(a).toEqual(b);
      const text = JSON.stringify(a);
      expect(text).not.toContain('GETTER RAN');
      expect(text).toContain('"a":{"$":"accessor","get":true,"set":false}');
      expect(text).toContain('"a":{"$":"accessor","get":false,"set":true}');
    });
  }
});
