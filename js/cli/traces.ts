// Finding and describing trace directories.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Metadata {
  program: string;
  argv: string[];
  pid: number;
  ppid: number;
  run_id: string;
  start_time: string;
  start_ms: number;
  end_time: string | null;
  duration_ms: number | null;
  exit_code: number | null;
  signal: string | null;
  status: string;
  events: number;
  trace_bytes: number;
  truncated: boolean;
  [k: string]: unknown;
}

export interface TraceEntry {
  dir: string;
  meta: Metadata;
}

/** Largest metadata.json / run.json read (as the native reader). */
const MAX_JSON = 64 << 20;

/** Reads a small regular file as text; null for anything else. A FIFO is
 * opened without blocking and refused, and so are devices and huge files,
 * so listing a directory someone else filled cannot hang or exhaust memory. */
export function readSmallFile(file: string): string | null {
  let fd = -1;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > MAX_JSON) return null;
    return fs.readFileSync(fd, 'utf8');
  } catch {
    return null;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

export function readMetadata(dir: string): Metadata | null {
  const text = readSmallFile(path.join(dir, 'metadata.json'));
  if (text === null) return null;
  try {
    const m = JSON.parse(text) as Metadata;
    return m !== null && typeof m === 'object' ? m : null;
  } catch {
    return null;
  }
}

function tracesIn(dir: string): TraceEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: TraceEntry[] = [];
  for (const n of names) {
    const d = path.join(dir, n);
    const meta = readMetadata(d);
    if (meta !== null) out.push({ dir: d, meta });
  }
  return out.sort(newestFirst);
}

function newestFirst(a: TraceEntry, b: TraceEntry): number {
  return b.meta.start_ms - a.meta.start_ms || b.dir.localeCompare(a.dir);
}

/** A run of `noderec record`: `<out>/<run-id>/` with run.json and one trace
 * directory per recorded process. */
export interface RunEntry {
  dir: string;
  runId: string;
  info: { command?: string[]; start_ms?: number; start_time?: string; exit_code?: number | null; signal?: string | null; [k: string]: unknown };
  traces: TraceEntry[];
}

/** Runs under `outDir`, newest first. */
export function listRuns(outDir: string): RunEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(outDir);
  } catch {
    return [];
  }
  const out: RunEntry[] = [];
  for (const n of names) {
    const dir = path.join(outDir, n);
    let info: RunEntry['info'];
    const text = readSmallFile(path.join(dir, 'run.json'));
    if (text === null) continue;
    try {
      info = JSON.parse(text) as RunEntry['info'];
    } catch {
      continue;
    }
    if (info === null || typeof info !== 'object') continue;
    out.push({ dir, runId: String(info.run_id ?? n), info, traces: tracesIn(dir) });
  }
  return out.sort((a, b) => (b.info.start_ms ?? 0) - (a.info.start_ms ?? 0) || b.dir.localeCompare(a.dir));
}

/** Trace directories under `outDir` (and in its run directories), newest first. */
export function listTraces(outDir: string): TraceEntry[] {
  const all = tracesIn(outDir);
  for (const r of listRuns(outDir)) all.push(...r.traces);
  return all.sort(newestFirst);
}

/** Traces directly in `outDir` (recorded without `noderec record`), newest first. */
export function listLooseTraces(outDir: string): TraceEntry[] {
  return tracesIn(outDir);
}

export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
}

/** Resolves a trace argument: a directory, a name in the out dir, or `latest`/none. */
export function resolveTrace(arg: string | undefined, outDir: string): string {
  if (arg !== undefined && arg !== 'latest') {
    if (fs.existsSync(path.join(arg, 'metadata.json')) || fs.existsSync(path.join(arg, 'trace.nrt'))) return path.resolve(arg);
    const inOut = path.join(outDir, arg);
    if (fs.existsSync(path.join(inOut, 'metadata.json'))) return inOut;
    const inRun = listTraces(outDir).find((t) => path.basename(t.dir) === arg);
    if (inRun !== undefined) return inRun.dir;
    const e = new Error(`no trace at ${arg} (give a trace directory, a name in ${outDir}, or 'latest')`) as Error & {
      code: string;
    };
    e.code = 'ERR_TRACE_MISSING';
    throw e;
  }
  const all = listTraces(outDir);
  if (all.length === 0) {
    const e = new Error(`no traces in ${outDir}`) as Error & { code: string };
    e.code = 'ERR_TRACE_MISSING';
    throw e;
  }
  return all[0].dir;
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function humanMs(ms: number | null): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
