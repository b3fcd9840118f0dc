// `noderec record` says what happened: a command that cannot start, a
// process that recorded none of the program, the path as given, and how
// many processes a run recorded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { fixture, NODE, NODE22, runCli, runNode, tempDir, traceDirs } from '../helpers/run';

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l.length > 0);
}

describe('noderec record: a command that does not start', () => {
  it('a missing command: one line saying so, exit 127 as a shell, no trace', () => {
    const outDir = tempDir();
    const r = runCli(['record', '--', 'noderec-no-such-command'], { env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(127);
    expect(lines(r.stderr)).toEqual(['noderec: cannot start noderec-no-such-command: command not found (ENOENT); nothing was recorded']);
    expect(traceDirs(outDir)).toEqual([]);
  });

  it('a file that is not executable: exit 126 as a shell', () => {
    const dir = tempDir();
    const script = path.join(dir, 'script.sh');
    fs.writeFileSync(script, 'echo hi\n', { mode: 0o644 });
    const r = runCli(['record', '--', script], { env: { NODEREC_OUT_DIR: path.join(dir, 'out') } });
    expect(r.code).toBe(126);
    expect(lines(r.stderr)).toEqual([`noderec: cannot start ${script}: permission denied (EACCES); nothing was recorded`]);
  });

  it('a node process that ends before loading any code: the summary says nothing of the program was recorded', () => {
    const dir = tempDir();
    const r = runCli(['record', '--', NODE, path.join(dir, 'missing.js')], { env: { NODEREC_OUT_DIR: path.join(dir, 'out') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Cannot find module');
    const last = lines(r.stderr).at(-1)!;
    expect(last).toMatch(/^noderec: .*missing\.js-\d{8}T\d{6}-\d+ — nothing of the program was recorded: the process ended \(exit code 1\) before any module loaded$/);
    expect(last).not.toMatch(/events/);
  });
});

describe('noderec record: the summary', () => {
  it('prints the trace path absolute when the out dir was given absolute', () => {
    const outDir = tempDir();
    for (const r of [
      runCli(['record', '--out-dir', outDir, '--', NODE, fixture('fib', 'main.js')]),
      runCli(['record', '--', NODE, fixture('fib', 'main.js')], { env: { NODEREC_OUT_DIR: outDir } }),
    ]) {
      expect(r.code).toBe(0);
      const m = /^noderec: (\S+) — \d+ events/.exec(lines(r.stderr)[0]);
      expect(m).not.toBeNull();
      expect(path.isAbsolute(m![1])).toBe(true);
      expect(m![1].startsWith(outDir + path.sep)).toBe(true);
      expect(fs.existsSync(path.join(m![1], 'metadata.json'))).toBe(true);
    }
  });

  it('prints it relative to the working directory when it was given relative', () => {
    const cwd = tempDir();
    const r = runCli(['record', '--out-dir', 'traces', '--', NODE, fixture('fib', 'main.js')], { cwd });
    expect(r.code).toBe(0);
    const m = /^noderec: (\S+) — \d+ events/.exec(lines(r.stderr)[0]);
    expect(m![1]).toMatch(/^traces\/\d{8}T\d{6}-[0-9a-f]+\/main\.js-/);
    expect(fs.existsSync(path.join(cwd, m![1], 'metadata.json'))).toBe(true);
  });

  it('says how many processes were recorded', () => {
    const outDir = tempDir();
    const r = runCli(['record', '--', NODE, fixture('lifecycle-children', 'parent.js')], { env: { NODEREC_OUT_DIR: outDir } });
    expect(r.code).toBe(0);
    const l = lines(r.stderr);
    // The summary, then the next step.
    expect(l).toHaveLength(2);
    expect(l[1]).toMatch(/^noderec: next: (npx )?noderec ls \S+ lists its 3 traces; /);
    expect(l[0]).toMatch(new RegExp(`^noderec: 3 processes recorded in ${outDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\d{8}T\\d{6}-[0-9a-f]+ — \\d+ events, [\\d.]+ (B|KiB|MiB), [\\d.]+ m?s$`));
  });
});

describe('noderec record: a test runner it cannot integrate', () => {
  const dir = fixture('runner-unsupported');
  const bin = path.join(dir, 'node_modules', 'vitest', 'vitest.mjs');

  it('says so in one line on stderr under noderec record', () => {
    const out = tempDir();
    const r = runCli(['record', '--', NODE, bin], { cwd: dir, env: { NODEREC_OUT_DIR: out } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('fake vitest ran\n');
    const l = lines(r.stderr);
    expect(l).toHaveLength(3);
    expect(l[2]).toMatch(/^noderec: next: (npx )?noderec view \S+ --open /);
    expect(l[0]).toBe('noderec: vitest: vitest 5.0.0 is not integrated (2 to 4 are): the code under test is not recorded');
    expect(l[1]).toMatch(/^noderec: .*vitest\.mjs-\d{8}T\d{6}-\d+ — \d+ events/);
    // Everything in the run directory is private, the note's marker file included.
    const [run] = fs.readdirSync(out);
    const entries = fs.readdirSync(path.join(out, run), { recursive: true }).map((e) => path.join(out, run, String(e)));
    expect(entries.some((p) => path.basename(p).startsWith('.not-integrated-'))).toBe(true);
    for (const p of entries) {
      const st = fs.statSync(p);
      expect([p, st.mode & 0o777]).toEqual([p, st.isDirectory() ? 0o700 : 0o600]);
    }
  });

  it('says nothing under the bare preload', () => {
    const r = runNode(bin, { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('fake vitest ran\n');
    expect(r.stderr).toBe('');
  });
});

describe('noderec record: the command after --', () => {
  it('runs as given: a #! script by its own interpreter, not by the node running noderec', () => {
    const dir = tempDir();
    const script = path.join(dir, 'which.js');
    // The interpreter is a node that says who it is before running the script.
    const shim = path.join(dir, 'shim-node');
    // Node 22: Node 20 cannot yet run a #! file under the preload (issue 8.1).
    fs.writeFileSync(shim, `#!/bin/sh\necho "via shim"\nexec "${NODE22}" "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(script, `#!${shim}\nconsole.log('ran');\n`, { mode: 0o755 });
    const r = runCli(['record', '--', script], { cwd: dir, env: { NODEREC_OUT_DIR: path.join(dir, 'out') } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('via shim\nran\n');
    // Without `--`, the short form runs it with noderec's node.
    const short = runCli(['record', script], { cwd: dir, env: { NODEREC_OUT_DIR: path.join(dir, 'out2') } });
    expect(short.stdout).not.toContain('via shim');
  });
});
