// One object met in several encoding contexts (issue 9, ctx21): at two or
// three depths left, with and without the value budget cut, under two attr:
// rule sets. Each context keeps its own memo, so an encoding made for one
// context does not make every container that holds the object's encoding of
// another context fail its check; and every reference or patch still reads
// back exactly as a full encoding at that place.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  arena,
  attrFor,
  currentKeyAction,
  encoderWork,
  registerAttr,
  resetArena,
  setAttrResolver,
  setBounds,
  setProtoWatch,
  setTrust,
  setValueBudget,
  untrust,
} from '../../js/runtime/value-encoder';
import { installDefiners } from '../../js/runtime/definers';
import { configureSecrets, resetSecrets } from '../../js/runtime/secrets';
import { encodeBoth } from '../helpers/encode-both';

const both = encodeBoth;
const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : typeof x === 'number' && isNaN(x) ? 'NaN' : typeof x === 'bigint' ? String(x) + 'n' : x));
/** References written by the encoder so far. */
const refs = (): number => encoderWork[2];

beforeEach(() => {
  setBounds(3, 32, 256);
  setValueBudget(1024);
  resetArena();
});
afterEach(() => {
  setBounds(3, 32, 256);
  setValueBudget(1024);
  setAttrResolver(() => 0);
  attrFor(0);
  setTrust(false);
  resetArena();
});

/** Captures `v` `n` times; every capture must read back as its full
 *  encoding. Returns the references written by the last capture. */
function captures(v: unknown, n: number): number {
  let r0 = 0;
  for (let i = 0; i < n; i++) {
    r0 = refs();
    const r = both(v);
    expect(json(r.ref)).toBe(json(r.full));
  }
  return refs() - r0;
}

describe('an object met at two depths', () => {
  it('its holder is referred to while the object is also met one level higher', () => {
    // T has a container below it: cut by the depth bound in S (depth left
    // 1), written in full at the top of the value (depth left 2).
    const T = { n: 1, o: { a: 1 } };
    const S = { k: 'x', t: T };
    // (a new outer array at each capture: S and T referred to, not it)
    const v = () => [S, T];
    captures(v(), 3);
    for (let i = 0; i < 4; i++) {
      const r0 = refs();
      const r = both(v());
      expect(json(r.ref)).toBe(json(r.full));
      expect(r.full[0].props.t.props.o).toEqual({ $: 'truncated', class: 'Object' });
      expect(r.full[1].props.o.props.a).toBe(1);
      // S and T are both references.
      expect(refs() - r0).toBe(2);
    }
  });

  it('alternately, in values of their own (one context per value)', () => {
    const T = { n: 1, o: { a: 1 } };
    const S = { k: 'x', t: T };
    for (let i = 0; i < 3; i++) {
      captures([S], 1);
      captures([T], 1);
    }
    for (let i = 0; i < 3; i++) {
      expect(captures([S], 1)).toBe(1);
      expect(captures([T], 1)).toBe(1);
    }
  });

  it('exact after a change of the object, of a grandchild, of a grandchild prototype, and a grandchild replaced', () => {
    // (watched: the wrapped setters report every prototype change)
    for (const watch of [false, true]) {
      if (watch) expect(installDefiners(untrust)).toBe(true);
      else setProtoWatch(false);
      const T: any = { n: 1, o: { a: 1 } };
      const S = { k: 'x', t: T };
      const v = [S, T];
      const vs: unknown[] = [v, [S], [T], [[T]], v];
      class K {}
      const changes: Array<() => void> = [
        () => T.n++,
        () => T.o.a++,
        () => Object.setPrototypeOf(T.o, K.prototype),
        () => Object.setPrototypeOf(T.o, null),
        () => (T.o = { a: 7 }),
        () => (T.o = [1, 2]),
        () => delete T.n,
        () => (T.n = 0),
        () => (T.o.b = { c: 1 }),
      ];
      for (const change of changes) {
        for (const w of vs) captures(w, 2);
        change();
        for (const w of vs) captures(w, 2);
      }
    }
  });
});

describe('an object met at three depths', () => {
  it('each of its holders is referred to, values alternating', () => {
    setBounds(4, 32, 256);
    // T's height is 3: cut at depth left 1 and 2, in full at 3.
    const T = { o: { p: { a: 1 } } };
    const S1 = { t: T };
    const S2 = { s: { t: T } };
    const v = () => [S2, S1, T];
    captures(v(), 3);
    for (let i = 0; i < 3; i++) {
      const r0 = refs();
      const r = both(v());
      expect(json(r.ref)).toBe(json(r.full));
      expect(refs() - r0).toBe(3);
    }
    const vs = [[S2], [S1], [T], [S1, T], [S2, S1]];
    for (let k = 0; k < 2; k++) for (const w of vs) captures(w, 1);
    // (each kept array is one reference, after its check reached T in every context)
    for (const w of vs) expect(captures(w, 1)).toBe(1);
    // A change of the innermost object is seen in every context.
    T.o.p.a = 2;
    for (const w of vs) captures(w, 2);
    (T.o as any).q = 1;
    for (const w of vs) captures(w, 2);
  });
});

describe('an object met with and without the value budget cutting it (js-yaml: the schema and nodeTags)', () => {
  it('the holder that has it in full is referred to while the other place cuts it', () => {
    // The value: {s: S, f: filler, m: M}: S holds T in full, M (a map, met
    // after the filler spent the budget) holds T cut by the budget.
    const T = { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 };
    const S = { k: 'x', t: T };
    const M = new Map([['k', T]]);
    const filler = Array.from({ length: 8 }, (_, i) => i);
    // 3 (the value) + 2 (S) + 6 (T) + 8 (filler) + 1 (M's entry) = 20; T
    // in M gets 3 of its 6 keys (the items bound 8 lets the budget be 23).
    setBounds(3, 8, 256);
    setValueBudget(23);
    const v = () => ({ s: S, f: filler, m: M });
    for (let i = 0; i < 3; i++) captures(v(), 1);
    for (let i = 0; i < 3; i++) {
      const r0 = refs();
      const r = both(v());
      expect(json(r.ref)).toBe(json(r.full));
      expect(r.full.props.m.entries[0][1].total).toBe(6);
      expect(Object.keys(r.full.props.m.entries[0][1].props)).toHaveLength(3);
      // S and the filler are references (and M, cut by the budget, at the
      // same budget left: decisions.md 46).
      expect(refs() - r0).toBeGreaterThanOrEqual(2);
    }
    // Exact after changes of T, seen both in S and in M.
    (T as any).a = 9;
    for (let i = 0; i < 2; i++) captures(v(), 1);
    delete (T as any).f;
    for (let i = 0; i < 2; i++) captures(v(), 1);
    setValueBudget(40);
    for (let i = 0; i < 2; i++) captures(v(), 1);
    setValueBudget(19);
    for (let i = 0; i < 2; i++) captures(v(), 1);
    setValueBudget(23);
    for (let i = 0; i < 2; i++) captures(v(), 1);
  });
});

describe('an object met under two attr: rule sets', () => {
  it('its holder under one rule set is referred to while the object is written under the other', () => {
    setAttrResolver((set, key) => (set === 1 && key === 'secret' ? 1 : set === 1 && key === 'gone' ? 2 : 0));
    registerAttr(1, [1, 0]);
    const T = { secret: 's', gone: 'g', n: 1 };
    const S = { t: T };
    for (let i = 0; i < 3; i++) {
      attrFor(2);
      captures([S], 1);
      attrFor(1);
      captures([T], 1);
    }
    for (let i = 0; i < 3; i++) {
      attrFor(2);
      expect(captures([S], 1)).toBe(1);
      attrFor(1);
      const r = both([T]);
      expect(r.full[0].props.secret.$).toBe('redacted');
      expect(json(r.ref)).toBe(json(r.full));
    }
    T.n = 2;
    for (let i = 0; i < 2; i++) {
      attrFor(2);
      captures([S], 1);
      attrFor(1);
      captures([T, S], 1);
    }
  });
});

describe('a redacted object (attr: rules) is written with the class name of its prototype', () => {
  it('in a reference and in a patch, after its prototype changed', () => {
    setAttrResolver((set, key) => (set === 1 && key === 'b' ? 1 : 0));
    registerAttr(1, [1]);
    attrFor(1);
    // (watched: the wrapped setters report every prototype change)
    for (const watch of [false, true]) {
      if (watch) expect(installDefiners(untrust)).toBe(true);
      else setProtoWatch(false);
      class A {}
      const x: any = {};
      const o: any = { n: 0, b: x };
      const v = [o];
      for (let i = 0; i < 3; i++) captures(v, 1);
      for (const p of [A.prototype, null, Object.prototype, Array.prototype]) {
        Object.setPrototypeOf(x, p);
        // o unchanged otherwise: a reference.
        let r = both(v);
        expect(r.full[0].props.b.type).toBe(p === null ? 'null' : p === Object.prototype ? 'Object' : p === A.prototype ? 'A' : 'Array');
        expect(json(r.ref)).toBe(json(r.full));
        captures(v, 2);
        // o changed: a patch.
        o.n++;
        Object.setPrototypeOf(x, A.prototype);
        r = both(v);
        expect(json(r.ref)).toBe(json(r.full));
        Object.setPrototypeOf(x, p);
        o.n++;
        captures(v, 2);
      }
    }
  });
});

describe('a redacted value of a pair list (attr: rules) is written with the class name of its prototype', () => {
  it('in a reference, after its prototype changed', () => {
    configureSecrets({ pairs: true }, currentKeyAction);
    setAttrResolver((set, key) => (set === 1 && key === 'Authorization' ? 1 : 0));
    registerAttr(1, [1]);
    attrFor(1);
    try {
      for (const watch of [false, true]) {
        if (watch) expect(installDefiners(untrust)).toBe(true);
        else setProtoWatch(false);
        class A {}
        const x: any = {};
        const list = ['Host', 'h', 'Authorization', x];
        for (let i = 0; i < 3; i++) captures([list], 1);
        for (const p of [A.prototype, null, Object.prototype]) {
          Object.setPrototypeOf(x, p);
          const r = both([list]);
          expect(r.full[0][3].type).toBe(p === null ? 'null' : p === A.prototype ? 'A' : 'Object');
          expect(json(r.ref)).toBe(json(r.full));
          captures([list], 2);
        }
      }
    } finally {
      resetSecrets();
    }
  });
});

describe('an object with a key dropped by attr: rules after its last kept key', () => {
  it('met again with exactly its kept keys of budget left: total counts the dropped key, as in a full encoding', () => {
    setAttrResolver((set, key) => (set === 1 && key === 'c' ? 2 : 0));
    registerAttr(1, [1]);
    attrFor(1);
    setValueBudget(40);
    const o = { a: 1, b: 2, c: 3 };
    const f20 = Array.from({ length: 20 }, (_, i) => i);
    for (let i = 0; i < 3; i++) captures([f20, [], o], 1);
    // 3 (the outer array) + 20 + 15: 2 left for o's 2 kept keys.
    const f15 = f20.slice(5);
    for (let i = 0; i < 2; i++) {
      const r = both([f20, f15, o]);
      expect(r.full[2].total).toBe(3);
      expect(json(r.ref)).toBe(json(r.full));
    }
    // One more left: the dropped key is seen, total 2, referable again.
    const f14 = f20.slice(6);
    captures([f20, f14, o], 2);
    const r0 = refs();
    const r = both([f20, f14, o]);
    expect(r.full[2].total).toBeUndefined();
    expect(json(r.ref)).toBe(json(r.full));
    expect(refs() - r0).toBe(3);
  });
});

describe('objects shared at several depths and mutated: random differential', () => {
  for (const trust of [false, true])
    for (const [seed0, depth, items] of [
      [1, 3, 8],
      [2, 4, 8],
      [3, 3, 4],
      [4, 5, 16],
    ] as const)
      it(`seed ${seed0}, depth bound ${depth}, items bound ${items}${trust ? ', definers wrapped (plain reads)' : ''}`, () => {
        if (trust) expect(installDefiners(untrust)).toBe(true);
        setTrust(trust);
        setBounds(depth, items, 256);
        setAttrResolver((set, key) => (set === 1 && key === 'b' ? 1 : set === 1 && key === 'c' ? 2 : 0));
        registerAttr(1, [1, 0]);
        let seed = seed0 * 31 + (trust ? 7 : 0);
        const rnd = (n: number) => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff;
          return Math.floor((seed / 0x80000000) * n);
        };
        const prims = [0, -0, 1, 'a', '', true, null, undefined, NaN];
        const KEYS = ['a', 'b', 'c', 'd', 'e'];
        class P {}
        const protos = [Object.prototype, null, P.prototype];
        // Containers linked at random (sharing and cycles), so that one is
        // met at several depths in one value and across values.
        const pool: any[] = [];
        for (let i = 0; i < 16; i++) {
          const w = rnd(5);
          pool.push(w === 0 ? [] : w === 1 ? new Map() : w === 2 ? new Set() : w === 3 ? Object.create(null) : {});
        }
        const pick = (): any => (rnd(3) === 0 ? prims[rnd(prims.length)] : pool[rnd(pool.length)]);
        const mutate = (): void => {
          const c = pool[rnd(pool.length)];
          const r = rnd(5);
          if (c instanceof Map) {
            if (r === 0 && c.size > 0) c.delete(c.keys().next().value);
            else c.set(KEYS[rnd(KEYS.length)], pick());
          } else if (c instanceof Set) {
            if (r === 0) c.clear();
            else c.add(pick());
          } else if (Array.isArray(c)) {
            if (r === 0) c.length = rnd(3);
            else if (r === 1 || c.length === 0) c.push(pick());
            else c[rnd(c.length)] = pick();
          } else if (r === 4) Object.setPrototypeOf(c, protos[rnd(protos.length)]);
          else {
            const k = KEYS[rnd(KEYS.length)];
            if (r === 0) delete c[k];
            else c[k] = pick();
          }
        };
        for (let i = 0; i < 50; i++) mutate();
        // A container wrapped in 0-3 fresh or kept levels: met at another depth.
        const keptWraps = pool.map((x) => [{ w: x }, [[x]], { a: { b: x } }]);
        const wrap = (x: any): unknown => {
          const d = rnd(4);
          if (d === 0) return x;
          if (rnd(2) === 0) return keptWraps[pool.indexOf(x)][d - 1];
          return d === 1 ? [x] : d === 2 ? { w: [x] } : [{ w: [x] }];
        };
        let mism = 0;
        for (let step = 0; step < 3000; step++) {
          const r = rnd(4);
          if (r === 0) mutate();
          if (rnd(40) === 0) setValueBudget(rnd(3) === 0 ? 1024 : items + rnd(50));
          if (rnd(10) === 0) attrFor(rnd(3));
          const v = r === 1 ? wrap(pool[rnd(pool.length)]) : [wrap(pool[rnd(pool.length)]), Array.from({ length: rnd(items) }, (_, i) => i), wrap(pool[rnd(pool.length)])];
          const b = both(v);
          if (json(b.ref) !== json(b.full)) {
            mism++;
            expect(json(b.ref), `step ${step}`).toBe(json(b.full));
          }
          if (arena.pos > 1 << 22) resetArena();
        }
        expect(mism).toBe(0);
      });
});
