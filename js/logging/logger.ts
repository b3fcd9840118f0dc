// The recorder's own log: JSON lines
//   {"ts","level","target","run_id","trace_id","code"?,"message","fields"}
// to stderr or NODEREC_LOG_FILE, filtered by NODEREC_LOG_LEVEL (default
// warn). Rust-side records are drained from the addon's queue and written
// through the same sink.
//
// Lines are written with fs.writeSync on the fd itself (while the fd mirror
// runs, on the duplicate of the original stderr), never through
// process.stderr.write: they are never captured as program output.
//
// Program output lines are never split: the logger watches what the program
// writes through process.stderr; while the program's last stderr write did
// not end in a newline, log lines bound for stderr wait (up to 256 of them)
// and are written right after the program's next newline. At the end of the
// process, lines still waiting are written after a single "\n" that ends the
// program's open line. Writes the program makes directly to fd 2
// (fs.writeSync(2, ...)) are not seen.
import * as fs from 'node:fs';

import * as P from '../runtime/primordials';

// Module-level consts (a load through the module object would cost more in the write path).
const ArrayPrototypeJoin = P.ArrayPrototypeJoin;
const BufferFrom = P.BufferFrom;
const DateNow = P.DateNow;
const JSONStringify = P.JSONStringify;
const isUint8Array = P.isUint8Array;
const ReflectApply = P.ReflectApply;
const StringPrototypeCharCodeAt = P.StringPrototypeCharCodeAt;
const TypedArrayPrototypeGetLength = P.TypedArrayPrototypeGetLength;
const uncurry = P.uncurry;

// Captured built-ins only (decision 54): records are written while the program runs.
const DateCtor = Date;
const DatePrototypeToISOString = uncurry<string>(Date.prototype.toISOString);

export type Level = 'error' | 'warn' | 'info' | 'debug' | 'trace';
export const LEVELS: readonly Level[] = ['error', 'warn', 'info', 'debug', 'trace'];
const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

export interface LogRecord {
  ts: string;
  level: Level;
  target: string;
  run_id: string;
  trace_id: string;
  code?: string;
  message: string;
  fields: Record<string, unknown>;
}

let threshold = RANK.warn;
let logFile: string | null = null;
let fileFd = -1;
let runId = '';
let traceId = '';
/** How the logger writes to fd 2 (the IO capture's recorderWrite when set). */
let stderrWriter: (data: string) => void = (d) => {
  fs.writeSync(2, d);
};
let lineOpen = false;
let waiting: string[] = [];
let observed = false;
/** Test hook: every line written (after filtering). */
let tap: ((line: string) => void) | null = null;

export function configureLogger(o: { level?: Level; file?: string | null }): void {
  if (o.level !== undefined) threshold = RANK[o.level];
  if (o.file !== undefined && o.file !== logFile) {
    if (fileFd >= 0) {
      try {
        fs.closeSync(fileFd);
      } catch {
        // already closed
      }
    }
    fileFd = -1;
    logFile = o.file;
  }
}

export function setLogContext(c: { runId?: string; traceId?: string }): void {
  if (c.runId !== undefined) runId = c.runId;
  if (c.traceId !== undefined) traceId = c.traceId;
}

export function logContext(): { runId: string; traceId: string } {
  return { runId, traceId };
}

/** Where stderr lines go (the IO capture hands its fd-mirror-aware writer). */
export function setStderrWriter(w: ((data: string) => void) | null): void {
  stderrWriter =
    w ??
    ((d) => {
      fs.writeSync(2, d);
    });
}

export function enabled(level: Level): boolean {
  return RANK[level] <= threshold;
}

export function setTap(t: ((line: string) => void) | null): void {
  tap = t;
}

/** Formats one record (no newline). */
export function format(level: Level, target: string, message: string, fields: Record<string, unknown> = {}, code?: string, ts?: number): string {
  const rec: LogRecord = {
    ts: DatePrototypeToISOString(new DateCtor(ts ?? DateNow())),
    level,
    target,
    run_id: runId,
    trace_id: traceId,
    ...(code !== undefined ? { code } : {}),
    message,
    fields,
  };
  try {
    return JSONStringify(rec);
  } catch {
    return JSONStringify({ ...rec, fields: { unserializable: true } });
  }
}

export function log(level: Level, target: string, message: string, fields: Record<string, unknown> = {}, code?: string, ts?: number): void {
  if (RANK[level] > threshold) return;
  writeLine(format(level, target, message, fields, code, ts));
}

export const logger = {
  error: (target: string, message: string, fields?: Record<string, unknown>, code?: string) => log('error', target, message, fields, code),
  warn: (target: string, message: string, fields?: Record<string, unknown>, code?: string) => log('warn', target, message, fields, code),
  info: (target: string, message: string, fields?: Record<string, unknown>, code?: string) => log('info', target, message, fields, code),
  debug: (target: string, message: string, fields?: Record<string, unknown>, code?: string) => log('debug', target, message, fields, code),
  trace: (target: string, message: string, fields?: Record<string, unknown>, code?: string) => log('trace', target, message, fields, code),
};

/** Writes one line to the log sink (the file, or stderr without splitting
 * a program's line). Never throws. */
export function writeLine(line: string): void {
  if (tap !== null) tap(line);
  if (logFile !== null) {
    try {
      if (fileFd < 0) fileFd = fs.openSync(logFile, 'a', 0o600);
      fs.writeSync(fileFd, line + '\n');
      return;
    } catch {
      // Fall back to stderr.
    }
  }
  writeStderr(line + '\n');
}

/** Writes to stderr now, or after the program's open stderr line ends. */
export function writeStderr(text: string): void {
  if (lineOpen) {
    if (waiting.length < 256) waiting[waiting.length] = text;
    return;
  }
  try {
    stderrWriter(text);
  } catch {
    // stderr is gone: nothing else to do.
  }
}

/** Writes the lines still waiting for the program's stderr line to end,
 * after a newline that ends it (end of process). */
export function flushWaiting(): void {
  if (waiting.length === 0) return;
  const text = (lineOpen ? '\n' : '') + waiting.join('');
  waiting = [];
  lineOpen = false;
  try {
    stderrWriter(text);
  } catch {
    // stderr is gone
  }
}

/** Whether the program's last write to process.stderr left a line open. */
export function stderrLineOpen(): boolean {
  return lineOpen;
}

function lastByteOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    if (chunk.length === 0) return -1;
    if (encoding === 'hex' || encoding === 'base64' || encoding === 'base64url') {
      const b = BufferFrom(chunk, encoding);
      const n = TypedArrayPrototypeGetLength(b);
      return n > 0 ? b[n - 1] : -1;
    }
    return StringPrototypeCharCodeAt(chunk, chunk.length - 1);
  }
  if (isUint8Array(chunk)) {
    const n = TypedArrayPrototypeGetLength(chunk);
    return n > 0 ? chunk[n - 1] : -1;
  }
  return -1;
}

/** Watches the program's writes to process.stderr (installed before the IO
 * capture, which wraps over it and restores it when it stops). The wrapper
 * calls the original with the same this and arguments and returns its
 * result. */
export function observeStderr(): void {
  if (observed) return;
  observed = true;
  const s = process.stderr as unknown as { write: (...a: unknown[]) => unknown };
  const original = s.write;
  s.write = function write(this: unknown, ...args: unknown[]): unknown {
    // Captured built-ins only (decision 54): this runs at every write.
    const r = ReflectApply(original, this, args);
    const b = lastByteOf(args[0], typeof args[1] === 'string' ? args[1] : undefined);
    if (b !== -1) {
      const wasOpen = lineOpen;
      lineOpen = b !== 10;
      if (wasOpen && !lineOpen && waiting.length > 0) {
        const text = ArrayPrototypeJoin(waiting, '');
        waiting = [];
        try {
          stderrWriter(text);
        } catch {
          // stderr is gone
        }
      }
    }
    return r;
  };
}
