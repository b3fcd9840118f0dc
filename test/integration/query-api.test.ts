// The typed query API exported from `noderec` and its CLI subcommands
// (--json), on traces recorded by real node processes.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { events, fixture, runCli, runNode, tempDir, onlyTrace, traceDirs, spawn, NODE, REGISTER, cleanEnv, until } from '../helpers/run';

// The built package, as a user would `require('noderec')`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const api = require('../../js/dist/index.js') as typeof import('../../js/index');

// The runs of a trace as the streaming reader counts them (not the index).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const streamedRuns = (dir: string) => (require('../../js/dist/native.js') as typeof import('../../js/native')).native().traceRuns(dir).runs;

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
    // ...but are stored differently: the recording with references has
    // fewer bytes before compression (the compressed files can come out the
    // same size: zstd finds the repeats of the full encodings too, and the
    // event times vary by a few bytes from run to run; 359 B both once).
    const raw = (t: string) => JSON.parse(fs.readFileSync(path.join(t, 'metadata.json'), 'utf8')).raw_bytes as number;
    expect(raw(onlyTrace(refs.outDir))).toBeLessThan(raw(onlyTrace(full.outDir)));
    const rows = api.compare(onlyTrace(full.outDir), onlyTrace(refs.outDir));
    const differs = rows.flatMap((r) => r.differs.filter((d) => d !== 'duration').map((d) => `${r.name}: ${d}`));
    expect(differs).toEqual([]);
  });

  it('compare sees no difference between an object written in full and as a patch', () => {
    const dir = tempDir('noderec-cmp-patch-');
    const full = runNode(fixture('viewer', 'patched-state.js'), { outDir: path.join(dir, 'full'), env: { NODEREC_VALUE_REFS: '0' } });
    const patched = runNode(fixture('viewer', 'patched-state.js'), { outDir: path.join(dir, 'patched') });
    expect([full.code, patched.code]).toEqual([0, 0]);
    const returns = (t: string) => api.timeline(t, { fn: 'step', limit: 1000 }).rows.map((r) => r.values?.value);
    expect(returns(onlyTrace(patched.outDir))).toEqual(returns(onlyTrace(full.outDir)));
    expect(returns(onlyTrace(full.outDir))).toHaveLength(300);
    const rows = api.compare(onlyTrace(full.outDir), onlyTrace(patched.outDir));
    const differs = rows.flatMap((r) => r.differs.filter((d) => d !== 'duration').map((d) => `${r.name}: ${d}`));
    expect(differs).toEqual([]);
  });

  it('runs in the index: timeline, callTree and valueHistory filter by run, domain, sample; runs() lists them, an empty one too', () => {
    const env = { NODEREC_API: path.join(__dirname, '..', '..', 'js', 'dist', 'index.js') };
    const r = runNode(fixture('runs', 'concurrent.js'), { env });
    expect(r.code, r.stderr).toBe(0);
    const t = onlyTrace(r.outDir);
    // Each run's calls, as the streaming reader (calls(), not the index) sees them.
    const streamed = (run: string) =>
      api
        .calls(t, { run, limit: 0 })
        .map((c) => `${c.thread}:${c.activation}`)
        .sort();
    for (const i of [0, 7, 99]) {
      const page = api.timeline(t, { run: `run-${i}`, limit: 1000, values: true });
      expect(page.rows.map((x) => `${x.thread}:${x.activation}`).sort()).toEqual(streamed(`run-${i}`));
      const steps = page.rows.filter((x) => x.name === 'step');
      expect(steps.map((x) => x.values?.args?.[0])).toEqual([i, i, i, i, i]);
      expect(page.rows.every((x) => x.run === `run-${i}`)).toBe(true);
    }
    // Outside every run: the <module>, main and outside() calls carry no run.
    const all = api.timeline(t, { limit: 5000, values: false }).rows;
    expect(all.find((x) => x.name === 'outside')!.run).toBeUndefined();
    // A domain selects all 100 runs, but not what ran outside them.
    const batch = api.timeline(t, { domain: 'batch', fn: 'outside', limit: 10 }).rows;
    expect(batch).toEqual([]);
    expect(api.timeline(t, { domain: 'batch', fn: 'work', limit: 1000 }).rows.length).toBe(100);
    expect(api.timeline(t, { sample: 42, fn: 'work' }).rows.map((x) => x.run)).toEqual(['run-42']);
    expect(api.timeline(t, { domain: 'nope' }).rows).toEqual([]);
    // The call tree of one run: its roots are the run's outermost calls (the
    // arrow given to run()), called from main() outside the run.
    const roots = api.callTree(t, { run: 'run-3' });
    expect(roots.map((x) => x.name)).toEqual(['<anonymous>']);
    expect(roots[0].run).toBe('run-3');
    const [job] = api.callTree(t, { activation: roots[0].activation, run: 'run-3' });
    expect(job.name).toBe('job');
    const kids = api.callTree(t, { activation: job.activation, run: 'run-3' }).map((x) => x.name);
    expect(kids.filter((n) => n === 'work' || n === 'step')).toEqual(['work', 'step', 'step', 'step', 'step']);
    // Another run's filter sees none of them.
    expect(api.callTree(t, { activation: job.activation, run: 'run-4' })).toEqual([]);
    // Value history within a run.
    const h = api.valueHistory(t, { fn: 'step', path: 'k', run: 'run-5' });
    expect(h.map((e) => e.value)).toEqual([0, 1, 2, 3, 4]);
    // The CLI subcommands take the same filters.
    const cli = runCli(['timeline', t, '--run', 'run-7', '--fn', 'step', '--json']);
    expect(cli.stderr).toBe('');
    const cliRows = (JSON.parse(cli.stdout) as { rows: { run?: string }[] }).rows;
    expect(cliRows.map((x) => x.run)).toEqual(Array(5).fill('run-7'));
    expect(runCli(['timeline', t, '--sample', '7', '--fn', 'work']).stdout).toMatch(/work\(7\) .*run run-7\n$/);
    const hist = JSON.parse(runCli(['history', t, '--fn', 'step', '--path', 'k', '--domain', 'batch', '--limit', '1000', '--json']).stdout) as unknown[];
    expect(hist.length).toBe(500);
    const tree = JSON.parse(runCli(['tree', t, '--run', 'run-9', '--json']).stdout) as { run: string }[];
    expect(tree.map((x) => x.run)).toEqual(['run-9']);
    // runs() reads the index; the streaming reader (native traceRuns, read
    // for `noderec ls --runs`) gives the same runs and event counts.
    const ixRuns = api.runs(t);
    expect(ixRuns.length).toBe(100);
    expect(ixRuns.map((x) => [x.runId, x.domain, x.sampleId, x.events, x.ended])).toEqual(
      streamedRuns(t).map((x) => [x.runId, x.domain, x.sampleId, x.events, x.ended]),
    );
  });

  it('an empty run is listed by the index with 0 calls; a nested run names its parent', () => {
    const env = { NODEREC_API: path.join(__dirname, '..', '..', 'js', 'dist', 'index.js') };
    const r = runNode(fixture('runs', 'nested.js'), { env });
    expect(r.code, r.stderr).toBe(0);
    const t = onlyTrace(r.outDir);
    const rs = api.runs(t);
    expect(rs.map((x) => x.runId)).toEqual(['outer', expect.any(String), 'empty']);
    expect(rs[1]).toMatchObject({ parentRunId: 'outer', domain: 'd' });
    expect(rs[2]).toMatchObject({ runId: 'empty', sampleId: '7', iteration: '3', ended: true });
    expect(rs.map((x) => x.events)).toEqual(streamedRuns(t).map((x) => x.events));
    expect(rs[2].events).toBe(2);
    // --run selects a run and the runs nested in it.
    const names = api.timeline(t, { run: 'outer', limit: 100 }).rows.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['outerWork', 'inner']));
    expect(api.timeline(t, { run: rs[1].runId, limit: 100 }).rows.map((x) => x.name)).not.toContain('outerWork');
  });

  it('a symlink where the index goes is refused with ERR_UNSAFE_INDEX, never followed', () => {
    const dir = tempDir('noderec-ix-link-');
    const r = runNode(fixture('viewer', 'price.js'), { args: ['a'], outDir: path.join(dir, 'out') });
    expect(r.code).toBe(0);
    const t = onlyTrace(r.outDir);
    expect(runCli(['info', t]).code).toBe(0);
    const elsewhere = path.join(dir, 'elsewhere');
    fs.renameSync(path.join(t, 'index'), elsewhere);
    fs.symlinkSync(elsewhere, path.join(t, 'index'));
    const info = runCli(['info', t]);
    expect(info.code).not.toBe(0);
    expect(info.stderr).toContain('ERR_UNSAFE_INDEX');
    expect(info.stderr).toContain(path.join(t, 'index'));
    expect(fs.lstatSync(path.join(t, 'index')).isSymbolicLink()).toBe(true);
  });

  it('user spans in the index: name, start, end, status, run; one per start/end pair; an unfinished one marked', () => {
    const env = { NODEREC_API: path.join(__dirname, '..', '..', 'js', 'dist', 'index.js') };
    const r = runNode(fixture('runs', 'otlp.js'), { env });
    expect(r.code, r.stderr).toBe(0);
    const t = onlyTrace(r.outDir);
    const sp = api.spans(t, {});
    expect(sp.map((s) => [s.name, s.status, s.ended, s.run])).toEqual([
      ['outside', 'ok', true, undefined],
      ['load', 'ok', true, 'job-1'],
      ['parse', 'ok', true, 'job-1'],
      ['fails', 'error', true, 'job-1'],
      ['left-open', 'unfinished', false, undefined],
    ]);
    // Times as the jsonl export gives them.
    const ends = events(t).filter((e) => e.kind === 'span' && (e.__noderec__ as { phase: string }).phase === 'end');
    for (const e of ends) {
      const n = e.__noderec__ as { start: number; t: number };
      const s = sp.find((x) => x.name === e.name)!;
      expect([s.startNs, s.endNs]).toEqual([n.start, n.t]);
    }
    expect(api.spans(t, { run: 'job-1' }).map((s) => s.name)).toEqual(['load', 'parse', 'fails']);
    const load = sp[1];
    expect(api.spans(t, { from: load.startNs, to: load.endNs }).map((s) => s.name)).toEqual(['load', 'parse']);
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
      // Wait until the program printed tick 5, then until the trace being
      // recorded shows five calls: the writer lags on a loaded machine (a
      // fixed 600 ms was not always enough), but must catch up while the
      // program still runs (10 more ticks, 2 s at least).
      await until(() => text.includes('tick 5\n'), 'tick 5', 15_000, 50);
      const dir = onlyTrace(out);
      let t = api.getTrace(dir);
      let ticks: ReturnType<typeof api.timeline>['rows'] = [];
      await until(
        () => {
          if (child.exitCode !== null) return true;
          t = api.getTrace(dir);
          ticks = api.timeline(dir, { fn: 'tick', values: true }).rows;
          return ticks.length >= 5;
        },
        'five tick calls in the trace while the program runs',
        30_000,
        50,
      );
      expect(child.exitCode).toBeNull();
      expect(t.status).toBe('recording');
      expect(t.complete).toBe(false);
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
