// Keeps the main thread busy for `ms` (default 3000) without a single call
// of its own: the recorder's clock thread then ticks every 100 µs with no
// probe in the way (bench/clock-cpu.js, BENCH_WORKLOAD=spin.js).
const end = Date.now() + Number(process.argv[2] || 3000);
let n = 0;
while (Date.now() < end) n++;
process.stdout.write(JSON.stringify({ n }) + '\n');
