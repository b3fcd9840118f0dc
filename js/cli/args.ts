// The subcommands' arguments: one table (COMMANDS) gives each subcommand's
// synopsis, options and what they mean; `node:util.parseArgs` reads the
// arguments, and `--help` is generated from the same table. `record`'s
// options are the settings table (js/policy/model.ts SETTINGS).
import { parseArgs } from 'node:util';

import { SETTINGS, Setting } from '../policy/model';
import { UsageError } from './traces';

/** One option of a subcommand. */
export interface OptionSpec {
  /** Long name, without `--`. */
  name: string;
  short?: string;
  /** Name of its value in the help (`N`, `GLOB`); absent: a flag without value. */
  value?: string;
  doc: string;
}

/** One subcommand. */
export interface CommandSpec {
  name: string;
  /** What follows `noderec <name>` in the usage line. */
  synopsis: string;
  summary: string;
  options: readonly OptionSpec[];
  /** Most positional arguments, and how the error names them. */
  positionals: { max: number; what: string };
  /** More lines for `--help`. */
  details?: string;
}

const JSON_OPT: OptionSpec = { name: 'json', doc: 'print JSON instead of text' };
const PARTIAL_OPT: OptionSpec = { name: 'allow-partial', doc: 'exit 0 on a damaged or cut trace (what precedes the damage is given)' };
/** Run filters of the index queries (timeline, tree, history): activations called in the selected runs. */
const INDEX_RUN_OPTS: OptionSpec[] = [
  { name: 'run', value: 'ID', doc: 'only calls made in the run with this runId (noderec.run) or a run nested in it' },
  { name: 'domain', value: 'D', doc: 'only calls made in runs of domain D' },
  { name: 'level', value: 'L', doc: 'only calls made in runs of level L' },
  { name: 'sample', value: 'S', doc: 'only calls made in runs with sampleId S' },
  { name: 'iteration', value: 'N', doc: 'only calls made in runs of iteration N' },
];
const TRACE = 'A trace is a trace directory, a name inside the out dir (NODEREC_OUT_DIR), or latest (default).';

/** Every subcommand but `record` (whose options are the settings: RECORD). */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'ls',
    synopsis: 'ls [out-dir] [--runs]',
    summary: 'list traces, newest first, grouped by run',
    options: [{ name: 'runs', doc: "also list each trace's runs (noderec.run: id, domain, events; reads each trace file)" }],
    positionals: { max: 1, what: 'one out dir' },
  },
  {
    name: 'show',
    synopsis: 'show [trace]',
    summary: 'summary: status, time, counts, busiest functions',
    options: [],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'export',
    synopsis: 'export [trace] --format FORMAT [-o FILE] [options]',
    summary: 'export events to another tool (jsonl, chrome, speedscope, perfetto, otlp, parquet, codetracer)',
    options: [
      { name: 'format', short: 'f', value: 'FORMAT', doc: 'jsonl (default) | chrome | speedscope | perfetto | otlp | parquet | codetracer' },
      { name: 'out', short: 'o', value: 'FILE', doc: 'write here instead of stdout (needed for parquet, a directory for codetracer)' },
      { name: 'thread', value: 'N', doc: 'only thread N (0 = main)' },
      { name: 'from', value: 'T', doc: 'only events from T (12.5ms, 300us, 2s, 1500ns; a bare number is ms)' },
      { name: 'to', value: 'T', doc: 'only events up to T' },
      { name: 'run', value: 'ID', doc: "a noderec record run id: its first process; otherwise a runId inside the trace: only that run's events (and its nested runs')" },
      { name: 'domain', value: 'D', doc: 'only events of runs of domain D (a nested run has its parent\'s unless it sets its own)' },
      { name: 'level', value: 'L', doc: 'only events of runs of level L' },
      { name: 'sample', value: 'S', doc: 'only events of runs of sampleId S (a nested run has its parent\'s unless it sets its own)' },
      { name: 'iteration', value: 'I', doc: 'only events of runs of iteration I (inherited the same way)' },
      { name: 'jsonl-top-time', doc: 'jsonl: run, span and log lines also carry their time at the top level, `t` (NODEREC_JSONL_TOP_TIME=1)' },
      { name: 'no-values', doc: 'leave recorded values out' },
      { name: 'endpoint', value: 'URL', doc: 'otlp: send to this collector (http://127.0.0.1:4318) instead of -o' },
      { name: 'min-duration', value: 'T', doc: 'otlp: activations shorter than T are not spans (default 1ms)' },
      { name: 'progress', doc: 'show the progress bar (default: on a terminal)' },
      { name: 'no-progress', doc: 'never show the progress bar' },
      PARTIAL_OPT,
    ],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'calls',
    synopsis: 'calls [trace] [--fn GLOB] [--min-ms N] [--limit N] [--run ID] [--domain D] [--level L] [--sample S] [--iteration I] [--json]',
    summary: 'calls of matching functions that took at least N ms, slowest first',
    options: [
      { name: 'fn', value: 'GLOB', doc: 'qualified function names to match (picomatch glob)' },
      { name: 'min-ms', value: 'N', doc: 'only calls that took at least N ms' },
      { name: 'limit', value: 'N', doc: 'at most N calls (default 50; 0: all)' },
      { name: 'run', value: 'ID', doc: 'only calls inside the run with this runId (noderec.run) or a run nested in it' },
      { name: 'domain', value: 'D', doc: 'only calls inside runs of domain D' },
      { name: 'level', value: 'L', doc: 'only calls inside runs of level L' },
      { name: 'sample', value: 'S', doc: 'only calls inside runs of sampleId S' },
      { name: 'iteration', value: 'I', doc: 'only calls inside runs of iteration I' },
      { ...JSON_OPT, doc: 'one JSON object per call (JSON lines)' },
      PARTIAL_OPT,
    ],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'traces',
    synopsis: 'traces [out-dir] [--program S] [--status S] [--run ID] [--limit N] [--json]',
    summary: 'list traces with their status',
    options: [
      { name: 'program', value: 'S', doc: 'only traces of this program' },
      { name: 'status', value: 'S', doc: 'only traces with this status (recording, complete, partial, ...)' },
      { name: 'run', value: 'ID', doc: 'only the traces of this run' },
      { name: 'limit', value: 'N', doc: 'at most N traces' },
      { name: 'offset', value: 'N', doc: 'skip the first N' },
      JSON_OPT,
    ],
    positionals: { max: 1, what: 'one out dir' },
  },
  {
    name: 'info',
    synopsis: 'info [trace] [--json]',
    summary: 'status, counts, threads, top functions (self and inclusive)',
    options: [JSON_OPT],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'timeline',
    synopsis: 'timeline [trace] [options]',
    summary: 'activations in call order, with values',
    options: [
      { name: 'thread', value: 'N', doc: 'thread (0 = main, the default)' },
      { name: 'fn', value: 'GLOB', doc: 'only functions matching GLOB' },
      { name: 'file', value: 'GLOB', doc: 'only functions of files matching GLOB' },
      { name: 'kind', value: 'K', doc: 'only functions of this kind (function, method, arrow, ...)' },
      { name: 'from-ms', value: 'N', doc: 'from N ms after the thread started' },
      { name: 'to-ms', value: 'N', doc: 'up to N ms after the thread started' },
      { name: 'min-ms', value: 'N', doc: 'only activations that took at least N ms' },
      { name: 'limit', value: 'N', doc: 'rows per page (default 50)' },
      { name: 'cursor', value: 'C', doc: 'the next page (printed at the end of a page)' },
      ...INDEX_RUN_OPTS,
      JSON_OPT,
    ],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'tree',
    synopsis: 'tree [trace] [--thread N] [--activation N] [--json]',
    summary: 'the calls made by one activation (0: from the event loop)',
    options: [
      { name: 'thread', value: 'N', doc: 'thread (0 = main, the default)' },
      { name: 'activation', value: 'N', doc: 'the activation whose calls are listed (0, the default: the event loop)' },
      { name: 'limit', value: 'N', doc: 'at most N calls' },
      ...INDEX_RUN_OPTS,
      JSON_OPT,
    ],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'history',
    synopsis: 'history [trace] --fn GLOB --path P [--limit N] [--json]',
    summary: 'successive values of args.N.x / <param>.x / this.x / return, with diffs',
    options: [
      { name: 'fn', value: 'GLOB', doc: 'the functions whose calls are followed' },
      { name: 'path', value: 'P', doc: 'the value: args.0.total, cart.items, this.count, return' },
      { name: 'limit', value: 'N', doc: 'at most N calls (default 200)' },
      ...INDEX_RUN_OPTS,
      JSON_OPT,
    ],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'compare',
    synopsis: 'compare <traceA> <traceB> [--json]',
    summary: 'functions whose calls, durations, returns or errors differ',
    options: [JSON_OPT],
    positionals: { max: 2, what: 'two traces' },
    details: TRACE,
  },
  {
    name: 'view',
    synopsis: 'view [trace] [--open]',
    summary: 'local web viewer (127.0.0.1, token in the printed URL)',
    options: [{ name: 'open', doc: 'open it in the browser' }],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
  {
    name: 'report',
    synopsis: 'report [trace] -o FILE.html',
    summary: 'one self-contained HTML file (at most 20000 activations)',
    options: [{ name: 'out', short: 'o', value: 'FILE', doc: 'the HTML file to write' }],
    positionals: { max: 1, what: 'one trace' },
    details: TRACE,
  },
];

export const COMMAND_BY_NAME: ReadonlyMap<string, CommandSpec> = new Map(COMMANDS.map((c) => [c.name, c]));

/** What a subcommand was given: positionals, and options by long name
 * (`--fn`), a flag as `true`. */
export interface Parsed {
  pos: string[];
  flags: Map<string, string | true>;
}

/** Whether `args` ask for help (`-h`, `--help`) before a `--`. */
export function helpAsked(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Reads a subcommand's arguments with `util.parseArgs`. An unknown option,
 * a missing value, a value given to a flag or too many positionals are
 * UsageErrors (exit 2). */
export function parseCommand(spec: CommandSpec, args: string[]): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  const byName = new Map<string, OptionSpec>();
  for (const o of spec.options) {
    options[o.name] = { type: o.value !== undefined ? 'string' : 'boolean', ...(o.short !== undefined ? { short: o.short } : {}) };
    byName.set(o.name, o);
  }
  // Not strict: the tokens are checked here, so that the errors name the
  // subcommand and say what is accepted.
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  for (const t of tokens) {
    if (t.kind === 'positional') pos.push(t.value);
    else if (t.kind === 'option') {
      const o = byName.get(t.name);
      if (o === undefined) throw new UsageError(`unknown option ${t.rawName} for 'noderec ${spec.name}'`);
      if (o.value !== undefined) {
        if (t.value === undefined || t.value === '') throw new UsageError(`${t.rawName} needs a value (${o.value})`);
        flags.set(`--${o.name}`, t.value);
      } else {
        if (t.inlineValue === true) throw new UsageError(`${t.rawName} takes no value`);
        flags.set(`--${o.name}`, true);
      }
    }
  }
  if (pos.length > spec.positionals.max) {
    throw new UsageError(`'noderec ${spec.name}' takes ${spec.positionals.what}, not ${pos.map((a) => JSON.stringify(a)).join(' ')}`);
  }
  return { pos, flags };
}

function optionLines(rows: [string, string][]): string {
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, d]) => (l.length + 2 > width ? `  ${l}\n  ${' '.repeat(width)}${d}` : `  ${l.padEnd(width)}${d}`)).join('\n');
}

/** `noderec <cmd> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const rows: [string, string][] = spec.options.map((o) => [
    `${o.short !== undefined ? `-${o.short}, ` : ''}--${o.name}${o.value !== undefined ? ` ${o.value}` : ''}`,
    o.doc,
  ]);
  rows.push(['-h, --help', 'this help']);
  return `usage: noderec ${spec.synopsis}\n\n${spec.summary}\n\noptions:\n${optionLines(rows)}\n${spec.details !== undefined ? `\n${spec.details}\n` : ''}`;
}

/** A setting's flag as `--help` shows it: `--max-events N`. */
export function settingFlag(s: Setting): string {
  const k = s.kind;
  const value = k.t === 'bool' ? '' : k.t === 'int' ? ' N' : k.t === 'enum' ? ` ${k.values.join('|')}` : k.t === 'paths' ? ' FILE' : ' PATH';
  return s.flag + value;
}

/** `noderec record`: its synopsis, and its options from the settings table. */
export const RECORD = {
  name: 'record',
  synopsis: 'record [options] [--] <command...>',
  summary: 'run a command and record every node process it starts',
};

/** `noderec record --help`, generated from SETTINGS. */
export function recordHelp(): string {
  const rows: [string, string][] = SETTINGS.map((s) => [settingFlag(s), `${s.env}: ${s.doc}`]);
  rows.push(['--view', 'watch the run live in the viewer (and after it, until Ctrl-C)']);
  rows.push(['-h, --help', 'this help']);
  return (
    `usage: noderec ${RECORD.synopsis}\n       noderec record <script.js> [args...]\n\n` +
    'Runs the command with the recorder preloaded (NODE_OPTIONS), so every node process it starts\n' +
    'is recorded, each into its own trace directory under one run directory <out-dir>/<run-id>/.\n' +
    "Exit code: 2 usage error, 1 recorder error, otherwise the command's own.\n\n" +
    'options (each beats its environment variable; booleans also take --no-<flag> and --<flag>=true|false):\n' +
    `${optionLines(rows)}\n`
  );
}

/** The tokens of `record`'s own options: everything before the command
 * (the first positional, or what follows `--`). `util.parseArgs` reads
 * them with the options of the settings table. */
export function recordTokens(argv: string[]): { options: { name: string; rawName: string; value: string | undefined; inline: boolean }[]; commandAt: number; separated: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' }, view: { type: 'boolean' } };
  for (const s of SETTINGS) options[s.flag.slice(2)] = { type: s.kind.t === 'bool' ? 'boolean' : 'string' };
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const out: { name: string; rawName: string; value: string | undefined; inline: boolean }[] = [];
  for (const t of tokens) {
    if (t.kind === 'option-terminator') return { options: out, commandAt: t.index + 1, separated: true };
    if (t.kind === 'positional') return { options: out, commandAt: t.index, separated: false };
    out.push({ name: t.name, rawName: t.rawName, value: t.value, inline: t.inlineValue === true });
  }
  return { options: out, commandAt: argv.length, separated: false };
}
