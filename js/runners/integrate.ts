// Test runners that load the code under test where the Node module hooks
// never see it: jest (its own transform, then vm contexts) and vitest (vite
// transforms, then vite-node runs the result with vm.runInThisContext in a
// worker). In a recorded process that is one of theirs, noderec patches the
// runner's loading path so the code under test is instrumented after the
// runner's own transform, with its source map (positions stay the user's):
//
// - jest: `createScriptTransformer` of `@jest/transform` is wrapped (through
//   the CommonJS loader, `Module._load`, in jest processes only); the first
//   ScriptTransformer it returns gets its `_transformAndBuildScript(Async)`
//   wrapped: the transformed code, with jest's source map inline, goes
//   through the instrumenter. Jest's disk cache keeps the uninstrumented
//   code; its in-memory cache (one per process) the instrumented code.
//   `vm.createContext` is wrapped so every context a jest environment creates
//   gets the recorder's runtime bindings (`exposeRuntime`,
//   design-docs/runners.md *vm contexts*).
// - vitest (2 to 4, pools forks, threads, vmForks, vmThreads; 4 runs modules
//   with vite's module runner, in the same wrapper):
//   `vm.runInThisContext` and `vm.runInContext` are wrapped in vitest worker
//   processes and threads; the module body inside vite-node's
//   `'use strict';async (…)=>{{…}}` wrapper is instrumented as an ES module
//   body (vite's inline source map gives the original positions); a context
//   gets the runtime bindings before its first instrumented module.
//
// Runners detected but not integrated (vitest outside 2–4, a jest without
// `createScriptTransformer`, jest's ES module mode) are reported on stderr,
// once per run, only under `noderec record`.
import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import vm from 'node:vm';

import { logger } from '../logging/logger';
import { buildSalt, native } from '../native';
import { isNodeTestProcess, watchNodeTest } from './node-test';
import { watchVitestState, wrapJasmineFramework, wrapJestFramework } from './test-spans';

type OnError = (e: unknown, filename: string) => void;
type Expose = (context: vm.Context) => void;

/** Which runner this process belongs to, from its entry script. */
export function detectRunner(argv1: string | undefined): 'jest' | 'vitest-worker' | 'vitest' | null {
  if (typeof argv1 !== 'string') return null;
  const p = argv1.replace(/\\/g, '/');
  // vitest's forks pools start tinypool's child entry, which loads vitest's worker.
  if (/\/vitest\/dist\/workers\/[\w]+\.js$|\/tinypool\/dist\/entry\/(process|worker)\.js$/.test(p)) return 'vitest-worker';
  if (/\/vitest\/vitest\.mjs$|\/\.bin\/vitest$/.test(p)) return 'vitest';
  if (/\/jest-worker\/build\/|\/(jest|jest-cli)\/bin\/jest\.js$|\/\.bin\/jest$/.test(p)) return 'jest';
  return null;
}

let installed = false;

type Kind = ReturnType<typeof detectRunner>;

function runnerOfProcess(): Kind {
  try {
    const k = native().runnerKind();
    return k === 'jest' || k === 'vitest' || k === 'vitest-worker' ? k : null;
  } catch {
    return null;
  }
}

function setRunnerOfProcess(kind: Kind): void {
  try {
    native().setRunnerKind(kind ?? '');
  } catch {
    // worker threads then run unintegrated
  }
}

/** Installs the integration for the runner this process (or worker thread)
 * belongs to. `entry` is the entry script of the process; `inWorkerThread`
 * is true in a worker thread (vitest's threads pool, jest's workerThreads). */
/** How the runtime is put on another global (set by the first install). */
let exposeHook: Expose | null = null;

export function installRunnerIntegration(onError: OnError, expose: Expose, entry: string | undefined, inWorkerThread: boolean): void {
  exposeHook = expose;
  if (installed) return;
  // Test-only: the integrations that need no config are off (to test the
  // ones that do, noderec/jest-transformer and noderec/vite-plugin, alone).
  if (process.env.NODEREC_TEST_GUARD === '1' && process.env.NODEREC_TEST_NO_RUNNER_PATCH === '1') return;
  // A worker thread does not see its entry script: the main thread's kind
  // (shared through the addon) tells which runner started it.
  // node:test's tests become spans (node-test.ts); other processes that
  // use it are found by their modules' source (js/hooks/).
  if (isNodeTestProcess()) watchNodeTest();
  let kind = inWorkerThread ? runnerOfProcess() : detectRunner(entry);
  if (!inWorkerThread) setRunnerOfProcess(kind);
  if (kind === null) return;
  if (kind === 'vitest' && inWorkerThread) kind = 'vitest-worker';
  installed = true;
  try {
    if (kind === 'jest') {
      installJest(onError, expose);
      const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
      if (flags.includes('--experimental-vm-modules')) {
        notIntegrated('jest', 'its ES module mode (--experimental-vm-modules) is not integrated: test code jest loads as ES modules is not recorded');
      }
    }
    else if (kind === 'vitest-worker') installVitestWorker(onError, expose);
    else if (kind === 'vitest') checkVitestVersion(entry);
  } catch (e) {
    notIntegrated(kind.startsWith('vitest') ? 'vitest' : 'jest', `cannot integrate: ${String(e)}`);
  }
}

// ---------------------------------------------------------------- jest

interface TransformResult {
  code: string;
  originalCode: string;
  sourceMapPath: string | null;
}
type BuildScript = (this: unknown, filename: string, options: { isInternalModule?: boolean }, ...rest: unknown[]) => TransformResult;
type BuildScriptAsync = (this: unknown, filename: string, options: { isInternalModule?: boolean }, ...rest: unknown[]) => Promise<TransformResult>;

interface LoadFn {
  (request: string, parent: unknown, isMain: boolean): unknown;
}

function installJest(onError: OnError, expose: Expose): void {
  const M = Module as unknown as { _load: LoadFn; _resolveFilename(request: string, parent: unknown, isMain: boolean): string };
  const originalLoad = M._load;
  // Each copy of @jest/transform loaded (npm nests one per jest package when
  // it cannot dedupe them, e.g. next to a babel-jest of another major) gets
  // its own patched exports.
  const patched = new Map<unknown, unknown>();
  // A frame of ours sits under every require() while this wrapper is in
  // place: it is removed once the copy jest-runner requires (the one whose
  // ScriptTransformer transforms the code under test) is patched, early in
  // every jest process; later requires of a patched file get the patched
  // exports from the module's own cache entry (see below).
  const load = function _load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    const exports = originalLoad.call(this, request, parent, isMain);
    if (request !== '@jest/transform' || exports === null || typeof exports !== 'object') return exports;
    let to = patched.get(exports);
    if (to === undefined) {
      to = patchJestTransform(exports as Record<string, unknown>, onError);
      patched.set(exports, to);
      // Every later require() of the file returns the patched copy.
      try {
        const file = M._resolveFilename(request, parent, isMain);
        const cached = (Module as unknown as { _cache: Record<string, { exports: unknown }> })._cache[file];
        if (cached !== undefined && cached.exports === exports) cached.exports = to;
      } catch {
        // the wrapper hands out the copy
      }
    }
    const from = (parent as { filename?: unknown } | null)?.filename;
    if (typeof from === 'string' && /[\\/]jest-runner[\\/]/.test(from) && M._load === load) M._load = originalLoad;
    return to;
  } as LoadFn;
  M._load = load;
  wrapCreateContext(expose);
}

let contextsWrapped = false;

function wrapCreateContext(expose: Expose): void {
  if (contextsWrapped) return;
  contextsWrapped = true;
  const originalCreateContext = vm.createContext;
  vm.createContext = function createContext(this: unknown, ...args: unknown[]): vm.Context {
    const ctx = (originalCreateContext as (...a: unknown[]) => vm.Context).apply(this, args);
    try {
      expose(ctx);
    } catch {
      // a context the runtime cannot be put on: its code runs unrecorded
    }
    return ctx;
  } as typeof vm.createContext;
}

function patchJestTransform(exports: Record<string, unknown>, onError: OnError): Record<string, unknown> {
  const create = exports.createScriptTransformer;
  if (typeof create !== 'function') {
    notIntegrated('jest', '@jest/transform has no createScriptTransformer (jest < 27?): the code under test is not recorded');
    return exports;
  }
  const copy: Record<string, unknown> = Object.create(Object.getPrototypeOf(exports) as object | null) as Record<string, unknown>;
  for (const key of Reflect.ownKeys(exports)) {
    const d = Object.getOwnPropertyDescriptor(exports, key);
    if (d === undefined) continue;
    if ('get' in d) Object.defineProperty(copy, key, { enumerable: d.enumerable, configurable: true, get: () => (exports as Record<PropertyKey, unknown>)[key] });
    else Object.defineProperty(copy, key, { ...d, configurable: true });
  }
  let protoPatched = false;
  Object.defineProperty(copy, 'createScriptTransformer', {
    enumerable: true,
    configurable: true,
    writable: true,
    value: async function createScriptTransformer(this: unknown, ...args: unknown[]): Promise<unknown> {
      const t = await (create as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      if (!protoPatched && t !== null && typeof t === 'object') {
        protoPatched = patchScriptTransformer(Object.getPrototypeOf(t) as Record<string, unknown>, onError);
      }
      return t;
    },
  });
  return copy;
}

function patchScriptTransformer(proto: Record<string, unknown>, onError: OnError): boolean {
  const sync = proto._transformAndBuildScript;
  const asyncFn = proto._transformAndBuildScriptAsync;
  if (typeof sync !== 'function') {
    notIntegrated('jest', 'ScriptTransformer has no _transformAndBuildScript (an unknown jest version): the code under test is not recorded');
    return true;
  }
  proto._transformAndBuildScript = function _transformAndBuildScript(this: unknown, filename: string, options: { isInternalModule?: boolean }, ...rest: unknown[]): TransformResult {
    const r = (sync as BuildScript).call(this, filename, options, ...rest);
    return instrumentJestResult(r, filename, options, onError);
  };
  // jest-runner loads the test framework (jest-circus, jest-jasmine2)
  // through it: its test events become spans (test-spans.ts).
  const requireAndTranspile = proto.requireAndTranspileModule;
  if (typeof requireAndTranspile === 'function') {
    proto.requireAndTranspileModule = async function requireAndTranspileModule(this: unknown, moduleName: unknown, ...rest: unknown[]): Promise<unknown> {
      const m = await (requireAndTranspile as (...a: unknown[]) => Promise<unknown>).call(this, moduleName, ...rest);
      return typeof moduleName === 'string' ? wrapFramework(moduleName, m) : m;
    };
  }
  if (typeof asyncFn === 'function') {
    proto._transformAndBuildScriptAsync = async function _transformAndBuildScriptAsync(this: unknown, filename: string, options: { isInternalModule?: boolean }, ...rest: unknown[]): Promise<TransformResult> {
      const r = await (asyncFn as BuildScriptAsync).call(this, filename, options, ...rest);
      return instrumentJestResult(r, filename, options, onError);
    };
  }
  return true;
}

function instrumentForRunner(source: string, filename: string, isModule: boolean, salt: string): string | null {
  return native().instrumentForRunner(source, filename, isModule, salt);
}

/** Code that went through noderec/jest-transformer (not instrumented twice). */
const fromTransformer = new Set<string>();

function instrumentJestResult(r: TransformResult, filename: string, options: { isInternalModule?: boolean }, onError: OnError): TransformResult {
  if (options?.isInternalModule === true || r === null || typeof r !== 'object' || typeof r.code !== 'string') return r;
  if (fromTransformer.has(r.code)) return r;
  let map: string | null = null;
  if (r.sourceMapPath !== null) {
    try {
      map = fs.readFileSync(r.sourceMapPath, 'utf8');
    } catch {
      // no map: positions are those of the transformed code
    }
  }
  try {
    const out = instrumentJestOutput(r.code, map, filename);
    return out === null ? r : { ...r, code: out };
  } catch (e) {
    runnerInstrumentError(e, filename, onError);
    return r;
  }
}

/** Instruments what a jest transformer produced (CommonJS), its source map
 * appended inline; null when the file is not recorded. Throws the
 * instrumenter's error. */
export function instrumentJestOutput(code: string, map: unknown, filename: string): string | null {
  if (!/\.(c|m)?[jt]sx?$/.test(filename)) return null;
  let source = code;
  if (map !== null && map !== undefined && !/\/\/[#@] sourceMappingURL=data:/.test(source)) {
    const text = typeof map === 'string' ? map : JSON.stringify(map);
    source += `\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(text).toString('base64')}`;
  }
  const out = instrumentForRunner(source, filename, false, buildSalt());
  if (out !== null) fromTransformer.add(out);
  return out;
}

/** The test framework's function (jest-circus's jestAdapter, jest-jasmine2's
 * jasmine2), wrapped so its tests become spans; others unchanged. */
function wrapFramework(file: string, fn: unknown): unknown {
  if (/[\\/]jest-circus[\\/]/.test(file)) return wrapJestFramework(fn);
  if (/[\\/]jest-jasmine2[\\/]/.test(file)) return wrapJasmineFramework(fn);
  return fn;
}

let frameworkWatched = false;

/** For noderec/jest-transformer (jest started by a script of the project,
 * where the ScriptTransformer is not patched): jest loads its transformers
 * before the test framework, which jest-util's requireOrImportModule then
 * requires by its path. `Module._load` is wrapped until that require: the
 * module's `default` export (the framework's function) is replaced in its
 * exports object, which every later require of it returns. */
export function watchJestFramework(): void {
  if (frameworkWatched) return;
  frameworkWatched = true;
  const M = Module as unknown as { _load: LoadFn };
  const originalLoad = M._load;
  const load = function _load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    const exports = originalLoad.call(this, request, parent, isMain);
    if (typeof request !== 'string' || !/[\\/](jest-circus|jest-jasmine2)[\\/]/.test(request) || !path.isAbsolute(request)) return exports;
    try {
      const d = exports !== null && typeof exports === 'object' ? Object.getOwnPropertyDescriptor(exports, 'default') : undefined;
      if (d !== undefined && 'value' in d && d.writable === true && typeof d.value === 'function') {
        (exports as { default: unknown }).default = wrapFramework(request, d.value);
        if (M._load === load) M._load = originalLoad;
      }
    } catch {
      // no spans
    }
    return exports;
  } as LoadFn;
  M._load = load;
}

/** For noderec/jest-transformer: the vm contexts jest creates reach the runtime. */
export function installJestContexts(): void {
  const expose = exposeHook;
  if (expose !== null) wrapCreateContext(expose);
}

// ---------------------------------------------------------------- vitest

/** What the prologue of code from noderec/vite-plugin contains. */
export const PORTABLE_MARK = '__nr$.reg(';

const VITE_NODE_WRAPPER = /^'use strict';async \([\w$,]*\)=>\{\{/;

/** The module body inside vite-node's wrapper, instrumented as an ES module
 * body; null when `code` is not such a module. */
function instrumentViteNodeModule(code: unknown, filename: unknown, onError: OnError): string | null {
  if (typeof code !== 'string' || typeof filename !== 'string' || !path.isAbsolute(filename) || !code.endsWith('\n}}')) return null;
  const m = VITE_NODE_WRAPPER.exec(code);
  // Already instrumented by noderec/vite-plugin.
  if (m === null || code.includes(PORTABLE_MARK)) return null;
  const body = code.slice(m[0].length, code.length - 3);
  try {
    const out = instrumentForRunner(body, filename, true, buildSalt());
    return out === null ? null : m[0] + out + '\n}}';
  } catch (e) {
    runnerInstrumentError(e, filename, onError);
    return null;
  }
}

function filenameOf(options: unknown): unknown {
  return typeof options === 'object' && options !== null ? (options as { filename?: unknown }).filename : undefined;
}

function installVitestWorker(onError: OnError, expose: Expose): void {
  const inThis = vm.runInThisContext;
  vm.runInThisContext = function runInThisContext(this: unknown, code: string, options?: vm.RunningScriptOptions | string): unknown {
    const out = instrumentViteNodeModule(code, filenameOf(options), onError);
    // By now the worker state exists: its tests become spans.
    if (out !== null) watchVitestState((globalThis as { __vitest_worker__?: unknown }).__vitest_worker__);
    return (inThis as (c: string, o?: unknown) => unknown).call(this, out ?? code, options);
  } as typeof vm.runInThisContext;
  // The vm pools (vmThreads, vmForks) run modules in a context of their own.
  const inContext = vm.runInContext;
  vm.runInContext = function runInContext(this: unknown, code: string, context: vm.Context, options?: vm.RunningScriptOptions | string): unknown {
    const out = instrumentViteNodeModule(code, filenameOf(options), onError);
    if (out !== null) {
      try {
        watchVitestState((context as { __vitest_worker__?: unknown }).__vitest_worker__);
      } catch {
        // no spans
      }
      try {
        expose(context);
      } catch {
        // the module runs instrumented but cannot reach the runtime: it would throw
        return (inContext as (c: string, x: vm.Context, o?: unknown) => unknown).call(this, code, context, options);
      }
    }
    return (inContext as (c: string, x: vm.Context, o?: unknown) => unknown).call(this, out ?? code, context, options);
  } as typeof vm.runInContext;
  // `import { runInThisContext } from 'node:vm'` sees the wrappers too.
  (Module as unknown as { syncBuiltinESMExports(): void }).syncBuiltinESMExports();
}

function checkVitestVersion(entry: string | undefined): void {
  if (entry === undefined) return;
  let dir = path.dirname(fs.realpathSync(entry));
  for (let i = 0; i < 4; i++) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      const p = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string };
      if (p.name === 'vitest') {
        const major = Number((p.version ?? '0').split('.')[0]);
        if (major < 2 || major > 4) notIntegrated('vitest', `vitest ${p.version ?? '?'} is not integrated (2 to 4 are): the code under test is not recorded`);
        return;
      }
    }
    dir = path.dirname(dir);
  }
}

// ---------------------------------------------------------------- reporting

/** Code the runner hands over that noderec cannot parse (ES module syntax
 * jest did not transform, Flow, JSX) runs as the runner gave it: the runner
 * reports its own syntax error, exactly as without the recorder. Any other
 * error is a recorder failure. */
function runnerInstrumentError(e: unknown, filename: string, onError: OnError): void {
  if ((e as { code?: unknown })?.code === 'ERR_INSTRUMENT') {
    logger.debug('noderec::runners', `left uninstrumented: ${String((e as Error).message)}`, { file: filename });
    return;
  }
  onError(e, filename);
}

/** One line on stderr per runner and run, only under `noderec record`. */
function notIntegrated(runner: string, why: string): void {
  const errors = process.env.NODEREC_RUN_ERRORS;
  if (errors === undefined || errors === '') return;
  try {
    const fd = fs.openSync(path.join(path.dirname(errors), `.not-integrated-${runner}`), 'wx', 0o600);
    fs.closeSync(fd);
  } catch {
    return;
  }
  try {
    fs.writeSync(2, `noderec: ${runner}: ${why}\n`);
  } catch {
    // stderr closed
  }
}
