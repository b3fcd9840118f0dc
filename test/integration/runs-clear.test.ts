// A run's `clear` mode (issue 13, design-docs/runs.md *Clear*): what leaves
// a run when it ends. It decides whether work the run left behind (timers,
// promises, nested runs still going) still belongs to it, and whether the
// run's own events stay in the trace: 'current' and 'all' hold them back
// in the writer and drop them when the run ends (its marks stay, with the
// count cleared), so 10,000 sequential runs keep the recorder's memory flat
// and the trace small.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { assertBalanced, cleanEnv, Event, eventsAsync, fixture, metadata, NODE, onlyTrace, ROOT, runCliAsync, runNodeAsync, spawnAsync, tempDir } from '../helpers/run';

const API = path.join(ROOT, 'js', 'dist', 'index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const api = require('../../js/dist/index.js') as typeof import('../../js/index');
const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;

async function record(name: string, env: Record<string, string>, args: string[] = []): Promise<{ evs: Event[]; stdout: string; code: number | null; plainOut: string }> {
  const script = fixture('runs', name);
  const e = { NODEREC_API: API, ...env };
  const r = await runNodeAsync(script, { env: e, node: NODE });
  const plain = await spawnAsync(NODE, [...args, script], { env: cleanEnv(e), cwd: path.dirname(script) });
  expect(r.stderr).toBe('');
  return { evs: await eventsAsync(onlyTrace(r.outDir)), stdout: r.stdout, code: r.code, plainOut: plain.stdout };
}

describe('run clear modes', () => {
  it.each([
    // mode, run of the outer run's timer, of the inner run's code after the outer ended
    ['none', 'outer', 'inner'],
    ['current', undefined, 'inner'],
    ['all', undefined, undefined],
  ])("clear '%s': work left behind by the run belongs to %s; a nested run still going: %s", async (mode, timerRun, innerRun) => {
    const { evs, stdout, code, plainOut } = await record('clear.js', { CLEAR: mode });
    expect(code).toBe(0);
    expect(stdout).toBe(plainOut);
    expect(stdout).toContain("ERR_NODEREC_RUN_ARGS noderec.run(opts, fn): opts.clear must be 'none', 'current' or 'all', got 'later'");
    const call = (tag: string): Event => evs.find((e) => e.kind === 'call' && (e.args as string[] | undefined)?.[0] === tag)!;
    // The run's own events leave the trace with 'current' and 'all'; with
    // 'all' those of the run nested in it (until the outer one ended) too.
    expect(call('outer')?.run).toBe(mode === 'none' ? 'outer' : undefined);
    expect(call('inner')?.run).toBe(mode === 'all' ? undefined : 'inner');
    expect(call('outer-timer').run).toBe(timerRun);
    expect(call('inner-after').run).toBe(innerRun);
    expect(call('deep-after').run).toBeUndefined();
    // Both runs still have their start and end in the trace.
    expect(evs.filter((e) => e.kind === 'run').map((e) => `${e.runId}:${nr(e).phase}`)).toEqual([
      'outer:start', 'inner:start', 'outer:end', 'inner:end',
      'top:start', 'mid:start', 'deep:start', 'mid:end', 'top:end', 'deep:end',
    ]);
    const start = evs.find((e) => e.kind === 'run' && e.runId === 'outer')!;
    expect(start.clear).toBe(mode === 'none' ? undefined : mode);
  }, 60_000);

  it.each(['none', 'current', 'all'])("clear '%s': 10,000 sequential runs keep the heap flat (measured in the program after a GC)", async (mode) => {
    const script = fixture('runs', 'many.js');
    const r = await runNodeAsync(script, { env: { NODEREC_API: API, CLEAR: mode }, node: NODE });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as { at1k: { heap: number; rss: number }; end: { heap: number; rss: number } };
    // Measured: +0.3 MB from run 1,000 to 10,000 in every mode. A recorder
    // keeping ~1 KB per run would add 9 MB.
    expect(m.end.heap - m.at1k.heap).toBeLessThan(4 << 20);
    const evs = await eventsAsync(onlyTrace(r.outDir));
    const starts = evs.filter((e) => e.kind === 'run' && nr(e).phase === 'start');
    expect(starts).toHaveLength(10_000);
    // The leftover timer of run i: in the run when nothing is cleared, outside it otherwise.
    const runOf = new Map(starts.map((e) => [e.runId as string, e.sampleId as number]));
    const leftovers = evs.filter((e) => e.kind === 'call' && e.fn === 'handle' && ((e.args as any[])[0].props.id as number) < 0);
    expect(leftovers).toHaveLength(9_999);
    for (const e of leftovers.slice(0, 50)) {
      const id = -(e.args as any[])[0].props.id as number;
      if (mode === 'none') expect(runOf.get(e.run as string)).toBe(id);
      else expect(e.run).toBeUndefined();
    }
  }, 120_000);
});

/** A program in a fresh project directory (its own package.json). */
function program(src: string): string {
  const dir = tempDir('noderec-clear-');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"clear-app","private":true}\n');
  const file = path.join(dir, 'app.js');
  fs.writeFileSync(file, `const noderec = require(process.env.NODEREC_API);\n${src}`);
  return file;
}

/** Records `file` and runs it plain: same output and exit code; the trace's events and directory. */
async function recordProgram(file: string, env: Record<string, string> = {}): Promise<{ evs: Event[]; dir: string; stdout: string; stderr: string; code: number | null }> {
  const e = { NODEREC_API: API, ...env };
  const r = await runNodeAsync(file, { env: e, node: NODE });
  const plain = await spawnAsync(NODE, [file], { env: cleanEnv(e), cwd: path.dirname(file) });
  expect(r.stdout).toBe(plain.stdout);
  expect(r.code).toBe(plain.code);
  const dir = onlyTrace(r.outDir);
  return { evs: await eventsAsync(dir), dir, stdout: r.stdout, stderr: r.stderr, code: r.code };
}

const callArgs = (evs: Event[], fn: string): unknown[] => evs.filter((e) => e.kind === 'call' && e.fn === fn).map((e) => (e.args as unknown[])[0]);

describe("clear: a run's events leave the trace", () => {
  it('an async function called in a cleared run and resumed after it: its resume and return read back on its activation, at the right depth', async () => {
    const file = program(`
function work(x) { return x * 2; }
async function slow(x) {
  await new Promise((r) => setTimeout(r, 20));
  return work(x) + 1;
}
async function main() {
  let p;
  await noderec.run({ runId: 'leave', clear: 'current' }, async () => {
    work(1);
    p = slow(7);
  });
  console.log(await p);
}
main();
`);
    const { evs } = await recordProgram(file);
    // The calls of the run are gone; slow's resume after the run is kept.
    expect(callArgs(evs, 'work')).toEqual([7]);
    expect(callArgs(evs, 'slow')).toEqual([]);
    assertBalanced(evs);
    const resume = evs.find((e) => e.kind === 'resume' && e.activation !== evs.find((x) => x.fn === 'main')!.activation)!;
    const inner = evs.find((e) => e.kind === 'call' && e.fn === 'work')!;
    expect(inner.depth).toBe(resume.depth + 1);
    const ret = evs.filter((e) => e.kind === 'return' && e.activation === resume.activation);
    expect(ret).toHaveLength(1);
    expect(ret[0].value).toBe(15);
  }, 60_000);

  it("10,000 sequential request runs: clear 'current' leaves a small fraction of the trace 'none' writes (run marks and counts only), in one process each", async () => {
    const src = `
function parse(req) { return { id: req.id, path: '/item/' + req.id, q: { a: req.id % 7, b: 'x'.repeat(req.id % 13) } }; }
function norm(s) { return s.toLowerCase(); }
function load(id) { return { id, name: 'item ' + id, tags: ['A', 'B', String(id)].map(norm) }; }
function render(item) { return JSON.stringify(item); }
async function handle(req) { const r = parse(req); await null; return render(load(r.id)); }
async function main() {
  let n = 0;
  for (let i = 0; i < 10000; i++) n += (await noderec.run({ runId: 'req-' + i, clear: process.env.CLEAR }, () => handle({ id: i }))).length;
  console.log(n);
}
main();
`;
    const file = program(src);
    const [none, cur] = await Promise.all(['none', 'current'].map(async (mode) => {
      const r = await runNodeAsync(file, { env: { NODEREC_API: API, CLEAR: mode }, node: NODE });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const dir = onlyTrace(r.outDir);
      return { stdout: r.stdout, bytes: metadata(dir).trace_bytes as number, events: metadata(dir).events as number, dir };
    }));
    expect(cur.stdout).toBe(none.stdout);
    // What stays of a cleared run: its start and end marks, the switches
    // into and out of it, a cleared mark per batch, and main's await and
    // resume around it (9 events). Measured: 25 events and 93 B per run with
    // 'none', 9 events and 31 B with 'current' (compressed trace bytes).
    expect(cur.bytes).toBeLessThan(none.bytes / 2);
    expect(cur.events).toBeLessThan(none.events / 2);
    const rows = api.runs(cur.dir);
    expect(rows).toHaveLength(10_000);
    expect(rows.every((r) => r.ended && r.events === 0 && r.cleared === 18 && r.kept === undefined)).toBe(true);
    const noneRows = api.runs(none.dir);
    expect(noneRows[0].events).toBe(18);
    expect(noneRows[0].cleared).toBe(0);
  }, 120_000);

  it.each([
    ['current', ['inner-keep', 'inner-keep-2', 'after']],
    ['all', ['after']],
  ])("clear '%s' on the outer run: a nested run that does not clear keeps its events under 'current' only; a nested clearing run is cleared", async (mode, kept) => {
    const file = program(`
function tag(x) { return x; }
async function main() {
  await noderec.run({ runId: 'outer', clear: process.env.MODE }, async () => {
    tag('outer-1');
    await noderec.run({ runId: 'inner-keep' }, async () => { tag('inner-keep'); await null; tag('inner-keep-2'); });
    await noderec.run({ runId: 'inner-clear', clear: 'current' }, async () => { tag('inner-clear'); });
    tag('outer-2');
  });
  tag('after');
}
main();
`);
    const { evs, dir } = await recordProgram(file, { MODE: mode });
    assertBalanced(evs);
    expect(callArgs(evs, 'tag')).toEqual(kept);
    for (const e of evs.filter((x) => x.kind === 'call' && x.fn === 'tag')) {
      expect(e.run).toBe((e.args as string[])[0] === 'after' ? undefined : 'inner-keep');
    }
    // Every run keeps its start and end marks.
    expect(evs.filter((e) => e.kind === 'run').map((e) => `${e.runId}:${nr(e).phase}`)).toEqual([
      'outer:start', 'inner-keep:start', 'inner-keep:end', 'inner-clear:start', 'inner-clear:end', 'outer:end',
    ]);
    const rows = Object.fromEntries(api.runs(dir).map((r) => [r.runId, r]));
    expect(rows['inner-clear'].cleared).toBeGreaterThan(0);
    expect(rows['outer'].cleared).toBeGreaterThan(0);
    expect(rows['inner-keep'].cleared).toBe(mode === 'all' ? rows['inner-keep'].cleared : 0);
    if (mode === 'all') expect(rows['inner-keep'].cleared).toBeGreaterThan(0);
    else expect(rows['inner-keep'].events).toBeGreaterThan(0);
  }, 60_000);

  it('concurrent clearing runs (awaits and timers interleaved) with a run that does not clear: exactly the kept runs\' calls remain, each with its run; a failing run is kept, unless keepFailed is false', async () => {
    const file = program(`
function tag(x) { return x; }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function req(i) {
  const clear = i === 7 ? undefined : 'current';
  return noderec.run({ runId: 'r' + i, clear, keepFailed: i !== 21 }, async () => {
    tag('r' + i + ':a');
    await sleep(i % 4);
    tag('r' + i + ':b');
    await null;
    if (i === 13 || i === 21) throw new Error('boom ' + i);
    await new Promise((r) => setImmediate(r));
    tag('r' + i + ':c');
  });
}
Promise.allSettled(Array.from({ length: 30 }, (_, i) => req(i))).then((rs) => {
  console.log(rs.map((r) => r.status[0]).join(''));
});
`);
    const { evs, dir, stdout } = await recordProgram(file);
    expect(stdout).toContain('r');
    assertBalanced(evs);
    const tags = evs.filter((e) => e.kind === 'call' && e.fn === 'tag');
    expect(tags.map((e) => (e.args as string[])[0]).sort()).toEqual(['r13:a', 'r13:b', 'r7:a', 'r7:b', 'r7:c']);
    for (const e of tags) expect(e.run).toBe((e.args as string[])[0].split(':')[0]);
    const rows = Object.fromEntries(api.runs(dir).map((r) => [r.runId, r]));
    expect(Object.keys(rows)).toHaveLength(30);
    expect(rows.r7).toMatchObject({ cleared: 0 });
    expect(rows.r7.kept).toBeUndefined();
    expect(rows.r13).toMatchObject({ cleared: 0, kept: 'failed' });
    expect(rows.r21.cleared).toBeGreaterThan(0);
    expect(rows.r21.kept).toBeUndefined();
    for (const i of [0, 1, 2, 3, 29]) expect(rows[`r${i}`]).toMatchObject({ events: 0, ended: true });
    for (const i of [0, 1, 2, 3, 29]) expect(rows[`r${i}`].cleared).toBeGreaterThan(0);
  }, 60_000);

  it('past NODEREC_CLEAR_HOLD_MB the oldest held run is written in full and says so (kept: hold-cap); a later run still clears', async () => {
    const file = program(`
function step(s) { return s.length; }
async function main() {
  await noderec.run({ runId: 'big', clear: 'current' }, async () => {
    let n = 0;
    for (let i = 0; i < 100000; i++) n += step('a string argument of some length, number ' + i);
    await null;
    step('big-end');
  });
  await noderec.run({ runId: 'small', clear: 'current' }, async () => { step('small'); });
}
main();
`);
    const { evs, dir } = await recordProgram(file, { NODEREC_CLEAR_HOLD_MB: '1' });
    assertBalanced(evs);
    const steps = evs.filter((e) => e.kind === 'call' && e.fn === 'step');
    expect(steps).toHaveLength(100_001);
    expect(steps.every((e) => e.run === 'big')).toBe(true);
    const rows = Object.fromEntries(api.runs(dir).map((r) => [r.runId, r]));
    expect(rows.big).toMatchObject({ kept: 'hold-cap', cleared: 0 });
    expect(rows.small.cleared).toBeGreaterThan(0);
    const end = evs.find((e) => e.kind === 'run' && e.runId === 'big' && nr(e).phase === 'end')!;
    expect(nr(end).kept).toBe('hold-cap');
  }, 60_000);

  it.each([
    ['process.exit', 'tag("in-run"); process.exit(3);', 3],
    ['a fatal error', 'tag("in-run"); setTimeout(() => { throw new Error("fatal in run"); }, 0); await new Promise((r) => setTimeout(r, 200));', 1],
    ['SIGTERM', 'tag("in-run"); process.kill(process.pid, "SIGTERM"); await new Promise((r) => setTimeout(r, 2000));', null],
  ])('a process that ends by %s inside a clearing run keeps the run\'s events (kept: unended)', async (_how, body, code) => {
    const file = program(`
function tag(x) { return x; }
noderec.run({ runId: 'dying', clear: 'current' }, async () => { ${body} });
`);
    const { evs, dir, code: got, stderr } = await recordProgram(file);
    expect(got).toBe(code);
    if (code === 1) expect(stderr).toContain('fatal in run');
    expect(callArgs(evs, 'tag')).toEqual(['in-run']);
    expect(evs.find((e) => e.kind === 'call' && e.fn === 'tag')!.run).toBe('dying');
    const rows = api.runs(dir);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ runId: 'dying', ended: false, cleared: 0, kept: 'unended' });
  }, 60_000);

  it('ls --runs, runs(), the jsonl run lines and export --run show a cleared run with its metadata and count', async () => {
    const file = program(`
function tag(x) { return x; }
async function main() {
  await noderec.run({ runId: 'gone', domain: 'http', sampleId: 4, clear: 'current' }, async () => { tag(1); await null; tag(2); });
  await noderec.run({ runId: 'kept', domain: 'http' }, async () => { tag(3); });
}
main();
`);
    const { evs, dir } = await recordProgram(file);
    expect(callArgs(evs, 'tag')).toEqual([3]);
    // gone: call/return of the run's function and of tag twice, its await and resume
    const start = evs.find((e) => e.kind === 'run' && e.runId === 'gone' && nr(e).phase === 'start')!;
    expect(start).toMatchObject({ domain: 'http', sampleId: 4, clear: 'current' });
    const end = evs.find((e) => e.kind === 'run' && e.runId === 'gone' && nr(e).phase === 'end')!;
    expect(nr(end).cleared).toBe(8);
    const rows = api.runs(dir);
    expect(rows.map((r) => [r.runId, r.domain, r.sampleId, r.events, r.cleared])).toEqual([
      ['gone', 'http', '4', 0, 8],
      ['kept', 'http', undefined, 4, 0],
    ]);
    const ls = await runCliAsync(['ls', path.dirname(dir), '--runs']);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/run gone {2}domain http {2}sample 4 {2}events 0 {2}cleared 8\n/);
    expect(ls.stdout).toMatch(/run kept {2}domain http {2}events 4\n/);
    const ex = await runCliAsync(['export', dir, '--format', 'jsonl', '--run', 'gone']);
    expect(ex.code).toBe(0);
    const lines = ex.stdout.trim().split('\n').map((l) => JSON.parse(l) as Event);
    expect(lines.map((e) => `${e.kind}:${nr(e).phase}`)).toEqual(['run:start', 'run:end']);
    expect(nr(lines[1]).cleared).toBe(8);
    // The index (timeline / calls of the query API) has none of its calls either.
    expect(api.calls(dir, { limit: 0 }).map((c) => c.fn).sort()).toEqual(['<anonymous>', '<module>', 'main', 'tag']);
  }, 60_000);

  it('a worker and the main thread clearing runs at the same time: each thread keeps only its failed run', async () => {
    const file = program(`
const { Worker, isMainThread } = require('node:worker_threads');
function tag(x) { return x; }
async function loop(who) {
  for (let i = 0; i < 200; i++) {
    await noderec.run({ runId: who + i, clear: 'current' }, async () => {
      tag(who + i);
      await null;
      if (i === 5) throw new Error('x');
    }).catch(() => {});
  }
  tag(who + '-done');
}
if (isMainThread) { new Worker(__filename); loop('m'); } else loop('w');
`);
    const { evs, dir } = await recordProgram(file);
    assertBalanced(evs);
    const tags = evs.filter((e) => e.kind === 'call' && e.fn === 'tag').map((e) => `${e.thread === 0 ? 'main' : 'worker'}:${(e.args as string[])[0]}:${e.run}`);
    expect(tags.sort()).toEqual(['main:m-done:undefined', 'main:m5:m5', 'worker:w-done:undefined', 'worker:w5:w5']);
    const rows = api.runs(dir);
    expect(rows).toHaveLength(400);
    expect(rows.filter((r) => r.kept === 'failed').map((r) => r.runId).sort()).toEqual(['m5', 'w5']);
    expect(rows.filter((r) => r.cleared > 0)).toHaveLength(398);
  }, 60_000);

  it('keepFailed that is not a boolean is ERR_NODEREC_RUN_ARGS naming the option and what it got, with or without the recorder', async () => {
    const file = program(`
try {
  noderec.run({ clear: 'current', keepFailed: 'yes' }, () => 1);
} catch (e) {
  console.log(e.code, e.message);
}
`);
    const { stdout } = await recordProgram(file);
    expect(stdout).toBe("ERR_NODEREC_RUN_ARGS noderec.run(opts, fn): opts.keepFailed must be a boolean, got string\n");
  }, 60_000);
});
