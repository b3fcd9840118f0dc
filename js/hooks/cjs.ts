// CommonJS hook for Node versions without module.registerHooks (Node 20).
//
// It must not add a stack frame to the program's stack traces, so nothing of
// ours may be on the stack while a module body runs. Two pieces, neither of
// which stays on the stack:
// - a getter on Module.prototype._compile notes which module is about to be
//   compiled (the loader reads `module._compile` just before calling it) and
//   returns the original function unchanged;
// - Module.wrap, which Node calls to wrap the source right before compiling
//   it, instruments that source.
//
// Once Module.wrap is replaced, Node compiles `Module.wrap(source)` as one
// script, so the wrapper text would sit on line 1 of every file (a `#!` line
// would no longer be first, and every column of line 1 would move). Instead,
// wrap() compiles the module function itself with vm.compileFunction, exactly
// as Node's own loader does (no wrapper text, `#!` allowed, `import()`
// resolved by the default loader), and returns a one-call script that hands
// that function to Node: `__nr$.cjs()` (design-docs/decisions.md).
import Module from 'node:module';
import * as vm from 'node:vm';

import { buildSalt, native } from '../native';
import { instrumentable } from './scope';
import { alreadyInstrumented, isTypeScript } from './typescript';

type Wrap = (script: string) => string;
interface ModuleInternals {
  prototype: { _compile: unknown };
  wrap: Wrap;
}

const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];
/** The script Node compiles instead of the wrapped source. */
const TAKE = '__nr$.cjs()';
/** The last `//# sourceMappingURL=` comment of a source (V8 keeps the last). */
const SOURCE_MAP_COMMENT = /\/\/[#@][ \t]+sourceMappingURL=[^\s'"]*[ \t]*$/gm;

let installed = false;
let tsOnly = false;
let active = true;
let compiled: ((...args: unknown[]) => unknown) | null = null;

const DEFAULT_LOADER = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

/** Called by the script `__nr$.cjs()`: the module function compiled by wrap(). */
export function takeCompiled(): unknown {
  const f = compiled;
  compiled = null;
  return f;
}

function lastSourceMapComment(source: string): string {
  if (!source.includes('sourceMappingURL')) return '';
  const all = source.match(SOURCE_MAP_COMMENT);
  return all === null ? '' : `\n${all[all.length - 1]}`;
}

/** Node 20 warns (once) the first time a function compiled with
 * USE_MAIN_CONTEXT_DEFAULT_LOADER calls import(): "ExperimentalWarning:
 * vm.USE_MAIN_CONTEXT_DEFAULT_LOADER is an experimental feature". Node's own
 * loader uses the same loader without the warning, so the program would see
 * a warning it never caused. Spend the once here, silently: an import that
 * fails at resolution (no module is loaded), with emitWarning muted while
 * Node notes the feature as warned. */
function spendDefaultLoaderWarning(): void {
  const emitWarning = process.emitWarning;
  process.emitWarning = function muted(): void {} as typeof process.emitWarning;
  try {
    const probe = vm.compileFunction('return import("node:noderec-none")', [], {
      filename: __filename,
      importModuleDynamically: DEFAULT_LOADER as never,
    }) as () => Promise<unknown>;
    probe().catch(() => undefined);
  } catch {
    // nothing to spend
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Installs the hook. `typeScriptOnly`: only for what a TypeScript loader
 * compiles through `module._compile` (Node >= 22.15, where module.registerHooks
 * sees every other CommonJS source). */
export function installCjsHook(onError: (e: unknown, filename: string) => void, typeScriptOnly = false): void {
  if (installed) return;
  installed = true;
  tsOnly = typeScriptOnly;
  if (DEFAULT_LOADER !== undefined) spendDefaultLoaderWarning();
  const M = Module as unknown as ModuleInternals;
  let compile = M.prototype._compile;
  let pending: string | undefined;
  const proto = M.prototype;
  Object.defineProperty(proto, '_compile', {
    configurable: true,
    enumerable: false,
    get(this: { filename?: unknown } | undefined) {
      const f = this?.filename;
      pending = typeof f === 'string' ? f : undefined;
      return compile;
    },
    set(this: object, v: unknown) {
      if (this === proto) {
        compile = v;
        return;
      }
      // `module._compile = f` on one module (ts-node, pirates) is that
      // module's own property, as without the getter; it still notes the
      // module when read.
      let own = v;
      Object.defineProperty(this, '_compile', {
        configurable: true,
        enumerable: true,
        get(this: { filename?: unknown }) {
          const f = this.filename;
          pending = typeof f === 'string' ? f : undefined;
          return own;
        },
        set(w: unknown) {
          own = w;
        },
      });
    },
  });
  const previousWrap = M.wrap;
  M.wrap = function wrap(script: string): string {
    const filename = pending;
    pending = undefined;
    if (filename === undefined || typeof script !== 'string') return previousWrap(script);
    let code = script;
    if (active && (!tsOnly || isTypeScript(filename)) && instrumentable(filename) && !alreadyInstrumented(script)) {
      try {
        const out = native().instrument(script, filename, false, buildSalt());
        if (out !== null) code = out;
      } catch (e) {
        onError(e, filename);
      }
    }
    if (DEFAULT_LOADER === undefined) return previousWrap(stripHashbang(code));
    try {
      compiled = vm.compileFunction(code, PARAMS, { filename, importModuleDynamically: DEFAULT_LOADER as never }) as typeof compiled;
    } catch {
      // A source Node cannot compile: let Node compile it and report its
      // error the way it does for a patched wrapper.
      compiled = null;
      return previousWrap(stripHashbang(script));
    }
    // Node caches the source map of the script it compiled (when source maps
    // are enabled): give it the original's comment.
    return TAKE + lastSourceMapComment(script);
  };
}

/** `#!` is only allowed at position 0 of a script: keep the line, as a comment. */
function stripHashbang(source: string): string {
  return source.startsWith('#!') ? `//${source.slice(2)}` : source;
}

/** Stops instrumenting new modules (the recorder detached). */
export function deactivateCjsHook(): void {
  active = false;
}

const TS_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts'];

/** Node >= 22.15: calls `install` once a TypeScript loader (tsx, ts-node, a
 * program of its own) sets a `require.extensions` handler for a TypeScript
 * extension: such a handler compiles the file itself and passes its output
 * to `module._compile`, where module.registerHooks does not see it. Until
 * then CommonJS compiles exactly as without the recorder. Each watched key
 * is an accessor until it is set, then a plain property again; a key that
 * was absent is not enumerable meanwhile, so Node's resolution (which tries
 * `Object.keys(require.extensions)`) is unchanged. */
export function onTypeScriptExtension(install: () => void): void {
  const extensions = (Module as unknown as { _extensions: Record<string, unknown> })._extensions;
  for (const ext of TS_EXTENSIONS) {
    const d = Object.getOwnPropertyDescriptor(extensions, ext);
    if (d !== undefined && (!d.configurable || !('value' in d))) continue;
    const value = d?.value;
    Object.defineProperty(extensions, ext, {
      configurable: true,
      enumerable: d?.enumerable ?? false,
      get() {
        return value;
      },
      set(v: unknown) {
        install();
        Object.defineProperty(extensions, ext, { configurable: true, enumerable: true, writable: true, value: v });
      },
    });
  }
}
