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

export function readMetadata(dir: string): Metadata | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as Metadata;
  } catch {
    return null;
  }
}

/** Trace directories under `outDir`, newest first. */
export function listTraces(outDir: string): TraceEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(outDir);
  } catch {
    return [];
  }
  const out: TraceEntry[] = [];
  for (const n of names) {
    const dir = path.join(outDir, n);
    const meta = readMetadata(dir);
    if (meta !== null) out.push({ dir, meta });
  }
  out.sort((a, b) => b.meta.start_ms - a.meta.start_ms || b.dir.localeCompare(a.dir));
  return out;
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
