// The program's own syntax errors are the program's (design-docs/decisions.md
// 12). The hooks instrument through `instrumentForRunner`, which returns a
// parse failure (ERR_INSTRUMENT) without reporting it as a recorder failure;
// the hook then hands the source to Node unchanged, and Node reports its own
// SyntaxError exactly as without the recorder (or, in a `try`, the program
// catches it and goes on). Only when V8 compiles a CommonJS source that the
// instrumenter could not parse is it a recorder failure (the file would run
// unrecorded). For an ES module V8 cannot be asked without running it: the
// module runs unrecorded (a debug record says so).
import * as vm from 'node:vm';

import { native } from '../native';
import { withCoverageMap } from './coverage-map';

type Instrument = (source: string, path: string, isModule: boolean, cacheSalt: string) => string | null;

/** Instruments a module; throws ERR_INSTRUMENT for a source the
 * instrumenter cannot parse, without reporting it. */
export function instrumentModule(source: string, filename: string, isModule: boolean, salt: string): string | null {
  const out = (native() as unknown as { instrumentForRunner: Instrument }).instrumentForRunner(source, filename, isModule, salt);
  return out === null ? null : withCoverageMap(out, filename);
}

/** True for the instrumenter's parse failure (and its "file too large"). */
export function isParseFailure(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ERR_INSTRUMENT';
}

export const CJS_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/** V8's SyntaxError for a CommonJS source, null when it compiles. */
export function commonJsSyntaxError(source: string, filename: string): Error | null {
  try {
    vm.compileFunction(source, CJS_PARAMS, { filename });
    return null;
  } catch (e) {
    return e instanceof Error ? e : null;
  }
}

/** What V8 says when a CommonJS source holds ES module syntax, or syntax
 * valid only in an ES module (top-level await, a top-level `module` or
 * `require` declaration): Node's module syntax detection retries such a
 * source as an ES module (src/node_contextify.cc, esm_syntax_error_messages
 * and throws_only_in_cjs_error_messages). */
const ESM_ONLY = [
  'Cannot use import statement outside a module',
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
  "Identifier 'module' has already been declared",
  "Identifier 'exports' has already been declared",
  "Identifier 'require' has already been declared",
  "Identifier '__filename' has already been declared",
  "Identifier '__dirname' has already been declared",
  'await is only valid in async functions and the top level bodies of modules',
];

/** True when Node's module syntax detection would run this CommonJS source
 * (that V8 rejected with `error`) as an ES module: V8's message is one of
 * ESM_ONLY and the source parses as an ES module. */
export function detectedAsModule(error: Error, source: string, filename: string, salt: string): boolean {
  if (!ESM_ONLY.some((m) => error.message.includes(m))) return false;
  try {
    instrumentModule(source, filename, true, salt);
    return true;
  } catch {
    return false;
  }
}

/** The SyntaxError V8 threw while `above` (one of our functions) was on the
 * stack, as Node's loader would have thrown it: the source line and caret
 * Node's compile put above the message, and the stack from the caller of
 * `above` (Node's wrapSafe) on. */
export function asNodeCompileError(e: Error, above: (...args: never[]) => unknown): Error {
  const stack = typeof e.stack === 'string' ? e.stack : '';
  const header = `${e.name}: ${e.message}`;
  const at = stack.indexOf(`\n\n${header}`);
  const arrow = at < 0 ? '' : stack.slice(0, at + 2);
  Error.captureStackTrace(e, above);
  if (arrow !== '' && typeof e.stack === 'string') {
    Object.defineProperty(e, 'stack', { configurable: true, enumerable: false, writable: true, value: arrow + e.stack });
  }
  return e;
}
