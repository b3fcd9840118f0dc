// Loads the Rust addon and gives it types. Errors thrown by the addon carry
// a stable `code` (ERR_*), set by the binding.
import * as path from 'node:path';

export interface StartOptions {
  outDir: string;
  program: string;
  argv: string[];
  cwd: string;
  root: string;
  nodeVersion: string;
  pid: number;
  ppid: number;
  runId: string;
  recorderVersion: string;
  /** The filter chain (TOML paths); absent: the built-in default. */
  filters?: string[];
  /** Absolute path of the activation file ('' or absent: none). */
  activationPath?: string;
  /** Instrumentation cache directory; absent: the default location. */
  cacheDir?: string;
  /** Do not use the instrumentation cache. */
  noCache?: boolean;
}

/** What reading a trace found besides what it produced. */
export interface ReadResult {
  events: number;
  /** Why reading stopped before the end of the file, with the byte position. */
  damage?: string | null;
  bytesRead: number;
  /** The output's reader went away (EPIPE). */
  closed: boolean;
}

export interface FilterBenchResult {
  rules: number;
  loadMs: number;
  cachedFilePerS: number;
  cachedFnPerS: number;
  uncachedFilePerS: number;
  uncachedFnPerS: number;
}

export interface FinishSummary {
  dir: string;
  events: number;
  bytes: number;
  durationMs: number;
  status: string;
}

export interface ExportOptions {
  thread?: number;
  fromNs?: number;
  toNs?: number;
  noValues?: boolean;
  minDurationNs?: number;
}

export interface Native {
  start(opts: StartOptions): string;
  createRunDir(parent: string, name: string): string;
  currentDir(): string | null;
  clockBuffer(): ArrayBuffer;
  instrument(source: string, path: string, isModule: boolean, cacheSalt: string): string | null;
  instrumentSource(source: string, path: string, isModule: boolean): string;
  originalSource(text: string): string | null;
  fatalSourceInfo(path: string): string | null;
  functionPath(id: number): string | null;
  registerThread(id: number, name: string): void;
  submit(thread: number, words: Int32Array, count: number, arena: Uint8Array, arenaLen: number): void;
  flush(): void;
  setError(json: string): void;
  setTruncated(): void;
  finish(exitCode: number | null | undefined, signal: string | null | undefined, status: string): FinishSummary | null;
  exportTrace(dir: string, format: string, out?: string | null): ReadResult;
  exportTraceAsync(job: number, dir: string, format: string, out: string | null, options: ExportOptions): Promise<string>;
  exportTraceSync(dir: string, format: string, out: string | null, options: ExportOptions): string;
  exportProgress(job: number): number[] | null;
  traceSummary(dir: string): string;
  queryCalls(dir: string, fnGlob: string | null, minMs: number, limit: number): { rows: string[]; read: ReadResult };
  globMatch(pattern: string, path: string): boolean;
  filterAttr(set: number, key: string): number;
  filterStats(redacted: number[], dropped: number[]): void;
  filterCheck(paths: string[]): string;
  sessionSecrets(): string;
  filterBench(paths: string[], files: string[], functions: string[], iterations: number): FilterBenchResult;
  signalsInstall(names: string[], onSignal: (name: string) => void): string[];
  signalsRecheck(): void;
  signalsClaim(): string | null;
  signalsReraise(): void;
  signalsUninstall(): string | null;
}

let cached: Native | undefined;
let salt: string | undefined;

const NATIVE_DIR = path.join(__dirname, '..', 'native');

/** The file the addon is loaded from, as napi-rs's generated loader
 * (js/native/binding.js) finds it: the build's own output next to the loader
 * (a source build), else the prebuilt platform package `noderec-<platform>`. */
export function addonFile(): string | null {
  const local = path.join(NATIVE_DIR, `noderec.${platformName()}.node`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  if (fs.existsSync(local)) return local;
  try {
    return require.resolve(`noderec-${platformName()}`);
  } catch {
    return null;
  }
}

/** Identifies this build of the addon in instrumentation cache keys. */
export function buildSalt(): string {
  if (salt === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const file = addonFile();
      if (file === null) throw new Error('no addon');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const st = (require('node:fs') as typeof import('node:fs')).statSync(file);
      salt = `${st.size}-${st.mtimeMs}`;
    } catch {
      salt = String(Date.now());
    }
  }
  return salt;
}

/** Moves the `ERR_*: ` prefix the binding puts in messages to `error.code`. */
export function withCode(e: unknown): unknown {
  if (e instanceof Error) {
    const m = /^(ERR_[A-Z_]+): /.exec(e.message);
    if (m !== null) {
      (e as Error & { code?: string }).code = m[1];
      e.message = e.message.slice(m[0].length);
    }
  }
  return e;
}

function wrap(raw: Record<string, unknown>): Native {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(raw)) {
    if (typeof fn !== 'function') continue;
    out[name] = function (this: unknown, ...args: unknown[]) {
      let r: unknown;
      try {
        r = (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        throw withCode(e);
      }
      // A binding whose return type is an alias of napi::Result (JsResult)
      // returns its error instead of throwing it.
      if (r instanceof Error) throw withCode(r);
      return r;
    };
  }
  return out as unknown as Native;
}

/** The platform as napi-rs names its prebuilt packages: `linux-x64-gnu`,
 * `darwin-arm64`, `win32-x64-msvc`, ... */
export function platformName(): string {
  let abi = '';
  if (process.platform === 'linux') {
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    abi = header?.glibcVersionRuntime !== undefined ? '-gnu' : '-musl';
  } else if (process.platform === 'win32') {
    abi = '-msvc';
  }
  return `${process.platform}-${process.arch}${abi}`;
}

/** ERR_NATIVE_MISSING: the addon cannot be loaded on this platform. */
function nativeMissing(cause: unknown): Error {
  const platform = platformName();
  let reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  // napi's loader found no build at all (its message blames npm and says to
  // delete the lockfile, which is not the fix here): say where it looked.
  if (reason.startsWith('Cannot find native binding')) {
    reason = `neither js/native/noderec.${platform}.node (a build from source) nor the package noderec-${platform} is installed`;
  }
  const e = new Error(
    `the noderec native addon cannot be loaded on ${platform} (${reason}). ` +
      `Fix: install the prebuilt package noderec-${platform} (npm installs it as an optional dependency of noderec: ` +
      'reinstall without --omit=optional / --no-optional), or build the addon from source in the noderec package ' +
      'with `npm run build:native` (needs Rust and cargo).',
  ) as Error & { code: string };
  e.code = 'ERR_NATIVE_MISSING';
  return e;
}

let rawBinding: Record<string, unknown> | undefined;

/** The addon's exports as napi-rs's generated loader gives them (classes
 * such as TraceIndex included). Throws ERR_NATIVE_MISSING when no build of
 * the addon for this platform can be loaded. */
export function binding(): Record<string, unknown> {
  if (rawBinding === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      rawBinding = require(path.join(NATIVE_DIR, 'binding.js')) as Record<string, unknown>;
    } catch (e) {
      throw nativeMissing(e);
    }
  }
  return rawBinding;
}

/** The addon (loaded once per thread). Throws ERR_NATIVE_MISSING when it
 * cannot be loaded. */
export function native(): Native {
  if (cached === undefined) cached = wrap(binding());
  return cached;
}
