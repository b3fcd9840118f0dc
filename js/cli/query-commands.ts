// CLI subcommands over the query API (issue 12): traces, info, timeline,
// tree, history, compare (each with --json), view, report, and
// `record --view`.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { callTree, compare, getTrace, listTraces, timeline, valueHistory, Activation, TraceStatus } from '../query';
import { envSetting } from '../policy/env';
import { DEFAULT_POLICY } from '../policy/model';
import { parseRecordArgs, record } from './record';
import { humanMs, resolveTrace, UsageError } from './traces';

export const QUERY_USAGE = `  traces [--program S] [--status S] [--run ID] [--limit N] [--json]
                                        list traces with their status
  info [trace] [--json]                 status, counts, threads, top functions (self and inclusive)
  timeline [trace] [--thread N] [--fn GLOB] [--file GLOB] [--kind K] [--from-ms N] [--to-ms N] [--min-ms N]
           [--limit N] [--cursor C] [--json]   activations in call order, with values
  tree [trace] [--thread N] [--activation N] [--json]
                                        the calls made by one activation (0: from the event loop)
  history [trace] --fn GLOB --path P [--limit N] [--json]
                                        successive values of args.N.x / <param>.x / this.x / return, with diffs
  compare <traceA> <traceB> [--json]    functions whose calls, durations, returns or errors differ
  view [trace] [--open]                 local web viewer (127.0.0.1, token in the printed URL)
  report [trace] -o report.html         one self-contained HTML file (at most 20000 activations)
  record --view [options] -- <cmd>      record and watch the run live in the viewer
`;

function outDir(): string {
  return path.resolve(envSetting('outDir') ?? DEFAULT_POLICY.outDir);
}

interface Parsed {
  pos: string[];
  flags: Map<string, string | true>;
}

function parse(args: string[], valued: string[], bools: string[], cmd: string): Parsed {
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-') || a === '-') {
      pos.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (bools.includes(name)) flags.set(name, true);
    else if (valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      flags.set(name, v);
    } else throw new UsageError(`unknown option ${a} for 'noderec ${cmd}'`);
  }
  return { pos, flags };
}

function num(p: Parsed, flag: string): number | undefined {
  const v = p.flags.get(flag);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag} needs a number >= 0, not '${String(v)}'`);
  return n;
}

function str(p: Parsed, flag: string): string | undefined {
  const v = p.flags.get(flag);
  return typeof v === 'string' ? v : undefined;
}

function out(json: boolean, value: unknown, text: () => string): number {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text());
  return 0;
}

function short(v: unknown, max = 50): string {
  const s = JSON.stringify(v) ?? 'undefined';
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function actLine(a: Activation, t0: number): string {
  const v = a.values;
  const args = v?.args === undefined ? '' : v.args.map((x) => short(x, 30)).join(', ');
  const res = !a.finished ? '(running)' : a.threw ? `threw ${short(v?.error ?? '?')}` : v?.value !== undefined ? `→ ${short(v.value)}` : '';
  return `${((a.startNs - t0) / 1e6).toFixed(3).padStart(10)} ms ${(a.durNs / 1e6).toFixed(3).padStart(10)} ms  ${'  '.repeat(Math.min(a.depth, 20))}${a.name}(${args}) ${res}  #${a.activation}${a.thread ? ` [thread ${a.thread}]` : ''}\n`;
}

function tracesCmd(args: string[]): number {
  const p = parse(args, ['--program', '--status', '--run', '--limit', '--offset'], ['--json'], 'traces');
  const list = listTraces({
    outDir: p.pos[0] !== undefined ? path.resolve(p.pos[0]) : outDir(),
    program: str(p, '--program'),
    status: str(p, '--status') as TraceStatus | undefined,
    run: str(p, '--run'),
    limit: num(p, '--limit'),
    offset: num(p, '--offset'),
  });
  return out(p.flags.has('--json'), list, () =>
    list.length === 0
      ? 'no traces\n'
      : list.map((t) => `${t.id}  ${t.status.padEnd(9)} ${String(t.events).padStart(9)} events  ${humanMs(t.durationMs).padStart(9)}  ${t.program}${t.run ? `  (run ${t.run})` : ''}\n`).join(''),
  );
}

function infoCmd(args: string[]): number {
  const p = parse(args, [], ['--json'], 'info');
  const t = getTrace(resolveTrace(p.pos[0], outDir()));
  return out(p.flags.has('--json'), t, () => {
    const l: string[] = [];
    l.push(`trace     ${t.dir}`);
    l.push(`program   ${t.program}`);
    l.push(`status    ${t.status}${t.exitCode !== null ? `, exit code ${t.exitCode}` : ''}${t.signal ? `, signal ${t.signal}` : ''}`);
    l.push(`events    ${t.events} in ${t.chunks} chunks${t.damage ? `  (reader stopped: ${t.damage})` : ''}`);
    l.push(`threads   ${t.threads.map((x) => `${x.id}:${x.name} (${x.activations} calls)`).join(', ')}`);
    l.push(`counts    ${Object.entries(t.counts).sort().map(([k, v]) => `${k} ${v}`).join(', ')}`);
    l.push(`output    ${Object.entries(t.outputBytes).map(([k, v]) => `${k} ${v} B`).join(', ') || 'none'}`);
    l.push('', 'by self time:');
    for (const f of t.topSelf.slice(0, 10)) l.push(`  ${(f.selfNs / 1e6).toFixed(3).padStart(10)} ms  ${String(f.calls).padStart(8)} calls  ${f.name}  ${f.path}:${f.line}`);
    l.push('', 'by inclusive time (recursion counted once):');
    for (const f of t.topInclusive.slice(0, 10)) l.push(`  ${(f.inclNs / 1e6).toFixed(3).padStart(10)} ms  ${String(f.calls).padStart(8)} calls  ${f.name}  ${f.path}:${f.line}`);
    return l.join('\n') + '\n';
  });
}

function timelineCmd(args: string[]): number {
  const p = parse(args, ['--thread', '--fn', '--file', '--kind', '--from-ms', '--to-ms', '--min-ms', '--limit', '--cursor'], ['--json'], 'timeline');
  const dir = resolveTrace(p.pos[0], outDir());
  const t = getTrace(dir);
  const th = num(p, '--thread');
  const t0 = t.threads.find((x) => x.id === (th ?? 0))?.firstNs ?? 0;
  const ms = (f: string): number | undefined => {
    const v = num(p, f);
    return v === undefined ? undefined : t0 + v * 1e6;
  };
  const page = timeline(dir, {
    thread: th,
    fn: str(p, '--fn'),
    file: str(p, '--file'),
    kind: str(p, '--kind'),
    from: ms('--from-ms'),
    to: ms('--to-ms'),
    minDuration: (num(p, '--min-ms') ?? 0) * 1e6,
    limit: num(p, '--limit') ?? 50,
    cursor: str(p, '--cursor'),
  });
  return out(p.flags.has('--json'), page, () =>
    page.rows.map((a) => actLine(a, t0)).join('') + (page.cursor !== undefined ? `(more: --cursor ${page.cursor})\n` : ''),
  );
}

function treeCmd(args: string[]): number {
  const p = parse(args, ['--thread', '--activation', '--limit'], ['--json'], 'tree');
  const dir = resolveTrace(p.pos[0], outDir());
  const rows = callTree(dir, { thread: num(p, '--thread') ?? 0, activation: num(p, '--activation') ?? 0, limit: num(p, '--limit') });
  const t0 = getTrace(dir).threads[0]?.firstNs ?? 0;
  return out(p.flags.has('--json'), rows, () => (rows.length === 0 ? 'no calls\n' : rows.map((a) => actLine(a, t0)).join('')));
}

function historyCmd(args: string[]): number {
  const p = parse(args, ['--fn', '--path', '--limit'], ['--json'], 'history');
  const fn = str(p, '--fn');
  const vpath = str(p, '--path');
  if (fn === undefined || vpath === undefined) throw new UsageError("'noderec history' needs --fn GLOB and --path (e.g. args.0.total, cart.items, return)");
  const dir = resolveTrace(p.pos[0], outDir());
  const h = valueHistory(dir, { fn, path: vpath, limit: num(p, '--limit') });
  return out(p.flags.has('--json'), h, () =>
    h
      .map(
        (e) =>
          `#${e.activation}  ${short(e.value, 100)}\n` +
          e.changes.map((c) => `    ${c.op === 'added' ? '+' : c.op === 'removed' ? '-' : '~'} ${c.path || '(value)'}${c.op === 'changed' ? `: ${short(c.before)} → ${short(c.after)}` : ''}\n`).join(''),
      )
      .join('') || 'no calls\n',
  );
}

function compareCmd(args: string[]): number {
  const p = parse(args, [], ['--json'], 'compare');
  if (p.pos.length !== 2) throw new UsageError("'noderec compare' needs two traces");
  const rows = compare(resolveTrace(p.pos[0], outDir()), resolveTrace(p.pos[1], outDir()));
  return out(p.flags.has('--json'), rows, () =>
    rows.length === 0
      ? 'no differences in calls, durations, returns or errors\n'
      : rows.map((r) => `${r.differs.join(',').padEnd(22)} ${r.name}  ${r.path}:${r.line}  calls ${r.calls[0]}/${r.calls[1]}  throws ${r.throws[0]}/${r.throws[1]}\n`).join(''),
  );
}

/** Starts the viewer and serves until SIGINT/SIGTERM. */
async function viewCmd(args: string[]): Promise<number> {
  const p = parse(args, [], ['--open'], 'view');
  const { startViewer, openBrowser } = await import('../viewer/server');
  let trace: string | undefined;
  let extra: string[] = [];
  const od = outDir();
  if (p.pos[0] !== undefined) {
    const dir = resolveTrace(p.pos[0], od);
    trace = path.basename(dir);
    extra = [dir];
  }
  const s = await startViewer({ outDir: od, trace, extraDirs: extra });
  process.stdout.write(`noderec viewer: ${s.url}\n(Ctrl-C to stop)\n`);
  if (p.flags.has('--open')) openBrowser(s.url);
  return waitForStop(s.close);
}

function waitForStop(close: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void close().then(() => resolve(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function reportCmd(args: string[]): Promise<number> {
  const p = parse(args, ['-o', '--out'], [], 'report');
  const dest = str(p, '-o') ?? str(p, '--out');
  if (dest === undefined) throw new UsageError("'noderec report' needs -o <file.html>");
  const dir = resolveTrace(p.pos[0], outDir());
  const { reportHtml } = await import('../viewer/report');
  const html = reportHtml(dir);
  fs.writeFileSync(dest, html, { mode: 0o600 });
  process.stdout.write(`wrote ${dest} (${(html.length / 1024).toFixed(0)} KiB)\n`);
  return 0;
}

/** True when `record` was given `--view` among its options (before the command). */
export function wantsView(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--view') return true;
    if (!a.startsWith('--')) return false;
  }
  return false;
}

/** `record --view`: the viewer on the out dir while the command runs, and
 * after it until Ctrl-C. Exits with the command's code. */
export async function recordWithView(argv: string[]): Promise<number> {
  const rest = argv.filter((a, i) => !(a === '--view' && i < (argv.indexOf('--') < 0 ? argv.length : argv.indexOf('--'))));
  const od = parseRecordArgs(rest).outDir;
  fs.mkdirSync(od, { recursive: true, mode: 0o700 });
  const { startViewer, openBrowser } = await import('../viewer/server');
  const s = await startViewer({ outDir: od });
  process.stderr.write(`noderec viewer: ${s.url}\n`);
  if (process.env.NODEREC_VIEW_OPEN === '1') openBrowser(s.url);
  const code = await record(rest);
  process.stderr.write(`noderec: the command exited (${code}); the viewer stays at ${s.url} until Ctrl-C\n`);
  await waitForStop(s.close);
  return code;
}

/** Runs a query subcommand; undefined when `cmd` is not one. */
export function queryCommand(cmd: string, args: string[]): number | Promise<number> | undefined {
  switch (cmd) {
    case 'traces':
      return tracesCmd(args);
    case 'info':
      return infoCmd(args);
    case 'timeline':
      return timelineCmd(args);
    case 'tree':
      return treeCmd(args);
    case 'history':
      return historyCmd(args);
    case 'compare':
      return compareCmd(args);
    case 'view':
      return viewCmd(args);
    case 'report':
      return reportCmd(args);
    default:
      return undefined;
  }
}
