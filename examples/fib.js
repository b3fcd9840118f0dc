// Synchronous recursion: `noderec record examples/fib.js` records 177 calls of fib.
function fib(n) {
  if (n < 2) return n;
  return fib(n - 1) + fib(n - 2);
}

console.log('fib(10) =', fib(10));
