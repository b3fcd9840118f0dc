// `noderec export`: streams a trace to another tool's format, with a
// progress bar on a terminal for exports that take more than a second.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { native } from '../native';
import type { BindingExportSummary } from '../native/binding';
import { COMMAND_BY_NAME, parseCommand } from './args';
import { postOtlp, tracesUrl } from './otlp';
import { damaged } from './main';
import { listRuns, readMetadata, resolveTrace, UsageError } from './traces';
import { envSetting } from '../policy/env';

export const EXPORT_FORMATS = ['jsonl', 'chrome', 'speedscope', 'perfetto', 'otlp', 'parquet', 'codetracer'];

/** The CodeTracer exporter, a separate binary built on demand (`npm run build:codetracer`). */
export function codetracerBin(): string {
  return process.env.NODEREC_CODETRACER_BIN || path.join(packageRoot(), 'crates', 'noderec_codetracer', 'target', 'release', 'noderec-codetracer');
}

/** The noderec package's folder (this file runs from js/cli in the sources
 * and from js/dist/cli when built). */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'noderec') return dir;
    } catch {
      // not here
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(__dirname, '..', '..', '..');
    dir = up;
  }
}

/** OTLP: activations shorter than this are not spans unless a longer callee needs them. */
export const OTLP_MIN_DURATION_NS = 1e6;

interface ExportArgs {
  format: string;
  out: string | null;
  trace: string | undefined;
  run: string | null;
  /** In-trace run filters (noderec.run's runId, domain, level). */
  runId?: string;
  domain?: string;
  level?: string;
  sample?: string;
  iteration?: string;
  /** jsonl: run, span and log lines carry `t` at the top level too. */
  topTime: boolean;
  thread?: number;
  fromNs?: number;
  toNs?: number;
  noValues: boolean;
  minDurationNs?: number;
  endpoint: string | null;
  progress: boolean | null;
  allowPartial: boolean;
}

/** A time such as `12.5ms`, `300us`, `2s`, `1500ns` (a bare number is ms), in ns. */
export function parseTime(flag: string, v: string | undefined): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)?\s*$/.exec(v ?? '');
  if (m === null) throw new UsageError(`${flag} needs a time such as 12.5ms, 300us, 2s or 1500ns, not '${v ?? ''}'`);
  const mult = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 }[(m[2] ?? 'ms') as 'ns'];
  return Math.round(Number(m[1]) * mult);
}

export function parseExportArgs(args: string[]): ExportArgs {
  const a: ExportArgs = { format: 'jsonl', out: null, trace: undefined, run: null, noValues: false, topTime: false, endpoint: null, progress: null, allowPartial: false };
  const spec = COMMAND_BY_NAME.get('export');
  if (spec === undefined) throw new UsageError("unknown command 'export'");
  const p = parseCommand(spec, args);
  const str = (name: string): string | undefined => {
    const v = p.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  a.trace = p.pos[0];
  a.format = str('--format') ?? a.format;
  a.out = str('--out') ?? null;
  const thread = str('--thread');
  if (thread !== undefined) {
    if (!/^\d+$/.test(thread)) throw new UsageError(`--thread needs a thread id (0 = main), not '${thread}'`);
    a.thread = Number(thread);
  }
  for (const [flag, key] of [['--from', 'fromNs'], ['--to', 'toNs'], ['--min-duration', 'minDurationNs']] as const) {
    const v = str(flag);
    if (v !== undefined) a[key] = parseTime(flag, v);
  }
  a.run = str('--run') ?? null;
  a.domain = str('--domain');
  a.level = str('--level');
  a.sample = str('--sample');
  a.iteration = str('--iteration');
  for (const [flag, v] of [['--run', a.run], ['--domain', a.domain], ['--level', a.level], ['--sample', a.sample], ['--iteration', a.iteration]] as const) {
    if (v === '') throw new UsageError(`${flag} needs a value`);
  }
  a.topTime = p.flags.has('--jsonl-top-time') || envSetting('jsonlTopTime') === true;
  a.noValues = p.flags.has('--no-values');
  a.endpoint = str('--endpoint') ?? null;
  // The later of --progress / --no-progress wins.
  for (const arg of args) {
    if (arg === '--') break;
    if (arg === '--progress') a.progress = true;
    else if (arg === '--no-progress') a.progress = false;
  }
  a.allowPartial = p.flags.has('--allow-partial');
  if (!EXPORT_FORMATS.includes(a.format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}, not '${a.format}'`);
  if (a.fromNs !== undefined && a.toNs !== undefined && a.toNs < a.fromNs) throw new UsageError('--to is before --from');
  if (a.format === 'codetracer') {
    if (a.out === null) throw new UsageError('--format codetracer needs -o DIR (the CodeTracer trace directory to write)');
    if (a.thread !== undefined || a.fromNs !== undefined || a.toNs !== undefined) throw new UsageError('--thread, --from and --to are not supported with --format codetracer yet');
  }
  if (a.format === 'parquet' && a.out === null) throw new UsageError('--format parquet needs -o FILE (a Parquet file cannot be streamed to stdout)');
  if (a.format === 'otlp') {
    if ((a.out === null) === (a.endpoint === null)) throw new UsageError('--format otlp needs one of -o FILE or --endpoint URL');
    if (a.endpoint !== null) {
      try {
        tracesUrl(a.endpoint);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    a.minDurationNs ??= OTLP_MIN_DURATION_NS;
  } else if (a.endpoint !== null || a.minDurationNs !== undefined) {
    throw new UsageError(`${a.endpoint !== null ? '--endpoint' : '--min-duration'} is for --format otlp`);
  }
  return a;
}

/** The trace to export: the argument, or, when `--run` names a `noderec
 * record` run, that run's first process. Otherwise `--run` names a run
 * inside the trace (`noderec.run`'s `runId`) and becomes a filter
 * (`a.runId`). */
function pickTrace(a: ExportArgs, outDir: string): string {
  if (a.run === null) return resolveTrace(a.trace, outDir);
  if (a.trace !== undefined) {
    const dir = resolveTrace(a.trace, outDir);
    const m = readMetadata(dir);
    if (m === null || m.run_id !== a.run) a.runId = a.run;
    return dir;
  }
  const run = listRuns(outDir).find((r) => r.runId === a.run || path.basename(r.dir) === a.run);
  if (run === undefined || run.traces.length === 0) {
    a.runId = a.run;
    return resolveTrace(undefined, outDir);
  }
  // The run's first process (the command itself), then its children.
  return [...run.traces].sort((x, y) => x.meta.start_ms - y.meta.start_ms)[0].dir;
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(0)}k` : n.toFixed(0);
}

function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '--';
  return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}

/** One line of the progress bar. */
export function progressLine(read: number, total: number, events: number, elapsedS: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, read / total) : 0;
  const fill = Math.round(frac * width);
  const rate = elapsedS > 0 ? events / elapsedS : 0;
  const eta = frac > 0 ? (elapsedS / frac) * (1 - frac) : Infinity;
  return `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${fmtRate(events)} events  ${fmtRate(rate)} events/s  ETA ${fmtSecs(eta)}`;
}

let jobCounter = 0;

export async function exportCmd(args: string[], outDir: string): Promise<number> {
  const a = parseExportArgs(args);
  const dir = pickTrace(a, outDir);
  if (a.out !== null) {
    const parent = path.dirname(path.resolve(a.out));
    if (!fs.existsSync(parent)) throw new UsageError(`the directory of -o ${a.out} does not exist`);
  }
  // --endpoint: write the requests to a private scratch file, then POST them.
  let scratch: string | null = null;
  if (a.endpoint !== null) {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noderec-otlp-'));
    a.out = path.join(scratch, 'spans.otlp');
  }
  try {
    return await exportTo(a, dir);
  } finally {
    if (scratch !== null) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

class CodetracerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function exportCodetracer(a: ExportArgs, dir: string): number {
  const bin = codetracerBin();
  if (!fs.existsSync(bin)) {
    const root = packageRoot();
    throw new CodetracerError(
      'ERR_CODETRACER_NOT_BUILT',
      `the CodeTracer export is built on demand: run 'npm run build:codetracer' in ${root} (it needs the capnp compiler: apt-get install capnproto), or set NODEREC_CODETRACER_BIN`,
    );
  }
  const r = spawnSync(bin, [dir, a.out as string, ...(a.noValues ? ['--no-values'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
  let res: { events?: number; code?: string; message?: string } = {};
  try {
    res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as typeof res;
  } catch {
    // reported below
  }
  if (r.status !== 0 || res.events === undefined) {
    throw new CodetracerError(res.code ?? 'ERR_INTERNAL', res.message ?? `${bin} failed (${r.status ?? r.signal}): ${r.stderr}`);
  }
  return 0;
}

async function exportTo(a: ExportArgs, dir: string): Promise<number> {
  if (a.format === 'codetracer') return exportCodetracer(a, dir);
  const stderr = process.stderr;
  // The bar goes to stderr when it is a terminal; never when the export
  // itself goes to a terminal (stdout) sharing it, unless asked.
  const show = a.progress ?? (stderr.isTTY === true && (a.out !== null || process.stdout.isTTY !== true));
  const job = ++jobCounter;
  const started = Date.now();
  let drawn = false;
  const timer = show
    ? setInterval(() => {
        const elapsed = (Date.now() - started) / 1000;
        if (elapsed < 1) return;
        const p = native().exportProgress(job);
        if (p === null) return;
        stderr.write(`\r${progressLine(p[0], p[1], p[2], elapsed)}`);
        drawn = true;
      }, 200)
    : null;
  let summary: BindingExportSummary;
  try {
    summary = await native().exportTraceAsync(job, dir, a.format, a.out, {
      thread: a.thread,
      fromNs: a.fromNs,
      toNs: a.toNs,
      noValues: a.noValues,
      minDurationNs: a.minDurationNs,
      run: a.runId,
      domain: a.domain,
      level: a.level,
      sample: a.sample,
      iteration: a.iteration,
      topTime: a.topTime,
    });
  } catch (e) {
    // The reader of stdout went away (`noderec export | head -1`): the
    // export ends quietly, as every command does on EPIPE.
    if (a.out === null && /Broken pipe|EPIPE/.test(String((e as Error)?.message))) {
      if (timer !== null) clearInterval(timer);
      return 0;
    }
    throw e;
  } finally {
    if (timer !== null) clearInterval(timer);
    if (drawn) stderr.write('\r\x1b[K');
  }
  if ((a.runId !== undefined || a.domain !== undefined || a.level !== undefined || a.sample !== undefined || a.iteration !== undefined) && summary.runsMatched === 0 && !summary.damage) {
    const what = [
      a.runId !== undefined ? `run '${a.runId}'` : 'run',
      a.domain !== undefined ? `of domain '${a.domain}'` : '',
      a.level !== undefined ? `of level '${a.level}'` : '',
      a.sample !== undefined ? `of sample '${a.sample}'` : '',
      a.iteration !== undefined ? `of iteration '${a.iteration}'` : '',
    ]
      .filter((x) => x !== '')
      .join(' ');
    const e = new Error(`no ${what} in trace ${dir}${a.runId !== undefined ? ` (nor a noderec record run of that id in ${path.dirname(dir)})` : ''}`) as Error & { code: string };
    e.code = 'ERR_RUN_MISSING';
    throw e;
  }
  if (show && drawn) {
    const s = (Date.now() - started) / 1000;
    stderr.write(`noderec: exported ${summary.exported} of ${summary.events} events in ${s.toFixed(1)} s (${fmtRate(summary.events / s)} events/s)\n`);
  }
  // A damaged or cut trace: told on stderr with where reading stopped; exit 1
  // unless --allow-partial (the same rule as `noderec calls`).
  const partial = summary.damage !== null ? damaged(dir, { events: summary.events, damage: summary.damage, bytesRead: 0, closed: false }, a.allowPartial, 'export') : 0;
  if (a.endpoint !== null && a.out !== null) {
    const r = await postOtlp(a.out, a.endpoint);
    if (r.rejected > 0) stderr.write(`noderec: warning: the collector rejected ${r.rejected} spans\n`);
  }
  return partial;
}
