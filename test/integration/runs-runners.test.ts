// Test names as spans (issue 13): jest and vitest launched the way people
// launch them (`noderec record -- npx jest`, `npx vitest run`), the traces
// read back through `noderec export --format jsonl`. One span per test
// (name: the full test name with its describe path; attributes: file,
// status pass/fail/skip/todo, the error's message on fail), the test's own
// calls between its span's start and end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, Event, eventsAsync, fixture, runCliAsync, spawnAsync, tempDir, traceDirs } from '../helpers/run';

const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;

async function allEvents(outDir: string): Promise<Event[][]> {
  const out: Event[][] = [];
  for (const d of traceDirs(outDir)) out.push(await eventsAsync(d));
  return out;
}

/** Per trace: each test span's start and end, and the `work` calls between them. */
function spansOf(traces: Event[][]): Map<string, { start: Event; end: Event; work: string[] }> {
  const m = new Map<string, { start: Event; end: Event; work: string[] }>();
  for (const evs of traces) {
    const open = new Map<number, { start: Event; work: string[] }>();
    for (const e of evs) {
      if (e.kind === 'span' && nr(e).phase === 'start') open.set(nr(e).id, { start: e, work: [] });
      else if (e.kind === 'span' && nr(e).phase === 'end') {
        const s = open.get(nr(e).id);
        if (s === undefined) continue;
        open.delete(nr(e).id);
        m.set(String(e.name), { start: s.start, end: e, work: s.work });
      } else if (e.kind === 'call' && e.fn === 'work') {
        for (const s of open.values()) s.work.push(String((e.args as unknown[])[0]));
      }
    }
    expect([...open.keys()]).toEqual([]);
  }
  return m;
}

const WANT = {
  'outer/inner/adds': { status: 'pass', work: ['adds'] },
  'outer/inner/waits': { status: 'pass', work: ['waits'] },
  'outer/fails on purpose': { status: 'fail', work: ['fails'] },
  'outer/skipped': { status: 'skip', work: [] },
  'outer/later': { status: 'todo', work: [] },
  'top level': { status: 'pass', work: ['top'] },
  'second file': { status: 'pass', work: ['second'] },
};

function check(spans: Map<string, { start: Event; end: Event; work: string[] }>, sep: string, runner: string, extra: Record<string, { status: string; file: string }> = {}): void {
  // Concurrent tests' spans overlap: their status and file only.
  for (const [name, w] of Object.entries(extra)) {
    const s = spans.get(name);
    expect(s, name).toBeDefined();
    expect([s!.end.status, s!.start.file, nr(s!.end).status]).toEqual([w.status, w.file, w.status === 'fail' ? 'error' : 'ok']);
    spans.delete(name);
  }
  const want = Object.fromEntries(Object.entries(WANT).map(([k, v]) => [k.split('/').join(sep), v]));
  expect([...spans.keys()].sort()).toEqual(Object.keys(want).sort());
  for (const [name, w] of Object.entries(want)) {
    const s = spans.get(name)!;
    expect({ name, status: s.end.status, work: s.work }).toEqual({ name, ...w });
    expect(s.start.runner).toBe(runner);
    expect(s.start.file).toBe(name === 'second file' ? 'test/b.test.js' : 'test/a.test.js');
    expect(nr(s.end).status).toBe(w.status === 'fail' ? 'error' : 'ok');
    if (w.status === 'fail') expect(String(s.end.error)).toMatch(/expect/);
    else expect(s.end.error).toBeUndefined();
  }
}

const summary = (out: string, re: RegExp): string => {
  // eslint-disable-next-line no-control-regex
  const m = re.exec(out.replace(/\x1b\[[0-9;]*m/g, ''));
  expect(m, out).not.toBeNull();
  return m![0];
};

describe('test names as spans', () => {
  it.each(['--runInBand', '--maxWorkers=2'])('jest: `noderec record -- npx jest %s` gives one span per test with its status and its calls inside', async (mode) => {
    const dir = fixture('runs-jest');
    const cache = tempDir();
    const cmd = ['npx', 'jest', mode, '--cacheDirectory', cache];
    const plain = await spawnAsync(cmd[0], cmd.slice(1), { cwd: dir, env: cleanEnv({ CI: '1' }) });
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', ...cmd], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    expect(r.code).toBe(plain.code);
    expect(r.code).toBe(1);
    expect(summary(r.stderr, /^Tests:.*$/m)).toBe(summary(plain.stderr, /^Tests:.*$/m));
    check(spansOf(await allEvents(outDir)), ' ', 'jest');
  }, 240_000); // real runners under noderec record: up to 72 s each at load 12 on 2 cores

  it.each([['--runInBand'], ['--maxWorkers=2']])('jest-jasmine2: `noderec record -- npx jest --testRunner=jest-jasmine2 %s` gives one span per test with its status and its calls inside', async (mode) => {
    const dir = fixture('runs-jest');
    const cache = tempDir();
    const cmd = ['npx', 'jest', '--testRunner=jest-jasmine2', mode, '--cacheDirectory', cache];
    const plain = await spawnAsync(cmd[0], cmd.slice(1), { cwd: dir, env: cleanEnv({ CI: '1' }) });
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', ...cmd], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    expect(r.code).toBe(plain.code);
    expect(r.code).toBe(1);
    expect(summary(plain.stderr, /^Tests:.*$/m)).toContain('1 failed');
    expect(summary(r.stderr, /^Tests:.*$/m)).toBe(summary(plain.stderr, /^Tests:.*$/m));
    check(spansOf(await allEvents(outDir)), ' ', 'jest');
  }, 240_000); // real runners under noderec record: up to 72 s each at load 12 on 2 cores

  it.each([[''], ['--testRunner=jest-jasmine2']])('jest started by a project script, noderec/jest-transformer in its config: `noderec record -- npm test -- %s` gives one span per test with its status and its calls inside', async (runner) => {
    const dir = fixture('runs-jest-script');
    const cache = tempDir();
    const cmd = ['npm', 'test', '--', '--cacheDirectory', cache, ...(runner === '' ? [] : [runner])];
    const plain = await spawnAsync(cmd[0], cmd.slice(1), { cwd: dir, env: cleanEnv({ CI: '1' }) });
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', ...cmd], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    expect(r.code).toBe(plain.code);
    expect(r.code).toBe(1);
    expect(summary(plain.stderr, /^Tests:.*$/m)).toContain('1 failed');
    expect(summary(r.stderr, /^Tests:.*$/m)).toBe(summary(plain.stderr, /^Tests:.*$/m));
    check(spansOf(await allEvents(outDir)), ' ', 'jest');
  }, 240_000); // real runners under noderec record: up to 72 s each at load 12 on 2 cores

  /** `npx vitest run --pool=<pool>` in `dir`, plain and recorded: the same
   * counts and exit code, one span per test with its status and its calls. */
  async function vitestSpans(dir: string, pool: string, major: number): Promise<void> {
    const cmd = ['npx', 'vitest', 'run', `--pool=${pool}`];
    const plain = await spawnAsync(cmd[0], cmd.slice(1), { cwd: dir, env: cleanEnv({ CI: '1' }) });
    expect(plain.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(new RegExp(` RUN +v${major}\\.`));
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', ...cmd], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    expect(r.code).toBe(plain.code);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/not integrated/);
    expect(summary(plain.stdout, /^\s+Tests\s.*$/m)).toContain('2 failed');
    expect(summary(r.stdout, /^\s+Tests\s.*$/m)).toBe(summary(plain.stdout, /^\s+Tests\s.*$/m));
    check(spansOf(await allEvents(outDir)), ' > ', 'vitest', {
      'conc > slow fails': { status: 'fail', file: 'test/c.test.js' },
      'conc > quick passes': { status: 'pass', file: 'test/c.test.js' },
    });
  }

  it.each(['forks', 'vmThreads'])('vitest: `noderec record -- npx vitest run --pool=%s` gives one span per test with its status and its calls inside', async (pool) => {
    await vitestSpans(fixture('runs-vitest'), pool, 3);
  }, 240_000); // real runners under noderec record: up to 72 s each at load 12 on 2 cores

  // vitest 4 (vite's module runner): the same project, with the vitest 4 the
  // corpus installs (test/corpus/vitest4, scripts/prepare.js) as its node_modules.
  it.each(['forks', 'threads'])('vitest 4: `noderec record -- npx vitest run --pool=%s` gives one span per test with its status and its calls inside', async (pool) => {
    const dir = path.join(tempDir(), 'runs-vitest4');
    fs.cpSync(fixture('runs-vitest'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
    fs.symlinkSync(path.resolve(__dirname, '..', 'corpus', 'vitest4', 'node_modules'), path.join(dir, 'node_modules'));
    await vitestSpans(dir, pool, 4);
  }, 240_000); // real runners under noderec record: up to 72 s each at load 12 on 2 cores
});
