// Node 20's module-hooks thread, started before the facade loads (issue 9,
// thirteenth round; design-docs/decisions.md 28). Loaded by register.js
// before anything else of noderec's, so it imports only Node's modules.
//
// module.register() starts Node's hooks worker and then waits, blocked,
// until that worker has booted a Node environment (~40-60 ms of that thread
// on Node 20) and imported the loader. Registered at the end of start(), as
// before, the main thread did nothing during that boot. Node 20's
// ModuleLoader.register() creates the worker first and only then turns the
// specifier into a string (`${specifier}`) before it sends the request: a
// specifier whose toString() loads the facade and starts the session
// overlaps the two. The string it returns is the loader start() asked for
// (claimLoaderSlot), or an empty module when start() did not ask (it failed,
// or the run is not recorded). A Node whose register() stringifies first
// runs the same steps one after the other, as before.
import * as mod from 'node:module';
import * as vm from 'node:vm';
import { withoutWarning } from './quiet-warning';

/** Captured here (this file loads in Node's hooks thread, which loads nothing
 * of the recorder beyond the loader: not ../runtime/primordials). */
const ReflectApply = Reflect.apply;

type Register = (specifier: unknown, parentURL?: unknown, options?: unknown) => void;

/** A module with no hooks: what the early registration registers when
 * start() asked for no loader. */
const NO_HOOKS = 'data:text/javascript,';

/** Open while the early registration runs its work: the loader URL that
 * start() claims (installLoaderThreadHooks), registered when the work ends. */
let slotOpen = false;
let claimed: string | null = null;

/** Whether this Node registers ES module hooks in a thread of their own
 * (module.register without module.registerHooks: Node < 22.15). */
export function hooksThreadNode(): boolean {
  const m = mod as unknown as { register?: unknown; registerHooks?: unknown };
  return typeof m.register === 'function' && typeof m.registerHooks !== 'function';
}

/** Called by installLoaderThreadHooks: true if an early registration will
 * register `url` (the caller must not register it itself). */
export function claimLoaderSlot(url: string): boolean {
  if (!slotOpen || claimed !== null) return false;
  claimed = url;
  return true;
}

/** Runs `work` (which loads the facade and starts recording; its own
 * failures it handles) while Node's hooks worker boots, then registers the
 * loader `work` claimed. An exception of `work` is thrown after the
 * registration. */
export function registerEarly(work: () => void): void {
  const register = (mod as unknown as { register: Register }).register;
  claimed = null;
  let done = false;
  let failed = false;
  let failure: unknown;
  const runWork = (): void => {
    if (done) return;
    done = true;
    slotOpen = true;
    try {
      work();
    } catch (e) {
      failed = true;
      failure = e;
    } finally {
      slotOpen = false;
    }
  };
  const specifier = {
    toString(): string {
      // The worker's own ticks (its stdio pipes, the process 'worker'
      // event) stay deferred; the facade's and the session's are the
      // program's ordinary ticks, as when it loaded before register().
      withTicks(runWork);
      return claimed ?? NO_HOOKS;
    },
  };
  try {
    deferTicks(() => register(specifier));
  } catch (e) {
    // Thrown after the work ran: register()'s own failure, as before.
    if (done) throw e;
  }
  // A register() that threw before it stringified: the work still runs,
  // then the loader it claimed is registered, one after the other.
  if (!done) {
    runWork();
    const url = claimed;
    if (url !== null) deferTicks(() => register(url));
  }
  if (failed) throw failure;
}

/** process.nextTick as the program has it, while deferTicks collects. */
let realNextTick: typeof process.nextTick | null = null;

function withTicks(f: () => void): void {
  const collecting = process.nextTick;
  if (realNextTick === null) return f();
  process.nextTick = realNextTick;
  try {
    f();
  } finally {
    // What the work left there (its own wrapper, if it set one) is what
    // deferTicks restores.
    realNextTick = process.nextTick;
    process.nextTick = collecting;
  }
}

/** Runs `f` (which starts Node's hooks worker) with process.nextTick
 * callbacks collected, then queues them as microtasks without the process
 * 'worker' event. The worker queues ticks (piping its stdio, emitting
 * 'worker' for it); a tick still queued when the program's first microtasks
 * run makes them run inside processTicksAndRejections, whose frame then
 * shows up in their stack traces (below an async function's frame); and the
 * program would see a 'worker' event for a worker it never created. */
export function deferTicks(f: () => void): void {
  const deferred: [(...a: unknown[]) => void, unknown[]][] = [];
  const outer = realNextTick;
  realNextTick = process.nextTick;
  process.nextTick = function collect(cb: (...a: unknown[]) => void, ...args: unknown[]): void {
    deferred[deferred.length] = [cb, args];
  } as typeof process.nextTick;
  try {
    f();
  } finally {
    process.nextTick = realNextTick;
    realNextTick = outer;
  }
  // The microtasks run after the program's first code, which may have
  // replaced built-ins: captured ones only there (decision 54).
  for (let i = 0; i < deferred.length; i++) {
    const d = deferred[i];
    queueMicrotask(() => runWithoutWorkerEvent(d[0], d[1]));
  }
}

function runWithoutWorkerEvent(cb: (...a: unknown[]) => void, args: unknown[]): void {
  const emit = process.emit;
  process.emit = function emitExceptWorker(this: NodeJS.Process, name: string | symbol, ...rest: unknown[]): boolean {
    if (name === 'worker') return false;
    const a: unknown[] = [name];
    for (let i = 0; i < rest.length; i++) a[i + 1] = rest[i];
    return ReflectApply(emit, this, a) as boolean;
  } as typeof process.emit;
  try {
    ReflectApply(cb, undefined, args);
  } finally {
    process.emit = emit;
  }
}

const DEFAULT_LOADER = (vm as unknown as { constants?: { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } }).constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
let spent = false;

/** Node 20 warns (once) the first time a function compiled with
 * USE_MAIN_CONTEXT_DEFAULT_LOADER calls import(): "ExperimentalWarning:
 * vm.USE_MAIN_CONTEXT_DEFAULT_LOADER is an experimental feature". Node's own
 * loader uses the same loader without the warning, so the program would see
 * a warning it never caused. Spend the once here, silently: an import that
 * fails at resolution (no module is loaded), with that warning muted while
 * Node notes the feature as warned. Only that one: the import may be the
 * first of the process, and Node's ES module loader, created by it, warns
 * about `--experimental-loader` (mocha --loader=ts-node/esm), which the
 * program must still see. Before the early registration: once the hooks
 * worker exists, an import() waits for it (and would end the overlap). */
export function spendDefaultLoaderWarning(): void {
  if (spent || DEFAULT_LOADER === undefined) return;
  spent = true;
  withoutWarning('USE_MAIN_CONTEXT_DEFAULT_LOADER', () => {
    try {
      const probe = vm.compileFunction('return import("node:noderec-none")', [], {
        filename: __filename,
        importModuleDynamically: DEFAULT_LOADER as never,
      }) as () => Promise<unknown>;
      probe().catch(() => undefined);
    } catch {
      // nothing to spend
    }
  });
}
