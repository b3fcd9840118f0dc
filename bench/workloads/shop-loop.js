// Query benchmark workload: N iterations of two nested calls with object
// arguments (4 events each: call, call, return, return).
'use strict';
function price(item) {
  return item.p * item.q;
}
function add(cart, item) {
  cart.total += price(item);
  cart.n += 1;
  return cart.total;
}
const n = Number(process.argv[2] || 2.5e6);
const cart = { total: 0, n: 0, owner: 'ada' };
for (let i = 0; i < n; i++) add(cart, { p: i % 7, q: 2, name: 'item' + (i % 13) });
console.log(JSON.stringify({ total: cart.total }));
