// A V8 code cache of noderec's own modules (issue 9, start-up fourteenth
// round; design-docs/decisions.md 33). Loaded by register.js before anything
// else of noderec's, so it imports only Node's modules.
//
// Loading the facade (js/dist/tracer.js and the ~35 modules it imports) is
// mostly V8 compiling them: each top-level, then each function the start
// runs. `npm run build` writes, for the Node that built it, the code V8
// compiled in a recorded run (scripts/code-cache.js): one file per Node
// version, architecture and V8 version, in js/dist/.code-cache/. While the
// preload loads noderec's modules, a `.js` handler of its own compiles those
// (and only those: files under js/) with that code; it is removed before the
// preload returns, so the program's modules load as without it.
//
// The cache is code that runs, so it is trusted exactly as far as the
// modules themselves: it is read only when it is owned by the user who owns
// js/dist/register.js and is writable by no one else. V8 checks that the
// cache belongs to its own version and flags, and rejects it otherwise (a
// rejected module compiles as without the cache); it checks a source only
// by its length, so each entry also holds the size and modification time of
// the file it was made from, and an entry whose file changed is not used.
// Without a cache file for this Node nothing changes. (noderec's files carry
// no source map, so compiling them here loses nothing Node would have noted
// for `--enable-source-maps`.)
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** js/ (js/dist/.. ): the files the handler compiles. */
const OWN_ROOT = path.resolve(__dirname, '..') + path.sep;
const CACHE_DIR = path.join(__dirname, '.code-cache');
const FORMAT = 'noderec-code-cache-1';

/** Node's CommonJS wrapper (Module.wrapper), as Node wrapped a module before
 * it compiled modules as functions. */
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const WRAP_TAIL = '\n});';

interface Entry {
  size: number;
  /** Whole milliseconds: a copy that keeps times (cp -p) may lose the rest. */
  mtimeMs: number;
  at: number;
  len: number;
}
interface Header {
  format: string;
  node: string;
  v8: string;
  arch: string;
  files: Record<string, Entry>;
}

type JsHandler = (module: NodeModule, filename: string) => void;
interface ModuleInternals {
  _extensions: Record<string, JsHandler>;
}

/** What this process did with the cache (tests, the debug log). */
export interface CodeCacheStats {
  /** Why the cache was not used (null: it was). */
  off: string | null;
  /** Modules compiled with cached code that V8 took. */
  hits: number;
  /** Modules whose cached code V8 rejected. */
  rejected: number;
  /** Modules of ours compiled without cached code (no entry, or a changed file). */
  missing: number;
  /** Modules of ours loaded by a module of ours without Node's resolution (ownRequire). */
  direct: number;
}

const stats: CodeCacheStats = { off: null, hits: 0, rejected: 0, missing: 0, direct: 0 };

/** The scripts of this process's modules, kept only while producing a cache. */
let producing: Map<string, { script: vm.Script; size: number; mtimeMs: number }> | null = null;

export function codeCacheStats(): CodeCacheStats {
  return { ...stats };
}

/** The cache file of this Node: its version, architecture and V8 version. */
export function codeCacheFile(): string {
  return path.join(CACHE_DIR, `${process.version}-${process.arch}-v8-${process.versions.v8}.bin`);
}

/** Reads exactly `len` bytes at `at` (null: the file is shorter, or the
 * header's numbers are not offsets: the module then compiles from its file). */
function readAt(fd: number, len: number, at: number): Buffer | null {
  if (!Number.isSafeInteger(len) || !Number.isSafeInteger(at) || len < 0 || at < 0 || len > 1 << 28) return null;
  const b = Buffer.allocUnsafe(len);
  let got = 0;
  try {
    while (got < len) {
      const n = fs.readSync(fd, b, got, len - got, at + got);
      if (n === 0) return null;
      got += n;
    }
  } catch {
    return null;
  }
  return b;
}

/** The cache file's header, open for the entries to be read as their
 * modules load (Node 20's hooks thread uses 5 of ~34), or why it is not
 * used. */
function openCache(): Cache | string {
  const file = codeCacheFile();
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return 'no cache file for this Node';
  }
  let ok = false;
  try {
    const st = fs.fstatSync(fd);
    const own = fs.statSync(path.join(__dirname, 'register.js'));
    // Trusted as far as the modules are: their owner's, writable by no one else.
    if (!st.isFile() || st.uid !== own.uid || (st.mode & 0o022) !== 0) return 'cache file not owned as the modules are';
    const len = readAt(fd, 4, 0);
    if (len === null) return 'cache file truncated';
    const headerLen = len.readUInt32LE(0);
    const head = headerLen <= st.size - 4 ? readAt(fd, headerLen, 4) : null;
    if (head === null) return 'cache file truncated';
    const header = JSON.parse(head.toString('utf8')) as Header;
    if (header.format !== FORMAT || header.node !== process.version || header.v8 !== process.versions.v8 || header.arch !== process.arch) {
      return 'cache file of another Node';
    }
    const known = new Set<string>();
    // (path.join only for the files outside js/dist: ~0.7 ms for all of them.)
    for (const rel of Object.keys(header.files)) known.add(rel.startsWith('..') ? path.join(__dirname, rel) : __dirname + path.sep + rel);
    ok = true;
    return { header, fd, base: 4 + headerLen, known };
  } catch {
    return 'cache file unreadable';
  } finally {
    if (!ok) fs.closeSync(fd);
  }
}

/** Runs `load` (which requires noderec's modules) with those modules
 * compiled from the cache; the program's modules, and ours loaded after
 * `load` returns, compile as without it. */
export function withCodeCache<T>(load: () => T): T {
  const extensions = (Module as unknown as ModuleInternals)._extensions;
  let cache: Cache | null = null;
  if (producing === null) {
    const c = openCache();
    if (typeof c === 'string') {
      stats.off = c;
      return load();
    }
    cache = c;
  }
  const previous = extensions['.js'];
  const handler: JsHandler = function (this: unknown, module: NodeModule, filename: string): void {
    if (!filename.startsWith(OWN_ROOT) || filename.includes(`${path.sep}node_modules${path.sep}`, OWN_ROOT.length - 1)) {
      previous.call(this, module, filename);
      return;
    }
    compileOwn(module, filename, cache);
  };
  extensions['.js'] = handler;
  try {
    return load();
  } finally {
    if (extensions['.js'] === handler) extensions['.js'] = previous;
    if (cache !== null) {
      fs.closeSync(cache.fd);
      cache.fd = -1;
    }
  }
}

interface Cache {
  header: Header;
  /** The cache file, open while the preload loads (-1 once closed). */
  fd: number;
  /** Where the entries start in it. */
  base: number;
  /** The absolute paths of the files the cache was made from. */
  known: Set<string>;
}

/** The stat of the file the next compileOwn compiles (ownRequire has it). */
let statted: { filename: string; st: fs.Stats } | null = null;

function compileOwn(module: NodeModule, filename: string, cache: Cache | null): void {
  const st = statted !== null && statted.filename === filename ? statted.st : fs.statSync(filename);
  statted = null;
  const source = fs.readFileSync(filename, 'utf8');
  const rel = path.relative(__dirname, filename);
  const e = cache?.header.files[rel];
  let cachedData: Buffer | undefined;
  if (cache !== null && cache.fd >= 0 && e !== undefined && e.size === st.size && e.mtimeMs === Math.trunc(st.mtimeMs)) {
    cachedData = readAt(cache.fd, e.len, cache.base + e.at) ?? undefined;
  }
  const script = new vm.Script(WRAP_HEAD + source + WRAP_TAIL, { filename, cachedData });
  if (cachedData === undefined) stats.missing++;
  else if (script.cachedDataRejected === true) stats.rejected++;
  else stats.hits++;
  if (producing !== null) producing.set(rel, { script, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
  const fn = script.runInThisContext({ displayErrors: true }) as (...a: unknown[]) => void;
  fn.call(module.exports, module.exports, ownRequire(module, filename, cache), module, filename, path.dirname(filename));
}

type ModuleCtor = new (id: string, parent: NodeModule) => NodeModule & { load(filename: string): void };

/** require() for one of noderec's modules. Its relative imports of the
 * modules the cache was made from (tsc writes `require("./x")` for the file
 * x.js next to it) skip Node's resolution, which tries each candidate file,
 * resolves the real path and looks for the package.json of every directory
 * (~0.2 ms per module; the facade's ~35 modules): the module is created,
 * cached and loaded as Node's loader does it, from the one path that
 * resolution would find (Node tries `x` before `x.js`, and no file of ours
 * has no extension). Everything else, and any module not yet fully loaded (a
 * cycle), goes through Node's own require. */
function ownRequire(module: NodeModule, filename: string, cache: Cache | null): NodeJS.Require {
  const nodeRequire = Module.createRequire(filename);
  if (cache === null) return nodeRequire;
  const dir = path.dirname(filename);
  const cached = (Module as unknown as { _cache: Record<string, NodeModule | undefined> })._cache;
  const require = function require(id: string): unknown {
    if (typeof id === 'string' && id.charCodeAt(0) === 46 /* . */ && !id.endsWith('.js') && !id.endsWith('.json')) {
      const f = `${path.join(dir, id)}.js`;
      if (cache.known.has(f)) {
        const m = cached[f];
        if (m !== undefined) return m.loaded ? m.exports : nodeRequire(id);
        const st = fs.statSync(f, { throwIfNoEntry: false });
        if (st !== undefined && st.isFile()) return loadOwn(f, st, module, cached);
      }
    }
    return nodeRequire(id);
  } as NodeJS.Require;
  require.resolve = nodeRequire.resolve;
  require.main = nodeRequire.main;
  require.extensions = nodeRequire.extensions;
  require.cache = nodeRequire.cache;
  return require;
}

/** Module._load for a module of ours that is not loaded yet: created with
 * its parent, cached, loaded; on a failure taken out of the cache and of
 * its parent's children again. */
function loadOwn(filename: string, st: fs.Stats, parent: NodeModule, cached: Record<string, NodeModule | undefined>): unknown {
  const m = new (Module as unknown as ModuleCtor)(filename, parent);
  cached[filename] = m;
  stats.direct++;
  statted = { filename, st };
  let threw = true;
  try {
    m.load(filename);
    threw = false;
  } finally {
    statted = null;
    if (threw) {
      delete cached[filename];
      const i = parent.children.indexOf(m);
      if (i !== -1) parent.children.splice(i, 1);
    }
  }
  return m.exports;
}

/** scripts/code-cache.js: this process keeps its modules' scripts, to write
 * them with writeCodeCache() once the run has compiled what a start runs.
 * Called before register.js is loaded. */
export function produceCodeCache(): void {
  producing = new Map();
}

/** Writes this process's cache file (see produceCodeCache); returns its path. */
export function writeCodeCache(): string {
  if (producing === null) throw new Error('produceCodeCache() was not called');
  const files: Record<string, Entry> = {};
  const blobs: Buffer[] = [];
  let at = 0;
  for (const [rel, { script, size, mtimeMs }] of producing) {
    const blob = script.createCachedData();
    files[rel] = { size, mtimeMs, at, len: blob.length };
    blobs.push(blob);
    at += blob.length;
  }
  const header: Header = { format: FORMAT, node: process.version, v8: process.versions.v8, arch: process.arch, files };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length, 0);
  const file = codeCacheFile();
  fs.mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([len, head, ...blobs]), { mode: 0o644 });
  fs.renameSync(tmp, file);
  return file;
}
