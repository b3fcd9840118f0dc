// The tracer lifecycle: start a session, connect the probes, finalize on
// every way a process can end, and stop.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMainThread, parentPort, threadId } from 'node:worker_threads';

import { native, FinishSummary } from './native';
import { Policy, policyFromEnv } from './policy/env';
import * as io from './runtime/io-capture';
import * as probes from './runtime/probes';
import { setBounds, setThisDepth } from './runtime/value-encoder';

const RT_KEY = Symbol.for('noderec.rt');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = (require('../../package.json') as { version: string }).version;

interface State {
  dir: string;
  policy: Policy;
  finished: boolean;
  timer: NodeJS.Timeout | null;
}

let state: State | null = null;
let handlersInstalled = false;

const sink: probes.Sink = {
  submit(words, count, arena, arenaLen) {
    native().submit(threadId, words, count, arena, arenaLen);
  },
  limitReached() {
    if (isMainThread) native().setTruncated();
  },
};

/** The probe runtime object reached by instrumented code. */
function installRuntime(): void {
  const rt = {
    c: probes.c,
    c1: probes.c1,
    c2: probes.c2,
    c3: probes.c3,
    cn: probes.cn,
    m0: probes.m0,
    m1: probes.m1,
    m2: probes.m2,
    m3: probes.m3,
    mn: probes.mn,
    r: probes.r,
    rt: probes.rt,
    f: probes.f,
    aw: probes.aw,
    yd: probes.yd,
    rs: probes.rs,
    k: probes.k,
  };
  Object.defineProperty(globalThis, RT_KEY, { value: rt, configurable: true, enumerable: false, writable: false });
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

function entryScript(): string | null {
  const a = process.argv[1];
  return typeof a === 'string' && a.length > 0 ? path.resolve(a) : null;
}

export interface StartOptions extends Partial<Policy> {
  program?: string;
  runId?: string;
}

/** Starts recording in this process (main thread). Returns the trace directory. */
export function start(options: StartOptions = {}): string {
  if (state !== null && !state.finished) {
    const e = new Error('noderec is already recording in this process') as Error & { code: string };
    e.code = 'ERR_ALREADY_RECORDING';
    throw e;
  }
  const policy: Policy = { ...policyFromEnv(), ...stripUndefined(options) };
  const entry = entryScript();
  const root = projectRoot(entry !== null ? path.dirname(entry) : process.cwd());
  const program = options.program ?? (entry !== null ? path.basename(entry) : 'node');
  const dir = native().start({
    outDir: path.resolve(policy.outDir),
    program,
    argv: process.argv.slice(),
    cwd: process.cwd(),
    root,
    nodeVersion: process.version,
    pid: process.pid,
    ppid: process.ppid,
    runId: options.runId ?? process.env.NODEREC_RUN_ID ?? '',
    recorderVersion: VERSION,
  });
  state = { dir, policy, finished: false, timer: null };
  connectThread(policy, 'main');
  io.installCapture(policy.captureIo, options.captureIo !== undefined || (process.env.NODEREC_CAPTURE_IO ?? '') !== '');
  installHandlers();
  // Complete chunks reach the disk even if the process is killed.
  state.timer = setInterval(tick, 250);
  state.timer.unref();
  return dir;
}

function tick(): void {
  io.ioTick();
  probes.flushEvents();
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function connectThread(policy: Policy, name: string): void {
  const n = native();
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
  probes.attach(sink, clock, policy.captureValues, policy.maxEvents, policy.valueString);
  installRuntime();
}

/** Joins the session of the main thread from a worker thread. */
export function joinFromWorker(): boolean {
  // Node's module-hooks thread (module.register) also runs preloads; it has
  // no parentPort, unlike every user worker. It records nothing.
  if (isMainThread || parentPort === null || native().currentDir() === null) return false;
  let policy: Policy;
  try {
    policy = policyFromEnv();
  } catch {
    return false;
  }
  connectThread(policy, `worker ${threadId}`);
  // Output written in a worker is captured there (its process.stdout posts
  // to the main thread, which does not capture it again). No fd mirror.
  io.installCapture(policy.captureIo === 'off' ? 'off' : 'proxies', (process.env.NODEREC_CAPTURE_IO ?? '') !== '');
  process.on('exit', () => {
    io.stopCapture();
    probes.detach();
  });
  return true;
}

/** Writes buffered events to the trace file. */
export function flush(): void {
  io.flushIo();
  probes.flushEvents();
  native().flush();
}

export function isRecording(): boolean {
  return state !== null && !state.finished;
}

/** Finalizes: close open calls as unwound, flush, finish the writer, write metadata. */
function finalize(exitCode: number | null, signal: string | null, status: string): FinishSummary | null {
  if (state === null || state.finished) return null;
  state.finished = true;
  if (state.timer !== null) clearInterval(state.timer);
  // Output first: it belongs to the activations still open.
  io.stopCapture();
  probes.unwindAll();
  probes.detach();
  return native().finish(exitCode, signal, status);
}

/** Stops recording and finalizes the trace. */
export function stop(): FinishSummary | null {
  return finalize(null, null, 'complete');
}

function exitCodeOf(code: unknown): number {
  if (typeof code === 'number') return code;
  const c = process.exitCode;
  return typeof c === 'number' ? c : Number(c ?? 0) || 0;
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('uncaughtExceptionMonitor', (err) => {
    if (isRecording()) probes.uncaught(err);
  });
  process.on('exit', (code) => {
    finalize(exitCodeOf(code), null, 'complete');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Another listener means the program handles the signal itself.
      if (process.listenerCount(sig) > 1) return;
      process.removeListener(sig, onSignal);
      finalize(null, sig, 'complete');
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** The trace directory of the running session. */
export function traceDir(): string | null {
  return state?.dir ?? null;
}
