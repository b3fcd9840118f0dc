#!/usr/bin/env node
// vm, an eval'd worker and its own signal handling; prints what it saw.
'use strict';
const vm = require('node:vm');
const { Worker } = require('node:worker_threads');

function lineTotal(line) {
  return Math.round(line.qty * line.price * 100) / 100;
}

function inVm() {
  const ctx = vm.createContext({ out: 0 });
  vm.runInContext('out = [1, 2, 3].reduce((a, b) => a + b, 0)', ctx);
  return ctx.out;
}

function inWorker() {
  return new Promise((resolve, reject) => {
    const src = 'const { parentPort } = require("node:worker_threads"); parentPort.postMessage(6 * 7);';
    const w = new Worker(src, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

function onTerm() {
  console.log('SIGTERM handled, listeners', process.listenerCount('SIGTERM'));
  process.removeListener('SIGTERM', onTerm);
  setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
}

async function main() {
  console.log('lineTotal', lineTotal({ qty: 3, price: 1.5 }));
  console.log('vm', inVm());
  console.log('worker', await inWorker());
  process.on('SIGTERM', onTerm);
  process.kill(process.pid, 'SIGTERM');
  setInterval(() => {}, 1000);
}

main();
