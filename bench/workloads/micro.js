// Calls a tiny function N times and prints nanoseconds per call (JSON).
const { noop, add } = require('./micro-target.js');
const which = process.argv[2];
const n = Number(process.argv[3] || 2e7);
function loopNoop(k) {
  for (let i = 0; i < k; i++) noop();
}
function loopAdd(k) {
  let s = 0;
  for (let i = 0; i < k; i++) s = add(i & 1023, 7) & 0xffff;
  return s;
}
const loop = which === 'add' ? loopAdd : loopNoop;
loop(1e5); // warm up
const t0 = process.hrtime.bigint();
loop(n);
const ns = Number(process.hrtime.bigint() - t0) / n;
process.stdout.write(JSON.stringify({ ns }) + '\n');
