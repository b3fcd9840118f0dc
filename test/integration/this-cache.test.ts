// Issue 9: a method call's `this` at depth 0 (the class name only) is written
// from a per-receiver cache of its truncated encoding. The same program is
// recorded with the cache (NODEREC_VALUE_REFS=1, the default) and without it
// (NODEREC_VALUE_REFS=0: the full encoder every time): every recorded value
// reads back identical, and the program behaves as without the recorder (no
// getter ran, no Proxy trap fired).
import { describe, expect, it } from 'vitest';
import { eventsAsync, fixture, onlyTrace, runNodeAsync, type Event } from '../helpers/run';

const MAIN = fixture('this-cache', 'main.js');

async function record(refs: string): Promise<{ evs: Event[]; stdout: string }> {
  const r = await runNodeAsync(MAIN, { env: { NODEREC_VALUE_REFS: refs } });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return { evs: await eventsAsync(onlyTrace(r.outDir)), stdout: r.stdout };
}

describe('`this` at depth 0', () => {
  it('reads back the same with the receiver cache and with the full encoder', { timeout: 60_000 }, async () => {
    const plain = await runNodeAsync(MAIN, { preload: 'none' });
    expect(plain.stdout).toBe('side effects: 0\n');
    const on = await record('1');
    const off = await record('0');
    expect(on.stdout).toBe(plain.stdout);
    expect(off.stdout).toBe(plain.stdout);
    const calls = (evs: Event[]): unknown[] => evs.filter((e) => e.kind === 'call').map((e) => [e.fn, e.line, e.args, e.this]);
    expect(calls(on.evs)).toEqual(calls(off.evs));
    // What the cases must show (checked on the cached run).
    const thisOf = (fn: string, arg: number): unknown =>
      on.evs.find((e) => e.kind === 'call' && e.fn?.endsWith(fn) && JSON.stringify(e.args) === JSON.stringify([arg]))?.this;
    const cls = (c: string): unknown => ({ $: 'truncated', class: c });
    expect(thisOf('m', 10)).toEqual(cls('Other'));
    expect(thisOf('m', 11)).toEqual(cls('K'));
    expect(thisOf('m', 12)).toEqual(cls('null'));
    expect(thisOf('m', 13)).toEqual(cls('K'));
    const thisValues = on.evs.filter((e) => e.kind === 'call' && e.this !== undefined).map((e) => JSON.stringify(e.this));
    // The Date with K's prototype is a date, its time read at each call.
    expect(thisValues.filter((s) => s.includes('"date"')).length).toBe(2);
    expect(new Set(thisValues.filter((s) => s.includes('"date"'))).size).toBe(2);
    // The Error with K's prototype is an error with its current message.
    expect(thisValues.some((s) => s.includes('boom'))).toBe(true);
    expect(thisValues.some((s) => s.includes('changed'))).toBe(true);
    // The Proxy is a proxy each time.
    expect(thisValues.filter((s) => s.includes('proxy')).length).toBe(2);
    // m0, m2, m3: the receiver and the arguments, in order.
    const arity = on.evs.filter((e) => e.kind === 'call' && /a[023]$/.test(e.fn ?? '')).map((e) => [e.fn?.slice(-2), e.args, e.this]);
    const ar = cls('Arity');
    // (the prototype made with Object.create(Arity.prototype) has no own
    // constructor: the class name is found on its prototype)
    expect(arity).toEqual(
      [0, 1, 2, 3].flatMap((i) => [
        ['a0', [], ar],
        ['a2', [i, `str${i}`], ar],
        ['a3', [i, { $: 'object', class: 'Object', props: { o: i } }, 2.5], ar],
      ]),
    );
    // Enough method calls were recorded for the cache to be exercised.
    expect(thisValues.length).toBeGreaterThan(50);
  });
});
