// The probes' buffers are handed to the writer, not copied
// (design-docs/trace-format.md, *Hand-off*): many full buffers in a row from
// the main thread and a worker at once, and a kill in the middle, read back
// with every event in order and every value as the program passed it (a
// buffer pair written again while the writer still reads it would show as
// wrong or missing values).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, Event, eventsAsync, metadata, NODE, NODE22, onlyTrace, REGISTER, runNodeAsync, tempDir, untilEventsWritten } from '../helpers/run';

/** Lending is off by default (js/tracer.ts, LEND: measured slower); this
 * test-only switch turns it on. */
const LEND = { NODEREC_TEST_GUARD: '1', NODEREC_TEST_LEND: '1' };

/** Calls per thread: 2 events each, 16384 events a buffer: 20 full buffers. */
const N = 20 * 8192;

const PROGRAM = `
const { Worker, isMainThread } = require('node:worker_threads');
function f(i, s) {
  return i * 3;
}
function loop(n, tag) {
  for (let i = 0; i < n; i++) f(i, tag + i);
}
if (isMainThread) {
  const w = new Worker(__filename);
  loop(${N}, 'm');
  w.on('exit', (code) => console.log('worker exit', code));
} else {
  loop(${N}, 'w');
}
`;

/** The calls of f and their returns on `thread`, checked one by one. */
function checkThread(evs: Event[], thread: number, tag: string): number {
  const mine = evs.filter((e) => e.thread === thread && e.fn === 'f');
  let i = 0;
  for (let k = 0; k + 1 < mine.length; k += 2) {
    const call = mine[k];
    const ret = mine[k + 1];
    if (call.kind !== 'call' || ret.kind !== 'return') throw new Error(`event ${k} of thread ${thread}: ${call.kind}, ${ret.kind}`);
    if (JSON.stringify(call.args) !== JSON.stringify([i, tag + i])) {
      throw new Error(`call ${i} of thread ${thread}: ${JSON.stringify(call.args)}`);
    }
    if (ret.value !== i * 3) throw new Error(`return ${i} of thread ${thread}: ${JSON.stringify(ret.value)}`);
    i++;
  }
  return i;
}

describe('buffers handed over without a copy', () => {
  it.each([
    ['Node 20, lent', NODE, true],
    ['Node 22, lent', NODE22, true],
    ['Node 20, copied (the default)', NODE, false],
  ])('%s: many full buffers from the main thread and a worker read back in order, every value intact', async (_name, node, lend) => {
    const dir = tempDir();
    const file = path.join(dir, 'many.js');
    fs.writeFileSync(file, PROGRAM);
    const r = await runNodeAsync(file, { cwd: dir, node, env: lend ? LEND : {} });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('worker exit 0\n');
    const trace = onlyTrace(r.outDir);
    const meta = metadata(trace);
    expect(meta.status).toBe('complete');
    // Lent: the batches went in the probes' own buffers (at least the 20 full ones of each thread).
    if (lend) expect(meta.batches_lent).toBeGreaterThanOrEqual(40);
    else expect(meta.batches_lent).toBe(0);
    const evs = await eventsAsync(trace);
    const worker = evs.find((e) => e.thread !== 0)?.thread ?? -1;
    expect(worker).toBeGreaterThan(0);
    expect(checkThread(evs, 0, 'm')).toBe(N);
    expect(checkThread(evs, worker, 'w')).toBe(N);
  }, 120_000);

  it('a SIGKILL mid-run leaves complete batches, every value intact (lent)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'killed.js');
    fs.writeFileSync(
      file,
      `function f(i, s) {
  return i * 3;
}
let i = 0;
for (; i < 100000; i++) f(i, 'k' + i);
console.log('go');
// Then calls at ~100,000 a second until killed: the writer lags the
// program on a busy machine, and at full speed a second of lag made
// millions of events, too many for one string of the export (ERR_STRING_TOO_LONG).
const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) { f(i, 'k' + i); i++; if (i % 1000 === 0) Atomics.wait(nap, 0, 0, 10); }
`,
    );
    const outDir = tempDir();
    const child = spawn(NODE, ['--require', REGISTER, file], {
      cwd: dir,
      env: cleanEnv({ NODEREC_OUT_DIR: outDir, ...LEND }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    // The writer lags the program on a busy machine: kill once the file holds
    // the 100,000 calls before 'go' and their returns (not after a fixed sleep).
    await untilEventsWritten(outDir, 200_010);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const trace = onlyTrace(outDir);
    expect(metadata(trace).status).toBe('recording');
    const evs = await eventsAsync(trace);
    // At least the calls before 'go' (12 full buffers), all of them as passed.
    expect(checkThread(evs, 0, 'k')).toBeGreaterThanOrEqual(100000);
  }, 120_000);
});
