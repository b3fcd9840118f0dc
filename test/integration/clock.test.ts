// Event times: the published clock (default) and NODEREC_CLOCK=precise (a
// clock read per event). Both give per-thread times that never decrease and
// durations that contain the time really spent.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { events, fixture, onlyTrace, REGISTER, ROOT, runNode, runNodeAsync, tempDir } from '../helpers/run';

const INDEX = join(ROOT, 'js', 'dist', 'index.js');

const MAIN = fixture('clock', 'main.js');
const PAUSE = fixture('clock', 'pause.js');
const DENSE = fixture('clock', 'dense.js');

function spins(env: Record<string, string>): { durs: number[]; ts: number[]; clock: unknown; maxStep: unknown } {
  const r = runNode(MAIN, { env });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('1000\n');
  const dir = onlyTrace(r.outDir);
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
  const clock = meta.clock;
  const evs = events(dir);
  const ts = evs.map((e) => e.t);
  const open = new Map<number, number>();
  const durs: number[] = [];
  for (const e of evs) {
    if (e.fn !== 'spin') continue;
    if (e.kind === 'call') open.set(e.activation, e.t);
    else if (e.kind === 'return') durs.push(e.t - open.get(e.activation)!);
  }
  return { durs, ts, clock, maxStep: meta.clock_max_step_us };
}

describe('clock', () => {
  for (const mode of ['published', 'precise']) {
    it(`${mode}: times never decrease and a 3 ms call lasts at least 3 ms minus the longest clock step`, () => {
      const { durs, ts, clock, maxStep } = spins({ NODEREC_CLOCK: mode });
      // The trace says which clock stamped it: readers spread events that
      // share a value over a publication step only for the published clock.
      expect(clock).toBe(mode);
      for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThanOrEqual(ts[i - 1]);
      expect(durs).toHaveLength(5);
      // The published clock is an ordinary thread (decisions.md, section 4):
      // on a loaded machine it can step late, by more than a tick. The trace
      // says by how much at most (clock_max_step_us): a time read was never
      // older than that. The reader then spreads events that share a value
      // over up to 100 µs after it (trace-format.md, *Time*), which can move
      // the call's start later by that much. So no duration is short by
      // more than the longest step plus 100 µs (CI on 2 cores saw a 3 ms
      // call read as 1.8 ms with a fixed one-tick slack).
      let slack = 10_000;
      if (mode === 'published') {
        expect(typeof maxStep).toBe('number');
        // The longest interval over which a thread stamped one exact read
        // (decisions.md 35): at least 1 µs in a run with 3 ms gaps.
        expect(maxStep as number).toBeGreaterThanOrEqual(1);
        slack = (maxStep as number) * 1000 + 100_000;
      } else {
        expect(maxStep).toBeUndefined();
      }
      for (const d of durs) expect(d).toBeGreaterThanOrEqual(3_000_000 - slack);
    });
  }

  // Issue 9: while every JavaScript thread waits, the clock thread does not
  // wake at all (it parks); the first probe after the pause reads the
  // session clock itself. So the first event after a pause carries the time
  // it happened, not a time up to a publication period old, and no event
  // carries the parked marker.
  for (const mode of ['published', 'precise']) {
    it(`${mode}: the first event after a pause carries its own time, in the main thread and a worker`, async () => {
      const t0 = Date.now();
      const r = await runNodeAsync(PAUSE, { env: { NODEREC_CLOCK: mode }, args: ['worker'] });
      const wallNs = (Date.now() - t0) * 1e6;
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { thread: number; waits: number[]; sleeps: (number | null)[] });
      expect(lines).toHaveLength(2);
      let checked = 0;
      expect(lines[0].thread).toBe(0);
      const dir = onlyTrace(r.outDir);
      const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
      const evs = events(dir);
      for (const { thread, waits, sleeps } of lines) {
        const mine = evs.filter((e) => e.thread === thread);
        // Never the marker (0xFFFFFFFF µs would read as 71 minutes), never backwards.
        for (let i = 0; i < mine.length; i++) {
          expect(mine[i].t).toBeLessThanOrEqual(wallNs);
          if (i > 0) expect(mine[i].t).toBeGreaterThanOrEqual(mine[i - 1].t);
        }
        // step() calls: the first ends before the first pause, each other
        // one is the first event after a pause.
        const calls = mine.flatMap((e, i) => (e.fn === 'step' && e.kind === 'call' ? [i] : []));
        expect(calls).toHaveLength(waits.length + 1);
        calls.slice(1).forEach((i, k) => {
          // The previous step() returned before the wait measured began,
          // and carries at most its own time (the reader may move it up to
          // one 100 µs tick later when it shares its value with earlier
          // events). The first event after the pause must carry its own
          // time: the gap is at least the wait measured.
          // Published clock: what makes that read exact is the clock
          // thread's mark, so the claim holds once a whole tick ran during
          // the wait (the clock thread went to sleep at least twice). On a
          // loaded machine it may not have run at all in 250 ms (seen at
          // load >= 6): that pause says nothing, and is not checked.
          // (Without the mark, every pause with ticks fails here.)
          if (mode === 'published' && sleeps[k] !== null && sleeps[k]! < 2) return;
          checked++;
          let w = i - 1;
          while (!(mine[w].fn === 'step' && mine[w].kind === 'return')) w--;
          const gap = mine[i].t - mine[w].t;
          expect(gap, `${mode}, thread ${thread}, pause ${k}: ${gap} ns for a ${waits[k]} ms wait`).toBeGreaterThanOrEqual(waits[k] * 1e6 - 150_000);
        });
      }
      // Six pauses: at least one was checked (a clock thread that never
      // ran a tick in 250 ms, six times, is broken, not late).
      expect(checked).toBeGreaterThan(0);
      if (mode === 'published') {
        // The longest step is a bound, and may overstate (decisions.md 35):
        // a tick that runs late counts the wait before its mark, so a
        // threshold here would measure the scheduler (229-272 ms seen at
        // load >= 6 for these 250 ms pauses). That the pause itself is not
        // counted as a step is the Rust clock::tests' (*a wake stores the
        // time now and counts how stale the last one was*), with no thread
        // of the program competing for the core.
        expect(meta.clock_max_step_us).toBeGreaterThanOrEqual(1);
      }
    });
  }

  // Issue 9 (clock15, decisions.md 35): while probes run, the probes drive
  // the clock. Every few dozen events (about every 50 µs) a thread reads
  // the session clock itself; the clock thread only marks the slots once a
  // millisecond, to catch a thread that stopped making events. Before, it
  // published the time 10 000 times a second (~20 % of a core on a VM).
  it.runIf(process.platform === 'linux')('published: in a dense run of calls the clock thread wakes at most ~1000 times a second, and the times still move every few dozen µs', async () => {
    const t0 = Date.now();
    const r = await runNodeAsync(DENSE, { env: { NODEREC_CLOCK: 'published' } });
    const wallNs = (Date.now() - t0) * 1e6;
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { thread: number; ms: number; cpuMs: number | null; wakeUps: number | null });
    expect(lines).toHaveLength(2);
    expect(lines[0].thread).toBe(0);
    const main = lines[0];
    expect(main.wakeUps).not.toBeNull();
    // One wake-up per 1 ms tick at most (a late tick makes fewer), plus a
    // few for a park and its wake: never the 10 per ms of a 100 µs tick.
    expect(main.wakeUps!, `${main.wakeUps} wake-ups in ${main.ms} ms`).toBeLessThan(main.ms * 2 + 10);
    const evs = events(onlyTrace(r.outDir));
    for (const { thread, ms, cpuMs } of lines) {
      const mine = evs.filter((e) => e.thread === thread);
      expect(mine.length).toBeGreaterThan(1000);
      // Never the mark (0xFFFFFFFF µs would read as 71 minutes), never backwards.
      const bad = mine.findIndex((e, i) => e.t > wallNs || (i > 0 && e.t < mine[i - 1].t));
      expect(bad, bad < 0 ? '' : `thread ${thread}: event ${bad} at ${mine[bad].t} ns after ${mine[bad - 1]?.t}`).toBe(-1);
      // The thread reads the time itself about every 50 µs of its own run
      // time. The reader spreads the events that share a value over at
      // most 100 µs after it, so with the 1 ms marks alone the events would
      // fill at most about 3 of every 20 50-µs windows; read every 50 µs
      // they fill nearly all. Counted against the thread's own CPU time
      // (/proc's schedstat): a loaded machine runs it for part of the loop
      // only.
      const windows = new Set(mine.filter((e) => e.fn === 'tiny').map((e) => Math.floor(e.t / 50_000)));
      const ran = cpuMs === null ? ms : cpuMs;
      expect(windows.size, `thread ${thread}: ${windows.size} 50-µs windows in ${ms} ms (${cpuMs} ms CPU)`).toBeGreaterThanOrEqual(ran * 6);
    }
  });

  // Review of decision 35: a thread without a clock slot (all 1024 taken:
  // API restarts and workers take one each, never reused) kept the zeroed
  // placeholder, so its events stamped 0 between its exact reads, and the
  // reader took each drop to 0 for a wrap: a 1 s session's worker spanned
  // 37 days. It now starts with the mark: it reads the time at every event.
  it('a worker that gets no clock slot stamps real times, never backwards', async () => {
    const outDir = tempDir();
    const r = await runNodeAsync(fixture('clock', 'no-slot.js'), {
      preload: 'none',
      outDir,
      args: [tempDir()],
      env: { NODEREC_INDEX: INDEX, NODEREC_REGISTER: REGISTER },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('done\n');
    const dir = onlyTrace(outDir);
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    const mine = events(dir).filter((e) => e.fn === 'tiny');
    expect(mine.length).toBeGreaterThan(1000);
    const bad = mine.findIndex((e, i) => e.t > meta.duration_ms * 1e6 || (i > 0 && e.t < mine[i - 1].t));
    expect(bad, bad < 0 ? '' : `event ${bad} at ${mine[bad].t} ns after ${mine[bad - 1]?.t}, session ${meta.duration_ms} ms`).toBe(-1);
  }, 240_000); // 1030 session starts, then a worker: 49.5 s at load ~15 on 2 cores (60 s was the bound)

  it('precise: events between two clock ticks get distinct times', () => {
    const { ts } = spins({ NODEREC_CLOCK: 'precise' });
    expect(new Set(ts).size).toBeGreaterThan(ts.length / 2);
  });

  // Issue 8 (svgo under jest): as root the clock thread used to get
  // SCHED_FIFO; it woke every 100 µs ahead of every ordinary thread, and
  // five recorded CLIs started together took 90 s instead of 3 each. The
  // publisher must stay an ordinary thread whatever the privileges.
  it.runIf(process.platform === 'linux')('the clock thread runs at the ordinary scheduling policy', () => {
    const r = runNode(fixture('clock', 'policy.js'), { args: ['wait'] });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([0]);
  });

  // Precise events read a clock of their own: no thread wakes 10 000 times a
  // second to publish one (decisions.md 31).
  it.runIf(process.platform === 'linux')('precise: no clock thread runs', () => {
    const r = runNode(fixture('clock', 'policy.js'), { env: { NODEREC_CLOCK: 'precise' } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('a bad NODEREC_CLOCK is ERR_INVALID_POLICY_VALUE', () => {
    const r = runNode(MAIN, { env: { NODEREC_CLOCK: 'fast' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_INVALID_POLICY_VALUE');
    expect(r.stderr).toContain('NODEREC_CLOCK');
  });
});
