// The recorder's fixed start-up cost (issue 9, "values off ≤ 2×"), and what
// any cheaper start must keep: every ES module loaded by the main thread is
// recorded, however it is reached. On Node 20 the ES module hooks run in
// Node's module-hooks thread (module.register), started when recording
// starts; registering it only once an ES module shows up cannot be exact
// (design-docs/lifecycle.md, "Start-up"), and these tests fail when a
// deferred registration misses one.
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
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
      const seen = JSON.parse(fs.readFileSync(out, 'utf8')) as { files: string[]; builtins: string[]; codeCacheStats: { off: string | null; hits: number; rejected: number; missing: number } | null };
      const loaded = seen.files.filter((p) => p.startsWith(dist)).map((p) => p.slice(dist.length));
      // The preload ran in that thread (it is the test's premise) ...
      expect(loaded).toContain('register.js');
      // ... and stopped there: the lifecycle, probes and encoder are the main
      // thread's (the hooks may take built-ins from runtime/primordials, a
      // module of captures that loads nothing else).
      expect(loaded.filter((p) => !/^(register|native|code-cache|hooks\/[\w-]+|runtime\/primordials)\.js$/.test(p))).toEqual([]);
      // noderec's loaders are registered as ES modules that require their
      // CommonJS code: imported as CommonJS, each cost a run of Node's
      // CommonJS export lexer in this thread (~5 ms, waited for).
      expect(seen.builtins.filter((m) => m.includes('cjs-module-lexer'))).toEqual([]);
      // Node 20 (noderec's loader runs there): its modules compiled from
      // noderec's code cache (js/code-cache.ts).
      if (hasHooksThread(node)) {
        expect(seen.codeCacheStats).toMatchObject({ off: null, rejected: 0, missing: 0 });
        expect(seen.codeCacheStats!.hits).toBeGreaterThanOrEqual(4);
      }
      const evs = await eventsAsync(onlyTrace(rec.outDir));
      expect(evs.some((e) => e.kind === 'call' && e.fn === 'fromEsm')).toBe(true);
    });
  }
});

/** Node >= 22.15 has in-thread hooks (module.registerHooks): no hooks thread. */
function hasHooksThread(node: string): boolean {
  const r = spawnSync(node, ['-p', "typeof require('node:module').registerHooks !== 'function'"]);
  return r.stdout.toString().trim() === 'true';
}

/** The lines of stderr that say Node created its module-hooks worker
 * (NODE_DEBUG=worker), the tracer's 'recording started' line
 * (NODEREC_LOG_LEVEL=debug), and the loaders Node's hooks thread was asked
 * to register (NODE_DEBUG=esm), in the order they were written. */
function startupLines(stderr: string): string[] {
  const out: string[] = [];
  let posted = false;
  for (const line of stderr.split('\n')) {
    if (/^WORKER \d+: \[0\] created Worker/.test(line)) out.push('worker created');
    else if (line.includes('"recording started"')) out.push('recording started');
    else if (/^ESM \d+: /.test(line)) posted = /post sync message to worker/.test(line);
    else if (posted && /^\s+"data:text\/javascript,/.test(line)) {
      out.push(line.includes('esm-loader.js') ? 'register loader' : `register ${line.trim()}`);
      posted = false;
    }
  }
  return out;
}

describe("start-up: on Node 20 the recorder loads while Node's module-hooks thread boots", () => {
  for (const node of NODES) {
    it(`the worker is created before the recorder starts, and only noderec's loader is registered (${nodeName(node)})`, async () => {
      const f = fixture('startup', 'early.js');
      const plain = await runNodeAsync(f, { node, preload: 'none' });
      expect(plain.stdout).toBe('esm 10\n');
      const rec = await runNodeAsync(f, { node, env: { NODE_DEBUG: 'worker,esm', NODEREC_LOG_LEVEL: 'debug' } });
      expect(rec.code).toBe(0);
      expect(rec.stdout).toBe(plain.stdout);
      if (hasHooksThread(node)) {
        expect(startupLines(rec.stderr)).toEqual(['worker created', 'recording started', 'register loader']);
      } else {
        expect(startupLines(rec.stderr)).toEqual(['recording started']);
      }
      const evs = await eventsAsync(onlyTrace(rec.outDir));
      assertBalanced(evs);
      expect(evs.filter((e) => e.kind === 'call' && e.fn === 'fromEsm').map((e) => e.args)).toEqual([[5]]);
    });

    it(`NODEREC_DISABLED=1 starts no hooks thread (${nodeName(node)})`, async () => {
      const f = fixture('startup', 'early.js');
      const rec = await runNodeAsync(f, { node, env: { NODE_DEBUG: 'worker', NODEREC_DISABLED: '1' } });
      expect(rec.code).toBe(0);
      expect(rec.stdout).toBe('esm 10\n');
      expect(startupLines(rec.stderr)).toEqual([]);
    });

    it(`a start that fails under on_recorder_error=disable registers no loader and the program runs as without the recorder (${nodeName(node)})`, async () => {
      const f = fixture('startup', 'early.js');
      const rec = await runNodeAsync(f, {
        node,
        env: { NODE_DEBUG: 'esm', NODEREC_ON_RECORDER_ERROR: 'disable', NODEREC_TRACE_FILTER: path.join(tempDir(), 'missing.toml') },
      });
      expect(rec.code).toBe(0);
      expect(rec.stdout).toBe('esm 10\n');
      expect(rec.stderr).toContain('cannot record');
      expect(startupLines(rec.stderr).filter((l) => l === 'register loader')).toEqual([]);
      expect(fs.existsSync(rec.outDir) ? fs.readdirSync(rec.outDir) : []).toEqual([]);
    });
  }
});

describe('start-up: what the preload does not load', () => {
  it('node:crypto (the run id reads /dev/urandom) and perf_hooks (only NODEREC_CLOCK=precise needs it)', async () => {
    const f = fixture('startup', 'builtins.js');
    const plain = await runNodeAsync(f, { preload: 'none' });
    expect(plain.stdout).toBe('[]\n');
    const rec = await runNodeAsync(f);
    expect(rec.code).toBe(0);
    expect(rec.stdout).toBe(plain.stdout);
    expect(metadataRunId(rec.outDir)).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
    const precise = await runNodeAsync(f, { env: { NODEREC_CLOCK: 'precise' } });
    expect(precise.stdout).toBe('["NativeModule perf_hooks"]\n');
  });
});

function metadataRunId(outDir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(onlyTrace(outDir), 'metadata.json'), 'utf8')) as { run_id: string }).run_id;
}

describe('start-up: the early registration in any order register() takes', () => {
  it('runs the work once, registers the loader the work claimed (or a module without hooks), and rethrows after registering', async () => {
    const early = path.join(ROOT, 'js', 'dist', 'hooks', 'early.js');
    const r = await runNodeAsync(fixture('startup', 'early-orders.js'), { preload: 'none', args: [early] });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      'worker first': ['worker', 'work', 'claimed true', 'register data:loader', 'returned'],
      'string first': ['work', 'claimed true', 'worker', 'register data:loader', 'returned'],
      twice: ['work', 'claimed true', 'register data:loader data:loader', 'returned'],
      'throws first': ['work', 'claimed true', 'register data:loader', 'returned'],
      'no claim': ['work', 'register data:text/javascript,', 'returned'],
      'work throws': ['work', 'register data:text/javascript,', 'threw boom'],
      'claim outside': false,
    });
  });
});
