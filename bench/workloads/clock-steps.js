// Keeps both cores busy (this thread making calls, a second process
// spinning) for a while under the recorder, then prints how stale the
// stamped times could be (metricsSnapshot().clockStepUs: the intervals
// between two exact clock reads of a thread, each cut at the tick that
// marked over it; decisions.md 35. Before that decision: the steps of the
// clock thread's 100 µs publications). The longest is metadata.json's
// `clock_max_step_us`.
const { spawn } = require('node:child_process');
const noderec = require('../../js/dist/index.js');
const ms = Number(process.argv[2] || 3000);
const hog = spawn(process.execPath, ['-e', `const e = Date.now() + ${ms}; while (Date.now() < e);`], { stdio: 'ignore', env: {} });
function work(i) {
  return (i * 31) & 1023;
}
const end = Date.now() + ms;
let s = 0;
while (Date.now() < end) for (let i = 0; i < 1e5; i++) s += work(i);
hog.kill();
process.stdout.write(JSON.stringify({ s, clockStepUs: noderec.metricsSnapshot().clockStepUs }) + '\n');
