// Issue 8's rule for the wrapped property definers (js/runtime/definers.ts,
// issue 9 third round): an error thrown by Object.defineProperty & co. looks
// as without the recorder. Its `stack` has no frame of the wrapper (and as
// many frames under Error.stackTraceLimit), and when it is uncaught Node's
// report shows the program's source line and caret, not the wrapper's.
//
// Frames are compared without their column: columns on lines where a probe
// was inserted move (README, known differences; test/integration/fatal-report.test.ts);
// the source line and caret above an uncaught error are compared byte for byte.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { fixture, metadata, NODE, NODE22, onlyTrace, runNode } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');

/** Frames without columns: `at f (file:3:14)` -> `at f (file:3)`. */
function withoutFrameColumns(s: string): string {
  return s
    .split('\n')
    .map((l) => (/^\s+at /.test(l) ? l.replace(/(:\d+):\d+(?=\)?$)/, '$1') : l))
    .join('\n');
}

describe('errors thrown by the wrapped definers look as without the recorder', () => {
  for (const node of NODES) {
    it(`caught: err.stack of each definer, at several Error.stackTraceLimit values (${nodeName(node)})`, () => {
      const f = fixture('definers-stack', 'caught.js');
      const plain = runNode(f, { node, preload: 'none' });
      expect(plain.code).toBe(0);
      const rec = runNode(f, { node });
      expect(rec.stderr).toBe(plain.stderr);
      expect(rec.code).toBe(0);
      expect(rec.stdout).not.toContain('noderec:');
      expect(withoutFrameColumns(rec.stdout)).toBe(withoutFrameColumns(plain.stdout));
    });

    const uncaught: [string, string[], Record<string, string>?][] = [
      ['uncaught.js', []],
      ['uncaught.mjs', []],
      ['rejection.js', []],
      // source maps on: Node's machinery is the program's
      ['uncaught.js', [], { NODE_OPTIONS: '--enable-source-maps' }],
      ['uncaught-getter.js', ['defineProperties']],
      ['uncaught-getter.js', ['reflect']],
      ['uncaught-getter.js', ['getter']],
      ['uncaught-getter.js', ['setter']],
      ['uncaught-getter.js', ['setPrototypeOf']],
      ['uncaught-getter.js', ['reflectSetPrototypeOf']],
      ['uncaught-getter.js', ['protoSetter']],
      ['uncaught-getter.js', ['descriptor']],
    ];
    for (const [file, args, env] of uncaught) {
      it(`uncaught: ${[file, ...args, ...Object.values(env ?? {})].join(' ')} prints the program's line and the same stack (${nodeName(node)})`, () => {
        const f = fixture('definers-stack', file);
        const plain = runNode(f, { node, preload: 'none', args, env });
        expect(plain.code).toBe(1);
        const rec = runNode(f, { node, args, env });
        expect(rec.code).toBe(plain.code);
        expect(rec.stdout).toBe(plain.stdout);
        const head = (s: string): string => s.slice(0, s.search(/^\s+at /m) >>> 0);
        expect(head(rec.stderr)).toBe(head(plain.stderr));
        expect(withoutFrameColumns(rec.stderr)).toBe(withoutFrameColumns(plain.stderr));
        expect(metadata(onlyTrace(rec.outDir)).exit_code).toBe(plain.code);
      });
    }
  }
});
