// ESM (and, with module.registerHooks, CommonJS) hooks.
// Node >= 22.15 / 23.5: in-thread module.registerHooks covers both formats.
// Older Node (20): module.register runs esm-loader in the hooks thread for
// ES modules; CommonJS goes through the _compile hook.
import * as mod from 'node:module';
import ModuleObject from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { buildSalt } from '../native';
import { claimLoaderSlot, deferTicks } from './early';
import { usesNodeTest, watchNodeTest } from '../runners/node-test';
import { logger } from '../logging/logger';
import { instrumentable } from './scope';
import { commonJsSyntaxError, instrumentModule, isParseFailure } from './syntax';
import { alreadyInstrumented, isTypeScript, rawTypeScript, stripTypes } from './typescript';
import { StringPrototypeEndsWith, StringPrototypeStartsWith } from '../runtime/primordials';

interface LoadResult {
  format?: string | null;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context?: unknown) => LoadResult;
type RegisterHooks = (hooks: { load: (url: string, context: unknown, next: NextLoad) => LoadResult }) => unknown;

let active = true;

export function hasInThreadHooks(): boolean {
  return typeof (mod as unknown as { registerHooks?: unknown }).registerHooks === 'function';
}

function text(src: LoadResult['source']): string | null {
  if (src === null || src === undefined) return null;
  if (typeof src === 'string') return src;
  return Buffer.from(src as Uint8Array).toString('utf8');
}

/** In-thread hooks for both module formats. Also registered again after
 * each in-thread registration of another loader (registerHooksAfterOthers). */
export function installInThreadHooks(onError: (e: unknown, filename: string) => void): void {
  const registerHooks = (mod as unknown as { registerHooks: RegisterHooks }).registerHooks;
  registerHooks({ load: inThreadLoad(onError) });
  registerHooksAfterOthers(registerHooks, onError);
}

type LoadHook = (url: string, context: unknown, nextLoad: NextLoad) => LoadResult;

/** The in-thread load hook. */
function inThreadLoad(onError: (e: unknown, filename: string) => void): LoadHook {
  return {
    load(url: string, context: unknown, nextLoad: NextLoad): LoadResult {
      const result = nextLoad(url, context);
      // Captured built-ins: the program's replacements must not run here (decision 54).
      if (!active || !StringPrototypeStartsWith(url, 'file:')) return result;
      // `require()` hands CommonJS over before its format is known (undefined).
      const format = result.format ?? (StringPrototypeEndsWith(url, '.mjs') ? 'module' : StringPrototypeEndsWith(url, '.json') ? 'json' : 'commonjs');
      if (format !== 'module' && format !== 'commonjs' && format !== 'module-typescript' && format !== 'commonjs-typescript') return result;
      let filename: string;
      try {
        filename = fileURLToPath(url);
      } catch {
        return result;
      }
      if (!instrumentable(filename)) return result;
      let source = text(result.source);
      if (source === null) {
        try {
          source = fs.readFileSync(filename, 'utf8');
        } catch {
          return result;
        }
      }
      // A test file of node:test: its tests become spans (runners/node-test.ts).
      if (usesNodeTest(source)) watchNodeTest();
      if (isTypeScript(filename)) {
        const js = stripTypes(format, source);
        if (js !== null) source = js;
        // TypeScript that a loader after this hook compiles (tsx's
        // require.extensions handler or ES module hooks, ts-node): its
        // output is instrumented where it appears (js/hooks/typescript.ts).
        else if (rawTypeScript(filename, source)) return result;
      }
      if (alreadyInstrumented(source)) return result;
      const isModule = format === 'module' || format === 'module-typescript';
      try {
        const out = instrumentModule(source, filename, isModule, buildSalt());
        if (out !== null) return { ...result, source: out };
      } catch (e) {
        // A file of unknown format that is not CommonJS may be an ES module
        // loaded by require(esm), or an entry point Node detects as one.
        if (result.format == null) {
          try {
            const out = instrumentModule(source, filename, true, buildSalt());
            if (out !== null) return { ...result, source: out };
          } catch {
            // fall through to the report below
          }
        }
        // The program's syntax error: Node reports it (js/hooks/syntax.ts).
        if (!isParseFailure(e) || (!isModule && commonJsSyntaxError(source, filename) === null)) {
          onError(e, filename);
        } else {
          logger.debug('noderec::hooks', `left to Node: ${String((e as Error).message)}`, { file: filename });
        }
      }
      return result;
    },
  }.load;
}

/** In-thread hooks registered later run first: a loader that registers
 * them after noderec's (tsx >= 4.20 on Node >= 22.15, `--import tsx` or
 * `npx tsx`) hands noderec raw TypeScript, which it leaves alone, and
 * compiles it afterwards: nothing of the program was recorded. After each
 * such registration, noderec's load hook registers again, in front of it:
 * that instance instruments the other loader's output (with its source map)
 * and leaves what the first instance already instrumented (the prologue
 * tells). `node:module`'s ES module namespace follows
 * (syncBuiltinESMExports). */
function registerHooksAfterOthers(original: RegisterHooks, onError: (e: unknown, filename: string) => void): void {
  const m = ModuleObject as unknown as { registerHooks?: RegisterHooks };
  if (m.registerHooks !== original) return;
  const load = inThreadLoad(onError);
  const patched = {
    registerHooks(hooks: Parameters<RegisterHooks>[0]): unknown {
      // A plain call keeps Node's errors and their stack as they were.
      const handle = Reflect.apply(original, m, arguments);
      if (active && typeof hooks?.load === 'function') {
        try {
          original.call(m, { load });
        } catch {
          // the program's loader works unrecorded
        }
      }
      return handle;
    },
  }.registerHooks;
  Object.defineProperty(patched, 'name', { value: 'registerHooks' });
  m.registerHooks = patched;
  ModuleObject.syncBuiltinESMExports();
}

type Register = (specifier: string | URL, parentURL?: unknown, options?: unknown) => void;

let registerPatched = false;

/** A loader registered with module.register() after noderec's hooks (tsx's,
 * by `--import tsx` or `npx tsx`) runs before them, so they see its input
 * (raw TypeScript), not its output. After each such registration, this one
 * registers noderec's loader again, in front of it: that instance
 * instruments the other loader's output (with its source map) and leaves
 * what an inner instance, or Node >= 22.15's in-thread hooks, already
 * instrumented. module.register of the ES module namespace `node:module`
 * follows (syncBuiltinESMExports). */
export function registerAfterOthers(): void {
  if (registerPatched) return;
  const m = ModuleObject as unknown as { register?: Register };
  const original = m.register;
  if (typeof original !== 'function') return;
  registerPatched = true;
  const ours = loaderEntry('esm-loader-outer.js');
  const patched = {
    register(specifier: string | URL, parentURL?: unknown, options?: unknown): void {
      // A plain call keeps Node's errors and their stack as they were.
      Reflect.apply(original, m, arguments);
      if (!active) return;
      try {
        deferTicks(() => Reflect.apply(original, m, [ours]));
      } catch {
        // the program's loader works unrecorded
      }
    },
  }.register;
  Object.defineProperty(patched, 'name', { value: 'register' });
  m.register = patched;
  ModuleObject.syncBuiltinESMExports();
}

/** The URL module.register() gets for one of noderec's loaders: a `data:`
 * ES module that requires the CommonJS file and exports its `load`. Given
 * the file itself, the hooks thread would import CommonJS as an ES module,
 * which runs Node's CommonJS export lexer over it first (~5 ms of that
 * thread, which register() waits for). */
function loaderEntry(file: string): string {
  const filename = path.join(__dirname, file);
  // Its modules compile from noderec's code cache there too (js/code-cache.ts).
  const codeCache = path.join(__dirname, '..', 'code-cache.js');
  const src =
    `import { createRequire } from 'node:module';` +
    `const require = createRequire(${JSON.stringify(pathToFileURL(filename).href)});` +
    `export const { load } = require(${JSON.stringify(codeCache)}).withCodeCache(() => require(${JSON.stringify(filename)}));`;
  return `data:text/javascript,${encodeURIComponent(src)}`;
}

/** Off-thread hooks for ES modules (Node 20). */
export function installLoaderThreadHooks(): void {
  const loader = loaderEntry('esm-loader.js');
  // The preload's early registration (js/hooks/early.ts) registers it when
  // start() returns; its worker has booted meanwhile.
  if (claimLoaderSlot(loader)) return;
  // The worker's ticks run as microtasks, without the 'worker' event (early.ts).
  deferTicks(() => (mod as unknown as { register: (s: string, opts?: unknown) => void }).register(loader));
}

export function deactivateEsmHooks(): void {
  active = false;
}
