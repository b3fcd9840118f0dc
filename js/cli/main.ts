// The `noderec` command line.
import * as path from 'node:path';

import { FilterError } from '../filter/chain';
import { native, ReadResult } from '../native';
import { envSetting, envSettingLenient } from '../policy/env';
import { DEFAULT_POLICY, PolicyError, SETTINGS } from '../policy/model';
import { EXPORT_USAGE, exportCmd } from './export';
import { record, usageTrailer } from './record';
import { QUERY_USAGE, queryCommand, recordWithView, wantsView } from './query-commands';
import { humanBytes, humanMs, listLooseTraces, listRuns, resolveTrace, TraceEntry, UsageError } from './traces';
import { term } from './terminal';

const USAGE = `usage: noderec <command> [options]

  record [options] [--] <command...>   run a command and record every node process it starts
  record <script.js> [args...]          short form of: record -- node <script.js>
  ls [out-dir]                          list traces, newest first
  show [trace]                          summary: status, time, counts, busiest functions
${EXPORT_USAGE}
  calls [trace] [--fn GLOB] [--min-ms N] [--limit N] [--json] [--allow-partial]
                                        calls of matching functions that took at least N ms, slowest first
${QUERY_USAGE}
A trace is a trace directory, a name inside the out dir, or 'latest' (default).
record writes one run directory <out-dir>/<run-id>/ holding a trace directory
per recorded node process. Exit code: 2 usage error, 1 recorder error,
otherwise the command's own. export and calls on a damaged or cut trace
give what precedes the damage, say where reading stopped on stderr and
exit 1, or 0 with --allow-partial.

record options (each beats its environment variable):
${SETTINGS.map((s) => `  ${(s.flag + (s.kind.t === 'bool' ? '' : ' ' + (s.kind.t === 'int' ? 'N' : s.kind.t === 'enum' ? s.kind.values.join('|') : 'PATH'))).padEnd(38)} ${s.env}: ${s.doc}`).join('\n')}
  (booleans also take --no-<flag> and --<flag>=true|false)
`;

/** NODEREC_OUT_DIR through the settings table (a bad value is
 * ERR_INVALID_POLICY_VALUE, exit 2), else the default. */
export function outDir(): string {
  return path.resolve(envSetting('outDir') ?? DEFAULT_POLICY.outDir);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function traceRows(traces: TraceEntry[], indent: string): string[][] {
  return traces.map((t) => {
    const m = t.meta;
    const row = [
      indent + m.program,
      String(m.pid ?? ''),
      String(m.ppid ?? ''),
      (m.start_time ?? '').replace('T', ' ').replace(/\.\d+Z$/, ''),
      humanMs(m.duration_ms),
      m.status + (m.truncated ? ' (truncated)' : ''),
      String(m.events ?? 0),
      humanBytes(m.trace_bytes ?? 0),
      path.basename(t.dir),
    ];
    return row.map((c) => term(String(c)));
  });
}

/** Lists runs (each with its processes' traces) and traces recorded
 * without `noderec record`, newest first. */
/** The positional arguments of `cmd` (at most `max`); options other than
 * `known` (a flag and whether it takes a value) are usage errors. */
function positionals(cmd: string, args: string[], max: number, what: string): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a} for 'noderec ${cmd}'`);
    out.push(a);
  }
  if (out.length > max) throw new UsageError(`'noderec ${cmd}' takes ${what}, not ${out.map((a) => JSON.stringify(a)).join(' ')}`);
  return out;
}

function ls(args: string[]): number {
  const [given] = positionals('ls', args, 1, 'one out dir');
  const dir = given !== undefined ? path.resolve(given) : outDir();
  const runs = listRuns(dir);
  const loose = listLooseTraces(dir);
  if (runs.length === 0 && loose.length === 0) {
    write(`no traces in ${term(dir)}\n`);
    return 0;
  }
  const header = ['PROGRAM', 'PID', 'PPID', 'STARTED (UTC)', 'DURATION', 'STATUS', 'EVENTS', 'SIZE', 'TRACE'];
  const blocks: { title: string | null; rows: string[][] }[] = [];
  for (const r of runs) {
    const i = r.info;
    const end = i.signal ? `signal ${i.signal}` : i.exit_code === null || i.exit_code === undefined ? 'running' : `exit ${i.exit_code}`;
    const full = Array.isArray(i.command) ? i.command.join(' ').replace(/\s+/g, ' ').trim() : '';
    const cmd = full.length > 80 ? full.slice(0, 77) + '...' : full;
    blocks.push({
      title: term(`run ${r.runId}  ${String(i.start_time ?? '').replace('T', ' ').replace(/\.\d+Z$/, '')}  ${end}  ${r.traces.length} trace${r.traces.length === 1 ? '' : 's'}  ${cmd}`),
      rows: traceRows(r.traces, '  '),
    });
  }
  if (loose.length > 0) blocks.push({ title: runs.length > 0 ? 'not in a run' : null, rows: traceRows(loose, runs.length > 0 ? '  ' : '') });
  const all = [header, ...blocks.flatMap((b) => b.rows)];
  const widths = header.map((_, k) => Math.max(...all.map((row) => row[k].length)));
  const fmt = (row: string[]): string => row.map((c, k) => pad(c, widths[k])).join('  ').trimEnd() + '\n';
  const text = [fmt(header)];
  for (const b of blocks) {
    if (b.title !== null) text.push(b.title + '\n');
    for (const row of b.rows) text.push(fmt(row));
  }
  write(text.join(''));
  return 0;
}

function show(args: string[]): number {
  const [trace] = positionals('show', args, 1, 'one trace');
  const dir = resolveTrace(trace, outDir());
  const s = native().traceSummary(dir);
  const m = s.metadata;
  const out: string[] = [];
  out.push(`trace     ${dir}`);
  out.push(`program   ${String(m.program)}  (pid ${String(m.pid)}, node ${String(m.node_version)})`);
  out.push(`status    ${String(m.status)}${m.exit_code !== null ? `, exit code ${String(m.exit_code)}` : ''}${m.signal ? `, signal ${String(m.signal)}` : ''}`);
  out.push(`started   ${String(m.start_time)}   duration ${humanMs(m.duration_ms as number | null)}`);
  out.push(`events    ${s.read.events} in ${s.read.chunks} chunks, ${humanBytes(s.read.fileLen)}${s.read.damage ? `  (reader stopped: ${s.read.damage})` : ''}`);
  out.push(`threads   ${Object.entries(s.threads).map(([id, n]) => `${id}:${n}`).join(', ')}`);
  out.push(`counts    ${Object.entries(s.counts).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push('');
  out.push('slowest functions (inclusive on-stack time, a recursive function counted once per outermost call):');
  for (const f of s.functions) {
    out.push(`  ${pad(f.totalMs.toFixed(3) + ' ms', 14)} ${pad(String(f.calls) + ' calls', 14)} ${f.name}  ${f.path}:${f.line}`);
  }
  write(out.map((l) => term(l)).join('\n') + '\n');
  return 0;
}

interface CallRow {
  fn: string;
  path: string;
  line: number;
  thread: number;
  t: number;
  dur: number;
  args?: unknown[];
  this?: unknown;
  value?: unknown;
  error?: unknown;
  threw?: boolean;
  finished?: boolean;
}

function short(v: unknown, max = 60): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function callsCmd(args: string[]): number {
  let fn: string | null = null;
  let minMs = 0;
  let limit = 50;
  let json = false;
  let allowPartial = false;
  const rest: string[] = [];
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} needs a number >= 0, not '${v ?? ''}'`);
    return n;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--fn') fn = args[++i] ?? null;
    else if (a.startsWith('--fn=')) fn = a.slice(5);
    else if (a === '--min-ms') minMs = num(a, args[++i]);
    else if (a.startsWith('--min-ms=')) minMs = num('--min-ms', a.slice(9));
    else if (a === '--limit') limit = num(a, args[++i]);
    else if (a.startsWith('--limit=')) limit = num('--limit', a.slice(8));
    else if (a === '--json') json = true;
    else if (a === '--allow-partial') allowPartial = true;
    else rest.push(a);
  }
  const [trace] = positionals('calls', rest, 1, 'one trace');
  if (fn === '') throw new UsageError('--fn needs a glob, e.g. --fn "handle*"');
  const dir = resolveTrace(trace, outDir());
  const { rows, read } = native().queryCalls(dir, fn, minMs, Math.floor(limit));
  if (json) {
    write(rows.map((r) => r + '\n').join(''));
    return damaged(dir, read, allowPartial, 'calls');
  }
  const out: string[] = [];
  for (const line of rows) {
    const r = JSON.parse(line) as CallRow;
    const argText = r.args === undefined ? '' : r.args.map((a) => short(a, 40)).join(', ');
    const result = r.finished === false ? '(unfinished)' : r.threw ? `threw ${short(r.error ?? '?')}` : `→ ${short(r.value)}`;
    out.push(
      term(`${(r.dur / 1e6).toFixed(3).padStart(10)} ms  ${r.fn}(${argText}) ${result}  ${r.path}:${r.line}${r.thread !== 0 ? ` [thread ${r.thread}]` : ''}`),
    );
  }
  write(out.length === 0 ? 'no matching calls\n' : out.join('\n') + '\n');
  return damaged(dir, read, allowPartial, 'calls');
}

/** After export or calls: a damaged or cut trace is told on stderr with the
 * position where reading stopped; exit code 1 unless --allow-partial. */
export function damaged(dir: string, read: ReadResult, allowPartial: boolean, what: string): number {
  if (read.damage === null || read.damage === undefined) return 0;
  const where = path.join(dir, 'trace.nrt');
  const tail = allowPartial ? '' : ' (pass --allow-partial to accept a partial result)';
  process.stderr.write(
    term(`noderec: ERR_TRACE_INCOMPLETE: ${where}: reading stopped: ${read.damage}; the ${what} covers the ${read.events} events before it${tail}`) + '\n',
  );
  return allowPartial ? 0 : 1;
}

/** Writes to stdout (a closed pipe ends the process quietly: see main). */
function write(text: string): void {
  process.stdout.write(text);
}

/** `noderec ls | head -1`: when the reader of stdout (or stderr) goes away,
 * the command ends quietly with the exit code it has so far. */
function endQuietlyOnEpipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw e;
    });
  }
}

export function main(argv: string[]): void {
  endQuietlyOnEpipe();
  const [cmd, ...rest] = argv;
  const done = (code: number) => {
    process.exitCode = code;
  };
  try {
    switch (cmd) {
      case 'record':
        (wantsView(rest) ? recordWithView(rest) : record(rest)).then(done, (e: unknown) => fail(e));
        return;
      case 'ls':
        return done(ls(rest));
      case 'show':
        return done(show(rest));
      case 'export':
        exportCmd(rest, outDir()).then(done, (e: unknown) => fail(e));
        return;
      case 'calls':
        return done(callsCmd(rest));
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        write(USAGE);
        return done(cmd === undefined ? 2 : 0);
      default: {
        const r = queryCommand(cmd, rest);
        if (r === undefined) throw new UsageError(`unknown command '${cmd}'`);
        if (typeof r === 'number') return done(r);
        r.then(done, (e: unknown) => fail(e));
        return;
      }
    }
  } catch (e) {
    fail(e);
  }
}

function jsonErrorsAsked(): boolean {
  const argv = process.argv.slice(2);
  if (argv.includes('--json-errors') || argv.includes('--json-errors=1') || argv.includes('--json-errors=true')) return true;
  return envSettingLenient('jsonErrors') === true;
}

function fail(e: unknown): void {
  const err = e as { code?: string; message?: string };
  if (err instanceof UsageError || err instanceof PolicyError || err instanceof FilterError) {
    process.stderr.write(err instanceof UsageError ? `noderec: ${term(err.message)}\n\n${USAGE}` : `noderec: ${err.code}: ${term(err.message)}\n`);
    if (jsonErrorsAsked()) process.stderr.write(JSON.stringify(usageTrailer(e)) + '\n');
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`noderec: ${err.code ?? 'ERR_INTERNAL'}: ${term(err.message ?? String(e))}\n`);
  if (jsonErrorsAsked()) {
    const t = usageTrailer(e);
    process.stderr.write(JSON.stringify({ ...t, error_kind: 'internal' }) + '\n');
  }
  process.exitCode = 1;
}
