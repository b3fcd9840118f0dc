// The V8 code cache of noderec's own modules (js/code-cache.ts, issue 9,
// start-up fourteenth round; design-docs/decisions.md 33): the build writes
// one per Node; the preload compiles noderec's modules with it, and only
// those; a cache that is not trusted as the modules are, or that was made
// from other files, is not used.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, NODE, NODE22, ROOT, tempDir } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');

interface Stats {
  off: string | null;
  hits: number;
  rejected: number;
  missing: number;
  direct: number;
}

/** Prints what the preload of `pkg` did with the cache, the `.js` handler
 * the program sees, and the trace's event count. */
const PROGRAM = `
const cc = require(process.env.PKG + '/js/dist/code-cache.js');
const noderec = require(process.env.PKG + '/js/dist/index.js');
function f(a) { return a + 1; }
f(1);
// noderec's modules as Node's loader makes them: cached by filename, loaded,
// with the lookup paths of their directory, among their parent's children.
const Module = require('node:module');
const own = Object.values(require.cache).filter((m) => m.filename.startsWith(process.env.PKG + '/js/'));
const odd = own.filter((m) => m.id !== m.filename || !m.loaded || JSON.stringify(m.paths) !== JSON.stringify(Module._nodeModulePaths(require('node:path').dirname(m.filename))) || (m.parent && !m.parent.children.includes(m)));
console.log(JSON.stringify({ stats: cc.codeCacheStats(), js: require.extensions['.js'].toString().length, recording: noderec.isRecording(), own: own.length, odd: odd.map((m) => m.filename) }));
`;

function run(node: string, pkg: string, nodeArgs: string[] = []): { stats: Stats; js: number; recording: boolean; own: number; odd: string[] } {
  const dir = tempDir();
  const prog = path.join(dir, 'prog.js');
  fs.writeFileSync(prog, PROGRAM);
  const r = spawnSync(node, [...nodeArgs, '--require', path.join(pkg, 'js', 'dist', 'register.js'), prog], {
    env: cleanEnv({ NODEREC_OUT_DIR: path.join(dir, 'out'), PKG: pkg }),
    cwd: dir,
  });
  expect(r.stderr.toString()).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout.toString().trim());
}

/** Node's own `.js` handler, as a program sees it without the recorder. */
function plainHandlerLength(node: string): number {
  const r = spawnSync(node, ['-p', "require.extensions['.js'].toString().length"], { env: cleanEnv() });
  return Number(r.stdout.toString().trim());
}

/** A copy of the package (js/dist, the addon loader, package.json, the
 * default filter), with the addon linked: files the test may change. */
function packageCopy(): string {
  const pkg = tempDir('noderec-pkg-');
  fs.cpSync(path.join(ROOT, 'js', 'dist'), path.join(pkg, 'js', 'dist'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'js', 'native'));
  for (const f of fs.readdirSync(path.join(ROOT, 'js', 'native'))) {
    const from = path.join(ROOT, 'js', 'native', f);
    if (f.endsWith('.node')) fs.symlinkSync(from, path.join(pkg, 'js', 'native', f));
    else fs.copyFileSync(from, path.join(pkg, 'js', 'native', f));
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(ROOT, 'filters'), path.join(pkg, 'filters'), { recursive: true });
  // Its own cache, written as the build writes one (a copy's times may
  // differ from the originals' by a rounding).
  fs.mkdirSync(path.join(pkg, 'scripts'));
  for (const f of ['code-cache.js', 'system-node.js']) fs.copyFileSync(path.join(ROOT, 'scripts', f), path.join(pkg, 'scripts', f));
  const r = spawnSync(NODE, [path.join(pkg, 'scripts', 'code-cache.js'), NODE], { env: cleanEnv() });
  expect(r.status).toBe(0);
  return pkg;
}

function cacheFileOf(pkg: string, node: string): string {
  const dir = path.join(pkg, 'js', 'dist', '.code-cache');
  const r = spawnSync(node, ['-p', 'process.version + "-" + process.arch + "-v8-" + process.versions.v8']);
  return path.join(dir, `${r.stdout.toString().trim()}.bin`);
}

describe('code cache: the build writes one for each Node it built with', () => {
  for (const node of NODES) {
    it(`noderec's modules compile from it, the program's modules as without it (${nodeName(node)})`, () => {
      const out = run(node, ROOT);
      expect(out.recording).toBe(true);
      expect(out.stats.off).toBeNull();
      // Everything the preload loads: register.js's imports, the facade, the addon's loader.
      expect(out.stats.hits).toBeGreaterThanOrEqual(25);
      expect(out.stats.rejected).toBe(0);
      expect(out.stats.missing).toBe(0);
      // The handler is gone once the preload returns.
      expect(out.js).toBe(plainHandlerLength(node));
      // The facade's modules load one another without Node's resolution,
      // and are in require.cache as Node's loader would have put them.
      expect(out.stats.direct).toBeGreaterThanOrEqual(20);
      expect(out.own).toBeGreaterThanOrEqual(30);
      expect(out.odd).toEqual([]);
    });
  }

  it('is used with source maps on too (noderec\'s files carry no source map for Node to note)', () => {
    for (const f of ['tracer.js', 'code-cache.js', 'runtime/probes.js']) {
      expect(fs.readFileSync(path.join(ROOT, 'js', 'dist', f), 'utf8')).not.toMatch(/sourceMappingURL/);
    }
    const out = run(NODE, ROOT, ['--enable-source-maps']);
    expect(out.recording).toBe(true);
    expect(out.stats.off).toBeNull();
    expect(out.stats.hits).toBeGreaterThanOrEqual(25);
    expect(out.odd).toEqual([]);
  });
});

describe('code cache: trusted as far as the modules, and only for the files it was made from', () => {
  it('a cache file others can write is not used', () => {
    const pkg = packageCopy();
    const file = cacheFileOf(pkg, NODE);
    expect(fs.existsSync(file)).toBe(true);
    fs.chmodSync(file, 0o666);
    const out = run(NODE, pkg);
    expect(out.recording).toBe(true);
    expect(out.stats).toEqual({ off: 'cache file not owned as the modules are', hits: 0, rejected: 0, missing: 0, direct: 0 });
  });

  it('a cut cache file: the entries it still holds are used, the others compile from their files', () => {
    const pkg = packageCopy();
    const file = cacheFileOf(pkg, NODE);
    const data = fs.readFileSync(file);
    const headerLen = data.readUInt32LE(0);
    fs.writeFileSync(file, data.subarray(0, 4 + headerLen + Math.floor((data.length - 4 - headerLen) / 2)));
    const out = run(NODE, pkg);
    expect(out.recording).toBe(true);
    expect(out.stats.off).toBeNull();
    expect(out.stats.hits).toBeGreaterThan(0);
    expect(out.stats.missing).toBeGreaterThan(0);
    expect(out.stats.rejected).toBe(0);
    expect(out.odd).toEqual([]);
    // Cut inside its header: not used at all.
    fs.writeFileSync(file, data.subarray(0, 4 + Math.floor(headerLen / 2)));
    expect(run(NODE, pkg).stats).toEqual({ off: 'cache file truncated', hits: 0, rejected: 0, missing: 0, direct: 0 });
  });

  it('entries whose offsets are not offsets compile from their files', () => {
    const pkg = packageCopy();
    const file = cacheFileOf(pkg, NODE);
    const data = fs.readFileSync(file);
    const headerLen = data.readUInt32LE(0);
    const header = JSON.parse(data.toString('utf8', 4, 4 + headerLen)) as { files: Record<string, { at: number; len: number }> };
    header.files['tracer.js'].len = -1;
    header.files['runs.js'].at = 1e30;
    header.files['native.js'].len = 'x' as unknown as number;
    const head = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(head.length, 0);
    fs.writeFileSync(file, Buffer.concat([len, head, data.subarray(4 + headerLen)]));
    const out = run(NODE, pkg);
    expect(out.recording).toBe(true);
    expect(out.stats.missing).toBe(3);
    expect(out.stats.rejected).toBe(0);
    expect(out.stats.hits).toBeGreaterThanOrEqual(25);
  });

  it('a changed module compiles from its file, not from the cache, even at the same length', () => {
    const pkg = packageCopy();
    const file = path.join(pkg, 'js', 'dist', 'run-id.js');
    const src = fs.readFileSync(file, 'utf8');
    // The same length (V8 checks no more than that), mtime moved: what runs must be the new text.
    const probe = "globalThis.__codeCacheProbe = 'new';";
    // A comment of the file gives up as many characters as the probe appended takes.
    const comment = '// eslint-disable-next-line @typescript-eslint/no-require-imports';
    expect(src.includes(comment)).toBe(true);
    const shorter = comment.slice(0, comment.length - probe.length - 1);
    fs.writeFileSync(file, `${src.replace(comment, shorter)}\n${probe}`);
    expect(fs.statSync(file).size).toBe(Buffer.byteLength(src));
    const dir = tempDir();
    const prog = path.join(dir, 'prog.js');
    fs.writeFileSync(prog, `${PROGRAM}\nconsole.log(globalThis.__codeCacheProbe);\n`);
    const r = spawnSync(NODE, ['--require', path.join(pkg, 'js', 'dist', 'register.js'), prog], {
      env: cleanEnv({ NODEREC_OUT_DIR: path.join(dir, 'out'), PKG: pkg }),
      cwd: dir,
    });
    expect(r.stderr.toString()).toBe('');
    const [first, seen] = r.stdout.toString().trim().split('\n');
    const out = JSON.parse(first) as { stats: Stats };
    expect(seen).toBe('new');
    expect(out.stats.missing).toBe(1);
    expect(out.stats.hits).toBeGreaterThanOrEqual(25);
  });
});
