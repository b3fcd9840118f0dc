// Seeded fuzz (decision 51): an array's elements of one shape are checked in
// runs by one generated reader per plan (Run); every way an element can
// differ from its memo in the middle of a run (a value, a key added,
// deleted or reordered, an accessor, another prototype, another object, a
// hole, the holder itself as an element, an object value) must still be
// seen: each capture's encoding (references, patches) decodes to what a full
// encoding of the same value decodes to.
import { describe, expect, it } from 'vitest';
import { arena, resetArena, setTrust, untrust, writeValue, writeValueFull } from '../../js/runtime/value-encoder';
import { installDefiners } from '../../js/runtime/definers';
import { Reader } from '../helpers/value-reader';

describe('runs of same-shape elements checked in one call (decision 51)', () => {
  for (const trust of [false, true])
    it(`random changes inside runs: ref decoding == full decoding (trust ${trust})`, () => {
      if (trust) {
        expect(installDefiners(untrust)).toBe(true);
        setTrust(true);
      }
      let seed = 11 + (trust ? 1 : 0);
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return Math.floor((seed / 0x80000000) * n);
      };
      const prims = [0, -0, NaN, 1, -1, 2.5, 'a', '', 'b', true, false, null, undefined];
      const json = (v: unknown): string =>
        JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : typeof x === 'number' && isNaN(x) ? 'NaN' : x === undefined ? 'undef' : x));
      // Two shapes, as js-yaml's scalar and start events; `kids` lets an
      // element be the holder of the array (same shape as the elements).
      const ev = (i: number): any => ({ type: 4, start: i, end: i + 3, tag: -1, style: 1, kids: null });
      const st = (i: number): any => ({ type: 1, start: i, anchor: -1 });
      const arr: any[] = Array.from({ length: 40 }, (_, i) => (i % 9 === 8 ? st(i) : ev(i)));
      const root: any = { type: 0, start: 0, end: 0, tag: -1, style: 0, kids: arr };
      const state: any = { pos: 0, events: arr, root };
      const wrap: any = { w: state };
      let changes = 0;
      for (let step = 0; step < 4000; step++) {
        const r = rnd(60);
        const i = rnd(arr.length);
        const o = arr[i];
        const obj = typeof o === 'object' && o !== null && Object.keys(o).length > 0;
        // Most steps change nothing (the checks then run through whole arrays).
        if (r === 0 && obj) o[Object.keys(o)[rnd(3)]] = prims[rnd(prims.length)];
        else if (r === 1 && obj) o.extra = 1;
        else if (r === 2 && obj) delete o[Object.keys(o)[rnd(Object.keys(o).length)]];
        else if (r === 3 && obj) {
          // Reordered: the same keys, the first one moved to the end.
          const k = Object.keys(o)[0];
          const v = o[k];
          delete o[k];
          o[k] = v;
        } else if (r === 4 && obj) Object.defineProperty(o, 'start', { get: () => 7, set: () => {}, enumerable: true, configurable: true });
        else if (r === 5 && obj) Object.setPrototypeOf(o, rnd(2) === 0 ? null : { inherited: 1 });
        else if (r === 6) arr[i] = rnd(2) === 0 ? ev(rnd(100)) : st(rnd(100));
        else if (r === 7) delete arr[i];
        else if (r === 8) arr[i] = root;
        else if (r === 9 && obj) o.kids = { n: rnd(3) };
        else if (r === 10) arr[i] = prims[rnd(prims.length)];
        else if (r === 11) state.pos++;
        if (r <= 10) changes++;
        const t = rnd(3);
        const v = t === 0 ? state : t === 1 ? wrap : root;
        const start = arena.pos;
        writeValue(v);
        const mid = arena.pos;
        writeValueFull(v);
        const r1 = new Reader(arena.buf, mid);
        r1.pos = start;
        const ref = r1.value();
        const r2 = new Reader(arena.buf, arena.pos);
        r2.pos = mid;
        const full = r2.value();
        if (json(ref) !== json(full)) expect(json(ref), `step ${step}`).toBe(json(full));
        if (arena.pos > 1 << 24) resetArena();
        // Fresh elements again now and then, so that runs stay long.
        if (step % 500 === 499) for (let k = 0; k < arr.length; k++) arr[k] = k % 9 === 8 ? st(k) : ev(k);
      }
      expect(changes).toBeGreaterThan(400);
      setTrust(false);
    });
});
