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
