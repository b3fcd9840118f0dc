// Preload for bench/jit.js: at exit, prints the CPU ms of each thread of the
// process, grouped by thread name (Linux: /proc/self/task/*/schedstat), as
// `THREAD-CPU {...}` on stderr. The main thread is `main`; V8's worker threads
// (background compiles, GC helpers) are named `node` on Node 20.
'use strict';
const fs = require('node:fs');

process.on('exit', () => {
  const out = {};
  let tasks;
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    return; // not Linux
  }
  for (const t of tasks) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const name = Number(t) === process.pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      const ns = Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      out[name] = (out[name] || 0) + ns / 1e6;
    } catch {
      // the thread ended meanwhile
    }
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]);
  process.stderr.write(`THREAD-CPU ${JSON.stringify(out)}\n`);
});
