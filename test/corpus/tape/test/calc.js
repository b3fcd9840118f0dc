const test = require('tape');
const { lineTotal, cartTotal } = require('../src/calc');

test('lineTotal', (t) => {
  t.equal(lineTotal({ qty: 3, price: 1.5 }), 4.5);
  t.end();
});

test('cartTotal', (t) => {
  t.equal(cartTotal([{ qty: 1, price: 2 }, { qty: 2, price: 3 }]), 8);
  t.end();
});

test('fails on purpose', (t) => {
  t.equal(cartTotal([]), 1);
  t.end();
});
