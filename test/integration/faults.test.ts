// Faults told truthfully: a full disk is ERR_IO with its cause and path,
// the metadata says what is really on disk and no temporary file is left;
// a reader that goes away (`| head -1`) ends every command quietly.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLI, cleanEnv, events, fixture, metadata, NODE, REGISTER, runNode, tempDir, traceDirs } from '../helpers/run';
import { sampleChunk, traceBytes, writeTraceDir } from '../helpers/trace-file';

const BUSY = fixture('security', 'busy.js');

/** A 1 MiB tmpfs, or null when this machine does not allow mounting one. */
function smallDisk(): string | null {
  const dir = tempDir('noderec-tmpfs-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  return r.status === 0 ? dir : null;
}

/** `someEvents`: the trace must hold events (a real disk fills only after
 * many; the fault point can fail the third chunk written, and on a loaded
 * machine the first two may be chunks the writer cut by age before the
 * first events arrived: function tables and paths only). */
function checkPartial(dir: string, stderr: string, someEvents = true): void {
  const meta = metadata(dir);
  expect(meta.status).toBe('partial');
  expect(meta.error.code).toBe('ERR_IO');
  expect(meta.error.message).toContain('No space left on device');
  // What the metadata counts is what the reader finds on disk.
  const evs = events(dir);
  expect(evs.length).toBe(meta.events);
  if (someEvents) expect(meta.events).toBeGreaterThan(0);
  expect(fs.statSync(path.join(dir, 'trace.nrt')).size).toBe(meta.trace_bytes);
  // No temporary file left behind.
  expect(fs.readdirSync(dir).sort()).toEqual(['metadata.json', 'trace.nrt']);
  expect(stderr).toContain('ERR_IO');
  expect(stderr).toContain('No space left on device');
  expect(stderr).toContain(path.join(dir, 'trace.nrt'));
  expect(stderr).not.toContain('ERR_INTERNAL');
}

describe('disk full', () => {
  const plain = spawnSync(NODE, [BUSY], { env: cleanEnv() }).stdout.toString();
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', [m]);
  });

  it('a real full disk (1 MiB tmpfs): disable + keep-partial — the program is unaffected, the trace is partial and true', (ctx) => {
    const disk = smallDisk();
    if (disk === null) return ctx.skip();
    mounts.push(disk);
    const r = runNode(BUSY, { outDir: disk, env: { NODEREC_ON_RECORDER_ERROR: 'disable', NODEREC_KEEP_PARTIAL_TRACE: '1' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain);
    const [dir] = traceDirs(disk);
    checkPartial(dir, r.stderr);
  });

  it('a real full disk under abort: ERR_IO with the cause, exit 1, the trace removed and nothing left', (ctx) => {
    const disk = smallDisk();
    if (disk === null) return ctx.skip();
    mounts.push(disk);
    const r = runNode(BUSY, { outDir: disk });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_IO');
    expect(r.stderr).toContain('No space left on device');
    expect(r.stderr).not.toContain('ERR_INTERNAL');
    expect(fs.readdirSync(disk)).toEqual([]);
  });

  it('the disk-full fault point: the same truthful outcome on any machine', () => {
    const r = runNode(BUSY, {
      env: {
        NODEREC_TEST_GUARD: '1',
        NODEREC_TEST_FAIL_AT: 'disk-full',
        NODEREC_TEST_FAIL_AFTER: '2',
        NODEREC_ON_RECORDER_ERROR: 'disable',
        NODEREC_KEEP_PARTIAL_TRACE: '1',
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(plain);
    const [dir] = traceDirs(r.outDir);
    checkPartial(dir, r.stderr, false);
    expect(metadata(dir).chunks).toBe(2);
  });
});

describe('a reader that goes away (EPIPE)', () => {
  const out = tempDir();
  const rec = tempDir();
  let big = '';
  beforeAll(() => {
    // More than a pipe holds (64 KiB) of `ls` lines, and a trace whose export does too.
    for (let i = 0; i < 1000; i++) {
      writeTraceDir(out, `app.js-20260101T000000-${1000 + i}`, traceBytes([sampleChunk()]), { pid: 1000 + i, start_ms: i });
    }
    spawnSync(NODE, ['--require', REGISTER, BUSY, '20000'], { env: cleanEnv({ NODEREC_OUT_DIR: rec }) });
    [big] = traceDirs(rec);
  });

  function piped(args: string[], dir: string): { code: string; stderr: string } {
    const cmd = `"${NODE}" "${CLI}" ${args.map((a) => `'${a}'`).join(' ')} 2>"$ERR" | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`;
    const errFile = path.join(tempDir(), 'stderr');
    const r = spawnSync('/bin/bash', ['-c', cmd], { env: cleanEnv({ NODEREC_OUT_DIR: dir, ERR: errFile }) });
    return { code: r.stdout.toString().trim(), stderr: fs.readFileSync(errFile, 'utf8') };
  }

  const BIG = '<big>';
  for (const args of [['ls'], ['export', BIG], ['export', BIG, '--format', 'chrome'], ['calls', BIG], ['calls', BIG, '--json', '--limit', '0'], ['show', BIG], ['--help']]) {
    it(`noderec ${args[0]}${args.length > 2 ? ' ' + args.slice(2).join(' ') : ''} | head -1 ends quietly`, () => {
      for (let i = 0; i < 3; i++) {
        const r = piped(args.map((a) => (a === BIG ? big : a)), out);
        expect(r.stderr).toBe('');
        expect(r.code).toBe('0');
      }
    });
  }

  it('the recorded trace used above is big enough to fill a pipe', () => {
    expect(events(big).length).toBeGreaterThan(20000);
  });
});
