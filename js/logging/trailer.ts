// NODEREC_JSON_ERRORS: a failing run ends with exactly one JSON line on
// stderr:
//   {"run_id","trace_id","error_code","error_kind","message","context"}
// `error_kind` says which check or failure point failed: policy, start,
// instrument, write, flush, finish, panic, require_trace, internal, usage.
//
// Under `noderec record` (NODEREC_RUN_ERRORS set by the CLI), a recorded
// process appends its error to that file instead, and the CLI writes the
// one trailer of the run when the command has ended.
import * as fs from 'node:fs';

import { logContext, writeStderr } from './logger';

export interface Trailer {
  run_id: string;
  trace_id: string;
  error_code: string;
  error_kind: string;
  message: string;
  context: Record<string, unknown>;
}

let written = false;

export function trailer(code: string, kind: string, message: string, context: Record<string, unknown> = {}, ids?: { runId: string; traceId: string }): Trailer {
  const c = ids ?? logContext();
  return { run_id: c.runId, trace_id: c.traceId, error_code: code, error_kind: kind, message, context };
}

/** Reports the error that makes this process fail (once; later calls do
 * nothing). Under `noderec record` it is appended to the run's error file
 * (the CLI decides its exit code and writes the trailer); otherwise, with
 * `jsonErrors`, it is written to stderr as the trailer. Returns whether it
 * was written somewhere. */
export function emitTrailer(t: Trailer, jsonErrors: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (written) return false;
  written = true;
  const line = JSON.stringify(t);
  const runErrors = env.NODEREC_RUN_ERRORS;
  if (runErrors !== undefined && runErrors !== '') {
    try {
      fs.appendFileSync(runErrors, line + '\n', { mode: 0o600 });
      return true;
    } catch {
      // fall back to stderr
    }
  }
  if (!jsonErrors) return false;
  writeStderr(line + '\n');
  return true;
}

export function trailerWritten(): boolean {
  return written;
}

/** Under `noderec record`, notes a recorder error that did not make the
 * process fail (on_recorder_error=disable) in the run's error file. */
export function noteRunError(t: Trailer, env: NodeJS.ProcessEnv = process.env): void {
  const runErrors = env.NODEREC_RUN_ERRORS;
  if (runErrors === undefined || runErrors === '') return;
  try {
    fs.appendFileSync(runErrors, JSON.stringify(t) + '\n', { mode: 0o600 });
  } catch {
    // the run directory is gone
  }
}
