// Anonymous functions and classes that reach the program through a probe
// (return, await, yield, arrow bodies, class fields, parameters) keep the
// name, the stack-frame name and the source text they have without the
// recorder (issue 8, defect 6: V8 named them `__nr$v` after the probes'
// temporary). One table of shapes (test/fixtures/anon-names/shapes.js), run as
// a CommonJS script and as an ES module with top-level awaits appended.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

import { assertBalanced, eventsAsync, fixture, NODE, NODE22, onlyTrace, runNodeAsync, tempDir } from '../helpers/run';

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const nodeName = (n: string): string => (n === NODE ? 'node 20' : 'node 22');

/** shapes.cjs and shapes.mjs in a directory of their own. */
function programs(): { cjs: string; mjs: string } {
  const dir = tempDir('noderec-anon-');
  const body = fs.readFileSync(fixture('anon-names', 'shapes.js'), 'utf8');
  const cjs = path.join(dir, 'shapes.cjs');
  const mjs = path.join(dir, 'shapes.mjs');
  fs.writeFileSync(cjs, `${body}main();\n`);
  fs.writeFileSync(mjs, body + fs.readFileSync(fixture('anon-names', 'module-tail.mjs'), 'utf8'));
  return { cjs, mjs };
}

describe('names V8 infers for anonymous functions', () => {
  for (const node of NODES) {
    for (const kind of ['cjs', 'mjs'] as const) {
      it(`every shape has the same name, frame name and source text as without the recorder (${nodeName(node)}, ${kind})`, async () => {
        const file = programs()[kind];
        const plain = await runNodeAsync(file, { node, preload: 'none' });
        expect(plain.code).toBe(0);
        const lines = plain.stdout.trim().split('\n');
        expect(lines.length).toBe(kind === 'cjs' ? 60 : 63);
        // The table means something: plain names some functions after their binding.
        expect(plain.stdout).toContain('await arrow to const name="" frame=f ');
        expect(plain.stdout).toContain('static field conditional name="" frame=x ');
        expect(plain.stdout).toContain('return object conditional name="" frame=k ');
        const rec = await runNodeAsync(file, { node });
        expect(rec.stderr).toBe(plain.stderr);
        // Line by line, so that a failure names the shape.
        expect(rec.stdout.trim().split('\n')).toEqual(lines);
        expect(rec.stdout).not.toContain('__nr$');
        const evs = await eventsAsync(onlyTrace(rec.outDir));
        assertBalanced(evs);
        // The values still cross into the probes.
        const ret = evs.find((e) => e.kind === 'return' && e.fn === 'objectConditional');
        expect(ret?.value).toEqual({ $: 'object', class: 'Object', props: { k: { $: 'function', name: '', kind: 'other' } } });
        const two = evs.find((e) => e.kind === 'return' && e.fn === 'twoFunctions');
        expect((two?.value as { $: string }).$).toBe('function');
        expect(evs.filter((e) => e.kind === 'await' && e.path.endsWith(`shapes.${kind}`)).length).toBeGreaterThan(20);
        expect(evs.filter((e) => e.kind === 'yield' && e.path.endsWith(`shapes.${kind}`)).length).toBeGreaterThan(9);
      });
    }
  }
});
