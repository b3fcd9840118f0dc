// Room for the recorded program's recursion on the main thread and in
// worker threads (issue 8, defect 5; design-docs/decisions.md 9, 18, 21). Instrumented frames are larger
// than the originals (the activation value, the `try/finally` that closes
// an activation when it throws), so with V8's stack limit unchanged the
// deepest recursion that works recorded is 64-90% of the plain one. The
// frames cannot shrink further without losing what the trace needs; the
// recorder gives the stack the room they take instead:
// `NODEREC_STACK_ROOM` percent of V8's `--stack-size` (host/stack.rs moves
// the limit through `v8::Isolate::SetStackLimit`).
import { logger } from './logging/logger';
import { native } from './native';
import {
  ObjectCreate,
  ObjectDefineProperty,
  ReflectApply,
  ReflectConstruct,
  WeakMapPrototypeGet,
  WeakMapPrototypeSet,
} from './runtime/primordials';

/** V8's default `--stack-size` on 64-bit platforms, KiB. */
const V8_STACK_KIB = 984;

/** The `--stack-size=N` node was started with (the last one given wins;
 * node accepts no other spelling, and none in NODE_OPTIONS), else V8's
 * default. */
export function v8StackSizeKib(execArgv: readonly string[] = process.execArgv): number {
  let kib = V8_STACK_KIB;
  for (const a of execArgv) {
    if (!a.startsWith('--stack-size=') && !a.startsWith('--stack_size=')) continue;
    const v = a.slice(13);
    if (/^\d+$/.test(v)) kib = Number(v);
  }
  return kib;
}

/** Gives the main thread `percent`% of V8's stack room (once per process:
 * host/stack.rs moves the limit only the first time). Never fails the
 * recording: a platform or a node where the limit cannot move keeps V8's
 * (logged at debug). */
export function growStack(percent: number): void {
  if (percent <= 100) return;
  const kib = v8StackSizeKib();
  try {
    const r = native().stackGrow(kib, percent);
    if (r.unchanged == null) logger.debug('noderec::stack', 'stack limit moved', { before_kib: r.beforeKib, after_kib: r.afterKib, percent });
    else logger.debug('noderec::stack', 'stack limit unchanged', { reason: r.unchanged, stack_size_kib: kib });
  } catch (e) {
    logger.debug('noderec::stack', 'stack limit unchanged', { error: String(e) });
  }
}

// ---- worker threads ---------------------------------------------------------
// A worker's JavaScript runs on a thread of its own, of
// `resourceLimits.stackSizeMb` (4 MiB unless the program sets it), and Node
// puts V8's limit 192 KiB above that thread's end: there is no spare stack
// to move the limit into. So the thread that creates a worker asks Node for
// a larger thread, with the same share of room as the main thread gets, and
// the program sees the limits it gave: `worker.resourceLimits` outside, and
// `require('node:worker_threads').resourceLimits` inside (the worker's
// recorder sets it back; the two threads share host/stack.rs's table of the
// sizes given). design-docs/decisions.md 21.

/** Node's kStackBufferSize (src/node_worker.cc): room kept under V8's limit, MiB. */
const WORKER_BUFFER_MB = 192 / 1024;
/** Node's default worker stack, MiB. */
const WORKER_STACK_MB = 4;
/** Above this the program's own stack is left as it is. */
const WORKER_MOST_MB = 256;

/** What `resourceLimits.stackSizeMb` reads for a worker given `v`
 * (node_worker.cc: a number > 0, at least the buffer; else the default). */
export function seenStackMb(v: unknown): number {
  if (typeof v !== 'number' || !(v > 0)) return WORKER_STACK_MB;
  return v < WORKER_BUFFER_MB ? WORKER_BUFFER_MB : v;
}

/** The stack to ask Node for so that a worker the program gives `seen` MiB
 * has `percent`% of its JavaScript room; null: leave it. */
export function roomyStackMb(seen: number, percent: number): number | null {
  if (percent <= 100 || !(seen > WORKER_BUFFER_MB) || !(seen <= WORKER_MOST_MB)) return null;
  return ((seen - WORKER_BUFFER_MB) * percent) / 100 + WORKER_BUFFER_MB;
}

/** The program's view of each worker created with more stack. */
const seenOf = new WeakMap<object, number>();
let workersPatched = false;

/** Makes `new Worker(...)` give the workers that will join the recording
 * `percent`% of their room (per the worker's own NODEREC_STACK_ROOM when
 * the program gives it an environment). `joins(options)`: whether the worker
 * will record, and its percent. `texts`: Function.prototype.toString's
 * answers for the recorder's stand-ins (js/runtime/definers.ts nativeTexts). */
export function growWorkerStacks(joins: (options: Record<string, unknown>) => number | null, texts: WeakMap<object, string>): void {
  if (workersPatched) return;
  workersPatched = true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wt = require('node:worker_threads') as typeof import('node:worker_threads') & Record<string, unknown>;
    const Worker = wt.Worker as unknown as new (...args: unknown[]) => object;
    const exportDesc = Object.getOwnPropertyDescriptor(wt, 'Worker');
    const limitsDesc = Object.getOwnPropertyDescriptor(Worker.prototype, 'resourceLimits');
    if (exportDesc === undefined || !('value' in exportDesc) || exportDesc.configurable !== true) return;
    if (limitsDesc === undefined || typeof limitsDesc.get !== 'function' || limitsDesc.configurable !== true) return;
    const getLimits = limitsDesc.get;
    // At `new Worker(...)` and `resourceLimits`, while the program runs:
    // captured built-ins only (decision 54).
    const construct = ReflectConstruct;
    const proxy = new Proxy(Worker, {
      construct(target: new (...args: unknown[]) => object, args: unknown[], newTarget: Function): object {
        let plan: ReturnType<typeof roomFor> = null;
        try {
          plan = roomFor(args[1], joins);
        } catch {
          // (a getter of the program's options that throws: Node's own read
          // throws it again, as without the recorder)
          plan = null;
        }
        if (plan === null) return construct(target, args, newTarget === proxy ? target : newTarget);
        // A copy by a loop (`slice` looks up the species constructor).
        const given: unknown[] = [];
        for (let i = 0; i < args.length; i++) given[i] = args[i];
        given[1] = plan.options;
        native().workerStackNote(plan.mb, plan.seen);
        // An error the constructor throws (bad options) goes through as it
        // is: caught and thrown again here, V8 would report it at this line.
        // Its stack has this frame (README, Known differences).
        // `new Worker(...)`: the object made as by the class itself (V8
        // names a receiver in stack frames by the new.target it was made with).
        const w = construct(target, given, newTarget === proxy ? target : newTarget);
        WeakMapPrototypeSet(seenOf, w, plan.seen);
        return w;
      },
    });
    const limits = {
      get resourceLimits(): unknown {
        const r = ReflectApply(getLimits, this, []) as Record<string, unknown>;
        const seen = WeakMapPrototypeGet(seenOf, this as object) as number | undefined;
        if (seen !== undefined && r !== null && typeof r === 'object' && 'stackSizeMb' in r) r.stackSizeMb = seen;
        return r;
      },
    };
    const get = Object.getOwnPropertyDescriptor(limits, 'resourceLimits')!.get!;
    texts.set(proxy, Function.prototype.toString.call(Worker));
    texts.set(get, Function.prototype.toString.call(getLimits));
    Object.defineProperty(Worker.prototype, 'resourceLimits', { ...limitsDesc, get });
    // Worker.prototype.constructor stays the class: V8 names a worker in
    // stack frames (`Worker.<anonymous>`) by it only if it is a function.
    Object.defineProperty(wt, 'Worker', { ...exportDesc, value: proxy });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('node:module') as typeof import('node:module')).syncBuiltinESMExports();
  } catch (e) {
    logger.debug('noderec::stack', 'worker stacks unchanged', { error: String(e) });
  }
}

/** The options to give Node for a worker the program creates with
 * `options`: an object whose prototype is the program's options, with its
 * own `resourceLimits` (the program's as prototype) holding the larger
 * `stackSizeMb`; null: the worker is created as the program asked. */
function roomFor(options: unknown, joins: (options: Record<string, unknown>) => number | null): { options: object; mb: number; seen: number } | null {
  if (options !== undefined && (options === null || typeof options !== 'object')) return null;
  const o = (options ?? {}) as Record<string, unknown>;
  const percent = joins(o);
  if (percent === null) return null;
  const limits = o.resourceLimits;
  const own = limits !== null && typeof limits === 'object' ? (limits as Record<string, unknown>) : null;
  const seen = seenStackMb(own === null ? undefined : own.stackSizeMb);
  const mb = roomyStackMb(seen, percent);
  if (mb === null) return null;
  const resourceLimits = ObjectCreate(own) as Record<string, unknown>;
  ObjectDefineProperty(resourceLimits, 'stackSizeMb', { value: mb, writable: true, enumerable: true, configurable: true });
  const given = ObjectCreate(o) as object;
  ObjectDefineProperty(given, 'resourceLimits', { value: resourceLimits, writable: true, enumerable: true, configurable: true });
  return { options: given, mb, seen };
}

/** In a worker that joined the recording: `resourceLimits.stackSizeMb` reads
 * what the program gave, if the thread that created it gave more. */
export function showWorkerStack(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const r = (require('node:worker_threads') as typeof import('node:worker_threads')).resourceLimits as Record<string, unknown>;
    if (r === null || typeof r !== 'object' || typeof r.stackSizeMb !== 'number') return;
    const seen = native().workerStackView(r.stackSizeMb);
    if (seen !== null) r.stackSizeMb = seen;
  } catch (e) {
    logger.debug('noderec::stack', 'worker stack view unchanged', { error: String(e) });
  }
}
