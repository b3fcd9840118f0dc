// The tracer lifecycle through real node processes: failure injection at
// every point under abort and disable, the API, the activation path, the
// finalization order, child processes under `noderec record`, metrics.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { assertBalanced, Event, eventsAsync, fixture, metadata, onlyTrace, ROOT, runCliAsync, runNodeAsync, tempDir, traceDirs, NODE } from '../helpers/run';

const INDEX = path.join(ROOT, 'js', 'dist', 'index.js');
const FAIL = fixture('lifecycle-fail', 'main.js');

interface LogLine {
  ts: string;
  level: string;
  target: string;
  run_id: string;
  trace_id: string;
  code?: string;
  message: string;
  fields: Record<string, unknown>;
}

function isLogLine(l: string): boolean {
  if (!l.startsWith('{')) return false;
  try {
    const o = JSON.parse(l) as Record<string, unknown>;
    return typeof o.target === 'string' && typeof o.level === 'string';
  } catch {
    return false;
  }
}

/** Splits stderr into the recorder's log records and the program's text. */
function splitStderr(stderr: string): { logs: LogLine[]; program: string } {
  const logs: LogLine[] = [];
  let program = '';
  const parts = stderr.split('\n');
  parts.forEach((l, i) => {
    if (isLogLine(l)) logs.push(JSON.parse(l) as LogLine);
    else program += l + (i < parts.length - 1 ? '\n' : '');
  });
  return { logs, program };
}

const POINTS: { at: string; code: string; kind: string; when: 'load' | 'tick' | 'end' }[] = [
  { at: 'instrument', code: 'ERR_INSTRUMENT', kind: 'instrument', when: 'load' },
  { at: 'write', code: 'ERR_IO', kind: 'write', when: 'tick' },
  { at: 'flush', code: 'ERR_IO', kind: 'flush', when: 'end' },
  { at: 'finish', code: 'ERR_IO', kind: 'finish', when: 'end' },
  { at: 'panic', code: 'ERR_INTERNAL', kind: 'panic', when: 'tick' },
];

describe('failure injection', () => {
  let baseline = { code: null as number | null, stdout: '', stderr: '' };
  beforeAll(async () => {
    baseline = await runNodeAsync(FAIL, { preload: 'none' });
  });

  it('is ignored without the test guard', async () => {
    const r = await runNodeAsync(FAIL, { env: { NODEREC_TEST_FAIL_AT: 'write' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(baseline.stderr);
    expect(metadata(onlyTrace(r.outDir)).status).toBe('complete');
  });

  for (const p of POINTS) {
    it(`${p.at} under abort: the error surfaces with its code, the process exits non-zero, the partial trace is removed`, async () => {
      const r = await runNodeAsync(FAIL, { env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: p.at, NODEREC_JSON_ERRORS: '1' } });
      expect(r.code).toBe(1);
      const { logs } = splitStderr(r.stderr);
      const err = logs.find((l) => l.level === 'error' && l.target === 'noderec::recorder');
      expect(err?.code).toBe(p.code);
      expect(err?.fields.point).toBe(p.kind);
      if (p.at === 'panic') expect(logs.some((l) => l.target === 'noderec::panic' && l.code === 'ERR_INTERNAL')).toBe(true);
      // What the program printed before the failure is untouched.
      if (p.when === 'load') expect(r.stdout).toBe('');
      if (p.when === 'tick') expect(r.stdout).toBe('before 9900\n');
      if (p.when === 'end') expect(r.stdout).toBe(baseline.stdout);
      // Exactly one trailer, and it is the last line.
      const lines = r.stderr.trimEnd().split('\n');
      const trailers = lines.filter((l) => l.includes('"error_code"'));
      expect(trailers).toHaveLength(1);
      const t = JSON.parse(lines[lines.length - 1]);
      expect(Object.keys(t)).toEqual(['run_id', 'trace_id', 'error_code', 'error_kind', 'message', 'context']);
      expect(t).toMatchObject({ error_code: p.code, error_kind: p.kind, context: { pid: expect.any(Number), trace_removed: true, on_recorder_error: 'abort' } });
      expect(t.run_id).toBe(err?.run_id);
      expect(t.trace_id).toMatch(/^main\.js-\d{8}T\d{6}-\d+/);
      expect(traceDirs(r.outDir)).toEqual([]);
    });

    it(`${p.at} under disable: logged, recording stops, the program runs exactly as without the recorder`, async () => {
      const r = await runNodeAsync(FAIL, { env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: p.at, NODEREC_ON_RECORDER_ERROR: 'disable', NODEREC_JSON_ERRORS: '1' } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(baseline.stdout);
      const { logs, program } = splitStderr(r.stderr);
      // The program's stderr, including a line written in two parts, is whole.
      expect(program).toBe(baseline.stderr);
      expect(logs.find((l) => l.level === 'error')?.code).toBe(p.code);
      expect(logs.some((l) => l.level === 'warn' && /disabled/.test(l.message))).toBe(true);
      // Not a failing run: no trailer.
      expect(r.stderr).not.toContain('"error_code"');
      expect(traceDirs(r.outDir)).toEqual([]);
    });

    it(`${p.at} under disable with keep_partial_trace: the trace is kept as partial, with the error`, async () => {
      const r = await runNodeAsync(FAIL, {
        env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: p.at, NODEREC_ON_RECORDER_ERROR: 'disable', NODEREC_KEEP_PARTIAL_TRACE: '1' },
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(baseline.stdout);
      const m = metadata(onlyTrace(r.outDir));
      expect(m.status).toBe('partial');
      expect(m.error.code).toBe(p.code);
      expect(m.error.point).toBe(p.kind);
      // What was written reads back.
      await eventsAsync(onlyTrace(r.outDir));
    });
  }

  it('abort keeps a non-zero exit code of the program, and keep_partial_trace keeps the trace', async () => {
    const r = await runNodeAsync(FAIL, { args: ['exit3'], env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: 'finish', NODEREC_KEEP_PARTIAL_TRACE: 'yes' } });
    expect(r.code).toBe(3);
    const m = metadata(onlyTrace(r.outDir));
    expect(m.status).toBe('partial');
    expect(m.exit_code).toBe(3);
    expect(m.error.code).toBe('ERR_IO');
  });

  it('metrics count the failure and the detach', async () => {
    const script = path.join(tempDir(), 'm.js');
    fs.writeFileSync(script, `const n = require(${JSON.stringify(INDEX)}); function f(){return 1}; f(); n.flush(); setTimeout(() => { const m = n.metricsSnapshot(); process.stdout.write(JSON.stringify(m)); }, 10);`);
    const r = await runNodeAsync(script, { env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: 'flush', NODEREC_ON_RECORDER_ERROR: 'disable' } });
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout);
    expect(m.failures).toBe(1);
    expect(m.detaches).toEqual([{ reason: 'recorder_error', code: 'ERR_IO', point: 'flush' }]);
  });
});

describe('lifecycle API', () => {
  it('start/stop/flush/isRecording/record (sync and async), a second start, a restart into a new trace', async () => {
    const outDir = tempDir();
    const r = await runNodeAsync(fixture('lifecycle-api', 'main.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps).toEqual([
      ['recording before start', false],
      ['recording after start', true],
      ['second start', 'ERR_ALREADY_RECORDING'],
      ['recording after stop', false],
    ]);
    expect(out.syncResult).toBe(25);
    expect(out.asyncResult).toBe(8);
    expect(out.thrown).toBe('from fn');
    expect(out.bad.code).toBe('ERR_INVALID_POLICY_VALUE');
    expect(out.bad.message).toContain('maxEvents (NODEREC_MAX_EVENTS)');
    expect(out.recording).toBe(false);
    expect(out.s1).toMatchObject({ status: 'complete', dir: out.dir1 });
    const byProgram = new Map(traceDirs(outDir).map((d) => [metadata(d).program, d]));
    expect([...byProgram.keys()].sort()).toEqual(['api-async', 'api-first', 'api-second', 'api-sync', 'api-throws']);
    const calls = async (p: string): Promise<string[]> =>
      (await eventsAsync(byProgram.get(p)!))
        .filter((e) => e.kind === 'call')
        .map((e) => `${e.fn}(${JSON.stringify(e.args)})`);
    expect(await calls('api-first')).toEqual(['<module>(undefined)', 'square([3])']);
    // Functions loaded by the first session keep their names in the second.
    expect(await calls('api-second')).toEqual(['square([4])']);
    expect(await calls('api-sync')).toEqual(['square([5])']);
    expect(await calls('api-async')).toEqual(['cube([2])', 'square([2])']);
    expect(await calls('api-throws')).toEqual([]);
    for (const d of byProgram.values()) expect(metadata(d).status).toBe('complete');
  });

  // A worker keeps running through an API stop() and start(): its events of
  // session 1 are never written into trace 2, its events after the restart
  // are, with trace 2's times, and no hand-over racing the stop is a
  // recorder failure (it was: ERR_INTERNAL, and trace 2 was removed).
  for (const gap of ['0', '5']) {
    it(`a running worker across stop() and start() (gap ${gap} ms): trace 2 is kept, holds only its events, with its times`, async () => {
      const outDir = tempDir();
      const r = await runNodeAsync(fixture('lifecycle-api', 'worker-restart.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX, NODEREC_OUT_DIR: outDir, GAP_MS: gap } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { dir1, dir2 } = JSON.parse(r.stdout) as { dir1: string; dir2: string };
      for (const d of [dir1, dir2]) {
        expect(fs.existsSync(d)).toBe(true);
        expect(metadata(d).status).toBe('complete');
      }
      const steps = async (d: string): Promise<Event[]> => (await eventsAsync(d)).filter((e) => e.kind === 'call' && e.fn === 'step');
      const one = await steps(dir1);
      const two = await steps(dir2);
      // The worker recorded in both (it runs 200 ms in each).
      expect(one.length).toBeGreaterThan(0);
      expect(two.length).toBeGreaterThan(0);
      // Phases (the fixture's flag): 1 before stop(), 0 in it, 3 between
      // stop() and start(), 4 in start(), 2 after it.
      const phases = (evs: Event[]): number[] => [...new Set(evs.map((e) => (e.args as number[])[1]))].sort();
      expect(phases(one)).toContain(1);
      for (const p of phases(one)) expect([0, 1]).toContain(p);
      expect(phases(two)).toContain(2);
      for (const p of phases(two)) expect([2, 4]).toContain(p);
      // Times of trace 2 count from its start (ns): the wall time of each
      // call less the trace's start, within 100 ms (the first session
      // started 200 ms earlier). Within the trace's duration.
      const meta2 = metadata(dir2);
      const durNs = Number(meta2.duration_ms) * 1e6;
      const off = two.filter((e) => e.t < 0 || e.t > durNs || Math.abs(e.t / 1e6 - ((e.args as number[])[2] - Number(meta2.start_ms))) >= 100);
      expect(off.slice(0, 3)).toEqual([]);
    });
  }

  // Decision 39: the batches dropped because their session ended are
  // counted in metadata (events_dropped_after_stop: they reached their
  // session while it finished; events_dropped_before_join: they reached no
  // session that could still count them, counted by the next one to
  // finish). The worker counts its step() calls: those in the two traces
  // and those dropped account for all of them (each call is two events,
  // call and return, and busy(), loop() and the message handlers add a
  // few per 20 ms).
  async function droppedAccountFor(env: Record<string, string>): Promise<{ dropped: number; missing: number }> {
    const outDir = tempDir();
    const r = await runNodeAsync(fixture('lifecycle-api', 'worker-restart.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX, NODEREC_OUT_DIR: outDir, ...env } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { dir1, dir2, steps } = JSON.parse(r.stdout) as { dir1: string; dir2: string; steps: number };
    expect(steps).toBeGreaterThan(0);
    let recorded = 0;
    let dropped = 0;
    for (const d of [dir1, dir2]) {
      const m = metadata(d);
      expect(m.status).toBe('complete');
      recorded += (await eventsAsync(d)).filter((e) => e.kind === 'call' && e.fn === 'step').length;
      dropped += Number(m.events_dropped_after_stop ?? 0) + Number(m.events_dropped_before_join ?? 0);
    }
    const missing = steps - recorded;
    expect(missing).toBeGreaterThanOrEqual(0);
    expect(dropped).toBeGreaterThanOrEqual(2 * missing);
    expect(dropped).toBeLessThanOrEqual(2 * missing + 400);
    return { dropped, missing };
  }

  it('the events a worker recorded across stop() and start() that were dropped are counted in metadata', async () => {
    // The batch handed over at the second pong was the first session's: dropped, and counted.
    const { dropped, missing } = await droppedAccountFor({ GAP_MS: '5' });
    expect(missing).toBeGreaterThan(0);
    expect(dropped).toBeGreaterThan(0);
  });

  // Decision 39: a worker component's run (design-docs/runs.md,
  // *Components*) is the thread's base run: nothing the thread records is
  // outside it. Across an API stop() and start() the worker's events in the
  // new trace are in its run too: the run begins again there.
  const nrOf = (e: Event): { phase?: string; thread?: number } => (e.__noderec__ ?? {}) as { phase?: string; thread?: number };
  /** worker-restart.js run with `env`: each of its two traces, with its events and its step() calls (some). */
  async function workerRestartTraces(env: Record<string, string>): Promise<{ d: string; evs: Event[]; steps: Event[] }[]> {
    const outDir = tempDir();
    const r = await runNodeAsync(fixture('lifecycle-api', 'worker-restart.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX, NODEREC_OUT_DIR: outDir, ...env } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { dir1, dir2 } = JSON.parse(r.stdout) as { dir1: string; dir2: string };
    const out: { d: string; evs: Event[]; steps: Event[] }[] = [];
    for (const d of [dir1, dir2]) {
      const evs = await eventsAsync(d);
      const steps = evs.filter((e) => e.kind === 'call' && e.fn === 'step');
      expect(steps.length, d).toBeGreaterThan(0);
      out.push({ d, evs, steps });
    }
    return out;
  }
  it('a worker component across stop() and start(): its run begins again in the new trace and holds its events there', async () => {
    for (const { d, evs, steps } of await workerRestartTraces({ GAP_MS: '5', COMPONENT: '1' })) {
      expect([...new Set(steps.map((e) => e.run))], d).toEqual(['job-1/cruncher']);
      const starts = evs.filter((e) => e.kind === 'run' && e.runId === 'job-1/cruncher' && nrOf(e).phase === 'start');
      expect(starts, d).toHaveLength(1);
      expect([starts[0].parentRunId, starts[0].component, nrOf(starts[0]).thread]).toEqual(['job-1', 'cruncher', steps[0].thread]);
    }
  });

  // Review of decision 39: a run the worker began before the restart (its
  // own run(), nested in the component's run) was unknown in the new trace:
  // its events there were in no run.
  it('a worker component across stop() and start(): a run it began before the stop holds its events in the new trace too, nested in the component run', async () => {
    for (const { d, evs, steps } of await workerRestartTraces({ GAP_MS: '5', COMPONENT: '1', USER_RUN: '1' })) {
      expect([...new Set(steps.map((e) => e.run))], d).toEqual(['user-run']);
      const starts = evs.filter((e) => e.kind === 'run' && nrOf(e).phase === 'start');
      expect(starts.map((e) => [e.runId, e.parentRunId]), d).toEqual([
        ['job-1/cruncher', 'job-1'],
        ['user-run', 'job-1/cruncher'],
      ]);
    }
  });

  // Review of decision 39: a worker that learns of the restart from a full
  // buffer (inside a probe) began its run again only when the JavaScript
  // turn ended: a long synchronous loop's events in trace 2 were in no run.
  it('a worker component in a long synchronous loop across stop() and start(): every step() call in the new trace is in its run', async () => {
    const outDir = tempDir();
    const r = await runNodeAsync(fixture('lifecycle-api', 'worker-restart.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX, NODEREC_OUT_DIR: outDir, RACE: '1', LONG_MS: '2000', COMPONENT: '1' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { dir2 } = JSON.parse(r.stdout) as { dir2: string };
    const evs = await eventsAsync(dir2);
    const steps = evs.filter((e) => e.kind === 'call' && e.fn === 'step');
    // Recorded inside the long turn: phase 2 (the main thread records into trace 2).
    expect(steps.filter((e) => (e.args as unknown[] | undefined)?.[1] === 2).length).toBeGreaterThan(0);
    const runs = new Map<string, number>();
    for (const e of steps) runs.set(String(e.run), (runs.get(String(e.run)) ?? 0) + 1);
    expect(Object.fromEntries(runs)).toEqual({ 'job-1/cruncher': steps.length });
  });

  // Found with the review of decision 39: the main thread's own run begun
  // before its API stop() and start() was unknown in the new trace too.
  it('the main thread across its own stop() and start(): the run current at start() holds its events in the new trace', async () => {
    const script = path.join(tempDir(), 'main-run.js');
    const lib = JSON.stringify(fixture('lifecycle-api', 'lib.js'));
    fs.writeFileSync(
      script,
      `const nr = require(${JSON.stringify(INDEX)});
const dir1 = nr.start({ program: 'main-one' });
const { square } = require(${lib});
let dir2;
nr.run({ runId: 'main-run' }, () => {
  for (let i = 0; i < 10; i++) square(i);
  nr.stop();
  dir2 = nr.start({ program: 'main-two' });
  for (let i = 0; i < 10; i++) square(i);
});
nr.stop();
console.log(JSON.stringify({ dir1, dir2 }));
`,
    );
    const outDir = tempDir();
    const r = await runNodeAsync(script, { preload: 'none', outDir, env: { NODEREC_OUT_DIR: outDir, NODEREC_NO_CACHE: '1' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { dir1, dir2 } = JSON.parse(r.stdout) as { dir1: string; dir2: string };
    for (const d of [dir1, dir2]) {
      const calls = (await eventsAsync(d)).filter((e) => e.kind === 'call' && e.fn === 'square');
      expect(calls.map((e) => e.run), d).toEqual(Array(10).fill('main-run'));
    }
  });

  it('a stop() while a worker hands full buffers over is no recorder failure (4 runs: the race is hit in about 1 of 4)', async () => {
    for (let i = 0; i < 4; i++) {
      const outDir = tempDir();
      const r = await runNodeAsync(fixture('lifecycle-api', 'worker-restart.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX, NODEREC_OUT_DIR: outDir, RACE: '1' } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { dir1, dir2 } = JSON.parse(r.stdout) as { dir1: string; dir2: string };
      expect(traceDirs(outDir).sort()).toEqual([dir1, dir2].sort());
      for (const d of [dir1, dir2]) expect(metadata(d).status).toBe('complete');
    }
    // Drops racing the stop are counted too.
    await droppedAccountFor({ RACE: '1' });
  });

  // Decision 39: a worker instrumenting a module while the main thread's
  // stop() finishes the session got `ERR_INTERNAL recording has finished`
  // (registering the module's functions in a session whose writer was
  // gone), which then failed the main thread's next session.
  it('a worker loading modules while the main thread stops and starts again: the modules load and run, no recorder failure, every trace kept', async () => {
    const outDir = tempDir();
    const r = await runNodeAsync(fixture('lifecycle-api', 'worker-instrument.js'), { preload: 'none', outDir, env: { NODEREC_INDEX: INDEX, NODEREC_OUT_DIR: outDir, NODEREC_NO_CACHE: '1' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { sum: number; expected: number; sessions: number };
    expect(out.sum).toBe(out.expected);
    expect(out.sessions).toBeGreaterThan(1);
    const dirs = traceDirs(outDir);
    expect(dirs).toHaveLength(out.sessions);
    for (const d of dirs) expect(metadata(d).status).toBe('complete');
  });

  it('under the preload a second start() is ERR_ALREADY_RECORDING', async () => {
    const script = path.join(tempDir(), 's.js');
    fs.writeFileSync(script, `try { require(${JSON.stringify(INDEX)}).start(); } catch (e) { console.log(e.code); }`);
    const r = await runNodeAsync(script);
    expect(r.stdout).toBe('ERR_ALREADY_RECORDING\n');
  });

  it('metrics: counters under the preload, onMetrics calls back', async () => {
    const r = await runNodeAsync(fixture('lifecycle-order', 'metrics.js'), { env: { NODEREC_INDEX: INDEX, NODEREC_MAX_EVENTS: '1000' } });
    expect(r.code).toBe(0);
    const { s, ticks, m, recording } = JSON.parse(r.stdout);
    expect(s).toBe(50000);
    expect(recording).toBe(true);
    expect(ticks).toBeGreaterThan(0);
    expect(m.eventsRecorded).toBe(1000);
    expect(m.eventsDropped.max_events).toBeGreaterThan(90000);
    expect(m.buffersFlushed).toBeGreaterThan(0);
    expect(m.flushLatencyUs.count).toBeGreaterThan(0);
    expect(m.flushLatencyUs.p99).toBeGreaterThanOrEqual(m.flushLatencyUs.p50);
    expect(m.bytesWritten).toBeGreaterThan(0);
    expect(m.bytesRaw).toBeGreaterThan(0);
    expect(m.panics).toBe(0);
    const meta = metadata(onlyTrace(r.outDir));
    expect(meta.truncated).toBe(true);
    expect(meta.events).toBe(1000);
  });
});

describe('activation path', () => {
  for (const cli of [false, true]) {
    it(`records from the first call into the file until that activation returns (${cli ? '--activation-path' : 'NODEREC_ACTIVATION_PATH'})`, async () => {
      const main = fixture('lifecycle-activation', 'main.js');
      const target = fixture('lifecycle-activation', 'target.js');
      const r = cli
        ? await runCliAsync(['record', '--activation-path', target, '--', NODE, main])
        : await runNodeAsync(main, { env: { NODEREC_ACTIVATION_PATH: target } });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe((await runNodeAsync(main, { preload: 'none' })).stdout);
      const evs = await eventsAsync(onlyTrace(r.outDir));
      assertBalanced(evs.filter((e) => e.kind !== 'output'));
      expect(evs[0]).toMatchObject({ kind: 'call', fn: 'entry', args: [3], depth: 0 });
      expect(evs[evs.length - 1]).toMatchObject({ kind: 'return', fn: 'entry', value: 12 });
      const calls = evs.filter((e) => e.kind === 'call').map((e) => e.fn);
      expect(calls).toEqual(['entry', 'step', 'warmup', 'step', 'warmup', 'step', 'warmup']);
      expect(evs.filter((e) => e.kind === 'output').map((e) => e.text)).toEqual(['inside 12\n']);
    });
  }

  it('a file that is never called records nothing; require_trace then fails with ERR_TRACE_MISSING', async () => {
    const main = fixture('lifecycle-activation', 'main.js');
    const r = await runNodeAsync(main, { env: { NODEREC_ACTIVATION_PATH: path.join(path.dirname(main), 'nope.js'), NODEREC_REQUIRE_TRACE: '1', NODEREC_JSON_ERRORS: 'true' } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe((await runNodeAsync(main, { preload: 'none' })).stdout);
    const m = metadata(onlyTrace(r.outDir));
    expect(m.status).toBe('failed');
    expect(m.events).toBe(0);
    expect(m.error.code).toBe('ERR_TRACE_MISSING');
    const last = JSON.parse(r.stderr.trimEnd().split('\n').pop()!);
    expect(last).toMatchObject({ error_code: 'ERR_TRACE_MISSING', error_kind: 'require_trace' });
  });
});

describe('finalization', () => {
  it('runs in the documented order: drain IO, close open calls, flush, finish, metadata, require_trace', async () => {
    const logFile = path.join(tempDir(), 'log.jsonl');
    const r = await runNodeAsync(fixture('lifecycle-order', 'main.js'), { env: { NODEREC_LOG_LEVEL: 'debug', NODEREC_LOG_FILE: logFile, NODEREC_REQUIRE_TRACE: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('pending without newline');
    expect(r.stderr).toBe('');
    const logs = fs.readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);
    const steps = logs.filter((l) => l.target === 'noderec::finalize').map((l) => l.message);
    expect(steps).toEqual(['drain io', 'close open calls', 'flush buffers', 'finish writer and write metadata', 'check require_trace', 'done']);
    // Rust-side records come through the same sink, in the same format.
    expect(logs.some((l) => l.target === 'noderec_core::session' && l.message === 'trace finished')).toBe(true);
    for (const l of logs) expect(l.trace_id).toBe(path.basename(onlyTrace(r.outDir)));
    // The pending output belongs to the innermost open call; the calls are
    // then closed as unwound.
    const evs = await eventsAsync(onlyTrace(r.outDir));
    expect(evs.map((e) => `${e.kind} ${e.fn}`)).toEqual([
      'call <module>',
      'call outer',
      'call inner',
      'output inner',
      'throw inner',
      'throw outer',
      'throw <module>',
    ]);
    const m = metadata(onlyTrace(r.outDir));
    expect(m).toMatchObject({ status: 'complete', exit_code: 0, signal: null, events: 7 });
  });

  it('the preload alone writes nothing when all is well', async () => {
    const r = await runNodeAsync(fixture('lifecycle-activation', 'main.js'));
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('noderec record with child processes', () => {
  it('records a parent and two child node processes into one run directory; NODEREC_DISABLED=1 stops propagation', async () => {
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', NODE, fixture('lifecycle-children', 'parent.js'), 'with-disabled'], { env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('child a pid-ok\nchild b pid-ok\nchild c pid-ok\n');
    const runs = fs.readdirSync(outDir);
    expect(runs).toHaveLength(1);
    const runDir = path.join(outDir, runs[0]);
    const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ run_id: runs[0], exit_code: 0 });
    const traces = traceDirs(runDir).map((d) => ({ d, m: metadata(d) }));
    expect(traces).toHaveLength(3);
    for (const t of traces) {
      expect(t.m.run_id).toBe(runs[0]);
      expect(t.m.status).toBe('complete');
    }
    const parent = traces.find((t) => t.m.program === 'parent.js')!;
    const children = traces.filter((t) => t.m.program === 'child.js');
    expect(children).toHaveLength(2);
    for (const c of children) {
      expect(c.m.ppid).toBe(parent.m.pid);
      const greets = (await eventsAsync(c.d)).filter((e) => e.kind === 'call' && e.fn === 'greet');
      expect(greets).toHaveLength(1);
    }
    const firstArgs = await Promise.all(children.map(async (c) => (await eventsAsync(c.d)).find((e) => e.fn === 'greet' && e.kind === 'call')!.args![0]));
    expect(firstArgs.sort()).toEqual(['a', 'b']);
    const ls = await runCliAsync(['ls', outDir]);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PROGRAM\s+PID\s+PPID/);
    expect(lines[1]).toMatch(new RegExp(`^run ${runs[0]} .* exit 0 {2}3 traces`));
    expect(lines.slice(2).filter((l) => /^ {2}(parent|child)\.js/.test(l))).toHaveLength(3);
  });

  it('exits 2 on a bad flag or environment value, 1 on a recorder error, else with the program code', async () => {
    const f = fixture('lifecycle-fail', 'main.js');
    const badFlag = await runCliAsync(['record', '--max-events', 'lots', '--', NODE, f]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('ERR_INVALID_POLICY_VALUE');
    expect(badFlag.stderr).toContain('--max-events="lots"');
    expect(badFlag.stdout).toBe('');
    const badEnv = await runCliAsync(['record', '--json-errors', '--', NODE, f], { env: { NODEREC_LOG_LEVEL: 'loud' } });
    expect(badEnv.code).toBe(2);
    const t = JSON.parse(badEnv.stderr.trimEnd().split('\n').pop()!);
    expect(t).toMatchObject({ error_code: 'ERR_INVALID_POLICY_VALUE', error_kind: 'policy' });
    expect(t.message).toContain('NODEREC_LOG_LEVEL');
    expect((await runCliAsync(['record', '--bogus', NODE, f])).code).toBe(2);
    const own = await runCliAsync(['record', '--', NODE, f, 'exit3']);
    expect(own.code).toBe(3);
    const failing = await runCliAsync(['record', '--json-errors', '--', NODE, f], { env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: 'flush' } });
    expect(failing.code).toBe(1);
    const lines = failing.stderr.trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('"error_code"'))).toHaveLength(1);
    const trailer = JSON.parse(lines[lines.length - 1]);
    expect(Object.keys(trailer)).toEqual(['run_id', 'trace_id', 'error_code', 'error_kind', 'message', 'context']);
    expect(trailer).toMatchObject({ error_code: 'ERR_IO', error_kind: 'flush', context: { failed_processes: 1 } });
    expect(trailer.run_id).toBe(fs.readdirSync(failing.outDir)[0]);
    const disabled = await runCliAsync(['record', '--on-recorder-error', 'disable', '--', NODE, f], { env: { NODEREC_TEST_GUARD: '1', NODEREC_TEST_FAIL_AT: 'flush' } });
    expect(disabled.code).toBe(0);
    expect(disabled.stderr).toContain('recording disabled');
  });

  it('--disabled runs the command unrecorded', async () => {
    const r = await runCliAsync(['record', '--disabled', '--', NODE, fixture('lifecycle-children', 'parent.js')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('child a pid-ok\nchild b pid-ok\n');
    expect(traceDirs(r.outDir)).toEqual([]);
  });
});
