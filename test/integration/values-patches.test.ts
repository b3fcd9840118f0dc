// Patches (issue 9, fourth round): a state object changed a little before
// each call is written as patches of its last full encoding, over many
// EVENTS records; every recorded value reads back as the full encoding
// (NODEREC_VALUE_REFS=0) does, also from a trace cut by SIGKILL.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { NODE, REGISTER, cleanEnv, eventsAsync, fixture, metadata, onlyTrace, runNodeAsync, tempDir, untilEventsWritten, type Event } from '../helpers/run';

const MAIN = fixture('values-patches', 'main.js');

const states = (evs: Event[]): unknown[] => evs.filter((e) => e.kind === 'call' && e.fn === 'step').map((e) => e.args);

describe('patches', () => {
  it('a state changed before every call reads back as its full encoding, across records, also from a trace cut by SIGKILL', { timeout: 240_000 }, async () => {
    const on = await runNodeAsync(MAIN, { args: ['60000'] });
    const off = await runNodeAsync(MAIN, { args: ['60000'], env: { NODEREC_VALUE_REFS: '0' } });
    expect(on.code).toBe(0);
    expect(off.code).toBe(0);
    const a = states(await eventsAsync(onlyTrace(on.outDir)));
    const b = states(await eventsAsync(onlyTrace(off.outDir)));
    expect(a).toHaveLength(60000);
    expect(b).toHaveLength(60000);
    for (let i = 0; i < a.length; i++) {
      if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
    }
    // Several EVENTS records (16,384 events at most each), and patches made the values small.
    const mOn = metadata(onlyTrace(on.outDir));
    const mOff = metadata(onlyTrace(off.outDir));
    expect(mOn.events).toBeGreaterThan(4 * 16384);
    expect(mOn.raw_bytes * 5).toBeLessThan(mOff.raw_bytes);

    // Cut by SIGKILL while running: every step read back is the full encoding's.
    const outDir = tempDir();
    const child = spawn(NODE, ['--require', REGISTER, MAIN], { env: cleanEnv({ NODEREC_OUT_DIR: outDir }), stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    // Killed once the file holds 81,000 events (the writer lags the program on
    // a busy machine: a fixed sleep was not enough), several EVENTS records.
    await untilEventsWritten(outDir, 81_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const dir = onlyTrace(outDir);
    expect(metadata(dir).status).toBe('recording');
    const cut = states(await eventsAsync(dir));
    // (at least what the file held before the kill: 20,000 steps of 4 events)
    expect(cut.length).toBeGreaterThanOrEqual(20000);
    for (let i = 0; i < Math.min(cut.length, b.length); i++) {
      if (JSON.stringify(cut[i]) !== JSON.stringify(b[i])) expect([i, cut[i]]).toEqual([i, b[i]]);
    }
  });
});
