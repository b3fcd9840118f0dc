// The typed query API exported from `noderec` and its CLI subcommands
// (--json), on traces recorded by real node processes.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { fixture, runCli, runNode, tempDir, onlyTrace, traceDirs, spawn, NODE, REGISTER, cleanEnv } from '../helpers/run';

// The built package, as a user would `require('noderec')`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const api = require('../../js/dist/index.js') as typeof import('../../js/index');

describe('query API', () => {
  let outDir: string;
  let shop: string;
  beforeAll(() => {
    outDir = tempDir('noderec-query-');
    const r = runCli(['record', fixture('viewer', 'shop.js')], { env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code, r.stderr).toBe(0);
    shop = onlyTrace(outDir);
  });

  it('listTraces and getTrace', () => {
    const list = api.listTraces({ outDir });
    expect(list.map((t) => t.id)).toEqual([path.basename(shop)]);
    expect(list[0]).toMatchObject({ status: 'complete', program: 'shop.js', exitCode: 0 });
    expect(list[0].run).not.toBeNull();
    expect(api.listTraces({ outDir, status: 'failed' })).toEqual([]);
    expect(api.listTraces({ outDir, program: 'shop' }).length).toBe(1);
    const t = api.getTrace(path.basename(shop), { outDir });
    expect(t.status).toBe('complete');
    expect(t.complete).toBe(true);
    expect(t.counts.call).toBe(t.counts.return + t.counts.throw);
    expect(t.throws).toBe(1);
    expect(t.threads.map((x) => x.name)).toEqual(['main']);
    expect(t.outputBytes.stdout).toBeGreaterThan(0);
    expect(t.outputBytes.stderr).toBe('bad coupon: not a price: ten\n'.length);
    expect(t.topInclusive[0].name).toBe('<module>');
    const depth = t.topInclusive.find((f) => f.name === 'depth')!;
    expect(depth.calls).toBe(7);
  });

  it('timeline pages, callTree, getCall', () => {
    const all = api.timeline(shop, { limit: 1000 });
    expect(all.cursor).toBeUndefined();
    const pages: string[] = [];
    let cursor: string | undefined;
    do {
      const p = api.timeline(shop, { limit: 4, cursor });
      pages.push(...p.rows.map((r) => `${r.thread}:${r.activation}`));
      cursor = p.cursor;
    } while (cursor !== undefined);
    expect(pages).toEqual(all.rows.map((r) => `${r.thread}:${r.activation}`));
    const adds = api.timeline(shop, { fn: 'Cart.add*' });
    expect(adds.rows.map((r) => r.values?.args?.[0])).toMatchObject([
      { props: { name: 'book' } },
      { props: { name: 'pen' } },
      { props: { name: 'lamp' } },
    ]);
    expect(adds.rows.map((r) => r.values?.value)).toEqual([1, 2, 3]);
    const threw = api.timeline(shop, { status: 'threw' }).rows;
    expect(threw.map((r) => r.name)).toEqual(['parsePrice']);
    expect(threw[0].values?.error).toMatchObject({ $: 'error', class: 'TypeError', message: 'not a price: ten' });
    const roots = api.callTree(shop, {});
    expect(roots.map((r) => r.name)).toEqual(['<module>']);
    const kids = api.callTree(shop, { activation: roots[0].activation });
    expect(kids.map((r) => r.name)).toEqual(['Cart.constructor', 'Cart.addItem', 'Cart.addItem', 'Cart.addItem', 'depth', 'checkout']);
    const checkout = kids[5];
    const d = api.getCall(shop, { activation: checkout.activation })!;
    expect(d.params).toEqual(['cart', 'coupon']);
    expect(d.output).toEqual([{ stream: 'stderr', text: 'bad coupon: not a price: ten\n' }]);
    expect(() => api.timeline(shop, { cursor: 'nope' })).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });

  it('valueHistory gives successive values with structural diffs', () => {
    const h = api.valueHistory(shop, { fn: 'Cart.addItem', path: 'item' });
    expect(h.length).toBe(3);
    expect(h[0].changes).toEqual([]);
    expect(h[1].changes).toEqual(
      expect.arrayContaining([
        { path: 'name', op: 'changed', before: 'book', after: 'pen' },
        { path: 'tags.shelf.row', op: 'changed', before: 3, after: 1 },
      ]),
    );
    const byPath = api.valueHistory(shop, { fn: 'Cart.addItem', path: 'args.0.qty' });
    expect(byPath.map((e) => e.value)).toEqual([1, 4, 1]);
    expect(api.valueHistory(shop, { fn: 'Cart.addItem', path: 'return' }).map((e) => e.value)).toEqual([1, 2, 3]);
  });

  it('compare finds the function whose return values differ between two runs', () => {
    const dir = tempDir('noderec-cmp-');
    const a = runNode(fixture('viewer', 'price.js'), { args: ['a'], outDir: path.join(dir, 'a') });
    const b = runNode(fixture('viewer', 'price.js'), { args: ['b'], outDir: path.join(dir, 'b') });
    expect([a.code, b.code]).toEqual([0, 0]);
    const rows = api.compare(onlyTrace(a.outDir), onlyTrace(b.outDir));
    const names = rows.map((r) => r.name);
    expect(names).toContain('unitPrice');
    expect(rows.find((r) => r.name === 'unitPrice')!.differs).toContain('returns');
    // fib behaves the same in both runs (only its time may differ on a busy machine).
    const fib = rows.find((r) => r.name === 'fib')?.differs ?? [];
    expect(fib.filter((d) => d !== 'duration')).toEqual([]);
    expect(api.compare(onlyTrace(a.outDir), onlyTrace(a.outDir))).toEqual([]);
  });

  it('compare sees no difference between a value written in full and as a reference', () => {
    const dir = tempDir('noderec-cmp-refs-');
    const full = runNode(fixture('viewer', 'same-config.js'), { outDir: path.join(dir, 'full'), env: { NODEREC_VALUE_REFS: '0' } });
    const refs = runNode(fixture('viewer', 'same-config.js'), { outDir: path.join(dir, 'refs') });
    expect([full.code, refs.code]).toEqual([0, 0]);
    // The two traces show the same return values...
    const returns = (t: string) => api.timeline(t, { fn: 'getConfig' }).rows.map((r) => r.values?.value);
    expect(returns(onlyTrace(refs.outDir))).toEqual(returns(onlyTrace(full.outDir)));
    // ...but are stored differently (the recording with references is smaller).
    const size = (t: string) => fs.statSync(path.join(t, 'trace.nrt')).size;
    expect(size(onlyTrace(refs.outDir))).not.toBe(size(onlyTrace(full.outDir)));
    const rows = api.compare(onlyTrace(full.outDir), onlyTrace(refs.outDir));
    const differs = rows.flatMap((r) => r.differs.filter((d) => d !== 'duration').map((d) => `${r.name}: ${d}`));
    expect(differs).toEqual([]);
  });

  it('CLI subcommands give the same answers with --json', () => {
    const env = { NODEREC_OUT_DIR: outDir };
    const traces = JSON.parse(runCli(['traces', '--json'], { env }).stdout) as { id: string }[];
    expect(traces.map((t) => t.id)).toEqual([path.basename(shop)]);
    const info = JSON.parse(runCli(['info', '--json'], { env }).stdout) as { events: number };
    expect(info.events).toBe(api.getTrace(shop).events);
    const tl = JSON.parse(runCli(['timeline', '--fn', 'depth', '--json'], { env }).stdout) as { rows: { depth: number }[] };
    expect(tl.rows.map((r) => r.depth)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const tree = JSON.parse(runCli(['tree', '--json'], { env }).stdout) as { name: string }[];
    expect(tree.map((r) => r.name)).toEqual(['<module>']);
    const hist = JSON.parse(runCli(['history', '--fn', 'Cart.addItem', '--path', 'item.price', '--json'], { env }).stdout) as { value: number }[];
    expect(hist.map((h) => h.value)).toEqual([12, 3, 30]);
    const bad = runCli(['history', '--fn', 'x'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('needs --fn GLOB and --path');
    const text = runCli(['info'], { env }).stdout;
    expect(text).toContain('by inclusive time (recursion counted once)');
  });
});

describe('noderec show and recursion', () => {
  it("a recursive function's inclusive time is not more than the whole program's", () => {
    const out = tempDir('noderec-show-');
    const r = runNode(fixture('viewer', 'price.js'), { args: ['a'], outDir: out });
    expect(r.code).toBe(0);
    const text = runCli(['show', onlyTrace(out)]).stdout;
    const ms = (name: string): number => {
      const m = new RegExp(`^\\s+([\\d.]+) ms\\s+\\d+ calls\\s+${name.replace(/[<>]/g, '\\$&')}\\s`, 'm').exec(text);
      if (m === null) throw new Error(`${name} not in:\n${text}`);
      return Number(m[1]);
    };
    expect(ms('fib')).toBeLessThanOrEqual(ms('<module>'));
    expect(traceDirs(out).length).toBe(1);
  });
});

describe('a trace still being recorded', () => {
  it('shows the calls made so far while the program runs, then becomes complete', async () => {
    const out = tempDir('noderec-growing-');
    const child = spawn(NODE, ['--require', REGISTER, fixture('viewer', 'tick.js')], {
      env: cleanEnv({ NODEREC_OUT_DIR: out }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      // Wait until the program printed tick 5, then give the recorder 600 ms.
      for (let i = 0; i < 300 && !text.includes('tick 5\n'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(text).toContain('tick 5');
      await new Promise((r) => setTimeout(r, 600));
      expect(child.exitCode).toBeNull();
      const dir = onlyTrace(out);
      const t = api.getTrace(dir);
      expect(t.status).toBe('recording');
      expect(t.complete).toBe(false);
      const ticks = api.timeline(dir, { fn: 'tick', values: true }).rows;
      expect(ticks.length).toBeGreaterThanOrEqual(5);
      expect(ticks.slice(0, 5).map((r) => r.values?.value)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      expect(await exited).toBe(0);
    }
    const dir = onlyTrace(out);
    // The final index: built afresh once the recording ended.
    const done = api.getTrace(dir, { outDir: out });
    expect(done.status).toBe('complete');
    expect(api.timeline(dir, { fn: 'tick' }).rows.length).toBe(15);
  });
});
