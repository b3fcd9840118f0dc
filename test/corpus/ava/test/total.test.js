import test from 'ava';
import { cartTotal } from '../src/calc.js';

test('cartTotal of three lines', (t) => {
  t.is(cartTotal([{ qty: 1, price: 1 }, { qty: 1, price: 2 }, { qty: 2, price: 0.25 }]), 3.5);
});
