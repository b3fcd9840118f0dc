import test from 'ava';
import { lineTotal, cartTotal } from '../src/calc.js';

test('lineTotal', (t) => {
  t.is(lineTotal({ qty: 3, price: 1.5 }), 4.5);
});

test('cartTotal', (t) => {
  t.is(cartTotal([{ qty: 1, price: 2 }, { qty: 2, price: 3 }]), 8);
});

test('fails on purpose', (t) => {
  t.is(cartTotal([]), 1);
});
