// An idle process: waits `ms` in its event loop and prints the CPU the whole
// process (every thread: the recorder's clock and writer threads included)
// used while it waited, in ms (JSON).
const ms = Number(process.argv[2] || 2000);
const c0 = process.cpuUsage();
setTimeout(() => {
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000 }) + '\n');
}, ms);
