// References (issue 9): values recorded with references read back exactly as
// values recorded without them. Real workloads (acorn, js-yaml, a state
// machine mutating its state between calls) are recorded both ways and every
// exported value is compared.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsAsync, fixture, metadata, onlyTrace, ROOT, runCliAsync, runNodeAsync, tempDir, type Event } from '../helpers/run';

const MAIN = fixture('values-refs', 'main.js');

function valuesOf(evs: Event[]): unknown[] {
  return evs.map((e) => [e.kind, e.fn, e.path, e.line, e.activation, e.depth, e.args, e.this, e.value, e.error]);
}

async function recordWith(refs: string, env: Record<string, string> = {}): Promise<{ evs: Event[]; dir: string; stdout: string; work: Record<string, number> }> {
  // Every function of acorn and js-yaml, whose internals pass the same
  // objects around (--scope all).
  const workOut = path.join(tempDir(), 'work.json');
  const r = await runNodeAsync(MAIN, {
    env: { NODEREC_VALUE_REFS: refs, NODEREC_SCOPE: 'all', NODEREC_INDEX: path.join(ROOT, 'js', 'dist', 'index.js'), VALUES_WORK_OUT: workOut, ...env },
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const dir = onlyTrace(r.outDir);
  return { evs: await eventsAsync(dir), dir, stdout: r.stdout, work: JSON.parse(fs.readFileSync(workOut, 'utf8')) };
}

describe('value references', () => {
  // Three runs recording every function of acorn and js-yaml.
  it('acorn, js-yaml and a mutating state machine: every exported value is the same with and without references', { timeout: 240_000 }, async () => {
    const plain = await runNodeAsync(MAIN, { preload: 'none' });
    const on = await recordWith('1');
    const off = await recordWith('0');
    expect(on.stdout).toBe(plain.stdout);
    expect(off.stdout).toBe(plain.stdout);
    expect(on.evs.length).toBe(off.evs.length);
    expect(on.evs.length).toBeGreaterThan(1000);
    const a = valuesOf(on.evs);
    const b = valuesOf(off.evs);
    for (let i = 0; i < a.length; i++) {
      if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) expect(a[i]).toEqual(b[i]);
    }
    // References were used, and made the trace smaller.
    expect(metadata(on.dir).raw_bytes).toBeLessThan(metadata(off.dir).raw_bytes);
    // `noderec calls` resolves them too.
    const calls = async (dir: string): Promise<string> => (await runCliAsync(['calls', dir, '--fn', 'step', '--limit', '0', '--json'])).stdout;
    // Rows come slowest first: compare them in activation order, without times.
    const rows = (s: string): unknown[] =>
      s
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .sort((x, y) => x.activation - y.activation)
        .map((o) => ({ ...o, t: 0, dur: 0 }));
    expect(rows(await calls(on.dir))).toEqual(rows(await calls(off.dir)));
  });

  it('with a memo budget of a few KiB (memos dropped again and again), every exported value is the same as without references', { timeout: 240_000 }, async () => {
    const plain = await runNodeAsync(MAIN, { preload: 'none' });
    const [small, none, off] = await Promise.all([recordWith('1', { NODEREC_VALUE_MEMO_KIB: '3' }), recordWith('1', { NODEREC_VALUE_MEMO_KIB: '0' }), recordWith('0')]);
    for (const r of [small, none]) {
      expect(r.stdout).toBe(plain.stdout);
      expect(r.evs.length).toBe(off.evs.length);
      const a = valuesOf(r.evs);
      const b = valuesOf(off.evs);
      for (let i = 0; i < a.length; i++) {
        if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) expect(a[i]).toEqual(b[i]);
      }
    }
    // The memos were dropped many times, and references were still written
    // between the drops (with 0, none outlives its value).
    expect(small.work.memoGenerations).toBeGreaterThan(100);
    expect(small.work.refs).toBeGreaterThan(100);
    expect(none.work.memoGenerations).toBeGreaterThan(small.work.memoGenerations);
    expect(off.work.memoGenerations).toBe(0);
    expect(metadata(small.dir).raw_bytes).toBeLessThan(metadata(off.dir).raw_bytes);
  });

  it('with small value budgets, every exported value is the same as without references (budget20)', { timeout: 240_000 }, async () => {
    // An empty container met when the budget has just run out is cut
    // (js-yaml's state.tagHandlers at the default budget in a larger load):
    // at 80 and 100 references read `{}` where the full encoding is
    // `truncated` in 124 and 8 events (acorn's parser state first).
    for (const budget of ['80', '100']) {
      const env = { NODEREC_VALUE_BUDGET: budget };
      const [on, off] = await Promise.all([recordWith('1', env), recordWith('0', env)]);
      expect(on.evs.length).toBe(off.evs.length);
      const a = valuesOf(on.evs);
      const b = valuesOf(off.evs);
      let cut = 0;
      for (let i = 0; i < a.length; i++) {
        const j = JSON.stringify(b[i]);
        if (j.includes('"truncated"')) cut++;
        if (JSON.stringify(a[i]) !== j) expect(a[i], `budget ${budget}, event ${i}`).toEqual(b[i]);
      }
      // The budget did cut values, and references were written.
      expect(cut).toBeGreaterThan(1000);
      expect(on.work.refs).toBeGreaterThan(1000);
    }
  });

  it('with no value budget (NODEREC_VALUE_BUDGET=0), every exported value is the same as without references (review45)', { timeout: 240_000 }, async () => {
    // "No limit" was an infinite budget: the budget a reference spends is a
    // difference of it (NaN), and 5761 of 44025 events differed.
    const env = { NODEREC_VALUE_BUDGET: '0' };
    const [on, off] = await Promise.all([recordWith('1', env), recordWith('0', env)]);
    expect(on.evs.length).toBe(off.evs.length);
    const a = valuesOf(on.evs);
    const b = valuesOf(off.evs);
    for (let i = 0; i < a.length; i++) if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) expect(a[i], `event ${i}`).toEqual(b[i]);
    expect(on.work.refs).toBeGreaterThan(1000);
  });

  it('the state passed to every call shows each change, in the call where it happened', async () => {
    const { evs } = await recordWith('1');
    const steps = evs.filter((e) => e.kind === 'return' && e.fn === 'step').map((e) => e.value as any);
    expect(steps).toHaveLength(60);
    steps.forEach((s, i) => expect(s.props.count).toBe(i + 1));
    expect(steps[2].props.extra).toEqual({ $: 'object', class: 'Object', props: { at: 3 } });
    expect(steps[4].props).not.toHaveProperty('extra');
    expect(steps[5].props.computed).toEqual({ $: 'accessor', get: true, set: false });
    expect(steps[6].props.z).toEqual({ $: 'number', v: '-0' });
  });

  it('objects from another realm (vm.runInNewContext) encode like same-realm ones', async () => {
    const { evs } = await recordWith('1');
    const takes = evs.filter((e) => e.kind === 'call' && e.fn === 'take').map((e) => e.args![0]);
    expect(takes.length).toBe(18);
    for (let i = 0; i < takes.length; i += 2) expect(takes[i]).toEqual(takes[i + 1]);
    expect(takes[0]).toMatchObject({ $: 'object', class: 'Object' });
    expect(takes[4]).toEqual([1, 2, 3]);
    expect(takes[6]).toEqual({ $: 'error', class: 'TypeError', message: 'bad' });
  });
});
