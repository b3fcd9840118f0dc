// Recording runs none of the program's code (issue 8): the encoder and the
// probes read typed-array lengths and copy bytes with the builtins captured
// at start, never through %TypedArray%.prototype, which a program may
// replace (a replaced `length` getter ran at every fast probe before).
import { describe, expect, it } from 'vitest';

import { eventsAsync, fixture, onlyTrace, runNodeAsync } from '../helpers/run';

const MAIN = fixture('values-typed-builtins', 'main.js');

describe('values: replaced typed-array builtins are not called by the recorder', () => {
  it('a program that replaces length, set, subarray, fill and slice of typed arrays', async () => {
    const plain = await runNodeAsync(MAIN, { preload: 'none' });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/\n\d+ 0\n$/);
    const rec = await runNodeAsync(MAIN, { env: { NODEREC_SCOPE: 'all' } });
    expect(rec.stderr).toBe('');
    expect(rec.stdout).toBe(plain.stdout);
    expect(rec.code).toBe(0);
    const evs = await eventsAsync(onlyTrace(rec.outDir));
    const passes = evs.filter((e) => e.kind === 'call' && e.fn === 'pass');
    expect(passes).toHaveLength(20000);
    expect(JSON.stringify(passes[19999].args?.[0])).toContain('"name":"item19999"');
    expect(evs.filter((e) => e.kind === 'call' && e.fn === 'deep')).toHaveLength(6001);
  });
});
