// Runs, spans and log events (issue 13): real node processes with the
// preload call the package's API; the trace is read back through
// `noderec export --format jsonl`.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import * as fs from 'node:fs';

import { cleanEnv, Event, events, fixture, NODE, NODE22, onlyTrace, ROOT, runCli, runNodeAsync, spawnAsync, Spawned, tempDir } from '../helpers/run';

const API = path.join(ROOT, 'js', 'dist', 'index.js');
const env = { NODEREC_API: API };

async function record(
  name: string,
  node: string = NODE,
): Promise<{ evs: Event[]; stdout: string; stderr: string; code: number | null; plain: Spawned }> {
  const script = fixture('runs', name);
  const r = await runNodeAsync(script, { env, node });
  const p = await spawnAsync(node, [script], { env: cleanEnv(env), cwd: path.dirname(script) });
  return { evs: events(onlyTrace(r.outDir)), stdout: r.stdout, stderr: r.stderr, code: r.code, plain: p };
}

const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;

describe('runs', () => {
  it.each([
    ['node 20', NODE],
    ['node 22', NODE22],
  ])('%s: 100 concurrent runs (awaits, timers, ticks, immediates) each get exactly their own calls', async (_, node) => {
    const { evs, stdout, code, plain } = await record('concurrent.js', node);
    expect(code).toBe(0);
    expect(stdout).toBe(plain.stdout);
    const starts = evs.filter((e) => e.kind === 'run' && nr(e).phase === 'start');
    expect(starts).toHaveLength(100);
    expect(new Set(starts.map((e) => e.runId)).size).toBe(100);
    expect(starts.every((e) => e.domain === 'batch' && typeof e.sampleId === 'number')).toBe(true);
    expect(evs.filter((e) => e.kind === 'run' && nr(e).phase === 'end')).toHaveLength(100);
    const calls = evs.filter((e) => e.kind === 'call' && (e.fn === 'step' || e.fn === 'work'));
    expect(calls).toHaveLength(100 * 6);
    for (const c of calls) {
      const i = Number(String(c.run).slice('run-'.length));
      expect(c.run, `${c.fn}(${JSON.stringify(c.args)})`).toMatch(/^run-\d+$/);
      expect((c.args as unknown[])[0]).toBe(i);
    }
    // Each run got all six of its calls.
    const per = new Map<string, number>();
    for (const c of calls) per.set(c.run as string, (per.get(c.run as string) ?? 0) + 1);
    expect([...per.values()].every((n) => n === 6)).toBe(true);
    // Calls outside every run carry none.
    const out = evs.find((e) => e.kind === 'call' && e.fn === 'outside')!;
    expect(out.run).toBeUndefined();
    expect(evs.find((e) => e.kind === 'call' && e.fn === 'main')!.run).toBeUndefined();
  }, 60_000);

  it('runs in a worker and in the main thread at once: each thread replays its own runs', async () => {
    const { evs, code, stdout, plain } = await record('worker.js');
    expect(code).toBe(0);
    expect(stdout).toBe(plain.stdout);
    const ticks = evs.filter((e) => e.kind === 'call' && e.fn === 'tick');
    expect(ticks).toHaveLength(20);
    for (const t of ticks) {
      const tag = (t.args as string[])[0];
      expect(t.run).toBe(tag);
      expect(t.thread === 0).toBe(tag.startsWith('main'));
    }
  }, 60_000);

  it('a nested run links its parent; an empty run is listed; ids default to UUID v7', async () => {
    const { evs, code, stdout, plain } = await record('nested.js');
    expect(code).toBe(0);
    expect(stdout).toBe(plain.stdout);
    const starts = evs.filter((e) => e.kind === 'run' && nr(e).phase === 'start');
    expect(starts.map((e) => e.runId)).toEqual(['outer', expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/), 'empty']);
    const child = starts[1];
    expect(child.parentRunId).toBe('outer');
    expect(starts[0].parentRunId).toBeUndefined();
    expect(evs.find((e) => e.kind === 'call' && e.fn === 'inner')!.run).toBe(child.runId);
    expect(evs.filter((e) => e.kind === 'call' && e.fn === 'outerWork').map((e) => e.run)).toEqual(['outer', 'outer']);
    const empty = starts[2];
    expect([empty.sampleId, empty.iteration]).toEqual([7, 3]);
    // Only the run's own (empty) function is in it: its call and return.
    expect(evs.filter((e) => e.run === 'empty' && e.kind !== 'run').map((e) => e.kind)).toEqual(['call', 'return']);
    expect(evs.some((e) => e.kind === 'run' && e.runId === 'empty' && nr(e).phase === 'end')).toBe(true);
  }, 60_000);

  it('a program that never calls run() has no mark events and its output is unchanged', async () => {
    const { evs, code, stdout, plain } = await record('none.js');
    expect(code).toBe(0);
    expect(stdout).toBe(plain.stdout);
    expect(evs.filter((e) => ['run', 'span', 'log', 'mark'].includes(e.kind))).toHaveLength(0);
    expect(evs.some((e) => e.run !== undefined)).toBe(false);
    expect(evs.filter((e) => e.kind === 'call' && e.fn === 'f')).toHaveLength(2);
  }, 60_000);
});

describe('the recorded program behaves as without the recorder', () => {
  it('a run whose promise rejects unhandled ends the process as it does plain (same stderr message, exit code)', async () => {
    const { evs, code, stdout, stderr, plain } = await record('reject.js');
    expect(code).toBe(plain.code);
    expect(code).not.toBe(0);
    expect(stdout).toBe(plain.stdout);
    expect(stderr).toContain('Error: lost');
    expect(stderr).toBe(plain.stderr);
    expect(evs.some((e) => e.kind === 'run' && e.runId === 'r' && (e.__noderec__ as any).phase === 'end')).toBe(true);
    // The function's value and exception are its own.
    expect(evs.find((e) => e.kind === 'call' && e.fn === 'sync')!.run).toBe('s');
  }, 60_000);
});

describe('spans and logs', () => {
  it('end on return, throw and rejection with a status; unfinished at trace end; user data apart from __noderec__', async () => {
    const { evs, code, stdout, plain } = await record('spans.js');
    expect(code).toBe(0);
    expect(stdout).toBe(plain.stdout);
    const spans = evs.filter((e) => e.kind === 'span');
    const ends = (name: string): Event | undefined => spans.find((e) => e.name === name && nr(e).phase === 'end');
    expect(nr(ends('sync-ok')!).status).toBe('ok');
    expect(ends('sync-ok')!.a).toBe(1);
    expect(nr(ends('sync-throw')!).status).toBe('error');
    expect(nr(ends('async-reject')!).status).toBe('error');
    // Every start is provisional and has its end.
    for (const n of ['sync-ok', 'sync-throw', 'async-reject', 'manual']) {
      const st = spans.filter((e) => e.name === n && nr(e).phase === 'start');
      expect(st, n).toHaveLength(1);
      expect(nr(st[0]).provisional).toBe(true);
      expect(nr(ends(n)!).id).toBe(nr(st[0]).id);
      expect(nr(ends(n)!).durationNs).toBeGreaterThanOrEqual(0);
    }
    // end() twice writes one end.
    expect(spans.filter((e) => e.name === 'manual' && nr(e).phase === 'end')).toHaveLength(1);
    const manual = ends('manual')!;
    expect(manual.rows).toBe(5);
    expect(manual.kind).toBe('span');
    expect(manual['attr:kind']).toBe('user-kind');
    expect(manual['attr:__noderec__']).toBe('user-value');
    expect(manual.nested).toEqual({ $: 'object', class: 'Object', props: { deep: [1, 2] } });
    expect(typeof nr(manual).t).toBe('number');
    const open = spans.filter((e) => e.name === 'left-open');
    expect(open.map((e) => nr(e).phase)).toEqual(['start', 'unfinished']);
    expect(open[1].why).toBe('never ended');
    const log = evs.find((e) => e.kind === 'log')!;
    expect(log.event).toBe('progress');
    expect(log.step).toBe(3);
    expect(log['attr:__noderec__']).toBe('mine');
    expect(log['attr:kind']).toBe('k');
    expect(nr(log).fn).toBe('main');
    // Marks do not disturb the activation stack: calls and returns pair up.
    const boom = evs.filter((e) => e.fn === 'boom').map((e) => e.kind);
    expect(boom).toEqual(['call', 'throw']);
  }, 60_000);
});

describe('marks in the other readers', () => {
  it('every other export format, calls and show read a trace with marks and leave them out', async () => {
    const script = fixture('runs', 'spans.js');
    const r = await runNodeAsync(script, { env });
    const dir = onlyTrace(r.outDir);
    const out = tempDir();
    for (const format of ['chrome', 'perfetto', 'speedscope', 'parquet', 'otlp']) {
      const file = path.join(out, `t.${format}`);
      const x = runCli(['export', dir, '--format', format, '-o', file]);
      expect(x.stderr, format).toBe('');
      expect(x.code, format).toBe(0);
      const body = fs.readFileSync(file);
      expect(body.length, format).toBeGreaterThan(0);
      expect(body.includes('"unknown"'), format).toBe(false);
    }
    const chrome = JSON.parse(fs.readFileSync(path.join(out, 't.chrome'), 'utf8'));
    expect(chrome.traceEvents.some((e: any) => String(e.name).startsWith('boom ('))).toBe(true);
    const calls = runCli(['calls', dir, '--json']);
    expect(calls.code).toBe(0);
    expect(calls.stdout).toContain('"boom"');
    const show = runCli(['show', dir]);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toContain('reader stopped');
  }, 60_000);
});

describe('uuidv7', () => {
  it('ids are RFC 9562 version 7, unique, and start with the time in ms', async () => {
    const { uuidv7 } = await import(API);
    const re = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = new Set<string>();
    const t0 = Date.now();
    for (let i = 0; i < 10_000; i++) {
      const u: string = uuidv7();
      expect(re.test(u), u).toBe(true);
      ids.add(u);
    }
    expect(ids.size).toBe(10_000);
    const ms = parseInt([...ids][0].replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(t0);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});

describe('filters by run', () => {
  const lines = (s: string): Event[] =>
    s
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Event);

  it('noderec export --run / --domain / --level keep the events of the selected runs (and of runs nested in them), in every format', async () => {
    const r = await runNodeAsync(fixture('runs', 'concurrent.js'), { env });
    expect(r.code).toBe(0);
    const dir = onlyTrace(r.outDir);
    const all = events(dir);

    const one = runCli(['export', dir, '--run', 'run-7']);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const evs = lines(one.stdout);
    expect(evs.length).toBeGreaterThan(0);
    expect(evs.every((e) => e.run === 'run-7' || (e.__noderec__ as Record<string, unknown>)?.run === 'run-7')).toBe(true);
    expect(evs.filter((e) => e.kind === 'call' && (e.fn === 'step' || e.fn === 'work'))).toHaveLength(6);
    expect(evs.filter((e) => e.kind === 'run').map((e) => (e.__noderec__ as Record<string, unknown>).phase)).toEqual(['start', 'end']);
    // Exactly the events of the unfiltered export that belong to run-7.
    expect(evs).toEqual(all.filter((e) => e.run === 'run-7' || (e.__noderec__ as Record<string, unknown> | undefined)?.run === 'run-7'));

    const batch = lines(runCli(['export', dir, '--domain', 'batch']).stdout);
    expect(batch.filter((e) => e.kind === 'run' && (e.__noderec__ as Record<string, unknown>).phase === 'start')).toHaveLength(100);
    expect(batch.some((e) => e.kind === 'call' && (e.fn === 'outside' || e.fn === 'main'))).toBe(false);
    expect(lines(runCli(['export', dir, '--domain', 'batch', '--level', '9']).stdout)).toHaveLength(0);

    // The other formats leave the other runs' events out too.
    const chromeAll = JSON.parse(runCli(['export', dir, '--format', 'chrome']).stdout) as { traceEvents: unknown[] };
    const chromeOne = JSON.parse(runCli(['export', dir, '--format', 'chrome', '--run', 'run-7']).stdout) as { traceEvents: { name?: string }[] };
    expect(chromeOne.traceEvents.length).toBeLessThan(chromeAll.traceEvents.length / 10);
    expect(chromeOne.traceEvents.some((e) => e.name?.startsWith('step ') === true)).toBe(true);

    // A run that is not in the trace: a clear error, with its code.
    const none = runCli(['export', dir, '--run', 'nope']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('ERR_RUN_MISSING');
    expect(none.stderr).toContain("'nope'");
  }, 60_000);

  it('noderec calls --run / --domain / --level and the query API calls() keep the calls of the selected runs', async () => {
    const r = await runNodeAsync(fixture('runs', 'concurrent.js'), { env });
    expect(r.code).toBe(0);
    const dir = onlyTrace(r.outDir);
    const c = runCli(['calls', dir, '--run', 'run-7', '--fn', 'step', '--limit', '0', '--json']);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const rows = lines(c.stdout);
    expect(rows).toHaveLength(5);
    expect(rows.every((x) => (x.args as number[])[0] === 7 && x.run === 'run-7')).toBe(true);
    const all = lines(runCli(['calls', dir, '--domain', 'batch', '--limit', '0', '--json']).stdout);
    expect(all.filter((x) => x.fn === 'step')).toHaveLength(500);
    expect(all.some((x) => x.fn === 'outside' || x.fn === 'main')).toBe(false);
    const text = runCli(['calls', dir, '--run', 'run-7', '--fn', 'work']);
    expect(text.stdout).toMatch(/work\(7\)/);
    const none = runCli(['calls', dir, '--level', '3']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("ERR_RUN_MISSING: no run of level '3'");

    // The package's query API, the same filters.
    const q = await spawnAsync(NODE, ['-e', `const n = require(${JSON.stringify(API)}); process.stdout.write(JSON.stringify(n.calls(${JSON.stringify(dir)}, { run: 'run-7', fn: 'st*' })))`], {
      env: cleanEnv({}),
    });
    expect(q.stderr).toBe('');
    const api = JSON.parse(q.stdout) as { fn: string; run: string; args: number[] }[];
    expect(api.map((x) => [x.fn, x.run, x.args[0]])).toEqual(Array(5).fill(['step', 'run-7', 7]));
  }, 60_000);

  it('noderec ls --runs lists each trace\'s runs (id, domain, events), an empty run too; the query API runs() the same', async () => {
    const r = await runNodeAsync(fixture('runs', 'nested.js'), { env });
    expect(r.code).toBe(0);
    const dir = onlyTrace(r.outDir);
    const ls = runCli(['ls', '--runs'], { env: { NODEREC_OUT_DIR: r.outDir } });
    expect(ls.stderr).toBe('');
    expect(ls.code).toBe(0);
    const rows = ls.stdout.split('\n').filter((l) => /^\s+run /.test(l));
    expect(rows).toHaveLength(3);
    // The counts are those of the jsonl export's events carrying the run (its run/span/log lines aside).
    const count = (id: string): number => events(dir).filter((e) => e.run === id && !['run', 'span', 'log'].includes(e.kind as string)).length;
    expect(count('outer')).toBeGreaterThan(0);
    expect(rows[0]).toMatch(new RegExp(`run outer\\s+domain d\\s+events ${count('outer')}$`));
    expect(rows[1]).toMatch(/parent outer/);
    // 'empty' runs only its () => {} (a call and a return).
    expect(rows[2]).toMatch(/run empty\s+sample 7\s+iteration 3\s+events 2$/);
    // Without --runs, ls reads only the metadata and lists no runs.
    expect(runCli(['ls'], { env: { NODEREC_OUT_DIR: r.outDir } }).stdout).not.toMatch(/run outer/);

    const q = await spawnAsync(NODE, ['-e', `const n = require(${JSON.stringify(API)}); process.stdout.write(JSON.stringify(n.runs(${JSON.stringify(dir)})))`], {
      env: cleanEnv({}),
    });
    expect(q.stderr).toBe('');
    const api = JSON.parse(q.stdout) as { runId: string; domain?: string; sampleId?: string; iteration?: string; events: number; ended: boolean }[];
    expect(api.map((x) => x.runId)).toEqual(['outer', expect.any(String), 'empty']);
    expect(api[2]).toMatchObject({ runId: 'empty', sampleId: '7', iteration: '3', events: 2, ended: true });
  }, 60_000);
});

describe('bridges', () => {
  it.each([
    ['node 20', NODE],
    ['node 22', NODE22],
  ])('%s: an http server with 50 concurrent loopback requests gives one span per request (method, url, status), with the handler\'s calls inside, without user code', async (_, node) => {
    const script = fixture('runs', 'http-server.js');
    const r = await runNodeAsync(script, { node });
    const plain = await spawnAsync(node, [script], { env: cleanEnv({}), cwd: path.dirname(script) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    const evs = events(onlyTrace(r.outDir));
    const spans = evs.filter((e) => e.kind === 'span' && e.name === 'http.server');
    const starts = spans.filter((e) => nr(e).phase === 'start');
    const ends = spans.filter((e) => nr(e).phase === 'end');
    expect(starts).toHaveLength(50);
    expect(ends).toHaveLength(50);
    expect(new Set(starts.map((e) => e.url)).size).toBe(50);
    expect(starts.every((e) => e.method === 'GET')).toBe(true);
    for (const e of ends) {
      const n = Number(String(e.url).slice(1));
      expect(e.statusCode, String(e.url)).toBe(n % 10 === 0 ? 404 : 200);
      // A 4xx is the client's error, not the server's.
      expect(nr(e).status).toBe('ok');
    }
    // Each handler call falls between its span's start and end, in the thread's order.
    const at = (pred: (e: Event) => boolean): number => evs.findIndex(pred);
    for (let n = 1; n <= 50; n++) {
      const url = `/${n}`;
      const s = at((e) => e.kind === 'span' && e.url === url && nr(e).phase === 'start');
      const end = at((e) => e.kind === 'span' && e.url === url && nr(e).phase === 'end');
      const h = at((e) => e.kind === 'call' && e.fn === 'handle' && (e.args as number[])[0] === n);
      const f = at((e) => e.kind === 'call' && e.fn === 'finish' && (e.args as unknown[])[1] === n);
      expect(s, url).toBeGreaterThanOrEqual(0);
      expect([s < h, h < f, f < end], url).toEqual([true, true, true]);
      expect(nr(evs[s]).id).toBe(nr(evs[end]).id);
    }
  }, 60_000);

  it('http.get and fetch requests become http.client spans (method, url, statusCode), node 20', async () => {
    const script = fixture('runs', 'http-client.js');
    const r = await runNodeAsync(script, {});
    const plain = await spawnAsync(NODE, [script], { env: cleanEnv({}), cwd: path.dirname(script) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    const evs = events(onlyTrace(r.outDir));
    const client = evs.filter((e) => e.kind === 'span' && e.name === 'http.client');
    const ends = client.filter((e) => nr(e).phase === 'end');
    expect(client.filter((e) => nr(e).phase === 'start')).toHaveLength(10);
    expect(ends).toHaveLength(10);
    const got = ends.map((e) => `${e.method} ${String(e.url).replace(/:\d+\//, ':P/')} ${e.statusCode}`).sort();
    const want = [1, 2, 3, 4, 5].flatMap((n) => ['get', 'fetch'].map((k) => `GET http://127.0.0.1:P/${k}/${n} ${n === 3 ? 500 : 200}`)).sort();
    expect(got).toEqual(want);
    expect(ends.filter((e) => nr(e).status === 'error').map((e) => String(e.url).replace(/^.*\//, ''))).toEqual(['3', '3']);
    // The server side too: 10 http.server spans.
    expect(evs.filter((e) => e.kind === 'span' && e.name === 'http.server' && nr(e).phase === 'end')).toHaveLength(10);
  }, 60_000);

  it.each([
    ['node 20', NODE],
    ['node 22', NODE22],
  ])('%s: operations a library publishes on a TracingChannel named in NODEREC_SPAN_CHANNELS become spans (sync, promise, callback; errors), with their calls inside; other channels do not', async (_, node) => {
    const script = fixture('runs', 'tracing-channel.js');
    const r = await runNodeAsync(script, { node, env: { NODEREC_SPAN_CHANNELS: 'mylib.query' } });
    const plain = await spawnAsync(node, [script], { env: cleanEnv({}), cwd: path.dirname(script) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain.stdout);
    const evs = events(onlyTrace(r.outDir));
    const spans = evs.filter((e) => e.kind === 'span');
    expect(spans.every((e) => e.name === 'mylib.query')).toBe(true);
    const starts = spans.filter((e) => nr(e).phase === 'start');
    const ends = spans.filter((e) => nr(e).phase === 'end');
    expect(starts.map((e) => `${e.mode} ${e.sql}`)).toEqual([
      'sync select 1', 'sync bad', 'promise select 22', 'promise bad', 'callback select 333', 'callback bad',
    ]);
    expect(ends).toHaveLength(6);
    const byId = new Map(starts.map((e) => [nr(e).id, e]));
    const got = ends.map((e) => `${byId.get(nr(e).id)!.mode} ${byId.get(nr(e).id)!.sql}: ${nr(e).status}${e.error ? ' ' + e.error : ''}`).sort();
    expect(got).toEqual([
      'callback bad: error refused',
      'callback select 333: ok',
      'promise bad: error timeout',
      'promise select 22: ok',
      'sync bad: error syntax error',
      'sync select 1: ok',
    ]);
    // Each operation's own call (runQuery / runQueryAsync / runQueryCallback) lies inside its span.
    const at = (pred: (e: Event) => boolean): number => evs.findIndex(pred);
    for (const s of starts) {
      const id = nr(s).id;
      const i = evs.indexOf(s);
      const j = at((e) => e.kind === 'span' && nr(e).phase === 'end' && nr(e).id === id);
      const fn = s.mode === 'sync' ? 'runQuery' : s.mode === 'promise' ? 'runQueryAsync' : 'runQueryCallback';
      const c = evs.findIndex((e, k) => k > i && e.kind === 'call' && e.fn === fn && (e.args as unknown[])[0] === s.sql);
      expect([i < c, c < j], `${s.mode} ${s.sql}`).toEqual([true, true]);
    }
  }, 60_000);

  it('NODEREC_SPAN_CHANNELS with a bad name is a clear error naming the setting', async () => {
    const script = fixture('runs', 'tracing-channel.js');
    const r = await runNodeAsync(script, { env: { NODEREC_SPAN_CHANNELS: 'mylib.query,,x y' } });
    expect(r.stderr).toMatch(/NODEREC_SPAN_CHANNELS/);
    expect(r.stderr).toMatch(/ERR_NODEREC_POLICY|ERR_/);
  }, 60_000);
});

