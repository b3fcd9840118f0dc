const assert = require('node:assert');
const { lineTotal, cartTotal } = require('../src/calc');

describe('calc', function () {
  it('lineTotal', function () {
    assert.strictEqual(lineTotal({ qty: 3, price: 1.5 }), 4.5);
  });

  it('cartTotal', function () {
    assert.strictEqual(cartTotal([{ qty: 1, price: 2 }, { qty: 2, price: 3 }]), 8);
  });

  it('fails on purpose', function () {
    assert.strictEqual(cartTotal([]), 1);
  });
});
