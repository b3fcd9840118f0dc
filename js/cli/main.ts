// The `noderec` command line.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FilterError } from '../filter/chain';
import { native, ReadResult } from '../native';
import { statusOf } from '../query';
import { envSetting, envSettingLenient } from '../policy/env';
import { DEFAULT_POLICY, PolicyError } from '../policy/model';
import { COMMAND_BY_NAME, COMMANDS, CommandSpec, RECORD, commandHelp, helpAsked, parseCommand, recordHelp, recordTokens } from './args';
import { exportCmd } from './export';
import { record, usageTrailer } from './record';
import { queryCommand, recordWithView, wantsView } from './query-commands';
import { humanBytes, humanMs, listLooseTraces, listRuns, resolveTrace, TraceEntry, UsageError } from './traces';
import { term } from './terminal';

const USAGE = `usage: noderec <command> [options]       (noderec <command> --help: its options)

${[[RECORD.synopsis, RECORD.summary] as const, ['record <script.js> [args...]', 'short form of: record -- node <script.js>'] as const, ...COMMANDS.map((c) => [c.synopsis, c.summary] as const)]
  .map(([syn, sum]) => (syn.length > 36 ? `  ${syn}\n  ${' '.repeat(38)}${sum}` : `  ${syn.padEnd(38)}${sum}`))
  .join('\n')}
  record --view [options] -- <cmd>      record and watch the run live in the viewer
  --version                             the version of noderec

A trace is a trace directory, a name inside the out dir, or 'latest' (default).
record writes one run directory <out-dir>/<run-id>/ holding a trace directory
per recorded node process. Exit code: 2 usage error, 1 recorder error,
otherwise the command's own. export and calls on a damaged or cut trace
give what precedes the damage, say where reading stopped on stderr and
exit 1, or 0 with --allow-partial.
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

/** `noderec ls --runs`: one line per run of the trace (noderec.run), under its row. */
function runLines(dir: string, indent: string): string[] {
  let r;
  try {
    r = native().traceRuns(dir);
  } catch (e) {
    return [term(`${indent}runs unreadable: ${(e as { code?: string }).code ?? 'ERR_INTERNAL'}: ${(e as Error).message}`)];
  }
  const lines = r.runs.map((x) => {
    const parts = [`run ${x.runId}`];
    for (const [k, v] of [['domain', x.domain], ['level', x.level], ['parent', x.parentRunId], ['sample', x.sampleId], ['iteration', x.iteration]] as const) {
      if (v !== undefined && v !== null) parts.push(`${k} ${v}`);
    }
    if (x.thread !== 0) parts.push(`thread ${x.thread}`);
    parts.push(`events ${x.events}`);
    if (x.cleared > 0) parts.push(`cleared ${x.cleared}`);
    if (x.kept !== undefined && x.kept !== null) parts.push(`kept (${x.kept})`);
    if (!x.ended) parts.push('(not ended)');
    return term(indent + parts.join('  '));
  });
  if (r.read.damage) lines.push(term(`${indent}(reader stopped: ${r.read.damage})`));
  return lines;
}

function ls(args: string[]): number {
  const parsed = parseCommand(command('ls'), args);
  const [given] = parsed.pos;
  const withRuns = parsed.flags.has('--runs');
  const dir = given !== undefined ? path.resolve(given) : outDir();
  const runs = listRuns(dir);
  const loose = listLooseTraces(dir);
  if (runs.length === 0 && loose.length === 0) {
    write(`no traces in ${term(dir)}\n`);
    return 0;
  }
  const header = ['PROGRAM', 'PID', 'PPID', 'STARTED (UTC)', 'DURATION', 'STATUS', 'EVENTS', 'SIZE', 'TRACE'];
  const blocks: { title: string | null; rows: string[][]; dirs: string[]; indent: string }[] = [];
  for (const r of runs) {
    const i = r.info;
    const end = i.signal ? `signal ${i.signal}` : i.exit_code === null || i.exit_code === undefined ? 'running' : `exit ${i.exit_code}`;
    const full = Array.isArray(i.command) ? i.command.join(' ').replace(/\s+/g, ' ').trim() : '';
    const cmd = full.length > 80 ? full.slice(0, 77) + '...' : full;
    blocks.push({
      title: term(`run ${r.runId}  ${String(i.start_time ?? '').replace('T', ' ').replace(/\.\d+Z$/, '')}  ${end}  ${r.traces.length} trace${r.traces.length === 1 ? '' : 's'}  ${cmd}`),
      rows: traceRows(r.traces, '  '),
      dirs: r.traces.map((t) => t.dir),
      indent: '  ',
    });
  }
  if (loose.length > 0) {
    const indent = runs.length > 0 ? '  ' : '';
    blocks.push({ title: runs.length > 0 ? 'not in a run' : null, rows: traceRows(loose, indent), dirs: loose.map((t) => t.dir), indent });
  }
  const all = [header, ...blocks.flatMap((b) => b.rows)];
  const widths = header.map((_, k) => Math.max(...all.map((row) => row[k].length)));
  const fmt = (row: string[]): string => row.map((c, k) => pad(c, widths[k])).join('  ').trimEnd() + '\n';
  const text = [fmt(header)];
  for (const b of blocks) {
    if (b.title !== null) text.push(b.title + '\n');
    b.rows.forEach((row, k) => {
      text.push(fmt(row));
      if (withRuns) for (const l of runLines(b.dirs[k], b.indent + '    ')) text.push(l + '\n');
    });
  }
  write(text.join(''));
  return 0;
}

function show(args: string[]): number {
  const [trace] = parseCommand(command('show'), args).pos;
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
  const p = parseCommand(command('calls'), args);
  const num = (flag: string, dflt: number): number => {
    const v = p.flags.get(flag);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} needs a number >= 0, not '${String(v)}'`);
    return n;
  };
  const fnFlag = p.flags.get('--fn');
  const fn = typeof fnFlag === 'string' ? fnFlag : null;
  const minMs = num('--min-ms', 0);
  const limit = num('--limit', 50);
  const json = p.flags.has('--json');
  const allowPartial = p.flags.has('--allow-partial');
  const [trace] = p.pos;
  if (fn === '') throw new UsageError('--fn needs a glob, e.g. --fn "handle*"');
  const dir = resolveTrace(trace, outDir());
  const filter: { run?: string; domain?: string; level?: string; sample?: string; iteration?: string } = {};
  for (const k of ['run', 'domain', 'level', 'sample', 'iteration'] as const) {
    const v = p.flags.get(`--${k}`);
    if (v === undefined) continue;
    if (typeof v !== 'string' || v === '') throw new UsageError(`--${k} needs a value`);
    filter[k] = v;
  }
  const { rows, read } = native().queryCalls(dir, fn, minMs, Math.floor(limit), Object.keys(filter).length > 0 ? filter : undefined);
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
  if (killedMidWrite(dir, read.damage)) {
    // SIGKILL inside the writer's write of a chunk: the cut is where the
    // process died, not damage; what precedes it is the whole trace.
    process.stderr.write(
      term(`noderec: note: ${where}: the process was killed while its last chunk was being written (${read.damage}); the ${what} covers the ${read.events} events before it`) + '\n',
    );
    return 0;
  }
  const tail = allowPartial ? '' : ' (pass --allow-partial to accept a partial result)';
  process.stderr.write(
    term(`noderec: ERR_TRACE_INCOMPLETE: ${where}: reading stopped: ${read.damage}; the ${what} covers the ${read.events} events before it${tail}`) + '\n',
  );
  return allowPartial ? 0 : 1;
}

/** A cut at the end of the file (not a checksum mismatch or an unknown
 * record) in a trace whose process was killed (metadata.json still
 * `recording`, its pid gone): the write the kill interrupted. */
function killedMidWrite(dir: string, damage: string): boolean {
  if (!damage.startsWith('cut chunk')) return false;
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')) as { status: string; pid: number };
    return typeof meta.pid === 'number' && statusOf(meta) === 'partial' && meta.status === 'recording';
  } catch {
    return false;
  }
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

/** The spec of a subcommand in the table. */
function command(name: string): CommandSpec {
  const c = COMMAND_BY_NAME.get(name);
  if (c === undefined) throw new UsageError(`unknown command '${name}'`);
  return c;
}

/** `noderec <cmd> --help`, `noderec help <cmd>`. */
function help(cmd: string): string {
  return cmd === 'record' ? recordHelp() : commandHelp(command(cmd));
}

export function main(argv: string[]): void {
  endQuietlyOnEpipe();
  const [cmd, ...rest] = argv;
  const done = (code: number) => {
    process.exitCode = code;
  };
  try {
    if (cmd === '--version' || cmd === '-v') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      write(`noderec ${(require('../../../package.json') as { version: string }).version}\n`);
      return done(0);
    }
    if (cmd === 'help' && rest.length > 0) {
      write(help(rest[0]));
      return done(0);
    }
    // `--help` among the subcommand's own options (record: before its command).
    if (cmd !== undefined && (cmd === 'record' || COMMAND_BY_NAME.has(cmd))) {
      const own = cmd === 'record' ? rest.slice(0, recordTokens(rest).commandAt) : rest;
      if (helpAsked(own)) {
        write(help(cmd));
        return done(0);
      }
    }
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
