// Coverage reports of a project run by its test runner, recorded: the same
// numbers as without the recorder, and the same exit code. Found on uuid
// (`node --test --experimental-test-coverage --enable-source-maps`): recorded,
// Node's coverage report failed ("Could not report code coverage", exit 1),
// and without --enable-source-maps a branch that never ran (a `return` on the
// line of its `if`) was reported as covered, by Node's report and by c8.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, fixture, NODE, NODE22, REGISTER, ROOT, spawnAsync, tempDir } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');
const C8 = path.join(ROOT, 'node_modules', 'c8', 'bin', 'c8.js');

/** The report's rows of the fixture's own files (recorded, the recorder's own
 * files are there too when it is not under node_modules, as here). */
function rows(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => /\blib(\.test)?\.js\b/.test(l) && l.includes('|'))
    .map((l) => l.replace(/\s+/g, ' '));
}

/** What Node's test runner prints, without its durations. */
function stable(out: string): string {
  return out
    .split('\n')
    .filter((l) => !/duration_ms/.test(l))
    .map((l) => l.replace(/\(\d+(\.\d+)?ms\)/, '(Xms)'))
    .join('\n');
}

describe('coverage tools on recorded code', () => {
  for (const node of NODES) {
    for (const kind of ['esm', 'cjs']) {
      for (const flags of [[], ['--enable-source-maps']]) {
        // Still different (README, *Known differences*): Node >= 22 applies
        // source maps to its report only with --enable-source-maps; on Node 20
        // a CommonJS module is compiled apart from the source Node caches its
        // map from (hooks/cjs.ts).
        const known = (node !== NODE && flags.length === 0) || (node === NODE && kind === 'cjs');
        (known ? it.fails : it)(`node --test --experimental-test-coverage ${flags.join(' ')} reports as without the recorder (${kind}, ${nodeName(node)})`, async () => {
          const dir = fixture('coverage-partial', kind);
          const run = (env: Record<string, string>) =>
            spawnAsync(node, ['--test', '--experimental-test-coverage', ...flags, 'lib.test.js'], { cwd: dir, env: cleanEnv(env) });
          const plain = await run({});
          expect(plain.code).toBe(0);
          expect(rows(plain.stdout).some((l) => /^\S+ lib\.js \| 100\.00 \| 66\.67 \| 50\.00 \|/.test(l))).toBe(true);
          const rec = await run({ NODE_OPTIONS: `--require ${REGISTER}`, NODEREC_OUT_DIR: tempDir() });
          expect(stable(rec.stdout)).not.toContain('Could not report code coverage');
          expect(rows(rec.stdout)).toEqual(rows(plain.stdout));
          expect(rec.stderr).toBe(plain.stderr);
          expect(rec.code).toBe(plain.code);
        });
      }
    }
    for (const kind of ['esm', 'cjs']) {
      (node === NODE && kind === 'cjs' ? it.fails : it)(`c8 reports a branch that never ran as without the recorder (${kind}, ${nodeName(node)})`, async () => {
        const dir = fixture('coverage-partial', kind);
        const c8 = (env: Record<string, string>) =>
          spawnAsync(node, [C8, '--reporter=text', `--temp-directory=${tempDir('noderec-c8-')}`, `--reports-dir=${tempDir('noderec-c8-')}`, node, '--test', 'lib.test.js'], { cwd: dir, env: cleanEnv(env) });
        const plain = await c8({});
        expect(plain.code).toBe(0);
        expect(rows(plain.stdout).join('\n')).toMatch(/lib\.js \| 100 \| 66\.66 \| 50 \|/);
        const rec = await c8({ NODE_OPTIONS: `--require ${REGISTER}`, NODEREC_OUT_DIR: tempDir() });
        expect(rows(rec.stdout)).toEqual(rows(plain.stdout));
        expect(rec.code).toBe(0);
      });
    }
  }
});
