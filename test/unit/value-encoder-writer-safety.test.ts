import { afterEach, describe, expect, it } from 'vitest';
import * as vm from 'node:vm';
import { arena, resetArena, setBounds, setRefs, setTrust, writeValue } from '../../js/runtime/value-encoder';
function bytes(v: unknown): number[] { resetArena(); writeValue(v); return [...arena.buf.subarray(0, arena.pos)]; }
afterEach(() => { setRefs(true); setTrust(false); setBounds(3, 32, 256); resetArena(); });
describe('the generated first-encoding writer runs no getter and no trap (review of decision 41)', () => {
  for (const [refs, trust] of [[false, false], [true, false], [true, true]] as const) {
    it(`no getter / trap (refs ${refs} trust ${trust})`, () => {
      setRefs(refs); setTrust(trust); setBounds(3, 32, 256);
      let ran = 0;
      const g = () => { ran++; return 'GETTER RAN'; };
      const K = `r${refs ? 1 : 0}${trust ? 1 : 0}`;
      const mk = () => ({ [K + 'a']: 1, [K + 'b']: 'two', [K + 'c']: null });
      for (let i = 0; i < 4200; i++) bytes(mk());
      const ctx = vm.createContext({});
      const otherMk = vm.runInContext(`(K) => ({ [K + 'a']: 1, [K + 'b']: 'two', [K + 'c']: null })`, ctx);
      for (let i = 0; i < 4200; i++) bytes(otherMk(K));
      const cases: [string, () => unknown][] = [
        ['defineProperty', () => Object.defineProperty(mk(), K + 'b', { get: g, enumerable: true })],
        ['defineGetter', () => { const o = mk(); (o as any).__defineGetter__(K + 'a', g); return o; }],
        ['literal get', () => ({ [K + 'a']: 1, get [K + 'b']() { return g(); }, [K + 'c']: null })],
        ['Object.create', () => Object.create(Object.prototype, { [K + 'a']: { value: 1, enumerable: true }, [K + 'b']: { value: 2, enumerable: true }, [K + 'c']: { get: g, enumerable: true } })],
        ['frozen', () => { const o = Object.freeze(mk()); return o; }],
        ['sealed+getter', () => Object.seal(Object.defineProperty(mk(), K + 'c', { get: g, enumerable: true }))],
        ['dictionary', () => { const o: any = mk(); o.zz = 1; delete o.zz; Object.defineProperty(o, K + 'a', { get: g, enumerable: true }); return o; }],
        ['other realm getter', () => vm.runInContext(`(K, g) => ({ [K + 'a']: 1, get [K + 'b']() { return g(); }, [K + 'c']: null })`, ctx)(K, g)],
        ['other realm defineProperty', () => vm.runInContext(`(o, K, g) => Object.defineProperty(o, K + 'c', { get: g, enumerable: true })`, ctx)(otherMk(K), K, g)],
        ['proxy', () => new Proxy(mk(), { get: () => (ran++, 1), getOwnPropertyDescriptor: (t, k) => (ran++, Reflect.getOwnPropertyDescriptor(t, k)), ownKeys: (t) => (ran++, Reflect.ownKeys(t)) })],
        ['other realm proxy', () => vm.runInContext(`(o, bump) => new Proxy(o, { getOwnPropertyDescriptor(t, k) { bump(); return Reflect.getOwnPropertyDescriptor(t, k); } })`, ctx)(mk(), () => ran++)],
      ];
      for (const [name, f] of cases) {
        const o = f();
        bytes(o); bytes({ x: o }); bytes([o]);
        expect(ran, name).toBe(0);
      }
    });
  }
});
