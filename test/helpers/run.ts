// Spawns real node processes with the recorder preloaded and reads the
// trace back through the reader (the native export), as a user would.
import { spawnSync, SpawnSyncOptions, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const REGISTER = path.join(ROOT, 'js', 'dist', 'register.js');
export const CLI = path.join(ROOT, 'js', 'bin', 'noderec.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const NODE22 = path.join(ROOT, 'node_modules', 'node22', 'bin', 'node');
export const NODE24 = path.join(ROOT, 'node_modules', 'node24', 'bin', 'node');

/** The machine's node (npm scripts put node_modules/.bin, which holds the
 * Node 22 of the `node22` devDependency, first on PATH). */
export const NODE = ((): string => {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (d.length === 0 || d.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const p = path.join(d, 'node');
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return process.execPath;
})();

export interface Event {
  kind: string;
  fn: string;
  path: string;
  line: number;
  col: number;
  t: number;
  thread: number;
  activation: number;
  depth: number;
  args?: unknown[];
  this?: unknown;
  value?: unknown;
  error?: unknown;
  [k: string]: unknown;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outDir: string;
}

export function tempDir(prefix = 'noderec-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Environment for a child: no inherited NODEREC_* or NODE_OPTIONS. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('NODEREC_') && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST') && k !== 'NODE_ENV') env[k] = v;
  }
  return { ...env, ...extra };
}

export interface RunOptions {
  preload?: 'require' | 'import' | 'none' | 'node-options';
  node?: string;
  env?: Record<string, string>;
  cwd?: string;
  input?: string | Buffer;
  args?: string[];
  /** Options for node itself, before the preload (`--stack-size=500`). */
  nodeArgs?: string[];
  outDir?: string;
}

interface NodeCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  outDir: string;
}

function nodeCommand(script: string, opts: RunOptions): NodeCommand {
  const outDir = opts.outDir ?? tempDir();
  const preload = opts.preload ?? 'require';
  const nodeArgs: string[] = [...(opts.nodeArgs ?? [])];
  const env = cleanEnv({ NODEREC_OUT_DIR: outDir, ...(opts.env ?? {}) });
  if (preload === 'require') nodeArgs.push('--require', REGISTER);
  if (preload === 'import') nodeArgs.push('--import', REGISTER);
  if (preload === 'node-options') env.NODE_OPTIONS = `--require ${REGISTER}`;
  return { file: opts.node ?? NODE, args: [...nodeArgs, script, ...(opts.args ?? [])], env, cwd: opts.cwd ?? path.dirname(script), outDir };
}

/** Runs `node [preload] script args` synchronously. Blocks the test
 * worker: for runs longer than a second or two, use runNodeAsync (vitest's
 * worker must answer its RPC while the child runs). */
export function runNode(script: string, opts: RunOptions = {}): Run {
  const c = nodeCommand(script, opts);
  const o: SpawnSyncOptions = { env: c.env, cwd: c.cwd, input: opts.input, maxBuffer: 256 << 20 };
  const r = spawnSync(c.file, c.args, o);
  return {
    code: r.status,
    signal: r.signal,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
    outDir: c.outDir,
  };
}

/** runNode without blocking the test worker. */
export async function runNodeAsync(script: string, opts: RunOptions = {}): Promise<Run> {
  const c = nodeCommand(script, opts);
  const r = await spawnAsync(c.file, c.args, { env: c.env, cwd: c.cwd, input: opts.input });
  return { ...r, outDir: c.outDir };
}

/** Runs the `noderec` CLI. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
  const outDir = opts.env?.NODEREC_OUT_DIR ?? tempDir();
  const r = spawnSync(NODE, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: cleanEnv({ NODEREC_OUT_DIR: outDir, ...(opts.env ?? {}) }),
    maxBuffer: 256 << 20,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString(), outDir };
}

/** runCli without blocking the test worker. */
export async function runCliAsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const outDir = opts.env?.NODEREC_OUT_DIR ?? tempDir();
  const r = await spawnAsync(NODE, [CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: cleanEnv({ NODEREC_OUT_DIR: outDir, ...(opts.env ?? {}) }),
  });
  return { ...r, outDir };
}

export interface Spawned {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** spawnSync's result, without blocking: the exit code or signal and all of
 * stdout and stderr (as UTF-8 text), once the child has exited and its
 * pipes are closed. `input` is written to stdin, which is then closed (as
 * spawnSync does). Rejects only when the command cannot be started. */
export function spawnAsync(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer } = {},
): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

export { spawn };

/** Polls `done` every `everyMs` until it is true; rejects with `what` after
 * `timeoutMs`. For waiting on an event a child shows (its output, its
 * trace) instead of sleeping a fixed time that a loaded machine can
 * overrun. */
export async function until(done: () => boolean, what: string, timeoutMs = 60_000, everyMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Events the trace in `dir` holds so far, as the reader's live index
 * counts them on a trace still being recorded (0 before the file exists). */
export function eventsWritten(dir: string): number {
  if (!fs.existsSync(path.join(dir, 'trace.nrt'))) return 0;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const q = require('../../js/dist/query.js') as typeof import('../../js/query');
  return q.openIndex(dir, true).info().events;
}

/** Waits until the only trace in `outDir` holds at least `n` events (the
 * writer lags the program on a busy machine: a fixed sleep is not enough). */
export async function untilEventsWritten(outDir: string, n: number, timeoutMs = 120_000): Promise<void> {
  let seen = 0;
  await until(
    () => {
      const dirs = traceDirs(outDir);
      seen = dirs.length === 1 ? eventsWritten(dirs[0]) : 0;
      return seen >= n;
    },
    `${n} events in the trace (last count ${seen})`,
    timeoutMs,
    100,
  ).finally(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const q = require('../../js/dist/query.js') as typeof import('../../js/query');
    for (const d of traceDirs(outDir)) q.closeIndex(d);
  });
}

/** Trace directories in `outDir`. */
export function traceDirs(outDir: string): string[] {
  if (!fs.existsSync(outDir)) return [];
  const out: string[] = [];
  for (const n of fs.readdirSync(outDir)) {
    const d = path.join(outDir, n);
    if (fs.existsSync(path.join(d, 'metadata.json'))) out.push(d);
    // A run directory of `noderec record`: one trace per recorded process.
    else if (fs.existsSync(path.join(d, 'run.json'))) out.push(...traceDirs(d));
  }
  return out;
}

/** The only trace directory in `outDir`. */
export function onlyTrace(outDir: string): string {
  const dirs = traceDirs(outDir);
  if (dirs.length !== 1) throw new Error(`expected one trace in ${outDir}, found ${dirs.length}`);
  return dirs[0];
}

export function metadata(dir: string): Record<string, any> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'));
}

/** Events read back through the reader (`noderec export --format jsonl`). */
export function events(dir: string): Event[] {
  const r = spawnSync(NODE, [CLI, 'export', dir, '--format', 'jsonl'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`export failed: ${r.stderr.toString()}`);
  return r.stdout
    .toString()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Event);
}

/** events() without blocking the test worker. */
export async function eventsAsync(dir: string): Promise<Event[]> {
  const r = await spawnAsync(NODE, [CLI, 'export', dir, '--format', 'jsonl']);
  if (r.code !== 0) throw new Error(`export failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Event);
}

export function fixture(...p: string[]): string {
  return path.join(FIXTURES, ...p);
}

/** Checks that every call on every thread ends in a return or throw, in stack order. */
export function assertBalanced(evs: Event[]): void {
  const stacks = new Map<number, number[]>();
  for (const e of evs) {
    const s = stacks.get(e.thread) ?? [];
    stacks.set(e.thread, s);
    if (e.kind === 'call' || e.kind === 'resume') s.push(e.activation);
    else if (e.kind === 'return' || e.kind === 'throw' || e.kind === 'await' || e.kind === 'yield') {
      const top = s.pop();
      if (top !== e.activation) throw new Error(`unbalanced: ${e.kind} of activation ${e.activation} but top is ${top}`);
    }
  }
  for (const [t, s] of stacks) if (s.length !== 0) throw new Error(`thread ${t} ends with ${s.length} open activations`);
}

/** Runs `script` plain (no preload), then recorded twice with `env` plus
 * `onEnv` / `offEnv` (a setting on and off), and returns the three runs and
 * the recorded arguments of every call of the script's `take` in each
 * recording: the values tests compare an encoding path with another. */
export function plainAndTwoRecordings(
  script: string,
  node: string | undefined,
  env: Record<string, string>,
  onEnv: Record<string, string>,
  offEnv: Record<string, string>,
): { plain: Run; on: Run; off: Run; a: unknown[]; b: unknown[] } {
  const plain = runNode(script, { preload: 'none', node, env });
  const on = runNode(script, { node, env: { ...env, ...onEnv } });
  const off = runNode(script, { node, env: { ...env, ...offEnv } });
  const takeArgs = (r: Run) =>
    events(onlyTrace(r.outDir))
      .filter((e) => e.kind === 'call' && e.fn === 'take')
      .map((e) => e.args);
  return { plain, on, off, a: takeArgs(on), b: takeArgs(off) };
}
