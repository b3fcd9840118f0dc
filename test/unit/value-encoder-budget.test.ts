// References and patches under the value budget (issue 9, budget20): a
// reference or a patch must read back as exactly what a full encoding of the
// same value, at the same place, gives.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { arena, encoderWork, resetArena, setBounds, setTrust, setValueBudget, untrust } from '../../js/runtime/value-encoder';
import { installDefiners } from '../../js/runtime/definers';
import { encodeBoth } from '../helpers/encode-both';

const both = encodeBoth;

beforeEach(() => {
  setBounds(3, 32, 256);
  resetArena();
});
afterEach(() => {
  setBounds(3, 32, 256);
  setValueBudget(1024);
  resetArena();
});

describe('references under the value budget', () => {
  it('an object ending in an empty container, met again with exactly the budget its encoding spent: the empty container is cut as in a full encoding', () => {
    setValueBudget(40);
    // p spends 2 (its keys) + 10 (a's elements); e, empty, spends nothing
    // but is cut when met with no budget left (js-yaml's state.tagHandlers).
    const p = { a: Array.from({ length: 10 }, (_, i) => i), e: Object.create(null) };
    for (let i = 0; i < 3; i++) both([p]);
    // The outer array spends 2, the filler 26: 12 left for p.
    const filler = Array.from({ length: 26 }, (_, i) => i);
    for (let i = 0; i < 3; i++) {
      const r = both([filler, p]);
      expect(r.full[1].props.e.$).toBe('truncated');
      expect(r.ref).toEqual(r.full);
    }
    // One more entry left: p is `{}` there, and referable.
    const f25 = filler.slice(1);
    let r = both([f25, p]);
    r = both([f25, p]);
    expect(r.ref).toEqual(r.full);
    expect(r.full[1].props.e.$).toBe('object');
    expect(r.shorter).toBe(true);
  });

  it('a patch whose unchanged last entry is an empty container, met with exactly the budget the base spent: cut as in a full encoding', () => {
    setValueBudget(40);
    // x spends 3 (its keys) + 10; e, empty, is met with nothing left.
    const x: any = { n: 0, a: Array.from({ length: 10 }, (_, i) => i), e: {} };
    for (let i = 0; i < 3; i++) both([x]);
    // The outer array spends 2, the filler 25: 13 left for x.
    const filler = Array.from({ length: 25 }, (_, i) => i);
    for (let i = 1; i < 4; i++) {
      x.n = i;
      const r = both([filler, x]);
      expect(r.full[1].props.e.$).toBe('truncated');
      expect(r.ref).toEqual(r.full);
    }
    // With one more entry left, e is kept, and x is a patch again.
    const f24 = filler.slice(1);
    both([f24, x]);
    x.n = 9;
    const r = both([f24, x]);
    expect(r.ref).toEqual(r.full);
    expect(r.full[1].props.e.$).toBe('object');
    expect(r.shorter).toBe(true);
  });

  it('an empty container after the last spent entry of a nested reference counts for the encodings around it', () => {
    setValueBudget(40);
    setBounds(4, 32, 256);
    // q's encoding ends in p's, which ends in an empty map.
    const p = { a: Array.from({ length: 8 }, (_, i) => i), e: new Map() };
    const q = { s: 'x', p };
    for (let i = 0; i < 3; i++) both([q]);
    // 2 + f + 2 (q) + 2 (p) + 8: f = 26 leaves nothing for e.
    for (const f of [26, 25, 26, 25]) {
      const filler = Array.from({ length: f }, (_, i) => i);
      for (let i = 0; i < 2; i++) {
        const r = both([filler, q]);
        expect(r.full[1].props.p.props.e.$).toBe(f === 26 ? 'truncated' : 'map');
        expect(r.ref).toEqual(r.full);
      }
    }
  });
});

describe('no value budget (NODEREC_VALUE_BUDGET=0)', () => {
  // review45: "no limit" was an infinite budget, and the budget a reference
  // spends is computed as a difference (Infinity - Infinity = NaN): after
  // the first reference every container was written empty, or the value as
  // opaque.
  it('a reference, then fresh containers: every value reads back as its full encoding', () => {
    setValueBudget(0);
    const p = { a: 1 };
    for (let i = 0; i < 3; i++) expect(both([p]).ref).toEqual(both([p]).full);
    const r = both([p, { b: 2 }, [3, 4], new Map([[5, { c: 6 }]])]);
    expect(r.full[1].props.b).toBe(2);
    expect(r.ref).toEqual(r.full);
    // and a patch of a state object, then fresh containers after it
    const state = { n: 0, list: [p], tail: { z: 1 } };
    for (let i = 0; i < 20; i++) {
      state.n = i;
      const q = both([state, { i }, [i, i + 1]]);
      expect(q.ref).toEqual(q.full);
    }
  });
});

// Encodings cut by the budget are referable at exactly the budget left they
// had at their start (budget20 part 2, taken with one memo per context:
// ctx21, decisions.md 46).
describe('encodings cut by the budget, met again at the same and at other budgets left', () => {
  // A new filler array at each capture: never a reference itself.
  const fill = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
  /** both(), and the references written by the first encoding. */
  function bothRefs(v: unknown): { ref: any; full: any; refs: number } {
    const r0 = encoderWork[2];
    const b = both(v);
    return { ...b, refs: encoderWork[2] - r0 };
  }

  it('a map cut by the budget, met again unchanged with the same and with another budget left', () => {
    setValueBudget(40);
    // 2 (outer) + 10 (filler) + 28 of the map's 40 entries: the rest cut.
    const mp = new Map<string, unknown>(Array.from({ length: 40 }, (_, i) => ['k' + i, i]));
    both([fill(10), mp]);
    both([fill(10), mp]);
    let r = bothRefs([fill(10), mp]);
    expect(r.full[1].entries).toHaveLength(28);
    expect(r.ref).toEqual(r.full);
    expect(r.refs).toBe(1);
    // One entry more or less left: other entries kept, written in full (into
    // memos of their own: one per context).
    for (const f of [9, 11]) {
      r = bothRefs([fill(f), mp]);
      expect(r.ref).toEqual(r.full);
      expect(r.refs).toBe(0);
    }
    // Each budget left keeps its memo: all three referable now.
    for (const f of [10, 9, 11, 10]) {
      r = bothRefs([fill(f), mp]);
      expect(r.ref).toEqual(r.full);
      expect(r.refs).toBe(1);
    }
    // A changed kept value: written in full.
    mp.set('k3', 'x');
    r = bothRefs([fill(10), mp]);
    expect(r.ref).toEqual(r.full);
    expect(r.full[1].entries[3][1]).toBe('x');
    expect(r.refs).toBe(0);
  });

  it('an object cut by the budget, and a kept entry cut by it whose prototype changed: its new class', () => {
    setValueBudget(40);
    class A {}
    class B {}
    const cutOne: any = new A();
    cutOne.x = 1;
    const o: any = { b: cutOne };
    for (let i = 0; i < 29; i++) o['p' + i] = i;
    // 2 + 13, then 25 of o's 30 keys: b is met with nothing left.
    for (let i = 0; i < 3; i++) both([fill(13), o]);
    let r = bothRefs([fill(13), o]);
    expect(r.full[1].props.b).toEqual({ $: 'truncated', class: 'A' });
    expect(Object.keys(r.full[1].props)).toHaveLength(25);
    expect(r.ref).toEqual(r.full);
    expect(r.refs).toBe(1);
    Object.setPrototypeOf(cutOne, B.prototype);
    r = bothRefs([fill(13), o]);
    expect(r.full[1].props.b).toEqual({ $: 'truncated', class: 'B' });
    expect(r.ref).toEqual(r.full);
    // (a check that found a change skips the next one: see worthChecking)
    for (let i = 0; i < 3; i++) {
      r = bothRefs([fill(13), o]);
      expect(r.ref).toEqual(r.full);
    }
    expect(r.refs).toBe(1);
    r = bothRefs([fill(12), o]);
    expect(r.ref).toEqual(r.full);
    expect(r.refs).toBe(0);
  });
});

describe('references under small budgets: random differential', () => {
  const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : typeof x === 'number' && isNaN(x) ? 'NaN' : typeof x === 'bigint' ? String(x) + 'n' : x));
  for (const trust of [false, true]) for (const [seed0, items, depth] of [[1, 8, 3], [2, 8, 4], [3, 4, 4], [4, 16, 3]] as const)
  it(`seed ${seed0}, items bound ${items}, depth bound ${depth}${trust ? ', definers wrapped (plain reads)' : ''}`, () => {
    if (trust) expect(installDefiners(untrust)).toBe(true);
    setTrust(trust);
    setBounds(depth, items, 256);
    let seed = seed0 + (trust ? 10 : 0);
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor((seed / 0x80000000) * n); };
    const prims = [0, 1, -1, 'a', '', true, null, undefined, 2.5];
    const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
    // A pool of containers, built once and linked at random (sharing and
    // cycles included); mutations change entries, sizes and links.
    const pool: any[] = [];
    const mkLeaf = (): any => {
      const w = rnd(6);
      if (w === 0) return {};
      if (w === 1) return Object.create(null);
      if (w === 2) return [];
      if (w === 3) return new Map();
      if (w === 4) return new Set();
      return Array.from({ length: rnd(items + 2) }, () => prims[rnd(prims.length)]);
    };
    for (let i = 0; i < 24; i++) pool.push(mkLeaf());
    const pick = (): any => (rnd(3) === 0 ? prims[rnd(prims.length)] : pool[rnd(pool.length)]);
    const mutate = (): void => {
      const c = pool[rnd(pool.length)];
      const r = rnd(4);
      if (c instanceof Map) {
        if (r === 0 && c.size > 0) c.delete(c.keys().next().value);
        else c.set(KEYS[rnd(KEYS.length)], pick());
      } else if (c instanceof Set) {
        if (r === 0) c.clear();
        else c.add(pick());
      } else if (Array.isArray(c)) {
        if (r === 0) c.length = rnd(3);
        else if (r === 1) c.push(pick());
        else if (c.length > 0) c[rnd(c.length)] = pick();
        else c.push(pick());
      } else {
        const k = KEYS[rnd(KEYS.length)];
        if (r === 0) delete c[k];
        else c[k] = pick();
      }
    };
    for (let i = 0; i < 60; i++) mutate();
    let mism = 0;
    for (let step = 0; step < 4000; step++) {
      if (rnd(3) === 0) mutate();
      if (rnd(50) === 0) setValueBudget(items + rnd(60));
      const filler = Array.from({ length: rnd(items + 1) }, (_, i) => i);
      const v = rnd(4) === 0 ? pool[rnd(pool.length)] : [filler, pool[rnd(pool.length)], pool[rnd(pool.length)]];
      const r = both(v);
      if (json(r.ref) !== json(r.full)) {
        mism++;
        expect(json(r.ref), `step ${step}`).toBe(json(r.full));
      }
      if (arena.pos > 1 << 22) resetArena();
    }
    expect(mism).toBe(0);
    setTrust(false);
  });
});
