const test = require('node:test');
const assert = require('node:assert');
const { lineTotal, cartTotal } = require('../src/calc');

test('lineTotal', () => {
  assert.strictEqual(lineTotal({ qty: 3, price: 1.5 }), 4.5);
});

test('cartTotal', () => {
  assert.strictEqual(cartTotal([{ qty: 1, price: 2 }, { qty: 2, price: 3 }]), 8);
});

test('fails on purpose', () => {
  assert.strictEqual(cartTotal([]), 1);
});
