// The probes' fast paths write primitive arguments and returns themselves
// (js/runtime/probes.ts `fv`, issue 9): every value must read back exactly
// as the encoder writes it, at every varint length boundary, once the probes
// run optimized: ints at every varint length, doubles, -0, strings (short,
// long, not ASCII, holding a secret) and the other primitives.
import { describe, expect, it } from 'vitest';
import { events, fixture, onlyTrace, runNode } from '../helpers/run';

const VALUES: unknown[] = [
  0, -0, 1, -1, 63, -64, 64, -65, 127, 128, 4095, -4096, 4096, -4097, 8191, -8192, 8192, -8193, 16383, 16384,
  2 ** 20, -(2 ** 20), 2 ** 27 - 1, 2 ** 27, 2 ** 30, -(2 ** 30), 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1,
  2 ** 32, 0.5, -2.5, 0.1, -1 / 3, NaN, Infinity, -Infinity, 2 ** 53, true, false, null, undefined, '', 'ab', 'a longer name', 'caf\u00e9', 'x'.repeat(127), 'y'.repeat(128), 'AKIAIOSFODNN7EXAMPLE', 10n,
];
const ROUNDS = 200;
/** A secret (an AWS key id): redacted by the encoder, never written as is. */
const SECRET = 'AKIAIOSFODNN7EXAMPLE';

/** A value as the jsonl export prints it (a secret: as the encoder redacts it). */
function json(v: unknown): unknown {
  if (v === SECRET) return '[redacted]';
  if (typeof v === 'number' && (Object.is(v, -0) || !Number.isFinite(v))) return { $: 'number', v: Object.is(v, -0) ? '-0' : String(v) };
  if (v === undefined) return { $: 'undefined' };
  if (typeof v === 'bigint') return { $: 'bigint', v: String(v) };
  return v;
}

describe('primitive values through the probes fast paths', () => {
  it('ints at every varint length, -0, non-ints and other primitives read back exactly (1, 2 and 3 arguments, returns)', () => {
    const r = runNode(fixture('probe-primitives', 'main.js'), { args: [String(ROUNDS)] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // NaN !== NaN: one call per shape per round does not count.
    expect(r.stdout).toBe(`${ROUNDS * (VALUES.length - 1) * 3}\n`);
    const evs = events(onlyTrace(r.outDir));
    const n = VALUES.length;
    const byFn = (fn: string, kind: string) => evs.filter((e) => e.fn === fn && e.kind === kind);
    const calls = { one: byFn('one', 'call'), two: byFn('two', 'call'), three: byFn('three', 'call') };
    const rets = { one: byFn('one', 'return'), two: byFn('two', 'return'), three: byFn('three', 'return') };
    for (const k of ['one', 'two', 'three'] as const) {
      expect(calls[k]).toHaveLength(ROUNDS * n);
      expect(rets[k]).toHaveLength(ROUNDS * n);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < n; i++) {
        const j = round * n + i;
        const v = json(VALUES[i]);
        const w = json(VALUES[(i + 1) % n]);
        expect(calls.one[j].args).toEqual([v]);
        expect(calls.two[j].args).toEqual([w, v]);
        expect(calls.three[j].args).toEqual([w, w, v]);
        for (const k of ['one', 'two', 'three'] as const) expect(rets[k][j].value, `${k} round ${round} value ${String(VALUES[i])}`).toEqual(v);
      }
    }
  });

  it('four to seven parameters (c4, c5, c6, cn): arguments read back exactly, on the fast paths and through enter()', () => {
    const rounds = 200;
    const r = runNode(fixture('probe-primitives', 'wide.js'), { args: [String(rounds)] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const vals: unknown[] = [0, -1, 8192, 2 ** 31, 0.5, -0, true, null, undefined, 'ab', 'caf\u00e9', 'x'.repeat(200), { k: 1 }, [1, 2], 10n];
    const n = vals.length;
    // -0 === 0 and the object/array are compared by identity: every shape counts.
    expect(r.stdout).toBe(`${rounds * n * 4}\n`);
    const evs = events(onlyTrace(r.outDir));
    const of = (fn: string, kind: string) => evs.filter((e) => e.fn === fn && e.kind === kind);
    for (const fn of ['four', 'five', 'six', 'seven']) {
      expect(of(fn, 'call'), fn).toHaveLength(rounds * n);
      expect(of(fn, 'return'), fn).toHaveLength(rounds * n);
    }
    const enc = (v: unknown) => (typeof v === 'object' && v !== null ? expect.anything() : json(v));
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < n; i++) {
        const j = round * n + i;
        const v = enc(vals[i]);
        const w = enc(vals[(i + 1) % n]);
        const at = `round ${round} value ${String(vals[i])}`;
        expect(of('four', 'call')[j].args, at).toEqual([w, v, w, v]);
        expect(of('five', 'call')[j].args, at).toEqual([v, w, v, w, { $: 'undefined' }]);
        expect(of('six', 'call')[j].args, at).toEqual([w, v, v, w, 7, v]);
        expect(of('seven', 'call')[j].args, at).toEqual([v, v, v, w, w, w, v]);
        expect(of('four', 'return')[j].value, at).toEqual(v);
        expect(of('seven', 'return')[j].value, at).toEqual(v);
      }
    }
  });

  it("a string's secrets scan uses the attr: rules of the function it is passed to or returned from", () => {
    const n = 2000;
    const r = runNode(fixture('probe-primitives', 'attr.js'), {
      args: [String(n)],
      env: { NODEREC_TRACE_FILTER: fixture('probe-primitives', 'attr.toml') },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${2 * n}\n`);
    const evs = events(onlyTrace(r.outDir));
    const of = (fn: string, kind: string) => evs.filter((e) => e.fn === fn && e.kind === kind);
    expect(of('withRule', 'call')).toHaveLength(n);
    expect(of('without', 'call')).toHaveLength(n);
    for (const [i, e] of of('withRule', 'call').entries()) expect(e.args, `call ${i}`).toEqual(['?page=[redacted]&x=1', i]);
    for (const [i, e] of of('withRule', 'return').entries()) expect(e.value, `return ${i}`).toBe('?page=[redacted]&x=1');
    for (const [i, e] of of('without', 'call').entries()) expect(e.args, `call ${i}`).toEqual(['?page=7&x=1', i]);
    for (const [i, e] of of('without', 'return').entries()) expect(e.value, `return ${i}`).toBe('?page=7&x=1');
  });

  it('an object argument or return is encoded with the attr: rules of the function it is passed to or returned from; a method object argument follows its receiver', () => {
    const n = 2000;
    const r = runNode(fixture('probe-primitives', 'attr-obj.js'), {
      args: [String(n)],
      env: { NODEREC_TRACE_FILTER: fixture('probe-primitives', 'attr.toml') },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${2 * n}\n`);
    const evs = events(onlyTrace(r.outDir));
    const of = (fn: string, kind: string) => evs.filter((e) => e.fn === fn && e.kind === kind);
    const redacted = { $: 'object', class: 'Object', props: { page: { $: 'redacted', type: 'number' }, x: 1 } };
    const plain = (i: number) => ({ $: 'object', class: 'Object', props: { page: i, x: 1 } });
    for (const [fn, want] of [
      ['withObj', () => redacted],
      ['withoutObj', plain],
      ['other', plain],
    ] as const) {
      const calls = of(fn, 'call');
      const rets = of(fn, 'return');
      expect(calls).toHaveLength(n);
      expect(rets).toHaveLength(n);
      for (let i = 0; i < n; i++) {
        expect(calls[i].args, `${fn} call ${i}`).toEqual([want(i), i]);
        expect(rets[i].value, `${fn} return ${i}`).toEqual(want(i));
      }
    }
    // A method (m2): the receiver, then the object and the int.
    const puts = of('Box.put', 'call');
    expect(puts).toHaveLength(n);
    for (let i = 0; i < n; i++) {
      expect(puts[i].this, `put ${i}`).toEqual({ $: 'truncated', class: 'Box' });
      expect(puts[i].args, `put ${i}`).toEqual([{ $: 'object', class: 'Object', props: { page: i, x: 2 } }, i]);
    }
  });
});
