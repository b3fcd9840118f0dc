const t = require('tap');
const { lineTotal, cartTotal } = require('../src/calc');

t.test('lineTotal', async (t) => {
  t.equal(lineTotal({ qty: 3, price: 1.5 }), 4.5);
});

t.test('cartTotal', async (t) => {
  t.equal(cartTotal([{ qty: 1, price: 2 }, { qty: 2, price: 3 }]), 8);
});

t.test('fails on purpose', async (t) => {
  t.equal(cartTotal([]), 1);
});
