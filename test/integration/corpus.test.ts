// The transparency corpus (test/corpus/): real runners from npm, launched as
// people launch them, plain and under `noderec record`. Same exit code or
// signal, same pass/fail counts, same output (timings and stack columns
// aside), and the project's own code under test in a trace at its file and
// line. Wall times are printed by bench/corpus.js, not checked here.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const corpus = require('../corpus/cases.js') as {
  CASES: { name: string; dir: string; cmd: string[]; expect: { pass: number | null; fail: number | null }; code: { fn: string; file: string; line: number } }[];
  NODES: { name: string; bin: string }[];
  run(c: unknown, recorded: boolean, outDir?: string, node?: { name: string; bin: string }): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; counts: { pass: number | null; fail: number | null }; error?: Error }>;
  normalized(text: string): string[];
  traces(outDir: string): string[];
  callsOf(outDir: string, fn: string): { dir: string; fn: string; path: string; line: number; args: unknown[] }[];
  tempDir(): string;
};

describe.each(corpus.NODES)('transparency corpus ($name)', (node) => {
  for (const c of corpus.CASES) {
    it(`${c.name}: \`${c.cmd.join(' ')}\` plain and recorded`, { timeout: 600_000 }, async () => {
      const plain = await corpus.run(c, false, undefined, node);
      expect(plain.error).toBeUndefined();
      expect(plain.counts).toEqual(c.expect);
      const outDir = corpus.tempDir();
      const rec = await corpus.run(c, true, outDir, node);
      expect(rec.error).toBeUndefined();
      expect({ code: rec.code, signal: rec.signal, counts: rec.counts }).toEqual({ code: plain.code, signal: plain.signal, counts: plain.counts });
      expect(corpus.normalized(rec.stdout)).toEqual(corpus.normalized(plain.stdout));
      expect(corpus.normalized(rec.stderr)).toEqual(corpus.normalized(plain.stderr));
      // The project's own code under test, at its file and line.
      const calls = corpus.callsOf(outDir, c.code.fn);
      const mine = calls.filter((r) => r.path.split(path.sep).join('/').endsWith(`${c.dir}/${c.code.file}`) || r.path === c.code.file);
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine) expect(r.line).toBe(c.code.line);
    });
  }
});
