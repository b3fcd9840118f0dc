// The `noderec` command line.
import * as path from 'node:path';

import { native } from '../native';
import { record } from './record';
import { humanBytes, humanMs, listTraces, resolveTrace, UsageError } from './traces';

const USAGE = `usage: noderec <command> [options]

  record [options] [--] <command...>   run a command and record every node process it starts
  record <script.js> [args...]          short form of: record -- node <script.js>
  ls [out-dir]                          list traces, newest first
  show [trace]                          summary: status, time, counts, busiest functions
  export [trace] --format jsonl|chrome [-o file]
                                        export events (jsonl: one JSON object per line)

A trace is a trace directory, a name inside the out dir, or 'latest' (default).
record options: --out-dir DIR, --filter FILE, --on-recorder-error abort|disable,
  --max-events N, --value-depth N, --value-items N, --value-string N, --no-values,
  --require-trace, --keep-partial-trace, --json-errors, --log-level L, --log-file F
`;

function outDir(): string {
  return path.resolve(process.env.NODEREC_OUT_DIR ?? './noderec-traces');
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function ls(args: string[]): number {
  const dir = args[0] !== undefined ? path.resolve(args[0]) : outDir();
  const traces = listTraces(dir);
  if (traces.length === 0) {
    process.stdout.write(`no traces in ${dir}\n`);
    return 0;
  }
  const rows = [['PROGRAM', 'STARTED (UTC)', 'DURATION', 'STATUS', 'EVENTS', 'SIZE', 'RUN', 'TRACE']];
  for (const t of traces) {
    const m = t.meta;
    rows.push([
      m.program,
      (m.start_time ?? '').replace('T', ' ').replace(/\.\d+Z$/, ''),
      humanMs(m.duration_ms),
      m.status + (m.truncated ? ' (truncated)' : ''),
      String(m.events ?? 0),
      humanBytes(m.trace_bytes ?? 0),
      m.run_id || '-',
      path.basename(t.dir),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => pad(c, widths[i])).join('  ').trimEnd() + '\n');
  return 0;
}

function show(args: string[]): number {
  const dir = resolveTrace(args[0], outDir());
  const s = JSON.parse(native().traceSummary(dir)) as {
    metadata: Record<string, unknown>;
    read: { chunks: number; events: number; ended: boolean; damage: string | null; bytes_read: number; file_len: number };
    counts: Record<string, number>;
    functions: { fn: string; path: string; line: number; calls: number; total_ms: number }[];
    threads: Record<string, string>;
  };
  const m = s.metadata;
  const out: string[] = [];
  out.push(`trace     ${dir}`);
  out.push(`program   ${String(m.program)}  (pid ${String(m.pid)}, node ${String(m.node_version)})`);
  out.push(`status    ${String(m.status)}${m.exit_code !== null ? `, exit code ${String(m.exit_code)}` : ''}${m.signal ? `, signal ${String(m.signal)}` : ''}`);
  out.push(`started   ${String(m.start_time)}   duration ${humanMs(m.duration_ms as number | null)}`);
  out.push(`events    ${s.read.events} in ${s.read.chunks} chunks, ${humanBytes(s.read.file_len)}${s.read.damage ? `  (reader stopped: ${s.read.damage})` : ''}`);
  out.push(`threads   ${Object.entries(s.threads).map(([id, n]) => `${id}:${n}`).join(', ')}`);
  out.push(`counts    ${Object.entries(s.counts).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push('');
  out.push('slowest functions (inclusive time of synchronous stretches):');
  for (const f of s.functions) {
    out.push(`  ${pad(f.total_ms.toFixed(3) + ' ms', 14)} ${pad(String(f.calls) + ' calls', 14)} ${f.fn}  ${f.path}:${f.line}`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

function exportCmd(args: string[]): number {
  let format = 'jsonl';
  let out: string | null = null;
  let trace: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--format' || a === '-f') format = args[++i] ?? '';
    else if (a.startsWith('--format=')) format = a.slice(9);
    else if (a === '-o' || a === '--out') out = args[++i] ?? null;
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a} for 'noderec export'`);
    else trace = a;
  }
  if (format !== 'jsonl' && format !== 'chrome') throw new UsageError(`--format must be jsonl or chrome, not '${format}'`);
  const dir = resolveTrace(trace, outDir());
  native().exportTrace(dir, format, out);
  return 0;
}

export function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  const done = (code: number) => {
    process.exitCode = code;
  };
  try {
    switch (cmd) {
      case 'record':
        record(rest).then(done, (e: unknown) => fail(e));
        return;
      case 'ls':
        return done(ls(rest));
      case 'show':
        return done(show(rest));
      case 'export':
        return done(exportCmd(rest));
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return done(cmd === undefined ? 2 : 0);
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    fail(e);
  }
}

function fail(e: unknown): void {
  const err = e as { code?: string; message?: string };
  if (err instanceof UsageError) {
    process.stderr.write(`noderec: ${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`noderec: ${err.code ?? 'ERR_INTERNAL'}: ${err.message ?? String(e)}\n`);
  process.exitCode = 1;
}
