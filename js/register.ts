// Preload entry: `node --require noderec/register` or `--import noderec/register`.
// Starts recording in the main thread, joins it in worker threads, and
// installs the module hooks. Writes nothing to stdout or stderr when all is
// well (recorder failures and a bad policy are logged: see js/tracer.ts).
import { isMainThread } from 'node:worker_threads';

import { installHooks, joinFromWorker, startFromPreload } from './tracer';

const REGISTERED = Symbol.for('noderec.registered');

function main(): void {
  const g = globalThis as unknown as Record<symbol, unknown>;
  if (g[REGISTERED] === true) return;
  Object.defineProperty(globalThis, REGISTERED, { value: true, enumerable: false });
  // The main thread's start() installs the hooks; a worker installs its own.
  if (isMainThread) startFromPreload();
  else if (joinFromWorker()) installHooks();
}

main();
