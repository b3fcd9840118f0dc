// TypeScript as loaders hand it over (issue 15): tsx (its CLI and
// `--import tsx`), ts-node, and Node's own type stripping, launched as
// people launch them, plain and recorded: same output and exit code, and the
// trace shows the .ts functions at their .ts lines.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cleanEnv, CLI, Event, events, fixture, NODE, NODE22, REGISTER, ROOT, tempDir, traceDirs } from '../helpers/run';

const APP = fixture('typescript');
const STRIP = fixture('typescript-strip');
const MORE = fixture('typescript-more');
// The same program in a `"type": "module"` project.
const APP_ESM = fixture('typescript-esm');
const TSX_CLI = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Both {
  plain: { code: number | null; stdout: string; stderr: string };
  recorded: { code: number | null; stdout: string; stderr: string };
  evs: Event[];
}

/** Runs a process without blocking this test worker (a long spawnSync
 * starves vitest's worker RPC: "Timeout calling onTaskUpdate"). */
function spawnAsync(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `node args` in `cwd` without and with the preload (NODE_OPTIONS, as
 * `noderec record` does), and reads every trace of the recorded run. */
async function both(node: string, args: string[], cwd: string): Promise<Both> {
  const plain = await spawnAsync(node, args, { cwd, env: cleanEnv() });
  const outDir = tempDir();
  const recorded = await spawnAsync(node, args, { cwd, env: cleanEnv({ NODE_OPTIONS: `--require ${REGISTER}`, NODEREC_OUT_DIR: outDir }) });
  const evs = traceDirs(outDir).flatMap((d) => events(d));
  return { plain, recorded, evs };
}

function calls(evs: Event[]): string[] {
  return [...new Set(evs.filter((e) => e.kind === 'call').map((e) => `${e.path}:${e.line} ${e.fn}`))].sort();
}

/** The app's own functions, at their lines in app.ts and shapes.ts. */
const APP_CALLS = ['app.ts:1 <module>', 'app.ts:5 fib', 'app.ts:9 pair', 'shapes.ts:13 total', 'shapes.ts:6 Square.constructor', 'shapes.ts:8 Square.area'];

function expectApp(r: Both): void {
  expect(r.recorded.stdout).toBe('total 13\nfib 55 [ 1, 2 ]\n');
  expect(r.recorded).toEqual(r.plain);
  const seen = calls(r.evs);
  for (const c of APP_CALLS) expect(seen).toContain(c);
  // Only the program's functions: not the loader's, not its generated helpers
  // (esbuild's export getters and `static { __name(this, ...) }` blocks, which
  // its source map places in the .ts file too).
  expect(seen.filter((c) => !APP_CALLS.includes(c) && !c.endsWith(' <module>'))).toEqual([]);
  const fib = r.evs.filter((e) => e.kind === 'call' && e.fn === 'fib');
  expect(fib).toHaveLength(177);
  expect(fib[0].args).toEqual([10]);
  const ret = r.evs.find((e) => e.kind === 'return' && e.activation === fib[0].activation);
  expect(ret?.value).toBe(55);
}

describe('TypeScript', () => {
  it('tsx CLI (npx tsx app.ts)', async () => {
    // npx runs the bin with the node first on PATH: the repository's
    // node_modules/.bin holds the node22 devDependency's node.
    const r = await both(NODE, [TSX_CLI, 'app.ts'], APP);
    expectApp(r);
  });

  it('node --import tsx app.ts on Node 20 (tsx hooks in the hooks thread, after noderec`s)', async () => {
    expectApp(await both(NODE, ['--import', 'tsx', 'app.ts'], APP));
  });

  it('node --import tsx app.ts on Node 22 (in-thread hooks and tsx`s hooks thread)', async () => {
    expectApp(await both(NODE22, ['--import', 'tsx', 'app.ts'], APP));
  });

  it('node --import tsx app.ts in an ES module project, Node 20 and 22 (tsx >= 4.20 uses in-thread hooks where Node has them)', async () => {
    // tsx registers with module.registerHooks on Node 22.15+: its hooks ran
    // before noderec's, which saw raw TypeScript, and nothing was recorded.
    expectApp(await both(NODE, ['--import', 'tsx', 'app.ts'], APP_ESM));
    expectApp(await both(NODE22, ['--import', 'tsx', 'app.ts'], APP_ESM));
  });

  it('ts-node (node --require ts-node/register app.ts), Node 20 and 22', async () => {
    expectApp(await both(NODE, ['--require', 'ts-node/register', 'app.ts'], APP));
    expectApp(await both(NODE22, ['--require', 'ts-node/register', 'app.ts'], APP));
  }, 240_000);

  it("Node 22's type stripping (--experimental-strip-types), .ts and .mts", async () => {
    const r = await both(NODE22, ['--experimental-strip-types', 'main.ts'], STRIP);
    expect(r.recorded.stdout).toBe('area 28 norm 5\n');
    expect(r.recorded).toEqual(r.plain);
    expect(calls(r.evs)).toEqual(['geometry.mts:1 <module>', 'geometry.mts:5 area', 'main.ts:1 <module>', 'main.ts:5 norm']);
  });

  it('.tsx and .cts under tsx: the functions at their lines, no export getters', async () => {
    const r = await both(NODE, [TSX_CLI, 'app.tsx'], MORE);
    expect(r.recorded.stdout).toBe('<ul><li>2</li><li>3</li></ul>\n');
    expect(r.recorded).toEqual(r.plain);
    expect(calls(r.evs)).toEqual([
      'app.tsx:1 <module>',
      'app.tsx:5 Item',
      'app.tsx:9 <anonymous>',
      'calc.cts:1 <module>',
      'calc.cts:1 add',
      'jsx.ts:1 <module>',
      'jsx.ts:4 h',
      'jsx.ts:9 render',
    ]);
    const add = r.evs.find((e) => e.kind === 'call' && e.fn === 'add');
    expect(add?.args).toEqual([1, 1]);
  });

  it("Node 22's type stripping, .cts", async () => {
    const r = await both(NODE22, ['--experimental-strip-types', 'main.cts'], MORE);
    expect(r.recorded.stdout).toBe('twice 42\n');
    expect(r.recorded).toEqual(r.plain);
    expect(calls(r.evs)).toEqual(['calc.cts:1 <module>', 'calc.cts:1 add', 'main.cts:1 <module>', 'main.cts:3 twice']);
  });

  it('noderec record -- npx tsx app.ts', async () => {
    const outDir = tempDir();
    const r = await spawnAsync(NODE, [CLI, 'record', '--', 'npx', 'tsx', 'app.ts'], { cwd: APP, env: cleanEnv({ NODEREC_OUT_DIR: outDir }) });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('total 13\nfib 55 [ 1, 2 ]\n');
    const seen = calls(traceDirs(outDir).flatMap((d) => events(d)));
    for (const c of APP_CALLS) expect(seen).toContain(c);
  });
});
