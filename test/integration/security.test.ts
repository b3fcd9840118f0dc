// Traces are private: no symlink or renamed directory makes the recorder
// write elsewhere, an out dir others can write to is refused, every
// directory is 0700 and every file 0600 whatever the umask, and nothing a
// trace holds can drive the terminal the CLI prints to.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { CLI, cleanEnv, events, fixture, metadata, NODE, onlyTrace, REGISTER, ROOT, runCli, runNode, tempDir, traceDirs } from '../helpers/run';

const INDEX = path.join(ROOT, 'js', 'dist', 'index.js');
const FIB = fixture('fib', 'main.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function victimFile(): string {
  const v = path.join(tempDir('noderec-victim-'), 'victim');
  fs.writeFileSync(v, 'VICTIM\n', { mode: 0o600 });
  return v;
}

function mode(p: string): number {
  return fs.statSync(p).mode & 0o7777;
}

describe('symlinks and races', () => {
  it('a symlink planted under the metadata temporary name is never written through', () => {
    const victim = victimFile();
    const r = runNode(fixture('security', 'plant.js'), { args: ['symlink', victim], env: { NODEREC_INDEX: INDEX } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('VICTIM\n');
    const dir = onlyTrace(r.outDir);
    expect(metadata(dir).status).toBe('complete');
    // The planted links are left alone (and no temporary file is left).
    const left = fs.readdirSync(dir).filter((n) => n !== 'metadata.json' && n !== 'trace.nrt');
    expect(left.every((n) => fs.lstatSync(path.join(dir, n)).isSymbolicLink())).toBe(true);
  });

  it('a trace directory renamed mid-run keeps receiving its own files; the impostor is untouched', () => {
    const victim = victimFile();
    const r = runNode(fixture('security', 'plant.js'), { args: ['rename', victim], env: { NODEREC_INDEX: INDEX } });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(victim, 'utf8')).toBe('VICTIM\n');
    const moved = fs.readdirSync(r.outDir).find((n) => n.endsWith('-moved'));
    expect(moved).toBeDefined();
    const real = path.join(r.outDir, moved as string);
    const meta = metadata(real);
    expect(meta.status).toBe('complete');
    expect(events(real).filter((e) => e.kind === 'call' && e.fn === 'work').length).toBeGreaterThan(100);
    const impostor = path.join(r.outDir, (moved as string).replace(/-moved$/, ''));
    expect(fs.lstatSync(path.join(impostor, 'metadata.json')).isSymbolicLink()).toBe(true);
  });

  it('an out dir writable by all users (no sticky bit) is refused with a coded error', () => {
    const out = tempDir();
    fs.chmodSync(out, 0o777);
    const r = runNode(FIB, { outDir: out });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_UNSAFE_OUT_DIR');
    expect(r.stderr).toContain(out);
    expect(r.stderr).toContain('writable by all users');
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('an out dir writable by its group is refused; under disable the program runs unrecorded', () => {
    const out = tempDir();
    fs.chmodSync(out, 0o770);
    const r = runNode(FIB, { outDir: out, env: { NODEREC_ON_RECORDER_ERROR: 'disable' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('55\n');
    expect(r.stderr).toContain('ERR_UNSAFE_OUT_DIR');
    expect(r.stderr).toContain('writable by its group');
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('a world-writable out dir with the sticky bit (like /tmp) is accepted', () => {
    const out = tempDir();
    fs.chmodSync(out, 0o1777);
    const r = runNode(FIB, { outDir: out });
    expect(r.code).toBe(0);
    expect(metadata(onlyTrace(out)).status).toBe('complete');
  });

  it.runIf(isRoot)('an out dir owned by another user is refused', () => {
    const out = tempDir();
    fs.chownSync(out, 65534, 65534);
    const r = runNode(FIB, { outDir: out });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_UNSAFE_OUT_DIR');
    expect(r.stderr).toContain('owned by user id 65534');
  });

  it('noderec record refuses such an out dir too', () => {
    const out = tempDir();
    fs.chmodSync(out, 0o777);
    const r = runCli(['record', '--out-dir', out, '--', NODE, FIB]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ERR_UNSAFE_OUT_DIR');
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe('permissions', () => {
  function underUmask000(args: string[], env: Record<string, string>): { code: number | null; stderr: string } {
    const r = spawnSync('/bin/sh', ['-c', 'umask 000; exec "$@"', 'sh', ...args], { env: cleanEnv(env) });
    return { code: r.status, stderr: r.stderr.toString() };
  }

  it('directories are 0700 and files 0600 whatever the umask (the cache too)', () => {
    const base = tempDir();
    const out = path.join(base, 'new', 'out');
    const cache = path.join(base, 'cache');
    const r = underUmask000([NODE, '--require', REGISTER, FIB], { NODEREC_OUT_DIR: out, NODEREC_CACHE_DIR: cache });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(mode(out)).toBe(0o700);
    const dir = onlyTrace(out);
    expect(mode(dir)).toBe(0o700);
    expect(mode(path.join(dir, 'trace.nrt'))).toBe(0o600);
    expect(mode(path.join(dir, 'metadata.json'))).toBe(0o600);
    expect(mode(cache)).toBe(0o700);
    const subs = fs.readdirSync(cache);
    expect(subs.length).toBeGreaterThan(0);
    for (const s of subs) {
      expect(mode(path.join(cache, s))).toBe(0o700);
      for (const f of fs.readdirSync(path.join(cache, s))) expect(mode(path.join(cache, s, f))).toBe(0o600);
    }
  });

  it('noderec record: the run directory, run.json and errors.jsonl too', () => {
    const base = tempDir();
    const out = path.join(base, 'out');
    const r = underUmask000([NODE, CLI, 'record', '--out-dir', out, '--on-recorder-error', 'disable', '--', NODE, FIB], {
      NODEREC_TEST_GUARD: '1',
      NODEREC_TEST_FAIL_AT: 'finish',
      NODEREC_KEEP_PARTIAL_TRACE: '1',
    });
    expect(r.code).toBe(0);
    expect(mode(out)).toBe(0o700);
    const [runDir] = fs.readdirSync(out).map((n) => path.join(out, n));
    expect(mode(runDir)).toBe(0o700);
    expect(mode(path.join(runDir, 'run.json'))).toBe(0o600);
    expect(mode(path.join(runDir, 'errors.jsonl'))).toBe(0o600);
    for (const d of traceDirs(out)) expect(mode(d)).toBe(0o700);
  });

  it('a cache directory of this user that others could write to is tightened to 0700', () => {
    const cache = tempDir();
    fs.chmodSync(cache, 0o777);
    const r = runNode(FIB, { env: { NODEREC_CACHE_DIR: cache } });
    expect(r.code).toBe(0);
    expect(mode(cache)).toBe(0o700);
  });

  it.runIf(isRoot)('a cache directory owned by another user is not used (cached code would run)', () => {
    const cache = tempDir();
    fs.chmodSync(cache, 0o777);
    fs.chownSync(cache, 65534, 65534);
    const r = runNode(FIB, { env: { NODEREC_CACHE_DIR: cache } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('55\n');
    expect(r.stderr).toContain('not using the instrumentation cache');
    expect(fs.readdirSync(cache)).toEqual([]);
  });
});

describe('terminal escapes', () => {
  // ESC, BEL, DEL, the C1 CSI (U+009B) and a bidi override.
  const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('ls, show, calls, export and error messages print no control characters', () => {
    const work = tempDir();
    const name = 'evil\x1b[31mred\x1b]0;pwned\x07\u202e.js';
    const script = path.join(work, name);
    fs.copyFileSync(fixture('security', 'escapes.js'), script);
    const out = tempDir();
    const r = runNode(script, { outDir: out, args: ['\x1b[5m'] });
    expect(r.code).toBe(0);
    const dir = onlyTrace(out);
    expect(metadata(dir).program).toBe(name);
    const runs = [
      runCli(['ls', out]),
      runCli(['show', dir]),
      runCli(['calls', dir]),
      runCli(['calls', dir, '--json']),
      runCli(['export', dir]),
      runCli(['show', '\x1b[31mno-such-trace'], { env: { NODEREC_OUT_DIR: out } }),
      runCli(['\x1b[31mbogus']),
    ];
    for (const c of runs) {
      expect(c.stdout).not.toMatch(CONTROL);
      expect(c.stderr).not.toMatch(CONTROL);
    }
    // What was escaped is still there, visibly.
    expect(runs[0].stdout).toContain('evil\\x1b[31mred');
    expect(runs[1].stdout).toContain('evil\\x1b[31mred');
    expect(runs[2].stdout).toContain('show(');
    expect(runs[5].stderr).toContain('\\x1b[31mno-such-trace');
  });
});
