// `noderec record [options] [--] <command...>`: runs a command with the
// preload in NODE_OPTIONS, so every node process it starts is recorded.
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { humanBytes, humanMs, listTraces, UsageError } from './traces';

export interface RecordArgs {
  outDir: string;
  command: string[];
  env: Record<string, string>;
}

const VALUE_FLAGS: Record<string, string> = {
  '--out-dir': 'NODEREC_OUT_DIR',
  '--on-recorder-error': 'NODEREC_ON_RECORDER_ERROR',
  '--max-events': 'NODEREC_MAX_EVENTS',
  '--capture-io': 'NODEREC_CAPTURE_IO',
  '--activation-path': 'NODEREC_ACTIVATION_PATH',
  '--value-depth': 'NODEREC_VALUE_DEPTH',
  '--value-items': 'NODEREC_VALUE_ITEMS',
  '--value-string': 'NODEREC_VALUE_STRING',
  '--log-level': 'NODEREC_LOG_LEVEL',
  '--log-file': 'NODEREC_LOG_FILE',
};
const BOOL_FLAGS: Record<string, string> = {
  '--require-trace': 'NODEREC_REQUIRE_TRACE',
  '--keep-partial-trace': 'NODEREC_KEEP_PARTIAL_TRACE',
  '--json-errors': 'NODEREC_JSON_ERRORS',
  '--no-values': 'NODEREC_CAPTURE_VALUES',
};

export function parseRecordArgs(argv: string[]): RecordArgs {
  const env: Record<string, string> = {};
  const cliFilters: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('--')) break;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (flag in VALUE_FLAGS) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      env[VALUE_FLAGS[flag]] = v;
    } else if (flag in BOOL_FLAGS) {
      env[BOOL_FLAGS[flag]] = flag === '--no-values' ? '0' : '1';
    } else if (flag === '--filter') {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError('--filter needs a file');
      cliFilters.push(path.resolve(v));
    } else {
      throw new UsageError(`unknown option ${flag} for 'noderec record'`);
    }
  }
  // CLI filters come last in the chain: after the user's NODEREC_TRACE_FILTER.
  if (cliFilters.length > 0) {
    env.NODEREC_TRACE_FILTER = [process.env.NODEREC_TRACE_FILTER ?? '', ...cliFilters].filter((f) => f.length > 0).join('::');
  }
  let command = argv.slice(i);
  if (command.length === 0) throw new UsageError("'noderec record' needs a command, e.g. noderec record -- node app.js");
  // Short form: `noderec record app.js args...`
  if (/\.(c|m)?js$/.test(command[0]) && fs.existsSync(command[0])) command = [process.execPath, ...command];
  const outDir = path.resolve(env.NODEREC_OUT_DIR ?? process.env.NODEREC_OUT_DIR ?? './noderec-traces');
  env.NODEREC_OUT_DIR = outDir;
  return { outDir, command, env };
}

function quoteForNodeOptions(p: string): string {
  return /[\s"\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p;
}

export function record(argv: string[]): Promise<number> {
  const args = parseRecordArgs(argv);
  const runId = `${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
  const register = path.resolve(__dirname, '..', 'register.js');
  const nodeOptions = [process.env.NODE_OPTIONS ?? '', `--require ${quoteForNodeOptions(register)}`].join(' ').trim();
  const env = { ...process.env, ...args.env, NODEREC_RUN_ID: runId, NODE_OPTIONS: nodeOptions };
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(args.command[0], args.command.slice(1), { stdio: 'inherit', env });
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
      process.stderr.write(`noderec: cannot start ${args.command[0]}: ${e.message}\n`);
      resolve(127);
    });
    child.on('exit', (code, signal) => {
      for (const [s, h] of handlers) process.removeListener(s, h);
      const traces = listTraces(args.outDir).filter((t) => t.meta.run_id === runId);
      if (traces.length === 0) {
        process.stderr.write(`noderec: no trace was recorded (no node process started?) in ${humanMs(Date.now() - started)}\n`);
      } else {
        const events = traces.reduce((n, t) => n + (t.meta.events ?? 0), 0);
        const bytes = traces.reduce((n, t) => n + (t.meta.trace_bytes ?? 0), 0);
        const where = traces.length === 1 ? path.relative(process.cwd(), traces[0].dir) || '.' : `${traces.length} traces in ${path.relative(process.cwd(), args.outDir) || '.'}`;
        const ms = traces.length === 1 ? traces[0].meta.duration_ms : Date.now() - started;
        process.stderr.write(`noderec: ${where} — ${events} events, ${humanBytes(bytes)}, ${humanMs(ms)}\n`);
      }
      if (signal !== null) {
        process.kill(process.pid, signal);
        setTimeout(() => resolve(128), 1000).unref();
      } else resolve(code ?? 0);
    });
  });
}
