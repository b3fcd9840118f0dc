// Defect 8 of issue 8: the encoder's work per captured value is bounded by
// the value bounds (items, depth, budget), not by the size of the value.
// The work is counted by the encoder itself (metricsSnapshot().valueWork),
// so these tests do not time anything.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { events, fixture, metadata, onlyTrace, ROOT, runNode } from '../helpers/run';

const INDEX = path.join(ROOT, 'js', 'dist', 'index.js');
const MAIN = fixture('values-growth', 'main.js');
const ITEMS = 32;

interface Out {
  which: string;
  checksum: number;
  work: { keysListed: number; propsRead: number; refs: number };
}

function record(which: string, n: number): { out: Out; plain: Out; dir: string } {
  const plain = runNode(MAIN, { preload: 'none', args: [which, String(n)] });
  expect(plain.code).toBe(0);
  const r = runNode(MAIN, { args: [which, String(n)], env: { NODEREC_INDEX: INDEX } });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout) as Out;
  const p = JSON.parse(plain.stdout) as Out;
  expect(out.checksum).toBe(p.checksum);
  return { out, plain: p, dir: onlyTrace(r.outDir) };
}

/** Captured values: the values of calls and returns with values. */
function captured(dir: string): number {
  return events(dir).filter((e) => (e.kind === 'call' && (e.args?.length ?? 0) > 0) || (e.kind === 'return' && 'value' in e)).length;
}

describe('work per captured value is bounded by the value bounds', () => {
  it('an object growing to 4,000 keys, passed to and returned from every call', () => {
    const n = 4000;
    const { out, dir } = record('object', n);
    const values = captured(dir);
    expect(values).toBeGreaterThanOrEqual(2 * n);
    // Listing every key of every capture would be n²/2 per value (16 M here).
    expect(out.work.keysListed).toBeLessThanOrEqual(4 * ITEMS * values);
    expect(out.work.propsRead).toBeLessThanOrEqual(2 * ITEMS * values);
    // The values are still right: the first keys, and a total that lags the
    // real count by at most the keys added since the last full enumeration.
    const calls = events(dir).filter((e) => e.kind === 'call' && e.fn === 'addKey');
    const last = calls[calls.length - 1].args![0] as { props: Record<string, number>; total: number };
    expect(Object.keys(last.props)).toEqual(Array.from({ length: ITEMS }, (_, i) => `k${i}`));
    expect(last.total).toBeLessThanOrEqual(n - 1);
    expect(last.total).toBeGreaterThanOrEqual(Math.floor(0.9 * (n - 1)));
    expect(metadata(dir).status).toBe('complete');
  });

  it('a query-string parser given 4,000 parameters', () => {
    const n = 4000;
    const { out, dir } = record('qs', n);
    const values = captured(dir);
    expect(out.work.keysListed).toBeLessThanOrEqual(4 * ITEMS * values);
    expect(out.work.propsRead).toBeLessThanOrEqual(2 * ITEMS * values);
  });

  it('large values of every kind: dictionary-mode objects, wide instances, sparse and dense arrays, maps, sets, bytes, long strings, arguments', () => {
    const { out, dir } = record('kinds', 20000);
    const values = captured(dir);
    expect(out.work.keysListed).toBeLessThanOrEqual(4 * ITEMS * values);
    expect(out.work.propsRead).toBeLessThanOrEqual(2 * ITEMS * values);
    const takes = events(dir).filter((e) => e.kind === 'call' && e.fn === 'take');
    const byClass = (i: number): unknown => takes[i].args![0];
    expect(byClass(0)).toMatchObject({ $: 'object', class: 'Object', total: 19999 });
    expect(byClass(1)).toMatchObject({ $: 'object', class: 'Wide', total: 20000 });
    expect(byClass(2)).toMatchObject({ $: 'array', length: 20000001 });
    expect(byClass(7)).toMatchObject({ $: 'string', length: 2000000 });
  });
});
