// Deepest recursion that succeeds, per function shape (prints JSON).
// `cold`: how deep the first descent of a fresh function gets before a
// RangeError (interpreter and baseline frames); `hot`: the deepest bounded
// recursion that returns normally once the function is optimized (found by
// bisection after a warm-up).
'use strict';

// The smallest `n` reached (the functions count down).
let low = Infinity;
let max = 0;

function tiny(n) {
  if (n < low) low = n;
  return n === 0 ? 0 : tiny(n - 1) + 1;
}

class Walker {
  step(n) {
    if (n < low) low = n;
    return n === 0 ? 0 : this.step(n - 1) + 1;
  }
}
const walker = new Walker();
function method(n) {
  return walker.step(n);
}

function guarded(n) {
  try {
    if (n < low) low = n;
    return n === 0 ? 0 : guarded(n - 1) + 1;
  } catch (e) {
    throw e;
  }
}

// No argument at all: the smallest plain frame, so the largest share for
// what instrumentation adds (a fixed size per frame, not a percentage).
let walked = 0;
let walkTo = 0;
function walk() {
  walked++;
  if (walked > max) max = walked;
  if (walked < walkTo) walk();
}
function noArgs(n) {
  walked = 0;
  walkTo = n;
  walk();
  return walked;
}

const arrow = (n) => {
  if (n < low) low = n;
  return n === 0 ? 0 : arrow(n - 1) + 1;
};

async function asyncFn(n) {
  if (n < low) low = n;
  return n === 0 ? 0 : (await asyncFn(n - 1)) + 1;
}

// A recursive descent parser: expr -> term -> factor -> '(' expr ')', on
// `n` nested parentheses. Depth is counted in nesting levels (three frames each).
let src = '';
let pos = 0;
function expr() {
  let v = term();
  while (src.charCodeAt(pos) === 43) {
    pos++;
    v += term();
  }
  return v;
}
function term() {
  let v = factor();
  while (src.charCodeAt(pos) === 42) {
    pos++;
    v *= factor();
  }
  return v;
}
function factor() {
  if (src.charCodeAt(pos) === 40) {
    pos++;
    const level = ++depthNow;
    if (level > max) max = level;
    const v = expr();
    depthNow--;
    pos++;
    return v;
  }
  pos++;
  return 1;
}
let depthNow = 0;
const nested = new Map();
function descent(n) {
  let s = nested.get(n);
  if (s === undefined) {
    s = '('.repeat(n) + '1' + ')'.repeat(n);
    nested.set(n, s);
  }
  src = s;
  pos = 0;
  depthNow = 0;
  return expr();
}

async function ok(fn, n) {
  try {
    const r = fn(n);
    if (r && typeof r.then === 'function') await r;
    return true;
  } catch {
    return false;
  }
}

async function main() {
  const shapes = { tiny, 'no arguments': noArgs, arrow, method, 'try/catch': guarded, async: asyncFn, 'recursive descent': descent };
  const out = {};
  for (const [name, fn] of Object.entries(shapes)) {
    max = 0;
    low = Infinity;
    const top = 1e6;
    await ok(fn, top);
    const cold = fn === descent || fn === noArgs ? max : top - low + 1;
    for (let i = 0; i < 200; i++) await ok(fn, 1000);
    let lo = 1;
    let hi = cold * 3;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (await ok(fn, mid)) lo = mid;
      else hi = mid - 1;
    }
    out[name] = { cold, hot: lo };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
