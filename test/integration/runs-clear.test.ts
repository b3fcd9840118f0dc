// A run's `clear` mode (issue 13, design-docs/runs.md *Clear*): what leaves
// a run when it ends. The trace is append-only: clear never removes events;
// it decides whether work the run left behind (timers, promises, nested
// runs still going) still belongs to it, and the recorder keeps nothing per
// run, so 10,000 sequential runs keep its memory flat in every mode.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { assertBalanced, cleanEnv, Event, eventsAsync, fixture, metadata, NODE, onlyTrace, ROOT, runCliAsync, runNodeAsync, spawnAsync, tempDir } from '../helpers/run';

const API = path.join(ROOT, 'js', 'dist', 'index.js');
const nr = (e: Event): Record<string, any> => e.__noderec__ as Record<string, any>;

async function record(name: string, env: Record<string, string>, args: string[] = []): Promise<{ evs: Event[]; stdout: string; code: number | null; plainOut: string }> {
  const script = fixture('runs', name);
  const e = { NODEREC_API: API, ...env };
  const r = await runNodeAsync(script, { env: e, node: NODE });
  const plain = await spawnAsync(NODE, [...args, script], { env: cleanEnv(e), cwd: path.dirname(script) });
  expect(r.stderr).toBe('');
  return { evs: await eventsAsync(onlyTrace(r.outDir)), stdout: r.stdout, code: r.code, plainOut: plain.stdout };
}

describe('run clear modes', () => {
  it.each([
    // mode, run of the outer run's timer, of the inner run's code after the outer ended
    ['none', 'outer', 'inner'],
    ['current', undefined, 'inner'],
    ['all', undefined, undefined],
  ])("clear '%s': work left behind by the run belongs to %s; a nested run still going: %s", async (mode, timerRun, innerRun) => {
    const { evs, stdout, code, plainOut } = await record('clear.js', { CLEAR: mode });
    expect(code).toBe(0);
    expect(stdout).toBe(plainOut);
    expect(stdout).toContain("ERR_NODEREC_RUN_ARGS noderec.run(opts, fn): opts.clear must be 'none', 'current' or 'all', got 'later'");
    const call = (tag: string): Event => evs.find((e) => e.kind === 'call' && (e.args as string[] | undefined)?.[0] === tag)!;
    expect(call('outer').run).toBe('outer');
    expect(call('inner').run).toBe('inner');
    expect(call('outer-timer').run).toBe(timerRun);
    expect(call('inner-after').run).toBe(innerRun);
    expect(call('deep-after').run).toBeUndefined();
    // Both runs still have their start and end in the trace.
    expect(evs.filter((e) => e.kind === 'run').map((e) => `${e.runId}:${nr(e).phase}`)).toEqual([
      'outer:start', 'inner:start', 'outer:end', 'inner:end',
      'top:start', 'mid:start', 'deep:start', 'mid:end', 'top:end', 'deep:end',
    ]);
    const start = evs.find((e) => e.kind === 'run' && e.runId === 'outer')!;
    expect(start.clear).toBe(mode === 'none' ? undefined : mode);
  }, 60_000);

  it.each(['none', 'current', 'all'])("clear '%s': 10,000 sequential runs keep the heap flat (measured in the program after a GC)", async (mode) => {
    const script = fixture('runs', 'many.js');
    const r = await runNodeAsync(script, { env: { NODEREC_API: API, CLEAR: mode }, node: NODE });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as { at1k: { heap: number; rss: number }; end: { heap: number; rss: number } };
    // Measured: +0.3 MB from run 1,000 to 10,000 in every mode. A recorder
    // keeping ~1 KB per run would add 9 MB.
    expect(m.end.heap - m.at1k.heap).toBeLessThan(4 << 20);
    const evs = await eventsAsync(onlyTrace(r.outDir));
    const starts = evs.filter((e) => e.kind === 'run' && nr(e).phase === 'start');
    expect(starts).toHaveLength(10_000);
    // The leftover timer of run i: in the run when nothing is cleared, outside it otherwise.
    const runOf = new Map(starts.map((e) => [e.runId as string, e.sampleId as number]));
    const leftovers = evs.filter((e) => e.kind === 'call' && e.fn === 'handle' && ((e.args as any[])[0].props.id as number) < 0);
    expect(leftovers).toHaveLength(9_999);
    for (const e of leftovers.slice(0, 50)) {
      const id = -(e.args as any[])[0].props.id as number;
      if (mode === 'none') expect(runOf.get(e.run as string)).toBe(id);
      else expect(e.run).toBeUndefined();
    }
  }, 120_000);
});

/** A program in a fresh project directory (its own package.json). */
function program(src: string): string {
  const dir = tempDir('noderec-clear-');
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"clear-app","private":true}\n');
  const file = path.join(dir, 'app.js');
  fs.writeFileSync(file, `const noderec = require(process.env.NODEREC_API);\n${src}`);
  return file;
}

/** Records `file` and runs it plain: same output and exit code; the trace's events and directory. */
async function recordProgram(file: string, env: Record<string, string> = {}): Promise<{ evs: Event[]; dir: string; stdout: string; stderr: string; code: number | null }> {
  const e = { NODEREC_API: API, ...env };
  const r = await runNodeAsync(file, { env: e, node: NODE });
  const plain = await spawnAsync(NODE, [file], { env: cleanEnv(e), cwd: path.dirname(file) });
  expect(r.stdout).toBe(plain.stdout);
  expect(r.code).toBe(plain.code);
  const dir = onlyTrace(r.outDir);
  return { evs: await eventsAsync(dir), dir, stdout: r.stdout, stderr: r.stderr, code: r.code };
}

const callArgs = (evs: Event[], fn: string): unknown[] => evs.filter((e) => e.kind === 'call' && e.fn === fn).map((e) => (e.args as unknown[])[0]);

describe("clear: a run's events leave the trace", () => {
  it('an async function called in a cleared run and resumed after it: its resume and return read back on its activation, at the right depth', async () => {
    const file = program(`
function work(x) { return x * 2; }
async function slow(x) {
  await new Promise((r) => setTimeout(r, 20));
  return work(x) + 1;
}
async function main() {
  let p;
  await noderec.run({ runId: 'leave', clear: 'current' }, async () => {
    work(1);
    p = slow(7);
  });
  console.log(await p);
}
main();
`);
    const { evs } = await recordProgram(file);
    // The calls of the run are gone; slow's resume after the run is kept.
    expect(callArgs(evs, 'work')).toEqual([7]);
    expect(callArgs(evs, 'slow')).toEqual([]);
    assertBalanced(evs);
    const resume = evs.find((e) => e.kind === 'resume' && e.activation !== evs.find((x) => x.fn === 'main')!.activation)!;
    const inner = evs.find((e) => e.kind === 'call' && e.fn === 'work')!;
    expect(inner.depth).toBe(resume.depth + 1);
    const ret = evs.filter((e) => e.kind === 'return' && e.activation === resume.activation);
    expect(ret).toHaveLength(1);
    expect(ret[0].value).toBe(15);
  }, 60_000);
});
