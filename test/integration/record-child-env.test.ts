// Under `noderec record`, a child whose environment still belongs to the run
// (its NODEREC_RUN_ID) but whose NODE_OPTIONS lost noderec's --require (as
// `cross-env NODE_OPTIONS=... jest` does) is recorded too, and keeps the
// program's own option. Never under the bare preload, never for a child the
// program took out of the run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { eventsAsync, fixture, metadata, NODE, NODE22, runCliAsync, runNodeAsync, tempDir, traceDirs } from '../helpers/run';

const PARENT = fixture('child-node-options', 'parent.js');

async function plain(mode: string, node = NODE): Promise<string> {
  const r = await runNodeAsync(PARENT, { preload: 'none', args: [mode], node });
  expect(r.code).toBe(0);
  return r.stdout;
}

async function recorded(mode: string, node = NODE): Promise<{ stdout: string; programs: string[]; runDir: string }> {
  const outDir = tempDir();
  const r = await runCliAsync(['record', '--', node, PARENT, mode], { env: { NODEREC_OUT_DIR: outDir } });
  expect(r.code).toBe(0);
  const runs = fs.readdirSync(outDir);
  expect(runs).toHaveLength(1);
  const runDir = path.join(outDir, runs[0]);
  const programs = traceDirs(runDir)
    .map((d) => metadata(d).program as string)
    .sort();
  return { stdout: r.stdout, programs, runDir };
}

async function childCalls(runDir: string): Promise<number> {
  const dir = traceDirs(runDir).find((d) => metadata(d).program === 'child.js')!;
  return (await eventsAsync(dir)).filter((e) => e.kind === 'call' && e.fn === 'limitMb').length;
}

describe('noderec record: a child whose NODE_OPTIONS the program replaced', () => {
  for (const [mode, node] of [
    ['replace', NODE],
    ['replace', NODE22],
    ['fork', NODE],
    ['delete', NODE],
  ] as const) {
    it(`${mode} (${node === NODE ? 'default node' : 'node 22'}): the child is recorded, with the program's option, output and exit code as unrecorded`, async () => {
      const expected = await plain(mode, node);
      const r = await recorded(mode, node);
      // Same stdout: the child's line (the option reached it and took
      // effect), its exit code, and no extra own property on the ChildProcess.
      expect(r.stdout).toBe(expected);
      expect(r.programs).toEqual(['child.js', 'parent.js']);
      expect(await childCalls(r.runDir)).toBe(1);
    });
  }

  it('a child without the run\'s NODEREC_* variables is left alone', async () => {
    const expected = await plain('foreign');
    const cwd = tempDir();
    const outDir = tempDir();
    const r = await runCliAsync(['record', '--', NODE, PARENT, 'foreign'], { env: { NODEREC_OUT_DIR: outDir }, cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    const runDir = path.join(outDir, fs.readdirSync(outDir)[0]);
    expect(traceDirs(runDir).map((d) => metadata(d).program)).toEqual(['parent.js']);
    // Nor did it record anywhere else (the default out dir is in its cwd).
    expect(fs.readdirSync(cwd)).toEqual([]);
  });

  it('the bare preload does not touch a child\'s NODE_OPTIONS', async () => {
    const expected = await plain('replace');
    const r = await runNodeAsync(PARENT, { preload: 'node-options', args: ['replace'] });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(traceDirs(r.outDir).map((d) => metadata(d).program)).toEqual(['parent.js']);
  });

  it('spawnSync (no ChildProcess, no channel): the child runs unrecorded, as documented', async () => {
    const expected = await plain('sync');
    const r = await recorded('sync');
    expect(r.stdout).toBe(expected);
    expect(r.programs).toEqual(['parent.js']);
  });
});
