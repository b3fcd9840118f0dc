// Installing noderec the way a user does (issue 15): the main package and the
// prebuilt platform package are packed to tarballs (`npm pack`), installed
// into a fresh project on a PATH without cargo or rustc, and a program is
// recorded with the installed bin. The platform package is the napi-rs one
// (`npm/<platform>/`, made by `napi create-npm-dirs`) with the addon the
// build made; napi's generated loader (js/native/binding.js) finds it.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import semver from 'semver';
import { beforeAll, describe, expect, it } from 'vitest';

import { cleanEnv, NODE, ROOT, tempDir } from '../helpers/run';
import { platformName } from '../../js/native';

const run = promisify(execFile);
const PLATFORM = platformName();
const PLATFORM_DIR = path.join(ROOT, 'npm', PLATFORM);
const ADDON = path.join(ROOT, 'js', 'native', `noderec.${PLATFORM}.node`);
const hasPlatformPackage = fs.existsSync(path.join(PLATFORM_DIR, 'package.json'));

/** PATH with node and npm but without any directory that holds cargo or rustc. */
function pathWithoutRust(): string {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => {
    return !['cargo', 'rustc'].some((b) => fs.existsSync(path.join(d, b)));
  });
  const nodeDir = path.dirname(NODE);
  if (!dirs.includes(nodeDir)) dirs.unshift(nodeDir);
  return dirs.join(path.delimiter);
}

async function pack(dir: string, dest: string): Promise<string> {
  // --ignore-scripts: packing must not rebuild the tree other tests are using.
  const r = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: dir,
    env: cleanEnv(),
    maxBuffer: 16 << 20,
  });
  const info = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
  return path.join(dest, info[0].filename);
}

function tarList(tgz: string): Promise<string[]> {
  return run('tar', ['tzf', tgz], { maxBuffer: 16 << 20 }).then((r) => r.stdout.split('\n').filter((l) => l.length > 0));
}

const APP = `'use strict';
function greet(name) { return 'hello ' + name; }
function main() { for (const n of ['a', 'b']) console.log(greet(n)); }
main();
`;

function project(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  fs.writeFileSync(path.join(dir, 'app.js'), APP);
  return dir;
}

async function npmInstall(dir: string, tarballs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], { cwd: dir, env, maxBuffer: 16 << 20 });
}

describe.skipIf(!hasPlatformPackage)('install from tarballs without Rust', () => {
  let work: string;
  let mainTgz: string;
  let platformTgz: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = tempDir('noderec-pack-');
    // The platform package as `napi artifacts` fills it: its package.json and the addon.
    const plat = path.join(work, 'platform');
    fs.cpSync(PLATFORM_DIR, plat, { recursive: true });
    fs.copyFileSync(ADDON, path.join(plat, path.basename(ADDON)));
    platformTgz = await pack(plat, work);
    mainTgz = await pack(ROOT, work);
    env = cleanEnv({ PATH: pathWithoutRust(), npm_config_cache: process.env.npm_config_cache ?? '' });
    if (env.npm_config_cache === '') delete env.npm_config_cache;
  }, 240_000);

  it('the main tarball ships what runs and nothing else; the platform tarball ships the addon', async () => {
    const main = await tarList(mainTgz);
    expect(main).toContain('package/js/dist/register.js');
    expect(main).toContain('package/js/bin/noderec.js');
    expect(main).toContain('package/js/native/binding.js');
    expect(main).toContain('package/filters/default.toml');
    expect(main).toContain('package/js/dist/viewer/ui.js');
    const stray = main.filter((f) => /^package\/(crates|test|bench|target|design-docs|npm|node_modules)\//.test(f) || f.endsWith('.node'));
    expect(stray).toEqual([]);
    expect(await tarList(platformTgz)).toContain(`package/noderec.${PLATFORM}.node`);
  });

  it('records a program in a fresh project on a PATH without cargo', async () => {
    await expect(run('cargo', ['--version'], { env })).rejects.toThrow();
    const dir = project(work, 'app');
    await npmInstall(dir, [mainTgz, platformTgz], env);
    const plain = await run(NODE, ['app.js'], { cwd: dir, env });
    const out = path.join(dir, 'traces');
    const bin = path.join(dir, 'node_modules', '.bin', 'noderec');
    const rec = await run(bin, ['record', '--out-dir', out, '--', NODE, 'app.js'], { cwd: dir, env });
    expect(rec.stdout).toBe(plain.stdout);
    const runDir = fs.readdirSync(out).map((n) => path.join(out, n))[0];
    const trace = fs.readdirSync(runDir).map((n) => path.join(runDir, n)).find((d) => fs.existsSync(path.join(d, 'metadata.json')));
    expect(trace).toBeDefined();
    const exp = await run(bin, ['export', trace as string, '--format', 'jsonl'], { cwd: dir, env, maxBuffer: 64 << 20 });
    const calls = exp.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { kind: string; fn?: string; path?: string; line?: number })
      .filter((e) => e.kind === 'call' && e.fn === 'greet');
    expect(calls).toHaveLength(2);
    expect(calls[0].line).toBe(2);
  }, 240_000);

  it('without the platform package the program still runs, with one ERR_NATIVE_MISSING line', async () => {
    const dir = project(work, 'no-prebuilt');
    await npmInstall(dir, [mainTgz], env);
    const plain = await run(NODE, ['app.js'], { cwd: dir, env });
    const register = path.join(dir, 'node_modules', 'noderec', 'js', 'dist', 'register.js');
    const rec = await run(NODE, ['--require', register, 'app.js'], { cwd: dir, env: { ...env, NODEREC_OUT_DIR: path.join(dir, 'traces') } });
    expect(rec.stdout).toBe(plain.stdout);
    const lines = rec.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).code).toBe('ERR_NATIVE_MISSING');
    expect(lines[0]).toContain(`noderec-${PLATFORM}`);
  }, 240_000);
});

describe('prepare without cargo', () => {
  it('a source install on a machine without Rust builds the TypeScript and says the addon was not built', async () => {
    // A copy of the sources (node_modules linked): `prepare` there, as npm runs it for a folder or git install.
    const src = path.join(tempDir('noderec-prepare-'), 'noderec');
    fs.mkdirSync(src);
    for (const f of ['package.json', 'tsconfig.json', 'scripts', 'js']) {
      fs.cpSync(path.join(ROOT, f), path.join(src, f), { recursive: true, filter: (p) => !p.includes(`${path.sep}dist`) && !p.endsWith('.node') });
    }
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
    const env = cleanEnv({ PATH: pathWithoutRust() });
    const r = await run('npm', ['run', 'prepare'], { cwd: src, env, maxBuffer: 16 << 20 });
    expect(r.stderr).toContain('noderec: cargo is not on PATH');
    expect(fs.existsSync(path.join(src, 'js', 'dist', 'register.js'))).toBe(true);
    expect(fs.existsSync(path.join(src, 'js', 'dist', 'viewer', 'ui.js'))).toBe(true);
    expect(fs.readdirSync(path.join(src, 'js', 'native')).filter((f) => f.endsWith('.node'))).toEqual([]);
  }, 240_000);
});

describe('dependencies and the Node versions noderec supports', () => {
  it('no locked package declares an engines range that excludes this Node (npm would warn EBADENGINE)', () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const bad: string[] = [];
    for (const [name, p] of Object.entries(lock.packages)) {
      const range = !Array.isArray(p.engines) ? p.engines?.node : undefined;
      if (range !== undefined && !semver.satisfies(process.version, range)) bad.push(`${name}@${p.version} wants node ${range}`);
    }
    expect(bad).toEqual([]);
  });

  it('package.json declares the napi-rs platform targets and a platform package exists for each', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { napi: { targets: string[] } };
    expect(pkg.napi.targets).toEqual(
      expect.arrayContaining(['x86_64-unknown-linux-gnu', 'aarch64-unknown-linux-gnu', 'x86_64-apple-darwin', 'aarch64-apple-darwin', 'x86_64-pc-windows-msvc']),
    );
    const dirs = fs.readdirSync(path.join(ROOT, 'npm')).sort();
    expect(dirs).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64-gnu', 'linux-x64-gnu', 'win32-x64-msvc']);
  });
});
