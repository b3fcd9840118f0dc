// (review46, decision 46) An object met in five contexts (depth left 1..5) with a chain
// of at most four memos: exact at every capture, before and after changes
// of the object, a grandchild and a prototype; and which holders are still
// referred to when the chain is full (the last memo serves two contexts).
import { afterEach, describe, expect, it } from 'vitest';
import { encoderWork, resetArena, setBounds, setProtoWatch, setValueBudget } from '../../js/runtime/value-encoder';
import { encodeBoth } from '../helpers/encode-both';

const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : x));
const refs = (): number => encoderWork[2];

afterEach(() => {
  setBounds(3, 32, 256);
  setValueBudget(1024);
  resetArena();
});

describe('five contexts, four memos', () => {
  it('exact, and the holders of the first contexts stay references', () => {
    setProtoWatch(false);
    setBounds(7, 32, 256);
    setValueBudget(1024);
    resetArena();
    const T: any = { n: 1, o: { p: { q: { r: { s: 1 } } } } };
    // Hk holds T at level 7 - k... (depth left k for T: k = 1..5)
    const nest = (x: unknown, d: number): unknown => (d === 0 ? x : { h: nest(x, d - 1) });
    const H = [6, 5, 4, 3, 2].map((d) => nest(T, d));
    // Encodes every holder `rounds` times, each both ways (they must read
    // back the same); gives the references written per holder per round.
    const encodeRounds = (rounds: number): number[][] => {
      const per: number[][] = [];
      for (let round = 0; round < rounds; round++) {
        const row: number[] = [];
        for (const h of H) {
          const r0 = refs();
          const b = encodeBoth([h]);
          expect(json(b.ref)).toBe(json(b.full));
          row.push(refs() - r0);
        }
        per.push(row);
      }
      return per;
    };
    const per = encodeRounds(6);
    // Settled: every holder is written as a reference.
    expect(per[per.length - 1].every((n) => n >= 1), JSON.stringify(per)).toBe(true);
    class K {}
    for (const change of [() => T.n++, () => (T.o.p.q.r.s = 2), () => Object.setPrototypeOf(T.o, K.prototype), () => delete T.o.p.q, () => (T.o.p.q = { r: [1] })]) {
      change();
      const after = encodeRounds(4);
      // Settled again within the rounds after the change.
      expect(after[after.length - 1].every((n) => n >= 1), JSON.stringify(after)).toBe(true);
    }
  });
});
