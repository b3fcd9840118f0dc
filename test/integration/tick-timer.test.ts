// The recorder's periodic flush tick is not a timer of the program's timer
// lists: a program timer due with it keeps the stacks of its promise
// reactions as without the recorder (issue 8; the same defect as the output
// capture's idle cut, design-docs/io-capture.md *The idle cut*).
import { describe, expect, it } from 'vitest';

import { fixture, NODE, NODE22, runNodeAsync } from '../helpers/run';

describe('the flush tick', () => {
  it.each([
    ['node 20', NODE],
    ['node 22', NODE22],
  ])('%s: a program timer due together with it: the same reaction stack as plain', async (_, node) => {
    const f = fixture('tick-timer', 'main.js');
    const plain = await runNodeAsync(f, { node, preload: 'none' });
    const rec = await runNodeAsync(f, { node });
    expect(plain.code).toBe(0);
    expect(rec.code).toBe(0);
    expect(plain.stdout).toContain('from a reaction');
    expect(rec.stdout).toBe(plain.stdout);
  }, 60_000);
});
