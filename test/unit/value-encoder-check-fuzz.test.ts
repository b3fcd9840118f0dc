// Seeded fuzz (review of decision 40): random mutations between captures of
// a js-yaml-like state; each capture's encoding (references, patches) must
// decode to what a full encoding of the same value decodes to.
import { describe, expect, it } from 'vitest';
import { arena, resetArena, setShapeWitness, setTrust, untrust, writeValue, writeValueFull } from '../../js/runtime/value-encoder';
import { installDefiners } from '../../js/runtime/definers';
import { Reader } from '../helpers/value-reader';

describe('references after random mutations decode as full encodings (review of decision 40)', () => {
  for (const trust of [false, true]) for (const witness of [false, true])
  it(`random mutations between captures: ref decoding == full decoding (trust ${trust}, witness ${witness})`, () => {
    if (trust) { expect(installDefiners(untrust)).toBe(true); setTrust(true); }
    setShapeWitness(witness);
    let seed = 7 + (trust ? 1 : 0) + (witness ? 2 : 0);
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor((seed / 0x80000000) * n); };
    const fn1 = function f1() {}, fn2 = () => 1;
    const prims = [0, -0, NaN, 1, -1, 1.5, 'a', '', 'b', true, false, null, undefined, 1n, fn1, fn2, 2 ** 31, -(2 ** 31) - 1, Infinity];
    const KEYS = ['type', 'start', 'end', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const mk = (i: number): any => { const o: any = {}; for (const k of KEYS) o[k] = prims[(i + k.length * 3) % prims.length]; return o; };
    const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : typeof x === 'number' && isNaN(x) ? 'NaN' : typeof x === 'bigint' ? String(x) + 'n' : x));
    const warm = Array.from({ length: 40 }, (_, i) => mk(i));
    for (let k = 0; k < 4; k++) for (const o of warm) { writeValue(o); writeValue(o); }
    const arr = Array.from({ length: 40 }, (_, i) => mk(i));
    const state: any = { position: 0, events: arr, nested: { x: mk(1), y: [mk(2), mk(3)] }, m: new Map([[1, mk(4)]]), s: 0 };
    let mism = 0;
    for (let step = 0; step < 3000; step++) {
      const r = rnd(10);
      const pickObj = (): any => { const w = rnd(4); return w === 0 ? arr[rnd(arr.length)] : w === 1 ? state.nested.x : w === 2 ? state.nested.y[rnd(2)] : state.m.get(1); };
      if (r < 6) { const o = pickObj(); o[KEYS[rnd(KEYS.length)]] = prims[rnd(prims.length)]; }
      else if (r === 6) { const o = pickObj(); o[KEYS[rnd(KEYS.length)]] = { n: prims[rnd(prims.length)] }; }
      else if (r === 7) { state.position++; }
      else if (r === 8) { arr[rnd(arr.length)] = mk(rnd(100)); }
      // r === 9: no change
      const v = rnd(2) === 0 ? state : arr;
      const start = arena.pos;
      writeValue(v);
      const mid = arena.pos;
      writeValueFull(v);
      const r1 = new Reader(arena.buf, mid); r1.pos = start; const ref = r1.value();
      const r2 = new Reader(arena.buf, arena.pos); r2.pos = mid; const full = r2.value();
      if (json(ref) !== json(full)) { mism++; expect(json(ref), `step ${step}`).toBe(json(full)); }
      if (arena.pos > (1 << 24)) resetArena();
    }
    setTrust(false); setShapeWitness(false);
  });
});
