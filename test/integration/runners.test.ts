// What the test-runner integrations rely on beyond the corpus: values made in
// another realm (jest runs test code in vm contexts) encode as those of the
// main realm.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, eventsAsync, spawnAsync, fixture, NODE22, onlyTrace, ROOT, runCliAsync, runNodeAsync, tempDir } from '../helpers/run';

describe('values from a vm context', () => {
  it('encode exactly as the same values made in the main realm', async () => {
    const r = await runNodeAsync(fixture('realm', 'main.js'));
    expect(r.code).toBe(0);
    const calls = (await eventsAsync(onlyTrace(r.outDir))).filter((e) => e.kind === 'call' && e.fn === 'take');
    expect(calls).toHaveLength(2);
    const [fromVm, fromMain] = calls.map((e) => e.args);
    expect(fromVm).toEqual(fromMain);
    expect(fromMain![0]).toEqual({ $: 'object', class: 'Object', props: { a: 1 } });
    expect(fromMain![1]).toEqual({ $: 'error', class: 'TypeError', message: 'boom' });
  });
});

describe('catches in a vm context', () => {
  // A synchronous function's catch clause stores into the context's `__nr$`
  // (design-docs/probes.md, *The activation stack, and throws*).
  it('are recorded, each with its error, as in the main realm', async () => {
    const r = await runNodeAsync(fixture('realm-catch', 'main.js'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('1 SyntaxError 2 SyntaxError SyntaxError\n');
    const evs = (await eventsAsync(onlyTrace(r.outDir))).filter((e) => e.fn === 'parseEach' && e.kind !== 'output');
    expect(evs.map((e) => e.kind)).toEqual(['call', 'catch', 'catch', 'catch', 'return']);
    for (const c of evs.filter((e) => e.kind === 'catch')) expect((c.error as { class?: string }).class).toBe('SyntaxError');
  });
});

describe('jest in its ES module mode', () => {
  it('is reported as not integrated, in one line under noderec record; its CommonJS tests still run and record', async () => {
    const dir = path.join(ROOT, 'test', 'corpus', 'jest');
    const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
    const outDir = tempDir();
    // A cache of its own: corpus.test.ts, in the other test worker, removes
    // and fills this project's .jest-cache while it runs the same project.
    const cache = tempDir();
    const r = await runCliAsync(['record', '--', NODE22, jest, '--runInBand', '--cacheDirectory', cache], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, NODE_OPTIONS: '--experimental-vm-modules' } });
    expect(r.code).toBe(1);
    const notes = r.stderr.split('\n').filter((l) => l.startsWith('noderec: jest: '));
    expect(notes).toEqual(['noderec: jest: its ES module mode (--experimental-vm-modules) is not integrated: test code jest loads as ES modules is not recorded']);
    expect(r.stderr).toMatch(/Tests: +1 failed, 7 passed, 8 total/);
  }, 240_000);
});

describe('jest and code noderec cannot parse', () => {
  it('ES module syntax jest does not transform fails the test as without the recorder, no recorder failure', async () => {
    const dir = fixture('jest-esm-dep');
    const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
    const plain = await spawnAsync(NODE22, [jest, '--runInBand', '--no-cache'], { cwd: dir, env: cleanEnv({ CI: '1' }) });
    const outDir = tempDir();
    const rec = await runCliAsync(['record', '--', NODE22, jest, '--runInBand', '--no-cache'], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/Tests: +1 failed, 1 passed, 2 total/);
    expect(rec.code).toBe(plain.code);
    const errs = (s: string): string[] => s.split('\n').filter((l) => /SyntaxError|Tests:|noderec::|ERR_/.test(l));
    expect(errs(rec.stderr)).toEqual(errs(plain.stderr));
  });
});

describe('jest with more than one copy of @jest/transform', () => {
  // npm nests a copy of @jest/transform under each jest package when a
  // babel-jest of another major is hoisted (moment/luxon: jest 29, babel-jest
  // 28): the copy jest-runner uses is not the first one loaded.
  it('records the code under test through the copy jest-runner uses', async () => {
    const dir = fixture('jest-transform-copies');
    const copy = path.join(dir, 'node_modules', '@jest', 'transform');
    fs.rmSync(copy, { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, 'node_modules', '@jest', 'transform'), copy, { recursive: true });
    fs.rmSync(path.join(dir, '.jest-cache'), { recursive: true, force: true });
    const jest = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', NODE22, jest, '--runInBand'], { cwd: dir, env: { NODEREC_OUT_DIR: outDir, CI: '1' } });
    expect(r.stderr).toMatch(/Tests: +1 passed, 1 total/);
    expect(r.code).toBe(0);
    const calls = [];
    for (const run of fs.readdirSync(outDir)) {
      for (const t of fs.readdirSync(path.join(outDir, run))) {
        if (!fs.existsSync(path.join(outDir, run, t, 'metadata.json'))) continue;
        calls.push(...(await eventsAsync(path.join(outDir, run, t))).filter((e) => e.kind === 'call' && e.fn === 'lineTotal'));
      }
    }
    expect(calls.map((e) => [e.path, e.line, e.args])).toEqual([['src/calc.js', 1, [{ $: 'object', class: 'Object', props: { qty: 3, price: 1.5 } }]]]);
  }, 120_000);
});

