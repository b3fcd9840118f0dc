// Code under test.
'use strict';

function lineTotal(line) {
  return Math.round(line.qty * line.price * 100) / 100;
}

// Line 8 is lineTotal in the TypeScript copies; here it is cartTotal.
function cartTotal(lines) {
  let sum = 0;
  for (const l of lines) sum += lineTotal(l);
  return sum;
}

module.exports = { lineTotal, cartTotal };
