import { expect, test } from 'vitest';

import { Discount } from '../src/calc';

test('a second file (another worker)', () => {
  expect(new Discount(50).apply(10)).toBe(5);
});
