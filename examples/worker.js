// A worker thread: its calls are recorded into the same trace, on its own thread id.
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

function square(n) {
  return n * n;
}

if (isMainThread) {
  const worker = new Worker(__filename, { workerData: [1, 2, 3] });
  worker.on('message', (sums) => console.log('worker says', sums));
  worker.on('exit', () => console.log('worker done, main square(4) =', square(4)));
} else {
  parentPort.postMessage(workerData.map(square));
}
