// Issue 8, defect 6: what Node prints for an uncaught error or an unhandled
// rejection is what it prints without the recorder: the file:line, the
// program's own source line and caret, the error (colours, extra properties,
// causes), the Node.js version line, and the exit code.
//
// Columns of stack frames on lines where a probe was inserted move (README,
// known differences), so frames are compared without their column; the
// source line and caret above the error are compared byte for byte.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { fixture, NODE, NODE22, onlyTrace, metadata, runNode, runNodeAsync } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));

/** Frames without columns: `at f (file:3:14)` -> `at f (file:3)` (colours kept). */
function withoutFrameColumns(s: string): string {
  return s
    .split('\n')
    .map((l) => (/^\s+at /.test(l) ? l.replace(/(:\d+):\d+(?=(?:\x1b\[\d+m)*\)?(?:\x1b\[\d+m)*$)/, '$1') : l))
    .join('\n');
}

const CASES: [string, Record<string, string>?][] = [
  ['return-line.js'],
  ['first-line.js'],
  ['line-one.js'],
  ['minified.js'],
  ['module.mjs'],
  ['rejection.js'],
  ['extras.js'],
  ['extras.js', { FORCE_COLOR: '1' }],
  ['cause.js'],
  ['aggregate.js'],
  ['emitter.js'],
  ['string.js'],
  ['object.js'],
];

describe('uncaught errors print as without the recorder', () => {
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    for (const [file, env] of CASES) {
      const label = env ? `${file} with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}` : file;
      it(`${label} (${name})`, () => {
        const f = fixture('fatal', file);
        const plain = runNode(f, { node, preload: 'none', env });
        expect(plain.code).not.toBe(0);
        const rec = runNode(f, { node, env });
        expect(rec.code).toBe(plain.code);
        expect(rec.stdout).toBe(plain.stdout);
        // The source line and caret: everything up to the first frame, exactly.
        const head = (s: string): string => s.slice(0, s.search(/^\s+at /m) >>> 0);
        expect(head(rec.stderr)).toBe(head(plain.stderr));
        expect(withoutFrameColumns(rec.stderr)).toBe(withoutFrameColumns(plain.stderr));
        const meta = metadata(onlyTrace(rec.outDir));
        expect(meta.status).toBe('complete');
        expect(meta.exit_code).toBe(plain.code);
      });
    }
  }
});

// An overflow of the stack can be raised inside a probe (the recorder's
// frames at the top of the error's stack). Node's report is then fixed at
// the last moment: the source line and caret plain Node prints (the first
// frame that is the program's), and the stack without the recorder's
// frames. Frames are fewer than plain's (V8 captured ten, the recorder's
// among them) and the first one is the probe's call, on the function's
// first line: only the frames' functions and files are compared.
describe('an overflow of the stack inside a probe reports as without the recorder', () => {
  const frames = (s: string): string[] => [...s.matchAll(/^\s+at (\S+) \((.*?):\d+:\d+\)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    for (const file of ['overflow.js', 'overflow.mjs', 'overflow-min.js']) {
      it(`${file} (${name})`, () => {
        const f = fixture('fatal', file);
        const plain = runNode(f, { node, preload: 'none' });
        expect(plain.stderr).toContain('RangeError: Maximum call stack size exceeded');
        const rec = runNode(f, { node });
        expect(rec.code).toBe(plain.code);
        const head = (s: string): string => s.slice(0, s.search(/^\s+at /m) >>> 0);
        expect(head(rec.stderr)).toBe(head(plain.stderr));
        expect(rec.stderr).not.toContain('js/dist');
        const got = frames(rec.stderr);
        expect(got.length).toBeGreaterThan(3);
        expect(new Set(got)).toEqual(new Set(frames(plain.stderr)));
        expect(rec.stderr.slice(rec.stderr.lastIndexOf('\n    at '))).toMatch(/\n\nNode\.js v[\d.]+\n$/);
        expect(metadata(onlyTrace(rec.outDir)).status).toBe('complete');
      });
    }
  }
});

describe('an error of a require(esm) module', () => {
  // decoratedAt (decisions.md 59, review59): an error created while a require(esm)
  // module evaluated (its stack holds ModuleJobSync.runSync) but thrown
  // later elsewhere is reported at its creation, not at the throw.
  it('an error created during a require(esm) evaluation and thrown later is reported at the throw', async () => {
    for (const node of [NODE, NODE22].filter((n) => fs.existsSync(n))) {
      const plain = await runNodeAsync(fixture('require-esm-node20', 'saved-later.cjs'), { preload: 'none', node });
      const rec = await runNodeAsync(fixture('require-esm-node20', 'saved-later.cjs'), { node });
      const head = (s: string): string => s.split('\n').slice(0, 3).join('\n');
      expect(head(plain.stderr)).toContain('throw globalThis.saved;');
      expect(head(rec.stderr)).toBe(head(plain.stderr));
      expect(rec.code).toBe(plain.code);
    }
  }, 120_000);

});
