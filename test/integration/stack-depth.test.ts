// Issue 8, defect 5: a recursion that works without the recorder must work
// with it. The depths are relative to what the same machine and Node manage
// without the recorder, measured in the same test (bench/stack-depth.js
// prints the figures per function shape).
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';

import { assertBalanced, eventsAsync, fixture, metadata, NODE, NODE22, onlyTrace, runNodeAsync } from '../helpers/run';

const metadataOf = (outDir: string): Record<string, unknown> => metadata(onlyTrace(outDir));

const NODES = [NODE, NODE22].filter((n) => fs.existsSync(n));
const DESCENT = fixture('depth', 'descent.js');
const NOARGS = fixture('depth', 'noargs.js');
const WORKER = fixture('depth', 'worker.js');

describe('stack depth', () => {
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    let limits = { cold: 0, hot: 0 };
    beforeAll(async () => {
      const plain = await runNodeAsync(DESCENT, { node, preload: 'none', args: ['probe'] });
      limits = JSON.parse(plain.stdout) as { cold: number; hot: number };
    });

    it(`a recursive descent as deep as the deepest that works plain works recorded, on its first run (${name})`, async () => {
      const depth = limits.cold;
      const rec = await runNodeAsync(DESCENT, { node, args: ['parse', String(depth)] });
      expect(rec.stdout).toBe('3\n');
      expect(rec.code).toBe(0);
      const evs = await eventsAsync(onlyTrace(rec.outDir));
      assertBalanced(evs);
      expect(evs.filter((e) => e.kind === 'call' && e.fn === 'list')).toHaveLength(depth);
    });

    it(`a recursion without arguments as deep as the deepest that works plain works recorded (${name})`, async () => {
      const plain = await runNodeAsync(NOARGS, { node, preload: 'none', args: ['probe'] });
      const depth = Number(plain.stdout);
      expect(depth).toBeGreaterThan(5000);
      const rec = await runNodeAsync(NOARGS, { node, args: [String(depth)] });
      expect(rec.stdout).toBe(`${depth}\n`);
      expect(rec.code).toBe(0);
    });

    // How deep optimized code gets varies with what V8 inlines (plain, V8
    // inlines this parser's recursion into itself and reaches 4-7 times its
    // first-run depth; the instrumented functions are too large for that);
    // the first-run depth of the plain program is a stable bar to clear.
    it(`once optimized, a recursive descent as deep as the plain program's first run works recorded (${name})`, async () => {
      const depth = limits.cold;
      const rec = await runNodeAsync(DESCENT, { node, args: ['parse', String(depth), 'hot'] });
      expect(rec.stdout).toBe('3\n');
      expect(rec.code).toBe(0);
    });

    it(`the room follows node's own --stack-size (${name})`, async () => {
      const small = await runNodeAsync(DESCENT, { node, preload: 'none', nodeArgs: ['--stack-size=500'], args: ['probe'] });
      const cold = (JSON.parse(small.stdout) as { cold: number }).cold;
      expect(cold).toBeLessThan(limits.cold * 0.7);
      const rec = await runNodeAsync(DESCENT, { node, nodeArgs: ['--stack-size=500'], args: ['parse', String(cold)] });
      expect(rec.stdout).toBe('3\n');
      // The recorder's room is relative: 160% of the plain room.
      const over = await runNodeAsync(DESCENT, { node, nodeArgs: ['--stack-size=500'], args: ['parse', String(cold * 2)] });
      expect(over.stdout).toBe('RangeError: Maximum call stack size exceeded\n');
    });

    it(`NODEREC_STACK_ROOM=100 keeps V8's limit: the recorded frames are larger (${name})`, async () => {
      const rec = await runNodeAsync(DESCENT, { node, env: { NODEREC_STACK_ROOM: '100' }, args: ['parse', String(limits.cold)] });
      expect(rec.stdout).toBe('RangeError: Maximum call stack size exceeded\n');
      expect(rec.code).toBe(1);
    });

    it(`a recursion too deep without the recorder is too deep with it (${name})`, async () => {
      const depth = limits.hot * 4 + limits.cold * 4;
      const p = await runNodeAsync(DESCENT, { node, preload: 'none', args: ['parse', String(depth), 'hot'] });
      const rec = await runNodeAsync(DESCENT, { node, args: ['parse', String(depth), 'hot'] });
      expect(p.stdout).toBe('RangeError: Maximum call stack size exceeded\n');
      expect(rec.stdout).toBe(p.stdout);
      expect(rec.code).toBe(1);
      assertBalanced(await eventsAsync(onlyTrace(rec.outDir)));
    });
  }

  // A worker's stack is a thread of resourceLimits.stackSizeMb: the recorder
  // in the thread that creates it gives it the same room, and the program
  // sees the limits it gave (decisions.md 21).
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    for (const mb of ['-', '2']) {
      const given = mb === '-' ? 'the default stack' : `stackSizeMb ${mb}`;
      it(`in a worker (${given}), a recursive descent as deep as the deepest that works plain works recorded (${name})`, async () => {
        const plain = await runNodeAsync(WORKER, { node, preload: 'none', args: [mb, 'probe'] });
        const cold = (JSON.parse(plain.stdout) as { cold: number }).cold;
        expect(cold).toBeGreaterThan(3000);
        const rec = await runNodeAsync(WORKER, { node, args: [mb, 'parse', String(cold)] });
        expect(rec.stdout).toBe('3\n');
        expect(rec.code).toBe(0);
        const evs = await eventsAsync(onlyTrace(rec.outDir));
        expect(evs.filter((e) => e.kind === 'call' && e.fn === 'list' && e.thread !== 0)).toHaveLength(cold);
        // Bounded: four times that depth overflows recorded as it does plain.
        const over = await runNodeAsync(WORKER, { node, args: [mb, 'parse', String(cold * 4)] });
        expect(over.stdout).toBe('RangeError: Maximum call stack size exceeded\n');
      });

      it(`a worker's limits read as without the recorder, inside and outside, and Worker is the same class (${given}, ${name})`, async () => {
        const noCols = (s: string): string => s.replace(/:(\d+):\d+\)/g, ':$1)');
        const plain = await runNodeAsync(WORKER, { node, preload: 'none', args: [mb, 'view'] });
        const rec = await runNodeAsync(WORKER, { node, args: [mb, 'view'] });
        expect(rec.code).toBe(0);
        expect(noCols(rec.stdout)).toBe(noCols(plain.stdout));
        expect(JSON.parse(rec.stdout)).toMatchObject({ identity: { ctor: 'Worker', ctorProto: true, instance: true, proto: true } });
      });
    }

    it(`NODEREC_STACK_ROOM=100 leaves workers' stacks as they are (${name})`, async () => {
      const plain = await runNodeAsync(WORKER, { node, preload: 'none', args: ['-', 'probe'] });
      const cold = (JSON.parse(plain.stdout) as { cold: number }).cold;
      const rec = await runNodeAsync(WORKER, { node, env: { NODEREC_STACK_ROOM: '100' }, args: ['-', 'parse', String(cold)] });
      expect(rec.stdout).toBe('RangeError: Maximum call stack size exceeded\n');
    });
  }
});

describe('the stack running out inside the recorder', () => {
  for (const node of NODES) {
    const name = node === NODE ? 'node 20' : 'node 22';
    it(`an overflow while a value is encoded leaves the recording whole and the program as it is (${name})`, async () => {
      const f = fixture('depth', 'encoder-overflow.js');
      const plain = await runNodeAsync(f, { node, preload: 'none' });
      const rec = await runNodeAsync(f, { node });
      expect(plain.stdout.split('\n')[0]).toBe('RangeError: Maximum call stack size exceeded');
      expect(rec.stdout).toBe(plain.stdout);
      expect(rec.code).toBe(0);
      expect(rec.stderr).toMatch(/value-encoder\.js/);
      expect(metadataOf(rec.outDir).status).toBe('complete');
      const evs = await eventsAsync(onlyTrace(rec.outDir));
      assertBalanced(evs);
      // Every walk call that is recorded has its value whole, as `after`'s
      // (the same object): the calls whose encoding ran out of stack are not
      // recorded (they throw before they begin), none has a value cut short.
      const after = evs.filter((e) => e.fn === 'after');
      expect(after.map((e) => e.kind)).toEqual(['call', 'return']);
      expect(after[0].args?.[0]).toBe(41);
      const whole = JSON.stringify(after[0].args?.[1]);
      expect(whole).toContain('"a"');
      const walks = evs.filter((e) => e.kind === 'call' && e.fn === 'walk');
      expect(walks.length).toBeGreaterThan(1000);
      for (const w of walks) expect(JSON.stringify(w.args?.[1])).toBe(whole);
    });
  }
});
