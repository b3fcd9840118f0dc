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
  FilterBenchResult,
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

function addonFile(): string {
  return path.join(__dirname, '..', 'native', 'noderec.node');
}

/** Identifies this build of the addon in instrumentation cache keys. */
export function buildSalt(): string {
  if (salt === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const st = (require('node:fs') as typeof import('node:fs')).statSync(addonFile());
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
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  const e = new Error(
    `the noderec native addon cannot be loaded on ${platform} (${reason}). ` +
      `Fix: install the prebuilt package noderec-${platform} (npm installs it as an optional dependency of noderec: ` +
      'reinstall without --omit=optional / --no-optional), or build the addon from source in the noderec package ' +
      'with `npm run build:native` (needs Rust and cargo).',
  ) as Error & { code: string };
  e.code = 'ERR_NATIVE_MISSING';
  return e;
}

/** The addon (loaded once per thread). Throws ERR_NATIVE_MISSING when it
 * cannot be loaded. */
export function native(): Native {
  if (cached === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      cached = require(addonFile()) as Native;
    } catch (e) {
      throw nativeMissing(e);
    }
  }
  return cached;
}
