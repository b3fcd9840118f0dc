// CLI subcommands over the query API (issue 12): traces, info, timeline,
// tree, history, compare (each with --json), view, report, and
// `record --view`.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { callTree, compare, getTrace, listTraces, timeline, valueHistory, Activation, RunFilter, TraceStatus } from '../query';
import { envSetting } from '../policy/env';
import { DEFAULT_POLICY } from '../policy/model';
import { COMMAND_BY_NAME, Parsed, parseCommand } from './args';
import { parseRecordArgs, record } from './record';
import { humanMs, resolveTrace, UsageError } from './traces';

function outDir(): string {
  return path.resolve(envSetting('outDir') ?? DEFAULT_POLICY.outDir);
}

/** The arguments of subcommand `cmd`, read as its entry in the table says. */
function parse(args: string[], cmd: string): Parsed {
  const spec = COMMAND_BY_NAME.get(cmd);
  if (spec === undefined) throw new UsageError(`unknown command '${cmd}'`);
  return parseCommand(spec, args);
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

/** The run filters given (--run, --domain, --level, --sample, --iteration). */
function runOpts(p: Parsed): RunFilter {
  return { run: str(p, '--run'), domain: str(p, '--domain'), level: str(p, '--level'), sample: str(p, '--sample'), iteration: str(p, '--iteration') };
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
  return `${((a.startNs - t0) / 1e6).toFixed(3).padStart(10)} ms ${(a.durNs / 1e6).toFixed(3).padStart(10)} ms  ${'  '.repeat(Math.min(a.depth, 20))}${a.name}(${args}) ${res}  #${a.activation}${a.thread ? ` [thread ${a.thread}]` : ''}${a.run !== undefined ? `  run ${a.run}` : ''}\n`;
}

function tracesCmd(args: string[]): number {
  const p = parse(args, 'traces');
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
  const p = parse(args, 'info');
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
  const p = parse(args, 'timeline');
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
    ...runOpts(p),
  });
  return out(p.flags.has('--json'), page, () =>
    page.rows.map((a) => actLine(a, t0)).join('') + (page.cursor !== undefined ? `(more: --cursor ${page.cursor})\n` : ''),
  );
}

function treeCmd(args: string[]): number {
  const p = parse(args, 'tree');
  const dir = resolveTrace(p.pos[0], outDir());
  const rows = callTree(dir, { thread: num(p, '--thread') ?? 0, activation: num(p, '--activation') ?? 0, limit: num(p, '--limit'), ...runOpts(p) });
  const t0 = getTrace(dir).threads[0]?.firstNs ?? 0;
  return out(p.flags.has('--json'), rows, () => (rows.length === 0 ? 'no calls\n' : rows.map((a) => actLine(a, t0)).join('')));
}

function historyCmd(args: string[]): number {
  const p = parse(args, 'history');
  const fn = str(p, '--fn');
  const vpath = str(p, '--path');
  if (fn === undefined || vpath === undefined) throw new UsageError("'noderec history' needs --fn GLOB and --path (e.g. args.0.total, cart.items, return)");
  const dir = resolveTrace(p.pos[0], outDir());
  const h = valueHistory(dir, { fn, path: vpath, limit: num(p, '--limit'), ...runOpts(p) });
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
  const p = parse(args, 'compare');
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
  const p = parse(args, 'view');
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
  const p = parse(args, 'report');
  const dest = str(p, '--out');
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
  const code = await record(rest, false);
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
