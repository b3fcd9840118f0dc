import { expect, test } from 'vitest';

import { Counter, depth, later, range, twice } from '../src/realm';

test('values returned, awaited and yielded by the code under test', async () => {
  expect(twice(21)).toBe(42);
  expect(await later(5)).toBe(6);
  expect([...range(3)]).toEqual([0, 1, 2]);
  expect(new Counter().inc()).toBe(1);
  expect(depth(2000)).toBe(2000);
});

test('a function of the code under test shipped as source text', () => {
  const text = String(twice);
  expect(text).not.toContain('$nr$');
  expect((new Function(`return ${text}`)() as (x: number) => number)(4)).toBe(8);
});

test('the global object of the test shows nothing of a recorder', () => {
  const names = Object.getOwnPropertyNames(globalThis).filter((k) => /noderec|nr\$/.test(k));
  const symbols = Object.getOwnPropertySymbols(globalThis).map(String).filter((s) => /noderec/.test(s));
  expect([...names, ...symbols]).toEqual([]);
});
