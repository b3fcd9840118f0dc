// Recording a value must run none of the program's code (issue 8): the
// encoder's compiled readers are made with `new Function`, and with source
// maps enabled Node resolves the `sourceURL` of such code through
// `process.cwd`, which a program may have replaced (graceful-fs does; tsx
// enables source maps). Found on cleye's tests under tsx: a probe ran
// inside the encoding of another value and the recorder failed with "bad
// value span".
import { describe, expect, it } from 'vitest';

import { eventsAsync, fixture, onlyTrace, runNodeAsync } from '../helpers/run';

const MAIN = fixture('values-cwd', 'main.js');

describe('values: no program code runs while a value is recorded', () => {
  it('a patched process.cwd with source maps enabled is not called by the recorder', async () => {
    const plain = await runNodeAsync(MAIN, { preload: 'none' });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^\d+ 0\n$/);
    const rec = await runNodeAsync(MAIN, { env: { NODEREC_SCOPE: 'all' } });
    expect(rec.stderr).toBe('');
    expect(rec.stdout).toBe(plain.stdout);
    expect(rec.code).toBe(0);
    const evs = await eventsAsync(onlyTrace(rec.outDir));
    const passes = evs.filter((e) => e.kind === 'call' && e.fn === 'pass');
    expect(passes).toHaveLength(6000);
    expect(evs.filter((e) => e.kind === 'call' && e.fn === 'cwd')).toHaveLength(0);
  });
});
