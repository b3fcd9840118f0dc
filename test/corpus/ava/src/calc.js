// Code under test (an ES module).
// ava imports it into each test file's worker thread.

export function lineTotal(line) {
  return Math.round(line.qty * line.price * 100) / 100;
}

// Line 8 is lineTotal in the TypeScript copies; here it is cartTotal.
export function cartTotal(lines) {
  let sum = 0;
  for (const l of lines) sum += lineTotal(l);
  return sum;
}
