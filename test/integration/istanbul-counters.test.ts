// istanbul's coverage counters (babel-plugin-istanbul under jest `--coverage`,
// nyc, any istanbul-lib-instrument output) are not the program's code: the
// counter function istanbul puts at the top of each file it instruments, and
// calls at every statement, gets no probes (design-docs/decisions.md 59).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, eventsAsync, NODE, NODE22, ROOT, runCliAsync, spawnAsync, tempDir, traceDirs } from '../helpers/run';

const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const DIR = path.join(ROOT, 'test', 'corpus', 'jest');

function coverage(dir: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(dir, 'coverage-final.json'), 'utf8'));
}

describe.each([
  ['Node 20', NODE],
  ['Node 22', NODE22],
])('jest --coverage (babel-plugin-istanbul), %s', (_name, node) => {
  it('records the program without the counter function, coverage as plain', async () => {
    const tmp = tempDir('noderec-real23-istanbul-');
    const args = (which: string): string[] => [
      JEST,
      '--runInBand',
      '--ci',
      '--coverage',
      '--coverageReporters=json',
      `--coverageDirectory=${path.join(tmp, which)}`,
      `--cacheDirectory=${path.join(tmp, `cache-${which}`)}`,
    ];
    const plain = await spawnAsync(node, args('plain'), { cwd: DIR, env: cleanEnv({ CI: '1' }) });
    const outDir = path.join(tmp, 'out');
    const rec = await runCliAsync(['record', '--', node, ...args('rec')], { cwd: DIR, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    // One test fails on purpose.
    expect(plain.code).toBe(1);
    expect(rec.code).toBe(plain.code);
    expect(coverage(path.join(tmp, 'rec'))).toEqual(coverage(path.join(tmp, 'plain')));
    const [trace] = traceDirs(outDir);
    const calls = (await eventsAsync(trace)).filter((e) => e.kind === 'call');
    expect(calls.filter((e) => e.fn.startsWith('cov_'))).toEqual([]);
    const fns = new Set(calls.filter((e) => e.path.startsWith('src/')).map((e) => `${e.path} ${e.fn}`));
    expect([...fns].sort()).toEqual(expect.arrayContaining(['src/calc.ts lineTotal', 'src/calc.ts cartTotal', 'src/calc.ts Discount.apply', 'src/realm.ts depth']));
    // The counters ran: the statements of lineTotal are counted.
    const calc = Object.entries(coverage(path.join(tmp, 'rec')) as Record<string, { f: Record<string, number> }>).find(([f]) => f.endsWith('calc.ts'));
    expect(calc?.[1].f['0']).toBe(3);
  }, 180_000);
});
