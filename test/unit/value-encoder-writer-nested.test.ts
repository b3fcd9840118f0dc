import { afterEach, describe, expect, it } from 'vitest';
import { arena, resetArena, setBounds, setRefs, writeValue } from '../../js/runtime/value-encoder';
function bytes(v: unknown): number[] { resetArena(); writeValue(v); return [...arena.buf.subarray(0, arena.pos)]; }
afterEach(() => { setRefs(true); setBounds(3, 32, 256); resetArena(); });
describe('the generated first-encoding writer on nested and cyclic objects (review of decision 41)', () => {
  for (const refs of [false, true]) it(`same plan nested (refs ${refs})`, () => {
    setRefs(refs); setBounds(6, 32, 256);
    const big = 'q'.repeat(3000);
    const mk = (d: number): any => ({ p: d, q: d > 0 ? mk(d - 1) : 'x'.repeat(d + 30), r: d % 2 ? big + d : 70000 + d, s: -0 });
    const cyc = () => { const o: any = { p: 1, q: null, r: 2, s: 3 }; o.q = o; return o; };
    const before = [bytes(mk(5)), bytes(cyc()), bytes([mk(2), mk(3)])];
    for (let i = 0; i < 5000; i++) bytes(mk(1));
    expect(bytes(mk(5))).toEqual(before[0]);
    expect(bytes(cyc())).toEqual(before[1]);
    expect(bytes([mk(2), mk(3)])).toEqual(before[2]);
  });
});
