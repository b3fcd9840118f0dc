// (review46, decision 46) Seeded differential of references/patches vs a full encoding,
// harder than value-encoder-contexts' random differential: more than 4
// contexts per object (deeper bounds, many budgets), accessors defined,
// keys added/deleted, prototypes changed, memo generations (tiny memo
// budget), epoch changes (resetArena, setBounds), secrets changes, attr:
// rule sets, pair lists, maps/sets/arrays shared at several depths.
import { afterEach, describe, expect, it } from 'vitest';
import {
  arena,
  attrFor,
  currentKeyAction,
  encoderWork,
  registerAttr,
  resetArena,
  setAttrResolver,
  setBounds,
  setMemoBudget,
  setProtoWatch,
  setTrust,
  setThisDepth,
  setValueBudget,
  untrust,
} from '../../js/runtime/value-encoder';
import { installDefiners } from '../../js/runtime/definers';
import { configureSecrets, resetSecrets } from '../../js/runtime/secrets';
import { encodeBoth } from '../helpers/encode-both';

const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (Object.is(x, -0) ? '-0' : typeof x === 'number' && isNaN(x) ? 'NaN' : typeof x === 'bigint' ? String(x) + 'n' : x));

afterEach(() => {
  setBounds(3, 32, 256);
  setValueBudget(1024);
  setThisDepth(0);
  setMemoBudget(512 << 10);
  setAttrResolver(() => 0);
  attrFor(0);
  setTrust(false);
  resetSecrets();
  resetArena();
});

const BUDGETS = [1, 2, 3, 7, 33, 80, 1023, 1024, 1025, 0];

function run(seed0: number, opts: { trust: boolean; memoKiB: number; steps: number; depth: number; items: number; epochs: boolean; secrets: boolean }): string[] {
  if (opts.trust) expect(installDefiners(untrust)).toBe(true);
  else setProtoWatch(false);
  setTrust(opts.trust);
  setMemoBudget(opts.memoKiB * 1024);
  let depth = opts.depth;
  let items = opts.items;
  setBounds(depth, items, 256);
  setAttrResolver((set, key) =>
    set === 1 && key === 'b' ? 1 : set === 1 && key === 'c' ? 2 : set === 2 && key === 'e' ? 2 : set === 2 && key === 'Authorization' ? 1 : 0,
  );
  registerAttr(1, [1, 2]);
  let seed = seed0 * 7919 + 13;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return Math.floor((seed / 0x80000000) * n);
  };
  const prims = [0, -0, 1, 'a', '', true, null, undefined, NaN, 12345678901234567890n];
  const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
  class P {}
  class Q extends P {}
  const protos = [Object.prototype, null, P.prototype, Q.prototype];
  const pool: any[] = [];
  for (let i = 0; i < 24; i++) {
    const w = rnd(7);
    pool.push(
      w === 0 ? [] : w === 1 ? new Map() : w === 2 ? new Set() : w === 3 ? Object.create(null) : w === 4 ? ['Host', 'h', 'Authorization', {}] : w === 5 ? new P() : {},
    );
  }
  const pick = (): any => (rnd(3) === 0 ? prims[rnd(prims.length)] : pool[rnd(pool.length)]);
  const log: string[] = [];
  const mutate = (): void => {
    const ci = rnd(pool.length);
    const c = pool[ci];
    const r = rnd(8);
    if (c instanceof Map) {
      if (r === 0 && c.size > 0) c.delete(c.keys().next().value);
      else if (r === 1) c.set(pool[rnd(pool.length)], pick());
      else c.set(KEYS[rnd(KEYS.length)], pick());
    } else if (c instanceof Set) {
      if (r === 0) c.clear();
      else if (r === 1 && c.size > 0) c.delete(c.values().next().value);
      else c.add(pick());
    } else if (Array.isArray(c)) {
      if (r === 0) Reflect.set(c, 'length', rnd(5));
      else if (r === 1 || c.length === 0) Reflect.set(c, c.length, pick());
      else if (r === 2) Object.defineProperty(c, rnd(c.length + 1), { get: () => 1, configurable: true, enumerable: true });
      else if (r === 3) Reflect.deleteProperty(c, rnd(c.length));
      else Reflect.set(c, rnd(c.length), pick());
    } else if (r === 7) Object.setPrototypeOf(c, protos[rnd(protos.length)]);
    else if (r === 6) {
      const k = KEYS[rnd(KEYS.length)];
      const g = rnd(3);
      Object.defineProperty(c, k, g === 0 ? { get: () => 1, configurable: true, enumerable: true } : g === 1 ? { value: pick(), configurable: true, enumerable: rnd(2) === 0, writable: true } : { set: () => {}, configurable: true, enumerable: true });
    } else {
      const k = KEYS[rnd(KEYS.length)];
      if (r === 0) Reflect.deleteProperty(c, k);
      else if (!Reflect.set(c, k, pick())) Object.defineProperty(c, k, { value: pick(), configurable: true, enumerable: true, writable: true });
    }
  };
  for (let i = 0; i < 80; i++) mutate();
  const keptWraps = pool.map((x) => [{ w: x }, [[x]], { a: { b: x } }, [{ a: [x] }], new Map([['k', { x }]]), [[[[x]]]]]);
  const wrap = (x: any): unknown => {
    const d = rnd(7);
    if (d === 0) return x;
    if (rnd(2) === 0) return keptWraps[pool.indexOf(x)][d - 1];
    return d === 1 ? [x] : d === 2 ? { w: [x] } : d === 3 ? [{ w: [x] }] : d === 4 ? new Set([x]) : d === 5 ? [[[x]]] : { a: [{ b: x }] };
  };
  const fillers = [0, 1, 3, 7, 20, 40].map((n) => Array.from({ length: n }, (_, i) => i));
  let secretsOn = false;
  for (let step = 0; step < opts.steps; step++) {
    const r = rnd(4);
    if (r === 0) mutate();
    if (rnd(30) === 0) setValueBudget(BUDGETS[rnd(BUDGETS.length)]);
    if (rnd(8) === 0) attrFor(rnd(3));
    if (opts.epochs && rnd(200) === 0) resetArena();
    if (opts.epochs && rnd(300) === 0) {
      depth = 2 + rnd(5);
      items = [1, 2, 3, 8, 32][rnd(5)];
      setBounds(depth, items, 256);
    }
    if (opts.secrets && rnd(250) === 0) {
      if (secretsOn) resetSecrets();
      else configureSecrets({ pairs: true }, currentKeyAction);
      secretsOn = !secretsOn;
    }
    if (opts.trust && rnd(50) === 0) untrust(pool[rnd(pool.length)]);
    const v =
      r === 1
        ? wrap(pool[rnd(pool.length)])
        : [wrap(pool[rnd(pool.length)]), fillers[rnd(fillers.length)], wrap(pool[rnd(pool.length)]), rnd(2) === 0 ? pool[rnd(pool.length)] : 0];
    const shallow = rnd(5) === 0;
    if (shallow) setThisDepth(rnd(5));
    const b = encodeBoth(v, shallow);
    const a = json(b.ref), f = json(b.full);
    if (a !== f) {
      if (log.length < 5) log.push(`step ${step}: ref ${a.slice(0, 600)}\n full ${f.slice(0, 600)}`);
      else log.push(`step ${step}`);
    }
    if (arena.pos > 1 << 22) resetArena();
  }
  return log;
}

describe('references across contexts: seeded differential (review46)', () => {
  const cases: Array<[number, boolean, number, number, number, boolean, boolean]> = [];
  for (let s = 1; s <= Number(process.env.R46_SEEDS || 6); s++) {
    cases.push([s, false, 512, 6, 8, false, false]);
    cases.push([s, true, 512, 6, 4, false, false]);
    cases.push([s, s % 2 === 0, 1, 5, 3, true, true]);
    cases.push([s, s % 2 === 1, 8, 7, 2, true, true]);
    cases.push([s, false, 0, 4, 1, true, false]);
    cases.push([s, true, 512, 6, 3, true, true]);
  }
  for (const [seed, trust, kib, depth, items, epochs, secrets] of cases)
    it(`seed ${seed} trust ${trust} memoKiB ${kib} depth ${depth} items ${items} epochs ${epochs} secrets ${secrets}`, () => {
      const log = run(seed, { trust, memoKiB: kib, steps: 2500, depth, items, epochs, secrets });
      // (references and patches written so far: the differential compared real ones)
      expect(encoderWork[2]).toBeGreaterThan(0);
      expect(log.length, log.slice(0, 3).join('\n')).toBe(0);
    });
});
