// Coverage tools read V8's coverage of the code as it ran: recorded, that is
// the instrumented code. What they report must be what they report without
// the recorder (tap 18+ fails a run under 100%, c8 --100 and jest's and
// vitest's thresholds likewise). Found on rimraf (tap 21, TypeScript through
// tsx): recorded, the closing line of every function whose paths all return
// showed as not run, and `tap` exited 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, eventsAsync, fixture, NODE, NODE22, REGISTER, ROOT, spawnAsync, tempDir, traceDirs } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');
const C8 = path.join(ROOT, 'node_modules', 'c8', 'bin', 'c8.js');

describe('coverage of recorded code', () => {
  for (const node of NODES) {
    // Two c8 runs of tsx: 54.5 s at load ~15 on 2 cores (vitest's default 60 s was the bound).
    it(`c8 reports the same coverage plain and recorded: TypeScript through tsx, and CommonJS (${nodeName(node)})`, { timeout: 240_000 }, async () => {
      const dir = fixture('coverage');
      const c8 = (env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | null }> =>
        spawnAsync(node, [C8, '--reporter=text', `--temp-directory=${tempDir('noderec-c8-')}`, `--reports-dir=${tempDir('noderec-c8-')}`, node, '--import', 'tsx', 'main.ts'], { cwd: dir, env: cleanEnv(env) });
      const plain = await c8({});
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain('All files |     100 |      100 |     100 |     100 |');
      const outDir = tempDir();
      const rec = await c8({ NODE_OPTIONS: `--require ${REGISTER}`, NODEREC_OUT_DIR: outDir });
      expect(rec.stdout).toBe(plain.stdout);
      expect(rec.stderr).toBe(plain.stderr);
      expect(rec.code).toBe(0);
      // c8, and the program it runs: one trace each.
      const evs = (await Promise.all(traceDirs(outDir).map((d) => eventsAsync(d)))).flat();
      expect(evs.some((e) => e.kind === 'call' && e.fn === 'isDirSync' && e.path === 'lib.ts' && e.line === 4)).toBe(true);
      expect(evs.some((e) => e.kind === 'call' && e.fn === 'isDirSync' && e.path === 'lib.cjs' && e.line === 4)).toBe(true);
    });
  }
});
