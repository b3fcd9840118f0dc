// The recorder's fixed start-up cost (issue 9, "values off ≤ 2×"), and what
// any cheaper start must keep: every ES module loaded by the main thread is
// recorded, however it is reached. On Node 20 the ES module hooks run in
// Node's module-hooks thread (module.register), started when recording
// starts; registering it only once an ES module shows up cannot be exact
// (design-docs/lifecycle.md, "Start-up"), and these tests fail when a
// deferred registration misses one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { assertBalanced, eventsAsync, fixture, NODE, NODE22, onlyTrace, ROOT, runNodeAsync, tempDir } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');

/** stderr without Node's ExperimentalWarning for vm.USE_MAIN_CONTEXT_DEFAULT_LOADER:
 * on Node 20 the recorder spends that once-per-process warning at start
 * (js/hooks/cjs.ts, spendDefaultLoaderWarning), so a program's own use of the
 * constant no longer prints it (a known difference, see the report of the
 * start-up branch). */
function withoutVmWarning(s: string): string {
  return s.replace(/^\(node:\d+\) ExperimentalWarning: vm\.USE_MAIN_CONTEXT_DEFAULT_LOADER.*\n\(Use `node --trace-warnings.*\n/m, '');
}

describe('start-up: ES modules reached without a trace in any CommonJS text are recorded', () => {
  for (const node of NODES) {
    it(`import() from the Function constructor, an indirect eval and vm's default loader (${nodeName(node)})`, async () => {
      const f = fixture('startup', 'hidden-import.js');
      // The premise: the entry holds no dynamic import.
      expect(fs.readFileSync(f, 'utf8')).not.toMatch(/import\s*\(/);
      const plain = await runNodeAsync(f, { node, preload: 'none' });
      expect(plain.stdout).toBe(`constructor 2\nindirect eval 4\nvm 6\n`);
      const rec = await runNodeAsync(f, { node });
      expect(rec.code).toBe(0);
      expect(rec.stdout).toBe(plain.stdout);
      expect(withoutVmWarning(rec.stderr)).toBe(withoutVmWarning(plain.stderr));
      const evs = await eventsAsync(onlyTrace(rec.outDir));
      assertBalanced(evs);
      const calls = evs.filter((e) => e.kind === 'call' && e.fn === 'fromEsm').map((e) => e.args);
      expect(calls).toEqual([[1], [2], [3]]);
    });
  }
});

describe("start-up: Node's module-hooks thread", () => {
  for (const node of NODES) {
    it(`runs the preload but loads nothing of the recorder beyond the ES module loader (${nodeName(node)})`, async () => {
      const out = path.join(tempDir(), 'cache.json');
      const f = fixture('startup', 'hooks-thread', 'main.js');
      const rec = await runNodeAsync(f, { node, env: { STARTUP_CACHE_OUT: out } });
      expect(rec.stderr).toBe('');
      expect(rec.stdout).toBe('loaded 8\n');
      const dist = path.join(ROOT, 'js', 'dist') + path.sep;
      const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as { files: string[]; builtins: string[] };
      const loaded = seen.files.filter((p) => p.startsWith(dist)).map((p) => p.slice(dist.length));
      // The preload ran in that thread (it is the test's premise) ...
      expect(loaded).toContain('register.js');
      // ... and stopped there: the lifecycle, probes and encoder are the main thread's.
      expect(loaded.filter((p) => !/^(register|native|hooks\/[\w-]+)\.js$/.test(p))).toEqual([]);
      // noderec's loaders are registered as ES modules that require their
      // CommonJS code: imported as CommonJS, each cost a run of Node's
      // CommonJS export lexer in this thread (~5 ms, waited for).
      expect(seen.builtins.filter((m) => m.includes('cjs-module-lexer'))).toEqual([]);
      const evs = await eventsAsync(onlyTrace(rec.outDir));
      expect(evs.some((e) => e.kind === 'call' && e.fn === 'fromEsm')).toBe(true);
    });
  }
});
