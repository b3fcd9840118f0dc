// Loads the Rust addon and gives it types. Errors thrown by the addon carry
// a stable `code` (ERR_*), set by the binding.
import * as path from 'node:path';

export interface StartOptions {
  outDir: string;
  program: string;
  argv: string[];
  cwd: string;
  root: string;
  nodeVersion: string;
  pid: number;
  ppid: number;
  runId: string;
  recorderVersion: string;
}

export interface FinishSummary {
  dir: string;
  events: number;
  bytes: number;
  durationMs: number;
  status: string;
}

export interface Native {
  start(opts: StartOptions): string;
  currentDir(): string | null;
  clockBuffer(): ArrayBuffer;
  instrument(source: string, path: string, isModule: boolean): string | null;
  registerThread(id: number, name: string): void;
  submit(thread: number, words: Int32Array, count: number, arena: Uint8Array, arenaLen: number): void;
  flush(): void;
  setError(json: string): void;
  setTruncated(): void;
  finish(exitCode: number | null | undefined, signal: string | null | undefined, status: string): FinishSummary | null;
  exportTrace(dir: string, format: string, out?: string | null): void;
  traceSummary(dir: string): string;
}

let cached: Native | undefined;

/** The addon (loaded once per thread). */
export function native(): Native {
  if (cached === undefined) {
    const file = path.join(__dirname, '..', 'native', 'noderec.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(file) as Native;
  }
  return cached;
}
