// The tracer lifecycle: start a session, connect the probes, finalize on
// every way a process can end, and stop.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { types as utilTypes } from 'node:util';
import { isMainThread, MessagePort, parentPort, threadId, workerData } from 'node:worker_threads';

import { installBridges } from './bridges';
import { Component, componentOf, componentRunId } from './components';
import { deactivateCjsHook, installCjsHook, onTypeScriptExtension, takeCompiled } from './hooks/cjs';
import { installRunnerIntegration } from './runners/integrate';
import { deactivateEsmHooks, hasInThreadHooks, installInThreadHooks, installLoaderThreadHooks, registerAfterOthers } from './hooks/esm';
import { Level, configureLogger, flushWaiting, logger, log, observeStderr, setLogContext, setStderrWriter } from './logging/logger';
import * as metrics from './logging/metrics';
import { emitTrailer, noteRunError, trailer } from './logging/trailer';
import { prepareFilters } from './filter/chain';
import { native, FinishSummary } from './native';
import { newRunId } from './run-id';
import { growStack, growWorkerStacks, showWorkerStack } from './stack-room';
import type { BindingLinked, BindingLogRecord } from './native/binding';
import { Policy, PolicyError, apiTraceFilter, envSetting, envSettingLenient, policyFromEnv, resolvePolicy } from './policy/env';
import * as io from './runtime/io-capture';
import { EventEmitterPrototypeListenerCount, JSONParse, ownApply } from './runtime/primordials';
import { noteUncaught } from './runtime/fatal-report';
import { installDefiners, installDefinersIn, nativeTexts } from './runtime/definers';
import { installFunctionSource, installFunctionSourceIn } from './runtime/function-source';
import { declareRuntime, declareRuntimeIn } from './runtime/global-binding';
import * as probes from './runtime/probes';
import { beginComponentRun, endComponentRun, heldOwnRun, heldRun, beginRunsAgain, hasRuns, setRunSettler, takeLead } from './runs';
import { currentKeyAction, setAttrResolver, setBounds, setMemoBudget, setRefs, setShapeWitness, setThisDepth, setTrust, setValueBudget, untrust } from './runtime/value-encoder';
import { configureSecrets, setSecretsWindow } from './runtime/secrets';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = (require('../../package.json') as { version: string }).version;

interface State {
  dir: string;
  traceId: string;
  runId: string;
  policy: Policy;
  finished: boolean;
  timer: NodeJS.Timeout | null;
  /** Finalization is running (failures are noted, not acted on). */
  finalizing: boolean;
  /** The first recorder failure. */
  failure: RecorderError | null;
  /** The error that makes the process fail (abort-mode failure, require_trace). */
  fatal: RecorderError | null;
  /** The trace directory was removed (a failure without keep_partial_trace, or a component with persist false). */
  removed: boolean;
  /** false: the trace directory is removed when recording ends (a component's `persist`). */
  persist: boolean;
}

/** A recorder failure: `code` is the stable ERR_* code, `point` where it
 * happened (instrument, write, flush, finish, panic, start, policy,
 * require_trace). */
export interface RecorderError extends Error {
  code: string;
  point: string;
}

let state: State | null = null;
let handlersInstalled = false;
let hooksInstalled = false;
/** The process is running its 'exit' listeners. */
let exiting = false;
/** The error that made the last session fail (for the exit code). */
let lastFatal: RecorderError | null = null;

// The probes' buffers are handed to the writer, not copied
// (design-docs/trace-format.md, *Hand-off*): this thread's buffer pairs are
// native memory seen through ArrayBuffers (`lendBuffers`); `handOver` passes
// the pair the probes filled to the writer and names the free pair they
// write into next (-1: none is free, lend another; the native side waits
// when the thread has all of its pairs with the writer). Without pairs (a
// runtime that does not allow ArrayBuffers over native memory) the probes
// keep their own buffers and every batch is copied.
interface Pair {
  words: Int32Array<ArrayBuffer>;
  arena: Uint8Array;
}
let pairs: Pair[] = [];
/** The pair the probes write into (-1: buffers of their own). */
let pairAt = -1;
/** Whether pairs are lent at all. Off: measured on Node 20 (2-vCPU AMD EPYC,
 * load 1), the 2-int call+return cost 64-97 ns of main-thread CPU writing
 * into lent pairs against 45-49 into the probes' own buffers, in most runs
 * (bench/README.md, *Seventh round: hand-off*). Until the cause is found
 * (the writer reading a pair the probes write again later is suspected),
 * batches are copied; a test-only switch keeps the lending path tested. */
const LEND = process.env.NODEREC_TEST_GUARD === '1' && process.env.NODEREC_TEST_LEND === '1';
/** Pairs can be lent (false when off, or after a refusal: the probes keep their own buffers). */
let lendable = LEND;

/** A new pair for this thread's probes; its index, or -1. */
function lendPair(): number {
  if (!lendable) return -1;
  const b = native().lendBuffers(threadId, probes.BUFFER_WORDS, probes.BUFFER_ARENA) as
    | { index: number; words: ArrayBuffer; arena: ArrayBuffer }
    | null;
  if (b === null) {
    lendable = false;
    return -1;
  }
  pairs[b.index] = { words: new Int32Array(b.words), arena: new Uint8Array(b.arena) };
  return b.index;
}

/** The probes write into pair `i` (or, when -1, a new pair or buffers of their own). */
function usePair(i: number): void {
  if (i < 0) i = lendPair();
  if (i < 0 || pairs[i] === undefined) {
    // The pair just handed over must not be written again.
    if (pairAt >= 0) probes.useBuffers(new Int32Array(probes.BUFFER_WORDS), new Uint8Array(probes.BUFFER_ARENA));
    pairAt = -1;
    return;
  }
  pairAt = i;
  probes.useBuffers(pairs[i].words, pairs[i].arena);
}

/** A new session: this thread's probes start on a new pair. */
function resetPairs(): void {
  pairs = [];
  pairAt = -1;
  lendable = LEND;
  usePair(-1);
}

/** What `handOver` returns when the session this worker joined has
 * finished (the batch was dropped): lifecycle.rs, SESSION_ENDED. */
const SESSION_ENDED = -2;
/** A worker's: the session its probes record into (`sessionId`), named
 * in every hand-over; undefined in the main thread (its own stop() and
 * start() reconnect its probes). */
let joined: number | undefined;
/** The name this thread registered under, and whether its probes read the precise clock. */
let threadName = '';
let threadPrecise = false;

/** A worker's hand-over found the session it joined finished (the main
 * thread's API stop(), maybe a start() since): the batch was dropped (its
 * events were recorded before this worker knew). When a session runs now,
 * the worker joins it: it is named in the new trace, its probes' next event
 * reads the clock (of the new session) and they start on a pair of its own.
 * The probes' other state goes on (design-docs/lifecycle.md, *Workers
 * across stop and start*). */
function rejoin(): void {
  const n = native();
  const id = n.sessionId();
  if (id === null) {
    // No session: nothing to lend from; buffers of their own until one starts.
    if (pairAt >= 0) probes.useBuffers(new Int32Array(probes.BUFFER_WORDS), new Uint8Array(probes.BUFFER_ARENA));
    pairs = [];
    pairAt = -1;
    return;
  }
  // The pairs were the ended session's (pairAt still says whether the
  // probes write into one: usePair then gives them other buffers).
  pairs = [];
  lendable = LEND;
  joined = id;
  n.registerThread(threadId, threadName);
  probes.setClockWake(n.clockWake);
  probes.setPreciseClock(threadPrecise ? n.sessionNowUs() : null);
  usePair(-1);
  // A component's run begins again in the new trace. Not here: this runs
  // inside the probes' hand-over, whose buffer is emptied after it. Right
  // after the probes empty it (their hook, at the end of this flush), else
  // — the hook waits while an exception unwinds — after the hand-over of a
  // message posted, or when the current JavaScript turn ends (a microtask:
  // only in a thread that began a run, which already installs async hooks).
  // The runs begun before it, its own run() ones too, are begun again
  // (runs.ts, beginRunsAgain).
  if (!hasRuns()) return;
  runToBegin = true;
  probes.setAfterFlush(beginRunAgain);
  queueMicrotask(beginRunAgain);
}

/** The runs are to begin again in the session this worker joined (rejoin). */
let runToBegin = false;
function beginRunAgain(): void {
  if (!runToBegin) return;
  runToBegin = false;
  beginRunsAgain();
}

const sink: probes.Sink = {
  submit(words, count, arena, arenaLen) {
    try {
      const next = native().handOver(threadId, pairAt, words, count, arena, arenaLen, heldRun(), takeLead(), heldOwnRun(), joined);
      if (next === SESSION_ENDED) rejoin();
      else usePair(next);
    } catch (e) {
      // The pair may be with the writer: the probes go on in buffers of their own.
      pairs = [];
      lendable = false;
      usePair(-1);
      // Never into the program's code: the failure is handled by policy.
      if (isMainThread) recorderFailed(e, 'write');
      else workerFailed(e, 'write');
    }
  },
  limitReached() {
    if (isMainThread) native().setTruncated();
  },
  reentrantDropped(events) {
    try {
      native().droppedReentrant(events);
    } catch {
      // statistics only
    }
  },
  filterStats(redacted, dropped) {
    try {
      native().filterStats(redacted, dropped);
    } catch {
      // statistics only
    }
  },
};

/** Makes the probe runtime reachable from code that runs in a vm context
 * of a test runner (jest's environments, vitest's vm pools): the context
 * gets its own `__nr$` and `__nr$v` bindings and Function.prototype.toString
 * (js/runtime/global-binding.ts, design-docs/runners.md). Objects created
 * there belong to the context's realm. */
export function exposeRuntime(context: vm.Context): void {
  if (!runtimeInstalled) return;
  if (declareRuntimeIn(context, probes.runtime, probes.putValue)) prepareContext(context);
}

/** The vm contexts whose definers and Function.prototype.toString are ours. */
const preparedContexts = new WeakSet<object>();
/** The names the install scripts (definers.ts, function-source.ts) read as
 * globals of the context. In a contextified sandbox a name the sandbox has
 * (own or inherited) resolves to the sandbox's value, through its getters:
 * such a context is left unprepared (decisions.md 42, *Review*). */
const INSTALL_GLOBALS = ['Object', 'Reflect', 'Error', 'Function', 'WeakMap', 'String', 'Array', 'RegExp'];
const ownDesc = Reflect.getOwnPropertyDescriptor;
const protoOf = Reflect.getPrototypeOf;
/** For a Proxy sandbox (jest's environments use one) the names are looked
 * up, through its traps, as before decision 42; the context is prepared
 * only when they are the context's own builtins (reached here without a
 * name): never the main realm's a second time. */
const OWN_BUILTINS =
  "typeof Reflect === 'object' && Object.prototype === ({}).__proto__ && Function.prototype === (function () {}).__proto__ && " +
  "Array.prototype === [].__proto__ && String.prototype === ''.__proto__ && RegExp.prototype === /x/.__proto__ && " +
  '(() => { try { null.x; } catch (e) { return Error.prototype === e.__proto__.__proto__; } return false; })()';
function shadowsIntrinsics(context: object): boolean {
  // The context realm's Object.prototype, reached without a global lookup.
  const realmProto = vm.runInContext('({}).__proto__', context as vm.Context) as object;
  let found = false;
  let o: object | null = context;
  for (let i = 0; o !== null && i < 64; i++) {
    if (utilTypes.isProxy(o)) return vm.runInContext(OWN_BUILTINS, context as vm.Context) !== true;
    // the realm's own chain: a DONT_CONTEXTIFY global (its own builtins
    // are the ones named), no sandbox in front of it
    if (o === realmProto) return false;
    for (const k of INSTALL_GLOBALS) if (ownDesc(o, k) !== undefined) found = true;
    o = protoOf(o);
  }
  return found || o !== null;
}

/** Wraps the definers and prototype setters of a vm context (so that an
 * accessor its code defines on an object of this realm untrusts that
 * object: design-docs/values.md, "Trusted objects") and gives it our
 * Function.prototype.toString (the wrappers read as the builtins), once:
 * a test runner's context (exposeRuntime) and every context the program
 * creates (vm.createContext, vm.runInNewContext, Script#runInNewContext:
 * js/runtime/definers.ts, decisions.md 42; the caller checked that it is
 * a context). Never throws into the program. */
function prepareContext(context: unknown): void {
  try {
    if (typeof context !== 'object' || context === null || preparedContexts.has(context)) return;
    preparedContexts.add(context);
    if (shadowsIntrinsics(context)) return;
    if (definersWrapped) installDefinersIn(context, untrust);
    installFunctionSourceIn(context);
  } catch {
    // the context keeps its own builtins
  }
}

/** `__nr$.reg(table)`, the prologue of code instrumented by another process
 * (js/runners/vite-plugin.ts): registers its function table in this
 * process's session and returns the base id. */
function registerPortable(table: string): number {
  let linked: BindingLinked | null = null;
  try {
    linked = native().linkPortable(table);
  } catch (e) {
    if (isMainThread) recorderFailed(e, 'instrument');
    else workerFailed(e, 'instrument');
  }
  if (linked === null) return 0;
  const attr = linked.attr;
  if (attr === null || attr === undefined) return linked.base;
  if (attr.startsWith('[')) return probes.fa(linked.base, JSON.parse(attr) as number[]);
  const [first, count] = attr.split(',').map(Number);
  return probes.fa(linked.base, first, count);
}

/** The probe runtime object reached by instrumented code (the global
 * lexical binding `__nr$`, js/runtime/global-binding.ts), once per realm. */
let runtimeInstalled = false;
/** Whether the definers are wrapped (values with references are recorded). */
let definersWrapped = false;
function installRuntime(trust: boolean): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  probes.runtime.cjs = takeCompiled;
  // code instrumented in another process (noderec/vite-plugin)
  probes.runtime.reg = registerPortable;
  declareRuntime(probes.runtime);
  // The encoder trusts verified objects only while this realm's definers
  // tell it about their targets (design-docs/values.md, "Trusted objects");
  // trust needs memos, which only references keep.
  if (trust) {
    definersWrapped = true;
    setTrust(installDefiners(untrust, prepareContext));
  }
  installFunctionSource();
}

/** The directory holding the nearest package.json or .noderec above `from`. */
export function projectRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, '.noderec')) || fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
}

/** Where the project root is looked for: above the entry script, or, for
 * a bin or worker entry inside node_modules (`npx mocha`, `npx jest`, an
 * npm script's bin, npx's own cache), above the working directory: the
 * project the user works in. */
function projectStart(entry: string | null): string {
  if (entry === null || entry.includes(`${path.sep}node_modules${path.sep}`)) return process.cwd();
  return path.dirname(entry);
}

function entryScript(): string | null {
  const a = process.argv[1];
  return typeof a === 'string' && a.length > 0 ? path.resolve(a) : null;
}

/** The name a trace is listed by: the entry script's, or `node --test` for
 * node's test runner process (argv[1] is only the first of its files; each
 * file runs in a child named after it; the children have no `--test`). */
function programName(entry: string | null): string {
  if (process.execArgv.includes('--test') && process.env.NODE_TEST_CONTEXT === undefined) return 'node --test';
  return entry !== null ? path.basename(entry) : 'node';
}

export interface StartOptions extends Partial<Policy> {
  program?: string;
  runId?: string;
}

function coded(code: string, message: string, point = 'internal'): RecorderError {
  const e = new Error(message) as RecorderError;
  e.code = code;
  e.point = point;
  return e;
}

/** Starts recording in this process (main thread). Returns the trace
 * directory (null when the policy says `disabled`). Options beat
 * `configurePolicy()`, which beats the environment. Throws
 * ERR_ALREADY_RECORDING, ERR_INVALID_POLICY_VALUE, or the native error
 * (ERR_TRACE_DIR_CREATE_FAILED, ...) with its code. */
export function start(options: StartOptions = {}): string | null {
  if (!isMainThread) throw coded('ERR_INTERNAL', 'noderec.start() runs in the main thread (worker threads join its recording)');
  if (state !== null && !state.finished) {
    throw coded('ERR_ALREADY_RECORDING', `noderec is already recording in this process (into ${state.dir})`, 'start');
  }
  const policy: Policy = resolvePolicy(options, ['program', 'runId']);
  configureLogger({ level: policy.logLevel, file: policy.logFile === null ? null : path.resolve(policy.logFile) });
  if (policy.disabled) return null;
  const runId = options.runId ?? (process.env.NODEREC_RUN_ID || newRunId());
  const entry = entryScript();
  const root = projectRoot(projectStart(entry));
  const program = options.program ?? programName(entry);
  const filters = prepareFilters(entry !== null ? path.dirname(entry) : process.cwd(), envSetting('traceFilter') ?? [], apiTraceFilter(options));
  native().setScope(policy.scope === 'project');
  const dir = native().start({
    outDir: path.resolve(policy.outDir),
    program,
    argv: process.argv.slice(),
    cwd: process.cwd(),
    root,
    nodeVersion: process.version,
    pid: process.pid,
    ppid: process.ppid,
    runId,
    recorderVersion: VERSION,
    filters,
    activationPath: policy.activationPath === null ? '' : path.resolve(policy.activationPath),
    cacheDir: policy.cacheDir === null ? undefined : path.resolve(policy.cacheDir),
    noCache: policy.noCache,
    preciseClock: policy.clock === 'precise',
    clearHoldMb: policy.clearHoldMb,
  });
  state = { dir, traceId: path.basename(dir), runId, policy, finished: false, timer: null, finalizing: false, failure: null, fatal: null, removed: false, persist: true };
  lastFatal = null;
  setLogContext({ runId, traceId: state.traceId });
  growStack(policy.stackRoom);
  growWorkers(policy.stackRoom);
  logger.debug('noderec::tracer', 'recording started', { dir, pid: process.pid, ppid: process.ppid, activation_path: policy.activationPath });
  try {
    connectThread(policy, 'main');
    // A run current across the program's stop() and start() (and the runs
    // it is nested in) begins again in the new trace, as in a worker.
    if (hasRuns()) beginRunsAgain();
  } catch (e) {
    recorderFailed(e, 'start');
    return dir;
  }
  // The logger watches the program's stderr lines (under the IO capture's
  // wrapper) and writes its own lines past the fd mirror.
  observeStderr();
  io.installCapture(policy.captureIo, options.captureIo !== undefined || envSetting('captureIo') !== undefined);
  // The filter chain's [io] table; NODEREC_CAPTURE_IO / the CLI beat its `capture`.
  try {
    const ioTable: io.IoFilter = native().filterIo(filters);
    if (ioTable.capture !== undefined || ioTable.streams !== undefined) io.configureIo(ioTable);
  } catch (e) {
    logger.warn('noderec::filter', 'cannot read the [io] table of the filter chain', { error: String(e) });
  }
  setStderrWriter((d) => io.recorderWrite(2, d));
  installHandlers();
  installSignals();
  installHooks();
  // Complete chunks reach the disk even if the process is killed.
  startTick();
  return dir;
}

/** Period of the flush tick, µs. */
const TICK_US = 250_000;

/** The flush tick, timed natively (io/idle.rs, as the output capture's idle
 * cut): a timer in the program's timer lists, due in the same timers phase
 * as one of the program's, would run the program's promise reactions from
 * `runNextTicks` and change their stacks (issue 8). It never keeps the
 * process alive. Falls back to an unref'd `setInterval`. */
function startTick(): void {
  try {
    const n = native();
    const id = n.ioIdleRegister(() => {
      try {
        tick();
      } finally {
        n.ioIdleArm(id, TICK_US);
      }
    });
    n.ioIdleArm(id, TICK_US);
    return;
  } catch (e) {
    logger.debug('noderec::tracer', 'native tick timer unavailable; using setInterval', { error: String(e) });
  }
  const timer = setInterval(tick, 250);
  timer.unref();
  if (state !== null) state.timer = timer;
}

function tick(): void {
  // The program removed its last listener of a signal: handle it again.
  if (signalsInstalled) native().signalsRecheck();
  io.ioTick();
  probes.settle();
  probes.flushEvents();
  try {
    native().sendHeld();
  } catch (e) {
    recorderFailed(e, 'write');
  }
  drainNativeLogs();
  checkOtherThreads();
}

/** A failure reported by another thread (a worker, the module-hooks thread). */
function checkOtherThreads(): void {
  let f: { code: string; message: string; point: string } | null = null;
  try {
    f = native().takeFailure();
  } catch {
    f = null;
  }
  if (f !== null) recorderFailed(coded(f.code, f.message, f.point), f.point);
}

/** Rust-side log records, written through the one log sink. */
export function drainNativeLogs(): void {
  let recs: BindingLogRecord[];
  try {
    recs = native().drainLogs();
  } catch {
    return;
  }
  // At each tick: captured built-ins only (decision 54).
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i];
    let fields: Record<string, unknown> = {};
    try {
      fields = JSONParse(r.fields) as Record<string, unknown>;
    } catch {
      fields = { raw: r.fields };
    }
    log(r.level as Level, r.target, r.message, fields, r.code ?? undefined, r.ts);
  }
}

function asRecorderError(e: unknown, point: string): RecorderError {
  const err = (e instanceof Error ? e : new Error(String(e))) as RecorderError;
  if (typeof err.code !== 'string') err.code = 'ERR_INTERNAL';
  // A Rust panic comes back as ERR_INTERNAL "<call>: panic: ...".
  err.point = err.code === 'ERR_INTERNAL' && /: panic: /.test(err.message) ? 'panic' : point;
  return err;
}

/** A recorder failure in the main thread. Recording stops at once (probes
 * drop everything, hooks stop instrumenting); then, unless finalization is
 * already running, `disable` finalizes the trace and lets the program
 * carry on, and `abort` finalizes what it can and ends the process with a
 * non-zero exit code. */
function recorderFailed(e: unknown, point: string): void {
  const st = state;
  if (st === null || (st.finished && !st.finalizing) || st.failure !== null) return;
  const err = asRecorderError(e, point);
  st.failure = err;
  try {
    native().takeFailure();
  } catch {
    // nothing pending
  }
  metrics.noteFailure();
  probes.disable('recorder_error');
  deactivateCjsHook();
  deactivateEsmHooks();
  drainNativeLogs();
  const mode = st.policy.onRecorderError;
  logger.error('noderec::recorder', `recorder failure at ${err.point}: ${err.message}`, { point: err.point, on_recorder_error: mode, trace_dir: st.dir }, err.code);
  if (mode === 'disable') {
    metrics.noteDetach({ reason: 'recorder_error', code: err.code, point: err.point });
    logger.warn('noderec::recorder', 'recording disabled; the program continues unrecorded', { point: err.point }, err.code);
  }
  if (st.finalizing) return;
  if (mode === 'disable') {
    finalize(null, null);
  } else {
    finalize(exiting ? null : 1, null);
    endProcess();
  }
}

/** abort: the process ends non-zero (it is already ending when exiting). */
function endProcess(): void {
  if (exiting) return;
  flushWaiting();
  process.exit(1);
}

/** A failure in a worker thread: the worker stops recording; the binding
 * has reported it to the main thread, which applies the policy. */
function workerFailed(e: unknown, point: string): void {
  probes.disable('recorder_error');
  const err = asRecorderError(e, point);
  logger.error('noderec::recorder', `recorder failure at ${err.point} in worker ${threadId}: ${err.message}`, { point: err.point, thread: threadId }, err.code);
}

function onInstrumentError(e: unknown, filename: string): void {
  const err = asRecorderError(e, 'instrument');
  if (isMainThread) {
    err.message = `${err.message} (${filename})`;
    recorderFailed(err, 'instrument');
  } else workerFailed(err, 'instrument');
}

/** Installs the module hooks once (the preload, or the first start()). */
export function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // jest and vitest load the code under test where the hooks never see it.
  installRunnerIntegration(onInstrumentError, exposeRuntime, process.argv[1], !isMainThread);
  if (hasInThreadHooks()) {
    installInThreadHooks(onInstrumentError);
    onTypeScriptExtension(() => installCjsHook(onInstrumentError, true));
  } else {
    installCjsHook(onInstrumentError);
    // Each thread has its own ES module loader: a worker registers its own
    // hooks thread too, or its ES modules would run unrecorded.
    installLoaderThreadHooks();
  }
  if (isMainThread) registerAfterOthers();
}

function connectThread(policy: Policy, name: string, session?: number): void {
  const n = native();
  if (!isMainThread) joined = session;
  threadName = name;
  threadPrecise = policy.clock === 'precise';
  n.registerThread(threadId, name);
  let clock: ArrayBuffer | null = null;
  try {
    clock = n.clockBuffer();
  } catch {
    clock = null;
  }
  probes.reset();
  setBounds(policy.valueDepth, policy.valueItems, policy.valueString);
  setThisDepth(policy.valueThisDepth);
  setValueBudget(policy.valueBudget);
  setRefs(policy.valueRefs);
  setMemoBudget(policy.valueMemoKib * 1024);
  // (main thread only: turning the process-wide natives flag on while
  // another thread compiles would let that compilation parse `%X()`)
  setShapeWitness(policy.valueShapeWitness && isMainThread);
  setAttrResolver((set, key) => n.filterAttr(set, key));
  // [secrets] of the session's filter chain (filters/default.toml).
  configureSecrets(n.sessionSecrets(), currentKeyAction);
  setSecretsWindow(policy.valueString);
  probes.attach(sink, clock, policy.captureValues, policy.maxEvents, policy.valueString);
  probes.setClockWake(n.clockWake);
  resetPairs();
  setRunSettler((runs, keep) => {
    try {
      n.settleRuns(threadId, runs, keep);
    } catch (e) {
      if (isMainThread) recorderFailed(e, 'write');
      else workerFailed(e, 'write');
    }
  });
  probes.setPreciseClock(policy.clock === 'precise' ? n.sessionNowUs() : null);
  probes.setActivation(policy.activationPath !== null);
  installRuntime(policy.captureValues && policy.valueRefs);
  installBridges(policy.spanChannels);
}

const REGISTER_JS = path.join(__dirname, 'register.js');

/** Workers created from now on that will join the recording get the stack
 * room of `percent` (js/stack-room.ts), or their own environment's. */
function growWorkers(percent: number): void {
  if (percent <= 100) return;
  const mentions = (s: unknown): boolean => typeof s === 'string' && (s.includes(REGISTER_JS) || /noderec\/register\b/.test(s));
  growWorkerStacks((o) => {
    // What joinFromWorker will find in the worker: the preload (its execArgv,
    // else this thread's, or NODE_OPTIONS of its environment), a recording,
    // its environment's settings, its component's.
    if (native().currentDir() === null) return null;
    const own = o.env !== null && typeof o.env === 'object' ? (o.env as NodeJS.ProcessEnv) : null;
    const env = own ?? process.env;
    const execArgv: unknown[] = Array.isArray(o.execArgv) ? o.execArgv : process.execArgv;
    if (!execArgv.some(mentions) && !mentions(env.NODE_OPTIONS)) return null;
    try {
      const p = policyFromEnv(env);
      if (p.disabled) return null;
      if (componentOf(true, o.workerData)?.settings.enabled === false) return null;
      return own === null ? percent : p.stackRoom;
    } catch {
      return null;
    }
  }, nativeTexts);
}

/** Joins the session of the main thread from a worker thread. */
export function joinFromWorker(): boolean {
  // Node's module-hooks thread (module.register) also runs preloads; it has
  // no parentPort, unlike every user worker. It records nothing.
  if (isMainThread || parentPort === null) return false;
  // Read once: the session this worker joins (none: no recording). Every
  // hand-over names it, so a stop() racing this join is seen by the first.
  const session = native().sessionId();
  if (session === null) return false;
  let policy: Policy;
  try {
    policy = policyFromEnv();
  } catch {
    return false;
  }
  if (policy.disabled) return false;
  configureLogger({ level: policy.logLevel, file: policy.logFile === null ? null : path.resolve(policy.logFile) });
  setLogContext({ runId: process.env.NODEREC_RUN_ID ?? '', traceId: path.basename(native().currentDir() ?? '') });
  // A component (workerData.__noderec__): its own settings. outDir and
  // persist are a process's: a worker writes into its process's trace.
  const comp = ownComponent(true);
  if (comp !== null) {
    if (comp.settings.enabled === false) return false;
    if (comp.settings.maxEvents !== undefined) policy = { ...policy, maxEvents: comp.settings.maxEvents };
  }
  try {
    connectThread(policy, comp === null ? `worker ${threadId}` : `worker ${threadId} (${comp.id})`, session);
    if (comp !== null) beginComponentRun(componentRunId(comp), comp.id, comp.settings.parentRunId);
  } catch (e) {
    workerFailed(e, 'start');
    return false;
  }
  showWorkerStack();
  growWorkers(policy.stackRoom);
  // Output written in a worker is captured there (its process.stdout posts
  // to the main thread, which does not capture it again). No fd mirror.
  io.installCapture(policy.captureIo === 'off' ? 'off' : 'proxies', (process.env.NODEREC_CAPTURE_IO ?? '') !== '');
  process.on('exit', ownApply(() => {
    io.stopCapture();
    endComponentRun();
    probes.detach();
  }));
  flushBeforePosting();
  return true;
}

/** A worker the main thread terminates (`worker.terminate()`: tinypool, so
 * vitest's threads pool, after each test file) stops where it is: its
 * 'exit' listeners never run and the events still in its buffer were lost
 * (a worker that recorded little lost all of it). The main thread decides
 * to terminate on a message from the worker, so the worker hands its buffer
 * to the writer before each message it posts. Nothing to hand over costs a
 * compare. What a worker records after its last message and before a
 * termination is still lost.
 *
 * `MessagePort.prototype.postMessage` (parentPort and every channel's port)
 * becomes a Proxy of the builtin whose handler has no trap of its own but a
 * getter for `apply`: V8 reads the trap when the proxy is called — after
 * the program evaluated the arguments, so their events are flushed too —
 * and the getter flushes and returns `Reflect.apply`, which calls the
 * builtin. Nothing of ours is on the stack when the builtin throws (a
 * DataCloneError has the stack, and uncaught the source line, it has
 * without the recorder), and the function reads as the builtin: name,
 * length, no prototype, same property attributes, and
 * Function.prototype.toString gives the builtin's text (nativeTexts). What
 * shows: `util.types.isProxy`. */
function flushBeforePosting(): void {
  const proto = MessagePort.prototype as unknown as { postMessage: unknown };
  const desc = Object.getOwnPropertyDescriptor(proto, 'postMessage');
  if (desc === undefined || typeof desc.value !== 'function' || desc.configurable !== true) return;
  const post = desc.value as (...args: unknown[]) => unknown;
  const reflectApply = Reflect.apply;
  const handler = {
    get apply(): typeof Reflect.apply {
      probes.flushEvents();
      beginRunAgain();
      return reflectApply;
    },
  };
  const proxy = new Proxy(post, handler);
  nativeTexts.set(proxy, Function.prototype.toString.call(post));
  Object.defineProperty(proto, 'postMessage', { ...desc, value: proxy });
}

/** Writes buffered events to the trace file (waits until they are there).
 * A failure is a recorder failure at `flush`, handled by the policy. */
export function flush(): void {
  const st = state;
  if (st === null || st.finished) return;
  try {
    io.flushIo();
    probes.flushEvents();
    if (st.failure === null) native().flush();
  } catch (e) {
    recorderFailed(e, 'flush');
  }
  drainNativeLogs();
}

export function isRecording(): boolean {
  return state !== null && !state.finished;
}

/** Finalization, in this order (each step logs at debug level):
 *  1. drain IO: pending output chunks become events, the stream wrappers
 *     and the fd mirror are removed;
 *  2. close open calls as unwound (a throw event for each open activation);
 *  3. flush buffers: the probes hand their last buffer to the writer, which
 *     writes everything received to the file;
 *  4. finish the writer (end record, file closed);
 *  5. write metadata: status, exit code or signal, counts, filter summary;
 *  6. check require_trace (no event recorded: status failed, ERR_TRACE_MISSING).
 * A failure at any step is noted and the later steps still run; after a
 * failure the trace is kept as `partial` (keep_partial_trace) or removed. */
function finalize(exitCode: number | null, signal: string | null): FinishSummary | null {
  const st = state;
  if (st === null || st.finished) return null;
  st.finished = true;
  st.finalizing = true;
  if (st.timer !== null) clearInterval(st.timer);
  const step = (name: string, point: string, fn: () => void): void => {
    logger.debug('noderec::finalize', name, { step: name });
    try {
      fn();
    } catch (e) {
      recorderFailed(e, point);
    }
  };
  // 1. Output first: it belongs to the activations still open.
  step('drain io', 'write', () => io.stopCapture());
  // 2.
  step('close open calls', 'write', () => {
    // A component's run ends first (a mark in the activation still open).
    endComponentRun();
    probes.unwindAll();
  });
  // 3.
  step('flush buffers', 'flush', () => {
    probes.detach();
    if (st.failure === null) native().flush();
  });
  checkOtherThreads();
  // 4 and 5 (the addon finishes the writer, then writes metadata.json).
  let summary: FinishSummary | null = null;
  step('finish writer and write metadata', 'finish', () => {
    if (st.failure !== null) {
      native().setError({ code: st.failure.code, message: st.failure.message, point: st.failure.point });
    }
    summary = native().finish(exitCode, signal, st.failure !== null ? 'partial' : 'complete');
  });
  probes.disable('stopped');
  // 6.
  logger.debug('noderec::finalize', 'check require_trace', { step: 'check require_trace' });
  const events = summary !== null ? (summary as FinishSummary).events : 0;
  if (st.failure === null && st.policy.requireTrace && events === 0) {
    const err = coded('ERR_TRACE_MISSING', `no event was recorded (require_trace) in ${st.dir}`, 'require_trace');
    try {
      native().updateMetadata(st.dir, 'failed', { code: err.code, message: err.message, point: err.point });
    } catch {
      // the metadata keeps status complete; the error still surfaces
    }
    logger.error('noderec::tracer', err.message, { trace_dir: st.dir }, err.code);
    st.fatal = err;
  }
  drainNativeLogs();
  if (st.failure !== null) {
    if (st.policy.keepPartialTrace) {
      logger.info('noderec::tracer', 'kept the partial trace', { trace_dir: st.dir });
    } else {
      try {
        fs.rmSync(st.dir, { recursive: true, force: true });
        st.removed = true;
      } catch {
        // left behind
      }
      logger.info('noderec::tracer', 'removed the partial trace (keep_partial_trace is off)', { trace_dir: st.dir });
    }
    const t = runErrorTrailer(st, st.failure);
    if (st.policy.onRecorderError === 'abort') st.fatal = st.failure;
    else noteRunError(t);
  }
  if (!st.persist && !st.removed) {
    try {
      fs.rmSync(st.dir, { recursive: true, force: true });
      st.removed = true;
      logger.debug('noderec::tracer', 'removed the trace (the component does not persist)', { trace_dir: st.dir });
    } catch {
      // left behind
    }
  }
  st.finalizing = false;
  if (st.fatal !== null) {
    lastFatal = st.fatal;
    emitTrailer(runErrorTrailer(st, st.fatal), st.policy.jsonErrors);
  }
  logger.debug('noderec::finalize', 'done', { status: summary !== null ? (summary as FinishSummary).status : null });
  // Recording ended while the process goes on (stop(), a disabling
  // failure): signals get the actions they had before noderec.
  if (signal === null && !exiting) releaseSignals();
  return summary;
}

function runErrorTrailer(st: State, err: RecorderError): ReturnType<typeof trailer> {
  const fatal = err === st.fatal || st.policy.onRecorderError === 'abort' || err.point === 'require_trace';
  return trailer(err.code, err.point, err.message, {
    pid: process.pid,
    trace_dir: st.removed ? null : st.dir,
    trace_removed: st.removed,
    on_recorder_error: st.policy.onRecorderError,
    fatal,
  }, { runId: st.runId, traceId: st.traceId });
}

/** Stops recording and finalizes the trace. Returns its summary (null when
 * not recording). After a recorder failure under `abort`, or when
 * require_trace finds no event, throws that error (the trace is finalized). */
export function stop(): FinishSummary | null {
  const st = state;
  if (st === null || st.finished) return null;
  const summary = finalize(null, null);
  if (st.fatal !== null) {
    lastFatal = null;
    throw st.fatal;
  }
  return summary;
}

/** Records while `fn` runs: start(options), fn(), stop() — for an async
 * `fn`, stop() runs when its promise settles. Returns what fn returns.
 * If fn throws (or rejects), recording stops and its error is passed on. */
export function record<T>(options: StartOptions | (() => T), fn?: () => T): T {
  const f = (typeof options === 'function' ? options : fn) as (() => T) | undefined;
  const o = typeof options === 'function' ? {} : (options ?? {});
  if (typeof f !== 'function') throw new TypeError('noderec.record(options, fn): fn must be a function');
  start(o);
  let r: T;
  try {
    r = f();
  } catch (e) {
    stopAfterError();
    throw e;
  }
  if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function') {
    return (r as unknown as PromiseLike<unknown>).then(
      (v) => {
        stop();
        return v;
      },
      (e: unknown) => {
        stopAfterError();
        throw e;
      },
    ) as unknown as T;
  }
  stop();
  return r;
}

function stopAfterError(): void {
  try {
    stop();
  } catch {
    // the program's error wins; the recorder's is in the log
  }
}

/** The preload (`--require` / `--import noderec/register`) in the main
 * thread: starts recording under the environment's policy. A bad policy
 * value or a failed start is a recorder failure: logged, then `disable`
 * lets the program run unrecorded and `abort` ends the process with exit
 * code 1 before the program runs. */
export function startFromPreload(): boolean {
  let policy: Policy;
  try {
    policy = policyFromEnv();
  } catch (e) {
    preloadFailed(e, 'policy', lenientOnError());
    return false;
  }
  configureLogger({ level: policy.logLevel, file: policy.logFile === null ? null : path.resolve(policy.logFile) });
  // Disabled: nothing is loaded or changed; children inherit
  // NODEREC_DISABLED and record nothing either.
  if (policy.disabled) return false;
  const comp = ownComponent(false);
  if (comp !== null && comp.settings.enabled === false) return false;
  try {
    if (comp === null) return start() !== null && isRecording();
    const options: StartOptions = { program: componentRunId(comp).replace(/\//g, '.') };
    if (comp.settings.maxEvents !== undefined) options.maxEvents = comp.settings.maxEvents;
    if (comp.settings.outDir !== undefined) options.outDir = comp.settings.outDir;
    if (start(options) === null || !isRecording()) return false;
    if (state !== null && comp.settings.persist === false) state.persist = false;
    beginComponentRun(componentRunId(comp), comp.id, comp.settings.parentRunId);
    return true;
  } catch (e) {
    // A missing addon never stops the program: it runs unrecorded, unless
    // a trace is required.
    const missing = (e as { code?: unknown } | null)?.code === 'ERR_NATIVE_MISSING';
    preloadFailed(e, 'start', missing && !policy.requireTrace ? 'disable' : policy.onRecorderError, policy.jsonErrors);
    return false;
  }
}

/** The component this thread or process is (components.ts); bad settings
 * are logged (ERR_NODEREC_COMPONENT_SETTINGS) and the thread records as if
 * it were none. */
function ownComponent(inWorker: boolean): Component | null {
  try {
    return componentOf(inWorker, inWorker ? workerData : undefined);
  } catch (e) {
    logger.warn('noderec::components', String((e as Error).message), {}, (e as { code?: string }).code ?? 'ERR_NODEREC_COMPONENT_SETTINGS');
    return null;
  }
}

/** on_recorder_error as far as it can be read from a bad environment. */
function lenientOnError(): 'abort' | 'disable' {
  return envSettingLenient('onRecorderError') === 'disable' ? 'disable' : 'abort';
}

function preloadFailed(e: unknown, point: string, mode: 'abort' | 'disable', jsonErrors?: boolean): void {
  const err = asRecorderError(e, point);
  if (e instanceof PolicyError) err.point = 'policy';
  const runId = process.env.NODEREC_RUN_ID ?? '';
  setLogContext({ runId, traceId: '' });
  logger.error('noderec::tracer', `cannot record: ${err.message}`, { point: err.point, on_recorder_error: mode }, err.code);
  const json = jsonErrors ?? envSettingLenient('jsonErrors') === true;
  const t = trailer(err.code, err.point, err.message, { pid: process.pid, trace_dir: null, on_recorder_error: mode, fatal: mode === 'abort' }, { runId, traceId: '' });
  if (mode === 'disable') {
    metrics.noteDetach({ reason: 'recorder_error', code: err.code, point: err.point });
    noteRunError(t);
    return;
  }
  emitTrailer(t, json);
  flushWaiting();
  process.exit(1);
}

function exitCodeOf(code: unknown): number {
  if (typeof code === 'number') return code;
  const c = process.exitCode;
  return typeof c === 'number' ? c : Number(c ?? 0) || 0;
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('uncaughtExceptionMonitor', ownApply((err) => {
    const innermost = probes.innermostFunction();
    if (isRecording()) probes.uncaught(err);
    noteUncaught(err, innermost);
  }));
  process.on('exit', ownApply((code) => {
    exiting = true;
    // A signal that arrived and was not handled yet (e.g. sent to itself
    // by an ES module as its last act): the process ends by it.
    const sig = isRecording() ? claimSignal() : null;
    finalize(sig === null ? exitCodeOf(code) : null, sig);
    // A recorder failure (abort) or require_trace: the process fails.
    if (lastFatal !== null && exitCodeOf(code) === 0) process.exitCode = 1;
    flushWaiting();
    if (sig !== null) reraiseSignal();
    else releaseSignals();
  }));
}

/** The signals noderec finalizes on. They are handled natively (no
 * JavaScript listener the program could see): see design-docs/lifecycle.md. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let signalsInstalled = false;

let watchingRemovals = false;

function isSignal(name: string): boolean {
  for (let i = 0; i < SIGNALS.length; i++) if (SIGNALS[i] === name) return true;
  return false;
}

function installSignals(): void {
  if (!watchingRemovals) {
    watchingRemovals = true;
    // Runs after Node's own 'removeListener' listener, which has just put
    // the default action back when the program removed its last listener.
    process.on('removeListener', ownApply((name: unknown) => {
      // (Whenever the program removes a listener: captured built-ins only, decision 54.)
      if (signalsInstalled && typeof name === 'string' && isSignal(name) && EventEmitterPrototypeListenerCount(process, name) === 0) {
        native().signalsRecheck();
      }
    }));
  }
  const free = SIGNALS.filter((s) => process.listenerCount(s) === 0);
  try {
    native().signalsInstall(free, onNativeSignal);
    signalsInstalled = true;
  } catch (e) {
    logger.warn('noderec::tracer', 'cannot handle signals natively; a signal ends the process without finalizing the trace', { error: String(e) });
  }
}

/** On the main thread, when a handled signal arrived. */
function onNativeSignal(): void {
  const sig = claimSignal();
  if (sig === null) return;
  finalize(null, sig);
  flushWaiting();
  reraiseSignal();
}

function claimSignal(): string | null {
  if (!signalsInstalled) return null;
  try {
    return native().signalsClaim();
  } catch {
    return null;
  }
}

/** Ends the process by the pending signal, with the action in force before noderec. */
function reraiseSignal(): void {
  try {
    native().signalsReraise();
  } catch {
    // nothing pending
  }
}

/** Puts the actions in force before noderec back (recording ended); a
 * signal that arrived meanwhile still ends the process. */
function releaseSignals(): void {
  if (!signalsInstalled) return;
  signalsInstalled = false;
  let sig: string | null = null;
  try {
    sig = native().signalsUninstall();
  } catch {
    sig = null;
  }
  if (sig !== null) reraiseSignal();
}

/** The trace directory of the running session. */
export function traceDir(): string | null {
  return state?.dir ?? null;
}
