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
import { isMainThread } from 'node:worker_threads';

import * as fs from 'node:fs';
import * as path from 'node:path';

import { buildSalt } from '../native';
import { spendDefaultLoaderWarning } from './early';
import { usesNodeTest, watchNodeTest } from '../runners/node-test';
import { instrumentable } from './scope';
import {
  JSONParse,
  RegExpPrototypeExec,
  StringPrototypeEndsWith,
  StringPrototypeIncludes,
  StringPrototypeSlice,
  StringPrototypeStartsWith,
} from '../runtime/primordials';
import { asNodeCompileError, CJS_PARAMS, commonJsSyntaxError, detectedAsModule, instrumentModule, isParseFailure } from './syntax';
import { alreadyInstrumented } from './typescript';

type Wrap = (script: string) => string;
interface ModuleInternals {
  prototype: { _compile: unknown };
  wrap: Wrap;
}

const PARAMS = CJS_PARAMS;
/** The script Node compiles instead of the wrapped source. */
const TAKE = '__nr$.cjs()';
/** The last `//# sourceMappingURL=` comment of a source (V8 keeps the last). */
const SOURCE_MAP_COMMENT = /\/\/[#@][ \t]+sourceMappingURL=[^\s'"]*[ \t]*$/gm;

let installed = false;
let active = true;
type ModuleFunction = (...args: unknown[]) => unknown;
let compiled: ModuleFunction | null = null;

const DEFAULT_LOADER = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;

/** Called by the script `__nr$.cjs()`: the module function compiled by wrap(). */
export function takeCompiled(): unknown {
  const f = compiled;
  compiled = null;
  return f;
}

function lastSourceMapComment(source: string): string {
  // Per `require`: captured built-ins only (decision 54; `match` would look
  // up the program's RegExp.prototype.exec).
  if (!StringPrototypeIncludes(source, 'sourceMappingURL')) return '';
  let last: string | null = null;
  SOURCE_MAP_COMMENT.lastIndex = 0;
  for (;;) {
    const m = RegExpPrototypeExec(SOURCE_MAP_COMMENT, source);
    if (m === null) break;
    last = m[0];
    if (m[0] === '') SOURCE_MAP_COMMENT.lastIndex++;
  }
  return last === null ? '' : `\n${last}`;
}

/** Installs the hook. `_behindInThreadHooks` (Node >= 22.15, installed once a
 * TypeScript loader sets a `require.extensions` handler): module.registerHooks
 * sees the CommonJS sources Node reads, so the hook is there for what the
 * loader compiles itself: its TypeScript, and the `.js`/`.cjs` files its
 * handlers read from disk (tsx's, for a CommonJS file an ES module imports),
 * which the in-thread hooks never see. Either way a source the in-thread
 * hooks instrumented is left as it is. */
export function installCjsHook(onError: (e: unknown, filename: string) => void, _behindInThreadHooks = false): void {
  if (installed) return;
  installed = true;
  spendDefaultLoaderWarning();
  const M = Module as unknown as ModuleInternals;
  let compile = M.prototype._compile;
  nameForStackFrames(compile);
  let pending: string | undefined;
  let pendingModule: object | undefined;
  const proto = M.prototype;
  Object.defineProperty(proto, '_compile', {
    configurable: true,
    enumerable: false,
    get(this: { filename?: unknown } | undefined) {
      const f = this?.filename;
      pending = typeof f === 'string' ? f : undefined;
      pendingModule = this;
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
          pendingModule = this;
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
    const module = pendingModule;
    pending = undefined;
    pendingModule = undefined;
    if (filename === undefined || typeof script !== 'string') return previousWrap(script);
    let code = script;
    let parseFailure: unknown = null;
    // A test file of node:test: its tests become spans (runners/node-test.ts).
    if (active && instrumentable(filename) && usesNodeTest(script)) watchNodeTest();
    // Behind the in-thread hooks, a source of theirs is either instrumented
    // (left alone here) or one their filters skipped: asked again, they skip it.
    if (active && instrumentable(filename) && !alreadyInstrumented(script)) {
      try {
        const out = instrumentModule(script, filename, false, buildSalt());
        if (out !== null) code = out;
      } catch (e) {
        if (isParseFailure(e)) parseFailure = e;
        else onError(e, filename);
      }
    }
    /** The original does not compile: the program's syntax error, for
     * Node to report (or an entry point Node runs as an ES module). */
    const notCompiled = (syntaxError: Error): string => {
      compiled = null;
      if (module !== undefined && detectsModule(module, filename) && detectedAsModule(syntaxError, script, filename, buildSalt())) {
        return runAsModule(module, script, filename, compile);
      }
      throw asNodeCompileError(syntaxError, wrap);
    };
    if (parseFailure !== null) {
      // Code V8 compiles but the instrumenter cannot parse is a recorder failure.
      const syntaxError = commonJsSyntaxError(script, filename);
      if (syntaxError === null) onError(parseFailure, filename);
      else if (DEFAULT_LOADER !== undefined) return notCompiled(syntaxError);
    }
    if (DEFAULT_LOADER === undefined) return previousWrap(stripHashbang(code));
    try {
      compiled = vm.compileFunction(code, PARAMS, { filename, importModuleDynamically: DEFAULT_LOADER as never }) as ModuleFunction;
    } catch (e) {
      compiled = null;
      if (!(e instanceof Error) || e.name !== 'SyntaxError') throw e;
      // A source left as it was (a filter skipped it, the recorder stopped).
      if (code === script) return notCompiled(e);
      // Instrumented code that does not compile (the original compiled):
      // a recorder failure; the original runs unrecorded.
      onError(e, filename);
      const syntaxError = commonJsSyntaxError(script, filename);
      if (syntaxError !== null) return notCompiled(syntaxError);
      compiled = vm.compileFunction(script, PARAMS, { filename, importModuleDynamically: DEFAULT_LOADER as never }) as ModuleFunction;
    }
    // Node caches the source map of the script it compiled (when source maps
    // are enabled): give it the original's comment.
    return TAKE + lastSourceMapComment(script);
  };
}

/** True when Node would detect the module format of this CommonJS module
 * from its syntax (Node >= 20.19 / 22.7, wrapSafe): the entry point, in a
 * `.js` file whose package scope has no "type", with detection left on.
 * Once Module.wrap is replaced, Node 20 no longer detects (its patched
 * path compiles the wrapper text as CommonJS), so the hook does. */
function detectsModule(module: object, filename: string): boolean {
  if (!StringPrototypeEndsWith(filename, '.js')) return false;
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) if (argv[i] === '--no-experimental-detect-module') return false;
  if (StringPrototypeIncludes(process.env.NODE_OPTIONS ?? '', '--no-experimental-detect-module')) return false;
  return packageType(pathDirname(filename)) === undefined;
}

/** The "type" of the nearest package.json (Node's package scope), with the
 * functions captured at the recorder's load: the program may replace
 * `fs.readFileSync`, `JSON.parse`, `path.dirname` (decision 54, review59). */
function packageType(dir: string): string | undefined {
  for (let d = dir; ; d = pathDirname(d)) {
    if (pathBasename(d) === 'node_modules') return undefined;
    let text: string;
    try {
      text = fsReadFileSync(pathJoin(d, 'package.json'), 'utf8');
    } catch {
      if (pathDirname(d) === d) return undefined;
      continue;
    }
    try {
      const t = (JSONParse(text) as { type?: unknown }).type;
      return typeof t === 'string' ? t : undefined;
    } catch {
      return undefined;
    }
  }
}
const fsReadFileSync = fs.readFileSync;
const pathDirname = path.dirname;
const pathBasename = path.basename;
const pathJoin = path.join;

/** The entry point holds ES module syntax: it runs as Node runs it without
 * the recorder, through Node's `_compile` with the format `module`
 * (loadESMFromCJS: the ES module loader imports the entry, and noderec's ES
 * module hooks instrument it). The function Node calls in place of the
 * module function does just that; nothing of it stays on the stack once
 * the ES module loader takes over. */
function runAsModule(module: object, script: string, filename: string, compile: unknown): string {
  compiled = function loadAsModule(): void {
    Reflect.apply(compile as (...a: unknown[]) => unknown, module, [script, filename, 'module']);
  };
  return TAKE;
}

/** A stack frame of Node's `_compile` reads `at Module._compile`: V8 names
 * it by the name it inferred when compiling `Module.prototype._compile =
 * function (…)`, or, where it has none (Node 20's worker threads), by the
 * receiver's property that holds the function, which the accessor hides
 * (`at Module.<anonymous>`). In a worker the function gets the name V8
 * would find. */
function nameForStackFrames(compile: unknown): void {
  if (isMainThread || typeof compile !== 'function' || compile.name !== '') return;
  const d = Object.getOwnPropertyDescriptor(compile, 'name');
  if (d === undefined || d.configurable !== true) return;
  Object.defineProperty(compile, 'name', { ...d, value: '_compile' });
}

/** `#!` is only allowed at position 0 of a script: keep the line, as a comment. */
function stripHashbang(source: string): string {
  return StringPrototypeStartsWith(source, '#!') ? `//${StringPrototypeSlice(source, 2)}` : source;
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
