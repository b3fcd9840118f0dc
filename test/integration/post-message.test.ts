// A worker thread's MessagePort.prototype.postMessage is what it is without
// the recorder: its text, name and length; and an error it throws
// (DataCloneError) has the same stack, with no frame of the recorder, and is
// reported, when uncaught, with the program's own source line.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';

import { fixture, NODE, NODE22, runNodeAsync } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));

/** Frames without columns. */
function withoutColumns(s: string): string {
  return s.replace(/(:\d+):\d+(?=\)?$)/gm, '$1');
}

describe('postMessage in a worker is the builtin', () => {
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    it(`what a worker sees of it, and its DataCloneError (${name})`, async () => {
      const f = fixture('post-message', 'worker.js');
      const plain = await runNodeAsync(f, { node, preload: 'none' });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toContain('DataCloneError');
      expect(plain.stdout).toContain('channel message over a channel');
      const rec = await runNodeAsync(f, { node });
      expect(rec.stderr).toBe(plain.stderr);
      expect(rec.code).toBe(0);
      const info = (s: string): Record<string, unknown> => JSON.parse(s.slice(0, s.indexOf('\n}') + 2));
      const r = info(rec.stdout);
      const p = info(plain.stdout);
      expect(r).toEqual(p);
      expect(r.text).toBe('function postMessage() { [native code] }');
      // No frame of the recorder (its files or its virtual scripts); the checkout's own path may contain 'noderec'.
      expect(r.stack).not.toMatch(/noderec:|[\\/]js[\\/]dist[\\/]/);
      expect(rec.stdout.slice(rec.stdout.indexOf('\n}'))).toBe(plain.stdout.slice(plain.stdout.indexOf('\n}')));
    });

    it(`an uncaught DataCloneError is reported with the program's line (${name})`, async () => {
      const f = fixture('post-message', 'uncaught.js');
      const plain = await runNodeAsync(f, { node, preload: 'none' });
      expect(plain.code).toBe(1);
      expect(plain.stderr).toContain('DataCloneError');
      expect(plain.stdout).toContain('worker error');
      const rec = await runNodeAsync(f, { node });
      expect(rec.code).toBe(plain.code);
      expect(withoutColumns(rec.stderr)).toBe(withoutColumns(plain.stderr));
    });
  }
});
