// The native addon missing (issue 15): a copy of the package without its
// .node file, as an install on a platform without a prebuilt binary. The
// program runs unrecorded, with one ERR_NATIVE_MISSING line naming the
// platform and the fix; NODEREC_REQUIRE_TRACE makes it fail instead.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { cleanEnv, fixture, NODE, ROOT, tempDir } from '../helpers/run';

let pkg: string;
const FIB = fixture('fib', 'main.js');

beforeAll(() => {
  pkg = path.join(tempDir(), 'noderec');
  fs.mkdirSync(path.join(pkg, 'js'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'js', 'dist'), path.join(pkg, 'js', 'dist'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'js', 'bin'), path.join(pkg, 'js', 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  // js/native/ with napi's loader but no addon, and no platform package:
  // an install on a platform without a prebuilt binary.
  fs.mkdirSync(path.join(pkg, 'js', 'native'));
  fs.copyFileSync(path.join(ROOT, 'js', 'native', 'binding.js'), path.join(pkg, 'js', 'native', 'binding.js'));
});

function run(env: Record<string, string>) {
  const out = tempDir();
  const r = spawnSync(NODE, ['--require', path.join(pkg, 'js', 'dist', 'register.js'), FIB], {
    cwd: path.dirname(FIB),
    env: cleanEnv({ NODEREC_OUT_DIR: out, ...env }),
    encoding: 'utf8',
  });
  return { ...r, out };
}

describe('native addon missing', () => {
  it('the program runs unrecorded, with one ERR_NATIVE_MISSING line naming the platform and the fix', () => {
    const plain = spawnSync(NODE, [FIB], { cwd: path.dirname(FIB), env: cleanEnv(), encoding: 'utf8' });
    const r = run({});
    expect(r.stdout).toBe(plain.stdout);
    expect(r.status).toBe(plain.status);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]) as { code: string; message: string };
    expect(rec.code).toBe('ERR_NATIVE_MISSING');
    expect(rec.message).toContain(`${process.platform}-${process.arch}`);
    expect(rec.message).toContain('npm run build:native');
    expect(rec.message).toMatch(/noderec-linux-x64-(gnu|musl)/);
    // Where it looked, not napi's advice to delete the lockfile.
    expect(rec.message).toContain('nor the package noderec-');
    expect(rec.message).not.toContain('package-lock.json');
    expect(fs.existsSync(r.out) ? fs.readdirSync(r.out) : []).toEqual([]);
  });

  it('with NODEREC_REQUIRE_TRACE the run fails with ERR_NATIVE_MISSING', () => {
    const r = run({ NODEREC_REQUIRE_TRACE: '1' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('ERR_NATIVE_MISSING');
  });

  it('noderec record runs the program and says why nothing was recorded', () => {
    const plain = spawnSync(NODE, [FIB], { cwd: path.dirname(FIB), env: cleanEnv(), encoding: 'utf8' });
    const r = spawnSync(NODE, [path.join(pkg, 'js', 'bin', 'noderec.js'), 'record', FIB], {
      cwd: path.dirname(FIB),
      env: cleanEnv({ NODEREC_OUT_DIR: tempDir() }),
      encoding: 'utf8',
    });
    expect(r.stdout).toBe(plain.stdout);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/noderec: ERR_NATIVE_MISSING in pid \d+ .*linux-x64/);
    // The program ran: not "no node process was started".
    expect(r.stderr).not.toContain('no node process was started');
    expect(r.stderr).toContain('noderec: nothing was recorded: a process ran unrecorded');
  });
});
