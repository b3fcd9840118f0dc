// Runs, spans and log events (issue 13, design-docs/runs.md): marks in the
// trace that give it the structure of the program's own units of work.
//
// The current run is a plain variable. Probes never look it up: the first
// run() installs an async_hooks pair that stamps every async resource with
// the run current when it was created (init) and, when a callback of a
// resource starts (before), appends a `run-switch` mark if that resource's
// run is not the current one. The reader replays the switches per thread.
// A program that never calls run() installs nothing.
import { createHook, executionAsyncResource } from 'node:async_hooks';

import { attached as isRecording, flushEvents, mark, pendingEvents } from './runtime/probes';
import { DateNow, ReflectApply } from './runtime/primordials';

const FunctionPrototypeBind = Function.prototype.bind;

const RUN_START = 1;
const RUN_END = 2;
const RUN_SWITCH = 3;
const SPAN_START = 4;
const SPAN_END = 5;
const LOG = 6;
const STATUS_OK = 0;
const STATUS_ERROR = 1;

/** What a run is (all optional; `runId` defaults to a UUID v7). */
export interface RunOptions {
  runId?: string;
  domain?: string;
  parentRunId?: string;
  sampleId?: string | number;
  iteration?: number;
  level?: string | number;
  /** What leaves the run when it ends (design-docs/runs.md *Clear*):
   * `'none'` (default) nothing, work it left behind still belongs to it;
   * `'current'` the run is closed: work it left behind belongs to the run
   * it started in; `'all'` the same for every run nested in it. With
   * 'current' the run's own events leave the trace when it ends (its
   * start and end marks stay, with the count of events cleared); with
   * 'all' also those of every run nested in it. */
  clear?: 'none' | 'current' | 'all';
  /** A clearing run that throws or rejects is written in full (default
   * true); false clears it like one that succeeds. */
  keepFailed?: boolean;
}

/** A span started with startSpan(). */
export interface Span {
  /** Ends the span (status ok) with optional attributes; later calls do nothing. */
  end(attrs?: Record<string, unknown>): void;
}

interface RunCtx {
  id: number;
  runId: string;
  /** Its start value (the run-start mark's). */
  meta: Record<string, unknown>;
  /** The trace its start was last written in (`trace`). */
  trace: number;
  /** The run it started in. */
  parent: RunCtx | null;
  /** Ended with clear 'current' or 'all': callbacks of its resources run
   * in its nearest open ancestor. */
  closed: boolean;
  /** Ended with clear 'all': the runs nested in it are closed too. */
  tree: boolean;
  /** Its events are held back until it ends (it clears, or it is nested
   * in an 'all' run still going): its batches name it (`hold`). */
  held: boolean;
  /** The outermost 'all' run still going when it started, that decides
   * the fate of its events; null: it decides (when held). */
  under: RunCtx | null;
  /** Its clear mode and whether it ended. */
  mode: string;
  ended: boolean;
}

/** The run a resource stamped with `r` runs in: `r`, unless it is closed —
 * it ended with clear 'current', or it or a run above it ended with clear
 * 'all' — then its nearest ancestor that is not. One walk up the (short)
 * chain of parents. */
function open(r: RunCtx | null): RunCtx | null {
  let res = r;
  for (let n = r; n !== null; n = n.parent) if (n.tree) res = n.parent;
  while (res !== null && res.closed) res = res.parent;
  return res;
}

const CLEAR_MODES = ['none', 'current', 'all'];

const RUN = Symbol('noderec.run');
let current: RunCtx | null = null;
/** The thread's own run when it is a component (components.ts): the run of
 * callbacks of resources created before it began. */
let base: RunCtx | null = null;
let runSeq = 0;
let spanSeq = 0;
let hooked = false;

// Clearing runs (design-docs/runs.md *Clear*). While the probe buffer may
// hold events of a run whose events are held back, it is handed over at
// every change of the current run, so that each batch holds the events of
// one run only (`segTag`, its number; 0: events that are written), and
// names the run that decides their fate (`segHold`: the run, or the
// outermost 'all' run it is nested in). The run marks (start, end, switch)
// emitted at a change sit at the front of the next batch (`segLead` of
// them) and are written whatever the run's fate. A program without
// clearing runs never flushes here.
let segTag = 0;
let segHold = 0;
let segLead = 0;
let settler: ((runs: number[], keep: boolean) => void) | null = null;

/** The run that decides the fate of the events in the probe buffer (0:
 * none held); the tracer passes it with each batch. */
export function heldRun(): number {
  return segHold;
}

/** The run whose events the probe buffer holds (0: none held). */
export function heldOwnRun(): number {
  return segTag;
}

/** The marks at the front of the batch being handed over (then 0). */
export function takeLead(): number {
  const l = segLead;
  segLead = 0;
  return l;
}

/** The tracer's call telling the writer that held runs ended. */
export function setRunSettler(fn: ((runs: number[], keep: boolean) => void) | null): void {
  settler = fn;
}

function tagOf(r: RunCtx | null): number {
  return r !== null && r.held ? r.id : 0;
}

/** The events that follow belong to run `r`: ends the batch of held
 * events in the buffer, if any (marks only stay as its lead). */
function boundary(r: RunCtx | null): void {
  const next = tagOf(r);
  if (segTag === 0 && next === 0) return;
  const n = pendingEvents();
  // Events of no held run (a few, far from filling the buffer) stay: they
  // lead the next batch, written whatever happens. Events of a held run
  // end their batch here.
  if (segTag === 0 ? n > LEAD_MAX : n > segLead) flushEvents();
  segLead = pendingEvents();
  segTag = next;
  segHold = next === 0 ? 0 : (r!.under ?? r!).id;
}

/** At most this many events of no held run lead a batch of a held one. */
const LEAD_MAX = 4096;

/** A run mark: a lead mark when nothing but marks precede it in the buffer
 * (counted before it is appended: a buffer it fills goes with it). */
function runMark(type: number, id: number, extra: number, n: number, v: unknown): void {
  const n0 = pendingEvents();
  const lead = segTag !== 0 && n0 === segLead;
  if (lead) segLead = n0 + 1;
  mark(type, id, extra, n, v, undefined);
  // Not recorded (the activation window): nothing was appended.
  if (lead && pendingEvents() === n0) segLead = n0;
}

/** The trace this thread records into: a worker's goes up when it records
 * into a new one (rejoin, design-docs/lifecycle.md *Workers across stop and
 * start*). */
let trace = 0;

/** Writes the start of `r` (after those of the runs it is nested in) into
 * this trace when it was begun in an earlier one, and its end when it has
 * ended (`ending`: its end is written next): the runs a worker began
 * before an API stop() and start() are known in the new trace, with the
 * same start value and nesting. */
function ensureBegun(r: RunCtx | null, ending = false): void {
  if (r === null || r.trace === trace) return;
  ensureBegun(r.parent);
  r.trace = trace;
  runMark(RUN_START, r.id, r.parent === null ? 0 : r.parent.id, 1, r.meta);
  if (r.ended && !ending) runMark(RUN_END, r.id, -1, 0, undefined);
}

function switchTo(r: RunCtx | null): void {
  current = r;
  if (isRecording()) {
    boundary(r);
    ensureBegun(r);
    runMark(RUN_SWITCH, r === null ? 0 : r.id, -1, 0, undefined);
  }
}

function install(): void {
  hooked = true;
  createHook({
    // An exception in an async hook ends the process: neither may throw
    // (a resource that refuses the property stays without a run).
    init(_id, _type, _trigger, resource: any) {
      try {
        if (current !== null || RUN in resource) resource[RUN] = current;
      } catch {
        // not extensible
      }
    },
    before() {
      try {
        const res: any = executionAsyncResource();
        const r = open((res !== undefined && res !== null && res[RUN]) || base);
        if (r !== current) switchTo(r);
      } catch {
        // the recorder failing must not end the program
      }
    },
  }).enable();
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as any).then === 'function';
}

/** `fn`'s result, with `done(ok)` called once it returns, throws or (for a
 * promise) settles. A promise is returned as a derived promise that settles
 * the same way, so an unhandled rejection stays unhandled. */
function settle<T>(fn: () => T, done: (ok: boolean) => void): T {
  let r: T;
  try {
    r = fn();
  } catch (e) {
    done(false);
    throw e;
  }
  if (isThenable(r)) {
    return (r as any).then(
      (v: unknown) => {
        done(true);
        return v;
      },
      (e: unknown) => {
        done(false);
        throw e;
      },
    ) as T;
  }
  done(true);
  return r;
}

/** Runs `fn` inside a run: every event recorded while its async context is
 * active belongs to it (design-docs/runs.md). Outside a recording it only
 * calls `fn` (in a worker: when the worker does not record). */
export function run<T>(opts: RunOptions, fn: () => T): T {
  if (typeof fn !== 'function') {
    const e = new TypeError('noderec.run(opts, fn): fn must be a function') as TypeError & { code: string };
    e.code = 'ERR_NODEREC_RUN_ARGS';
    throw e;
  }
  const o = opts ?? {};
  const clear = o.clear ?? 'none';
  if (!CLEAR_MODES.includes(clear)) {
    const e = new TypeError(`noderec.run(opts, fn): opts.clear must be 'none', 'current' or 'all', got ${typeof clear === 'string' ? `'${clear}'` : typeof clear}`) as TypeError & { code: string };
    e.code = 'ERR_NODEREC_RUN_ARGS';
    throw e;
  }
  if (o.keepFailed !== undefined && typeof o.keepFailed !== 'boolean') {
    const e = new TypeError(`noderec.run(opts, fn): opts.keepFailed must be a boolean, got ${typeof o.keepFailed}`) as TypeError & { code: string };
    e.code = 'ERR_NODEREC_RUN_ARGS';
    throw e;
  }
  if (!isRecording()) return fn();
  if (!hooked) install();
  const parent = current;
  let under: RunCtx | null = null;
  for (let n = parent; n !== null; n = n.parent) if (n.mode === 'all' && !n.ended) under = n;
  const ctx: RunCtx = {
    id: ++runSeq,
    runId: typeof o.runId === 'string' && o.runId !== '' ? o.runId : uuidv7(),
    meta: {},
    trace,
    parent,
    closed: false,
    tree: false,
    held: clear !== 'none' || under !== null,
    under,
    mode: clear,
    ended: false,
  };
  const keepFailed = o.keepFailed !== false;
  const meta: Record<string, unknown> = { runId: ctx.runId };
  if (o.domain !== undefined) meta.domain = o.domain;
  const parentRunId = o.parentRunId ?? parent?.runId;
  if (parentRunId !== undefined) meta.parentRunId = parentRunId;
  if (o.sampleId !== undefined) meta.sampleId = o.sampleId;
  if (o.iteration !== undefined) meta.iteration = o.iteration;
  if (o.level !== undefined) meta.level = o.level;
  if (clear !== 'none') meta.clear = clear;
  ctx.meta = meta;
  boundary(ctx);
  ensureBegun(parent);
  runMark(RUN_START, ctx.id, parent === null ? 0 : parent.id, 1, meta);
  current = ctx;
  try {
    return settle(fn, (ok) => {
      ctx.ended = true;
      if (clear !== 'none') {
        ctx.closed = true;
        ctx.tree = clear === 'all';
      }
      // The run's own callback (a promise's settlement) goes on in the run it started in.
      const to = clear !== 'none' ? open(current) : current;
      if (!isRecording()) {
        current = to;
        return;
      }
      boundary(to);
      ensureBegun(ctx, true);
      runMark(RUN_END, ctx.id, -1, 0, undefined);
      if (to !== current) switchTo(to);
      // Its held events (and those of the runs nested in it it decides for) are written or dropped.
      if (ctx.held && ctx.under === null && settler !== null) settler([ctx.id], !ok && keepFailed);
    });
  } finally {
    // Back in the caller's run (fn's awaits switch back to ctx when they resume).
    if (current !== parent) switchTo(parent);
  }
}

/** The runId of the run current on this thread, or null. */
export function currentRunId(): string | null {
  return current === null ? null : current.runId;
}

/** Begins the run of a component (a worker or a child process with settings
 * of its own): everything the thread records from here belongs to it. */
export function beginComponentRun(runId: string, component: string, parentRunId: string | undefined): void {
  if (!isRecording() || base !== null) return;
  if (!hooked) install();
  const meta: Record<string, unknown> = { runId, component };
  if (parentRunId !== undefined) meta.parentRunId = parentRunId;
  const ctx: RunCtx = { id: ++runSeq, runId, meta, trace, parent: null, closed: false, tree: false, held: false, under: null, mode: 'none', ended: false };
  boundary(null);
  runMark(RUN_START, ctx.id, 0, 1, meta);
  base = ctx;
  current = ctx;
}

/** Whether this thread began a run (its own run() or a component's run). */
export function hasRuns(): boolean {
  return runSeq > 0;
}

/** The thread now records into a new session (a worker across an API stop()
 * and start(), tracer.ts `rejoin`): the component's run begins again in the
 * new trace (same run, same start value), and the run current on the thread
 * stays current, begun again too with the runs it is nested in (a run begun
 * in the earlier trace that shows up later, a callback of one of its
 * resources, is begun again then: ensureBegun). Design-docs/lifecycle.md,
 * *Workers across stop and start*. */
export function beginRunsAgain(): void {
  if (!isRecording()) return;
  trace++;
  const b = base;
  if (b !== null) {
    boundary(null);
    ensureBegun(b);
  }
  if (current !== null && current !== b) switchTo(current);
}

/** Ends the component's run (the thread stops recording). */
export function endComponentRun(): void {
  const b = base;
  if (b === null) return;
  base = null;
  if (isRecording()) {
    boundary(null);
    ensureBegun(b, true);
    runMark(RUN_END, b.id, -1, 0, undefined);
  }
}

/** Starts a span now (a provisional start mark); end() writes its end. */
export function startSpan(name: string, attrs?: Record<string, unknown>): Span {
  if (!isRecording()) return { end() {} };
  const id = ++spanSeq;
  mark(SPAN_START, id, -1, 2, String(name), attrs ?? {});
  let open = true;
  const end = (status: number, a?: Record<string, unknown>): void => {
    if (!open) return;
    open = false;
    if (isRecording()) mark(SPAN_END, id, status, 1, a ?? {}, undefined);
  };
  return { end: (a?: Record<string, unknown>) => end(STATUS_OK, a), [ENDS]: end } as Span;
}

const ENDS = Symbol('noderec.spanEnd');

/** Ends a span started by startSpan() with status error when `error` is true
 * (for the bridges, js/bridges.ts). */
export function endSpan(s: Span, error: boolean, attrs?: Record<string, unknown>): void {
  const ends = (s as Span & { [ENDS]?: (status: number, a?: Record<string, unknown>) => void })[ENDS];
  if (ends !== undefined) ends(error ? STATUS_ERROR : STATUS_OK, attrs);
}

/** Runs `fn` inside a span: its end (status ok or error) is written when
 * `fn` returns, throws, or its promise settles. */
export function span<T>(name: string, attrs: Record<string, unknown> | undefined, fn: () => T): T {
  if (typeof fn !== 'function') {
    const e = new TypeError('noderec.span(name, attrs, fn): fn must be a function') as TypeError & { code: string };
    e.code = 'ERR_NODEREC_SPAN_ARGS';
    throw e;
  }
  const s = startSpan(name, attrs) as Span & { [ENDS]?: (status: number) => void };
  const ends = s[ENDS];
  if (ends === undefined) return fn();
  return settle(fn, (ok) => ends(ok ? STATUS_OK : STATUS_ERROR));
}

/** A structured user event at the current position (call, run, span). */
export function log(event: string, data?: unknown): void {
  if (!isRecording()) return;
  mark(LOG, 0, -1, 2, String(event), data === undefined ? {} : data);
}

const hex: string[] = [];
for (let i = 0; i < 256; i++) hex.push((i + 0x100).toString(16).slice(1));
/** Random bytes, drawn 4 KiB at a time (one fill per 409 ids). */
const POOL = 4096;
const pool = new Uint8Array(POOL);
let poolPos = POOL;
// Called while the program runs (`noderec.run()` without an id): captured
// built-ins only (decision 54).
// (node:crypto is not loaded at start: globalThis.crypto's getter, captured
// now, gives Web Crypto at the first id.)
const cryptoGetter = Object.getOwnPropertyDescriptor(globalThis, 'crypto')?.get;
let randomFill: ((a: Uint8Array) => unknown) | null = null;
const MathFloor = Math.floor;

/** A UUID v7 (RFC 9562): 48 bits of Unix time in ms, the version, then 74
 * random bits (unique across processes and workers of one recording). */
export function uuidv7(): string {
  if (poolPos + 10 > POOL) {
    if (randomFill === null) {
      const c = (cryptoGetter !== undefined ? ReflectApply(cryptoGetter, globalThis, []) : globalThis.crypto) as Crypto;
      randomFill = FunctionPrototypeBind.call(c.getRandomValues, c) as (a: Uint8Array) => unknown;
    }
    randomFill(pool);
    poolPos = 0;
  }
  const r = pool;
  const p = poolPos;
  poolPos += 10;
  const ms = DateNow();
  const hi = MathFloor(ms / 0x1000000);
  const lo = ms % 0x1000000;
  return (
    hex[(hi >>> 16) & 255] +
    hex[(hi >>> 8) & 255] +
    hex[hi & 255] +
    hex[(lo >>> 16) & 255] +
    '-' +
    hex[(lo >>> 8) & 255] +
    hex[lo & 255] +
    '-' +
    hex[0x70 | (r[p] & 0x0f)] +
    hex[r[p + 1]] +
    '-' +
    hex[0x80 | (r[p + 2] & 0x3f)] +
    hex[r[p + 3]] +
    '-' +
    hex[r[p + 4]] +
    hex[r[p + 5]] +
    hex[r[p + 6]] +
    hex[r[p + 7]] +
    hex[r[p + 8]] +
    hex[r[p + 9]]
  );
}
