// The viewer's questions, answered from the query API. The HTTP server
// calls these per request; `noderec report` calls them once to embed the
// answers. Trace ids are names listed in the out dir, never paths.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { listTraces, openIndex, statusOf, TraceListEntry, traceListEntry } from '../query';
import { readMetadata } from '../cli/traces';

export class ViewerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Trace directories the viewer may show: those listed in `outDir` (plus an explicit one). */
export class Catalog {
  constructor(
    readonly outDir: string,
    readonly extra: string[] = [],
  ) {}

  list(): TraceListEntry[] {
    const seen = new Set<string>();
    const out: TraceListEntry[] = [];
    for (const t of listTraces({ outDir: this.outDir })) {
      seen.add(t.dir);
      out.push(t);
    }
    for (const d of this.extra) {
      if (seen.has(d)) continue;
      const m = readMetadata(d);
      if (m === null) continue;
      out.push(traceListEntry({ dir: d, meta: m }, null));
    }
    return out;
  }

  /** The directory of a listed trace id; anything else is a 404. */
  dir(id: string | null): string {
    if (id === null || id === '' || id.includes('/') || id.includes('\\') || id.includes('\0') || id === '.' || id === '..') {
      throw new ViewerError(404, 'ERR_TRACE_MISSING', `no trace '${id ?? ''}'`);
    }
    const t = this.list().find((x) => x.id === id);
    if (t === undefined) throw new ViewerError(404, 'ERR_TRACE_MISSING', `no trace '${id}'`);
    return t.dir;
  }
}

function num(p: URLSearchParams, k: string, dflt?: number): number | undefined {
  const v = p.get(k);
  if (v === null || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new ViewerError(400, 'ERR_USAGE', `${k} must be a number, not '${v}'`);
  return n;
}

/** Source lines around a function, when its file is still there. */
function sourceAround(root: string, file: string, line: number, before = 3, after = 12): { first: number; lines: string[] } | null {
  if (file === '' || line <= 0) return null;
  const p = path.isAbsolute(file) ? file : path.join(root, file);
  try {
    const st = fs.statSync(p);
    if (!st.isFile() || st.size > 8 << 20) return null;
    const all = fs.readFileSync(p, 'utf8').split('\n');
    const first = Math.max(1, line - before);
    return { first, lines: all.slice(first - 1, Math.min(all.length, line + after)) };
  } catch {
    return null;
  }
}

/** The run filters of a request (`run`, `domain`, `level`, `sample`, `iteration`). */
function runFilter(p: URLSearchParams): { run?: string; domain?: string; level?: string; sample?: string; iteration?: string } {
  const v = (k: string): string | undefined => {
    const x = p.get(k);
    return x === null || x === '' ? undefined : x;
  };
  return { run: v('run'), domain: v('domain'), level: v('level'), sample: v('sample'), iteration: v('iteration') };
}

/** Answers one API route (`/api/<route>`). */
export function answer(cat: Catalog, route: string, p: URLSearchParams): unknown {
  if (route === 'traces') return cat.list().map(({ dir: _d, ...t }) => t);
  const dir = cat.dir(p.get('id'));
  const meta = readMetadata(dir);
  const status = meta === null ? 'partial' : statusOf(meta);
  const ix = openIndex(dir, status === 'recording');
  switch (route) {
    case 'trace': {
      const info = ix.info();
      return {
        ...info,
        id: path.basename(dir),
        status: ix.live ? 'recording' : status,
        program: meta?.program ?? '',
        argv: meta?.argv ?? [],
        start: meta?.start_time ?? '',
        durationMs: meta?.duration_ms ?? null,
        exitCode: meta?.exit_code ?? null,
        functions: ix.functions(),
        runs: ix.runs(),
      };
    }
    case 'flame':
      return ix.flame(num(p, 'thread', 0)!, num(p, 'from', 0)!, num(p, 'to', 0)!, Math.min(8192, Math.max(1, num(p, 'px', 1000)!)));
    case 'timeline':
      return ix.timeline({
        thread: num(p, 'thread'),
        from: num(p, 'from'),
        to: num(p, 'to'),
        fn: p.get('fn') ?? undefined,
        file: p.get('file') ?? undefined,
        minDuration: num(p, 'minDuration'),
        limit: num(p, 'limit', 100),
        cursor: p.get('cursor') ?? undefined,
        values: p.get('values') !== '0',
        ...runFilter(p),
      });
    case 'children':
      return ix.children(num(p, 'thread', 0)!, num(p, 'act', 0)!, num(p, 'limit', 200), num(p, 'after', 0), runFilter(p));
    case 'spans':
      return ix.spans(num(p, 'thread'), num(p, 'from'), num(p, 'to'), runFilter(p), num(p, 'limit', 2000));
    case 'slowest':
      return ix.slowest(num(p, 'limit', 50));
    case 'call': {
      const c = ix.call(num(p, 'thread', 0)!, num(p, 'act', 0)!);
      if (c === null) throw new ViewerError(404, 'ERR_USAGE', 'no such activation');
      const root = String(meta?.root ?? meta?.cwd ?? '');
      return { ...c, source: sourceAround(root, c.activation.path, c.activation.line) };
    }
    case 'history':
      return ix.valueHistory(p.get('fn') ?? '*', p.get('path') ?? 'args.0', num(p, 'limit', 200), runFilter(p));
    default:
      throw new ViewerError(404, 'ERR_USAGE', `no API route '${route}'`);
  }
}
