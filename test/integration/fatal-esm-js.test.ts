// The report of an uncaught error in an ES module whose file ends in `.js`
// (a package with "type": "module"): Node names the file by its URL in the
// report's first line (`file:///…/main.js:7`). Found on Node 20 with real
// projects' ES modules (real22): recorded, the first line had the path
// (the recorder's report took the name of a `.js` file as CommonJS's).
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { cleanEnv, fixture, NODE, NODE22, REGISTER, spawnAsync, tempDir } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');

/** The report without the stack's columns (they shift where probes were inserted: README). */
function report(stderr: string): string {
  return stderr.replace(/:(\d+):\d+\)?$/gm, ':$1');
}

describe('uncaught error in an ES module .js file', () => {
  for (const node of NODES) {
    for (const coverage of [false, true]) {
      it(`the report names the file as Node does${coverage ? ', with V8 coverage collected' : ''} (${nodeName(node)})`, async () => {
        const dir = fixture('fatal-esm-js');
        const extra: Record<string, string> = coverage ? { NODE_V8_COVERAGE: tempDir('noderec-cov-') } : {};
        const plain = await spawnAsync(node, ['main.js'], { cwd: dir, env: cleanEnv(extra) });
        expect(plain.code).toBe(1);
        expect(plain.stderr.split('\n')[0]).toMatch(/^file:\/\/\/.*main\.js:7$/);
        const rec = await spawnAsync(node, ['main.js'], { cwd: dir, env: cleanEnv({ ...extra, NODE_OPTIONS: `--require ${REGISTER}`, NODEREC_OUT_DIR: tempDir() }) });
        expect(rec.stdout).toBe(plain.stdout);
        expect(report(rec.stderr)).toBe(report(plain.stderr));
        expect(rec.code).toBe(1);
      });
    }
  }
});
