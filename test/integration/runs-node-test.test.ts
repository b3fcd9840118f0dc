// Test names as spans under node:test (issue 13): `node --test` (through
// `noderec record`) and a test file run directly (`node file.test.cjs`, an
// ES module `node file.test.mjs`), on Node 20 and 22. One span per test
// (name: the describe path and the name joined by ' > ', as node:test's
// `fullName`; attributes: runner, file, status pass/fail/skip/todo, the
// error's message on fail), the test's own calls between its span's start
// and end; the run's output and exit code as without the recorder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, Event, eventsAsync, fixture, NODE, NODE22, REGISTER, runCliAsync, spawnAsync, tempDir, traceDirs } from '../helpers/run';

const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;
const DIR = fixture('runs-node-test');

interface TestSpan {
  start: Event;
  end: Event;
  work: string[];
}

/** Every test span of every trace in `outDir`, by `<file>: <name>`, with the `work` calls made while it was open. */
async function spansIn(outDir: string): Promise<Map<string, TestSpan>> {
  const m = new Map<string, TestSpan>();
  for (const d of traceDirs(outDir)) {
    const open = new Map<number, { start: Event; work: string[] }>();
    for (const e of await eventsAsync(d)) {
      if (e.kind === 'span' && nr(e).phase === 'start') open.set(nr(e).id, { start: e, work: [] });
      else if (e.kind === 'span' && nr(e).phase === 'end') {
        const s = open.get(nr(e).id);
        if (s === undefined) continue;
        open.delete(nr(e).id);
        const key = `${String(s.start.file)}: ${String(e.name)}`;
        expect(m.has(key), key).toBe(false);
        m.set(key, { start: s.start, end: e, work: s.work });
      } else if (e.kind === 'call' && e.fn === 'work') {
        for (const s of open.values()) s.work.push(String((e.args as unknown[])[0]));
      }
    }
    expect([...open.keys()]).toEqual([]);
  }
  return m;
}

/** What each test file gives: name, status, the `work` calls inside its span. */
const WANT: Record<string, { status: string; work: string[]; error?: RegExp }> = {
  'outer > inner > adds': { status: 'pass', work: ['adds'] },
  'outer > inner > waits': { status: 'pass', work: ['waits'] },
  'outer > fails on purpose': { status: 'fail', work: ['fails'], error: /strictly equal/ },
  'outer > skipped': { status: 'skip', work: [] },
  'outer > later': { status: 'todo', work: [] },
  // Its function returned, a subtest failed: node:test fails it.
  parent: { status: 'fail', work: ['parent', 'child ok', 'child fails'], error: /1 subtest failed/ },
  'parent > child ok': { status: 'pass', work: ['child ok'] },
  'parent > child fails': { status: 'fail', work: ['child fails'], error: /child broke/ },
  'skips itself': { status: 'skip', work: ['skips itself'] },
  'skipped top': { status: 'skip', work: [] },
  'top level': { status: 'pass', work: ['top'] },
};

function check(spans: Map<string, TestSpan>, files: string[]): void {
  const want = new Map<string, (typeof WANT)[string]>();
  for (const f of files) for (const [name, w] of Object.entries(WANT)) want.set(`${f}: ${name}`, w);
  expect([...spans.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [key, w] of want) {
    const s = spans.get(key)!;
    expect({ key, status: s.end.status, work: s.work }).toEqual({ key, status: w.status, work: w.work });
    expect(s.start.runner).toBe('node:test');
    expect(nr(s.end).status).toBe(w.status === 'fail' ? 'error' : 'ok');
    if (w.error !== undefined) expect(String(s.end.error)).toMatch(w.error);
    else expect(s.end.error).toBeUndefined();
  }
}

/** The run's output without its timings and stack columns (an awaited call's
 * column moves in instrumented code; lines never do). */
const output = (s: string): string => s.replace(/duration_ms:? [\d.]+/g, 'duration_ms').replace(/(:\d+):\d+([')]|$)/gm, '$1:C$2');

const NODES = [
  { name: 'node 20', bin: NODE },
  { name: 'node 22', bin: NODE22 },
];

describe.each(NODES)('node:test test names as spans ($name)', (node) => {
  it('`noderec record -- node --test`: one span per test of each file, with its status and its calls inside; output and exit code unchanged', async () => {
    const plain = await spawnAsync(node.bin, ['--test'], { cwd: DIR, env: cleanEnv() });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/^# fail 6$/m);
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', node.bin, '--test'], { cwd: DIR, env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(plain.code);
    expect(output(r.stdout)).toBe(output(plain.stdout));
    check(await spansIn(outDir), ['test/a.test.cjs', 'test/b.test.mjs']);
  }, 120_000);

  it('`noderec record -- node --test a b`: the runner process is named `node --test`, each test file\'s process after its file', async () => {
    // It was named after the first file given, as if it ran only that one.
    const outDir = tempDir();
    const files = ['test/a.test.cjs', 'test/b.test.mjs'];
    const r = await runCliAsync(['record', '--', node.bin, '--test', ...files], { cwd: DIR, env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(1);
    const programs = traceDirs(outDir).map((d) => (JSON.parse(fs.readFileSync(path.join(d, 'metadata.json'), 'utf8')) as { program: string }).program);
    expect(programs.sort()).toEqual(['a.test.cjs', 'b.test.mjs', 'node --test']);
  }, 120_000);

  it.runIf(node.name === 'node 22')('`noderec record -- node --test --experimental-test-isolation=none` (every file in the --test process itself): one span per test', async () => {
    const args = ['--test', '--experimental-test-isolation=none'];
    const plain = await spawnAsync(node.bin, args, { cwd: DIR, env: cleanEnv() });
    expect(plain.stdout).toMatch(/^# fail 6$/m);
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', node.bin, ...args], { cwd: DIR, env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(plain.code);
    expect(output(r.stdout)).toBe(output(plain.stdout));
    check(await spansIn(outDir), ['test/a.test.cjs', 'test/b.test.mjs']);
  }, 120_000);

  it.each([
    ['test/a.test.cjs', '--require'],
    ['test/b.test.mjs', '--import'],
    ['test/b.test.mjs', '--require'],
  ])('`node %s` run directly (preload %s): one span per test; output and exit code unchanged', async (file, preload) => {
    const plain = await spawnAsync(node.bin, [file], { cwd: DIR, env: cleanEnv() });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/^# fail 3$/m);
    const outDir = tempDir();
    const r = await spawnAsync(node.bin, [preload, REGISTER, file], { cwd: DIR, env: cleanEnv({ NODEREC_OUT_DIR: outDir }) });
    expect(r.stderr).toBe(plain.stderr);
    expect(r.code).toBe(plain.code);
    expect(output(r.stdout)).toBe(output(plain.stdout));
    check(await spansIn(outDir), [file]);
  }, 60_000);

  it.each(['--require', '--import'])('a program that does not use node:test does not load it (preload %s)', async (preload) => {
    const r = await spawnAsync(node.bin, [preload, REGISTER, 'no-tests.js'], { cwd: DIR, env: cleanEnv({ NODEREC_OUT_DIR: tempDir() }) });
    expect([r.code, r.stdout]).toEqual([0, '[]\n']);
  });

  it.each(['--require', '--import'])('node:test looks the same to the program (preload %s): identities, names, lengths, source text, keys, the context\'s methods, a failure\'s stack', async (preload) => {
    const plain = await spawnAsync(node.bin, ['surface.mjs'], { cwd: DIR, env: cleanEnv() });
    expect(plain.code).toBe(1);
    expect(plain.stdout).toContain('"same":true');
    const outDir = tempDir();
    const r = await spawnAsync(node.bin, [preload, REGISTER, 'surface.mjs'], { cwd: DIR, env: cleanEnv({ NODEREC_OUT_DIR: outDir }) });
    expect(r.code).toBe(plain.code);
    expect(r.stderr).toBe(plain.stderr);
    expect(output(r.stdout)).toBe(output(plain.stdout));
    const spans = await spansIn(outDir);
    expect([...spans.keys()]).toEqual(['surface.mjs: context']);
  }, 60_000);
});
