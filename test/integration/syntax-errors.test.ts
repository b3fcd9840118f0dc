// A syntax error in the program's own code is the program's: the recorder
// leaves a file it cannot parse to Node, which reports it exactly as without
// the recorder (same message, source line and caret, exit code), and a
// program that catches it goes on, recorded. ES module syntax in a `.js`
// entry without "type" runs as an ES module, as Node detects it.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { events, fixture, metadata, NODE, NODE22, onlyTrace, Run, runNodeAsync } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));

/** Frames without columns, Node's own frames without line numbers either
 * (Node 20's loader compiles a module at another line of wrapSafe once
 * Module.wrap is replaced). */
function normalized(s: string): string {
  return s
    .replace(/^\(node:\d+\)/gm, '(node:PID)')
    .split('\n')
    .map((l) => {
      if (!/^\s+at /.test(l)) return l;
      if (l.includes('(node:') || /at node:/.test(l)) return l.replace(/:\d+:\d+(?=\)?$)/, '');
      return l.replace(/(:\d+):\d+(?=\)?$)/, '$1');
    })
    .join('\n');
}

/** Everything above the first stack frame: the file:line, the source line,
 * the caret and the message. */
function head(s: string): string {
  const at = s.search(/^\s+at /m);
  return at < 0 ? s : s.slice(0, at);
}

function expectSame(rec: Run, plain: Run): void {
  expect(rec.code).toBe(plain.code);
  expect(rec.signal).toBe(plain.signal);
  expect(rec.stdout).toBe(plain.stdout);
  expect(head(normalized(rec.stderr))).toBe(head(normalized(plain.stderr)));
  expect(normalized(rec.stderr)).toBe(normalized(plain.stderr));
}

const FAILING = ['bad.js', 'line-one.js', 'requires-bad.js', 'bad.mjs', 'imports-bad.mjs'];

describe('a syntax error in the program is reported by Node, as without the recorder', () => {
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    for (const file of FAILING) {
      it(`${file} (${name})`, async () => {
        const f = fixture('syntax-error', file);
        const plain = await runNodeAsync(f, { node, preload: 'none' });
        expect(plain.code).toBe(1);
        expect(plain.stderr).toContain('SyntaxError');
        const rec = await runNodeAsync(f, { node });
        expectSame(rec, plain);
        const meta = metadata(onlyTrace(rec.outDir));
        expect(meta.status).toBe('complete');
        expect(meta.exit_code).toBe(1);
      });
    }

    it(`a file a filter leaves uninstrumented (${name})`, async () => {
      const f = fixture('syntax-error', 'requires-bad.js');
      const plain = await runNodeAsync(f, { node, preload: 'none' });
      const rec = await runNodeAsync(f, { node, env: { NODEREC_TRACE_FILTER: fixture('syntax-error', 'skip-bad.toml') } });
      expectSame(rec, plain);
      expect(metadata(onlyTrace(rec.outDir)).status).toBe('complete');
    });

    for (const file of ['catches.js', 'catches.mjs', 'esm-syntax.js']) {
      it(`${file} goes on and is recorded (${name})`, async () => {
        const f = fixture('syntax-error', file);
        const plain = await runNodeAsync(f, { node, preload: 'none' });
        expect(plain.code).toBe(0);
        expect(plain.stdout).toContain('42');
        const rec = await runNodeAsync(f, { node });
        expectSame(rec, plain);
        const dir = onlyTrace(rec.outDir);
        expect(metadata(dir).status).toBe('complete');
        const work = events(dir).filter((e) => e.fn === 'work' && e.kind === 'call');
        expect(work.map((e) => [e.path, e.line])).toEqual([[file, file === 'esm-syntax.js' ? 5 : file === 'catches.js' ? 11 : 15]]);
      });
    }
  }
});
