import { describe, expect, test } from 'vitest';

import { cartTotal, Discount, lineTotal } from '../src/calc';

describe('calc', () => {
  test('lineTotal', () => {
    expect(lineTotal({ sku: 'a', qty: 3, price: 1.5 })).toBe(4.5);
  });

  test('cartTotal', () => {
    expect(cartTotal([{ sku: 'a', qty: 1, price: 2 }, { sku: 'b', qty: 2, price: 3 }])).toBe(8);
  });

  test('discount', () => {
    expect(new Discount(10).apply(200)).toBe(180);
  });

  test('fails on purpose', () => {
    expect(cartTotal([])).toBe(1);
  });
});
