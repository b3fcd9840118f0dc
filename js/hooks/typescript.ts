// TypeScript as loaders hand it over (design-docs/runners.md, *TypeScript*).
//
// noderec never compiles TypeScript itself: it instruments the JavaScript a
// loader made of it (tsx, ts-node, Node's own type stripping), with the
// loader's inline source map, so positions are those of the `.ts` file.
// The hooks see TypeScript at two moments:
// - raw, as read from disk, before the loader that will compile it (tsx's
//   and ts-node's `require.extensions` handlers read the file themselves and
//   compile it through `module._compile`; tsx's ES module hooks run after
//   Node's in-thread hooks): left alone, the compiled output is instrumented
//   where it appears (the `_compile` hook, or a loader registered after the
//   other one);
// - compiled, by a loader that ran before the hook: instrumented.
import * as fs from 'node:fs';
import * as mod from 'node:module';
import { reTest } from '../runtime/primordials';
import { withoutWarning } from './quiet-warning';
/** Captured at load (decision 54; this file may load in Node's hooks thread). */
const StringPrototypeIncludes = Function.prototype.call.bind(String.prototype.includes) as (s: string, x: string) => boolean;

const TS = /\.(?:[cm]?ts|tsx)$/;

/** True for a file name with a TypeScript extension. */
export function isTypeScript(filename: string): boolean {
  return reTest(TS, filename);
}

/** True when `source` was already instrumented (by another of our hooks
 * earlier in a loader chain): its prologue declares the table base. */
export function alreadyInstrumented(source: string): boolean {
  return StringPrototypeIncludes(source, 'const __nr$b=');
}

/** True when `source` is the TypeScript file as it is on disk (no loader
 * compiled it yet). */
export function rawTypeScript(filename: string, source: string): boolean {
  try {
    return fs.readFileSync(filename, 'utf8') === source;
  } catch {
    return true;
  }
}

type Strip = (code: string, options?: { mode?: 'strip' | 'transform'; sourceMap?: boolean }) => string;

/** Node's type stripping (Node >= 22.13; `format` `module-typescript` or
 * `commonjs-typescript` with the raw source): the JavaScript with the types
 * replaced by blanks, so every position is kept and no source map is
 * needed; null when this Node cannot strip or the source has syntax that
 * stripping does not erase (Node then reports it as it does without the
 * recorder). The hook hands the instrumented JavaScript back with the
 * TypeScript format: Node strips it again (nothing left to strip) and
 * prints its own experimental warning as it does without the recorder. */
export function stripTypes(format: string | null | undefined, source: string): string | null {
  if (format !== 'module-typescript' && format !== 'commonjs-typescript') return null;
  const strip = (mod as unknown as { stripTypeScriptTypes?: Strip }).stripTypeScriptTypes;
  if (typeof strip !== 'function') return null;
  // stripTypeScriptTypes() warns that it is experimental: the program would
  // see a warning it did not cause. Only that warning is muted.
  return withoutWarning('stripTypeScriptTypes', () => {
    try {
      return strip(source, { mode: 'strip' });
    } catch {
      return null;
    }
  });
}
