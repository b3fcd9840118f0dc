// `noderec record [options] [--] <command...>`: runs a command with the
// preload in NODE_OPTIONS, so every node process it starts is recorded,
// each into its own trace directory under one run directory:
//
//   <out>/<run-id>/run.json                      the command, times, exit
//   <out>/<run-id>/errors.jsonl                  recorder errors of the run
//   <out>/<run-id>/<program>-<stamp>-<pid>/      one per node process
//
// Exit code: 2 for a usage error (a bad flag or policy value), 1 when a
// recorded process failed because of the recorder (on_recorder_error=abort,
// require_trace), otherwise the command's own exit code.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { quoteForNodeOptions } from '../child-env';
import { checkFilters } from '../filter/chain';
import { Trailer, trailer } from '../logging/trailer';
import { native } from '../native';
import { newRunId } from '../run-id';
import { policyFromEnv } from '../policy/env';
import { Policy, PolicyError, SETTING_BY_FLAG, Setting, parseBool, parseSetting } from '../policy/model';
import { recordTokens } from './args';
import { term } from './terminal';
import { humanBytes, humanMs, listTraces, TraceEntry, UsageError } from './traces';

export interface RecordArgs {
  outDir: string;
  /** The out dir was given as an absolute path (summaries print absolute paths then). */
  outDirAbsolute: boolean;
  command: string[];
  /** NODEREC_* variables the flags set (they beat the environment). */
  env: Record<string, string>;
  /** The effective policy: flags, then the environment, then defaults. */
  policy: Policy;
}

/** Flags that name a path: resolved against the CLI's working directory
 * (the recorded processes may run elsewhere). */
const PATH_KEYS = new Set(['outDir', 'activationPath', 'logFile']);

function canonical(s: Setting, value: unknown): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Array.isArray(value) && s.kind.t === 'names') return value.join(',');
  if (Array.isArray(value)) return value.map((p: string) => path.resolve(p)).join('::');
  if (typeof value === 'string' && PATH_KEYS.has(s.key)) return path.resolve(value);
  return String(value);
}

/** Parses the options of `noderec record`. Throws UsageError or PolicyError
 * (exit code 2), also for a bad NODEREC_* value in `baseEnv`. */
export function parseRecordArgs(argv: string[], baseEnv: NodeJS.ProcessEnv = process.env): RecordArgs {
  const env: Record<string, string> = {};
  const cliFilters: string[] = [];
  let outDirGiven: string | null = null;
  // util.parseArgs reads the options (the settings table's flags) up to the
  // command; the values go through the table's parsers.
  const { options, commandAt, separated } = recordTokens(argv);
  for (const t of options) {
    let flag = `--${t.name}`;
    if (t.name === 'view') continue; // recordWithView's
    if (t.name === 'help') throw new UsageError("--help: see 'noderec record --help'");
    let negated = false;
    let s = SETTING_BY_FLAG.get(flag);
    if (s === undefined && t.name.startsWith('no-')) {
      s = SETTING_BY_FLAG.get('--' + t.name.slice(3));
      negated = s !== undefined && s.kind.t === 'bool';
      if (!negated) s = undefined;
    }
    if (s === undefined) throw new UsageError(`unknown option ${t.rawName} for 'noderec record'`);
    if (s.kind.t === 'bool') {
      if (negated && t.inline) throw new UsageError(`${flag} takes no value`);
      const v = negated ? false : t.inline ? parseBool(flag, t.value ?? '') : true;
      env[s.env] = v ? '1' : '0';
      continue;
    }
    const v = t.value;
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    flag = s.flag;
    const parsed = parseSetting(s, v, flag);
    if (s.key === 'traceFilter') {
      // The flag repeats; CLI filters come last in the chain, after the
      // user's NODEREC_TRACE_FILTER.
      for (const p of parsed as string[]) cliFilters.push(path.resolve(p));
      continue;
    }
    if (s.key === 'outDir') outDirGiven = v;
    env[s.env] = canonical(s, parsed);
  }
  if (cliFilters.length > 0) {
    env.NODEREC_TRACE_FILTER = [baseEnv.NODEREC_TRACE_FILTER ?? '', ...cliFilters].filter((f) => f.length > 0).join('::');
  }
  // The environment is checked here too: a bad value is a usage error of
  // this command, not a failure of every process it starts.
  const policy = policyFromEnv({ ...baseEnv, ...env });
  let command = argv.slice(commandAt);
  if (command.length === 0) throw new UsageError("'noderec record' needs a command, e.g. noderec record -- node app.js");
  // Short form: `noderec record app.js args...`. After `--` the command runs
  // as given (a `#!` script by its own interpreter, as a shell would).
  if (!separated && /\.(c|m)?js$/.test(command[0]) && fs.existsSync(command[0])) command = [process.execPath, ...command];
  const outDir = path.resolve(policy.outDir);
  env.NODEREC_OUT_DIR = outDir;
  const outDirAbsolute = path.isAbsolute(outDirGiven ?? policy.outDir);
  return { outDir, outDirAbsolute, command, env, policy };
}

function readErrors(file: string): Trailer[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Trailer[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as Trailer);
    } catch {
      // a torn line from a killed process
    }
  }
  return out;
}

/** The CLI's own failure (usage or policy) as the JSON trailer. */
export function usageTrailer(e: unknown): Trailer {
  const err = e as { code?: string; message?: string };
  const kind = e instanceof PolicyError ? 'policy' : 'usage';
  return trailer(err.code ?? 'ERR_USAGE', kind, err.message ?? String(e), { pid: process.pid }, { runId: '', traceId: '' });
}

/** Runs the command; resolves to the exit code of `noderec record`. With
 * `nextStep`, the summary is followed by the commands that open and export
 * what was recorded. */
export function record(argv: string[], nextStep = true): Promise<number> {
  const args = parseRecordArgs(argv);
  const jsonErrors = args.policy.jsonErrors;
  const started = Date.now();
  if (args.policy.disabled) {
    // NODEREC_DISABLED: run the command as is; nothing reaches its processes.
    return run(args.command, { ...process.env, ...args.env }).then((r) => {
      if (r.startError !== null) process.stderr.write(term(`noderec: cannot start ${args.command[0]}: ${r.startError}`) + '\n');
      return r.code ?? (r.signal !== null ? 128 : 0);
    });
  }
  // A bad filter file is a usage error of this command (exit 2), found
  // before anything runs.
  // Without the native addon (ERR_NATIVE_MISSING) the command still runs:
  // its processes' preload says why nothing is recorded and runs them
  // unrecorded; a missing binary never stops the user's program.
  const hasNative = nativeLoads();
  if (hasNative) checkFilters(args.policy.traceFilter);
  const runId = newRunId();
  // 0700, in an out dir checked like the recorder checks it (ERR_UNSAFE_OUT_DIR).
  const runDir = hasNative ? native().createRunDir(args.outDir, runId) : plainRunDir(args.outDir, runId);
  const errorsFile = path.join(runDir, 'errors.jsonl');
  const runInfo: Record<string, unknown> = {
    run_id: runId,
    command: args.command,
    cwd: process.cwd(),
    pid: process.pid,
    start_time: new Date(started).toISOString(),
    start_ms: started,
    end_time: null,
    exit_code: null,
    signal: null,
  };
  const writeRunInfo = (): void => {
    try {
      const tmp = path.join(runDir, `.run.json.${process.pid}`);
      fs.writeFileSync(tmp, JSON.stringify(runInfo, null, 2), { mode: 0o600 });
      fs.renameSync(tmp, path.join(runDir, 'run.json'));
    } catch {
      // the listing falls back to the traces' metadata
    }
  };
  writeRunInfo();
  const register = path.resolve(__dirname, '..', 'register.js');
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--require ${quoteForNodeOptions(register)}`].join(' ').trim();
  const env = {
    ...process.env,
    ...args.env,
    NODEREC_OUT_DIR: runDir,
    NODEREC_RUN_ID: runId,
    NODEREC_RUN_ERRORS: errorsFile,
    NODE_OPTIONS: nodeOptions,
  };
  return run(args.command, env).then(({ code, signal, startError }) => {
    runInfo.end_time = new Date().toISOString();
    runInfo.exit_code = code;
    runInfo.signal = signal;
    const traces = listTraces(runDir);
    runInfo.traces = traces.map((t) => path.basename(t.dir));
    if (startError !== null) runInfo.start_error = startError;
    writeRunInfo();
    const errors = readErrors(errorsFile);
    const fatal = errors.filter((e) => e.context?.fatal !== false);
    const shown = (p: string): string => (args.outDirAbsolute ? p : path.relative(process.cwd(), p) || '.');
    if (startError !== null) {
      process.stderr.write(term(`noderec: cannot start ${args.command[0]}: ${startError}; nothing was recorded`) + '\n');
    } else {
      const line =
        traces.length === 0 && errors.length > 0
          ? `nothing was recorded: ${errors.length === 1 ? 'a process' : `${errors.length} processes`} ran unrecorded, as said below (${humanMs(Date.now() - started)})`
          : summaryLine(traces, shown(runDir), shown, Date.now() - started);
      process.stderr.write(term(`noderec: ${line}`) + '\n');
      const next = nextStep ? nextStepLine(traces, shown(runDir), shown) : null;
      if (next !== null) process.stderr.write(term(`noderec: ${next}`) + '\n');
    }
    for (const e of errors) {
      const kept = e.context?.trace_dir ? `trace kept as partial: ${String(e.context.trace_dir)}` : 'trace removed';
      const what = e.context?.fatal === false ? 'recording disabled' : 'process failed';
      process.stderr.write(term(`noderec: ${e.error_code} in pid ${String(e.context?.pid ?? '?')} (${e.error_kind}; ${what}; ${kept}): ${e.message}`) + '\n');
    }
    if (signal !== null) {
      process.kill(process.pid, signal);
      return new Promise<number>((resolve) => setTimeout(() => resolve(128), 1000).unref());
    }
    if (fatal.length > 0) {
      if (jsonErrors) {
        const first = fatal[0];
        const t: Trailer = {
          ...first,
          run_id: runId,
          context: { ...first.context, run_dir: runDir, errors: errors.length, failed_processes: fatal.length, exit_code: code },
        };
        process.stderr.write(JSON.stringify(t) + '\n');
      }
      return 1;
    }
    return code ?? 0;
  });
}

function instrumented(t: TraceEntry): number {
  return typeof t.meta.files_instrumented === 'number' ? t.meta.files_instrumented : 0;
}

/** The one summary line of a run (after "noderec: "). */
function summaryLine(traces: TraceEntry[], runDir: string, shown: (p: string) => string, wallMs: number): string {
  if (traces.length === 0) return `no node process was started, nothing was recorded (${humanMs(wallMs)})`;
  const events = traces.reduce((n, t) => n + (t.meta.events ?? 0), 0);
  const bytes = traces.reduce((n, t) => n + (t.meta.trace_bytes ?? 0), 0);
  if (traces.length === 1) {
    const t = traces[0];
    const m = t.meta;
    if (instrumented(t) === 0 && m.status !== 'recording') {
      const how = m.signal ? `signal ${m.signal}` : `exit code ${String(m.exit_code ?? '?')}`;
      return `${shown(t.dir)} — nothing of the program was recorded: the process ended (${how}) before any module loaded`;
    }
    return `${shown(t.dir)} — ${events} events, ${humanBytes(bytes)}, ${humanMs(t.meta.duration_ms)}`;
  }
  const empty = traces.filter((t) => instrumented(t) === 0).length;
  const note = empty > 0 ? ` (${empty} of them recorded none of their program: ended before any module loaded)` : '';
  return `${traces.length} processes recorded in ${runDir} — ${events} events, ${humanBytes(bytes)}, ${humanMs(wallMs)}${note}`;
}

/** A path as a shell argument. */
function shellArg(p: string): string {
  return /^[\w./@%+=:,-]+$/.test(p) ? p : `'${p.replace(/'/g, "'\\''")}'`;
}

/** After the summary: the commands that open the trace in the viewer and
 * export it (null when nothing was recorded). `npx` when noderec itself was
 * started by npx. */
function nextStepLine(traces: TraceEntry[], runDir: string, shown: (p: string) => string): string | null {
  // Nothing to look at: no process, or one that ended before any module loaded.
  if (traces.length === 0 || (traces.length === 1 && instrumented(traces[0]) === 0)) return null;
  const bin = process.env.npm_command === 'exec' ? 'npx noderec' : 'noderec';
  // The first process of the run (traces are listed newest first).
  const t = shellArg(shown(traces[traces.length - 1].dir));
  const look = `${bin} view ${t} --open   or   ${bin} export ${t} --format speedscope -o trace.speedscope.json`;
  if (traces.length === 1) return `next: ${look}`;
  return `next: ${bin} ls ${shellArg(runDir)} lists its ${traces.length} traces; the first process: ${look}`;
}

/** What a shell says (and exits with) when a command cannot be started. */
function startFailure(e: NodeJS.ErrnoException): { code: number; text: string } {
  switch (e.code) {
    case 'ENOENT':
      return { code: 127, text: 'command not found (ENOENT)' };
    case 'EACCES':
      return { code: 126, text: 'permission denied (EACCES)' };
    case 'ENOEXEC':
      return { code: 126, text: 'not an executable format (ENOEXEC)' };
    case 'EISDIR':
      return { code: 126, text: 'is a directory (EISDIR)' };
    default:
      return { code: 126, text: `${e.message}${e.code ? ` (${e.code})` : ''}` };
  }
}

function run(command: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; signal: NodeJS.Signals | null; startError: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env });
    // The terminal sends SIGINT to the whole group; other signals are forwarded.
    const forward = (sig: NodeJS.Signals) => () => {
      if (sig !== 'SIGINT') child.kill(sig);
    };
    const handlers: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM', 'SIGHUP'] as NodeJS.Signals[]).map((s) => [
      s,
      forward(s),
    ]);
    for (const [s, h] of handlers) process.on(s, h);
    child.on('error', (e) => {
      for (const [s, h] of handlers) process.removeListener(s, h);
      const f = startFailure(e);
      resolve({ code: f.code, signal: null, startError: f.text });
    });
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.removeListener(s, h);
      resolve({ code, signal, startError: null });
    });
  });
}

/** Whether the native addon loads here (false: ERR_NATIVE_MISSING). */
function nativeLoads(): boolean {
  try {
    native();
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_NATIVE_MISSING') return false;
    throw e;
  }
}

/** The run directory when the addon is missing (nothing will be recorded in
 * it but the processes' error lines): 0700, created without the addon. */
function plainRunDir(outDir: string, runId: string): string {
  const dir = path.join(path.resolve(outDir), runId);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
