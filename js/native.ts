// Loads the Rust addon. Its types are the declarations napi generates from
// the Rust binding (js/native/binding.d.ts, committed: the contract between
// Rust and TypeScript; test/unit/binding-contract.test.ts fails when the
// build generates something else). Errors the addon throws carry the stable
// code in `error.code` and where it happened in `path`, `line`, `column`
// (crates/noderec_napi/src/binding_errors.rs).
import * as path from 'node:path';

import type * as Binding from './native/binding';

export type {
  BindingFinishSummary as FinishSummary,
  BindingRead as ReadResult,
  BindingStartOptions as StartOptions,
  ExportOptions,
} from './native/binding';

/** The addon's exports, as generated. */
export type Native = typeof Binding;

/** An error thrown by the addon. */
export interface NativeError extends Error {
  /** Stable ERR_* code. */
  code: string;
  /** The file or directory it is about. */
  path?: string;
  /** 1-based line in `path` (filter files). */
  line?: number;
  /** 1-based column in `line`. */
  column?: number;
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

let platform: string | undefined;

/** The platform as napi-rs names its prebuilt packages: `linux-x64-gnu`,
 * `linux-x64-musl`, `darwin-arm64`, `win32-x64-msvc`, ... On Linux, glibc
 * or musl is told as napi's generated loader (js/native/binding.js,
 * `isMusl`) tells it, in the same order, so that both name the same binary:
 * the text of `/usr/bin/ldd` (a glibc script, or musl's, which names
 * `ld-musl-*`); only when that file cannot be read, `process.report` (its
 * `glibcVersionRuntime`, ~14 ms: it collects a whole diagnostic report). */
export function platformName(): string {
  if (platform === undefined) {
    let abi = '';
    if (process.platform === 'linux') abi = isMusl() ? '-musl' : '-gnu';
    else if (process.platform === 'win32') abi = '-msvc';
    platform = `${process.platform}-${process.arch}${abi}`;
  }
  return platform;
}

function isMusl(): boolean {
  let ldd: string | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ldd = (require('node:fs') as typeof import('node:fs')).readFileSync('/usr/bin/ldd', 'utf8');
  } catch {
    ldd = null;
  }
  return muslFrom(ldd, () => process.report?.getReport() as ReportLike | undefined);
}

interface ReportLike {
  header?: { glibcVersionRuntime?: string };
  sharedObjects?: unknown;
}

/** musl or not, from the text of /usr/bin/ldd (null: unreadable), else
 * from a diagnostic report (binding.js's `isMuslFromFilesystem`, then
 * `isMuslFromReport`; its last resort, running `ldd --version`, is left out:
 * without ldd and a report, glibc, as that fallback also assumes when the
 * command fails). Exported for tests. */
export function muslFrom(ldd: string | null, report: () => ReportLike | undefined): boolean {
  if (ldd !== null) return ldd.includes('musl');
  let r: ReportLike | undefined;
  try {
    r = report();
  } catch {
    r = undefined;
  }
  if (r === undefined || r === null) return false;
  if (r.header?.glibcVersionRuntime !== undefined) return false;
  const objs = r.sharedObjects;
  return Array.isArray(objs) && objs.some((f) => typeof f === 'string' && (f.includes('libc.musl-') || f.includes('ld-musl-')));
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

/** The addon (loaded once per thread), through napi's generated platform
 * loader (js/native/binding.js). Throws ERR_NATIVE_MISSING when no build of
 * the addon for this platform can be loaded. */
export function native(): Native {
  if (cached === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(path.join(NATIVE_DIR, 'binding.js')) as Native;
    } catch (e) {
      throw nativeMissing(e);
    }
  }
  return cached;
}
