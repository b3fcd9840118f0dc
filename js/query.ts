// Typed query API over recorded traces (issue 12). Every question is
// answered from the trace's index (<trace>/index/, built on first use by the
// Rust core; design-docs/index-format.md).
import * as path from 'node:path';

import { native } from './native';
import { envSetting } from './policy/env';
import { DEFAULT_POLICY } from './policy/model';
import type { TraceIndex } from './native/binding';
import { listRuns, listTraces as listTraceDirs, readMetadata, resolveTrace, TraceEntry } from './cli/traces';

/** JSON form of a recorded value (design-docs/values.md). */
export type RecordedValue = unknown;

export interface CallValues {
  this?: RecordedValue;
  args?: RecordedValue[];
  value?: RecordedValue;
  error?: RecordedValue;
}

export interface Activation {
  thread: number;
  activation: number;
  parent: number;
  depth: number;
  fnId: number;
  name: string;
  path: string;
  line: number;
  startNs: number;
  durNs: number;
  finished: boolean;
  threw: boolean;
  suspended: boolean;
  /** The `runId` of the run it was called in (`noderec.run`). */
  run?: string;
  values?: CallValues;
}

export interface FnStats {
  id: number;
  name: string;
  path: string;
  line: number;
  calls: number;
  inclNs: number;
  selfNs: number;
  throws: number;
}

export interface ThreadInfo {
  id: number;
  name: string;
  activations: number;
  maxDepth: number;
  firstNs: number;
  lastNs: number;
}

export interface IndexInfo {
  events: number;
  chunks: number;
  complete: boolean;
  ended: boolean;
  damage?: string;
  counts: Record<string, number>;
  outputBytes: Record<string, number>;
  threads: ThreadInfo[];
  topSelf: FnStats[];
  topInclusive: FnStats[];
  throws: number;
}

export interface TimelineQuery extends RunFilter {
  thread?: number;
  from?: number;
  to?: number;
  fn?: string;
  file?: string;
  /** Function kind as recorded (`function`, `method`, `arrow`, …). */
  kind?: string;
  status?: 'finished' | 'threw' | 'running';
  minDuration?: number;
  limit?: number;
  cursor?: string;
  values?: boolean;
}

export interface TimelinePage {
  rows: Activation[];
  cursor?: string;
}

export interface FlameRect {
  activation: number;
  depth: number;
  fnId: number;
  startNs: number;
  endNs: number;
  count: number;
  threw: boolean;
}

export interface CallDetail {
  activation: Activation;
  params: string[];
  col: number;
  output: { stream: string; text: string }[];
}

export interface Change {
  path: string;
  op: 'added' | 'removed' | 'changed';
  before?: RecordedValue;
  after?: RecordedValue;
}

export interface HistoryEntry {
  thread: number;
  activation: number;
  startNs: number;
  value?: RecordedValue;
  changes: Change[];
}

export interface CompareRow {
  name: string;
  path: string;
  line: number;
  calls: number[];
  inclNs: number[];
  throws: number[];
  differs: string[];
}

/** The napi class (crates/noderec_napi/src/binding_query.rs), as generated. */
export type NativeTraceIndex = TraceIndex;

const open = new Map<string, NativeTraceIndex>();

/** The index of a trace directory (kept open; a recording trace's index grows on `refresh`). */
export function openIndex(dir: string, live = false): NativeTraceIndex {
  let ix = open.get(dir);
  if (ix === undefined) {
    ix = native().TraceIndex.open(dir, live);
    open.set(dir, ix);
  } else if (ix.live) {
    ix.refresh();
  }
  return ix;
}

/** Forgets an opened index (a live one removes its working directory). */
export function closeIndex(dir: string): void {
  const ix = open.get(dir);
  if (ix !== undefined) {
    ix.close();
    open.delete(dir);
  }
}

export interface Location {
  /** The out dir (default: $NODEREC_OUT_DIR or ./noderec-traces). */
  outDir?: string;
}

function outDirOf(o?: Location): string {
  return path.resolve(o?.outDir ?? envSetting('outDir') ?? DEFAULT_POLICY.outDir);
}

/** A trace directory from an id (a name in the out dir, a path, or 'latest'). */
export function traceDir(id: string | undefined, o?: Location): string {
  return resolveTrace(id, outDirOf(o));
}

export type TraceStatus = 'recording' | 'complete' | 'failed' | 'partial';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Status with a dead recorder noticed: a trace left `recording` by a killed process is `partial`. */
export function statusOf(meta: { status: string; pid: number; exit_code?: number | null; signal?: string | null }): TraceStatus {
  if (meta.status === 'recording') return pidAlive(meta.pid) ? 'recording' : 'partial';
  if (meta.status === 'complete') return (meta.exit_code ?? 0) !== 0 || meta.signal ? 'failed' : 'complete';
  return meta.status === 'partial' ? 'partial' : 'failed';
}

export interface TraceListEntry {
  id: string;
  dir: string;
  run: string | null;
  program: string;
  argv: string[];
  pid: number;
  status: TraceStatus;
  startMs: number;
  startTime: string;
  durationMs: number | null;
  exitCode: number | null;
  events: number;
  traceBytes: number;
}

export interface ListOptions extends Location {
  program?: string;
  status?: TraceStatus;
  since?: number | Date;
  until?: number | Date;
  run?: string;
  limit?: number;
  offset?: number;
}

/** The listing row of a trace directory (its metadata as read). */
export function traceListEntry(t: TraceEntry, run: string | null): TraceListEntry {
  const m = t.meta;
  return {
    id: path.basename(t.dir),
    dir: t.dir,
    run,
    program: m.program,
    argv: m.argv,
    pid: m.pid,
    status: statusOf(m),
    startMs: m.start_ms,
    startTime: m.start_time,
    durationMs: m.duration_ms,
    exitCode: m.exit_code,
    events: m.events ?? 0,
    traceBytes: m.trace_bytes ?? 0,
  };
}

/** Traces in the out dir (and its run directories), newest first. */
export function listTraces(o: ListOptions = {}): TraceListEntry[] {
  const dir = outDirOf(o);
  const runOf = new Map<string, string>();
  for (const r of listRuns(dir)) for (const t of r.traces) runOf.set(t.dir, r.runId);
  const ms = (d: number | Date | undefined): number | undefined => (d instanceof Date ? d.getTime() : d);
  const since = ms(o.since);
  const until = ms(o.until);
  const all = listTraceDirs(dir)
    .map((t) => traceListEntry(t, runOf.get(t.dir) ?? null))
    .filter(
      (t) =>
        (o.program === undefined || t.program.includes(o.program)) &&
        (o.status === undefined || t.status === o.status) &&
        (o.run === undefined || t.run === o.run) &&
        (since === undefined || t.startMs >= since) &&
        (until === undefined || t.startMs <= until),
    );
  const off = o.offset ?? 0;
  return all.slice(off, o.limit === undefined ? undefined : off + o.limit);
}

export interface TraceInfo extends IndexInfo {
  id: string;
  dir: string;
  status: TraceStatus;
  program: string;
  argv: string[];
  root: string;
  start: string;
  startMs: number;
  end: string | null;
  durationMs: number | null;
  exitCode: number | null;
  signal: string | null;
  metadata: Record<string, unknown>;
}

/** Status, times, counts, threads and top functions of one trace. */
export function getTrace(id?: string, o?: Location & { live?: boolean }): TraceInfo {
  const dir = traceDir(id, o);
  const meta = readMetadata(dir);
  const status = meta === null ? 'partial' : statusOf(meta);
  const ix = openIndex(dir, o?.live ?? status === 'recording');
  const info = ix.info();
  return {
    ...info,
    id: path.basename(dir),
    dir,
    status: status === 'recording' && !ix.live && info.complete ? 'recording' : status,
    program: meta?.program ?? '',
    argv: meta?.argv ?? [],
    root: String(meta?.root ?? meta?.cwd ?? ''),
    start: meta?.start_time ?? '',
    startMs: meta?.start_ms ?? 0,
    end: meta?.end_time ?? null,
    durationMs: meta?.duration_ms ?? null,
    exitCode: meta?.exit_code ?? null,
    signal: meta?.signal ?? null,
    metadata: (meta ?? {}) as Record<string, unknown>,
  };
}

/** Pages of activations with their values. */
export function timeline(id: string | undefined, q: TimelineQuery & Location = {}): TimelinePage {
  const ix = openIndex(traceDir(id, q));
  const { outDir: _o, run: _r, domain: _d, level: _l, sample: _s, iteration: _i, ...rest } = q;
  return ix.timeline({ ...rest, ...runFilter(q) });
}

/** Selects runs (`noderec.run`) in `timeline`, `callTree` and `valueHistory`:
 * every given field must match; activations belong to the run they were
 * called in, and with any field given, those called outside every run are left out. */
export interface RunFilter {
  /** The run with this `runId`, or a run nested in it. */
  run?: string;
  /** Runs of this domain (a nested run takes its parent's when it has none). */
  domain?: string;
  /** Runs of this level (compared as text; inherited like the domain). */
  level?: string | number;
  /** Runs with this `sampleId` (compared as text). */
  sample?: string | number;
  /** Runs with this `iteration` (compared as text). */
  iteration?: string | number;
}

function runFilter(f: RunFilter): { run?: string; domain?: string; level?: string; sample?: string; iteration?: string } {
  const text = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));
  return { run: f.run, domain: f.domain, level: text(f.level), sample: text(f.sample), iteration: text(f.iteration) };
}

/** One run of a trace (`noderec.run`), as its index holds it: its options as given (numbers as text). */
export interface RunInfo {
  runId: string;
  domain?: string;
  level?: string;
  sampleId?: string;
  iteration?: string;
  /** `parentRunId` as given, else the run it is nested in. */
  parentRunId?: string;
  thread: number;
  startNs: number;
  /** End (ns); its start while it has not ended. */
  endNs: number;
  ended: boolean;
  /** Events recorded in it (marks and nested runs' events not counted). */
  events: number;
  /** Activations called in it. */
  activations: number;
  /** Events it cleared (`clear`: not in the trace). */
  cleared: number;
  /** Why a clearing run was written in full: `failed`, `hold-cap` or `unended`. */
  kept?: string;
}

/** A user span (`span()`, `startSpan()`, the http bridges), one per start/end pair. */
export interface SpanInfo {
  thread: number;
  name: string;
  startNs: number;
  /** End; for one not ended, the last time seen on its thread. */
  endNs: number;
  status: 'ok' | 'error' | 'unfinished';
  ended: boolean;
  /** The `runId` of the run it started in. */
  run?: string;
}

/** The user spans of a trace from its index, in the order they started: of
 * one thread (all when absent), overlapping `from`..`to` (ns), in the runs
 * the run filter selects; at most `limit` (default 10,000). */
export function spans(id: string | undefined, q: { thread?: number; from?: number; to?: number; limit?: number } & RunFilter & Location = {}): SpanInfo[] {
  return openIndex(traceDir(id, q))
    .spans(q.thread, q.from, q.to, runFilter(q), q.limit)
    .map((s) => {
      const out: SpanInfo = { thread: s.thread, name: s.name, startNs: s.startNs, endNs: s.endNs, status: s.status, ended: s.ended };
      if (typeof s.run === 'string') out.run = s.run;
      return out;
    });
}

/** Every run of a trace, in the order they started, from its index (built
 * on first use); a run with nothing recorded is listed with 0 events. */
export function runs(id: string | undefined, o?: Location): RunInfo[] {
  return openIndex(traceDir(id, o))
    .runs()
    .map((r) => {
      const out: RunInfo = {
        runId: r.runId,
        thread: r.thread,
        startNs: r.startNs,
        endNs: r.endNs,
        ended: r.ended,
        events: r.events,
        activations: r.activations,
        cleared: r.cleared,
      };
      if (typeof r.kept === 'string') out.kept = r.kept;
      for (const k of ['domain', 'level', 'sampleId', 'iteration', 'parentRunId'] as const) {
        const v = r[k];
        if (typeof v === 'string') out[k] = v;
      }
      return out;
    });
}

/** Children of one activation (activation 0 = those called from the event loop), lazily. */
export function callTree(
  id: string | undefined,
  q: { thread?: number; activation?: number; limit?: number; after?: number } & RunFilter & Location = {},
): Activation[] {
  const ix = openIndex(traceDir(id, q));
  return ix.children(q.thread ?? 0, q.activation ?? 0, q.limit, q.after, runFilter(q));
}

/** One activation with its values and the output printed during it. */
export function getCall(id: string | undefined, q: { thread?: number; activation: number } & Location): CallDetail | null {
  return openIndex(traceDir(id, q)).call(q.thread ?? 0, q.activation);
}

/** Successive values of an argument (`args.0.x`, or a parameter name), `this` field or `return` of one function, with diffs. */
export function valueHistory(id: string | undefined, q: { fn: string; path: string; limit?: number } & RunFilter & Location): HistoryEntry[] {
  const ix = openIndex(traceDir(id, q));
  return ix.valueHistory(q.fn, q.path, q.limit, runFilter(q));
}

/** Functions whose call counts, durations, return values or thrown errors differ between two traces. */
export function compare(idA: string, idB: string, o?: Location): CompareRow[] {
  const a = openIndex(traceDir(idA, o));
  const b = openIndex(traceDir(idB, o));
  return a.compare(b);
}

/** What `calls()` selects; the run filters select by the run a call was made in (`noderec.run`). */
export interface CallsQuery extends Location {
  /** Qualified function names to match (picomatch glob); all when absent. */
  fn?: string;
  /** Only calls that took at least this long (ms). */
  minMs?: number;
  /** At most this many calls, slowest first (default 50; 0: all). */
  limit?: number;
  /** Only calls inside the run with this `runId`, or a run nested in it. */
  run?: string;
  /** Only calls inside runs of this domain. */
  domain?: string;
  /** Only calls inside runs of this level (compared as text). */
  level?: string | number;
  /** Only calls inside runs of this `sampleId` (compared as text). */
  sample?: string | number;
  /** Only calls inside runs of this `iteration` (compared as text). */
  iteration?: string | number;
}

/** One call of `calls()`. */
export interface CallRow {
  fn: string;
  path: string;
  line: number;
  thread: number;
  activation: number;
  depth: number;
  /** Start, ns since recording started. */
  t: number;
  /** Duration, ns (suspensions included). */
  dur: number;
  /** The `runId` it was called in (given when a run filter is). */
  run?: string;
  this?: RecordedValue;
  args?: RecordedValue[];
  value?: RecordedValue;
  error?: RecordedValue;
  threw?: boolean;
  finished?: boolean;
}

/** The slowest calls matching `q`, read from the trace (not the index); a
 * run filter that selects no run throws `ERR_RUN_MISSING`. */
export function calls(id: string | undefined, q: CallsQuery = {}): CallRow[] {
  const text = (v: string | number | undefined): string | undefined => (v === undefined ? undefined : String(v));
  const f = { run: q.run, domain: q.domain, level: text(q.level), sample: text(q.sample), iteration: text(q.iteration) };
  const runs = Object.values(f).some((v) => v !== undefined) ? f : undefined;
  const { rows } = native().queryCalls(traceDir(id, q), q.fn ?? null, q.minMs ?? 0, Math.floor(q.limit ?? 50), runs);
  return rows.map((r) => JSON.parse(r) as CallRow);
}

