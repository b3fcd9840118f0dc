// Runs the script given as argv[2] in a worker thread (default options):
// bench/stack-depth.js's worker rows.
'use strict';
const { Worker } = require('node:worker_threads');

new Worker(process.argv[2], { argv: process.argv.slice(3) });
